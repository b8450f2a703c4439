//! Known answers: the RFC 7515 appendix A tokens verify with their keys, and tokens signed by
//! jwt-simple verify with their JWKs, for every algorithm family.

use serde_json::{json, Value};

use super::test_keys::*;
use super::*;
use crate::test_support::test;

fn rfc_validator() -> Validator {
    validator(json!({}))
}

#[test]
fn rfc_7515_a1_a2_a3_verify() {
    let set = key_set(&rfc_jwks());
    for (name, header, signature) in [
        ("A.1 HS256", A1_HEADER, A1_SIGNATURE),
        ("A.2 RS256", A2_HEADER, A2_SIGNATURE),
        ("A.3 ES256", A3_HEADER, A3_SIGNATURE),
    ] {
        let token = rfc_token(header, signature);
        // No kid: the one key of the set for the token's algorithm.
        let t = verify(token.as_bytes(), &set, &rfc_validator(), RFC_NOW)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(t.exp, Some(RFC_EXP), "{name}");
        assert_eq!(t.sub, None);
        assert_eq!(t.claims.get("iss"), Some(&json!("joe")));
        assert_eq!(t.claims.get("http://example.com/is_root"), Some(&json!(true)));
        assert!(t.scopes.is_empty());
    }
}

#[test]
fn rfc_vectors_expire_with_leeway() {
    let set = key_set(&rfc_jwks());
    let token = rfc_token(A2_HEADER, A2_SIGNATURE);
    let v = rfc_validator();
    assert!(verify(token.as_bytes(), &set, &v, RFC_EXP - 1).is_ok());
    assert_eq!(verify(token.as_bytes(), &set, &v, RFC_EXP).unwrap_err(), JwtError::Expired);
    let lenient = validator(json!({"leeway_seconds": 300}));
    assert!(verify(token.as_bytes(), &set, &lenient, RFC_EXP + 299).is_ok());
    assert_eq!(
        verify(token.as_bytes(), &set, &lenient, RFC_EXP + 300).unwrap_err(),
        JwtError::Expired
    );
}

#[test]
fn rfc_vectors_with_the_wrong_key_or_claims_fail() {
    // A.2 against a set holding only the A.3 key: no key for RS256.
    let ec_only = one_key(json!({"kty": "EC", "crv": "P-256", "x": A3_X, "y": A3_Y}));
    let token = rfc_token(A2_HEADER, A2_SIGNATURE);
    assert_eq!(
        verify(token.as_bytes(), &ec_only, &rfc_validator(), RFC_NOW).unwrap_err(),
        JwtError::Algorithm
    );
    // A.1's signature under another secret.
    let other = one_key(json!({"kty": "oct", "alg": "HS256", "k": b64([7u8; 64])}));
    let token = rfc_token(A1_HEADER, A1_SIGNATURE);
    assert_eq!(
        verify(token.as_bytes(), &other, &rfc_validator(), RFC_NOW).unwrap_err(),
        JwtError::BadSignature
    );
    // Right signature, an issuer the authorizer does not accept.
    let set = key_set(&rfc_jwks());
    let strict = validator(json!({"issuers": ["https://issuer.example"]}));
    let token = rfc_token(A3_HEADER, A3_SIGNATURE);
    assert_eq!(verify(token.as_bytes(), &set, &strict, RFC_NOW).unwrap_err(), JwtError::Issuer);
}

#[test]
fn every_rfc_signature_byte_matters() {
    let set = key_set(&rfc_jwks());
    for (header, signature) in
        [(A1_HEADER, A1_SIGNATURE), (A2_HEADER, A2_SIGNATURE), (A3_HEADER, A3_SIGNATURE)]
    {
        let mut sig = unb64(signature);
        for i in [0, sig.len() / 2, sig.len() - 1] {
            sig[i] ^= 1;
            let token = rfc_token(header, &b64(&sig));
            assert_eq!(
                verify(token.as_bytes(), &set, &rfc_validator(), RFC_NOW).unwrap_err(),
                JwtError::BadSignature,
                "{header} byte {i}"
            );
            sig[i] ^= 1;
        }
    }
}

fn tamper_payload(token: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    let claims = json!({"iss": "joe", "sub": "mallory", "exp": NOW + 3600}).to_string();
    let forged = b64(claims);
    parts[1] = &forged;
    parts.join(".")
}

#[test]
fn minted_tokens_verify_for_every_algorithm() {
    for signer in Signer::all("k1") {
        let name = signer.name();
        let set = one_key(signer.jwk("k1"));
        let token = signer.sign(&good_claims());
        let t = verify(token.as_bytes(), &set, &validator(json!({})), NOW)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(t.sub.as_deref(), Some("alice"), "{name}");
        assert_eq!(t.exp, Some(NOW + 3600));
        // Claims changed after signing.
        assert_eq!(
            verify(tamper_payload(&token).as_bytes(), &set, &validator(json!({})), NOW)
                .unwrap_err(),
            JwtError::BadSignature,
            "{name}"
        );
        // A key of the same kind under the same kid.
        let other = Signer::all("k1").into_iter().find(|s| s.name() == name).unwrap();
        if !matches!(other, Signer::Rs256(_) | Signer::Ps256(_)) {
            let other_set = one_key(other.jwk("k1"));
            assert_eq!(
                verify(token.as_bytes(), &other_set, &validator(json!({})), NOW).unwrap_err(),
                JwtError::BadSignature,
                "{name}"
            );
        }
    }
}

#[test]
fn rsa_keys_are_pinned_to_pkcs1_or_pss() {
    let signers = Signer::all("k1");
    let (rs, ps) = (&signers[0], &signers[1]);
    // The same modulus, published for RS256: a PS256 token is refused before any signature
    // check, and the other way round.
    let rs_set = one_key(rs.jwk("k1"));
    let ps_set = one_key(ps.jwk("k1"));
    let v = validator(json!({}));
    assert_eq!(
        verify(ps.sign(&good_claims()).as_bytes(), &rs_set, &v, NOW).unwrap_err(),
        JwtError::Algorithm
    );
    assert_eq!(
        verify(rs.sign(&good_claims()).as_bytes(), &ps_set, &v, NOW).unwrap_err(),
        JwtError::Algorithm
    );
    // The RFC A.2 key under our kid: another RSA key.
    let other = one_key(json!({"kty": "RSA", "kid": "k1", "n": A2_N, "e": "AQAB"}));
    assert_eq!(
        verify(rs.sign(&good_claims()).as_bytes(), &other, &v, NOW).unwrap_err(),
        JwtError::BadSignature
    );
}

#[test]
fn jwt_simple_cannot_read_some_claims_we_refuse_them() {
    // A good signature over claims jwt-simple's own parser refuses (`jti` must be a string):
    // refused, never accepted on our parse alone.
    let set = one_key(secret_jwk("s1"));
    let claims: Value = json!({"iss": "joe", "exp": NOW + 60, "jti": 5});
    let token = hs256(SECRET, r#"{"alg":"HS256","kid":"s1"}"#, &claims.to_string());
    assert!(matches!(
        verify(token.as_bytes(), &set, &validator(json!({})), NOW).unwrap_err(),
        JwtError::Malformed(_)
    ));
}
