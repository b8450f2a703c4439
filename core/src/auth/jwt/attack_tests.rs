//! The attack table: forged, confused, stale and malformed tokens, each refused for its reason.
//! Every token here is built by hand (HMAC, the RFC 7515 vectors), so the table runs in wasm too.

use serde_json::{json, Value};

use super::test_keys::*;
use super::*;
use crate::test_support::test;

/// `s1`, `s2`: shared secrets (HS256); `rsa`: RFC A.2 (RS256); `ec`: RFC A.3 (ES256).
fn keys() -> KeySet {
    key_set(&json!({"keys": [
        secret_jwk("s1"),
        {"kty": "oct", "kid": "s2", "alg": "HS256", "k": b64([9u8; 32])},
        {"kty": "RSA", "kid": "rsa", "n": A2_N, "e": "AQAB"},
        {"kty": "EC", "kid": "ec", "crv": "P-256", "x": A3_X, "y": A3_Y},
    ]}))
}

fn claims(extra: Value) -> String {
    let mut c = good_claims();
    c.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap());
    c.to_string()
}

/// A correctly signed HS256 token under `s1` with this header.
fn signed(header: &str, claims: &str) -> String {
    hs256(SECRET, header, claims)
}

const S1: &str = r#"{"alg":"HS256","kid":"s1"}"#;

/// A token by its raw segments (the signature copied from a good token).
fn raw(header: &str, claims: &str, signature: &str) -> String {
    format!("{}.{}.{signature}", b64(header), b64(claims))
}

fn der(raw_signature: &[u8]) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        let mut out = vec![0x02];
        if trimmed[0] & 0x80 != 0 {
            out.push(trimmed.len() as u8 + 1);
            out.push(0);
        } else {
            out.push(trimmed.len() as u8);
        }
        out.extend(trimmed);
        out
    }
    let (r, s) = raw_signature.split_at(32);
    let body = [integer(r), integer(s)].concat();
    [vec![0x30, body.len() as u8], body].concat()
}

struct Case {
    name: &'static str,
    token: String,
    validator: Validator,
    now: i64,
    scopes: &'static [&'static str],
    want: JwtError,
}

fn case(name: &'static str, token: String, want: JwtError) -> Case {
    Case { name, token, validator: validator(json!({})), now: NOW, scopes: &[], want }
}

fn table() -> Vec<Case> {
    let good = signed(S1, &claims(json!({})));
    let good_sig = good.rsplit('.').next().unwrap().to_string();
    let rsa_n = unb64(A2_N);
    let a3 = unb64(A3_SIGNATURE);
    let cognito =
        |token_use: Value| validator(json!({"type": "COGNITO_USER_POOLS", "token_use": token_use}));
    vec![
        // The algorithm comes from the key, never from the token.
        case(
            "alg none, no signature",
            raw(r#"{"alg":"none","kid":"s1"}"#, &claims(json!({})), ""),
            JwtError::Algorithm,
        ),
        case("no signature", raw(S1, &claims(json!({})), ""), JwtError::Malformed("empty segment")),
        case(
            "alg none, a signature",
            raw(r#"{"alg":"none","kid":"s1"}"#, &claims(json!({})), &good_sig),
            JwtError::Algorithm,
        ),
        case(
            "alg NONE",
            raw(r#"{"alg":"NONE"}"#, &claims(json!({})), &good_sig),
            JwtError::Algorithm,
        ),
        case(
            "alg other than the key's",
            signed(r#"{"alg":"HS512","kid":"s1"}"#, &claims(json!({}))),
            JwtError::Algorithm,
        ),
        case(
            "RS256 key, HS256 token keyed with the RSA modulus",
            hs256(&rsa_n, r#"{"alg":"HS256","kid":"rsa"}"#, &claims(json!({}))),
            JwtError::Algorithm,
        ),
        case(
            "RS256 key, HS256 token keyed with the JWK text",
            hs256(A2_N.as_bytes(), r#"{"alg":"HS256","kid":"rsa"}"#, &claims(json!({}))),
            JwtError::Algorithm,
        ),
        case(
            "RS256 key, HS256 token without kid",
            hs256(&rsa_n, r#"{"alg":"HS256"}"#, &claims(json!({}))),
            JwtError::AmbiguousKey,
        ),
        case(
            "ES256 key, HS256 token",
            hs256(&unb64(A3_X), r#"{"alg":"HS256","kid":"ec"}"#, &claims(json!({}))),
            JwtError::Algorithm,
        ),
        case(
            "ECDSA r = s = 0",
            format!("{}.{RFC_PAYLOAD}.{}", b64(r#"{"alg":"ES256","kid":"ec"}"#), b64([0u8; 64])),
            JwtError::BadSignature,
        ),
        case(
            "ECDSA r, s >= the group order",
            format!("{}.{RFC_PAYLOAD}.{}", b64(r#"{"alg":"ES256","kid":"ec"}"#), b64([0xffu8; 64])),
            JwtError::BadSignature,
        ),
        case(
            "ECDSA signature in DER",
            rfc_token(A3_HEADER, &b64(der(&a3))),
            JwtError::BadSignature,
        ),
        case(
            "RS256 signature truncated",
            rfc_token(A2_HEADER, &b64(&unb64(A2_SIGNATURE)[..250])),
            JwtError::BadSignature,
        ),
        // Keys are ours: by kid from our set, never from a URL or the token itself.
        case(
            "unknown kid",
            signed(r#"{"alg":"HS256","kid":"s3"}"#, &claims(json!({}))),
            JwtError::UnknownKid,
        ),
        case(
            "kid with path traversal",
            signed(r#"{"alg":"HS256","kid":"../../../../dev/null"}"#, &claims(json!({}))),
            JwtError::UnknownKid,
        ),
        case(
            "kid as a URL",
            signed(r#"{"alg":"HS256","kid":"https://evil.example/key"}"#, &claims(json!({}))),
            JwtError::UnknownKid,
        ),
        case(
            "no kid, several keys for the alg",
            signed(r#"{"alg":"HS256"}"#, &claims(json!({}))),
            JwtError::AmbiguousKey,
        ),
        case(
            "jku header",
            signed(
                r#"{"alg":"HS256","kid":"s1","jku":"https://evil.example/jwks"}"#,
                &claims(json!({})),
            ),
            JwtError::Header("jku"),
        ),
        case(
            "x5u header",
            signed(
                r#"{"alg":"HS256","kid":"s1","x5u":"https://evil.example/cert"}"#,
                &claims(json!({})),
            ),
            JwtError::Header("x5u"),
        ),
        case(
            "embedded jwk",
            hs256(
                b"attacker-secret-attacker-secret!",
                &format!(
                    r#"{{"alg":"HS256","jwk":{{"kty":"oct","k":"{}"}}}}"#,
                    b64("attacker-secret-attacker-secret!")
                ),
                &claims(json!({})),
            ),
            JwtError::Header("jwk"),
        ),
        case(
            "x5c header",
            signed(r#"{"alg":"HS256","kid":"s1","x5c":["MIIBIjANBgkq"]}"#, &claims(json!({}))),
            JwtError::Header("x5c"),
        ),
        case(
            "unknown crit",
            signed(
                r#"{"alg":"HS256","kid":"s1","crit":["http://example.com/ext"],"http://example.com/ext":true}"#,
                &claims(json!({})),
            ),
            JwtError::Header("crit"),
        ),
        case(
            "b64 false via crit",
            signed(r#"{"alg":"HS256","kid":"s1","b64":false,"crit":["b64"]}"#, &claims(json!({}))),
            JwtError::Header("crit"),
        ),
        case(
            "duplicate alg in the header",
            signed(r#"{"alg":"HS256","kid":"s1","alg":"none"}"#, &claims(json!({}))),
            JwtError::Malformed("duplicate header member"),
        ),
        case(
            "nested JWT",
            signed(r#"{"alg":"HS256","kid":"s1","cty":"JWT"}"#, &claims(json!({}))),
            JwtError::Malformed("nested JWT (cty)"),
        ),
        // Signatures.
        case("wrong secret", hs256(&[9u8; 32], S1, &claims(json!({}))), JwtError::BadSignature),
        case(
            "claims changed after signing",
            raw(S1, &claims(json!({"sub": "admin"})), &good_sig),
            JwtError::BadSignature,
        ),
        case(
            "header changed after signing",
            raw(r#"{"alg":"HS256","kid":"s1","typ":"JWT"}"#, &claims(json!({})), &good_sig),
            JwtError::BadSignature,
        ),
        case(
            "RFC A.2 with a later exp",
            format!("{A2_HEADER}.{}.{A2_SIGNATURE}", b64(r#"{"iss":"joe","exp":2000000000}"#)),
            JwtError::BadSignature,
        ),
        // Time, issuer, audience, token kind, scope.
        case("expired", signed(S1, &claims(json!({"exp": NOW}))), JwtError::Expired),
        case(
            "nbf in the future",
            signed(S1, &claims(json!({"nbf": NOW + 60}))),
            JwtError::NotYetValid,
        ),
        case(
            "iat in the future",
            signed(S1, &claims(json!({"iat": NOW + 60}))),
            JwtError::IssuedInFuture,
        ),
        Case { now: NOW + 3600, ..case("expired at exactly exp", good.clone(), JwtError::Expired) },
        case(
            "no exp",
            signed(S1, &json!({"iss": "joe"}).to_string()),
            JwtError::Malformed("no exp"),
        ),
        case(
            "exp as a string",
            signed(S1, &claims(json!({"exp": (NOW + 60).to_string()}))),
            JwtError::Malformed("a claim of the wrong type"),
        ),
        case("wrong issuer", signed(S1, &claims(json!({"iss": "mallory"}))), JwtError::Issuer),
        case("no issuer", signed(S1, &json!({"exp": NOW + 60}).to_string()), JwtError::Issuer),
        Case {
            validator: validator(json!({"audiences": ["api"]})),
            ..case(
                "wrong audience",
                signed(S1, &claims(json!({"aud": "other-api"}))),
                JwtError::Audience,
            )
        },
        Case {
            validator: cognito(json!("access")),
            ..case(
                "id token where access is required",
                signed(S1, &claims(json!({"token_use": "id"}))),
                JwtError::TokenUse,
            )
        },
        Case {
            validator: cognito(Value::Null),
            ..case("Cognito token without token_use", good.clone(), JwtError::TokenUse)
        },
        Case {
            scopes: &["pets/write"],
            ..case(
                "missing scope",
                signed(S1, &claims(json!({"scope": "pets/read"}))),
                JwtError::Scope,
            )
        },
        // Shape.
        case(
            "truncated to two segments",
            good.rsplit_once('.').unwrap().0.to_string(),
            JwtError::Malformed("not three segments"),
        ),
        case(
            "four segments",
            format!("{good}.{good_sig}"),
            JwtError::Malformed("not three segments"),
        ),
        case("truncated signature", good[..good.len() - 3].to_string(), JwtError::BadSignature),
        case(
            "trailing bits set",
            format!("{}B", &good[..good.len() - 1]),
            JwtError::Malformed("bad base64url"),
        ),
        case("padding", format!("{good}="), JwtError::Malformed("not base64url")),
        case(
            "standard base64 alphabet",
            good.replacen('.', ".+", 1),
            JwtError::Malformed("not base64url"),
        ),
        case(
            "whitespace inside",
            good.replacen('.', ". ", 1),
            JwtError::Malformed("not base64url"),
        ),
        case(
            "oversized",
            signed(S1, &claims(json!({"pad": "x".repeat(MAX_TOKEN_BYTES)}))),
            JwtError::TooLarge,
        ),
        case(
            "duplicate exp",
            signed(S1, &format!(r#"{{"iss":"joe","exp":{},"exp":{}}}"#, NOW - 1, NOW + 60)),
            JwtError::Malformed("duplicate claim"),
        ),
        case(
            "duplicate member deep inside",
            signed(S1, &format!(r#"{{"iss":"joe","exp":{},"x":{{"a":1,"a":2}}}}"#, NOW + 60)),
            JwtError::Malformed("duplicate claim"),
        ),
        case(
            "payload not JSON",
            signed(S1, "iss=joe"),
            JwtError::Malformed("claims are not a JSON object"),
        ),
        case(
            "payload a JSON array",
            signed(S1, "[1,2]"),
            JwtError::Malformed("claims are not a JSON object"),
        ),
        case(
            "header not JSON",
            raw("alg=HS256", &claims(json!({})), &good_sig),
            JwtError::Malformed("header is not a JSON object"),
        ),
        case("empty", String::new(), JwtError::Missing),
    ]
}

#[test]
fn the_control_token_passes() {
    let token = signed(S1, &claims(json!({"scope": "pets/read", "aud": "api"})));
    let v = validator(json!({"audiences": ["api"]}));
    let t = verify(token.as_bytes(), &keys(), &v, NOW).unwrap();
    assert_eq!(check_scopes(&t, &["pets/read".to_string()]), Ok(()));
    assert_eq!(t.sub.as_deref(), Some("alice"));
}

#[test]
fn every_attack_is_refused_for_its_reason() {
    let keys = keys();
    let table = table();
    assert!(table.len() >= 15);
    let mut wrong = Vec::new();
    for c in &table {
        let scopes: Vec<String> = c.scopes.iter().map(|s| s.to_string()).collect();
        let got = verify(c.token.as_bytes(), &keys, &c.validator, c.now)
            .and_then(|t| check_scopes(&t, &scopes).map(|()| t));
        if got.as_ref().err() != Some(&c.want) {
            wrong.push(format!("{}: got {got:?}, want {:?}", c.name, c.want));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn refusals_map_to_aws_responses() {
    for c in table() {
        let (status, message) = (c.want.status(), c.want.message());
        match c.want {
            JwtError::Scope => {
                assert_eq!((status, message), (401, "Unauthorized"))
            }
            JwtError::Expired => {
                assert_eq!((status, message), (401, "The incoming token has expired"))
            }
            _ => assert_eq!((status, message), (401, "Unauthorized"), "{}", c.name),
        }
    }
}
