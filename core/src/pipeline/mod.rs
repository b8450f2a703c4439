//! One request through API Gateway's steps. The filter calls an entry point for each of its
//! callbacks ([`on_request_headers`], [`on_request_body_data`] and [`on_request_body`],
//! [`on_callout_response`], the response phase) and translates the returned [`Flow`]; it knows
//! no step, no callout kind and no limit.
//!
//! | # | step | function | may call out | outcome kept in [`Exchange`] |
//! |---|---|---|---|---|
//! | 1 | match the method (stage, verb, resource) | [`match_method`] | - | - |
//! | 2 | the payload limit; whether the body is needed | [`run`] | - | `awaiting_body` |
//! | 3 | authenticate: Lambda authorizer, token, SigV4 | `steps::authenticate` | JWKS, authorizer | `authenticated` |
//! | 4 | authorize: identity and resource policies | `steps::authorize` | - | - |
//! | 5 | API key and its usage plan | `steps::api_key` | - | - |
//! | 6 | usage admission: throttles, quota | `steps::admit_usage` | rate-limit service | `admitted` |
//! | 7 | prepare upstream: base path, client `x-tollgate-*` out | `steps::prepare_upstream` | - | - |
//! | 8 | validation, cache, transform, integration | `steps::transform` | integration | `response`, `cache` |
//! | 9 | publish identity: key id, authorizer, claims | `steps::publish_identity` | - | - |
//!
//! The invariant that makes callouts safe: after a callout's answer the pipeline runs again
//! from step 1, and every step that called out or counted keeps its *decided* outcome in the
//! [`Exchange`] for the rest of the request and returns it on every later pass. A raw answer
//! (the authorizer's invocation result, the rate-limit service's message) is consumed by the
//! step that asked for it on the very next pass, which turns it into that decided outcome; so
//! no later pass asks again (one authorizer invocation per request whatever its TTL) and no
//! usage is counted twice. The answer of an integration is the client's and ends the request.

use crate::gateway_response::{LocalReply, Rejection, ResponseType};
use crate::host::{HeaderList, Host, LogLevel, Outcome};
use crate::plan::{MethodAuth, MethodPlan, Plan};
use crate::routes::MethodId;
use crate::throttle::global;
use crate::throttle::lease::Leases;

mod callout;
mod context;
mod exchange;
mod integration_call;
mod json_instance;
mod steps;
mod transform;

pub use callout::{Callout, CalloutRequest, CalloutResponse, MAX_CALLOUT_RESPONSE_BYTES};
pub use exchange::Exchange;
pub use steps::check_api_key;
pub use transform::{PendingEntry, ResponseFlow, ResponseState};

use exchange::{Authenticated, Pending, StoreAnswer, MAX_CALLOUTS};
use steps::{Halt, Request};

use crate::auth::custom::InvokeResponse;
use crate::auth::sigv4::KeyCache;
use crate::auth::token::{keys_fetched, TokenState};
use crate::keystore::cache::StoreCache;
use crate::keystore::{self, ChangesResponse, LookupResponse, StoredKey};
use prost::Message;
use std::rc::Rc;

pub const API_KEY_HEADER: &str = "x-api-key";
/// Filter state key with the caller's API key id (`%FILTER_STATE(wasm.tollgate.api_key_id)%`).
pub const API_KEY_ID_STATE: &str = "tollgate.api_key_id";
/// Filter state key with the IAM caller's principal ARN.
pub const PRINCIPAL_STATE: &str = "tollgate.principal_arn";
/// Filter state key with the `sub` of a verified token.
pub const SUBJECT_STATE: &str = "tollgate.sub";
/// Filter state key with why the gateway refused a request (`missing_api_key`, `throttled`).
pub const REJECTION_STATE: &str = "tollgate.rejection";
/// Filter state with a refusal's gateway response type (`THROTTLED`), for access logs
/// (`$context.error.responseType`).
pub const RESPONSE_TYPE_STATE: &str = "tollgate.response_type";
/// Filter state with a refusal's message (`Too Many Requests`, `$context.error.message`).
pub const ERROR_MESSAGE_STATE: &str = "tollgate.error_message";
/// Filter state with the status the integration answered, where the client's status may
/// differ or no upstream request shows it: a Lambda or AWS service Tollgate called, an HTTP
/// integration's status before its integration response (`$context.integrationStatus`).
pub const INTEGRATION_STATUS_STATE: &str = "tollgate.integration_status";
/// The largest body Tollgate takes (AWS's payload limit, 10 MB).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// Prefix of the request headers that carry a Lambda authorizer's principal and context.
pub const AUTHORIZER_HEADER_PREFIX: &str = "x-tollgate-authorizer-";
/// The prefix of the request headers only the gateway sets.
pub const GATEWAY_HEADER_PREFIX: &str = "x-tollgate-";

/// What the proxy does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    /// Send the request on upstream.
    Continue,
    /// A local reply was sent; stop here.
    Replied,
    /// The decision needs the whole body: hold the headers, buffer the body (see
    /// [`on_request_body_data`]). (Envoy holds the headers of a paused wasm filter and still
    /// delivers the body only with the plugin's `allow_on_headers_stop_iteration: true`.)
    NeedBody,
    /// Send this callout and report how it ended with [`on_callout_response`] (a callout that
    /// cannot be sent is reported as [`CalloutResponse::failed`]).
    Call(Callout),
}

/// What to do with a piece of the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFlow {
    /// Let it go on upstream.
    Continue,
    /// Hold it (Envoy buffers it).
    Pause,
    /// The whole body the pipeline asked for is buffered: read it and call [`on_request_body`].
    Ready,
    /// A local reply was sent (the body is over the payload limit).
    Replied,
}

/// What one worker (one wasm VM) keeps across requests: never in a static, reset when the
/// configuration changes.
#[derive(Debug, Default)]
pub struct Worker {
    pub leases: Leases,
    pub signing_keys: KeyCache,
    pub tokens: TokenState,
    /// Records looked up in the key store (with `api_key_store`).
    pub stored_keys: StoreCache,
    /// xorshift64 state for canary draws (0: not seeded yet).
    rng: u64,
}

impl Worker {
    /// A uniform draw in [0, 100) for a canary's `percent_traffic`; the first draw seeds the
    /// generator from the clock.
    pub fn roll(&mut self, now_nanos: u64) -> f64 {
        if self.rng == 0 {
            self.rng = now_nanos | 1;
        }
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        // The top 53 bits as a fraction of 2^53, scaled to percent.
        (x >> 11) as f64 / (1u64 << 53) as f64 * 100.0
    }
}

const CONFIG_ERROR: Rejection = Rejection::new(ResponseType::ApiConfigurationError);

/// Whether a body of `size` bytes is over AWS's payload limit: the one place the limit is
/// decided.
fn too_large(size: usize) -> bool {
    size > MAX_BODY_BYTES
}

/// The request body as far as the pipeline knows it.
#[derive(Debug, Clone, Copy)]
enum Body<'a> {
    /// More is coming.
    Pending,
    /// Complete (empty when the request has none).
    Complete(&'a [u8]),
}

/// Step 1: the configured method for this HTTP method and path, or `Missing Authentication Token`.
pub fn match_method<'p>(
    plan: &'p Plan,
    method: &[u8],
    path: &[u8],
) -> Result<(MethodId, &'p MethodPlan), Rejection> {
    plan.router
        .find(method, path)
        .and_then(|id| plan.method(id).map(|m| (id, m)))
        .ok_or(Rejection::new(ResponseType::MissingAuthenticationToken))
}

/// The request headers arrived. `end_of_stream`: the request has no body.
pub fn on_request_headers<H: Host>(
    plan: &Plan,
    worker: &mut Worker,
    host: &mut H,
    exchange: &mut Exchange,
    end_of_stream: bool,
) -> Flow {
    exchange.end_of_stream = end_of_stream;
    let body = if end_of_stream { Body::Complete(&[]) } else { Body::Pending };
    decide(plan, worker, host, exchange, body)
}

/// A piece of the request body arrived: `size` is what Envoy holds now (the whole body so far
/// while the pipeline waits for it, else this piece, streamed upstream). The payload limit is
/// held here, for buffered and streamed bodies alike (not for tunnels).
pub fn on_request_body_data<H: Host>(
    plan: &Plan,
    host: &mut H,
    exchange: &mut Exchange,
    size: usize,
    end_of_stream: bool,
) -> BodyFlow {
    if exchange.pending.is_some() {
        // Held until the callout decides the request.
        return BodyFlow::Pause;
    }
    if exchange.deferred.is_some() {
        if !end_of_stream && size <= DRAINED_BODY_BYTES as usize {
            return BodyFlow::Pause;
        }
        exchange.awaiting_body = false;
        if let Some(local) = exchange.deferred.take() {
            // Nothing better to do if the reply fails: the filter has stopped the request.
            let _ = host.send_reply(&local);
        }
        return BodyFlow::Replied;
    }
    if exchange.awaiting_body {
        if too_large(size) {
            exchange.awaiting_body = false;
            reply(plan, host, &Rejection::new(ResponseType::RequestTooLarge));
            return BodyFlow::Replied;
        }
        // Envoy buffers until the end (or answers 413 past its own buffer limit).
        return if end_of_stream { BodyFlow::Ready } else { BodyFlow::Pause };
    }
    exchange.streamed = exchange.streamed.saturating_add(size);
    if too_large(exchange.streamed) && !exchange.tunnel {
        exchange.streamed = 0;
        // The headers went upstream: Envoy no longer lends them, so no request id is read.
        send_rejection(plan, host, None, &Rejection::new(ResponseType::RequestTooLarge));
        return BodyFlow::Replied;
    }
    BodyFlow::Continue
}

/// The whole body the pipeline asked for (after [`BodyFlow::Ready`]); the request is decided
/// with it.
pub fn on_request_body<H: Host>(
    plan: &Plan,
    worker: &mut Worker,
    host: &mut H,
    exchange: &mut Exchange,
    body: &[u8],
) -> Flow {
    exchange.awaiting_body = false;
    if too_large(body.len()) {
        reply(plan, host, &Rejection::new(ResponseType::RequestTooLarge));
        return Flow::Replied;
    }
    let flow = decide(plan, worker, host, exchange, Body::Complete(body));
    if matches!(flow, Flow::Call(_)) {
        // The pass after the callout decides with it again.
        exchange.body = Some(body.to_vec());
    }
    flow
}

/// A callout of [`Flow::Call`] ended (with [`CalloutResponse::failed`] when it could not be
/// sent, failed or timed out): the step that asked takes the answer, and the request is
/// decided with it.
pub fn on_callout_response<H: Host>(
    plan: &Plan,
    worker: &mut Worker,
    host: &mut H,
    exchange: &mut Exchange,
    response: CalloutResponse,
) -> Flow {
    let Some(pending) = exchange.pending.take() else {
        host.log(LogLevel::Error, "a callout answered a request that waits for none");
        reply(plan, host, &CONFIG_ERROR);
        return Flow::Replied;
    };
    match pending {
        Pending::Keys(authorizer) => {
            let now = now_seconds(host);
            let fetched = keys_fetched(&mut worker.tokens, authorizer, response.ok_body(), now);
            log_keys(plan, host, authorizer, &fetched);
            exchange.keys_fetched = true;
        }
        Pending::Authorizer(_) => {
            let function_error = response.header("x-amz-function-error").map(<[u8]>::to_vec);
            let CalloutResponse { status, body, .. } = response;
            exchange.authorizer_response = Some(InvokeResponse { status, function_error, body });
        }
        Pending::RateLimit => {
            let answer = match exchange.global.call.take() {
                Some(call) => global::read_answer(&call, response.ok_body()),
                None => global::Answer::Failed,
            };
            exchange.global.answer = Some(answer);
        }
        Pending::KeyLookup(hash) => {
            let answer = response.ok_body().and_then(|b| LookupResponse::decode(b).ok());
            exchange.stored_key = match (answer, &plan.key_store) {
                (Some(answer), Some(store)) => {
                    let record = Option::<StoredKey>::from(answer).map(Rc::new);
                    let now = host.now_nanos();
                    worker.stored_keys.insert(store, *hash, record.clone(), now);
                    Some(StoreAnswer::Found(record))
                }
                _ => {
                    host.log(LogLevel::Warn, "key store: no answer to a lookup");
                    Some(StoreAnswer::Failed)
                }
            };
        }
        Pending::Integration(method) => {
            if let Err(e) =
                integration_call::on_integration_response(plan, host, exchange, method, &response)
            {
                host.log(LogLevel::Warn, &format!("integration: {e}"));
            }
            return Flow::Replied;
        }
    }
    let stored = exchange.body.take();
    let body = match (&stored, exchange.end_of_stream) {
        (Some(body), _) => Body::Complete(body),
        (None, true) => Body::Complete(&[]),
        (None, false) => Body::Pending,
    };
    let flow = decide(plan, worker, host, exchange, body);
    if matches!(flow, Flow::Call(_)) {
        exchange.body = stored;
    }
    flow
}

/// Authorizers whose JWKS should be refreshed now, with the fetch to send for each; each is
/// marked as being fetched. Report each with [`on_background_keys`].
pub fn jwks_refresh_due(
    plan: &Plan,
    worker: &mut Worker,
    now_seconds: i64,
) -> Vec<(usize, Callout)> {
    let mut due = Vec::new();
    for (i, auth) in plan.authorizers.iter().enumerate() {
        let Some(uri) = &auth.jwks_uri else { continue };
        if let Some(state) = worker.tokens.jwks(i) {
            if state.due(now_seconds, i64::from(uri.refresh_seconds)) {
                if let Some(call) = steps::jwks_request(plan, i) {
                    state.start(now_seconds);
                    due.push((i, call));
                }
            }
        }
    }
    due
}

/// The key store's change-feed call, when one is due for this worker (with `api_key_store`);
/// report how it ended with [`on_key_changes`].
pub fn key_changes_due(plan: &Plan, worker: &mut Worker, now_nanos: u64) -> Option<Callout> {
    let store = plan.key_store.as_ref()?;
    let request = worker.stored_keys.poll_due(store, now_nanos)?;
    Some(Callout::grpc(
        &store.cluster,
        (keystore::SERVICE, keystore::CHANGES),
        request.encode_to_vec(),
        store.timeout_ms,
    ))
}

/// The change feed answered (or failed): changed keys leave the cache.
pub fn on_key_changes<H: Host>(worker: &mut Worker, host: &mut H, response: &CalloutResponse) {
    let answer = response.ok_body().and_then(|b| ChangesResponse::decode(b).ok());
    if answer.is_none() {
        host.log(LogLevel::Warn, "key store: the change feed did not answer");
    }
    worker.stored_keys.on_changes(answer, host.now_nanos());
}

/// A background JWKS refresh ended (see [`jwks_refresh_due`]).
pub fn on_background_keys<H: Host>(
    plan: &Plan,
    worker: &mut Worker,
    host: &mut H,
    authorizer: usize,
    response: &CalloutResponse,
) {
    let now = now_seconds(host);
    let fetched = keys_fetched(&mut worker.tokens, authorizer, response.ok_body(), now);
    log_keys(plan, host, authorizer, &fetched);
}

fn log_keys<H: Host>(plan: &Plan, host: &mut H, authorizer: usize, result: &Result<usize, String>) {
    let id = plan.authorizers.get(authorizer).map_or("?", |a| a.id.as_str());
    match result {
        Ok(n) => host.log(LogLevel::Info, &format!("authorizer {id}: JWKS loaded, {n} keys")),
        Err(e) => host.log(
            LogLevel::Error,
            &format!("authorizer {id}: JWKS not loaded ({e}); old keys, if any, still serve"),
        ),
    }
}

fn now_seconds<H: Host>(host: &H) -> i64 {
    seconds(host.now_nanos())
}

fn seconds(nanos: u64) -> i64 {
    i64::try_from(nanos / 1_000_000_000).unwrap_or(i64::MAX)
}

/// The request headers, read from the host in one call: every header read costs a host call
/// and an allocation inside the VM, so the pipeline reads them all once and looks up locally,
/// in the host's buffer. Owned copies are made only for the steps that keep or sign them.
struct Headers {
    list: HeaderList,
    owned: std::cell::OnceCell<Vec<(String, Vec<u8>)>>,
}

impl Headers {
    fn new(list: HeaderList) -> Self {
        Headers { list, owned: std::cell::OnceCell::new() }
    }

    fn get(&self, name: &str) -> Option<&[u8]> {
        self.list.get(name)
    }

    /// The header's value when the request carries it exactly once: a repeated `x-api-key`
    /// is ambiguous (the upstream may read another copy than the one checked), so it counts
    /// as no key.
    fn single(&self, name: &str) -> Option<&[u8]> {
        self.list.single(name)
    }

    /// The names in order (repeated names repeated).
    fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.list.iter().map(|(n, _)| n)
    }

    /// Owned pairs, made on first use: signatures, validation and events read them as a slice.
    fn pairs(&self) -> &[(String, Vec<u8>)] {
        self.owned.get_or_init(|| self.list.to_pairs())
    }
}

/// One pass: runs the steps and translates how they ended.
fn decide<H: Host>(
    plan: &Plan,
    worker: &mut Worker,
    host: &mut H,
    exchange: &mut Exchange,
    body: Body<'_>,
) -> Flow {
    let headers = match host.request_headers() {
        Ok(headers) => Headers::new(headers),
        Err(_) => {
            reply(plan, host, &CONFIG_ERROR);
            return Flow::Replied;
        }
    };
    exchange.tunnel =
        headers.get("upgrade").is_some() || headers.get(":method") == Some(b"CONNECT".as_slice());
    let rejection = match run(plan, worker, host, exchange, &headers, body) {
        Ok(()) => {
            host.count(Outcome::Allowed);
            return Flow::Continue;
        }
        Err(Halt::Respond(local)) => {
            host.count(Outcome::Allowed);
            let local = local.with_request_ids(&request_id(host, headers.get("x-request-id")));
            // Nothing better to do if the reply fails: the filter has stopped the request.
            let _ = host.send_reply(&local);
            return Flow::Replied;
        }
        Err(Halt::NeedBody) => {
            exchange.awaiting_body = true;
            return Flow::NeedBody;
        }
        Err(Halt::Call(_, _)) if exchange.callouts >= MAX_CALLOUTS => {
            host.log(LogLevel::Error, "too many callouts for one request");
            CONFIG_ERROR
        }
        Err(Halt::Call(pending, mut call)) => {
            if let Pending::Integration(_) | Pending::Authorizer(_) = pending {
                with_trace(&mut call, &headers);
            }
            if let Pending::Integration(_) = pending {
                host.count(Outcome::Allowed);
            }
            exchange.callouts = exchange.callouts.saturating_add(1);
            exchange.pending = Some(pending);
            return Flow::Call(call);
        }
        Err(Halt::Reject(rejection)) => rejection,
        Err(Halt::Host(e)) => {
            host.log(LogLevel::Error, &format!("host: {e}"));
            CONFIG_ERROR
        }
    };
    if matches!(body, Body::Pending) && drains(&headers, exchange) {
        // Answered once the body is in (see `on_request_body_data`): the connection stays.
        let request_id = request_id(host, headers.get("x-request-id"));
        let local = plan.responses.render_for(&rejection, &request_id, &request_headers(host));
        count_refusal(host, &rejection);
        exchange.deferred = Some(local);
        exchange.awaiting_body = true;
        return Flow::NeedBody;
    }
    send_rejection(plan, host, headers.get("x-request-id"), &rejection);
    Flow::Replied
}

/// The most of a body read (and dropped) to answer a refused request on a connection that
/// stays open.
const DRAINED_BODY_BYTES: u64 = 64 * 1024;

/// A refused request whose declared body is small enough to read before answering.
fn drains(headers: &Headers, exchange: &Exchange) -> bool {
    let length = headers.single("content-length").and_then(|v| std::str::from_utf8(v).ok());
    let length = length.and_then(|v| v.trim().parse::<u64>().ok());
    !exchange.tunnel && length.is_some_and(|n| n <= DRAINED_BODY_BYTES)
}

/// AWS: "When authorization is enabled on a method, the maximum length of the method's ARN ...
/// is 1600 bytes ... the API client receives a 414 Request URI too long response."
const MAX_METHOD_ARN_BYTES: usize = 1600;

/// The length of the method ARN `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{VERB}/{path}`,
/// without building it.
fn method_arn_len(plan: &Plan, verb: &[u8], path: &[u8]) -> usize {
    let partition = crate::auth::policy::partition(&plan.region).len();
    let path = path.strip_prefix(b"/").unwrap_or(path);
    let fixed = "arn::execute-api:::/".len() + "/".len() + "/".len();
    fixed
        + partition
        + plan.region.len()
        + plan.account_id.len()
        + plan.api_id.len()
        + plan.stage.len()
        + verb.len()
        + path.len()
}

/// `:path` without the stage's base path (`/dev/pets?x` -> `/pets?x`, `/dev` -> `/`).
fn routed_target<'a>(target: &'a [u8], base: Option<&str>) -> std::borrow::Cow<'a, [u8]> {
    let rest = base.and_then(|b| target.strip_prefix(b.as_bytes()));
    match rest {
        Some(rest) if rest.is_empty() || rest.starts_with(b"?") => {
            let mut out = b"/".to_vec();
            out.extend_from_slice(rest);
            std::borrow::Cow::Owned(out)
        }
        Some(rest) if rest.starts_with(b"/") => std::borrow::Cow::Borrowed(rest),
        _ => std::borrow::Cow::Borrowed(target),
    }
}

/// Whether `target` is `prefix` or starts with `prefix` then `/` or `?`.
fn starts_with_segment(target: &[u8], prefix: &str) -> bool {
    target
        .strip_prefix(prefix.as_bytes())
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/") || rest.starts_with(b"?"))
}

/// `:path` split at the first `?`.
fn split_path(target: &[u8]) -> (&[u8], &[u8]) {
    match target.iter().position(|&b| b == b'?') {
        Some(q) => (target.get(..q).unwrap_or_default(), target.get(q + 1..).unwrap_or_default()),
        None => (target, &[]),
    }
}

/// Steps 1 and 2, then the rest with the method and the body the request has.
fn run<H: Host>(
    plan: &Plan,
    worker: &mut Worker,
    host: &mut H,
    exchange: &mut Exchange,
    headers: &Headers,
    body: Body<'_>,
) -> Result<(), Halt> {
    let verb = headers.get(":method").unwrap_or_default();
    let target = headers.get(":path").unwrap_or_default();
    // One stage: `/prod/pets` is the execute-api form of `/pets`; a path that names a method
    // only with its first segment (a resource whose template starts with the stage's name) is
    // served as it is.
    let own_prefix = exchange.base_path.is_none()
        && plan.stage_prefix.as_deref().is_some_and(|p| starts_with_segment(target, p));
    if own_prefix {
        exchange.base_path = plan.stage_prefix.clone();
    }
    let mut routed = routed_target(target, exchange.base_path.as_deref());
    let (method_id, method) = match match_method(plan, verb, &routed) {
        Ok(found) => found,
        Err(rejection) if own_prefix => match match_method(plan, verb, target) {
            // Only a resource that itself starts with the stage's name: `/test` is the stage's
            // root on AWS, not `{proxy}` = `test`.
            Ok(found)
                if plan
                    .stage_prefix
                    .as_deref()
                    .is_some_and(|p| starts_with_segment(found.1.resource.as_bytes(), p)) =>
            {
                exchange.base_path = None;
                routed = std::borrow::Cow::Borrowed(target);
                found
            }
            _ => return Err(rejection.into()),
        },
        Err(rejection) => return Err(rejection.into()),
    };
    let body = match body {
        Body::Complete(body) => Some(body),
        Body::Pending => {
            // A declared length past the payload limit is refused before anything goes
            // upstream, whether or not the body is buffered (a streamed one is counted in
            // `on_request_body_data`).
            let declared = headers.get("content-length").and_then(|v| std::str::from_utf8(v).ok());
            if declared.and_then(|v| v.trim().parse::<usize>().ok()).is_some_and(too_large) {
                return Err(Rejection::new(ResponseType::RequestTooLarge).into());
            }
            if method.needs_body {
                return Err(Halt::NeedBody);
            }
            None
        }
    };
    // A signature covers the path the client sent; everything else sees it without the stage.
    let (signed_path, _) = split_path(target);
    let (path, query) = split_path(&routed);
    let authorized = !matches!(method.auth, MethodAuth::None) || plan.resource_policy.is_some();
    if authorized && method_arn_len(plan, verb, path) > MAX_METHOD_ARN_BYTES {
        return Err(Rejection::with_message(ResponseType::Default4xx, "Request URI too long")
            .status(414)
            .because("method_arn_too_long")
            .into());
    }
    let now_nanos = host.now_nanos();
    let req = Request {
        headers,
        method_id,
        method,
        verb,
        signed_path,
        path,
        query,
        now_seconds: seconds(now_nanos),
        now_nanos,
        body,
    };
    let who = match exchange.authenticated.take() {
        Some(who) => who,
        None => steps::authenticate(plan, worker, host, exchange, &req)?,
    };
    let result = admitted(plan, worker, host, exchange, &req, &who, &routed);
    if matches!(result, Err(Halt::Call(..))) {
        // Kept for the pass after the callout (never decided twice).
        exchange.authenticated = Some(who);
    }
    result
}

/// Steps 4 to 9 for an authenticated caller.
fn admitted<H: Host>(
    plan: &Plan,
    worker: &mut Worker,
    host: &mut H,
    exchange: &mut Exchange,
    req: &Request<'_>,
    who: &Authenticated,
    routed: &[u8],
) -> Result<(), Halt> {
    let invoke = crate::auth::caller::INVOKE;
    steps::authorize(plan, host, req, steps::iam_caller(plan, who), invoke)?;
    let stored = steps::stored_key(plan, worker, exchange, req, who)?;
    let stored = stored.as_ref().map(|record| record.as_deref());
    let key = steps::api_key(plan, host, req, who, stored)?;
    steps::admit_usage(plan, worker, host, exchange, req, key)?;
    steps::prepare_upstream(host, exchange, req.headers, routed)?;
    let call = steps::transform(plan, host, exchange, req, who, key)?;
    steps::publish_identity(plan, host, req, who, key)?;
    match call {
        Some(call) => Err(Halt::Call(Pending::Integration(req.method_id), call)),
        None => Ok(()),
    }
}

/// Envoy's `x-request-id` when it is printable, else one made from the clock.
pub(crate) fn request_id<H: Host>(host: &H, id: Option<&[u8]>) -> String {
    match id {
        Some(id) if !id.is_empty() && id.iter().all(|b| b.is_ascii_graphic()) => {
            String::from_utf8_lossy(id).into_owned()
        }
        _ => format!("{:032x}", host.now_nanos()),
    }
}

/// Response phase: adds what the request phase left in the exchange and, for an HTTP
/// integration, applies its integration response (which may need the body first).
pub fn on_response_headers<H: Host>(
    plan: &Plan,
    host: &mut H,
    exchange: &mut Exchange,
    end_of_stream: bool,
) -> ResponseFlow {
    // First the integration response (which removes an HTTP integration's own headers), then
    // the gateway's own headers.
    let flow = transform::response_headers(plan, host, exchange, end_of_stream);
    for (name, value) in &exchange.response_headers {
        // A header that cannot be added must not fail the response.
        let _ = host.add_response_header(name, value.as_bytes());
    }
    if exchange.cache.is_some() {
        if end_of_stream {
            if let Some(pending) = exchange.cache.take() {
                transform::store_response(host, &pending, b"");
            }
        } else {
            return ResponseFlow::NeedBody;
        }
    }
    flow
}

/// After [`ResponseFlow::NeedBody`]: the backend's whole body; the client's response is stored
/// when it is a cache miss.
pub fn on_response_body<H: Host>(plan: &Plan, host: &mut H, exchange: &mut Exchange, body: &[u8]) {
    let replaced = transform::response_body(plan, host, exchange, body);
    if let Some(pending) = exchange.cache.take() {
        transform::store_response(host, &pending, replaced.as_deref().unwrap_or(body));
    }
}

/// The caller's trace headers, passed on to a function or service the gateway calls for the
/// request (AWS passes `X-Amzn-Trace-Id` to Lambda), so its own spans join the caller's trace.
/// Envoy's tracer records no span of its own for these calls.
const TRACE_HEADERS: [&str; 3] = ["x-amzn-trace-id", "traceparent", "tracestate"];

fn with_trace(call: &mut Callout, headers: &Headers) {
    if let CalloutRequest::Http { headers: out, .. } = &mut call.request {
        for name in TRACE_HEADERS {
            if let Some(value) = headers.get(name).filter(|v| !v.is_empty()) {
                out.push((name.to_string(), String::from_utf8_lossy(value).into_owned()));
            }
        }
    }
}

/// Sends the gateway response for a rejection and counts it.
pub fn reply<H: Host>(plan: &Plan, host: &mut H, rejection: &Rejection) {
    let id = host.request_header("x-request-id").ok().flatten();
    send_rejection(plan, host, id.as_deref(), rejection);
}

/// [`reply`] with Envoy's `x-request-id` already read.
fn send_rejection<H: Host>(plan: &Plan, host: &mut H, id: Option<&[u8]>, rejection: &Rejection) {
    let request_id = request_id(host, id);
    let local = plan.responses.render_for(rejection, &request_id, &request_headers(host));
    refuse(host, rejection, &local);
}

/// The request's headers, for gateway response headers mapped from them.
pub(crate) fn request_headers<H: Host>(host: &H) -> impl Fn(&str) -> Option<String> + '_ {
    |name| {
        let value = host.request_header(name).ok().flatten()?;
        Some(String::from_utf8_lossy(&value).into_owned())
    }
}

/// Counts a refusal, says why in the filter state (for access logs), and sends the reply.
fn refuse<H: Host>(host: &mut H, rejection: &Rejection, local: &LocalReply) {
    count_refusal(host, rejection);
    // Nothing better to do if even the reply fails: the filter has stopped the request.
    let _ = host.send_reply(local);
}

/// Counts a refusal and says why in the filter state (for access logs).
fn count_refusal<H: Host>(host: &mut H, rejection: &Rejection) {
    host.count(Outcome::Rejected(rejection.kind));
    // A failed filter-state write must not fail the reply.
    let _ = host.set_filter_state(REJECTION_STATE, rejection.reason().as_bytes());
    let _ = host.set_filter_state(RESPONSE_TYPE_STATE, rejection.kind.name().as_bytes());
    let _ = host.set_filter_state(ERROR_MESSAGE_STATE, rejection.message().as_bytes());
}

/// AWS's 500 when the filter has no configuration to answer with (a should-not-happen: Envoy
/// refuses a plugin whose configuration failed); fails closed.
pub fn reply_unconfigured<H: Host>(host: &mut H) {
    let rejection = CONFIG_ERROR.because("not_configured");
    let id = request_id(host, None);
    let local = crate::gateway_response::GatewayResponses::default().render(&rejection, &id);
    refuse(host, &rejection, &local);
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod limit_tests;

#[cfg(test)]
mod iam_tests;

#[cfg(test)]
mod token_tests;

#[cfg(test)]
mod custom_tests;

#[cfg(test)]
mod transform_tests;

#[cfg(test)]
mod callout_tests;

#[cfg(test)]
mod store_tests;
