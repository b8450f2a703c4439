//! Steps 3 to 9 of the pipeline (the table is in the module doc of [`super`]), each a named
//! function that answers its part or halts the request with one [`Halt`].

use std::rc::Rc;

use prost::Message;

use crate::apikey::{hash_key, Key, KeyLookup};
use crate::auth::caller::{self, authenticate_iam};
use crate::auth::custom::{self, MAX_RESULT_BYTES};
use crate::auth::iam::CredentialPlan;
use crate::auth::jwt::VerifiedToken;
use crate::auth::lambda::{AuthorizerOutput, HeaderNames, RequestView};
use crate::auth::policy::method_arn;
use crate::auth::sigv4;
use crate::auth::token::{authenticate_token, claim_header_value, pool_for, TokenStep};
use crate::config::{ApiKeySource, LambdaAuthorizerType};
use crate::gateway_response::{LocalReply, Rejection, ResponseType};
use crate::host::{Host, HostError};
use crate::keystore::cache::Cached;
use crate::keystore::{self, LookupRequest, StoredKey};
use crate::plan::{MethodAuth, MethodPlan, Plan};
use crate::routes::MethodId;
use crate::text::header_case::is_http2;
use crate::throttle::admit::{admit, Usage};
use crate::throttle::global::{self, Decision, LocalTwin};
use crate::throttle::Slots;

use super::callout::Callout;
use super::context::{request_context, Caller, Described};
use super::exchange::{Authenticated, Exchange, Pending, StoreAnswer};
use super::{
    transform, Headers, Worker, API_KEY_HEADER, API_KEY_ID_STATE, AUTHORIZER_HEADER_PREFIX,
};
use super::{GATEWAY_HEADER_PREFIX, PRINCIPAL_STATE, SUBJECT_STATE};

/// Why a pass stops before the request is admitted as it is.
#[derive(Debug)]
pub(super) enum Halt {
    /// Refused with a gateway response.
    Reject(Rejection),
    /// Answered by the gateway itself (a MOCK integration, a cache hit).
    Respond(LocalReply),
    /// The decision needs the whole body.
    NeedBody,
    /// Send this callout; the step that asked takes its answer on the next pass.
    Call(Pending, Callout),
    /// The host failed: fail closed.
    Host(HostError),
}

impl From<Rejection> for Halt {
    fn from(r: Rejection) -> Self {
        Halt::Reject(r)
    }
}

impl From<HostError> for Halt {
    fn from(e: HostError) -> Self {
        Halt::Host(e)
    }
}

/// What one pass knows of the request.
pub(super) struct Request<'a> {
    pub headers: &'a Headers,
    pub method_id: MethodId,
    pub method: &'a MethodPlan,
    pub verb: &'a [u8],
    /// The path as the client sent it (a signature covers it).
    pub signed_path: &'a [u8],
    /// The path without the stage's base path, and the query.
    pub path: &'a [u8],
    pub query: &'a [u8],
    pub now_seconds: i64,
    /// The clock when the request was decided, read once for every step that needs it.
    pub now_nanos: u64,
    /// `None` when the request's body is not needed (and not read).
    pub body: Option<&'a [u8]>,
}

/// Step 3: who the caller is (a callout to a JWKS or a Lambda authorizer may come first).
pub(super) fn authenticate<H: Host>(
    plan: &Plan,
    worker: &mut Worker,
    host: &mut H,
    exchange: &mut Exchange,
    req: &Request<'_>,
) -> Result<Authenticated, Halt> {
    match &req.method.auth {
        MethodAuth::None => Ok(Authenticated::Anonymous),
        MethodAuth::Lambda { authorizer } => {
            let output = custom_authorizer(plan, host, exchange, req, *authorizer)?;
            Ok(Authenticated::Lambda(Box::new(output)))
        }
        MethodAuth::Token { authorizer, scopes, .. } => {
            let identity =
                plan.authorizers.get(*authorizer).and_then(|a| req.headers.get(&a.identity_source));
            let fetched = exchange.keys_fetched;
            let authorizer = pool_for(&plan.authorizers, *authorizer, identity);
            let step = authenticate_token(
                host,
                (&plan.api_id, &plan.authorizers),
                &mut worker.tokens,
                (Some(authorizer), scopes),
                identity,
                req.now_seconds,
                fetched,
            );
            match step {
                TokenStep::Verified(t) => Ok(Authenticated::Token(t)),
                TokenStep::FetchKeys(i) => Err(jwks_fetch(plan, i)),
                TokenStep::Rejected(rejection) => Err(rejection.into()),
            }
        }
        MethodAuth::Iam => {
            let Some(body) = req.body else { return Err(Halt::NeedBody) };
            let (path, query) = (req.signed_path, req.query);
            let headers = req.headers.pairs();
            let signed = sigv4::Request { method: req.verb, path, query, headers, body };
            let (index, _) = authenticate_iam(
                (&plan.iam, &plan.region),
                &mut worker.signing_keys,
                &signed,
                req.now_seconds,
            )?;
            Ok(Authenticated::Iam(index))
        }
    }
}

/// The callout that fetches a token authorizer's JWKS.
fn jwks_fetch(plan: &Plan, authorizer: usize) -> Halt {
    match plan.authorizers.get(authorizer).and_then(|a| a.jwks_uri.as_ref()) {
        Some(uri) => {
            let call = Callout::get_json(&uri.cluster, (&uri.authority, &uri.path), uri.timeout_ms);
            Halt::Call(Pending::Keys(authorizer), call)
        }
        None => Rejection::new(ResponseType::AuthorizerConfigurationError).into(),
    }
}

/// The callout that fetches a token authorizer's JWKS, for a background refresh.
pub(super) fn jwks_request(plan: &Plan, authorizer: usize) -> Option<Callout> {
    match jwks_fetch(plan, authorizer) {
        Halt::Call(_, call) => Some(call),
        _ => None,
    }
}

/// Step 3 for a CUSTOM method: the Lambda authorizer's answer (from this request's call, the
/// shared cache, or a call to make now) for the request's identity.
fn custom_authorizer<H: Host>(
    plan: &Plan,
    host: &mut H,
    exchange: &mut Exchange,
    req: &Request<'_>,
    index: usize,
) -> Result<AuthorizerOutput, Halt> {
    let method = req.method;
    let Some(auth) = plan.lambda_authorizers.get(index) else {
        return Err(Rejection::new(ResponseType::AuthorizerConfigurationError).into());
    };
    let verb = String::from_utf8_lossy(req.verb);
    let path = String::from_utf8_lossy(req.path);
    let text = |name: &str| req.headers.get(name).map(String::from_utf8_lossy);
    let request_id = text("x-request-id").unwrap_or_default();
    let user_agent = text("user-agent");
    // A TOKEN authorizer sees one header: the source address (a host call) and the path
    // parameters are read only for REQUEST events and identity sources.
    let request = auth.kind == LambdaAuthorizerType::Request;
    let source = if request { host.property(&["source", "address"])? } else { None };
    let source_ip = source.as_deref().and_then(caller::parse_source_ip).map(|ip| ip.to_string());
    let params = if request { plan.router.params(req.method_id, req.path) } else { Vec::new() };
    let view = RequestView {
        http_method: &verb,
        path: &path,
        query: req.query,
        headers: req.headers.pairs(),
        resource: &method.resource,
        path_parameters: &params,
        stage_variables: &plan.stage_variables,
        stage: &plan.stage,
        request_id: &request_id,
        source_ip: source_ip.as_deref(),
        user_agent: user_agent.as_deref(),
    };
    let identity = custom::identity(auth, &view)?;
    let arn = method_arn(&plan.region, &plan.account_id, &plan.api_id, &plan.stage, &verb, &path);
    let now = req.now_seconds;
    // The answer of this request's call is turned into the decided outcome on this pass: it
    // is never asked for again, whatever the cache holds (a TTL of 0 caches nothing).
    let response = match exchange.authorizer_response.take() {
        Some(response) => {
            custom::remember(host, &plan.api_id, (index, auth), &identity, &response, now)?;
            response
        }
        None => match custom::cached(host, &plan.api_id, index, &identity, now)? {
            Some(response) => response,
            None => {
                let context = if request {
                    authorizer_event_context(plan, host, req, source_ip.as_deref())?
                } else {
                    serde_json::Value::Null
                };
                let names = HeaderNames {
                    spellings: &plan.header_spellings,
                    http2: context.get("protocol").and_then(|p| p.as_str()).is_some_and(is_http2),
                };
                let event = custom::event(auth, &view, (names, &context), &identity, &arn);
                let call = Callout::lambda_invoke(
                    &auth.cluster,
                    (&auth.authority, &auth.path),
                    event,
                    auth.timeout_ms,
                )
                .with_response_cap(MAX_RESULT_BYTES);
                return Err(Halt::Call(Pending::Authorizer(index), call));
            }
        },
    };
    Ok(custom::decide(&response, &arn, now)?)
}

/// A REQUEST authorizer event's `requestContext`: `$context` as far as it is known before
/// the caller is (the key it presented, if the method requires one).
fn authorizer_event_context<H: Host>(
    plan: &Plan,
    host: &H,
    req: &Request<'_>,
    source_ip: Option<&str>,
) -> Result<serde_json::Value, HostError> {
    // Before the authorizer has answered, only `x-api-key` can be the key.
    let key = presented_key(plan, req, &Authenticated::Anonymous).map(String::from_utf8_lossy);
    let caller = Caller { api_key: key.as_deref(), ..Caller::default() };
    let path = String::from_utf8_lossy(req.path);
    let described = Described {
        headers: req.headers,
        verb: req.verb,
        path: &path,
        resource: &req.method.resource,
        now_nanos: req.now_nanos,
        source_ip,
    };
    request_context(host, plan, &described, &caller)
}

/// The caller's IAM credential, if it is one.
pub(super) fn iam_caller<'p>(plan: &'p Plan, who: &Authenticated) -> Option<&'p CredentialPlan> {
    match who {
        Authenticated::Iam(index) => plan.iam.credential(*index),
        _ => None,
    }
}

/// Step 4: the caller's policies and the resource policy allow `action`. Reads the source
/// address and the trusted headers only when a policy will look at them.
pub(super) fn authorize<H: Host>(
    plan: &Plan,
    host: &H,
    req: &Request<'_>,
    caller: Option<&CredentialPlan>,
    action: &str,
) -> Result<(), Halt> {
    if caller.is_none() && plan.resource_policy.is_none() {
        return Ok(());
    }
    let headers = req.headers;
    let source = if plan.reads_source_ip { host.property(&["source", "address"])? } else { None };
    let trusted = |name: &Option<String>| text(name.as_deref().and_then(|n| headers.get(n)));
    let ctx = caller::Context {
        source_ip: source.as_deref().and_then(caller::parse_source_ip),
        source_vpce: trusted(&plan.source_vpce_header),
        source_vpc: trusted(&plan.source_vpc_header),
        secure_transport: plan.reads_secure_transport && secure_transport(plan, host, headers)?,
        now_seconds: req.now_seconds,
        referer: text(headers.get("referer")),
        user_agent: text(headers.get("user-agent")),
    };
    let verb = String::from_utf8_lossy(req.verb);
    let path = String::from_utf8_lossy(req.path);
    let arn = method_arn(&plan.region, &plan.account_id, &plan.api_id, &plan.stage, &verb, &path);
    Ok(caller::authorize_action(plan.resource_policy.as_ref(), caller, &ctx, (&arn, action))?)
}

fn text(value: Option<&[u8]>) -> Option<&str> {
    value.and_then(|v| std::str::from_utf8(v).ok())
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

/// Step 5: the caller's API key (from `x-api-key`, or the authorizer's `usageIdentifierKey`),
/// `None` when the method needs none. As on AWS, a key must be in a usage plan that covers the
/// API stage.
pub(super) fn api_key<'p, H: Host>(
    plan: &'p Plan,
    host: &mut H,
    req: &Request<'_>,
    who: &Authenticated,
    stored: Option<Option<&'p StoredKey>>,
) -> Result<Option<Key<'p>>, Halt> {
    let key = check_api_key(plan, req.method, presented_key(plan, req, who), stored)?;
    if let Some(key) = key.filter(|_| plan.filter_state) {
        // For access logs, whatever comes of the request next (a throttled one names its key).
        host.set_filter_state(API_KEY_ID_STATE, key.id.as_bytes())?;
    }
    Ok(key)
}

/// Step 5 with `api_key_store`: the presented key's record (`Some(None)`: no such key), from
/// this request's lookup, the worker's cache, or by asking the store (the request waits).
/// `None`: no store, or no key to look up (the method needs none, or the request has none).
pub(super) fn stored_key(
    plan: &Plan,
    worker: &Worker,
    exchange: &Exchange,
    req: &Request<'_>,
    who: &Authenticated,
) -> Result<Option<Option<Rc<StoredKey>>>, Halt> {
    let Some(store) = &plan.key_store else { return Ok(None) };
    let Some(value) = presented_key(plan, req, who).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match &exchange.stored_key {
        Some(StoreAnswer::Found(record)) => return Ok(Some(record.clone())),
        Some(StoreAnswer::Failed) => {
            return Err(Rejection::new(ResponseType::ApiConfigurationError)
                .because("key_store_unavailable")
                .into())
        }
        None => {}
    }
    let hash = hash_key(value);
    match worker.stored_keys.get(store, &hash, req.now_nanos) {
        Cached::Hit(record) => Ok(Some(record)),
        Cached::Miss => {
            let message = LookupRequest { sha256: hash.to_vec() }.encode_to_vec();
            let call = Callout::grpc(
                &store.cluster,
                (keystore::SERVICE, keystore::LOOKUP),
                message,
                store.timeout_ms,
            )
            .with_response_cap(64 * 1024);
            Err(Halt::Call(Pending::KeyLookup(Box::new(hash)), call))
        }
    }
}

/// The key the caller presented for a method that requires one: `x-api-key`, or the
/// authorizer's `usageIdentifierKey`.
fn presented_key<'r>(plan: &Plan, req: &Request<'r>, who: &'r Authenticated) -> Option<&'r [u8]> {
    match (req.method.api_key_required, plan.api_key_source) {
        (false, _) => None,
        (true, ApiKeySource::Header) => req.headers.single(API_KEY_HEADER),
        (true, ApiKeySource::Authorizer) => match who {
            Authenticated::Lambda(o) => o.usage_identifier_key.as_deref().map(str::as_bytes),
            _ => None,
        },
    }
}

/// The key presented for a method (`None`: the request carried none), or why it does not open
/// the method. A key must be in a usage plan that covers the API stage.
pub fn check_api_key<'p>(
    plan: &'p Plan,
    method: &MethodPlan,
    presented: Option<&[u8]>,
    stored: Option<Option<&'p StoredKey>>,
) -> Result<Option<Key<'p>>, Rejection> {
    if !method.api_key_required {
        return Ok(None);
    }
    let invalid = |why| Rejection::new(ResponseType::InvalidApiKey).because(why);
    let lookup = match stored {
        Some(record) => stored_lookup(plan, record),
        None => plan.keys.lookup(presented),
    };
    match lookup {
        KeyLookup::Valid(key) if key.plan.is_some() => Ok(Some(key)),
        KeyLookup::Valid(_) => Err(invalid("key_in_no_plan")),
        KeyLookup::Missing => Err(invalid("missing_api_key")),
        KeyLookup::Unknown => Err(invalid("unknown_api_key")),
        KeyLookup::Disabled(_) => Err(invalid("disabled_api_key")),
    }
}

/// A key-store record as this stage sees it: its usage plan is the first of its plans that
/// covers the stage.
fn stored_lookup<'p>(plan: &Plan, record: Option<&'p StoredKey>) -> KeyLookup<'p> {
    let Some(record) = record else { return KeyLookup::Unknown };
    let limits = &plan.limits;
    let covering = record.usage_plan_ids.iter().find_map(|id| {
        limits.plan_index(id).filter(|&p| limits.plans.get(p).is_some_and(|l| l.covers_stage))
    });
    let key = Key { id: &record.id, plan: covering };
    if record.enabled {
        KeyLookup::Valid(key)
    } else {
        KeyLookup::Disabled(key)
    }
}

/// Step 6: the throttles and quota of the stage, the method and the key's usage plan (a global
/// plan asks the rate-limit service first). Counts once per request: a pass after the step
/// admitted the request does not come here again.
pub(super) fn admit_usage<H: Host>(
    plan: &Plan,
    worker: &mut Worker,
    host: &mut H,
    exchange: &mut Exchange,
    req: &Request<'_>,
    key: Option<Key<'_>>,
) -> Result<(), Halt> {
    if exchange.admitted {
        return Ok(());
    }
    let now = req.now_nanos;
    let mut slots = plan.limits.slots(req.method_id, key.and_then(|k| Some((k.id, k.plan?))));
    let mut global_usage = None;
    if let (false, Some(service)) = (slots.global.is_empty(), &plan.limits.service) {
        match global::admit(service, &mut worker.leases, &slots.global, &mut exchange.global, now) {
            Decision::Admitted(usage) => global_usage = Some(usage),
            Decision::Ask => {
                let call = exchange.global.call.as_ref().map(|c| {
                    let method = (crate::throttle::rls::SERVICE, crate::throttle::rls::METHOD);
                    Callout::grpc(&c.cluster, method, c.body.clone(), c.timeout_ms)
                });
                return match call {
                    Some(call) => Err(Halt::Call(Pending::RateLimit, call)),
                    None => Err(Rejection::new(ResponseType::ApiConfigurationError).into()),
                };
            }
            Decision::Reject(rejection) => return Err(rejection.into()),
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
    let mut usage = global_usage;
    if !slots.buckets.is_empty() || slots.quota.is_some() {
        let admitted = admit(host, &mut worker.leases, &slots.buckets, slots.quota.as_ref(), now)?;
        let local = match admitted {
            Ok(local) => local,
            Err(rejection) if plan.rate_limit_headers => {
                return Err(with_retry_after(rejection, &slots, now).into())
            }
            Err(rejection) => return Err(rejection.into()),
        };
        usage = Some(match global_usage {
            Some(g) => Usage { quota: g.quota.or(local.quota), bucket: g.bucket.or(local.bucket) },
            None => local,
        });
    }
    if let Some(usage) = usage.filter(|_| plan.rate_limit_headers) {
        rate_limit_headers(&usage, exchange);
    }
    exchange.admitted = true;
    Ok(())
}

/// A 429 with `Retry-After`: for a throttle, the time the slowest of the request's buckets takes
/// to give a token; for a quota, the time until its period starts again (at least 1 s). Beside
/// it the IETF draft's fields: `RateLimit-Policy` naming every policy of the request, and
/// `RateLimit` the exhausted one with nothing left until the retry time.
fn with_retry_after(rejection: Rejection, slots: &Slots, now_nanos: u64) -> Rejection {
    // The slowest bucket is the one a retry waits for.
    let slowest = slots.buckets.iter().map(|b| b.limit).min_by_key(|l| l.rate_micro);
    let (name, seconds) = match rejection.kind {
        ResponseType::Throttled => {
            ("throttle", slowest.map(|l| 1_000_000u64.div_ceil(l.rate_micro.max(1))))
        }
        ResponseType::QuotaExceeded => (
            "quota",
            slots.quota.as_ref().map(|q| {
                let now = now_nanos / 1_000_000_000;
                let (_, end) = crate::throttle::quota::window(q.period, q.offset, now);
                end.saturating_sub(now)
            }),
        ),
        _ => return rejection,
    };
    let Some(seconds) = seconds.map(|s| s.max(1)) else { return rejection };
    let policies =
        [("throttle", slowest.map(|l| l.burst)), ("quota", slots.quota.as_ref().map(|q| q.limit))];
    let policy: Vec<String> =
        policies.iter().filter_map(|(n, q)| q.map(|q| format!("\"{n}\";q={q}"))).collect();
    rejection.limit_headers([
        ("retry-after", seconds.to_string()),
        ("ratelimit-policy", policy.join(", ")),
        ("ratelimit", format!("\"{name}\";r=0;t={seconds}")),
    ])
}

/// `RateLimit-*` from the quota if the plan has one, else from the first bucket; and the
/// IETF draft's structured fields: `RateLimit-Policy` naming every policy (`"throttle";q=BURST`,
/// `"quota";q=LIMIT`) and `RateLimit` the one reported (`"quota";r=REMAINING;t=RESET`).
fn rate_limit_headers(usage: &Usage, exchange: &mut Exchange) {
    let named = [("throttle", usage.bucket), ("quota", usage.quota)];
    let reported = if usage.quota.is_some() { "quota" } else { "throttle" };
    if let Some((limit, remaining, reset)) = usage.quota.or(usage.bucket) {
        let policies: Vec<String> = named
            .iter()
            .filter_map(|(name, p)| p.map(|(q, _, _)| format!("\"{name}\";q={q}")))
            .collect();
        exchange.response_headers = vec![
            ("ratelimit-limit", limit.to_string()),
            ("ratelimit-remaining", remaining.to_string()),
            ("ratelimit-reset", reset.to_string()),
            ("ratelimit-policy", policies.join(", ")),
            ("ratelimit", format!("\"{reported}\";r={remaining};t={reset}")),
        ];
    }
}

/// Step 7: the request as the upstream gets it before the transform: the path without the
/// stage, and none of the `x-tollgate-*` headers a client sent (they are the gateway's word to
/// the upstream and to Envoy's routes: the caller's key id and authorizer context, the
/// integration's cluster).
pub(super) fn prepare_upstream<H: Host>(
    host: &mut H,
    exchange: &Exchange,
    headers: &Headers,
    routed: &[u8],
) -> Result<(), Halt> {
    if exchange.base_path.is_some() && !exchange.base_path_kept {
        // The upstream gets the path without the stage, as API Gateway's integrations do.
        host.set_request_header(":path", Some(routed))?;
    }
    let mut removed: Vec<&str> = Vec::new();
    for name in headers.names().filter(|n| n.starts_with(GATEWAY_HEADER_PREFIX)) {
        if !removed.contains(&name) {
            host.set_request_header(name, None)?;
            removed.push(name);
        }
    }
    Ok(())
}

/// Step 8: validation, the cache, the request transform and the integration. `Ok(())`: the
/// request goes on to Envoy's route; a MOCK or a cache hit answers, an integration the gateway
/// calls itself is a callout.
#[allow(clippy::too_many_arguments)]
pub(super) fn transform<H: Host>(
    plan: &Plan,
    host: &mut H,
    exchange: &mut Exchange,
    req: &Request<'_>,
    who: &Authenticated,
    key: Option<Key<'_>>,
) -> Result<Option<Callout>, Halt> {
    let caller = iam_caller(plan, who);
    // Only an IAM caller's policies can allow `execute-api:InvalidateCache`.
    let may_invalidate_cache = req.method.cache.is_some()
        && caller.is_some()
        && crate::cache::wants_refresh(req.headers.get("cache-control"))
        && authorize(plan, host, req, caller, caller::INVALIDATE_CACHE).is_ok();
    let api_key = key.and_then(|_| presented_key(plan, req, who)).map(String::from_utf8_lossy);
    let context = Caller {
        may_invalidate_cache,
        api_key: api_key.as_deref(),
        api_key_id: key.map(|k| k.id),
        iam: caller,
        // Only an integration's templates, mappings and events read it.
        authorizer: if req.method.integration.is_some() {
            authorizer_context(who)
        } else {
            serde_json::Value::Null
        },
    };
    let now = req.now_nanos;
    let outcome = transform::request(
        plan,
        req.method_id,
        req.method,
        host,
        exchange,
        req.headers,
        (req.verb, req.path, req.query),
        req.body.unwrap_or_default(),
        &context,
        now,
    )?;
    match outcome {
        transform::Outcome::Continue => Ok(None),
        transform::Outcome::Call(call) => Ok(Some(call)),
        transform::Outcome::Reject(rejection) => Err(rejection.into()),
        transform::Outcome::Respond(reply) => Err(Halt::Respond(reply)),
    }
}

/// `$context.authorizer`: a token's claims, or a Lambda authorizer's principal and context.
fn authorizer_context(who: &Authenticated) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    match who {
        Authenticated::Token(t) => {
            out.insert("claims".into(), serde_json::Value::Object(t.claims.clone()));
        }
        Authenticated::Lambda(o) => {
            out.insert("principalId".into(), o.principal_id.clone().into());
            for (k, v) in &o.context {
                out.insert(k.clone(), v.clone().into());
            }
        }
        Authenticated::Anonymous | Authenticated::Iam(_) => {}
    }
    serde_json::Value::Object(out)
}

/// Step 9: who the caller is, for the upstream (the key id header, the authorizer's and the
/// token's headers, always set or removed, never the client's) and for access logs (filter
/// state; the key id's is set in step 5).
pub(super) fn publish_identity<H: Host>(
    plan: &Plan,
    host: &mut H,
    req: &Request<'_>,
    who: &Authenticated,
    key: Option<Key<'_>>,
) -> Result<(), Halt> {
    let key_id = key.map(|k| k.id.as_bytes());
    if let Some(header) = &plan.api_key_id_header {
        host.set_request_header(header, key_id)?;
    }
    if let Some(c) = iam_caller(plan, who).filter(|_| plan.filter_state) {
        host.set_filter_state(PRINCIPAL_STATE, c.principal_arn.as_bytes())?;
    }
    match who {
        Authenticated::Lambda(output) => authorizer_headers(host, output)?,
        Authenticated::Token(t) => token_headers(plan, host, req.method, t)?,
        Authenticated::Anonymous | Authenticated::Iam(_) => {}
    }
    Ok(())
}

/// The Lambda authorizer's principal and context go upstream as `x-tollgate-authorizer-*`
/// headers (the client's own were removed with every other `x-tollgate-*` header in step 7).
fn authorizer_headers<H: Host>(host: &mut H, output: &AuthorizerOutput) -> Result<(), HostError> {
    let principal = std::iter::once(("principal-id", output.principal_id.as_str()));
    let context = output.context.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    for (key, value) in principal.chain(context) {
        let name = format!("{AUTHORIZER_HEADER_PREFIX}{}", key.to_ascii_lowercase());
        if crate::text::is_token(&name) && header_safe(value) {
            host.set_request_header(&name, Some(value.as_bytes()))?;
        }
    }
    Ok(())
}

/// Every configured claim header is set from the token or removed: never the client's. A claim
/// that is no valid header value (control characters) is left out, not passed on.
fn token_headers<H: Host>(
    plan: &Plan,
    host: &mut H,
    method: &MethodPlan,
    token: &VerifiedToken,
) -> Result<(), HostError> {
    let MethodAuth::Token { authorizer, .. } = &method.auth else { return Ok(()) };
    let Some(auth) = plan.authorizers.get(*authorizer) else { return Ok(()) };
    for (claim, header) in &auth.claims_to_headers {
        let value = token.claims.get(claim).map(claim_header_value).filter(|v| header_safe(v));
        host.set_request_header(header, value.as_deref().map(str::as_bytes))?;
    }
    if let Some(sub) = token.sub.as_deref().filter(|s| plan.filter_state && header_safe(s)) {
        host.set_filter_state(SUBJECT_STATE, sub.as_bytes())?;
    }
    Ok(())
}

/// Whether `value` can go into a header or an access-log line as it is: no control characters
/// but tab.
fn header_safe(value: &str) -> bool {
    value.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}
