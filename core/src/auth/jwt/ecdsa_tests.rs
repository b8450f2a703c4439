//! Our ES256 and ES384 against jwt-simple, which verified them before: tokens it signed, tokens
//! signed here by hand (any header, chosen defects), high-S twins, r and s out of range, wrong
//! lengths, keys off the curve; every verdict compared with what jwt-simple said.

use jwt_simple::prelude::{
    Duration, ECDSAP256PublicKeyLike, ECDSAP384KeyPairLike, ECDSAP384PublicKeyLike, ES256KeyPair,
    ES256PublicKey, ES384KeyPair, ES384PublicKey, NoCustomClaims, UnixTimeStamp,
    VerificationOptions,
};
use p256::elliptic_curve::ops::Reduce;
use p256::elliptic_curve::point::AffineCoordinates;
use p256::elliptic_curve::PrimeField;
use p256::{FieldBytes, ProjectivePoint, Scalar};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::ecdsa::{Es256Key, Es384Key};
use super::test_keys::*;
use super::*;
use crate::test_support::test;

/// The P-256 group order n, big-endian.
const N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];
/// The P-256 field prime p, big-endian.
const P: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
];

fn scalar_of(bytes: &[u8]) -> Scalar {
    <Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::try_from(bytes).unwrap())
}

/// Big-endian `a + b` (no overflow expected) and `a - b` (a >= b), 32 bytes.
fn add(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let v = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = v as u8;
        carry = v >> 8;
    }
    assert_eq!(carry, 0);
    out
}

fn sub(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut v = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(v < 0);
        if v < 0 {
            v += 256;
        }
        out[i] = v as u8;
    }
    assert_eq!(borrow, 0);
    out
}

/// A P-256 key pair for signing by hand: any header, and signatures with chosen defects.
struct HandKey {
    d: Scalar,
    x: Vec<u8>,
    y: Vec<u8>,
}

impl HandKey {
    fn new(seed: u8) -> HandKey {
        let d = scalar_of(&Sha256::digest([seed; 7]));
        let q = (ProjectivePoint::GENERATOR * d).to_affine();
        let sec1 = p256::PublicKey::from_affine(q).unwrap().to_sec1_bytes();
        HandKey { d, x: sec1[1..33].to_vec(), y: sec1[33..].to_vec() }
    }

    fn jwk(&self) -> Value {
        json!({"kty": "EC", "kid": "k", "crv": "P-256", "x": b64(&self.x), "y": b64(&self.y)})
    }

    /// ECDSA of SHA-256(input): r = x(kG) mod n, s = (z + r d) / k, k from a hash of d and
    /// the input.
    fn sign(&self, input: &[u8]) -> [u8; 64] {
        let z = scalar_of(&Sha256::digest(input));
        let k =
            scalar_of(&Sha256::new().chain_update(self.d.to_repr()).chain_update(input).finalize());
        let r = scalar_of(&(ProjectivePoint::GENERATOR * k).to_affine().x());
        let s = (z + r * self.d) * k.invert().unwrap();
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&r.to_repr());
        out[32..].copy_from_slice(&s.to_repr());
        out
    }

    fn token(&self, header: &str, claims: &str) -> String {
        let input = format!("{}.{}", b64(header), b64(claims));
        let signature = self.sign(input.as_bytes());
        format!("{input}.{}", b64(signature))
    }
}

/// A fresh ES256 key pair of jwt-simple.
fn es256_signer() -> Signer {
    Signer::Es256(ES256KeyPair::generate().with_key_id("k"))
}

/// What jwt-simple's `verify_token` said for an ES token, with the options and error mapping
/// `Key::verify_signature` used, then our claims checks.
fn verify_with_jwt_simple(jwk: &Value, token: &str, v: &Validator) -> Result<(), JwtError> {
    let parsed = token::parse(token.as_bytes())?;
    let point =
        [vec![4], unb64(jwk["x"].as_str().unwrap()), unb64(jwk["y"].as_str().unwrap())].concat();
    let options = Some(VerificationOptions {
        accept_future: true,
        time_tolerance: Some(Duration::from_secs(0)),
        artificial_time: Some(UnixTimeStamp::from_secs(0)),
        max_token_length: Some(MAX_TOKEN_BYTES),
        ..VerificationOptions::default()
    });
    let result = match jwk["crv"].as_str() {
        Some("P-256") => ES256PublicKey::from_bytes(&point)
            .unwrap()
            .verify_token::<NoCustomClaims>(token, options)
            .map(drop),
        _ => ES384PublicKey::from_bytes(&point)
            .unwrap()
            .verify_token::<NoCustomClaims>(token, options)
            .map(drop),
    };
    result.map_err(|e| {
        if e.downcast_ref::<serde_json::Error>().is_some() {
            JwtError::Malformed("a claim of the wrong type")
        } else {
            JwtError::BadSignature
        }
    })?;
    v.validate(parsed.claims, NOW).map(drop)
}

/// Ours and jwt-simple's verdicts on a token, which must agree.
fn both(jwk: &Value, token: &str) -> Result<(), JwtError> {
    let v = validator(json!({}));
    let ours = verify(token.as_bytes(), &one_key(jwk.clone()), &v, NOW).map(drop);
    assert_eq!(ours, verify_with_jwt_simple(jwk, token, &v), "{token:.60}");
    ours
}

/// The token with another signature.
fn resigned(token: &str, signature: &[u8]) -> String {
    let (input, _) = token.rsplit_once('.').unwrap();
    format!("{input}.{}", b64(signature))
}

fn signature(token: &str) -> Vec<u8> {
    unb64(token.rsplit_once('.').unwrap().1)
}

/// The same signature with s replaced by n - s.
fn high_s_twin(signature: &[u8]) -> Vec<u8> {
    let (r, s) = signature.split_at(32);
    let s = Scalar::from_repr(FieldBytes::try_from(s).unwrap()).unwrap();
    [r, &(-s).to_repr()[..]].concat()
}

#[test]
fn jwt_simple_es256_tokens_verify_and_every_flipped_bit_fails() {
    for _ in 0..3 {
        let signer = es256_signer();
        let jwk = signer.jwk("k");
        let token = signer.sign(&good_claims());
        assert_eq!(both(&jwk, &token), Ok(()));
        let good = signature(&token);
        for bit in [0, 7, 100, 255, 256, 263, 300, 511] {
            let mut bad = good.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(both(&jwk, &resigned(&token, &bad)), Err(JwtError::BadSignature), "{bit}");
        }
        // The signature of other claims, and another key's signature.
        let other = signer.sign(&json!({"iss": "joe", "exp": NOW + 60}));
        let (input, _) = other.rsplit_once('.').unwrap();
        let forged = format!("{input}.{}", b64(&good));
        assert_eq!(both(&jwk, &forged), Err(JwtError::BadSignature));
        let stranger = es256_signer();
        assert_eq!(both(&stranger.jwk("k"), &token), Err(JwtError::BadSignature));
    }
}

#[test]
fn high_s_twins_get_jwt_simples_verdict() {
    // ECDSA is malleable: (r, n - s) verifies as (r, s) does. jwt-simple (p256 0.13) accepted
    // it, RFC 7518 does not forbid it, and so do we.
    let signer = es256_signer();
    let jwk = signer.jwk("k");
    let key = HandKey::new(1);
    for (jwk, token) in [
        (jwk, signer.sign(&good_claims())),
        (key.jwk(), key.token(r#"{"alg":"ES256"}"#, &good_claims().to_string())),
    ] {
        let twin = resigned(&token, &high_s_twin(&signature(&token)));
        assert_ne!(twin, token);
        assert_eq!(both(&jwk, &twin), Ok(()));
    }
    let rfc_twin = rfc_token(A3_HEADER, &b64(high_s_twin(&unb64(A3_SIGNATURE))));
    let set = key_set(&rfc_jwks());
    assert!(verify(rfc_twin.as_bytes(), &set, &validator(json!({})), RFC_NOW).is_ok());
}

#[test]
fn r_or_s_zero_or_not_below_n_fails() {
    let key = HandKey::new(2);
    let jwk = key.jwk();
    let token = key.token(r#"{"alg":"ES256","kid":"k"}"#, &good_claims().to_string());
    assert_eq!(both(&jwk, &token), Ok(()));
    let good = signature(&token);
    let (r, s) = good.split_at(32);
    let one = {
        let mut one = [0u8; 32];
        one[31] = 1;
        one
    };
    let zero = [0u8; 32];
    let ones = [0xffu8; 32];
    let mut cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
        ("r = 0", zero.to_vec(), s.to_vec()),
        ("s = 0", r.to_vec(), zero.to_vec()),
        ("r = n", N.to_vec(), s.to_vec()),
        ("s = n", r.to_vec(), N.to_vec()),
        ("r = n + 1", add(&N, &one), s.to_vec()),
        ("s = n + 1", r.to_vec(), add(&N, &one)),
        ("r = 2^256 - 1", ones.to_vec(), s.to_vec()),
        ("s = 2^256 - 1", r.to_vec(), ones.to_vec()),
        ("r = n - 1", sub(&N, &one), s.to_vec()),
        ("s = n - 1", r.to_vec(), sub(&N, &one)),
    ];
    // r + n names the same x as r when x(R) >= n; as a number it is not below n.
    if sub(&ones, &N).as_slice() >= r {
        cases.push(("r + n", add(r, &N), s.to_vec()));
    }
    // s + n where it fits in 32 bytes.
    if sub(&ones, &N).as_slice() >= s {
        cases.push(("s + n", r.to_vec(), add(s, &N)));
    }
    for (name, r, s) in cases {
        let bad = [r, s].concat();
        assert_eq!(both(&jwk, &resigned(&token, &bad)), Err(JwtError::BadSignature), "{name}");
    }
}

#[test]
fn signatures_of_the_wrong_length_fail() {
    let key = HandKey::new(3);
    let jwk = key.jwk();
    let token = key.token(r#"{"alg":"ES256"}"#, &good_claims().to_string());
    let good = signature(&token);
    let der_like =
        [&[0x30, 0x44, 0x02, 0x20][..], &good[..32], &[0x02, 0x20], &good[32..]].concat();
    for bad in [
        good[..63].to_vec(),
        [&good[..], &[0]].concat(),
        [&[0], &good[..]].concat(),
        good[..32].to_vec(),
        [&good[..], &good[..32]].concat(),
        der_like,
    ] {
        assert_eq!(
            both(&jwk, &resigned(&token, &bad)),
            Err(JwtError::BadSignature),
            "{}",
            bad.len()
        );
    }
    // The verifier itself, past the key's length check.
    let es256 = Es256Key::new(&key.x, &key.y).unwrap();
    let (input, _) = token.rsplit_once('.').unwrap();
    assert!(es256.verify(input.as_bytes(), &good));
    for len in [0, 1, 32, 63, 65, 96] {
        let bad: Vec<u8> = good.iter().copied().cycle().take(len).collect();
        assert!(!es256.verify(input.as_bytes(), &bad), "{len}");
    }
}

#[test]
fn es_tokens_are_refused_as_jwt_simple_refused_them() {
    let key = HandKey::new(4);
    let jwk = key.jwk();
    let good = json!({"iss": "joe", "exp": NOW + 60});
    let with = |extra: Value| {
        let mut claims = good.clone();
        claims.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap());
        claims
    };
    let wrong_type = Err(JwtError::Malformed("a claim of the wrong type"));
    for (name, header, claims, want) in [
        ("good", r#"{"alg":"ES256"}"#, good.clone(), Ok(())),
        ("typ at+jwt", r#"{"alg":"ES256","typ":"at+jwt","kid":"k"}"#, good.clone(), Ok(())),
        ("a numeric jti", r#"{"alg":"ES256"}"#, with(json!({"jti": 5})), wrong_type),
        ("exp null", r#"{"alg":"ES256"}"#, with(json!({"exp": null})), wrong_type),
        ("exp past", r#"{"alg":"ES256"}"#, with(json!({"exp": NOW - 1})), Err(JwtError::Expired)),
        ("a numeric x5t", r#"{"alg":"ES256","x5t":5}"#, good.clone(), wrong_type),
        ("x5t#S256 an object", r#"{"alg":"ES256","x5t#S256":{}}"#, good.clone(), wrong_type),
        ("salt a number", r#"{"alg":"ES256","salt":1}"#, good.clone(), wrong_type),
        (
            "salt not base64url",
            r#"{"alg":"ES256","salt":"a+b"}"#,
            good.clone(),
            Err(JwtError::BadSignature),
        ),
        ("salt base64url", r#"{"alg":"ES256","salt":"c2FsdA","x5t":null}"#, good.clone(), Ok(())),
    ] {
        let token = key.token(header, &claims.to_string());
        assert_eq!(both(&jwk, &token), want, "{name}");
        // A wrong type found before the signature check still wins over a bad signature.
        let forged = resigned(&token, &[&[0u8; 31][..], &[1], &signature(&token)[32..]].concat());
        both(&jwk, &forged).unwrap_err();
    }
}

#[test]
fn keys_off_the_curve_are_refused() {
    let key = HandKey::new(5);
    let (x, y) = (key.x.clone(), key.y.clone());
    let mut y_flipped = y.clone();
    y_flipped[31] ^= 1;
    let y_plus_p =
        if sub(&[0xff; 32], &P).as_slice() >= y.as_slice() { Some(add(&y, &P)) } else { None };
    let mut cases = vec![
        ("y with a bit flipped", x.clone(), y_flipped),
        ("x and y swapped", y.clone(), x.clone()),
        ("the origin", vec![0; 32], vec![0; 32]),
        ("x = p", P.to_vec(), y.clone()),
        ("x and y all ones", vec![0xff; 32], vec![0xff; 32]),
    ];
    if let Some(y_plus_p) = y_plus_p {
        cases.push(("y + p", x.clone(), y_plus_p));
    }
    for (name, x, y) in cases {
        assert!(Es256Key::new(&x, &y).is_none(), "{name}");
        assert!(ES256PublicKey::from_bytes(&[&[4][..], &x, &y].concat()).is_err(), "{name}");
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(&x), "y": b64(&y)});
        let doc = json!({"keys": [jwk, secret_jwk("ok")]}).to_string();
        let set = KeySet::from_jwks_json(doc.as_bytes()).unwrap();
        assert_eq!(set.len(), 1, "{name}");
        assert!(
            set.skipped()[0].contains("not a point of the curve"),
            "{name}: {:?}",
            set.skipped()
        );
    }
    // (x, p - y) is the negated point: a key, another one.
    let negated = sub(&P, &y);
    assert!(Es256Key::new(&x, &negated).is_some());
    let token = key.token(r#"{"alg":"ES256"}"#, &good_claims().to_string());
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(&x), "y": b64(&negated)});
    assert_eq!(both(&jwk, &token), Err(JwtError::BadSignature));
    assert_eq!(both(&key.jwk(), &token), Ok(()));
}

#[test]
fn es384_tokens_from_jwt_simple_verify_and_defects_fail() {
    let pair = ES384KeyPair::generate();
    let point = pair.public_key().public_key().to_bytes_uncompressed();
    let (x, y) = point[1..].split_at(48);
    let jwk = json!({"kty": "EC", "crv": "P-384", "x": b64(x), "y": b64(y)});
    let claims = jwt_simple::prelude::Claims::create(Duration::from_secs(60))
        .with_issuer("joe")
        .with_subject("alice");
    let mut claims = claims;
    claims.issued_at = None;
    claims.expires_at = Some(UnixTimeStamp::from_secs((NOW + 60) as u64));
    let token = pair.sign(claims).unwrap();
    assert_eq!(both(&jwk, &token), Ok(()));
    let good = signature(&token);
    assert_eq!(good.len(), 96);
    for bit in [0, 383, 384, 767] {
        let mut bad = good.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(both(&jwk, &resigned(&token, &bad)), Err(JwtError::BadSignature), "{bit}");
    }
    for bad in [vec![0u8; 96], vec![0xffu8; 96], [&good[..48], &[0u8; 48][..]].concat()] {
        assert_eq!(both(&jwk, &resigned(&token, &bad)), Err(JwtError::BadSignature));
    }
    // The high-S twin, s' = n - s over P-384's order, as jwt-simple judged it.
    let s = p384::Scalar::from_repr(p384::FieldBytes::try_from(&good[48..]).unwrap()).unwrap();
    let twin = [&good[..48], &(-s).to_repr()[..]].concat();
    assert_eq!(both(&jwk, &resigned(&token, &twin)), Ok(()));
    // The verifier itself, and an off-curve key.
    let (input, _) = token.rsplit_once('.').unwrap();
    let es384 = Es384Key::new(x, y).unwrap();
    assert!(es384.verify(input.as_bytes(), &good));
    assert!(!es384.verify(input.as_bytes(), &good[..95]));
    let mut off = y.to_vec();
    off[47] ^= 1;
    assert!(Es384Key::new(x, &off).is_none());
    assert!(!bool::from(s.is_zero()));
}
