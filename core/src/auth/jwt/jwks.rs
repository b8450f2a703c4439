//! JWK Sets (RFC 7517) compiled into verification keys, each pinned to one algorithm: the key
//! decides how a token is verified, never the token's own `alg`.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jwt_simple::prelude::*;
use jwt_simple::JWTError;
use serde_json::{Map, Value};

use super::ecdsa::{Es256Key, Es384Key};
use super::json::parse_object;
use super::rsa::{Hash, RsaPublicKey};
use super::token::Parsed;
use super::JwtError;

/// The largest JWK Set document read.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// The most keys a set may list.
pub const MAX_KEYS: usize = 100;
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;
const MAX_KID_BYTES: usize = 256;
/// What jwt-simple's error for claims (or header members) its types cannot read became.
const WRONG_TYPE: JwtError = JwtError::Malformed("a claim of the wrong type");

/// The JWS algorithms a key can be pinned to (RFC 7518; `EdDSA` from RFC 8037).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    EdDsa,
    Hs256,
    Hs384,
    Hs512,
}

impl Alg {
    /// The algorithm a header's `alg` names; `None` for `none` and anything unsupported.
    pub fn from_name(name: &str) -> Option<Alg> {
        Some(match name {
            "RS256" => Alg::Rs256,
            "RS384" => Alg::Rs384,
            "RS512" => Alg::Rs512,
            "PS256" => Alg::Ps256,
            "PS384" => Alg::Ps384,
            "PS512" => Alg::Ps512,
            "ES256" => Alg::Es256,
            "ES384" => Alg::Es384,
            "EdDSA" => Alg::EdDsa,
            "HS256" => Alg::Hs256,
            "HS384" => Alg::Hs384,
            "HS512" => Alg::Hs512,
            _ => return None,
        })
    }

    /// A public-key signature (RSA, ECDSA, EdDSA), whose check costs far more than an HMAC's.
    pub fn is_public_key(self) -> bool {
        !matches!(self, Alg::Hs256 | Alg::Hs384 | Alg::Hs512)
    }

    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Ps256 => "PS256",
            Alg::Ps384 => "PS384",
            Alg::Ps512 => "PS512",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::EdDsa => "EdDSA",
            Alg::Hs256 => "HS256",
            Alg::Hs384 => "HS384",
            Alg::Hs512 => "HS512",
        }
    }
}

/// The key for each algorithm: ours for RSASSA-PKCS1-v1_5 and ECDSA, jwt-simple's for the
/// others.
enum Verifier {
    Rs256(RsaPublicKey),
    Rs384(RsaPublicKey),
    Rs512(RsaPublicKey),
    Ps256(PS256PublicKey),
    Ps384(PS384PublicKey),
    Ps512(PS512PublicKey),
    Es256(Es256Key),
    Es384(Es384Key),
    EdDsa(Ed25519PublicKey),
    Hs256(HS256Key),
    Hs384(HS384Key),
    Hs512(HS512Key),
}

/// One verification key: its `kid`, the one algorithm it verifies and the signature length
/// that algorithm produces with it.
pub struct Key {
    kid: Option<String>,
    alg: Alg,
    signature_len: usize,
    verifier: Verifier,
}

// Never prints key material (an `oct` key is a shared secret).
impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key").field("kid", &self.kid).field("alg", &self.alg).finish()
    }
}

impl Key {
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// Checks the signature of a parsed compact JWS with this key's algorithm. Only the
    /// signature: jwt-simple's claim checks are switched off (time zero, no tolerance, future
    /// accepted); [`super::claims`] makes ours, with our clock. jwt-simple's `max_token_length`
    /// is [`super::MAX_TOKEN_BYTES`], which [`super::token::parse`] enforced already.
    pub(crate) fn verify_signature(&self, token: &Parsed<'_>) -> Result<(), JwtError> {
        if token.signature.len() != self.signature_len {
            return Err(JwtError::BadSignature);
        }
        let options = VerificationOptions {
            accept_future: true,
            time_tolerance: Some(Duration::from_secs(0)),
            artificial_time: Some(UnixTimeStamp::from_secs(0)),
            max_token_length: Some(super::MAX_TOKEN_BYTES),
            ..VerificationOptions::default()
        };
        let options = Some(options);
        let result = match &self.verifier {
            Verifier::Rs256(k) => {
                return verify_own(token, |m, s| k.verify_pkcs1v15(Hash::Sha256, m, s))
            }
            Verifier::Rs384(k) => {
                return verify_own(token, |m, s| k.verify_pkcs1v15(Hash::Sha384, m, s))
            }
            Verifier::Rs512(k) => {
                return verify_own(token, |m, s| k.verify_pkcs1v15(Hash::Sha512, m, s))
            }
            Verifier::Es256(k) => return verify_own(token, |m, s| k.verify(m, s)),
            Verifier::Es384(k) => return verify_own(token, |m, s| k.verify(m, s)),
            Verifier::Ps256(k) => k.verify_token::<NoCustomClaims>(token.text, options).map(drop),
            Verifier::Ps384(k) => k.verify_token::<NoCustomClaims>(token.text, options).map(drop),
            Verifier::Ps512(k) => k.verify_token::<NoCustomClaims>(token.text, options).map(drop),
            Verifier::EdDsa(k) => k.verify_token::<NoCustomClaims>(token.text, options).map(drop),
            Verifier::Hs256(k) => k.verify_token::<NoCustomClaims>(token.text, options).map(drop),
            Verifier::Hs384(k) => k.verify_token::<NoCustomClaims>(token.text, options).map(drop),
            Verifier::Hs512(k) => k.verify_token::<NoCustomClaims>(token.text, options).map(drop),
        };
        result.map_err(|e| {
            // The signature is checked before the claims are read: a claims error means a good
            // signature over claims jwt-simple cannot read (a non-string `jti`, say).
            if e.downcast_ref::<serde_json::Error>().is_some() {
                WRONG_TYPE
            } else {
                match e.downcast_ref::<JWTError>() {
                    Some(JWTError::TokenTooLong) => JwtError::TooLarge,
                    _ => JwtError::BadSignature,
                }
            }
        })
    }
}

/// RS256/384/512 and ES256/384: `check` (signing input, signature) with our own verifier,
/// refusing what jwt-simple refused around its signature check, for the same reasons: before it,
/// a header member its header type reads (`x5t`, `x5t#S256`, `salt`; [`super::token`] refuses the
/// others first) of another type, or a `salt` that is not base64url; after it, claims its
/// `JWTClaims` cannot read (a `jti` that is not a string, an `exp` that is not a number).
fn verify_own(
    token: &Parsed<'_>,
    check: impl FnOnce(&[u8], &[u8]) -> bool,
) -> Result<(), JwtError> {
    for name in ["x5t", "x5t#S256", "salt"] {
        if !matches!(token.header.get(name), None | Some(Value::Null | Value::String(_))) {
            return Err(WRONG_TYPE);
        }
    }
    if let Some(Value::String(salt)) = token.header.get("salt") {
        URL_SAFE_NO_PAD.decode(salt).map_err(|_| JwtError::BadSignature)?;
    }
    let (signing_input, _) = token.text.rsplit_once('.').ok_or(JwtError::BadSignature)?;
    if !check(signing_input.as_bytes(), &token.signature) {
        return Err(JwtError::BadSignature);
    }
    JWTClaims::<NoCustomClaims>::deserialize(&token.claims).map(drop).map_err(|_| WRONG_TYPE)
}

/// The keys of one JWK Set, by `kid`.
#[derive(Debug, Default)]
pub struct KeySet {
    keys: Vec<Key>,
    skipped: Vec<String>,
    /// SHA-256 of the document the set was read from.
    fingerprint: [u8; 32],
}

impl KeySet {
    /// Reads a JWK Set (`{"keys": [...]}`). Keys for encryption (`use: "enc"`), of unsupported
    /// types, curves or algorithms, or too weak are skipped (see [`KeySet::skipped`]); a set with
    /// no usable key, more than [`MAX_KEYS`] keys or over [`MAX_JWKS_BYTES`] is an error.
    pub fn from_jwks_json(bytes: &[u8]) -> Result<KeySet, String> {
        if bytes.len() > MAX_JWKS_BYTES {
            return Err(format!("the JWK Set is larger than {MAX_JWKS_BYTES} bytes"));
        }
        let doc =
            parse_object(bytes).map_err(|e| format!("the JWK Set is not a JSON object ({e:?})"))?;
        let Some(Value::Array(entries)) = doc.get("keys") else {
            return Err("the JWK Set has no `keys` array".into());
        };
        if entries.len() > MAX_KEYS {
            return Err(format!("the JWK Set lists {} keys, more than {MAX_KEYS}", entries.len()));
        }
        let mut set = KeySet {
            fingerprint: <sha2::Sha256 as sha2::Digest>::digest(bytes).into(),
            ..KeySet::default()
        };
        for (i, entry) in entries.iter().enumerate() {
            let compiled = match entry {
                Value::Object(jwk) => compile_jwk(jwk),
                _ => Err("not an object".into()),
            };
            match compiled {
                Ok(key) if key.kid.is_some() && set.keys.iter().any(|k| k.kid == key.kid) => {
                    set.skipped.push(format!("keys[{i}]: kid {:?} is listed twice", key.kid));
                }
                Ok(key) => set.keys.push(key),
                Err(why) => set.skipped.push(format!("keys[{i}]: {why}")),
            }
        }
        if set.keys.is_empty() {
            let why = if set.skipped.is_empty() { "empty".into() } else { set.skipped.join("; ") };
            return Err(format!("the JWK Set has no usable key ({why})"));
        }
        Ok(set)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Names this set among others: the SHA-256 of its JWK Set document (a rotated or
    /// revoked key makes another set).
    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Why each skipped JWK was skipped (`keys[2]: use is "enc"`), for logs.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter()
    }

    /// The key for a token: by `kid` (its algorithm must be `alg`), or without a `kid` the only
    /// key of the set for `alg`.
    pub fn select(&self, kid: Option<&str>, alg: Alg) -> Result<&Key, JwtError> {
        match kid {
            Some(kid) => {
                let key = self
                    .keys
                    .iter()
                    .find(|k| k.kid.as_deref() == Some(kid))
                    .ok_or(JwtError::UnknownKid)?;
                if key.alg == alg {
                    Ok(key)
                } else {
                    Err(JwtError::Algorithm)
                }
            }
            None => {
                let mut candidates = self.keys.iter().filter(|k| k.alg == alg);
                match (candidates.next(), candidates.next()) {
                    (Some(key), None) => Ok(key),
                    (None, _) => Err(JwtError::Algorithm),
                    (Some(_), Some(_)) => Err(JwtError::AmbiguousKey),
                }
            }
        }
    }
}

fn compile_jwk(jwk: &Map<String, Value>) -> Result<Key, String> {
    let kty = text(jwk, "kty")?.ok_or("no kty")?;
    if let Some(usage) = text(jwk, "use")? {
        if usage != "sig" {
            return Err(format!("use is {usage:?}"));
        }
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verifies = matches!(ops, Value::Array(ops) if ops.iter().any(|op| op == "verify"));
        if !verifies {
            return Err("key_ops does not list \"verify\"".into());
        }
    }
    let kid = match text(jwk, "kid")? {
        Some(kid) if kid.len() > MAX_KID_BYTES => return Err("kid is too long".into()),
        other => other.map(str::to_owned),
    };
    let named = match text(jwk, "alg")? {
        Some(name) => {
            Some(Alg::from_name(name).ok_or_else(|| format!("alg {name:?} is not supported"))?)
        }
        None => None,
    };
    let (alg, signature_len, verifier) = match kty {
        "RSA" => rsa(jwk, named.unwrap_or(Alg::Rs256))?,
        "EC" => ec(jwk, named)?,
        "OKP" => okp(jwk, named)?,
        "oct" => oct(jwk, named.ok_or("an oct key needs its alg")?)?,
        other => return Err(format!("kty {other:?} is not supported")),
    };
    Ok(Key { kid, alg, signature_len, verifier })
}

fn rsa(jwk: &Map<String, Value>, alg: Alg) -> Result<(Alg, usize, Verifier), String> {
    let n = bytes(jwk, "n")?;
    let e = bytes(jwk, "e")?;
    let n = strip_leading_zeros(&n);
    let bits = n.first().map_or(0, |top| n.len() * 8 - top.leading_zeros() as usize);
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(format!("an RSA key of {bits} bits (need {MIN_RSA_BITS}-{MAX_RSA_BITS})"));
    }
    let ours = || RsaPublicKey::new(n, &e).map_err(|why| format!("not an RSA public key ({why})"));
    let bad = |e: jwt_simple::Error| format!("not an RSA public key ({e})");
    let verifier = match alg {
        Alg::Rs256 => Verifier::Rs256(ours()?),
        Alg::Rs384 => Verifier::Rs384(ours()?),
        Alg::Rs512 => Verifier::Rs512(ours()?),
        Alg::Ps256 => Verifier::Ps256(PS256PublicKey::from_components(n, &e).map_err(bad)?),
        Alg::Ps384 => Verifier::Ps384(PS384PublicKey::from_components(n, &e).map_err(bad)?),
        Alg::Ps512 => Verifier::Ps512(PS512PublicKey::from_components(n, &e).map_err(bad)?),
        other => return Err(format!("alg {} is not for RSA keys", other.name())),
    };
    Ok((alg, n.len(), verifier))
}

fn ec(jwk: &Map<String, Value>, named: Option<Alg>) -> Result<(Alg, usize, Verifier), String> {
    let (alg, size) = match text(jwk, "crv")?.ok_or("no crv")? {
        "P-256" => (Alg::Es256, 32),
        "P-384" => (Alg::Es384, 48),
        other => return Err(format!("crv {other:?} is not supported")),
    };
    if named.is_some_and(|n| n != alg) {
        return Err(format!("alg does not match crv (want {})", alg.name()));
    }
    let (x, y) = (bytes(jwk, "x")?, bytes(jwk, "y")?);
    if x.len() != size || y.len() != size {
        return Err(format!("x and y must be {size} bytes"));
    }
    let verifier = match alg {
        Alg::Es256 => Es256Key::new(&x, &y).map(Verifier::Es256),
        _ => Es384Key::new(&x, &y).map(Verifier::Es384),
    };
    let verifier = verifier.ok_or("not a point of the curve")?;
    Ok((alg, 2 * size, verifier))
}

fn okp(jwk: &Map<String, Value>, named: Option<Alg>) -> Result<(Alg, usize, Verifier), String> {
    match text(jwk, "crv")?.ok_or("no crv")? {
        "Ed25519" => {}
        other => return Err(format!("crv {other:?} is not supported")),
    }
    if named.is_some_and(|n| n != Alg::EdDsa) {
        return Err("alg does not match crv (want EdDSA)".into());
    }
    let x = bytes(jwk, "x")?;
    if x.len() != 32 {
        return Err("x must be 32 bytes".into());
    }
    let key = Ed25519PublicKey::from_bytes(&x).map_err(|_| "not an Ed25519 public key")?;
    Ok((Alg::EdDsa, 64, Verifier::EdDsa(key)))
}

/// A shared secret; RFC 7518 section 3.2: at least as long as the hash.
fn oct(jwk: &Map<String, Value>, alg: Alg) -> Result<(Alg, usize, Verifier), String> {
    let k = bytes(jwk, "k")?;
    let (len, verifier) = match alg {
        Alg::Hs256 => (32, Verifier::Hs256(HS256Key::from_bytes(&k))),
        Alg::Hs384 => (48, Verifier::Hs384(HS384Key::from_bytes(&k))),
        Alg::Hs512 => (64, Verifier::Hs512(HS512Key::from_bytes(&k))),
        other => return Err(format!("alg {} is not for oct keys", other.name())),
    };
    if k.len() < len {
        return Err(format!("an {} secret needs at least {len} bytes", alg.name()));
    }
    Ok((alg, len, verifier))
}

fn text<'a>(jwk: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, String> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{name} is not a string")),
    }
}

/// A base64url member (RFC 7517: no padding; a trailing `=` is tolerated in key sets).
fn bytes(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    let encoded = text(jwk, name)?.ok_or_else(|| format!("no {name}"))?;
    URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .map_err(|_| format!("{name} is not base64url"))
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}
