//! Minting JWTs and serving JWKS for the token-authorizer tests: claims written as JSON, tokens
//! signed with `jwt-simple`, public keys turned into JWKs, key sets written where the files
//! upstream (`tollgate-upstream --mode files`) serves them.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use jwt_simple::prelude::{ECDSAP256PublicKeyLike, ES256KeyPair, JWTClaims, RS256KeyPair};
use jwt_simple::reexports::ct_codecs::{Base64UrlSafeNoPadding, Decoder, Encoder};
use serde_json::{json, Map, Value};

/// A throwaway RSA key (see `tests/data/README.md`): generating one in a debug build is slow.
pub const TEST_RSA_PEM: &str = include_str!("../data/test-only-rsa-2048.pem");

/// The test-only RSA key as an RS256 signer naming `kid`.
pub fn test_rsa_key(kid: &str) -> RS256KeyPair {
    RS256KeyPair::from_pem(TEST_RSA_PEM).expect("test RSA key").with_key_id(kid)
}

pub fn b64(bytes: &[u8]) -> String {
    Base64UrlSafeNoPadding::encode_to_string(bytes).expect("base64url")
}

pub fn b64_decode(text: &str) -> Vec<u8> {
    Base64UrlSafeNoPadding::decode_to_vec(text, None).expect("base64url")
}

/// Unix seconds now.
pub fn now() -> i64 {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    i64::try_from(secs).expect("seconds")
}

/// The registered and custom claims of `payload` (`iat`, `exp`, `aud`, ... in JSON form), for
/// `jwt-simple`'s `sign` / `authenticate`.
pub fn claims(payload: &Value) -> JWTClaims<Map<String, Value>> {
    serde_json::from_value(payload.clone()).expect("claims")
}

/// `base` with `changes` applied: a `null` removes the claim.
pub fn with(base: Value, changes: Value) -> Value {
    let mut out = base;
    for (name, value) in changes.as_object().expect("changes").clone() {
        if value.is_null() {
            out.as_object_mut().expect("payload").remove(&name);
        } else {
            out[name] = value;
        }
    }
    out
}

/// An unsigned token (`alg: none`) naming `kid`.
pub fn unsigned(payload: &Value, kid: &str) -> String {
    let header = json!({"alg": "none", "typ": "JWT", "kid": kid});
    format!("{}.{}.", b64(header.to_string().as_bytes()), b64(payload.to_string().as_bytes()))
}

/// The public half of an RS256 key as a JWK.
pub fn rsa_jwk(key: &RS256KeyPair, kid: &str) -> Value {
    let c = key.public_key().to_components();
    json!({"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": b64(&c.n), "e": b64(&c.e)})
}

/// The public half of an ES256 key as a JWK.
pub fn es256_jwk(key: &ES256KeyPair, kid: &str) -> Value {
    let point = key.public_key().public_key().to_bytes_uncompressed();
    assert_eq!((point.len(), point[0]), (65, 4), "uncompressed P-256 point");
    json!({"kty": "EC", "kid": kid, "alg": "ES256", "use": "sig", "crv": "P-256",
           "x": b64(&point[1..33]), "y": b64(&point[33..])})
}

/// Writes the key set `{"keys": keys}` to `path`, atomically (a server never serves half a
/// file), creating its directories.
pub fn write_jwks(path: &Path, keys: &[Value]) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("jwks dir");
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, json!({ "keys": keys }).to_string()).expect("write jwks");
    std::fs::rename(&tmp, path).expect("move jwks");
}
