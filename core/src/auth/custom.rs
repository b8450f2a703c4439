//! Lambda authorizers (CUSTOM methods), compiled once, and the authorizer step: the identity
//! from the request, a cached result (shared by every worker through shared data) or a call to
//! the function, its policy evaluated against the method ARN.

use crate::auth::lambda::{
    cache_key, identity_values, interpret_invoke, parse_identity_sources, request_event,
    token_event, AuthorizerOutput, HeaderNames, IdentitySource, InvokeResult, RequestView,
    ValidationExpression,
};
use serde_json::Value;

use crate::auth::policy::{AccessRequest, CompiledPolicy, Decision, PolicyKind};
use crate::config::{ConfigError, LambdaAuthorizerConfig, LambdaAuthorizerType};
use crate::gateway_response::{Rejection, ResponseType};
use crate::host::{Host, HostError};

/// AWS's cap on an authorizer's answer.
pub const MAX_RESULT_BYTES: usize = 8 * 1024;
const MAX_TTL: u32 = 3600;
const MAX_TIMEOUT_MS: u32 = 10_000;
/// Shared-data slots per authorizer: results of more identities than this evict each other.
const CACHE_SLOTS: u16 = 1024;

#[derive(Debug)]
pub struct LambdaAuthorizer {
    pub id: String,
    pub kind: LambdaAuthorizerType,
    pub cluster: String,
    pub authority: String,
    /// `/2015-03-31/functions/{name}/invocations`.
    pub path: String,
    pub timeout_ms: u32,
    pub sources: Vec<IdentitySource>,
    pub validation: Option<ValidationExpression>,
    pub ttl_seconds: u32,
}

pub fn compile_lambda_authorizers(
    configs: &[LambdaAuthorizerConfig],
) -> Result<Vec<LambdaAuthorizer>, ConfigError> {
    let mut out: Vec<LambdaAuthorizer> = Vec::with_capacity(configs.len());
    for (i, c) in configs.iter().enumerate() {
        let path = format!("lambda_authorizers[{i}]");
        if c.id.is_empty() || out.iter().any(|a| a.id == c.id) {
            return Err(ConfigError::new(
                format!("{path}.id"),
                format!("`{}` is empty or used twice", c.id),
            ));
        }
        let f = &c.function;
        let name_ok = !f.name.is_empty()
            && f.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_:.".contains(&b));
        if !name_ok || f.cluster.is_empty() || f.authority.is_empty() {
            return Err(ConfigError::new(
                format!("{path}.function"),
                "needs a cluster, an authority and a function name (letters, digits, `-_:.`)",
            ));
        }
        if f.timeout_ms == 0 || f.timeout_ms > MAX_TIMEOUT_MS {
            return Err(ConfigError::new(
                format!("{path}.function.timeout_ms"),
                format!("{} is not in 1-{MAX_TIMEOUT_MS}", f.timeout_ms),
            ));
        }
        if c.result_ttl_seconds > MAX_TTL {
            return Err(ConfigError::new(
                format!("{path}.result_ttl_seconds"),
                format!("{} is over {MAX_TTL}", c.result_ttl_seconds),
            ));
        }
        // A REQUEST authorizer may name no identity source (AWS exports its scheme as
        // `Unused`): it is called on every request, and nothing is cached.
        let none = c.kind == LambdaAuthorizerType::Request && c.identity_source.trim().is_empty();
        let sources = if none {
            Vec::new()
        } else {
            parse_identity_sources(&c.identity_source)
                .map_err(|e| ConfigError::new(format!("{path}.identity_source"), e))?
        };
        let token_ok = matches!(sources.as_slice(), [IdentitySource::Header(_)]);
        if c.kind == LambdaAuthorizerType::Token && !token_ok {
            return Err(ConfigError::new(
                format!("{path}.identity_source"),
                "a TOKEN authorizer reads one header: method.request.header.NAME",
            ));
        }
        let validation = match (&c.identity_validation_expression, c.kind) {
            (None, _) => None,
            (Some(re), LambdaAuthorizerType::Token) => {
                Some(ValidationExpression::compile(re).map_err(|e| {
                    ConfigError::new(format!("{path}.identity_validation_expression"), e)
                })?)
            }
            (Some(_), LambdaAuthorizerType::Request) => {
                return Err(ConfigError::new(
                    format!("{path}.identity_validation_expression"),
                    "only TOKEN authorizers validate the identity",
                ))
            }
        };
        out.push(LambdaAuthorizer {
            id: c.id.clone(),
            kind: c.kind,
            cluster: f.cluster.clone(),
            authority: f.authority.clone(),
            path: format!("/2015-03-31/functions/{}/invocations", f.name),
            timeout_ms: f.timeout_ms,
            sources,
            validation,
            ttl_seconds: if none { 0 } else { c.result_ttl_seconds },
        });
    }
    Ok(out)
}

/// What the function answered (or `status` 0 when the call failed or timed out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvokeResponse {
    pub status: u16,
    pub function_error: Option<Vec<u8>>,
    pub body: Vec<u8>,
}

fn unauthorized() -> Rejection {
    Rejection::new(ResponseType::Unauthorized)
}

/// The identity values, or 401 (without calling the function) when one is missing or a TOKEN
/// fails its validation expression.
pub fn identity(auth: &LambdaAuthorizer, view: &RequestView<'_>) -> Result<Vec<String>, Rejection> {
    let values = identity_values(&auth.sources, view).ok_or_else(unauthorized)?;
    if let (Some(re), Some(token)) = (&auth.validation, values.first()) {
        if !re.is_match(token) {
            return Err(unauthorized());
        }
    }
    Ok(values)
}

/// The event for the function.
/// The event for the function: a REQUEST event is built with `context` (its `requestContext`)
/// and header names spelled as `names` says.
pub fn event(
    auth: &LambdaAuthorizer,
    view: &RequestView<'_>,
    (names, context): (HeaderNames<'_>, &Value),
    identity: &[String],
    arn: &str,
) -> Vec<u8> {
    match (auth.kind, identity.first()) {
        (LambdaAuthorizerType::Token, Some(token)) => token_event(token, arn),
        _ => request_event(view, names, context, arn),
    }
}

/// Decides with the function's answer: allowed (with its output), or the AWS rejection.
pub fn decide(
    response: &InvokeResponse,
    arn: &str,
    now: i64,
) -> Result<AuthorizerOutput, Rejection> {
    let output = match interpret_invoke(
        response.status,
        response.function_error.as_deref(),
        &response.body,
        MAX_RESULT_BYTES,
    ) {
        InvokeResult::Output(o) => o,
        InvokeResult::Unauthorized => return Err(unauthorized()),
        InvokeResult::Failure(_) => return Err(Rejection::new(ResponseType::AuthorizerFailure)),
    };
    let policy = CompiledPolicy::compile(&output.policy, PolicyKind::Identity, "policyDocument")
        .map_err(|_| Rejection::new(ResponseType::AuthorizerConfigurationError))?;
    let request = AccessRequest {
        action: crate::auth::caller::INVOKE,
        resource: arn,
        principal_arn: None,
        principal_org_id: None,
        source_ip: None,
        source_vpce: None,
        source_vpc: None,
        secure_transport: false,
        current_time: now,
        referer: None,
        user_agent: None,
    };
    match policy.evaluate(&request) {
        Decision::Allow => Ok(output),
        Decision::ExplicitDeny | Decision::NoMatch => {
            Err(Rejection::new(ResponseType::AccessDenied))
        }
    }
}

fn slot_key(api: &str, authorizer: usize, key: &[u8; 32]) -> String {
    let slot = u16::from_be_bytes([key[0], key[1]]) % CACHE_SLOTS;
    format!("tollgate.authz.{api}.{authorizer}.{slot}")
}

/// A cached answer of the function for this identity, if fresh. Only successful answers (the
/// function returned a policy) are cached.
pub fn cached<H: Host>(
    host: &H,
    api: &str,
    authorizer: usize,
    identity: &[String],
    now: i64,
) -> Result<Option<InvokeResponse>, HostError> {
    let key = cache_key(authorizer, identity);
    let (value, _) = host.shared_data(&slot_key(api, authorizer, &key))?;
    let Some(value) = value else { return Ok(None) };
    let (Some(expiry), Some(stored_key), Some(body)) =
        (value.get(..8), value.get(8..40), value.get(40..))
    else {
        return Ok(None);
    };
    let expiry = i64::from_be_bytes(expiry.try_into().unwrap_or([0; 8]));
    if expiry <= now || stored_key != key.as_slice() {
        return Ok(None);
    }
    Ok(Some(InvokeResponse { status: 200, function_error: None, body: body.to_vec() }))
}

/// Keeps a successful answer for the authorizer's TTL (nothing when the TTL is 0).
pub fn remember<H: Host>(
    host: &mut H,
    api: &str,
    (index, auth): (usize, &LambdaAuthorizer),
    identity: &[String],
    response: &InvokeResponse,
    now: i64,
) -> Result<(), HostError> {
    if auth.ttl_seconds == 0 || response.status != 200 || response.function_error.is_some() {
        return Ok(());
    }
    if response.body.len() > MAX_RESULT_BYTES {
        return Ok(());
    }
    let key = cache_key(index, identity);
    let mut value = Vec::with_capacity(40 + response.body.len());
    value.extend_from_slice(&now.saturating_add(i64::from(auth.ttl_seconds)).to_be_bytes());
    value.extend_from_slice(&key);
    value.extend_from_slice(&response.body);
    host.set_shared_data(&slot_key(api, index, &key), &value, None)
}
