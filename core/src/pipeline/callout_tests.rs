//! Requests with several callouts, driven as the filter drives them (send each [`Flow::Call`],
//! report its answer): a Lambda authorizer, the rate-limit service and a Lambda integration in
//! one request; a JWKS fetch, the service and an integration in another; each called once, the
//! authorizer once whatever its TTL, and a callout that cannot be sent answered with a gateway
//! response.

use prost::Message;

use super::token_tests;
use super::*;
use crate::apikey::hash_key_hex;
use crate::host::memory::{MemoryHost, SharedStore};
use crate::test_support::test;
use crate::throttle::rls;

const NOW: u64 = 1_764_072_000;

/// A REQUEST authorizer (TTL 0: nothing cached), a JWT authorizer whose keys are fetched, a
/// global usage plan, a Lambda proxy integration and a validated body.
fn plan(failure_mode: &str) -> Plan {
    let config = serde_json::json!({
        "api": {"id": "shop", "region": "us-east-1", "account_id": "123456789012"},
        "lambda_authorizers": [
            {"id": "req", "type": "REQUEST", "result_ttl_seconds": 0,
             "function": {"cluster": "lambda", "authority": "lambda", "name": "authz"},
             "identity_source": "method.request.header.x-user"},
        ],
        "authorizers": [
            {"id": "pool", "type": "JWT", "issuers": ["https://issuer.example"],
             "jwks_uri": {"cluster": "idp", "authority": "idp.example", "path": "/jwks.json"}},
        ],
        "models": {"Order": {"type": "object", "required": ["item"]}},
        "request_validators": {"body": {"validate_request_body": true}},
        "methods": [
            {"resource": "/orders", "http_method": "GET", "authorization_type": "CUSTOM",
             "authorizer_id": "req", "api_key_required": true},
            {"resource": "/orders", "http_method": "POST", "authorization_type": "CUSTOM",
             "authorizer_id": "req", "api_key_required": true,
             "request_validator": "body", "request_models": {"application/json": "Order"}},
            {"resource": "/fn", "http_method": "GET", "authorization_type": "CUSTOM",
             "authorizer_id": "req", "api_key_required": true,
             "integration": {"type": "AWS_PROXY", "function": {"cluster": "lambda", "authority": "lambda", "name": "fn"}}},
            {"resource": "/jwt", "http_method": "GET", "authorization_type": "JWT",
             "authorizer_id": "pool", "api_key_required": true,
             "integration": {"type": "AWS_PROXY", "function": {"cluster": "lambda", "authority": "lambda", "name": "fn"}}},
        ],
        "api_keys": [{"id": "k", "value_sha256": hash_key_hex(b"shop-key"), "usage_plan_ids": ["fleet"]}],
        "usage_plans": [{"id": "fleet", "global": true, "quota": {"limit": 2, "period": "DAY"},
                         "api_stages": [{"api_id": "shop", "stage": "prod"}]}],
        "rate_limit_service": {"cluster": "rl", "batch": 1, "failure_mode": failure_mode},
        "account_throttle": null,
    });
    Plan::from_json(config.to_string().as_bytes()).unwrap()
}

/// What the far ends of the callouts answer, and how often each was called.
#[derive(Default)]
struct Remote {
    authorizer: usize,
    rate_limit: usize,
    integration: usize,
    jwks: usize,
    /// The rate-limit service is down.
    rate_limit_down: bool,
    /// Units the service has granted (the quota is 2 a day).
    granted: u32,
    /// A callout cannot even be sent to this cluster.
    unreachable: Option<&'static str>,
}

fn allow_policy() -> serde_json::Value {
    serde_json::json!({
        "principalId": "user-1",
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow",
             "Resource": "arn:aws:execute-api:us-east-1:123456789012:shop/prod/*"}]},
        "context": {"tier": "gold"},
    })
}

impl Remote {
    fn answer(&mut self, call: &Callout) -> CalloutResponse {
        if self.unreachable == Some(call.cluster.as_str()) {
            return CalloutResponse::failed();
        }
        match (&call.request, call.cluster.as_str()) {
            (CalloutRequest::Grpc { service, method, message }, "rl") => {
                assert_eq!((*service, *method), (rls::SERVICE, rls::METHOD));
                self.rate_limit += 1;
                if self.rate_limit_down {
                    return CalloutResponse::grpc(14, Vec::new());
                }
                let request = rls::RateLimitRequest::decode(message.as_slice()).unwrap();
                let over = self.granted + 1 > 2;
                if !over {
                    self.granted += 1;
                }
                let code = if over { rls::CODE_OVER_LIMIT } else { rls::CODE_OK };
                let statuses = request
                    .descriptors
                    .iter()
                    .map(|_| rls::DescriptorStatus {
                        code,
                        current_limit: None,
                        limit_remaining: 2 - self.granted,
                        duration_until_reset: Some(rls::Duration { seconds: 60, nanos: 0 }),
                    })
                    .collect();
                let answer = rls::RateLimitResponse { overall_code: code, statuses };
                CalloutResponse::grpc(0, answer.encode_to_vec())
            }
            (CalloutRequest::Http { .. }, "lambda") => {
                let path = call.header(":path").unwrap_or_default();
                let body = if path.contains("authz") {
                    self.authorizer += 1;
                    let event: serde_json::Value = serde_json::from_slice(call.body()).unwrap();
                    assert_eq!(event["type"], "REQUEST");
                    allow_policy()
                } else {
                    self.integration += 1;
                    serde_json::json!({"statusCode": 200, "body": "from the function"})
                };
                CalloutResponse { status: 200, headers: Vec::new(), body: body.to_string().into() }
            }
            (CalloutRequest::Http { .. }, "idp") => {
                self.jwks += 1;
                let body = token_tests::jwks("k1").to_string();
                CalloutResponse { status: 200, headers: Vec::new(), body: body.into_bytes() }
            }
            other => panic!("an unexpected callout: {other:?}"),
        }
    }
}

/// One request through the pipeline, every callout answered by `remote` as the filter would
/// report it; the final flow and the host.
fn request(
    plan: &Plan,
    worker: &mut Worker,
    remote: &mut Remote,
    host: MemoryHost,
    body: Option<&[u8]>,
) -> (Flow, MemoryHost) {
    let mut host = host;
    host.now_nanos = NOW * 1_000_000_000;
    let mut exchange = Exchange::default();
    let mut flow = on_request_headers(plan, worker, &mut host, &mut exchange, body.is_none());
    for _ in 0..10 {
        flow = match flow {
            Flow::Call(call) => {
                let answer = remote.answer(&call);
                on_callout_response(plan, worker, &mut host, &mut exchange, answer)
            }
            Flow::NeedBody => {
                let body = body.expect("a body");
                assert_eq!(
                    on_request_body_data(plan, &mut host, &mut exchange, body.len(), true),
                    BodyFlow::Ready
                );
                on_request_body(plan, worker, &mut host, &mut exchange, body)
            }
            done => return (done, host),
        };
    }
    panic!("the request did not finish: {flow:?}");
}

fn get(path: &str) -> MemoryHost {
    MemoryHost::request("GET", path)
        .with_header("x-user", "ann")
        .with_header("x-api-key", "shop-key")
}

fn status(host: &MemoryHost) -> u16 {
    host.reply.as_ref().map_or(200, |r| r.status)
}

#[test]
fn a_ttl_0_authorizer_is_invoked_once_per_request_with_a_global_plan() {
    let plan = plan("CLOSED");
    let shared = SharedStore::default();
    let mut worker = Worker::default();
    let mut remote = Remote::default();
    for n in 1..=2 {
        let mut host = get("/orders");
        host.shared = shared.clone();
        let (flow, host) = request(&plan, &mut worker, &mut remote, host, None);
        assert_eq!((flow, status(&host)), (Flow::Continue, 200), "request {n}");
        assert_eq!(host.header("x-tollgate-authorizer-tier"), Some(&b"gold"[..]));
        assert_eq!((remote.authorizer, remote.rate_limit), (n, n), "request {n}");
    }
    // The third is over the quota: still one invocation, and AWS's 429.
    let mut host = get("/orders");
    host.shared = shared.clone();
    let (flow, host) = request(&plan, &mut worker, &mut remote, host, None);
    assert_eq!((flow, status(&host)), (Flow::Replied, 429));
    assert_eq!(
        host.filter_state.get(REJECTION_STATE).map(Vec::as_slice),
        Some(&b"quota_exceeded"[..])
    );
    assert_eq!((remote.authorizer, remote.rate_limit), (3, 3));
    // The service is down (fail closed): one invocation, one call, a 429.
    let mut remote = Remote { rate_limit_down: true, ..Remote::default() };
    let (flow, host) = request(&plan, &mut Worker::default(), &mut remote, get("/orders"), None);
    assert_eq!((flow, status(&host)), (Flow::Replied, 429));
    assert_eq!((remote.authorizer, remote.rate_limit), (1, 1));
    // Down, counted locally instead: admitted, still one invocation.
    let plan = self::plan("LOCAL");
    let mut remote = Remote { rate_limit_down: true, ..Remote::default() };
    let (flow, host) = request(&plan, &mut Worker::default(), &mut remote, get("/orders"), None);
    assert_eq!((flow, status(&host)), (Flow::Continue, 200));
    assert_eq!((remote.authorizer, remote.rate_limit), (1, 1));
}

#[test]
fn three_callouts_in_one_request_each_go_out_once() {
    let plan = plan("CLOSED");
    let mut remote = Remote::default();
    let (flow, host) = request(&plan, &mut Worker::default(), &mut remote, get("/fn"), None);
    assert_eq!(flow, Flow::Replied);
    let reply = host.reply.as_ref().unwrap();
    assert_eq!((reply.status, reply.body.as_slice()), (200, &b"from the function"[..]));
    assert_eq!((remote.authorizer, remote.rate_limit, remote.integration), (1, 1, 1));

    // A bearer token whose keys are not there yet: JWKS, service, function.
    let mut remote = Remote::default();
    let token = token_tests::token("k1", token_tests::claims(serde_json::json!({})));
    let host = get("/jwt").with_header("authorization", format!("Bearer {token}"));
    let (flow, host) = request(&plan, &mut Worker::default(), &mut remote, host, None);
    assert_eq!(flow, Flow::Replied, "{:?}", host.reply);
    assert_eq!(host.reply.as_ref().unwrap().status, 200);
    assert_eq!((remote.jwks, remote.rate_limit, remote.integration), (1, 1, 1));
}

#[test]
fn a_body_read_before_a_callout_is_there_after_it() {
    let plan = plan("CLOSED");
    let post = |body: &[u8]| {
        let host = MemoryHost::request("POST", "/orders")
            .with_header("x-user", "ann")
            .with_header("x-api-key", "shop-key")
            .with_header("content-type", "application/json");
        request(&plan, &mut Worker::default(), &mut Remote::default(), host, Some(body))
    };
    let (flow, host) = post(br#"{"item": "lamp"}"#);
    assert_eq!((flow, status(&host)), (Flow::Continue, 200), "{:?}", host.reply);
    let (flow, host) = post(br#"{"nothing": 1}"#);
    assert_eq!((flow, status(&host)), (Flow::Replied, 400));
}

#[test]
fn a_callout_that_cannot_be_sent_gets_a_gateway_response() {
    let plan = plan("CLOSED");
    for (cluster, expected, error_type) in
        [("lambda", 500, "AuthorizerFailureException"), ("rl", 429, "LimitExceededException")]
    {
        let mut remote = Remote { unreachable: Some(cluster), ..Remote::default() };
        let (flow, host) = request(&plan, &mut Worker::default(), &mut remote, get("/fn"), None);
        assert_eq!(flow, Flow::Replied, "{cluster}");
        let reply = host.reply.as_ref().unwrap();
        assert_eq!(reply.status, expected, "{cluster}");
        assert_eq!(reply.header("x-amzn-errortype"), Some(error_type), "{cluster}");
        assert_eq!(remote.integration, 0, "{cluster}: nothing admitted");
    }
    // The integration itself: no answer at all is AWS's 504.
    let mut remote = Remote::default();
    let plan_unreachable = plan;
    let mut host = get("/fn");
    host.now_nanos = NOW * 1_000_000_000;
    let mut exchange = Exchange::default();
    let mut worker = Worker::default();
    let mut flow =
        on_request_headers(&plan_unreachable, &mut worker, &mut host, &mut exchange, true);
    while let Flow::Call(call) = flow {
        let answer = if exchange.awaits_integration() {
            CalloutResponse::failed()
        } else {
            remote.answer(&call)
        };
        flow =
            on_callout_response(&plan_unreachable, &mut worker, &mut host, &mut exchange, answer);
    }
    assert_eq!(flow, Flow::Replied);
    let reply = host.reply.as_ref().unwrap();
    assert_eq!(reply.status, 504);
    assert_eq!(reply.body, br#"{"message":"Endpoint request timed out"}"#);
}

#[test]
fn an_answer_nobody_waits_for_is_refused() {
    let plan = plan("CLOSED");
    let mut host = get("/orders");
    let flow = on_callout_response(
        &plan,
        &mut Worker::default(),
        &mut host,
        &mut Exchange::default(),
        CalloutResponse::failed(),
    );
    assert_eq!(flow, Flow::Replied);
    assert_eq!(host.reply.as_ref().unwrap().status, 500);
}

/// A REQUEST authorizer without identity sources (AWS exports it under the scheme name
/// `Unused`) is called on every request, whatever its TTL, and needs no header.
#[test]
fn a_request_authorizer_without_identity_sources_is_called_every_time() {
    let config = serde_json::json!({
        "api": {"id": "shop", "region": "us-east-1", "account_id": "123456789012"},
        "lambda_authorizers": [
            {"id": "req", "type": "REQUEST", "result_ttl_seconds": 300, "identity_source": "",
             "function": {"cluster": "lambda", "authority": "lambda", "name": "authz"}},
        ],
        "methods": [{"resource": "/orders", "http_method": "GET", "authorization_type": "CUSTOM",
                     "authorizer_id": "req"}],
    });
    let plan = Plan::from_json(config.to_string().as_bytes()).unwrap();
    let shared = SharedStore::default();
    let mut worker = Worker::default();
    let mut remote = Remote::default();
    for n in 1..=2 {
        let mut host = MemoryHost::request("GET", "/orders");
        host.shared = shared.clone();
        let (flow, host) = request(&plan, &mut worker, &mut remote, host, None);
        assert_eq!((flow, status(&host)), (Flow::Continue, 200), "request {n}");
        assert_eq!(remote.authorizer, n, "request {n}: called, not cached");
    }
    // A TOKEN authorizer still reads one header.
    let mut token = config.clone();
    token["lambda_authorizers"][0]["type"] = serde_json::json!("TOKEN");
    let err = Plan::from_json(token.to_string().as_bytes()).unwrap_err();
    assert_eq!(err.path, "lambda_authorizers[0].identity_source");
}
