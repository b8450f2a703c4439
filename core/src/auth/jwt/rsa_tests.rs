//! Our RSASSA-PKCS1-v1_5 against other implementations: RFC 7515 A.2, tokens signed by
//! jwt-simple and by OpenSSL (2056 to 8192 bits, e = 3 and e = 2^33 - 1), encodings that must
//! not pass (a cube-root forgery for e = 3 among them), and the refusals jwt-simple made around
//! its signature check, which RS tokens keep.

use jwt_simple::prelude::{
    Duration, JWTClaims, NoCustomClaims, RS256KeyPair, RS384KeyPair, RS512KeyPair, RSAKeyPairLike,
    RSAPublicKeyLike, UnixTimeStamp, VerificationOptions,
};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::json::parse_object;
use super::rsa::{Hash, RsaPublicKey};
use super::rsa_vectors::*;
use super::test_keys::*;
use super::*;
use crate::test_support::test;

/// The claims of every token in [`super::rsa_vectors`]: valid at [`NOW`] for [`validator`].
pub const CLAIMS: &str = r#"{"iss":"joe","sub":"alice","iat":1799999990,"exp":1800003600}"#;

const HASHES: [Hash; 3] = [Hash::Sha256, Hash::Sha384, Hash::Sha512];
const SHA256_DIGEST_INFO: [u8; 19] =
    [48, 49, 48, 13, 6, 9, 96, 134, 72, 1, 101, 3, 4, 2, 1, 5, 0, 4, 32];

fn signing_input(alg: &str) -> String {
    format!("{}.{}", b64(format!(r#"{{"alg":"{alg}","kid":"k"}}"#)), b64(CLAIMS))
}

fn key(n: &str, e: &str) -> RsaPublicKey {
    RsaPublicKey::new(&unb64(n), &unb64(e)).unwrap()
}

/// [`TEST_RSA_PEM`]'s public key, as jwt-simple reads it.
fn test_key() -> (RsaPublicKey, Vec<u8>) {
    let c = RS256KeyPair::from_pem(TEST_RSA_PEM).unwrap().public_key().to_components();
    (RsaPublicKey::new(&c.n, &c.e).unwrap(), c.n)
}

/// `00 01 FF..FF 00 || t`, 256 bytes.
fn em(t: &[u8]) -> Vec<u8> {
    [&[0, 1][..], &vec![0xff; 256 - 3 - t.len()], &[0], t].concat()
}

struct Vector {
    name: &'static str,
    n: &'static str,
    e: &'static str,
    signature: &'static str,
    alg: &'static str,
    hash: Hash,
    bits: usize,
}

fn openssl_vectors() -> [Vector; 6] {
    let v =
        |name, n, e, signature, alg, hash, bits| Vector { name, n, e, signature, alg, hash, bits };
    [
        v("2056 bits", K2056_N, K2056_E, K2056_SIG, "RS256", Hash::Sha256, 2056),
        v("3072 bits", K3072_N, K3072_E, K3072_SIG, "RS384", Hash::Sha384, 3072),
        v("4096 bits", K4096_N, K4096_E, K4096_SIG, "RS512", Hash::Sha512, 4096),
        v("8192 bits", K8192_N, K8192_E, K8192_SIG, "RS256", Hash::Sha256, 8192),
        v("e = 3", KE3_N, KE3_E, KE3_SIG, "RS256", Hash::Sha256, 2048),
        v("e = 2^33 - 1", KEMAX_N, KEMAX_E, KEMAX_SIG, "RS256", Hash::Sha256, 2048),
    ]
}

#[test]
fn rfc_7515_a2_verifies_with_sha256_only() {
    let key = key(A2_N, "AQAB");
    let input = format!("{A2_HEADER}.{RFC_PAYLOAD}");
    let signature = unb64(A2_SIGNATURE);
    assert!(key.verify_pkcs1v15(Hash::Sha256, input.as_bytes(), &signature));
    assert!(!key.verify_pkcs1v15(Hash::Sha384, input.as_bytes(), &signature));
    assert!(!key.verify_pkcs1v15(Hash::Sha512, input.as_bytes(), &signature));
}

#[test]
fn openssl_signed_tokens_verify() {
    for v in openssl_vectors() {
        let n = unb64(v.n);
        assert_eq!(n.len() * 8 - n[0].leading_zeros() as usize, v.bits, "{}", v.name);
        let key = key(v.n, v.e);
        let input = signing_input(v.alg);
        let signature = unb64(v.signature);
        assert!(key.verify_pkcs1v15(v.hash, input.as_bytes(), &signature), "{}", v.name);
        // The whole way, from the JWK.
        let set = one_key(json!({"kty": "RSA", "kid": "k", "alg": v.alg, "n": v.n, "e": v.e}));
        let token = format!("{input}.{}", v.signature);
        let t = verify(token.as_bytes(), &set, &validator(json!({})), NOW)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(t.sub.as_deref(), Some("alice"), "{}", v.name);
    }
}

#[test]
fn a_changed_bit_or_another_hash_fails() {
    for v in openssl_vectors() {
        let key = key(v.n, v.e);
        let input = signing_input(v.alg);
        let good = unb64(v.signature);
        for i in [0, 1, good.len() / 2, good.len() - 1] {
            let mut signature = good.clone();
            signature[i] ^= 0x10;
            assert!(!key.verify_pkcs1v15(v.hash, input.as_bytes(), &signature), "{} {i}", v.name);
        }
        let mut changed = input.clone().into_bytes();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        assert!(!key.verify_pkcs1v15(v.hash, &changed, &good), "{}", v.name);
        for other in HASHES.into_iter().filter(|h| *h != v.hash) {
            assert!(!key.verify_pkcs1v15(other, input.as_bytes(), &good), "{} {other:?}", v.name);
        }
    }
}

#[test]
fn jwt_simple_signed_tokens_verify_for_each_hash() {
    let (key, n) = test_key();
    let claims = jwt_simple::prelude::Claims::create(Duration::from_secs(60));
    let tokens = [
        (Hash::Sha256, "RS256", RS256KeyPair::from_pem(TEST_RSA_PEM).unwrap().sign(claims.clone())),
        (Hash::Sha384, "RS384", RS384KeyPair::from_pem(TEST_RSA_PEM).unwrap().sign(claims.clone())),
        (Hash::Sha512, "RS512", RS512KeyPair::from_pem(TEST_RSA_PEM).unwrap().sign(claims)),
    ];
    for (hash, alg, token) in tokens {
        let token = token.unwrap();
        let (input, signature) = token.rsplit_once('.').unwrap();
        let signature = unb64(signature);
        for other in HASHES {
            let ok = key.verify_pkcs1v15(other, input.as_bytes(), &signature);
            assert_eq!(ok, other == hash, "{alg} signature checked with {other:?}");
        }
        // And our key, from the JWK, says the same as jwt-simple's.
        let set = one_key(json!({"kty": "RSA", "alg": alg, "n": b64(&n), "e": "AQAB"}));
        let parsed = token::parse(token.as_bytes()).unwrap();
        assert_eq!(
            set.select(None, parsed.alg).unwrap().verify_signature(&parsed),
            Ok(()),
            "{alg}"
        );
    }
}

#[test]
fn signatures_of_the_wrong_size_or_not_below_n_fail() {
    let (key, n) = test_key();
    let input = signing_input("RS256");
    let good = unb64(RAW_GOOD_EM);
    assert!(key.verify_pkcs1v15(Hash::Sha256, input.as_bytes(), &good));
    let mut n_plus_one = n.clone();
    assert_ne!(n[255], 0xff);
    n_plus_one[255] += 1;
    let too_long = [&[0][..], &good].concat();
    for (name, signature) in [
        ("s = n", n.clone()),
        ("s = n + 1", n_plus_one),
        ("s = 2^2048 - 1", vec![0xff; 256]),
        ("s = 0", vec![0; 256]),
        ("s = 1", [vec![0; 255], vec![1]].concat()),
        ("one byte short", good[1..].to_vec()),
        ("a leading zero too many", too_long),
        ("empty", Vec::new()),
    ] {
        assert!(!key.verify_pkcs1v15(Hash::Sha256, input.as_bytes(), &signature), "{name}");
    }
    assert_eq!(key.recover(&n), None);
    assert_eq!(key.recover(&[0; 256]), Some(vec![0; 256]));
}

#[test]
fn only_the_exact_encoding_passes() {
    let (key, _) = test_key();
    let input = signing_input("RS256");
    let hash = Sha256::digest(input.as_bytes()).to_vec();
    let info = SHA256_DIGEST_INFO;
    let mut no_null = vec![0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09];
    no_null.extend_from_slice(&info[6..15]);
    let short_padding =
        [&[0, 1, 0xff, 0xff, 0xff, 0xff, 0][..], &[0x5a; 198], &info, &hash].concat();
    let mut block_type_2 = em(&[&info[..], &hash].concat());
    block_type_2[1] = 2;
    for (name, signature, encoding, passes) in [
        ("the PKCS#1 encoding", RAW_GOOD_EM, em(&[&info[..], &hash].concat()), true),
        ("no DigestInfo", RAW_NO_DIGEST_INFO, em(&hash), false),
        (
            "garbage after the hash",
            RAW_GARBAGE_AFTER_HASH,
            em(&[&info[..], &hash, b"garbage!"].concat()),
            false,
        ),
        ("block type 2", RAW_BLOCK_TYPE_2, block_type_2, false),
        (
            "DigestInfo without NULL parameters",
            RAW_NO_NULL_PARAMS,
            em(&[&no_null[..], &[4, 32], &hash].concat()),
            false,
        ),
        ("4 bytes of padding, then junk", RAW_SHORT_PADDING, short_padding, false),
    ] {
        let signature = unb64(signature);
        assert_eq!(key.recover(&signature), Some(encoding), "{name}: the vector is what it says");
        let ok = key.verify_pkcs1v15(Hash::Sha256, input.as_bytes(), &signature);
        assert_eq!(ok, passes, "{name}");
    }
}

#[test]
fn a_cube_root_forgery_for_e_3_fails() {
    let key = key(KE3_N, KE3_E);
    let input = signing_input("RS256");
    let forged = unb64(KE3_FORGED);
    // What a verifier that parses the encoding, and stops after the hash, would accept.
    let hash = Sha256::digest(input.as_bytes());
    let fooled = [&[0, 1][..], &[0xff; 8], &[0], &SHA256_DIGEST_INFO, &hash].concat();
    let cube = key.recover(&forged).unwrap();
    assert_eq!(&cube[..fooled.len()], &fooled[..]);
    assert!(cube[fooled.len()..].iter().any(|b| *b != 0));
    assert!(!key.verify_pkcs1v15(Hash::Sha256, input.as_bytes(), &forged));
    assert!(key.verify_pkcs1v15(Hash::Sha256, input.as_bytes(), &unb64(KE3_SIG)));
}

#[test]
fn the_private_exponent_undoes_the_public_one() {
    // A 2048-bit exponent through the same Montgomery code, against Python's `pow`.
    let (key, _) = test_key();
    let input = signing_input("RS256");
    let hash = Sha256::digest(input.as_bytes());
    let encoding = em(&[&SHA256_DIGEST_INFO[..], &hash].concat());
    assert_eq!(key.pow_bytes(&encoding, &unb64(TEST_RSA_D)), Some(unb64(RAW_GOOD_EM)));
}

#[test]
fn keys_are_taken_as_the_rsa_crate_took_them() {
    let n = unb64(A2_N);
    let mut even = n.clone();
    *even.last_mut().unwrap() &= 0xfe;
    for (e, ok) in [
        (&[1, 0, 1][..], Ok(())),
        (&[0, 0, 1, 0, 1], Ok(())),
        (&[3], Ok(())),
        (&[1, 0xff, 0xff, 0xff, 0xff], Ok(())),
        (&[2, 0, 0, 0, 1], Err("e is too large")),
        (&[1, 0, 0, 0, 0, 0, 0, 0, 1], Err("e is too large")),
        (&[1, 0, 0], Err("e is even")),
        (&[1], Err("e is too small")),
        (&[0], Err("e is even")),
        (&[], Err("e is even")),
    ] {
        assert_eq!(RsaPublicKey::new(&n, e).map(drop), ok, "e = {e:?}");
    }
    assert_eq!(RsaPublicKey::new(&even, &[1, 0, 1]).map(drop), Err("n is even"));
    assert_eq!(RsaPublicKey::new(&[0, 0], &[1, 0, 1]).map(drop), Err("n is even"));
    assert_eq!(RsaPublicKey::new(&[0xff, 0xff], &[1, 0, 1]).map(drop), Err("e is not below n"));
    // Through a JWK: skipped with the reason.
    let set = KeySet::from_jwks_json(
        json!({"keys": [
            {"kty": "RSA", "kid": "even", "n": A2_N, "e": "AQAA"},
            {"kty": "RSA", "kid": "ok", "n": A2_N, "e": "AQAB"},
        ]})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(set.len(), 1);
    assert!(set.skipped()[0].contains("not an RSA public key (e is even)"), "{:?}", set.skipped());
}

#[test]
fn small_moduli_work_too() {
    // 3233 = 61 * 53, e = 17, d = 2753: 65^17 mod 3233 = 2790 (the textbook example).
    let key = RsaPublicKey::new(&[0x0c, 0xa1], &[17]).unwrap();
    assert_eq!(key.recover(&65u16.to_be_bytes()), Some(2790u16.to_be_bytes().to_vec()));
    assert_eq!(key.pow_bytes(&2790u16.to_be_bytes(), &[0x0a, 0xc1]), Some(vec![0, 65]));
    // Three limbs, the top one a single byte; no room for a PKCS#1 encoding.
    let n = [0xc5, 0x0f, 0x6b, 0x9d, 0x31, 0x7a, 0x4e, 0x55, 0x0b];
    let key = RsaPublicKey::new(&n, &[3]).unwrap();
    let two = [0, 0, 0, 0, 0, 0, 0, 0, 2];
    assert_eq!(key.recover(&two), Some([0, 0, 0, 0, 0, 0, 0, 0, 8].to_vec()));
    assert!(!key.verify_pkcs1v15(Hash::Sha256, b"m", &two));
}

/// Signed with [`TEST_RSA_PEM`] by our code and its private exponent: any header and claims.
fn rs256(header: &str, claims: &str) -> String {
    let (key, _) = test_key();
    let input = format!("{}.{}", b64(header), b64(claims));
    let hash = Sha256::digest(input.as_bytes());
    let encoding = em(&[&SHA256_DIGEST_INFO[..], &hash].concat());
    format!("{input}.{}", b64(key.pow_bytes(&encoding, &unb64(TEST_RSA_D)).unwrap()))
}

/// What `verify` said for an RS256 token under [`TEST_RSA_PEM`] before our RSA: jwt-simple's
/// `verify_token` with the options and error mapping `Key::verify_signature` used.
fn verify_with_jwt_simple(token: &str, v: &Validator) -> Result<VerifiedToken, JwtError> {
    let parsed = token::parse(token.as_bytes())?;
    let key = RS256KeyPair::from_pem(TEST_RSA_PEM).unwrap().public_key();
    let options = VerificationOptions {
        accept_future: true,
        time_tolerance: Some(Duration::from_secs(0)),
        artificial_time: Some(UnixTimeStamp::from_secs(0)),
        max_token_length: Some(MAX_TOKEN_BYTES),
        ..VerificationOptions::default()
    };
    key.verify_token::<NoCustomClaims>(token, Some(options)).map_err(|e| {
        if e.downcast_ref::<serde_json::Error>().is_some() {
            JwtError::Malformed("a claim of the wrong type")
        } else {
            JwtError::BadSignature
        }
    })?;
    v.validate(parsed.claims, NOW)
}

#[test]
fn rs_tokens_are_refused_as_jwt_simple_refused_them() {
    let (_, n) = test_key();
    let set = one_key(json!({"kty": "RSA", "n": b64(&n), "e": "AQAB"}));
    let v = validator(json!({}));
    let good = json!({"iss": "joe", "exp": NOW + 60});
    let with = |extra: Value| {
        let mut claims = good.clone();
        claims.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap());
        claims
    };
    let wrong_type = Some(JwtError::Malformed("a claim of the wrong type"));
    // Without a header: signed by jwt-simple (fast); with one: by `rs256` (any header).
    for (name, header, claims, want) in [
        ("good", None, good.clone(), None),
        ("a numeric jti", None, with(json!({"jti": 5})), wrong_type),
        ("exp as a string", None, with(json!({"exp": "2000000000"})), wrong_type),
        ("exp null", None, with(json!({"exp": null})), wrong_type),
        ("aud null", None, with(json!({"aud": null})), wrong_type),
        ("exp past", None, with(json!({"exp": NOW - 1})), Some(JwtError::Expired)),
        ("a numeric x5t", Some(r#"{"alg":"RS256","x5t":5}"#), good.clone(), wrong_type),
        ("x5t#S256 an object", Some(r#"{"alg":"RS256","x5t#S256":{}}"#), good.clone(), wrong_type),
        (
            "salt not base64url",
            Some(r#"{"alg":"RS256","salt":"a+b"}"#),
            good.clone(),
            Some(JwtError::BadSignature),
        ),
        (
            "salt base64url",
            Some(r#"{"alg":"RS256","salt":"c2FsdA","x5t":null}"#),
            good.clone(),
            None,
        ),
    ] {
        let token = match header {
            None => Signer::Rs256(RS256KeyPair::from_pem(TEST_RSA_PEM).unwrap()).sign(&claims),
            Some(header) => rs256(header, &claims.to_string()),
        };
        let ours = verify(token.as_bytes(), &set, &v, NOW);
        assert_eq!(ours.as_ref().err(), want.as_ref(), "{name}");
        assert_eq!(ours, verify_with_jwt_simple(&token, &v), "{name}");
        // A wrong type found before the signature check still wins over a bad signature.
        let forged = format!("{}AAAA", &token[..token.len() - 4]);
        let ours = verify(forged.as_bytes(), &set, &v, NOW).err();
        assert_eq!(ours, verify_with_jwt_simple(&forged, &v).err(), "{name}, bad signature");
    }
}

#[test]
fn claims_read_from_our_map_as_from_the_text() {
    // jwt-simple parsed the claims text; we read the map we parsed it into.
    for text in [
        r#"{"exp": 1.5, "iat": 1e3, "nbf": -1}"#,
        r#"{"exp": 18446744073709551615}"#,
        r#"{"exp": 1e300}"#,
        r#"{"exp": "1"}"#,
        r#"{"exp": null}"#,
        r#"{"exp": true}"#,
        r#"{"aud": null}"#,
        r#"{"aud": ["a", "b"]}"#,
        r#"{"aud": ["a", 1]}"#,
        r#"{"aud": "a", "sub": null, "iss": null}"#,
        r#"{"iss": ["a"]}"#,
        r#"{"nonce": 5}"#,
        r#"{"jti": "x", "other": {"nested": [1, {}]}}"#,
    ] {
        let from_text = serde_json::from_str::<JWTClaims<NoCustomClaims>>(text).is_ok();
        let map = parse_object(text.as_bytes()).unwrap();
        let from_map = JWTClaims::<NoCustomClaims>::deserialize(&map).is_ok();
        assert_eq!(from_map, from_text, "{text}");
    }
}

#[test]
fn rsa_keys_up_to_8192_bits_are_taken() {
    let set = one_key(json!({"kty": "RSA", "n": K8192_N, "e": "AQAB"}));
    assert_eq!(set.keys().next().unwrap().alg(), Alg::Rs256);
    let mut too_big = unb64(K8192_N);
    too_big.insert(0, 1);
    let err = KeySet::from_jwks_json(
        json!({"keys": [{"kty": "RSA", "n": b64(&too_big), "e": "AQAB"}]}).to_string().as_bytes(),
    )
    .unwrap_err();
    assert!(err.contains("8193 bits"), "{err}");
}

/// Schoolbook `a * b mod n` over little-endian limbs, the remainder bit by bit: slow and plain.
fn mul_mod(a: &[u32], b: &[u32], n: &[u32]) -> Vec<u32> {
    let mut product = vec![0u32; a.len() + b.len()];
    for (i, &x) in a.iter().enumerate() {
        let mut carry = 0u64;
        for (j, &y) in b.iter().enumerate() {
            let t = u64::from(product[i + j]) + u64::from(x) * u64::from(y) + carry;
            product[i + j] = t as u32;
            carry = t >> 32;
        }
        product[i + b.len()] = carry as u32;
    }
    let n: Vec<u32> = n.iter().copied().chain([0]).collect();
    let mut r = vec![0u32; n.len()];
    for bit in (0..product.len() * 32).rev() {
        let mut shifted_in = (product[bit / 32] >> (bit % 32)) & 1;
        for limb in r.iter_mut() {
            (*limb, shifted_in) = ((*limb << 1) | shifted_in, *limb >> 31);
        }
        if r.iter().rev().cmp(n.iter().rev()) != std::cmp::Ordering::Less {
            let mut borrow = 0;
            for (x, y) in r.iter_mut().zip(&n) {
                let (d, b1) = x.overflowing_sub(*y);
                let (d, b2) = d.overflowing_sub(borrow);
                (*x, borrow) = (d, u32::from(b1 | b2));
            }
        }
    }
    r.pop();
    r
}

fn to_limbs(bytes: &[u8]) -> Vec<u32> {
    bytes.rchunks(4).map(|c| c.iter().fold(0, |acc, b| (acc << 8) | u32::from(*b))).collect()
}

#[test]
fn montgomery_matches_schoolbook_arithmetic() {
    // Every limb count from 1 to 18 (odd and even, for the paired rows), moduli of every top
    // byte, bases below them, exponents of up to 6 bytes.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for k in (1..=72).step_by(3).chain([4, 8, 64, 65, 68]) {
        let mut n: Vec<u8> = (0..k).map(|_| random() as u8).collect();
        n[0] = n[0].max(if k == 1 { 5 } else { 1 });
        n[k - 1] |= 1;
        let key = RsaPublicKey::new(&n, &[3]).unwrap();
        for _ in 0..3 {
            let mut base: Vec<u8> = (0..k).map(|_| random() as u8).collect();
            base[0] = (random() % u64::from(n[0])) as u8;
            let exponent: Vec<u8> = (0..1 + random() % 6).map(|_| random() as u8).collect();
            let (b, m) = (to_limbs(&base), to_limbs(&n));
            let mut want = vec![0u32; m.len()];
            want[0] = 1;
            for byte in &exponent {
                for i in (0..8).rev() {
                    want = mul_mod(&want, &want, &m);
                    if byte >> i & 1 == 1 {
                        want = mul_mod(&want, &b, &m);
                    }
                }
            }
            let want: Vec<u8> = want.iter().rev().flat_map(|l| l.to_be_bytes()).collect();
            let want = want[want.len() - k..].to_vec();
            let got = key.pow_bytes(&base, &exponent);
            // An exponent of zero has no top bit: refused rather than answered.
            if exponent.iter().all(|b| *b == 0) {
                assert_eq!(got, None);
            } else {
                assert_eq!(got, Some(want), "k = {k}, exponent {exponent:?}");
            }
        }
    }
}
