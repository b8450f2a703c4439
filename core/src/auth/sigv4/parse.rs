//! Reads what a caller presents: the `Authorization: AWS4-HMAC-SHA256 ...` header or the presigned
//! query (`X-Amz-Algorithm`, `X-Amz-Credential`, ...), and the request time.

use super::time::{format_amz_date, parse_amz_date, parse_http_date};
use super::{SigError, ALGORITHM};
use crate::text::hex::decode_hex32;
use crate::text::percent::percent_decode;

/// Where the signature was carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Header,
    /// Presigned URL; `expires` is `X-Amz-Expires` in seconds.
    Query {
        expires: i64,
    },
}

/// The parts of a SigV4 signature, as presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    pub form: Form,
    pub access_key_id: String,
    /// `YYYYMMDD/region/service/aws4_request`, split.
    pub scope_date: String,
    pub region: String,
    pub service: String,
    pub terminator: String,
    /// Lowercase names, in the order given.
    pub signed_headers: Vec<String>,
    pub signature: [u8; 32],
    /// Request time (unix seconds) and its `YYYYMMDD'T'HHMMSS'Z'` form for the string to sign.
    pub time: i64,
    pub amz_date: String,
    pub security_token: Option<Vec<u8>>,
}

/// A query string split into decoded `(name, value)` pairs, keeping the raw bytes for
/// canonicalisation.
pub(crate) fn query_pairs(query: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    query.split(|&b| b == b'&').filter(|p| !p.is_empty()).map(|pair| {
        match pair.iter().position(|&b| b == b'=') {
            Some(eq) => {
                (pair.get(..eq).unwrap_or_default(), pair.get(eq + 1..).unwrap_or_default())
            }
            None => (pair, &[][..]),
        }
    })
}

fn query_param(query: &[u8], name: &str) -> Option<Vec<u8>> {
    query_pairs(query)
        .find(|(k, _)| percent_decode(k) == name.as_bytes())
        .map(|(_, v)| percent_decode(v))
}

/// The first value of a header (names are lowercase).
pub(crate) fn header<'h>(headers: &'h [(String, Vec<u8>)], name: &str) -> Option<&'h [u8]> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
}

/// The signature presented in the `Authorization` header or the query; [`SigError::Missing`]
/// when the request carries neither.
pub fn presented(headers: &[(String, Vec<u8>)], query: &[u8]) -> Result<Presented, SigError> {
    if let Some(value) = header(headers, "authorization") {
        return from_header(value, headers);
    }
    if let Some(algorithm) = query_param(query, "X-Amz-Algorithm") {
        return from_query(&algorithm, query, headers);
    }
    Err(SigError::Missing)
}

fn from_header(value: &[u8], headers: &[(String, Vec<u8>)]) -> Result<Presented, SigError> {
    let text = std::str::from_utf8(value)
        .map_err(|_| incomplete(&[CREDENTIAL, SIGNATURE_PARAM, SIGNED]))?;
    let (scheme, params) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    if scheme == ALGORITHM {
        for part in params.split(',') {
            let Some((name, value)) = part.trim().split_once('=') else { continue };
            match name.trim() {
                "Credential" => credential = Some(value.trim()),
                "SignedHeaders" => signed = Some(value.trim()),
                "Signature" => signature = Some(value.trim()),
                _ => {}
            }
        }
    }
    let date = request_time(headers);
    let mut missing = Vec::new();
    for (name, present) in [
        (CREDENTIAL, credential.is_some()),
        (SIGNATURE_PARAM, signature.is_some()),
        (SIGNED, signed.is_some()),
    ] {
        if !present {
            missing.push(name);
        }
    }
    if date.is_none() {
        missing.push(DATE);
    }
    let (Some(credential), Some(signed), Some(signature), Some((time, amz_date))) =
        (credential, signed, signature, date)
    else {
        return Err(incomplete(&missing));
    };
    let security_token = header(headers, "x-amz-security-token").map(<[u8]>::to_vec);
    build(Form::Header, credential, signed, signature.as_bytes(), time, amz_date, security_token)
}

fn from_query(
    algorithm: &[u8],
    query: &[u8],
    headers: &[(String, Vec<u8>)],
) -> Result<Presented, SigError> {
    if algorithm != ALGORITHM.as_bytes() {
        return Err(SigError::Incomplete(format!("X-Amz-Algorithm only supports '{ALGORITHM}'")));
    }
    let param = |name: &'static str| query_param(query, name).ok_or(name);
    let mut missing = Vec::new();
    let mut take = |name| match param(name) {
        Ok(v) => String::from_utf8(v).ok(),
        Err(n) => {
            missing.push(n);
            None
        }
    };
    let credential = take("X-Amz-Credential");
    let signed = take("X-Amz-SignedHeaders");
    let signature = take("X-Amz-Signature");
    let date = take("X-Amz-Date");
    let expires = take("X-Amz-Expires");
    let (Some(credential), Some(signed), Some(signature), Some(date), Some(expires)) =
        (credential, signed, signature, date, expires)
    else {
        let list: Vec<String> = missing.iter().map(|m| format!("'{m}'")).collect();
        return Err(SigError::Incomplete(format!(
            "AWS query-string parameters must include {}. Re-examine the query-string parameters.",
            list.join(", ")
        )));
    };
    let time = parse_amz_date(date.as_bytes()).ok_or_else(|| {
        SigError::Incomplete(format!(
            "X-Amz-Date must be in the ISO8601 Long Format (yyyyMMdd'T'HHmmss'Z'), not '{date}'"
        ))
    })?;
    let expires = match expires.parse::<i64>() {
        Ok(e) if (1..=604_800).contains(&e) => e,
        _ => {
            return Err(SigError::Incomplete(
                "X-Amz-Expires must be a number of seconds from 1 to 604800".into(),
            ))
        }
    };
    let token = query_param(query, "X-Amz-Security-Token")
        .or_else(|| header(headers, "x-amz-security-token").map(<[u8]>::to_vec));
    build(Form::Query { expires }, &credential, &signed, signature.as_bytes(), time, date, token)
}

fn build(
    form: Form,
    credential: &str,
    signed: &str,
    signature: &[u8],
    time: i64,
    amz_date: String,
    security_token: Option<Vec<u8>>,
) -> Result<Presented, SigError> {
    let mut parts = credential.split('/');
    let (Some(key), Some(date), Some(region), Some(service), Some(terminator), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SigError::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
        )));
    };
    if key.is_empty() {
        return Err(SigError::UnknownKey);
    }
    let signature = decode_hex32(signature).ok_or(SigError::Mismatch(None))?;
    Ok(Presented {
        form,
        access_key_id: key.to_string(),
        scope_date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        terminator: terminator.to_string(),
        signed_headers: signed.split(';').map(str::to_ascii_lowercase).collect(),
        signature,
        time,
        amz_date,
        security_token,
    })
}

/// `X-Amz-Date` (preferred) or `Date`, as unix seconds and the ISO 8601 basic form.
fn request_time(headers: &[(String, Vec<u8>)]) -> Option<(i64, String)> {
    if let Some(value) = header(headers, "x-amz-date") {
        let time = parse_amz_date(value)?;
        return Some((time, String::from_utf8_lossy(value).into_owned()));
    }
    let time = parse_http_date(header(headers, "date")?)?;
    Some((time, format_amz_date(time)))
}

const CREDENTIAL: &str = "Authorization header requires 'Credential' parameter.";
const SIGNATURE_PARAM: &str = "Authorization header requires 'Signature' parameter.";
const SIGNED: &str = "Authorization header requires 'SignedHeaders' parameter.";
const DATE: &str =
    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.";

fn incomplete(missing: &[&str]) -> SigError {
    SigError::Incomplete(missing.join(" "))
}
