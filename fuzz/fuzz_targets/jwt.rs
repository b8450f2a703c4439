//! JWT: the identity source value, the compact JWS, its header and claims, the key set (inline
//! or fetched JWKS), the signature and the claim rules. The first byte picks what the rest is:
//! a token as sent; a header and claims (split at `SEP`) that the harness signs with the
//! authorizer's key, so the claims checks see hostile claims; or a JWKS document.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use tollgate_core::auth::jwt::{self, JwtAuthorizerConfig, KeySet, TokenCache, Validator};
use tollgate_fuzz::{hs256_token, jwks, sections, ISSUER, NOW};

struct Fixture {
    keys: KeySet,
    validators: Vec<Validator>,
}

thread_local! {
    static FIXTURE: RefCell<Option<Fixture>> = const { RefCell::new(None) };
}

fn fixture() -> Fixture {
    let configs = [
        serde_json::json!({"id": "jwt", "type": "JWT", "issuers": [ISSUER], "audiences": ["app"],
                           "leeway_seconds": 30, "jwks": jwks()}),
        serde_json::json!({"id": "pool", "type": "COGNITO_USER_POOLS", "issuers": [ISSUER, "other"],
                           "token_use": "access", "audiences": ["client-1"], "jwks": jwks()}),
        serde_json::json!({"id": "any", "type": "COGNITO_USER_POOLS", "issuers": [ISSUER], "jwks": jwks()}),
    ];
    let validators = configs
        .iter()
        .map(|c| {
            let cfg: JwtAuthorizerConfig = serde_json::from_value(c.clone()).expect("authorizer");
            Validator::compile(&cfg, "authorizers[0]").expect("validator")
        })
        .collect();
    let keys = KeySet::from_jwks_json(jwks().to_string().as_bytes()).expect("keys");
    Fixture { keys, validators }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    FIXTURE.with(|f| {
        let mut f = f.borrow_mut();
        let f = f.get_or_insert_with(fixture);
        match mode % 3 {
            0 => {
                if let Some(token) = jwt::bearer(rest) {
                    check(f, &f.keys, token);
                }
            }
            1 => {
                let parts = sections(rest);
                let header = parts.first().copied().unwrap_or_default();
                let claims = parts.get(1).copied().unwrap_or_default();
                check(f, &f.keys, hs256_token(header, claims).as_bytes());
            }
            _ => {
                if let Ok(keys) = KeySet::from_jwks_json(rest) {
                    let _ = (keys.len(), keys.skipped());
                    for key in keys.keys() {
                        let _ = (key.kid(), key.alg().name());
                    }
                    let header = br#"{"alg":"HS256","kid":"k1"}"#;
                    let claims = format!(r#"{{"iss":"{ISSUER}","aud":"app","exp":{}}}"#, NOW + 60);
                    check(f, &keys, hs256_token(header, claims.as_bytes()).as_bytes());
                }
            }
        }
    });
});

fn check(f: &Fixture, keys: &KeySet, token: &[u8]) {
    let mut cache = TokenCache::default();
    for (i, validator) in f.validators.iter().enumerate() {
        match jwt::verify(token, keys, validator, NOW) {
            Ok(verified) => {
                let _ = jwt::check_scopes(&verified, &["pets/write".into(), "admin".into()]);
                let _ = jwt::check_scopes(&verified, &[]);
                // Cached until its `exp` (a token inside the leeway is verified each time).
                let fresh = verified.exp.is_some_and(|exp| NOW < exp);
                cache.insert(i, token, verified);
                assert_eq!(cache.get(i, token, NOW).is_some(), fresh, "the token cache");
            }
            Err(e) => {
                let _ = (e.status(), e.message(), e.is_unknown_kid());
            }
        }
    }
}
