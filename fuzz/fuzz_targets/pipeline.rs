//! The whole request pipeline, as the filter drives it, on the in-memory host, against the rich
//! config (`tollgate_fuzz::rich_config`): stage choice, method match, every authorizer, API
//! keys, throttles and quotas, validation, mappings and templates, every integration, the
//! callouts' answers, the response phase, the cache and the management routes.
//!
//! The input is the request (`METHOD TARGET`, header lines, a blank line, the body), then, after
//! each `SEP`, the next answer the pipeline waits for (a JWKS fetch, a Lambda authorizer, the
//! rate-limit service, an integration, or the upstream's response), each written `STATUS`,
//! header lines, a blank line, the body. A `:route: NAME` header line is Envoy's route name, a
//! `:source: ADDRESS` line the peer's address. The request runs twice, so the second run meets
//! the caches and counters the first one filled.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_core::admin::{self, AdminPlan};
use tollgate_core::config::{ApiKeySource, AuthorizationType};
use tollgate_core::deployment::{Deployment, Request, Selected};
use tollgate_core::gateway_response::{Rejection, ResponseType};
use tollgate_core::host::memory::{MemoryHost, SharedStore};
use tollgate_core::pipeline::{
    self, match_method, CalloutRequest, CalloutResponse, Exchange, Flow, ResponseFlow, Worker,
};
use tollgate_core::plan::Plan;
use tollgate_fuzz::{rich_config, sections, split_target, Message, API_KEY, GLOBAL_API_KEY, NOW};

thread_local! {
    /// `TOLLGATE_FUZZ_DEBUG=1`: print each step (to see what a seed reaches).
    static DEBUG: bool = std::env::var_os("TOLLGATE_FUZZ_DEBUG").is_some();
    static DEPLOYMENT: Deployment =
        Deployment::from_json(rich_config().to_string().as_bytes()).expect("the rich config");
}

/// Callbacks one request may take (each callout answered once, then the response).
const MAX_STEPS: usize = 12;

fuzz_target!(|data: &[u8]| {
    let parts = sections(data);
    let request = Message::parse(parts.first().copied().unwrap_or_default());
    let answers: Vec<Message> = parts.iter().skip(1).map(|p| Message::parse(p)).collect();
    DEPLOYMENT.with(|deployment| {
        let shared = SharedStore::default();
        let mut worker = Worker::default();
        for round in 0..2u64 {
            let now = NOW as u64 * 1_000_000_000 + round * 1_000_000;
            run(deployment, &mut worker, &shared, now, &request, &answers);
        }
    });
});

fn run(
    deployment: &Deployment,
    worker: &mut Worker,
    shared: &SharedStore,
    now: u64,
    request: &Message,
    answers: &[Message],
) {
    let (method, target) = request.request_line();
    let mut headers = vec![
        (":method".to_string(), method.clone()),
        (":path".to_string(), target.clone()),
        (":scheme".to_string(), b"https".to_vec()),
    ];
    headers
        .extend(request.headers.iter().filter(|(n, _)| n != ":route" && n != ":source").cloned());
    let mut host = MemoryHost {
        request_headers: headers,
        shared: shared.clone(),
        now_nanos: now,
        ..Default::default()
    };
    let source = request.header(":source").unwrap_or(b"10.1.2.3:5000");
    host.properties.insert("source.address".into(), source.to_vec());
    let route = request.header(":route");
    let mut answers = answers.iter();
    let mut next = || answers.next().cloned().unwrap_or_default();

    if route == Some(admin::ROUTE_NAME.as_bytes()) {
        if let Some(plan) = &deployment.admin {
            management(plan, &mut host, &method, &target, now, &mut next);
            return;
        }
    }
    let selected = if deployment.single() {
        Some(Selected { stage: 0, canary: false, base_path: None, mapped: false })
    } else {
        let header = deployment.selection_header().and_then(|h| request.header(h));
        let authority = request.header(":authority");
        let choice = Request { route_name: route, path: &target, header, authority };
        deployment.select(&choice, worker.roll(now))
    };
    let Some(selected) = selected else {
        if let Some(plan) = deployment.primary() {
            pipeline::reply(
                plan,
                &mut host,
                &Rejection::new(ResponseType::MissingAuthenticationToken),
            );
            assert!(host.reply.is_some());
        }
        return;
    };
    let plan = deployment.plan(&selected).expect("a selected stage has a plan");
    let mut exchange = Exchange::default();
    if selected.mapped {
        exchange.set_mapped_base_path(selected.base_path.clone());
    } else {
        exchange.set_base_path(selected.base_path.clone());
    }
    let base_path = selected.base_path.clone();
    let end_of_stream = request.body.is_empty();
    let mut flow =
        pipeline::on_request_headers(plan, worker, &mut host, &mut exchange, end_of_stream);
    for _ in 0..MAX_STEPS {
        if DEBUG.with(|d| *d) {
            let reply = host
                .reply
                .as_ref()
                .map(|r| (r.status, String::from_utf8_lossy(&r.body).into_owned()));
            eprintln!("stage {} {flow:?} {reply:?}", plan.stage);
        }
        flow = match flow {
            Flow::NeedBody => {
                pipeline::on_request_body(plan, worker, &mut host, &mut exchange, &request.body)
            }
            Flow::Call(call) => {
                let integration = exchange.awaits_integration();
                if integration {
                    admitted(plan, base_path.as_deref(), request);
                }
                assert!(exchange.is_waiting(), "a callout is waited for");
                let answer = next();
                let response = match call.request {
                    CalloutRequest::Grpc { .. } => {
                        let code = if answer.status() == 200 { 0 } else { 14 };
                        CalloutResponse::grpc(code, answer.body)
                    }
                    CalloutRequest::Http { .. } => CalloutResponse {
                        status: answer.status(),
                        headers: answer.headers,
                        body: answer.body,
                    },
                };
                let flow =
                    pipeline::on_callout_response(plan, worker, &mut host, &mut exchange, response);
                if integration {
                    assert_eq!(flow, Flow::Replied, "an integration's answer is the client's");
                    assert_reply(&host);
                    return;
                }
                flow
            }
            Flow::Continue => {
                admitted(plan, base_path.as_deref(), request);
                let upstream = host.header(":path").unwrap_or_default();
                assert!(
                    !has_dot_segment(split_target(upstream).0),
                    "a dot segment goes upstream: {}",
                    String::from_utf8_lossy(upstream)
                );
                let answer = next();
                host.response_headers = answer.headers.clone();
                host.response_headers.push((":status".into(), answer.first.clone()));
                let end = answer.body.is_empty();
                if pipeline::on_response_headers(plan, &mut host, &mut exchange, end)
                    == ResponseFlow::NeedBody
                {
                    pipeline::on_response_body(plan, &mut host, &mut exchange, &answer.body);
                }
                if DEBUG.with(|d| *d) {
                    let body = host.response_body.as_deref().map(String::from_utf8_lossy);
                    eprintln!("  upstream got {:?}; client gets {body:?}", host.request_headers);
                }
                return;
            }
            Flow::Replied => {
                assert_reply(&host);
                return;
            }
        };
    }
    panic!("the pipeline did not finish in {MAX_STEPS} steps: {flow:?}");
}

/// The management routes, as the filter serves them on the admin listener.
fn management(
    plan: &AdminPlan,
    host: &mut MemoryHost,
    method: &[u8],
    target: &[u8],
    now: u64,
    next: &mut dyn FnMut() -> Message,
) {
    let method = String::from_utf8_lossy(method);
    let target = String::from_utf8_lossy(target);
    let key = host.header(admin::KEY_HEADER).map(<[u8]>::to_vec);
    let reply =
        match admin::global_usage_call(plan, &method, &target, key.as_deref(), now / 1_000_000_000)
        {
            Some(call) => {
                let answer = next();
                let body = (answer.status() == 200).then_some(answer.body.as_slice());
                admin::global_usage_reply(plan, &call, body)
            }
            None => admin::handle(plan, host, &method, &target, key.as_deref()),
        };
    assert!((100..=599).contains(&reply.status), "{}", reply.status);
}

fn assert_reply(host: &MemoryHost) {
    let reply = host.reply.as_ref().expect("a stopped request was answered");
    if DEBUG.with(|d| *d) {
        eprintln!("  reply {} {}", reply.status, String::from_utf8_lossy(&reply.body));
    }
    assert!((100..=599).contains(&reply.status), "status {}", reply.status);
}

/// A request let through (upstream or to its integration) matched a method, carried the token or
/// signature its authorization needs, and a valid API key from `x-api-key` when it needs one.
fn admitted(plan: &Plan, base_path: Option<&str>, request: &Message) {
    let (verb, target) = request.request_line();
    let routed = routed(&target, base_path);
    let (path, _) = split_target(&routed);
    let Ok((_, method)) = match_method(plan, &verb, path) else {
        panic!("a request that matches no method was let through");
    };
    let signed_query = split_target(&target).1.windows(15).any(|w| w == b"X-Amz-Signature");
    match method.auth.authorization_type() {
        AuthorizationType::Jwt | AuthorizationType::CognitoUserPools => {
            assert!(request.header("authorization").is_some(), "let through without a token");
        }
        AuthorizationType::AwsIam => assert!(
            request.header("authorization").is_some() || signed_query,
            "let through without a signature"
        ),
        AuthorizationType::Custom | AuthorizationType::None => {}
    }
    if method.api_key_required && plan.api_key_source == ApiKeySource::Header {
        let key = request.header(pipeline::API_KEY_HEADER);
        assert!(
            key == Some(API_KEY.as_bytes()) || key == Some(GLOBAL_API_KEY.as_bytes()),
            "let through without a valid API key"
        );
    }
}

/// The target without the stage's base path, as the pipeline matches it.
fn routed(target: &[u8], base: Option<&str>) -> Vec<u8> {
    match base.and_then(|b| target.strip_prefix(b.as_bytes())) {
        Some(rest) if rest.is_empty() || rest.starts_with(b"?") => [b"/", rest].concat(),
        Some(rest) if rest.starts_with(b"/") => rest.to_vec(),
        _ => target.to_vec(),
    }
}

/// A `.` or `..` segment, as sent or once to three times percent-decoded: what a backend that
/// normalises paths would resolve to another resource.
fn has_dot_segment(path: &[u8]) -> bool {
    let mut path = path.to_vec();
    for _ in 0..4 {
        if path.split(|&b| b == b'/' || b == b'\\').any(|s| s == b"." || s == b"..") {
            return true;
        }
        path = percent_decode(&path);
    }
    false
}

fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => Some(h << 4 | l),
            _ => None,
        };
        match decoded {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}
