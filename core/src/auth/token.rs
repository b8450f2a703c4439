//! Token authorizers (COGNITO_USER_POOLS and JWT methods), compiled once: where the token comes
//! from, how it is validated, its keys (inline, or fetched from a JWKS URL through an Envoy
//! cluster), and which claims go upstream as headers.

use crate::auth::jwt::{
    bearer, verify, JwksState, JwksUri, JwtAuthorizerConfig, JwtError, KeySet, TokenCache,
    Validator, VerifiedToken,
};
use crate::config::ConfigError;
use crate::gateway_response::{Rejection, ResponseType};
use crate::text::is_token;

#[derive(Debug)]
pub struct TokenAuthorizer {
    pub id: String,
    /// Lowercase request header that carries the token.
    pub identity_source: String,
    pub validator: Validator,
    /// Keys written in the config; fetched keys live in the worker's state.
    pub inline_keys: Option<KeySet>,
    pub jwks_uri: Option<JwksUri>,
    /// (claim, lowercase header) pairs.
    pub claims_to_headers: Vec<(String, String)>,
    /// An authorizer over several user pools: (issuer, index of the authorizer with that
    /// pool's keys), this one's included. Empty for one pool.
    pub pools: Vec<(String, usize)>,
}

pub fn compile_authorizers(
    configs: &[JwtAuthorizerConfig],
) -> Result<Vec<TokenAuthorizer>, ConfigError> {
    let mut out = compile_each(configs)?;
    // Several pools: one authorizer per pool after the configured ones, each with its issuer
    // and keys; the configured one keeps the first pool and lists them all.
    for (i, c) in configs.iter().enumerate() {
        if c.jwks_uris.is_empty() {
            continue;
        }
        let path = format!("authorizers[{i}]");
        if c.jwks_uri.is_some() || c.jwks_uris.len() != c.issuers.len() {
            return Err(ConfigError::new(
                format!("{path}.jwks_uris"),
                "one per issuer, in the order of `issuers`, and no `jwks_uri` beside it",
            ));
        }
        let mut pools = Vec::with_capacity(c.issuers.len());
        for (k, (issuer, uri)) in c.issuers.iter().zip(&c.jwks_uris).enumerate() {
            let mut one = c.clone();
            one.issuers = vec![issuer.clone()];
            one.jwks_uri = Some(uri.clone());
            one.jwks_uris = Vec::new();
            let compiled = compile_each(std::slice::from_ref(&one))
                .map_err(|e| ConfigError::new(format!("{path}.jwks_uris[{k}]"), e.reason))?;
            let Some(mut pool) = compiled.into_iter().next() else { continue };
            if k == 0 {
                if let Some(first) = out.get_mut(i) {
                    first.validator = pool.validator;
                    first.jwks_uri = pool.jwks_uri;
                }
                pools.push((issuer.clone(), i));
            } else {
                pool.id = format!("{}#{k}", c.id);
                pools.push((issuer.clone(), out.len()));
                out.push(pool);
            }
        }
        if let Some(first) = out.get_mut(i) {
            first.pools = pools;
        }
    }
    Ok(out)
}

/// The authorizers as configured, one each.
fn compile_each(configs: &[JwtAuthorizerConfig]) -> Result<Vec<TokenAuthorizer>, ConfigError> {
    let mut out: Vec<TokenAuthorizer> = Vec::with_capacity(configs.len());
    for (i, c) in configs.iter().enumerate() {
        let path = format!("authorizers[{i}]");
        if c.id.is_empty() || out.iter().any(|a| a.id == c.id) {
            return Err(ConfigError::new(
                format!("{path}.id"),
                format!("`{}` is empty or used twice", c.id),
            ));
        }
        let identity_source = header_name(&c.identity_source, &format!("{path}.identity_source"))?;
        let validator = Validator::compile(c, &path)?;
        let inline_keys = match &c.jwks {
            Some(jwks) => {
                let bytes = serde_json::to_vec(jwks)
                    .map_err(|e| ConfigError::new(format!("{path}.jwks"), e.to_string()))?;
                let keys = KeySet::from_jwks_json(&bytes)
                    .map_err(|e| ConfigError::new(format!("{path}.jwks"), e))?;
                // A fetched set may carry keys Tollgate cannot use; keys written here must all work.
                if let Some(why) = keys.skipped().first() {
                    return Err(ConfigError::new(format!("{path}.jwks"), why.clone()));
                }
                Some(keys)
            }
            None => None,
        };
        if let Some(uri) = &c.jwks_uri {
            let ok =
                !uri.cluster.is_empty() && !uri.authority.is_empty() && uri.path.starts_with('/');
            if !ok {
                return Err(ConfigError::new(
                    format!("{path}.jwks_uri"),
                    "needs a cluster, an authority and a path starting with `/`",
                ));
            }
        }
        if inline_keys.is_none() && c.jwks_uri.is_none() && c.jwks_uris.is_empty() {
            return Err(ConfigError::new(path, "needs `jwks` (inline keys) or `jwks_uri`"));
        }
        let mut claims_to_headers = Vec::with_capacity(c.claims_to_headers.len());
        for (claim, header) in &c.claims_to_headers {
            let name = header_name(header, &format!("{path}.claims_to_headers.{claim}"))?;
            claims_to_headers.push((claim.clone(), name));
        }
        out.push(TokenAuthorizer {
            id: c.id.clone(),
            identity_source,
            validator,
            inline_keys,
            jwks_uri: c.jwks_uri.clone(),
            claims_to_headers,
            pools: Vec::new(),
        });
    }
    Ok(out)
}

fn header_name(name: &str, path: &str) -> Result<String, ConfigError> {
    if is_token(name) {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(ConfigError::new(path, format!("`{name}` is not a valid header name")))
    }
}

/// What one worker keeps for its token authorizers: verified tokens and fetched key sets.
#[derive(Debug, Default)]
pub struct TokenState {
    pub cache: TokenCache,
    /// Per authorizer (by index), grown on first use.
    jwks: Vec<JwksState>,
}

impl TokenState {
    pub fn jwks(&mut self, authorizer: usize) -> Option<&mut JwksState> {
        if self.jwks.len() <= authorizer {
            self.jwks.resize_with(authorizer + 1, JwksState::default);
        }
        self.jwks.get_mut(authorizer)
    }
}

/// The outcome of the token step.
#[derive(Debug)]
pub enum TokenStep {
    Verified(VerifiedToken),
    /// Fetch the authorizer's JWKS (no keys yet, or the token names a key not in the set), then
    /// run the request again.
    FetchKeys(usize),
    Rejected(Rejection),
}

fn rejection(e: &JwtError) -> Rejection {
    let kind =
        if e.status() == 403 { ResponseType::AccessDenied } else { ResponseType::Unauthorized };
    Rejection::with_message(kind, e.message())
}

/// The authorizer that verifies `identity` for a method whose authorizer spans several user
/// pools: the pool its (not yet verified) `iss` names; `authorizer` itself otherwise. Reading
/// `iss` first decides only whose keys are tried: the token is then verified in full.
pub fn pool_for(
    authorizers: &[TokenAuthorizer],
    authorizer: usize,
    identity: Option<&[u8]>,
) -> usize {
    let Some(auth) = authorizers.get(authorizer).filter(|a| !a.pools.is_empty()) else {
        return authorizer;
    };
    let issuer = identity.and_then(bearer).and_then(|token| {
        use base64::Engine as _;
        let payload = token.split(|b| *b == b'.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
        let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        claims.get("iss")?.as_str().map(str::to_owned)
    });
    issuer
        .and_then(|iss| auth.pools.iter().find(|(i, _)| *i == iss).map(|(_, index)| *index))
        .unwrap_or(authorizer)
}

/// Steps 3-4 for a token method: the token from the identity source, verified (or found in the
/// cache), with one of the method's scopes. `fetched`: keys were already fetched for this request.
pub fn authenticate_token(
    authorizers: &[TokenAuthorizer],
    state: &mut TokenState,
    (authorizer, scopes): (Option<usize>, &[String]),
    identity: Option<&[u8]>,
    now: i64,
    fetched: bool,
) -> TokenStep {
    let Some((index, auth)) = authorizer.and_then(|i| authorizers.get(i).map(|a| (i, a))) else {
        return TokenStep::Rejected(Rejection::new(ResponseType::AuthorizerConfigurationError));
    };
    let Some(token) = identity.and_then(bearer) else {
        return TokenStep::Rejected(rejection(&JwtError::Missing));
    };
    let verified = match state.cache.get(index, token, now) {
        Some(cached) => cached.clone(),
        None => {
            let fetched_keys = match state.jwks(index) {
                Some(s) => s.keys(),
                None => None,
            };
            let keys = match (auth.inline_keys.as_ref(), fetched_keys.as_deref()) {
                (Some(k), _) => Some(k),
                (None, Some(k)) => Some(k),
                (None, None) => None,
            };
            let result = match keys {
                Some(keys) => verify(token, keys, &auth.validator, now),
                None => Err(JwtError::UnknownKid),
            };
            match result {
                Ok(v) => {
                    state.cache.insert(index, token, v.clone());
                    v
                }
                Err(e) if e.is_unknown_kid() && auth.jwks_uri.is_some() && !fetched => {
                    match state.jwks(index) {
                        Some(s) if s.may_force_refetch(now) => {
                            s.force(now);
                            return TokenStep::FetchKeys(index);
                        }
                        _ if keys.is_none() => {
                            return TokenStep::Rejected(Rejection::new(
                                ResponseType::AuthorizerConfigurationError,
                            ))
                        }
                        _ => return TokenStep::Rejected(rejection(&e)),
                    }
                }
                Err(_) if keys.is_none() => {
                    return TokenStep::Rejected(Rejection::new(
                        ResponseType::AuthorizerConfigurationError,
                    ))
                }
                Err(e) => return TokenStep::Rejected(rejection(&e)),
            }
        }
    };
    match auth.validator.check_method_scopes(&verified, scopes) {
        Ok(()) => TokenStep::Verified(verified),
        Err(e) => TokenStep::Rejected(rejection(&e)),
    }
}

/// A JWKS fetch ended: `body` is the response of a 200, `None` for any failure (the old keys, if
/// any, keep serving). Returns the number of keys now in the set, or why the fetch was refused.
pub fn keys_fetched(
    state: &mut TokenState,
    authorizer: usize,
    body: Option<&[u8]>,
    now: i64,
) -> Result<usize, String> {
    let Some(s) = state.jwks(authorizer) else { return Err("no such authorizer".into()) };
    match body.map(KeySet::from_jwks_json) {
        Some(Ok(keys)) => {
            let n = keys.len();
            s.finish_ok(keys, now);
            Ok(n)
        }
        Some(Err(e)) => {
            s.finish_err(now);
            Err(e)
        }
        None => {
            s.finish_err(now);
            Err("the JWKS request failed".into())
        }
    }
}

/// The value of a claim as a header value: strings as they are, anything else as JSON.
pub fn claim_header_value(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
