//! The canonical request and the string to sign, byte for byte as AWS builds them for every
//! service but S3: normalised, double-encoded path; sorted, re-encoded query; trimmed headers with
//! repeated values joined by commas.

use super::parse::query_pairs;
use super::ALGORITHM;
use crate::text::hex::hex;
use crate::text::percent::{percent_decode, uri_encode, uri_encode_into};
use sha2::{Digest, Sha256};

/// The path with `.`/`..` segments resolved and empty segments dropped; a trailing `/` stays.
fn normalize_path(path: &[u8]) -> Vec<u8> {
    let mut segments: Vec<&[u8]> = Vec::new();
    for segment in path.split(|&b| b == b'/') {
        match segment {
            b"" | b"." => {}
            b".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = Vec::with_capacity(path.len() + 1);
    for s in &segments {
        out.push(b'/');
        out.extend_from_slice(s);
    }
    if out.is_empty() || path.ends_with(b"/") {
        out.push(b'/');
    }
    out
}

/// The canonical URI: the normalised path, each byte but `/` URI-encoded again (so an escape the
/// caller sent, `%C3%A9`, is encoded a second time, as AWS does for everything but S3).
pub(crate) fn canonical_uri(path: &[u8]) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    uri_encode_into(&mut out, &normalize_path(path), true);
    out
}

/// The canonical query: every parameter (but `X-Amz-Signature` when `presigned`) decoded,
/// encoded the SigV4 way, sorted by name then value.
pub(crate) fn canonical_query(query: &[u8], presigned: bool) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(query)
        .map(|(k, v)| (uri_encode(&percent_decode(k)), uri_encode(&percent_decode(v))))
        .filter(|(k, _)| !(presigned && k == "X-Amz-Signature"))
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(query.len() + 8);
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// A header value trimmed, with every run of spaces and tabs inside collapsed to one space.
fn push_trimmed(out: &mut Vec<u8>, value: &[u8]) {
    let mut space = false;
    let mut started = false;
    for &b in value {
        if b == b' ' || b == b'\t' || b == b'\r' || b == b'\n' {
            space = started;
            continue;
        }
        if space {
            out.push(b' ');
            space = false;
        }
        out.push(b);
        started = true;
    }
}

/// `name:value\n` for each signed header, repeated headers joined by `,` in the order sent;
/// `host` is Envoy's `:authority` when no `host` header is left.
fn push_canonical_headers(out: &mut Vec<u8>, headers: &[(String, Vec<u8>)], signed: &[String]) {
    for name in signed {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let lookup = if name == "host" && !headers.iter().any(|(n, _)| n == "host") {
            ":authority"
        } else {
            name.as_str()
        };
        for (i, (_, value)) in headers.iter().filter(|(n, _)| n == lookup).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_trimmed(out, value);
        }
        out.push(b'\n');
    }
}

/// What the canonical request is built from.
pub(crate) struct Parts<'a> {
    pub method: &'a [u8],
    pub path: &'a [u8],
    pub query: &'a [u8],
    pub headers: &'a [(String, Vec<u8>)],
    pub signed_headers: &'a [String],
    pub presigned: bool,
    pub payload_hash: &'a str,
}

pub(crate) fn canonical_request(p: &Parts<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + p.path.len() + p.query.len());
    out.extend_from_slice(p.method);
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(p.path).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query(p.query, p.presigned).as_bytes());
    out.push(b'\n');
    push_canonical_headers(&mut out, p.headers, p.signed_headers);
    out.push(b'\n');
    out.extend_from_slice(p.signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(p.payload_hash.as_bytes());
    out
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hex(sha256(canonical request))}`.
pub(crate) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &[u8]) -> String {
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{}", sha256_hex(canonical_request))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    #[test]
    fn paths_are_normalised_and_encoded_again() {
        for (path, want) in [
            ("/", "/"),
            ("", "/"),
            ("//", "/"),
            ("//example//", "/example/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/./", "/"),
            ("/./example", "/example"),
            ("/a/../../b", "/b"),
            ("/example space/", "/example%20space/"),
            ("/pets/caf%C3%A9", "/pets/caf%25C3%25A9"),
            ("/a/./b/", "/a/b/"),
        ] {
            assert_eq!(canonical_uri(path.as_bytes()), want, "{path}");
        }
    }

    #[test]
    fn query_is_sorted_and_re_encoded() {
        assert_eq!(canonical_query(b"b=2&a=1&a=0", false), "a=0&a=1&b=2");
        assert_eq!(
            canonical_query(b"Param2=v&Param1=v&param0=v", false),
            "Param1=v&Param2=v&param0=v"
        );
        assert_eq!(canonical_query(b"k&e=", false), "e=&k=");
        assert_eq!(canonical_query(b"a=x+y&b=%7e&c=%2f", false), "a=x%2By&b=~&c=%2F");
        assert_eq!(canonical_query(b"X-Amz-Signature=abc&z=1", true), "z=1");
        assert_eq!(canonical_query(b"X-Amz-Signature=abc&z=1", false), "X-Amz-Signature=abc&z=1");
        assert_eq!(canonical_query(b"", false), "");
    }

    #[test]
    fn header_values_are_trimmed_and_joined() {
        let headers = vec![
            (":authority".to_string(), b"example.com".to_vec()),
            ("my".to_string(), b"  a   b \t c ".to_vec()),
            ("my".to_string(), b"d".to_vec()),
        ];
        let mut out = Vec::new();
        push_canonical_headers(&mut out, &headers, &["host".into(), "my".into(), "none".into()]);
        assert_eq!(String::from_utf8(out).unwrap(), "host:example.com\nmy:a b c,d\nnone:\n");
    }
}
