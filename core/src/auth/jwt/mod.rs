//! JWT and Cognito user pool tokens (COGNITO_USER_POOLS and JWT authorizers), verified as pure
//! functions over plain data.
//!
//! [`bearer`] takes the token out of its header; [`verify`] parses it ([`token`]), picks the key
//! from the [`KeySet`] by `kid` (the key pins the algorithm: the token's `alg` must agree, never
//! chooses), checks the signature ([`rsa`] for RS256/384/512, [`ecdsa`] for ES256/384,
//! jwt-simple for the others) and the claims with the authorizer's [`Validator`];
//! [`check_scopes`] applies a method's scopes.
//! The pipeline keeps verified tokens in a [`TokenCache`] and the fetched key sets in a
//! [`JwksState`] per authorizer, and maps a [`JwtError`] to the gateway response with
//! [`JwtError::status`] and [`JwtError::message`].

mod cache;
mod claims;
use crate::config::jwt as config;
mod ecdsa;
mod error;
mod json;
mod jwks;
mod refresh;
mod rsa;
mod token;

#[cfg(test)]
mod attack_tests;
#[cfg(test)]
mod claims_tests;
#[cfg(test)]
mod ecdsa_tests;
#[cfg(test)]
mod jwks_tests;
#[cfg(test)]
mod rsa_tests;
#[cfg(test)]
mod rsa_vectors;
#[cfg(test)]
pub(crate) mod test_keys;
#[cfg(test)]
mod vector_tests;

pub use cache::{TokenCache, TOKEN_CACHE_ENTRIES};
pub use claims::{check_scopes, Validator, VerifiedToken};
pub use config::{JwksUri, JwtAuthorizerConfig, JwtAuthorizerType, TokenUse};
pub use error::JwtError;
pub use jwks::{Alg, Key, KeySet, MAX_JWKS_BYTES, MAX_KEYS};
pub use refresh::{backoff, JwksState, FORCE_INTERVAL, IN_FLIGHT_TIMEOUT, MAX_BACKOFF};

/// The longest token accepted, bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Verifies a compact JWS at `now` (Unix seconds): shape and header, the key by `kid` and its
/// pinned algorithm, the signature, then the claims. Nothing is cached here.
pub fn verify(
    token: &[u8],
    keys: &KeySet,
    validator: &Validator,
    now: i64,
) -> Result<VerifiedToken, JwtError> {
    verify_seen(token, keys, validator, now, |_| false)
}

/// [`verify`], asking `seen` (with the algorithm of the key the token names) whether this
/// token's signature was already found good with these keys (by another worker): its shape,
/// header, key and claims are checked again, its signature only when not `seen`.
pub fn verify_seen(
    token: &[u8],
    keys: &KeySet,
    validator: &Validator,
    now: i64,
    seen: impl FnOnce(Alg) -> bool,
) -> Result<VerifiedToken, JwtError> {
    let parsed = token::parse(token)?;
    let key = keys.select(parsed.kid.as_deref(), parsed.alg)?;
    if !seen(key.alg()) {
        key.verify_signature(&parsed)?;
    }
    validator.validate(parsed.claims, now)
}

/// The token in an identity source value: `Bearer <token>` (any case) or the bare token,
/// trimmed; `None` when there is none.
pub fn bearer(value: &[u8]) -> Option<&[u8]> {
    let value = value.trim_ascii();
    if value.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    let token = match (value.get(..6), value.get(6)) {
        (Some(scheme), Some(b' ' | b'\t')) if scheme.eq_ignore_ascii_case(b"bearer") => {
            value.get(7..)?.trim_ascii()
        }
        _ => value,
    };
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    #[test]
    fn bearer_strips_the_scheme() {
        let cases: [(&[u8], Option<&[u8]>); 10] = [
            (b"Bearer abc.def.ghi", Some(b"abc.def.ghi")),
            (b"bearer abc", Some(b"abc")),
            (b"BEARER   abc  ", Some(b"abc")),
            (b"Bearer\tabc", Some(b"abc")),
            (b"  abc.def.ghi ", Some(b"abc.def.ghi")),
            (b"Bearerabc", Some(b"Bearerabc")),
            (b"Bearer ", None),
            (b"Bearer", None),
            (b"", None),
            (b"   ", None),
        ];
        for (value, want) in cases {
            assert_eq!(bearer(value), want, "{:?}", String::from_utf8_lossy(value));
        }
    }
}
