//! Token authorizers (COGNITO_USER_POOLS and JWT methods), compiled once: where the token comes
//! from, how it is validated, its keys (inline, or fetched from a JWKS URL through an Envoy
//! cluster), and which claims go upstream as headers.

use sha2::{Digest, Sha256};

use crate::auth::jwt::{
    bearer, verify_seen, JwksState, JwksUri, JwtAuthorizerConfig, JwtError, KeySet, TokenCache,
    Validator, VerifiedToken,
};
use crate::config::ConfigError;
use crate::gateway_response::{Rejection, ResponseType};
use crate::host::{Host, HostError};
use crate::text::is_token;

/// Slots of the tokens verified by any worker of this Envoy (shared data): one per hash, the
/// newest token in a slot wins, so the store stays at this many small entries per API.
pub const SHARED_TOKEN_SLOTS: u16 = 4096;

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
/// A token another worker of this Envoy verified with the same keys skips the signature check
/// (its header, key and claims are checked again); a token this worker verified is not read again.
pub fn authenticate_token<H: Host>(
    host: &mut H,
    (api, authorizers): (&str, &[TokenAuthorizer]),
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
                Some(keys) => {
                    // Only a public-key signature is worth a trip to the store: an HMAC costs
                    // less than the hash and the host calls that would save it.
                    let mut asked: Option<(SharedToken, bool)> = None;
                    let result = verify_seen(token, keys, &auth.validator, now, |alg| {
                        if !alg.is_public_key() {
                            return false;
                        }
                        let shared = SharedToken::new(api, index, keys, token);
                        let seen = shared.seen(host, now);
                        asked = Some((shared, seen));
                        seen
                    });
                    if let (Ok(v), Some((shared, false))) = (&result, &asked) {
                        shared.remember(host, v.exp);
                    }
                    result
                }
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

/// A token's place among the tokens the workers of this Envoy verified: the slot named after
/// its hash, which holds `exp` and that hash while the token is the slot's newest. The hash
/// covers the API, the authorizer, the key set (new keys or a rotated key: a new hash) and the
/// token; the store never holds a token. Only a worker's own good signature check writes it.
struct SharedToken {
    slot: String,
    hash: [u8; 32],
}

impl SharedToken {
    fn new(api: &str, authorizer: usize, keys: &KeySet, token: &[u8]) -> SharedToken {
        let mut h = Sha256::new();
        h.update((api.len() as u64).to_le_bytes());
        h.update(api.as_bytes());
        h.update((authorizer as u64).to_le_bytes());
        h.update(keys.fingerprint());
        h.update(token);
        let hash: [u8; 32] = h.finalize().into();
        let slot = u16::from_be_bytes([hash[0], hash[1]]) % SHARED_TOKEN_SLOTS;
        SharedToken { slot: format!("tollgate.jwt.{api}.{slot}"), hash }
    }

    /// Some worker verified this token's signature with these keys, and its `exp` is ahead. A
    /// store that cannot be read is a miss: the signature is checked.
    fn seen<H: Host>(&self, host: &H, now: i64) -> bool {
        let Ok((Some(value), _)) = host.shared_data(&self.slot) else { return false };
        let (Some(exp), Some(hash)) = (value.get(..8), value.get(8..)) else { return false };
        let exp = i64::from_be_bytes(exp.try_into().unwrap_or([0; 8]));
        now < exp && hash == self.hash.as_slice()
    }

    /// Tells the other workers; a token without `exp` is not kept (nor is it valid).
    fn remember<H: Host>(&self, host: &mut H, exp: Option<i64>) {
        let Some(exp) = exp else { return };
        let mut value = Vec::with_capacity(40);
        value.extend_from_slice(&exp.to_be_bytes());
        value.extend_from_slice(&self.hash);
        // A store that cannot be written costs the other workers a signature check, no more.
        let _: Result<(), HostError> = host.set_shared_data(&self.slot, &value, None);
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

#[cfg(test)]
mod tests {
    use jwt_simple::prelude::{ES256KeyPair, HS256Key};
    use serde_json::json;

    use super::*;
    use crate::auth::jwt::test_keys::Signer;
    use crate::host::memory::MemoryHost;
    use crate::test_support::test;

    const NOW: i64 = 1_764_072_000;
    const ISSUER: &str = "https://issuer.example";

    fn es256() -> Signer {
        Signer::Es256(ES256KeyPair::generate().with_key_id("k1"))
    }

    fn authorizers(signer: &Signer, audience: &str) -> Vec<TokenAuthorizer> {
        let config: JwtAuthorizerConfig = serde_json::from_value(json!({
            "id": "a", "type": "JWT", "issuers": [ISSUER], "audiences": [audience],
            "jwks": {"keys": [signer.jwk("k1")]},
        }))
        .unwrap();
        compile_authorizers(&[config]).unwrap()
    }

    fn token(signer: &Signer, exp: i64) -> String {
        signer.sign(&json!({"iss": ISSUER, "aud": "app", "sub": "u", "exp": exp}))
    }

    /// One worker's attempt on `host` (whose shared data may be another worker's too).
    fn attempt(
        host: &mut MemoryHost,
        authorizers: &[TokenAuthorizer],
        token: &str,
        now: i64,
    ) -> bool {
        let step = authenticate_token(
            host,
            ("shop", authorizers),
            &mut TokenState::default(),
            (Some(0), &[]),
            Some(token.as_bytes()),
            now,
            false,
        );
        matches!(step, TokenStep::Verified(_))
    }

    #[test]
    fn a_token_one_worker_verified_is_not_signature_checked_by_another() {
        let signer = es256();
        let auth = authorizers(&signer, "app");
        let keys = auth[0].inline_keys.as_ref().unwrap();
        let good = token(&signer, NOW + 600);
        let mut first = MemoryHost::default();
        assert!(attempt(&mut first, &auth, &good, NOW));
        // The other worker's host shares the store: the entry is there, keyed by the token's hash.
        let shared = SharedToken::new("shop", 0, keys, good.as_bytes());
        assert!(shared.seen(&first, NOW));
        assert!(!shared.seen(&first, NOW + 600), "not past exp");
        let mut second = MemoryHost { shared: first.shared.clone(), ..MemoryHost::default() };
        assert!(attempt(&mut second, &auth, &good, NOW));

        // What the store vouches for skips the signature check (and only that): a token whose
        // signature is bad passes once the store says a worker verified it with these keys.
        let forged = token(&es256(), NOW + 600);
        assert!(!attempt(&mut second, &auth, &forged, NOW));
        SharedToken::new("shop", 0, keys, forged.as_bytes()).remember(&mut second, Some(NOW + 600));
        assert!(attempt(&mut second, &auth, &forged, NOW));
        // Its claims are checked again with the current rules and clock...
        let stricter = authorizers(&signer, "other-app");
        assert!(!attempt(&mut second, &stricter, &forged, NOW));
        // ...and new keys make another hash: the entry of the old keys is not read.
        let rotated = authorizers(&es256(), "app");
        assert!(!attempt(&mut second, &rotated, &forged, NOW));
        // Another API's entry is not this one's.
        let other_api = SharedToken::new("other", 0, keys, forged.as_bytes());
        assert_ne!(other_api.hash, SharedToken::new("shop", 0, keys, forged.as_bytes()).hash);
    }

    #[test]
    fn failures_and_expired_entries_are_not_shared() {
        let signer = es256();
        let auth = authorizers(&signer, "app");
        let keys = auth[0].inline_keys.as_ref().unwrap();
        let mut host = MemoryHost::default();
        // Verified at NOW, expired for the second worker at NOW + 700.
        let good = token(&signer, NOW + 600);
        assert!(attempt(&mut host, &auth, &good, NOW));
        assert!(!attempt(&mut host, &auth, &good, NOW + 700));
        // A refused token leaves nothing behind.
        let forged = token(&es256(), NOW + 600);
        assert!(!attempt(&mut host, &auth, &forged, NOW));
        assert!(!SharedToken::new("shop", 0, keys, forged.as_bytes()).seen(&host, NOW));
    }

    /// An HMAC is checked by every worker: the store is neither read nor written for it.
    #[test]
    fn hmac_tokens_stay_out_of_the_store() {
        let signer = Signer::Hs256(HS256Key::generate().with_key_id("k1"));
        let auth = authorizers(&signer, "app");
        let keys = auth[0].inline_keys.as_ref().unwrap();
        let mut host = MemoryHost::default();
        let good = token(&signer, NOW + 600);
        assert!(attempt(&mut host, &auth, &good, NOW));
        assert!(!SharedToken::new("shop", 0, keys, good.as_bytes()).seen(&host, NOW));
    }
}
