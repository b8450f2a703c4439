//! AWS Signature Version 4 verification of inbound requests, header and presigned-query forms.
//!
//! [`presented`] reads the caller's signature; the caller looks the access key up; [`verify`]
//! checks the scope, the time, the session token and the signature itself, and says why not in
//! AWS's words ([`SigError`]).

mod canonical;
pub(crate) mod parse;
#[cfg(test)]
mod suite_tests;
pub(crate) mod time;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use self::canonical::{canonical_request, sha256_hex, string_to_sign, Parts};
pub use self::parse::{presented, Form, Presented};
pub use self::time::format_amz_date;
use self::time::format_window;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
pub const SERVICE: &str = "execute-api";
const TERMINATOR: &str = "aws4_request";
/// `x-amz-content-sha256` value by which a caller leaves the body out of the signature.
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Why a signature is refused, with AWS's messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    /// Neither an `Authorization` header nor a presigned query.
    #[error("Missing Authentication Token")]
    Missing,
    #[error("{0}")]
    Incomplete(String),
    #[error("The security token included in the request is invalid.")]
    UnknownKey,
    #[error("{0}")]
    Scope(String),
    #[error("{0}")]
    Time(String),
    /// The signature does not match; with the canonical request and string to sign AWS shows.
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    Mismatch(Option<Box<(String, String)>>),
}

impl SigError {
    /// `x-amzn-ErrorType` as AWS sends it.
    pub fn error_type(&self) -> &'static str {
        match self {
            SigError::Missing => "MissingAuthenticationTokenException",
            SigError::Incomplete(_) => "IncompleteSignatureException",
            SigError::UnknownKey => "UnrecognizedClientException",
            SigError::Scope(_) | SigError::Time(_) | SigError::Mismatch(_) => {
                "InvalidSignatureException"
            }
        }
    }

    /// The message for `{"message": ...}`; a mismatch also gives the canonical request and the
    /// string to sign, as AWS does, so a caller can find the difference.
    pub fn message(&self) -> String {
        match self {
            SigError::Mismatch(Some(detail)) => format!(
                "{self}\n\nThe Canonical String for this request should have been\n'{}'\n\nThe String-to-Sign should have been\n'{}'\n",
                detail.0, detail.1
            ),
            other => other.to_string(),
        }
    }
}

/// What a configured credential brings to verification.
#[derive(Debug, Clone, Copy)]
pub struct Secret<'a> {
    /// The secret access key.
    pub secret_access_key: &'a [u8],
    /// The session token temporary credentials must present, if any.
    pub session_token: Option<&'a [u8]>,
}

/// The request as Envoy saw it. Header names are lowercase; `:authority` stands for `host`.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a [u8],
    /// Path without the query.
    pub path: &'a [u8],
    pub query: &'a [u8],
    pub headers: &'a [(String, Vec<u8>)],
    /// The whole body (empty when there is none).
    pub body: &'a [u8],
}

/// Signing keys derived per (credential, date): four HMACs saved on every request after the
/// first of the day. Bounded; the region and service are fixed per plan.
#[derive(Debug, Default)]
pub struct KeyCache {
    entries: Vec<(usize, String, [u8; 32])>,
}

const KEY_CACHE_ENTRIES: usize = 256;

impl KeyCache {
    fn get_or_derive(
        &mut self,
        credential: usize,
        date: &str,
        rules: Rules<'_>,
        secret: &[u8],
    ) -> [u8; 32] {
        if let Some((_, _, key)) =
            self.entries.iter().find(|(c, d, _)| *c == credential && d == date)
        {
            return *key;
        }
        let key = signing_key(secret, date, rules.region, rules.service);
        if self.entries.len() >= KEY_CACHE_ENTRIES {
            self.entries.remove(0);
        }
        self.entries.push((credential, date.to_string(), key));
        key
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length, so this cannot fail.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
pub fn signing_key(secret: &[u8], date: &str, region: &str, service: &str) -> [u8; 32] {
    let mut k_secret = Vec::with_capacity(secret.len() + 4);
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret);
    let k_date = hmac(&k_secret, date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, TERMINATOR.as_bytes())
}

/// The checks around the signature, in AWS's order.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub region: &'a str,
    /// `execute-api` for API Gateway callers.
    pub service: &'a str,
    /// Allowed distance between the request time and now, seconds (AWS: 300).
    pub max_skew: u32,
}

/// Verifies `p` (from [`presented`]) for `req` with the credential's secret. `now` is unix
/// seconds; `credential` is the credential's index, for the key cache.
pub fn verify(
    req: &Request<'_>,
    p: &Presented,
    secret: Secret<'_>,
    credential: usize,
    rules: Rules<'_>,
    now: i64,
    cache: &mut KeyCache,
) -> Result<(), SigError> {
    check_scope(p, rules)?;
    check_time(p, rules.max_skew, now)?;
    check_token(p, secret.session_token)?;
    check_signed_headers(p, req.headers)?;
    let payload_hash = payload_hash(req)?;
    let canonical = canonical_request(&Parts {
        method: req.method,
        path: req.path,
        query: req.query,
        headers: req.headers,
        signed_headers: &p.signed_headers,
        presigned: matches!(p.form, Form::Query { .. }),
        payload_hash: &payload_hash,
    });
    let scope = format!("{}/{}/{}/{}", p.scope_date, p.region, p.service, p.terminator);
    let to_sign = string_to_sign(&p.amz_date, &scope, &canonical);
    let key = cache.get_or_derive(credential, &p.scope_date, rules, secret.secret_access_key);
    let expected = hmac(&key, to_sign.as_bytes());
    if bool::from(expected.ct_eq(&p.signature)) {
        Ok(())
    } else {
        let canonical = String::from_utf8_lossy(&canonical).into_owned();
        Err(SigError::Mismatch(Some(Box::new((canonical, to_sign)))))
    }
}

fn check_scope(p: &Presented, rules: Rules<'_>) -> Result<(), SigError> {
    if p.region != rules.region {
        return Err(SigError::Scope(format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            p.region
        )));
    }
    if p.service != rules.service {
        return Err(SigError::Scope(format!(
            "Credential should be scoped to correct service: '{}'. ",
            rules.service
        )));
    }
    if p.terminator != TERMINATOR {
        return Err(SigError::Scope(format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{}'. ",
            p.terminator
        )));
    }
    let date = p.amz_date.get(..8).unwrap_or_default();
    if p.scope_date != date {
        return Err(SigError::Scope(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{date}', from '{}'.",
            p.scope_date, p.amz_date
        )));
    }
    Ok(())
}

fn check_time(p: &Presented, max_skew: u32, now: i64) -> Result<(), SigError> {
    let skew = i64::from(max_skew);
    let window = format_window(max_skew);
    let now_text = format_amz_date(now);
    if p.time > now.saturating_add(skew) {
        return Err(SigError::Time(format!(
            "Signature not yet current: {} is still later than {} ({now_text} + {window}.)",
            p.amz_date,
            format_amz_date(now.saturating_add(skew))
        )));
    }
    let (oldest, window) = match p.form {
        Form::Header => (now.saturating_sub(skew), window),
        Form::Query { expires } => {
            (now.saturating_sub(expires), format_window(u32::try_from(expires).unwrap_or(u32::MAX)))
        }
    };
    if p.time < oldest {
        return Err(SigError::Time(format!(
            "Signature expired: {} is now earlier than {} ({now_text} - {window}.)",
            p.amz_date,
            format_amz_date(oldest)
        )));
    }
    Ok(())
}

/// Temporary credentials must present their session token; others must not present one.
fn check_token(p: &Presented, expected: Option<&[u8]>) -> Result<(), SigError> {
    let ok = match (p.security_token.as_deref(), expected) {
        (None, None) => true,
        (Some(given), Some(want)) => bool::from(given.ct_eq(want)),
        _ => false,
    };
    ok.then_some(()).ok_or(SigError::UnknownKey)
}

/// `host` and every `x-amz-*` header sent must be signed (else anyone could add or change them).
fn check_signed_headers(p: &Presented, headers: &[(String, Vec<u8>)]) -> Result<(), SigError> {
    let signed = |name: &str| p.signed_headers.iter().any(|s| s == name);
    if !signed("host") {
        return Err(SigError::Incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    let unsigned =
        headers.iter().map(|(n, _)| n.as_str()).find(|n| n.starts_with("x-amz-") && !signed(n));
    match unsigned {
        Some(name) => Err(SigError::Incomplete(format!(
            "'{name}' must be a 'SignedHeader' in the AWS Authorization."
        ))),
        None => Ok(()),
    }
}

/// The body's SHA-256; `x-amz-content-sha256`, when sent, must be that hash (or
/// `UNSIGNED-PAYLOAD`, which leaves the body out of the signature).
fn payload_hash(req: &Request<'_>) -> Result<String, SigError> {
    let declared = parse::header(req.headers, "x-amz-content-sha256");
    if declared == Some(UNSIGNED_PAYLOAD.as_bytes()) {
        return Ok(UNSIGNED_PAYLOAD.into());
    }
    let hash = sha256_hex(req.body);
    match declared {
        Some(d) if !d.eq_ignore_ascii_case(hash.as_bytes()) => Err(SigError::Incomplete(
            "The provided 'x-amz-content-sha256' header does not match what was computed.".into(),
        )),
        _ => Ok(hash),
    }
}

/// Who signs, where, when: the inputs of [`authorization`] besides the request.
#[derive(Debug, Clone, Copy)]
pub struct Signer<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a [u8],
    pub region: &'a str,
    pub service: &'a str,
    /// `YYYYMMDD'T'HHMMSS'Z'`, the `X-Amz-Date` the request carries.
    pub amz_date: &'a str,
}

/// Signs `req` in the header form: the `Authorization` value covering `signed_headers`
/// (lowercase, sorted). For clients of the gateway (the CLI) and tests.
pub fn authorization(req: &Request<'_>, signed_headers: &[String], signer: Signer<'_>) -> String {
    let canonical = canonical_request(&Parts {
        method: req.method,
        path: req.path,
        query: req.query,
        headers: req.headers,
        signed_headers,
        presigned: false,
        payload_hash: &sha256_hex(req.body),
    });
    let date = signer.amz_date.get(..8).unwrap_or_default();
    let scope = format!("{date}/{}/{}/{TERMINATOR}", signer.region, signer.service);
    let to_sign = string_to_sign(signer.amz_date, &scope, &canonical);
    let key = signing_key(signer.secret_access_key, date, signer.region, signer.service);
    format!(
        "{ALGORITHM} Credential={}/{scope}, SignedHeaders={}, Signature={}",
        signer.access_key_id,
        signed_headers.join(";"),
        crate::text::hex::hex(&hmac(&key, to_sign.as_bytes()))
    )
}
