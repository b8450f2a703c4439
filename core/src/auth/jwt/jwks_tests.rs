//! JWK Sets: which keys are taken, which are skipped and why, the caps, and key selection.

use serde_json::{json, Value};

use super::test_keys::*;
use super::*;
use crate::test_support::test;

fn parse(jwks: &Value) -> Result<KeySet, String> {
    KeySet::from_jwks_json(jwks.to_string().as_bytes())
}

fn rsa(extra: Value) -> Value {
    let mut jwk = json!({"kty": "RSA", "n": A2_N, "e": "AQAB"});
    jwk.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap());
    jwk
}

#[test]
fn every_supported_kind_compiles_to_its_algorithm() {
    let set = parse(&json!({"keys": [
        rsa(json!({"kid": "r"})),
        rsa(json!({"kid": "r384", "alg": "RS384"})),
        rsa(json!({"kid": "r512", "alg": "RS512"})),
        rsa(json!({"kid": "p256", "alg": "PS256"})),
        rsa(json!({"kid": "p384", "alg": "PS384"})),
        rsa(json!({"kid": "p512", "alg": "PS512"})),
        {"kty": "EC", "kid": "e", "crv": "P-256", "x": A3_X, "y": A3_Y, "alg": "ES256"},
        {"kty": "OKP", "kid": "ed", "crv": "Ed25519",
         "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        {"kty": "oct", "kid": "h256", "alg": "HS256", "k": b64([1u8; 32])},
        {"kty": "oct", "kid": "h384", "alg": "HS384", "k": b64([1u8; 48])},
        {"kty": "oct", "kid": "h512", "alg": "HS512", "k": b64([1u8; 64])},
    ]}))
    .unwrap();
    let algs: Vec<(&str, &str)> = set.keys().map(|k| (k.kid().unwrap(), k.alg().name())).collect();
    assert_eq!(
        algs,
        [
            ("r", "RS256"),
            ("r384", "RS384"),
            ("r512", "RS512"),
            ("p256", "PS256"),
            ("p384", "PS384"),
            ("p512", "PS512"),
            ("e", "ES256"),
            ("ed", "EdDSA"),
            ("h256", "HS256"),
            ("h384", "HS384"),
            ("h512", "HS512"),
        ]
    );
    assert_eq!(set.len(), 11);
    assert!(set.skipped().is_empty());
}

#[test]
fn unusable_keys_are_skipped_with_a_reason() {
    let cases: Vec<(Value, &str)> = vec![
        (rsa(json!({"use": "enc"})), "use is \"enc\""),
        (rsa(json!({"key_ops": ["encrypt"]})), "key_ops"),
        (rsa(json!({"alg": "RSA-OAEP"})), "not supported"),
        (rsa(json!({"alg": "ES256"})), "not for RSA"),
        (rsa(json!({"alg": "none"})), "not supported"),
        (rsa(json!({"n": b64([0xffu8; 128])})), "1024 bits"),
        (rsa(json!({"n": "not base64!"})), "n is not base64url"),
        (rsa(json!({"e": 65537})), "e is not a string"),
        (json!({"kty": "EC", "crv": "P-521", "x": A3_X, "y": A3_Y}), "crv \"P-521\""),
        (json!({"kty": "EC", "crv": "secp256k1", "x": A3_X, "y": A3_Y}), "not supported"),
        (json!({"kty": "EC", "crv": "P-256", "x": A3_X, "y": A3_X}), "not a point"),
        (json!({"kty": "EC", "crv": "P-256", "x": A3_X}), "no y"),
        (json!({"kty": "EC", "crv": "P-256", "x": A3_X, "y": A3_Y, "alg": "ES384"}), "match"),
        (json!({"kty": "OKP", "crv": "X25519", "x": A3_X}), "not supported"),
        (json!({"kty": "OKP", "crv": "Ed25519", "x": b64([1u8; 31])}), "32 bytes"),
        (json!({"kty": "oct", "k": b64([1u8; 32])}), "needs its alg"),
        (json!({"kty": "oct", "alg": "HS256", "k": b64([1u8; 31])}), "at least 32"),
        (json!({"kty": "oct", "alg": "HS512", "k": b64([1u8; 32])}), "at least 64"),
        (json!({"kty": "oct", "alg": "RS256", "k": b64([1u8; 32])}), "not for oct"),
        (json!({"kty": "DSA"}), "kty \"DSA\""),
        (json!({"n": A2_N}), "no kty"),
        (json!("RSA"), "not an object"),
        (rsa(json!({"kid": "k".repeat(300)})), "kid is too long"),
    ];
    for (jwk, why) in cases {
        let set = parse(&json!({"keys": [jwk.clone(), secret_jwk("ok")]})).unwrap();
        assert_eq!(set.len(), 1, "{jwk}");
        assert_eq!(set.skipped().len(), 1, "{jwk}");
        assert!(set.skipped()[0].starts_with("keys[0]: "), "{:?}", set.skipped());
        assert!(set.skipped()[0].contains(why), "{jwk}: {:?} lacks {why:?}", set.skipped());
    }
}

#[test]
fn a_set_without_usable_keys_is_an_error() {
    for (doc, why) in [
        (json!({"keys": []}), "no usable key (empty)"),
        (json!({"keys": [rsa(json!({"use": "enc"}))]}), "use is"),
        (json!({"key": []}), "no `keys` array"),
        (json!({"keys": {}}), "no `keys` array"),
        (json!([]), "not a JSON object"),
    ] {
        let err = parse(&doc).unwrap_err();
        assert!(err.contains(why), "{doc}: {err}");
    }
    let err = KeySet::from_jwks_json(br#"{"keys": [], "keys": []}"#).unwrap_err();
    assert!(err.contains("Duplicate"), "{err}");
}

#[test]
fn caps_on_keys_and_bytes() {
    let keys: Vec<Value> = (0..MAX_KEYS).map(|i| secret_jwk(&format!("k{i}"))).collect();
    assert_eq!(parse(&json!({ "keys": keys })).unwrap().len(), MAX_KEYS);
    let keys: Vec<Value> = (0..=MAX_KEYS).map(|i| secret_jwk(&format!("k{i}"))).collect();
    assert!(parse(&json!({ "keys": keys })).unwrap_err().contains("more than 100"));
    let padding = "x".repeat(MAX_JWKS_BYTES);
    let doc = json!({"keys": [secret_jwk("a")], "padding": padding});
    assert!(parse(&doc).unwrap_err().contains("larger than"));
}

#[test]
fn a_kid_listed_twice_keeps_the_first() {
    let set = parse(&json!({"keys": [
        secret_jwk("k"),
        rsa(json!({"kid": "k"})),
    ]}))
    .unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(set.select(Some("k"), Alg::Hs256).unwrap().alg(), Alg::Hs256);
    assert!(set.skipped()[0].contains("listed twice"));
}

#[test]
fn selection_by_kid_and_algorithm() {
    let set = parse(&json!({"keys": [
        secret_jwk("s1"),
        secret_jwk("s2"),
        rsa(json!({"kid": "r"})),
        {"kty": "EC", "crv": "P-256", "x": A3_X, "y": A3_Y},
    ]}))
    .unwrap();
    assert_eq!(set.select(Some("r"), Alg::Rs256).unwrap().kid(), Some("r"));
    assert_eq!(set.select(Some("r"), Alg::Hs256).unwrap_err(), JwtError::Algorithm);
    assert_eq!(set.select(Some("r"), Alg::Ps256).unwrap_err(), JwtError::Algorithm);
    assert_eq!(set.select(Some("nope"), Alg::Rs256).unwrap_err(), JwtError::UnknownKid);
    assert_eq!(set.select(Some("../../etc/passwd"), Alg::Rs256).unwrap_err(), JwtError::UnknownKid);
    // Without a kid: the only key for the algorithm, else refused.
    assert_eq!(set.select(None, Alg::Rs256).unwrap().kid(), Some("r"));
    assert_eq!(set.select(None, Alg::Es256).unwrap().kid(), None);
    assert_eq!(set.select(None, Alg::Hs256).unwrap_err(), JwtError::AmbiguousKey);
    assert_eq!(set.select(None, Alg::EdDsa).unwrap_err(), JwtError::Algorithm);
    // A key without a kid is never picked by a token's kid.
    assert_eq!(set.select(Some(""), Alg::Es256).unwrap_err(), JwtError::UnknownKid);
}

#[test]
fn padded_base64_in_keys_is_tolerated() {
    let set = parse(
        &json!({"keys": [{"kty": "oct", "alg": "HS256", "k": format!("{}=", b64([1u8; 32]))}]}),
    );
    assert_eq!(set.unwrap().len(), 1);
}

#[test]
fn debug_never_shows_key_material() {
    let set = parse(&json!({"keys": [secret_jwk("s1")]})).unwrap();
    let shown = format!("{set:?}");
    assert!(shown.contains("s1") && shown.contains("Hs256"), "{shown}");
    assert!(!shown.contains("0123456789abcdef"), "{shown}");
    assert!(!shown.contains(&b64(SECRET)), "{shown}");
    assert!(!shown.contains(&format!("{:?}", SECRET.as_slice())), "{shown}");
}
