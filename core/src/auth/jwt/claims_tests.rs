//! The claim rules on their own: config checks with field paths, time with leeway, issuer,
//! audience or `client_id`, Cognito's `token_use`, scopes.

use serde_json::{json, Map, Value};

use super::test_keys::{validator, NOW};
use super::*;
use crate::test_support::test;

fn claims(extra: Value) -> Map<String, Value> {
    let mut c = json!({"iss": "joe", "exp": NOW + 60}).as_object().cloned().unwrap();
    if let Value::Object(extra) = extra {
        c.extend(extra);
    }
    c.retain(|_, v| !v.is_null());
    c
}

fn check(v: &Validator, extra: Value) -> Result<VerifiedToken, JwtError> {
    v.validate(claims(extra), NOW)
}

#[test]
fn config_errors_name_the_field() {
    let cases = [
        (json!({"issuers": []}), "authorizers[3].issuers"),
        (json!({"issuers": ["a", ""]}), "authorizers[3].issuers[1]"),
        (json!({"audiences": [""]}), "authorizers[3].audiences[0]"),
        (json!({"leeway_seconds": 301}), "authorizers[3].leeway_seconds"),
        (json!({"jwks": null}), "authorizers[3]"),
        (
            json!({"jwks_uri": {"cluster": "c", "authority": "a", "path": "/", "refresh_seconds": 10}}),
            "authorizers[3].jwks_uri.refresh_seconds",
        ),
        (
            json!({"jwks_uri": {"cluster": "c", "authority": "a", "path": "/", "timeout_ms": 0}}),
            "authorizers[3].jwks_uri.timeout_ms",
        ),
    ];
    for (extra, path) in cases {
        let mut cfg = json!({"id": "a", "type": "JWT", "issuers": ["joe"], "jwks": {"keys": []}});
        cfg.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap());
        let cfg: JwtAuthorizerConfig = serde_json::from_value(cfg).unwrap();
        let err = Validator::compile(&cfg, "authorizers[3]").unwrap_err();
        assert_eq!(err.path, path, "{err}");
    }
}

#[test]
fn time_claims_with_and_without_leeway() {
    let strict = validator(json!({}));
    let lenient = validator(json!({"leeway_seconds": 30}));
    type Want = Result<(), JwtError>;
    let cases: [(Value, Want, Want); 10] = [
        (json!({"exp": NOW + 1}), Ok(()), Ok(())),
        (json!({"exp": NOW}), Err(JwtError::Expired), Ok(())),
        (json!({"exp": NOW - 29}), Err(JwtError::Expired), Ok(())),
        (json!({"exp": NOW - 30}), Err(JwtError::Expired), Err(JwtError::Expired)),
        (json!({"nbf": NOW}), Ok(()), Ok(())),
        (json!({"nbf": NOW + 1}), Err(JwtError::NotYetValid), Ok(())),
        (json!({"nbf": NOW + 31}), Err(JwtError::NotYetValid), Err(JwtError::NotYetValid)),
        (json!({"iat": NOW}), Ok(()), Ok(())),
        (json!({"iat": NOW + 30}), Err(JwtError::IssuedInFuture), Ok(())),
        (json!({"iat": NOW + 31}), Err(JwtError::IssuedInFuture), Err(JwtError::IssuedInFuture)),
    ];
    for (extra, want_strict, want_lenient) in cases {
        assert_eq!(check(&strict, extra.clone()).map(drop), want_strict, "{extra}");
        assert_eq!(check(&lenient, extra.clone()).map(drop), want_lenient, "{extra} leeway");
    }
}

#[test]
fn time_claims_must_be_non_negative_numbers() {
    let v = validator(json!({}));
    for extra in [
        json!({"exp": null}),
        json!({"exp": "1900000000"}),
        json!({"exp": [NOW + 60]}),
        json!({"exp": -1}),
        json!({"nbf": "0"}),
        json!({"iat": true}),
    ] {
        assert!(matches!(check(&v, extra.clone()), Err(JwtError::Malformed(_))), "{extra}");
    }
    // Fractions end a token earlier and start it later; a huge exp is just far away.
    assert_eq!(check(&v, json!({"exp": NOW as f64 + 0.5})).unwrap_err(), JwtError::Expired);
    assert_eq!(check(&v, json!({"nbf": NOW as f64 + 0.5})).unwrap_err(), JwtError::NotYetValid);
    assert_eq!(check(&v, json!({"exp": u64::MAX})).unwrap().exp, Some(i64::MAX));
    assert_eq!(check(&v, json!({"exp": 1e300})).unwrap().exp, Some(i64::MAX));
    assert_eq!(check(&v, json!({"iat": u64::MAX})).unwrap_err(), JwtError::IssuedInFuture);
}

#[test]
fn issuer_is_exact() {
    let v = validator(
        json!({"issuers": ["https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC"]}),
    );
    let good = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC";
    assert!(check(&v, json!({"iss": good})).is_ok());
    for bad in [json!(format!("{good}/")), json!(good.to_uppercase()), json!([good]), json!(null)] {
        assert_eq!(check(&v, json!({"iss": bad})).unwrap_err(), JwtError::Issuer, "{bad}");
    }
}

#[test]
fn audience_then_client_id() {
    let v = validator(json!({"audiences": ["app1", "app2"]}));
    assert!(check(&v, json!({"aud": "app2"})).is_ok());
    assert!(check(&v, json!({"aud": ["other", "app1"]})).is_ok());
    // Cognito access tokens carry client_id and no aud.
    assert!(check(&v, json!({"client_id": "app1"})).is_ok());
    for extra in [
        json!({"aud": "other"}),
        json!({"aud": ["other"]}),
        json!({"aud": []}),
        json!({"aud": 5}),
        json!({"aud": "other", "client_id": "app1"}),
        json!({"client_id": "other"}),
        json!({}),
    ] {
        assert_eq!(check(&v, extra.clone()).unwrap_err(), JwtError::Audience, "{extra}");
    }
    // No audiences configured: not checked.
    assert!(check(&validator(json!({})), json!({"aud": "anything"})).is_ok());
}

#[test]
fn cognito_token_use() {
    let any = validator(json!({"type": "COGNITO_USER_POOLS"}));
    let access = validator(json!({"type": "COGNITO_USER_POOLS", "token_use": "access"}));
    let id = validator(json!({"type": "COGNITO_USER_POOLS", "token_use": "id"}));
    let cases = [
        (json!({"token_use": "id"}), true, false, true),
        (json!({"token_use": "access"}), true, true, false),
        (json!({"token_use": "refresh"}), false, false, false),
        (json!({"token_use": ["id"]}), false, false, false),
        (json!({}), false, false, false),
    ];
    for (extra, ok_any, ok_access, ok_id) in cases {
        for (v, ok) in [(&any, ok_any), (&access, ok_access), (&id, ok_id)] {
            let got = check(v, extra.clone());
            assert_eq!(got.is_ok(), ok, "{extra}: {got:?}");
            if !ok {
                assert_eq!(got.unwrap_err(), JwtError::TokenUse);
            }
        }
    }
    // A JWT authorizer does not look at token_use unless told to.
    assert!(check(&validator(json!({})), json!({"token_use": "refresh"})).is_ok());
    let jwt_access = validator(json!({"token_use": "access"}));
    assert_eq!(check(&jwt_access, json!({})).unwrap_err(), JwtError::TokenUse);
}

#[test]
fn subject_and_scopes() {
    let v = validator(json!({}));
    let t = check(&v, json!({"sub": "alice", "scope": "read  write\tadmin"})).unwrap();
    assert_eq!(t.sub.as_deref(), Some("alice"));
    assert_eq!(t.scopes, ["read", "write", "admin"]);
    let t = check(&v, json!({"scp": ["a", "b"]})).unwrap();
    assert_eq!(t.scopes, ["a", "b"]);
    let t = check(&v, json!({"scp": "a b"})).unwrap();
    assert_eq!(t.scopes, ["a", "b"]);
    for extra in [json!({"sub": 5}), json!({"scope": ["a", 1]}), json!({"scope": {"a": 1}})] {
        assert!(matches!(check(&v, extra.clone()), Err(JwtError::Malformed(_))), "{extra}");
    }
}

#[test]
fn scopes_one_of() {
    let v = validator(json!({}));
    let t = check(&v, json!({"scope": "pets/read openid"})).unwrap();
    let req = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(check_scopes(&t, &[]), Ok(()));
    assert_eq!(check_scopes(&t, &req(&["pets/write", "pets/read"])), Ok(()));
    assert_eq!(check_scopes(&t, &req(&["pets/write"])), Err(JwtError::Scope));
    assert_eq!(check_scopes(&t, &req(&["pets"])), Err(JwtError::Scope), "no prefix match");
    // A Cognito id token never has scopes: the wrong kind of token, 401 as AWS.
    let id = check(&v, json!({"token_use": "id"})).unwrap();
    assert_eq!(check_scopes(&id, &req(&["openid"])), Err(JwtError::TokenUse));
    let access = check(&v, json!({"token_use": "access"})).unwrap();
    assert_eq!(check_scopes(&access, &req(&["openid"])), Err(JwtError::Scope));
}

#[test]
fn a_cognito_method_without_scopes_takes_id_tokens_only() {
    let cognito = validator(json!({"type": "COGNITO_USER_POOLS"}));
    let id = check(&cognito, json!({"token_use": "id"})).unwrap();
    let access = check(&cognito, json!({"token_use": "access", "scope": "pets/read"})).unwrap();
    let read = ["pets/read".to_string()];
    assert_eq!(cognito.check_method_scopes(&id, &[]), Ok(()));
    assert_eq!(cognito.check_method_scopes(&access, &[]), Err(JwtError::TokenUse));
    assert_eq!(cognito.check_method_scopes(&access, &read), Ok(()));
    assert_eq!(cognito.check_method_scopes(&id, &read), Err(JwtError::TokenUse));
    // Any other issuer's token is not Cognito's: no kind of token is implied.
    let jwt = validator(json!({}));
    let other = check(&jwt, json!({"token_use": "access"})).unwrap();
    assert_eq!(jwt.check_method_scopes(&other, &[]), Ok(()));
}
