//! One pass over a request, in API Gateway's order: match the method, authenticate and
//! authorize the caller, then the API key and the usage plan. Each step is a pure function;
//! [`on_request_headers`] (and [`on_request_body`] when a signature covers the body) reads through
//! the [`Host`] only what the steps need and applies the answer, so the filter only has to
//! translate the returned [`Flow`].

use crate::apikey::{KeyEntry, KeyLookup};
use crate::auth::caller::{self, authenticate_iam};
use crate::auth::custom::{self, InvokeResponse};
use crate::auth::iam::CredentialPlan;
use crate::auth::lambda::{path_parameters, AuthorizerOutput, RequestView};
use crate::auth::policy::method_arn;
use crate::auth::sigv4::{self, KeyCache};
use crate::auth::token::{
    authenticate_token, claim_header_value, keys_fetched, TokenState, TokenStep,
};
use crate::config::{ApiKeySource, AuthorizationType, LambdaAuthorizerType};
use crate::gateway_response::{LocalReply, Rejection, ResponseType};
use crate::host::{HeaderList, Host, HostError, Outcome};
use crate::plan::{MethodPlan, Plan};
use crate::routes::MethodId;
use crate::throttle::admit::{admit, Usage};
use crate::throttle::global::{self, Decision, GlobalState, LocalTwin};
use crate::throttle::lease::Leases;

mod integration_call;
mod transform;

pub use integration_call::{
    on_integration_response, Callout, CalloutResponse, MAX_CALLOUT_RESPONSE_BYTES,
};
pub use transform::{PendingEntry, ResponseFlow, ResponseState};

pub const API_KEY_HEADER: &str = "x-api-key";
/// Filter state key with the caller's API key id (`%FILTER_STATE(wasm.tollgate.api_key_id)%`).
pub const API_KEY_ID_STATE: &str = "tollgate.api_key_id";
/// Filter state key with the IAM caller's principal ARN.
pub const PRINCIPAL_STATE: &str = "tollgate.principal_arn";
/// Filter state key with the `sub` of a verified token.
pub const SUBJECT_STATE: &str = "tollgate.sub";
/// The largest body Tollgate buffers to verify a signature (AWS's payload limit, 10 MB).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// What the proxy does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Send the request on upstream.
    Continue,
    /// A local reply was sent; stop here.
    Replied,
    /// The decision needs the whole body: hold the headers, buffer the body, and call
    /// [`on_request_body`] with it. (Envoy holds the headers of a paused wasm filter and still
    /// delivers the body only with the plugin's `allow_on_headers_stop_iteration: true`.)
    NeedBody,
    /// Fetch the JWKS of this authorizer (`Plan::authorizers` index), report it with
    /// [`on_keys_fetched`], which decides the request.
    FetchKeys(usize),
    /// Call this Lambda authorizer (`Plan::lambda_authorizers` index) with the event in
    /// [`Exchange::authorizer_event`], report its answer with [`on_authorizer_response`].
    CallAuthorizer(usize),
    /// Send [`Exchange::integration_call`] (to this method's Lambda function or AWS service),
    /// report its answer with [`on_integration_response`].
    CallIntegration(MethodId),
    /// Send [`Exchange::global`]'s call to the rate-limit service (a global usage plan), report
    /// its answer with [`on_rate_limit_response`].
    CallRateLimit,
}

/// Prefix of the request headers that carry a Lambda authorizer's principal and context.
pub const AUTHORIZER_HEADER_PREFIX: &str = "x-tollgate-authorizer-";

/// What one worker (one wasm VM) keeps across requests: never in a static, reset when the
/// configuration changes.
#[derive(Debug, Default)]
pub struct Worker {
    pub leases: Leases,
    pub signing_keys: KeyCache,
    pub tokens: TokenState,
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

/// Per-request state the filter keeps between callbacks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exchange {
    /// Headers to add to the upstream's response (`RateLimit-*`).
    pub response_headers: Vec<(&'static str, String)>,
    /// The request headers ended the request (no body).
    pub end_of_stream: bool,
    /// A JWKS was fetched for this request already (fetch at most once per request).
    pub keys_fetched: bool,
    /// The event for the Lambda authorizer to call ([`Flow::CallAuthorizer`]).
    pub authorizer_event: Option<Vec<u8>>,
    /// The Lambda authorizer's answer, once it came.
    pub authorizer_response: Option<InvokeResponse>,
    /// An HTTP integration's response phase: which integration response applies.
    pub response: Option<Box<ResponseState>>,
    /// The request for the method's integration ([`Flow::CallIntegration`]).
    pub integration_call: Option<Callout>,
    /// The stage's base path (`/dev`) when the stage came from the path: removed before the
    /// method is matched and before the request goes upstream.
    pub base_path: Option<String>,
    /// A cache miss: the response to store.
    pub cache: Option<PendingEntry>,
    /// A global usage plan's call to the rate-limit service and its answer.
    pub global: GlobalState,
    /// The request is a WebSocket upgrade or a CONNECT: its body is a tunnel's data, which the
    /// payload limit does not cover.
    pub tunnel: bool,
}

const CONFIG_ERROR: Rejection = Rejection::new(ResponseType::ApiConfigurationError);

/// The request body as far as the pipeline knows it.
#[derive(Debug, Clone, Copy)]
enum Body<'a> {
    /// More is coming.
    Pending,
    /// Complete (empty when the request has none).
    Complete(&'a [u8]),
}

enum Step {
    Admit,
    /// Answered by the gateway itself (a MOCK integration).
    Respond(LocalReply),
    Reject(Rejection),
    NeedBody,
    FetchKeys(usize),
    CallAuthorizer(usize),
    CallIntegration(MethodId),
    CallRateLimit,
}

impl From<Rejection> for Step {
    fn from(r: Rejection) -> Self {
        Step::Reject(r)
    }
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

/// Step 5: the caller's API key (`None`: the request carried no `x-api-key`). Returns the key,
/// `None` when the method needs no key. As on AWS, a key must be in a usage plan that covers the
/// API stage.
pub fn check_api_key<'p>(
    plan: &'p Plan,
    method: &MethodPlan,
    presented: Option<&[u8]>,
) -> Result<Option<&'p KeyEntry>, Rejection> {
    if !method.api_key_required {
        return Ok(None);
    }
    match plan.keys.lookup(presented) {
        KeyLookup::Valid(key) if key.plan.is_some() => Ok(Some(key)),
        KeyLookup::Valid(_) => Err(Rejection::new(ResponseType::InvalidApiKey)),
        KeyLookup::Missing | KeyLookup::Unknown | KeyLookup::Disabled(_) => {
            Err(Rejection::new(ResponseType::InvalidApiKey))
        }
    }
}

/// Runs the request-header phase against a host. Fails closed: a host error becomes a 500.
/// `end_of_stream`: the request has no body.
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

/// After [`Flow::FetchKeys`]: stores the fetched JWKS (`body`: a 200's body, `None` when the
/// fetch failed) and decides the request with it.
pub fn on_keys_fetched<H: Host>(
    plan: &Plan,
    worker: &mut Worker,
    host: &mut H,
    exchange: &mut Exchange,
    authorizer: usize,
    body: Option<&[u8]>,
) -> (Flow, Result<usize, String>) {
    let now = i64::try_from(host.now_nanos() / 1_000_000_000).unwrap_or(i64::MAX);
    let fetched = keys_fetched(&mut worker.tokens, authorizer, body, now);
    exchange.keys_fetched = true;
    let body = if exchange.end_of_stream { Body::Complete(&[]) } else { Body::Pending };
    (decide(plan, worker, host, exchange, body), fetched)
}

/// After [`Flow::CallAuthorizer`]: decides the request with the function's answer (status 0
/// when the call failed or timed out).
pub fn on_authorizer_response<H: Host>(
    plan: &Plan,
    worker: &mut Worker,
    host: &mut H,
    exchange: &mut Exchange,
    response: InvokeResponse,
) -> Flow {
    exchange.authorizer_response = Some(response);
    exchange.authorizer_event = None;
    let body = if exchange.end_of_stream { Body::Complete(&[]) } else { Body::Pending };
    decide(plan, worker, host, exchange, body)
}

/// After [`Flow::CallRateLimit`]: decides the request with the rate-limit service's answer
/// (`None` when the call failed or timed out).
pub fn on_rate_limit_response<H: Host>(
    plan: &Plan,
    worker: &mut Worker,
    host: &mut H,
    exchange: &mut Exchange,
    response: Option<&[u8]>,
) -> Flow {
    let answer = match exchange.global.call.take() {
        Some(call) => global::read_answer(&call, response),
        None => global::Answer::Failed,
    };
    exchange.global.answer = Some(answer);
    let body = if exchange.end_of_stream { Body::Complete(&[]) } else { Body::Pending };
    decide(plan, worker, host, exchange, body)
}

/// Authorizers whose JWKS should be refreshed now (the filter fetches them in the background);
/// each is marked as being fetched.
pub fn jwks_refresh_due(plan: &Plan, worker: &mut Worker, now_seconds: i64) -> Vec<usize> {
    let mut due = Vec::new();
    for (i, auth) in plan.authorizers.iter().enumerate() {
        let Some(uri) = &auth.jwks_uri else { continue };
        if let Some(state) = worker.tokens.jwks(i) {
            if state.due(now_seconds, i64::from(uri.refresh_seconds)) {
                state.start(now_seconds);
                due.push(i);
            }
        }
    }
    due
}

/// A background JWKS refresh ended (see [`jwks_refresh_due`]).
pub fn on_background_keys(
    worker: &mut Worker,
    authorizer: usize,
    body: Option<&[u8]>,
    now_seconds: i64,
) -> Result<usize, String> {
    keys_fetched(&mut worker.tokens, authorizer, body, now_seconds)
}

/// Runs the pipeline again with the whole body, after [`Flow::NeedBody`].
pub fn on_request_body<H: Host>(
    plan: &Plan,
    worker: &mut Worker,
    host: &mut H,
    exchange: &mut Exchange,
    body: &[u8],
) -> Flow {
    if body.len() > MAX_BODY_BYTES {
        reply(plan, host, &Rejection::new(ResponseType::RequestTooLarge));
        return Flow::Replied;
    }
    decide(plan, worker, host, exchange, Body::Complete(body))
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
        Ok(Step::Admit) => {
            host.count(Outcome::Allowed);
            return Flow::Continue;
        }
        Ok(Step::Respond(local)) => {
            host.count(Outcome::Allowed);
            // Nothing better to do if the reply fails: the filter has stopped the request.
            let _ = host.send_reply(&local);
            return Flow::Replied;
        }
        Ok(Step::NeedBody) => return Flow::NeedBody,
        Ok(Step::FetchKeys(i)) => return Flow::FetchKeys(i),
        Ok(Step::CallAuthorizer(i)) => return Flow::CallAuthorizer(i),
        Ok(Step::CallRateLimit) => return Flow::CallRateLimit,
        Ok(Step::CallIntegration(id)) => {
            host.count(Outcome::Allowed);
            return Flow::CallIntegration(id);
        }
        Ok(Step::Reject(rejection)) => rejection,
        Err(_) => CONFIG_ERROR,
    };
    send_rejection(plan, host, headers.get("x-request-id"), &rejection);
    Flow::Replied
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

/// `:path` split at the first `?`.
fn split_path(target: &[u8]) -> (&[u8], &[u8]) {
    match target.iter().position(|&b| b == b'?') {
        Some(q) => (target.get(..q).unwrap_or_default(), target.get(q + 1..).unwrap_or_default()),
        None => (target, &[]),
    }
}

fn run<H: Host>(
    plan: &Plan,
    worker: &mut Worker,
    host: &mut H,
    exchange: &mut Exchange,
    headers: &Headers,
    body: Body<'_>,
) -> Result<Step, HostError> {
    let verb = headers.get(":method").unwrap_or_default();
    let target = headers.get(":path").unwrap_or_default();
    let routed = routed_target(target, exchange.base_path.as_deref());
    let (method_id, method) = match match_method(plan, verb, &routed) {
        Ok(m) => m,
        Err(rejection) => return Ok(rejection.into()),
    };
    let Body::Complete(body) = body else {
        // A declared length past the payload limit is refused before anything goes upstream,
        // whether or not the body is buffered (a streamed one is counted by the filter).
        let declared = headers.get("content-length").and_then(|v| std::str::from_utf8(v).ok());
        if declared.and_then(|v| v.trim().parse::<usize>().ok()).is_some_and(|n| n > MAX_BODY_BYTES)
        {
            return Ok(Rejection::new(ResponseType::RequestTooLarge).into());
        }
        if method.needs_body {
            return Ok(Step::NeedBody);
        }
        return run_with_body(plan, worker, host, exchange, headers, (method_id, method), None);
    };
    run_with_body(plan, worker, host, exchange, headers, (method_id, method), Some(body))
}

/// The steps after the method match; `body` is `None` when the request's body is not needed
/// (and not read).
fn run_with_body<H: Host>(
    plan: &Plan,
    worker: &mut Worker,
    host: &mut H,
    exchange: &mut Exchange,
    headers: &Headers,
    (method_id, method): (MethodId, &MethodPlan),
    body: Option<&[u8]>,
) -> Result<Step, HostError> {
    let verb = headers.get(":method").unwrap_or_default();
    let target = headers.get(":path").unwrap_or_default();
    let now_seconds = i64::try_from(host.now_nanos() / 1_000_000_000).unwrap_or(i64::MAX);
    // A signature covers the path the client sent; everything else sees it without the stage.
    let (signed_path, _) = split_path(target);
    let routed = routed_target(target, exchange.base_path.as_deref());
    let (path, query) = split_path(&routed);
    let mut token = None;
    let mut lambda: Option<AuthorizerOutput> = None;
    let caller = match method.authorization {
        AuthorizationType::None => None,
        AuthorizationType::Custom => {
            match custom_authorizer(
                plan,
                host,
                exchange,
                headers,
                method,
                (verb, path, query),
                now_seconds,
            )? {
                Ok(output) => lambda = Some(output),
                Err(step) => return Ok(step),
            }
            None
        }
        AuthorizationType::CognitoUserPools | AuthorizationType::Jwt => {
            let identity = method
                .authorizer
                .and_then(|i| plan.authorizers.get(i))
                .and_then(|a| headers.get(&a.identity_source));
            let fetched = exchange.keys_fetched;
            match authenticate_token(
                &plan.authorizers,
                &mut worker.tokens,
                method,
                identity,
                now_seconds,
                fetched,
            ) {
                TokenStep::Verified(t) => token = Some(t),
                TokenStep::FetchKeys(i) => return Ok(Step::FetchKeys(i)),
                TokenStep::Rejected(rejection) => return Ok(rejection.into()),
            }
            None
        }
        AuthorizationType::AwsIam => {
            let Some(body) = body else { return Ok(Step::NeedBody) };
            let req = sigv4::Request {
                method: verb,
                path: signed_path,
                query,
                headers: headers.pairs(),
                body,
            };
            match authenticate_iam(plan, &mut worker.signing_keys, &req, now_seconds) {
                Ok(credential) => Some(credential),
                Err(rejection) => return Ok(rejection.into()),
            }
        }
    };
    if let Err(rejection) =
        authorize(plan, host, headers, caller, verb, path, now_seconds, caller::INVOKE)?
    {
        return Ok(rejection.into());
    }
    let presented = match (method.api_key_required, plan.api_key_source) {
        (false, _) => None,
        (true, ApiKeySource::Header) => headers.single(API_KEY_HEADER),
        (true, ApiKeySource::Authorizer) => {
            lambda.as_ref().and_then(|o| o.usage_identifier_key.as_deref()).map(str::as_bytes)
        }
    };
    let key = match check_api_key(plan, method, presented) {
        Ok(key) => key,
        Err(rejection) => return Ok(rejection.into()),
    };
    let mut slots = plan.limits.slots(method_id, key.and_then(|k| Some((k.id.as_str(), k.plan?))));
    let mut global_usage = None;
    if let (false, Some(service)) = (slots.global.is_empty(), &plan.limits.service) {
        let now = host.now_nanos();
        match global::admit(service, &mut worker.leases, &slots.global, &mut exchange.global, now) {
            Decision::Admitted(usage) => global_usage = Some(usage),
            Decision::Ask => return Ok(Step::CallRateLimit),
            Decision::Reject(rejection) => return Ok(rejection.into()),
            Decision::Local => {
                // The service cannot answer: this Envoy counts the plan alone.
                let local = std::mem::take(&mut slots.global).into_iter().map(|g| g.local);
                let mut buckets = Vec::new();
                for twin in local {
                    match twin {
                        LocalTwin::Bucket(b) => buckets.push(b),
                        LocalTwin::Quota(q) => slots.quota = Some(q),
                    }
                }
                buckets.append(&mut slots.buckets);
                slots.buckets = buckets;
            }
        }
    }
    if !slots.buckets.is_empty() || slots.quota.is_some() {
        let now = host.now_nanos();
        match admit(host, &mut worker.leases, &slots.buckets, slots.quota.as_ref(), now)? {
            Ok(usage) if plan.rate_limit_headers => {
                let usage = match global_usage {
                    Some(g) => {
                        Usage { quota: g.quota.or(usage.quota), bucket: g.bucket.or(usage.bucket) }
                    }
                    None => usage,
                };
                rate_limit_headers(&usage, exchange)
            }
            Ok(_) => {}
            Err(rejection) => return Ok(rejection.into()),
        }
    } else if let Some(usage) = global_usage.filter(|_| plan.rate_limit_headers) {
        rate_limit_headers(&usage, exchange);
    }
    if exchange.base_path.is_some() {
        // The upstream gets the path without the stage, as API Gateway's integrations do.
        host.set_request_header(":path", Some(&routed))?;
    }
    // `x-tollgate-*` request headers are the gateway's word to the upstream and to Envoy's
    // routes (the caller's key id and authorizer context, the integration's cluster): whatever
    // a client sent under that prefix is removed before the gateway sets its own.
    remove_client_headers(host, headers)?;
    // Only an IAM caller's policies can allow `execute-api:InvalidateCache`.
    let may_invalidate_cache = method.cache.is_some()
        && caller.is_some()
        && crate::cache::wants_refresh(headers.get("cache-control"))
        && authorize(
            plan,
            host,
            headers,
            caller,
            verb,
            path,
            now_seconds,
            caller::INVALIDATE_CACHE,
        )?
        .is_ok();
    let who = transform::Caller {
        may_invalidate_cache,
        api_key_id: key.map(|k| k.id.as_str()),
        principal_arn: caller.map(|c| c.principal_arn.as_str()),
        // Only an integration's templates, mappings and events read it.
        authorizer: if method.integration.is_some() {
            authorizer_context(token.as_ref(), lambda.as_ref())
        } else {
            serde_json::Value::Null
        },
    };
    let now = host.now_nanos();
    let outcome = transform::request(
        plan,
        method_id,
        method,
        host,
        exchange,
        headers,
        (verb, path, query),
        body.unwrap_or_default(),
        &who,
        now,
    )?;
    let call = match outcome {
        transform::Outcome::Continue => false,
        transform::Outcome::CallIntegration => true,
        transform::Outcome::Reject(rejection) => return Ok(rejection.into()),
        transform::Outcome::Respond(reply) => return Ok(Step::Respond(reply)),
    };
    let key_id = key.map(|k| k.id.as_bytes());
    if let Some(header) = &plan.api_key_id_header {
        // Always overwritten, so a caller cannot claim a key id it does not hold.
        host.set_request_header(header, key_id)?;
    }
    if let Some(id) = key_id {
        host.set_filter_state(API_KEY_ID_STATE, id)?;
    }
    if let Some(c) = caller {
        host.set_filter_state(PRINCIPAL_STATE, c.principal_arn.as_bytes())?;
    }
    if method.authorization == AuthorizationType::Custom {
        authorizer_headers(host, lambda.as_ref())?;
    }
    if let (Some(t), Some(auth)) = (&token, method.authorizer.and_then(|i| plan.authorizers.get(i)))
    {
        // Every configured claim header is set from the token or removed: never the client's. A
        // claim that is no valid header value (control characters) is left out, not passed on.
        for (claim, header) in &auth.claims_to_headers {
            let value = t.claims.get(claim).map(claim_header_value).filter(|v| header_safe(v));
            host.set_request_header(header, value.as_deref().map(str::as_bytes))?;
        }
        if let Some(sub) = t.sub.as_deref().filter(|s| header_safe(s)) {
            host.set_filter_state(SUBJECT_STATE, sub.as_bytes())?;
        }
    }
    if call {
        return Ok(Step::CallIntegration(method_id));
    }
    Ok(Step::Admit)
}

/// `$context.authorizer`: a token's claims, or a Lambda authorizer's principal and context.
fn authorizer_context(
    token: Option<&crate::auth::jwt::VerifiedToken>,
    lambda: Option<&AuthorizerOutput>,
) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    if let Some(t) = token {
        out.insert("claims".into(), serde_json::Value::Object(t.claims.clone()));
    }
    if let Some(o) = lambda {
        out.insert("principalId".into(), o.principal_id.clone().into());
        for (k, v) in &o.context {
            out.insert(k.clone(), v.clone().into());
        }
    }
    serde_json::Value::Object(out)
}

/// Step 4 through the host: reads the source address and trusted headers only when a policy
/// will look at them.
#[allow(clippy::too_many_arguments)]
fn authorize<H: Host>(
    plan: &Plan,
    host: &H,
    headers: &Headers,
    caller: Option<&CredentialPlan>,
    verb: &[u8],
    path: &[u8],
    now_seconds: i64,
    action: &str,
) -> Result<Result<(), Rejection>, HostError> {
    if caller.is_none() && plan.resource_policy.is_none() {
        return Ok(Ok(()));
    }
    let source = host.property(&["source", "address"])?;
    let trusted = |name: &Option<String>| {
        name.as_deref().and_then(|n| headers.get(n)).and_then(|v| std::str::from_utf8(v).ok())
    };
    let vpce = trusted(&plan.source_vpce_header);
    let vpc = trusted(&plan.source_vpc_header);
    let ctx = caller::Context {
        http_method: verb,
        path,
        source_ip: source.as_deref().and_then(caller::parse_source_ip),
        source_vpce: vpce,
        source_vpc: vpc,
        secure_transport: plan.reads_secure_transport && secure_transport(plan, host, headers)?,
        now_seconds,
    };
    Ok(caller::authorize_action(plan, caller, &ctx, action))
}

/// `aws:SecureTransport`: the client's connection to Envoy is TLS, or the trusted hop in front
/// says it was called over HTTPS. Never `:scheme` or a client's `X-Forwarded-Proto`: over
/// HTTP/2 a client names its own `:scheme`, and without a trusted hop the header is the client's.
fn secure_transport<H: Host>(plan: &Plan, host: &H, headers: &Headers) -> Result<bool, HostError> {
    let hop_says_https = plan
        .forwarded_proto_header
        .as_deref()
        .and_then(|name| headers.get(name))
        .is_some_and(|v| v.eq_ignore_ascii_case(b"https"));
    if hop_says_https {
        return Ok(true);
    }
    Ok(host.property(&["connection", "tls_version"])?.is_some_and(|v| !v.is_empty()))
}

/// Step 3 for a CUSTOM method: the Lambda authorizer's answer (from this request's call, the
/// shared cache, or a call to make now) for the request's identity.
fn custom_authorizer<H: Host>(
    plan: &Plan,
    host: &mut H,
    exchange: &mut Exchange,
    headers: &Headers,
    method: &MethodPlan,
    (verb, path, query): (&[u8], &[u8], &[u8]),
    now: i64,
) -> Result<Result<AuthorizerOutput, Step>, HostError> {
    let Some((index, auth)) =
        method.lambda_authorizer.and_then(|i| plan.lambda_authorizers.get(i).map(|a| (i, a)))
    else {
        return Ok(Err(Rejection::new(ResponseType::AuthorizerConfigurationError).into()));
    };
    let verb = String::from_utf8_lossy(verb);
    let path = String::from_utf8_lossy(path);
    let text = |name: &str| headers.get(name).map(String::from_utf8_lossy);
    let request_id = text("x-request-id").unwrap_or_default();
    let user_agent = text("user-agent");
    // A TOKEN authorizer sees one header: the source address (a host call) and the path
    // parameters are read only for REQUEST events and identity sources.
    let request = auth.kind == LambdaAuthorizerType::Request;
    let source = if request { host.property(&["source", "address"])? } else { None };
    let source_ip = source.as_deref().and_then(caller::parse_source_ip).map(|ip| ip.to_string());
    let params = if request { path_parameters(&method.resource, &path) } else { Vec::new() };
    let view = RequestView {
        http_method: &verb,
        path: &path,
        query,
        headers: headers.pairs(),
        resource: &method.resource,
        path_parameters: &params,
        stage_variables: &plan.stage_variables,
        stage: &plan.stage,
        api_id: &plan.api_id,
        account_id: &plan.account_id,
        request_id: &request_id,
        source_ip: source_ip.as_deref(),
        user_agent: user_agent.as_deref(),
        request_time_epoch_ms: now.saturating_mul(1000),
    };
    let identity = match custom::identity(auth, &view) {
        Ok(identity) => identity,
        Err(rejection) => return Ok(Err(rejection.into())),
    };
    let arn = method_arn(&plan.region, &plan.account_id, &plan.api_id, &plan.stage, &verb, &path);
    let response = match exchange.authorizer_response.take() {
        Some(response) => {
            custom::remember(host, &plan.api_id, (index, auth), &identity, &response, now)?;
            response
        }
        None => match custom::cached(host, &plan.api_id, index, &identity, now)? {
            Some(response) => response,
            None => {
                exchange.authorizer_event = Some(custom::event(auth, &view, &identity, &arn));
                return Ok(Err(Step::CallAuthorizer(index)));
            }
        },
    };
    Ok(custom::decide(&response, &arn, now).map_err(Step::from))
}

/// The prefix of the request headers only the gateway sets.
pub const GATEWAY_HEADER_PREFIX: &str = "x-tollgate-";

/// Removes every `x-tollgate-*` request header the client sent (each name once).
fn remove_client_headers<H: Host>(host: &mut H, headers: &Headers) -> Result<(), HostError> {
    let mut removed: Vec<&str> = Vec::new();
    for name in headers.names().filter(|n| n.starts_with(GATEWAY_HEADER_PREFIX)) {
        if !removed.contains(&name) {
            host.set_request_header(name, None)?;
            removed.push(name);
        }
    }
    Ok(())
}

/// The Lambda authorizer's principal and context go upstream as `x-tollgate-authorizer-*`
/// headers (the client's own were removed with every other `x-tollgate-*` header).
fn authorizer_headers<H: Host>(
    host: &mut H,
    output: Option<&AuthorizerOutput>,
) -> Result<(), HostError> {
    let Some(output) = output else { return Ok(()) };
    let principal = std::iter::once(("principal-id", output.principal_id.as_str()));
    let context = output.context.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    for (key, value) in principal.chain(context) {
        let name = format!("{AUTHORIZER_HEADER_PREFIX}{}", key.to_ascii_lowercase());
        if crate::gateway_response::is_token(&name) && header_safe(value) {
            host.set_request_header(&name, Some(value.as_bytes()))?;
        }
    }
    Ok(())
}

/// Whether `value` can go into a header or an access-log line as it is: no control characters
/// but tab.
fn header_safe(value: &str) -> bool {
    value.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
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

/// `RateLimit-*` from the quota if the plan has one, else from the first bucket.
fn rate_limit_headers(usage: &Usage, exchange: &mut Exchange) {
    if let Some((limit, remaining, reset)) = usage.quota.or(usage.bucket) {
        exchange.response_headers = vec![
            ("ratelimit-limit", limit.to_string()),
            ("ratelimit-remaining", remaining.to_string()),
            ("ratelimit-reset", reset.to_string()),
        ];
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
    for (name, value) in &exchange.response_headers {
        // A header that cannot be added must not fail the response.
        let _ = host.add_response_header(name, value.as_bytes());
    }
    let flow = transform::response_headers(plan, host, exchange, end_of_stream);
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

/// Sends the gateway response for a rejection and counts it.
pub fn reply<H: Host>(plan: &Plan, host: &mut H, rejection: &Rejection) {
    let id = host.request_header("x-request-id").ok().flatten();
    send_rejection(plan, host, id.as_deref(), rejection);
}

/// [`reply`] with Envoy's `x-request-id` already read.
fn send_rejection<H: Host>(plan: &Plan, host: &mut H, id: Option<&[u8]>, rejection: &Rejection) {
    let request_id = request_id(host, id);
    let local = plan.responses.render(rejection, &request_id);
    host.count(Outcome::Rejected(rejection.kind));
    // Nothing better to do if even the reply fails: the filter has stopped the request.
    let _ = host.send_reply(&local);
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
