//! Test material: the RFC 7515 appendix A examples, tokens made with HMAC by hand (any header we
//! like, correctly signed), and tokens signed by jwt-simple.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use jwt_simple::prelude::*;
use serde_json::{json, Map, Value};
use sha2::Sha256;

use super::{JwtAuthorizerConfig, KeySet, Validator};

/// RFC 7515 A.1-A.3 share these claims: `{"iss":"joe", "exp":1300819380, ...}`.
pub const RFC_PAYLOAD: &str =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
/// Before the RFC tokens' `exp`.
pub const RFC_NOW: i64 = 1_300_819_000;
pub const RFC_EXP: i64 = 1_300_819_380;

/// RFC 7515 A.1: HS256 (header `{"typ":"JWT",\r\n "alg":"HS256"}`).
pub const A1_HEADER: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
pub const A1_SIGNATURE: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const A1_K: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

/// RFC 7515 A.2: RS256 (header `{"alg":"RS256"}`).
pub const A2_HEADER: &str = "eyJhbGciOiJSUzI1NiJ9";
pub const A2_SIGNATURE: &str = "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
pub const A2_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";

/// RFC 7515 A.3: ES256 (header `{"alg":"ES256"}`), R || S.
pub const A3_HEADER: &str = "eyJhbGciOiJFUzI1NiJ9";
pub const A3_SIGNATURE: &str =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
pub const A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
pub const A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

/// A 2048-bit RSA key made for these tests only (key generation is slow in debug builds).
pub const TEST_RSA_PEM: &str = "-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAv+EmkO0yTkut2CmKLUtLcXQoygcFplVi4mdyH0tDwiVA6c2m
lBm18o/+hoHsKXAWm690VHzI92/Azpfl+NUD9kSL4TihP6BeNYKXbki0PWL3Dub6
lmL4EQW68IWDu0s6CKDUE27AXSJGU2PEzvR8e1YeB79ryGWdT1SiS0/N0j78jYag
Koanxi/+F6zPOGc9astMZlADZt+x795cNeGAByDbtORbtgI3wHlw/9VpmX6DaVxO
wQcvUdBIRh0pMxqSLq0RMaloN4vQWoH5kq+41U+F3PiGOXzgeq9kxRu68ESYiPX8
jKeVrUJfRO1HUTySm8ynUvLNO+1mbg66L2VYEwIDAQABAoIBAAjX6yudywZBxarj
SzuIL1t0w5aAGVoPsGWH6AIaOW6+wc2kzUshHjomOdBgN463XEtjnERyld6Vl3jO
FmrQAoU8pofEUOY6UW087hbGogv8Pi/BJIZ+3DkInxOLy8T7lBqmsu+MWLBSLpSU
UhNJwFz83Jh10ZVkXYo099/pty475YDiMLwMXnfwuITYe+mmPeRForTeGaX+XzFw
U+DSWjMjcxQT0fpES5k6WTSvOuR037RYwrhE3gD6VV6dLxkNljKl41a8KZJfQ5uW
ajD0fMDwPI2Qnfb+7oFqKoAeyEagah2j5X3YL26BgF2woXkYdIMwa/19Q62mgOHj
BkzPhzkCgYEA3mKT1L6Ek+TNRHGpxqAPq6LX8TXoQd34ADTAuuOqZehSnChfclet
FO/DwtdEjOEOU89iYSfxLyJWbK9ehpPFVkWNqdBXlVpmeRcX0M+6GNMoNs5IVz3Z
bZUuYQkJ9m//uN0FhUKPaV1FwF5uxqrFZJ3Vu/AKP0mqCQhpPULgUIsCgYEA3OIg
zl46Dm4PwRnptmojUKV0Dqfh+FzfoHUFs96iJQ3tStGlEjZuvkChz6IxjLJbEYmU
TV4hzQHOqtE4c5BQ2RE/Gl7clSjuFTXEcPDWtuX5PuLbG+dZPxUUMol9VFYsJbdh
ThQXTVmyYww1xQcXZfW/urPelOdFpoHAFb/pP5kCgYEAnx4RgGtBGUDgzlQ1kfT8
wWYm9GQJ5vcXd65HKHG1fm0Yjrskb//jy9MyUrsMRXDSe40razDVFVCQXfususYI
sI3bquFziV3BbGrlk3bOROzxHSXEBQgwBoRzRuLcygOhCXi7dnoFevJN8jKfOG8A
BdoZD/vUmSvwCb6G7lpnfbkCgYAx25T+IATIxw0lUD0R4MlR5dbZjAmUrxoHNQLx
g9pjtM4QKlwxTToYFaywmnLGyGeIAN8Jy6qjhLnqkslERJoLNTpiMHFn9dIv1XAe
8i31INnu2PQOS104wQBLG/+/LqhOZyM+pYhQ/GMoulPUwnIEoMEDWqBuSfnNyNHb
1vLGWQKBgBkRGClmg0e40y8PEfPdEebjLBN+63neyRQ7qw+x48kyetMfoJJKGBNn
Cv7MnDkHVlDyU0+aw632m9wup4hz3mj2w1hVT928ZEYgUqpOsH93QANhsM2yMEUX
aLJCdtmhboFtsBAM4r9+5DJRO9zkCQaqiNP+eqGTB0ENeIdo6jJG
-----END RSA PRIVATE KEY-----";

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

pub fn rfc_token(header: &str, signature: &str) -> String {
    format!("{header}.{RFC_PAYLOAD}.{signature}")
}

/// The RFC keys in one set, with kids: `hmac` (A.1), `rsa` (A.2, no alg: RS256), `ec` (A.3).
pub fn rfc_jwks() -> Value {
    json!({"keys": [
        {"kty": "oct", "kid": "hmac", "alg": "HS256", "k": A1_K},
        {"kty": "RSA", "kid": "rsa", "use": "sig", "n": A2_N, "e": "AQAB"},
        {"kty": "EC", "kid": "ec", "crv": "P-256", "x": A3_X, "y": A3_Y},
    ]})
}

pub fn key_set(jwks: &Value) -> KeySet {
    KeySet::from_jwks_json(jwks.to_string().as_bytes()).unwrap()
}

/// A single-key set.
pub fn one_key(jwk: Value) -> KeySet {
    key_set(&json!({ "keys": [jwk] }))
}

/// A JWT authorizer; `extra` members are merged into the config.
pub fn validator(extra: Value) -> Validator {
    let mut cfg = json!({"id": "a", "type": "JWT", "issuers": ["joe"], "jwks": {"keys": []}});
    if let (Some(cfg), Value::Object(extra)) = (cfg.as_object_mut(), extra) {
        cfg.extend(extra);
    }
    let cfg: JwtAuthorizerConfig = serde_json::from_value(cfg).unwrap();
    Validator::compile(&cfg, "authorizers[0]").unwrap()
}

/// A shared secret of 32 bytes and its JWK.
pub const SECRET: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

pub fn secret_jwk(kid: &str) -> Value {
    json!({"kty": "oct", "kid": kid, "alg": "HS256", "k": b64(SECRET)})
}

/// `header.claims.HMAC-SHA256(key)` over exactly these JSON texts.
pub fn hs256(key: &[u8], header: &str, claims: &str) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(mac.finalize().into_bytes()))
}

/// Claims of a valid token at `NOW` for [`validator`]'s issuer.
pub const NOW: i64 = 1_800_000_000;

pub fn good_claims() -> Value {
    json!({"iss": "joe", "sub": "alice", "iat": NOW - 10, "exp": NOW + 3600})
}

/// The claims as a map, for jwt-simple.
fn custom(claims: &Value) -> Map<String, Value> {
    claims.as_object().cloned().unwrap()
}

/// jwt-simple's claims with only ours (it would add its own times).
fn simple_claims(claims: &Value) -> JWTClaims<Map<String, Value>> {
    let mut c = Claims::with_custom_claims(custom(claims), Duration::from_secs(60));
    c.issued_at = None;
    c.expires_at = None;
    c.invalid_before = None;
    c
}

/// A key pair of jwt-simple for one algorithm, with its public JWK.
pub enum Signer {
    Rs256(RS256KeyPair),
    Ps256(PS256KeyPair),
    Es256(ES256KeyPair),
    EdDsa(Ed25519KeyPair),
    Hs256(HS256Key),
}

impl Signer {
    pub fn all(kid: &str) -> Vec<Signer> {
        vec![
            Signer::Rs256(RS256KeyPair::from_pem(TEST_RSA_PEM).unwrap().with_key_id(kid)),
            Signer::Ps256(PS256KeyPair::from_pem(TEST_RSA_PEM).unwrap().with_key_id(kid)),
            Signer::Es256(ES256KeyPair::generate().with_key_id(kid)),
            Signer::EdDsa(Ed25519KeyPair::generate().with_key_id(kid)),
            Signer::Hs256(HS256Key::generate().with_key_id(kid)),
        ]
    }

    pub fn name(&self) -> &'static str {
        match self {
            Signer::Rs256(_) => "RS256",
            Signer::Ps256(_) => "PS256",
            Signer::Es256(_) => "ES256",
            Signer::EdDsa(_) => "EdDSA",
            Signer::Hs256(_) => "HS256",
        }
    }

    pub fn jwk(&self, kid: &str) -> Value {
        match self {
            Signer::Rs256(k) => {
                let c = k.public_key().to_components();
                json!({"kty": "RSA", "kid": kid, "alg": "RS256", "n": b64(c.n), "e": b64(c.e)})
            }
            Signer::Ps256(k) => {
                let c = k.public_key().to_components();
                json!({"kty": "RSA", "kid": kid, "alg": "PS256", "n": b64(c.n), "e": b64(c.e)})
            }
            Signer::Es256(k) => {
                let point = k.public_key().public_key().to_bytes_uncompressed();
                let (x, y) = point[1..].split_at(32);
                json!({"kty": "EC", "kid": kid, "crv": "P-256", "x": b64(x), "y": b64(y)})
            }
            Signer::EdDsa(k) => {
                json!({"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64(k.public_key().to_bytes())})
            }
            Signer::Hs256(k) => {
                json!({"kty": "oct", "kid": kid, "alg": "HS256", "k": b64(k.to_bytes())})
            }
        }
    }

    pub fn sign(&self, claims: &Value) -> String {
        let c = simple_claims(claims);
        match self {
            Signer::Rs256(k) => k.sign(c),
            Signer::Ps256(k) => k.sign(c),
            Signer::Es256(k) => k.sign(c),
            Signer::EdDsa(k) => k.sign(c),
            Signer::Hs256(k) => k.authenticate(c),
        }
        .unwrap()
    }
}
