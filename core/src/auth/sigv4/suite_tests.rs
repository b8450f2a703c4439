//! AWS's SigV4 test suite (`core/tests/data/aws-sig-v4-test-suite`, Apache-2.0): for every case
//! the canonical request and the string to sign must match byte for byte, and the signed request
//! must verify; any change to it must not.

use super::canonical::{canonical_request, string_to_sign, Parts};
use super::*;
use crate::test_support::test;

const SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const NOW: i64 = 1_440_938_160; // 20150830T123600Z
const RULES: Rules<'static> = Rules { region: "us-east-1", service: "service", max_skew: 300 };

struct Case {
    name: &'static str,
    creq: &'static str,
    sts: &'static str,
    req: &'static str,
    authz: &'static str,
}

macro_rules! case {
    ($dir:literal, $name:literal) => {
        Case {
            name: $name,
            creq: include_str!(concat!(
                "../../../tests/data/aws-sig-v4-test-suite/",
                $dir,
                "/",
                $name,
                ".creq"
            )),
            sts: include_str!(concat!(
                "../../../tests/data/aws-sig-v4-test-suite/",
                $dir,
                "/",
                $name,
                ".sts"
            )),
            req: include_str!(concat!(
                "../../../tests/data/aws-sig-v4-test-suite/",
                $dir,
                "/",
                $name,
                ".req"
            )),
            authz: include_str!(concat!(
                "../../../tests/data/aws-sig-v4-test-suite/",
                $dir,
                "/",
                $name,
                ".authz"
            )),
        }
    };
    ($name:literal) => {
        case!($name, $name)
    };
}

fn cases() -> Vec<Case> {
    vec![
        case!("get-header-key-duplicate"),
        case!("get-header-value-multiline"),
        case!("get-header-value-order"),
        case!("get-header-value-trim"),
        case!("get-unreserved"),
        case!("get-utf8"),
        case!("get-vanilla"),
        case!("get-vanilla-empty-query-key"),
        case!("get-vanilla-query"),
        case!("get-vanilla-query-order-key"),
        case!("get-vanilla-query-order-key-case"),
        case!("get-vanilla-query-order-value"),
        case!("get-vanilla-query-unreserved"),
        case!("get-vanilla-utf8-query"),
        case!("normalize-path/get-relative", "get-relative"),
        case!("normalize-path/get-relative-relative", "get-relative-relative"),
        case!("normalize-path/get-slash", "get-slash"),
        case!("normalize-path/get-slash-dot-slash", "get-slash-dot-slash"),
        case!("normalize-path/get-slash-pointless-dot", "get-slash-pointless-dot"),
        case!("normalize-path/get-slashes", "get-slashes"),
        case!("normalize-path/get-space", "get-space"),
        case!("post-header-key-case"),
        case!("post-header-key-sort"),
        case!("post-header-value-case"),
        case!("post-sts-token/post-sts-header-after", "post-sts-header-after"),
        case!("post-sts-token/post-sts-header-before", "post-sts-header-before"),
        case!("post-vanilla"),
        case!("post-vanilla-empty-query-value"),
        case!("post-vanilla-query"),
        case!("post-x-www-form-urlencoded"),
        case!("post-x-www-form-urlencoded-parameters"),
    ]
}

/// A request as the suite writes it; a folded header line is another value of the header above
/// (the suite joins them with commas, as repeated headers).
struct Raw {
    method: Vec<u8>,
    path: Vec<u8>,
    query: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

/// The case's request (`.req`) with its `Authorization` (`.authz`). (The suite's `.sreq` files
/// are not all consistent with their `.creq`; `.req` + `.authz` are.)
fn signed(case: &Case) -> Raw {
    let mut raw = parse_request(case.req);
    raw.headers.push(("authorization".into(), case.authz.trim().as_bytes().to_vec()));
    raw
}

fn parse_request(text: &str) -> Raw {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let first = lines.next().unwrap();
    let (method, rest) = first.split_once(' ').unwrap();
    let target = rest.rsplit_once(' ').unwrap().0;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let name = headers.last().unwrap().0.clone();
            headers.push((name, line.as_bytes().to_vec()));
        } else {
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_ascii_lowercase(), value.as_bytes().to_vec()));
        }
    }
    Raw {
        method: method.as_bytes().to_vec(),
        path: path.as_bytes().to_vec(),
        query: query.as_bytes().to_vec(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

impl Raw {
    fn request(&self) -> Request<'_> {
        Request {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }
}

fn secret(raw: &Raw) -> Secret<'_> {
    Secret {
        secret_access_key: SECRET,
        session_token: parse::header(&raw.headers, "x-amz-security-token"),
    }
}

fn check(raw: &Raw) -> Result<(), SigError> {
    let p = presented(&raw.headers, &raw.query)?;
    verify(&raw.request(), &p, secret(raw), 0, RULES, NOW, &mut KeyCache::default())
}

/// Errata in the suite as published. This case's `.creq` lists content-length, but its `.sts` and
/// `.authz` were made without it (sha256 of the `.creq` is not the hash in the `.sts`); the
/// string to sign and the signature still pin the canonical request.
const CREQ_ERRATUM: &str = "post-x-www-form-urlencoded";
/// This case's `.sts` and `.authz` were made from another request (`charset=utf8`, no
/// content-length): its `.creq` is checked, its signature cannot be.
const STS_ERRATUM: &str = "post-x-www-form-urlencoded-parameters";

#[test]
fn canonical_request_and_string_to_sign_match_the_suite() {
    for case in cases() {
        let raw = signed(&case);
        let p = presented(&raw.headers, &raw.query).unwrap();
        let creq = canonical_request(&Parts {
            method: &raw.method,
            path: &raw.path,
            query: &raw.query,
            headers: &raw.headers,
            signed_headers: &p.signed_headers,
            presigned: false,
            payload_hash: &canonical::sha256_hex(&raw.body),
        });
        if case.name != CREQ_ERRATUM {
            assert_eq!(String::from_utf8(creq.clone()).unwrap(), case.creq, "{}", case.name);
        }
        if case.name != STS_ERRATUM {
            let scope = format!("{}/{}/{}/{}", p.scope_date, p.region, p.service, p.terminator);
            assert_eq!(string_to_sign(&p.amz_date, &scope, &creq), case.sts, "{}", case.name);
        }
    }
}

#[test]
fn every_signed_request_of_the_suite_verifies() {
    for case in cases().into_iter().filter(|c| c.name != STS_ERRATUM) {
        let mut raw = signed(&case);
        if case.name == "post-sts-header-after" {
            // The token is added after signing: Tollgate wants every x-amz-* header signed.
            raw.headers.push(("x-amz-security-token".into(), b"AQoDYXdzEPT".to_vec()));
        }
        let result = check(&raw);
        if case.name == "post-sts-header-after" {
            assert_eq!(
                result,
                Err(SigError::Incomplete(
                    "'x-amz-security-token' must be a 'SignedHeader' in the AWS Authorization."
                        .into()
                ))
            );
        } else {
            assert_eq!(result, Ok(()), "{}", case.name);
        }
    }
}

#[test]
fn any_change_to_a_signed_request_is_refused() {
    let skip = ["post-sts-header-after", STS_ERRATUM];
    for case in cases().into_iter().filter(|c| !skip.contains(&c.name)) {
        let base = signed(&case);
        let tampered: Vec<(&str, Raw)> = vec![
            ("method", Raw { method: b"PUT".to_vec(), ..signed(&case) }),
            ("path", Raw { path: [&base.path[..], b"x"].concat(), ..signed(&case) }),
            ("query", Raw { query: [&base.query[..], b"&z=1"].concat(), ..signed(&case) }),
            ("body", Raw { body: [&base.body[..], b" "].concat(), ..signed(&case) }),
            ("host", {
                let mut r = signed(&case);
                r.headers.retain(|(n, _)| n != "host");
                r.headers.push(("host".into(), b"evil.example.com".to_vec()));
                r
            }),
        ];
        for (what, raw) in tampered {
            assert!(
                matches!(check(&raw), Err(SigError::Mismatch(Some(_)))),
                "{}: changed {what} still verifies",
                case.name
            );
        }
    }
}

#[test]
fn wrong_secret_scope_time_and_token_are_refused() {
    let raw = signed(&case!("get-vanilla"));
    let p = presented(&raw.headers, &raw.query).unwrap();
    let req = raw.request();
    let run = |secret: Secret<'_>, rules: Rules<'_>, now: i64| {
        verify(&req, &p, secret, 0, rules, now, &mut KeyCache::default())
    };
    let good = Secret { secret_access_key: SECRET, session_token: None };
    let wrong = Secret { secret_access_key: b"not-the-secret", session_token: None };
    assert!(matches!(run(wrong, RULES, NOW), Err(SigError::Mismatch(_))));
    let eu = Rules { region: "eu-west-1", ..RULES };
    assert_eq!(
        run(good, eu, NOW).unwrap_err().message(),
        "Credential should be scoped to a valid region, not 'us-east-1'. "
    );
    let api = Rules { service: "execute-api", ..RULES };
    assert_eq!(
        run(good, api, NOW).unwrap_err().message(),
        "Credential should be scoped to correct service: 'execute-api'. "
    );
    assert_eq!(
        run(good, RULES, NOW + 301).unwrap_err().message(),
        "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T124101Z - 5 min.)"
    );
    assert_eq!(run(good, RULES, NOW + 300), Ok(()));
    assert_eq!(
        run(good, RULES, NOW - 301).unwrap_err().message(),
        "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z (20150830T123059Z + 5 min.)"
    );
    let temp = Secret { secret_access_key: SECRET, session_token: Some(b"token") };
    assert_eq!(run(temp, RULES, NOW), Err(SigError::UnknownKey));
    assert_eq!(SigError::UnknownKey.error_type(), "UnrecognizedClientException");
}

#[test]
fn signing_keys_are_cached_per_credential_and_date() {
    let raw = signed(&case!("get-vanilla"));
    let p = presented(&raw.headers, &raw.query).unwrap();
    let mut cache = KeyCache::default();
    let good = Secret { secret_access_key: SECRET, session_token: None };
    assert_eq!(verify(&raw.request(), &p, good, 7, RULES, NOW, &mut cache), Ok(()));
    assert_eq!(cache.entries.len(), 1);
    assert_eq!(verify(&raw.request(), &p, good, 7, RULES, NOW, &mut cache), Ok(()));
    assert_eq!(cache.entries.len(), 1);
    // Another credential index derives its own key, so a cached key never serves another secret.
    let wrong = Secret { secret_access_key: b"x", session_token: None };
    assert!(verify(&raw.request(), &p, wrong, 8, RULES, NOW, &mut cache).is_err());
    assert_eq!(cache.entries.len(), 2);
}

#[test]
fn presigned_query_form_verifies() {
    // Sign a presigned URL by the book (the suite has none), then verify it.
    let headers = vec![(":authority".to_string(), b"api.example.com".to_vec())];
    let query_unsigned = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&name=caf%C3%A9";
    let creq = canonical_request(&Parts {
        method: b"GET",
        path: b"/pets",
        query: query_unsigned.as_bytes(),
        headers: &headers,
        signed_headers: &["host".to_string()],
        presigned: true,
        payload_hash: &canonical::sha256_hex(b""),
    });
    let sts = string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", &creq);
    let key = signing_key(SECRET, "20150830", "us-east-1", "service");
    let signature = crate::text::hex::hex(&hmac(&key, sts.as_bytes()));
    let query = format!("{query_unsigned}&X-Amz-Signature={signature}");
    let req = Request {
        method: b"GET",
        path: b"/pets",
        query: query.as_bytes(),
        headers: &headers,
        body: b"",
    };
    let p = presented(&headers, query.as_bytes()).unwrap();
    assert_eq!(p.form, Form::Query { expires: 60 });
    let good = Secret { secret_access_key: SECRET, session_token: None };
    let mut cache = KeyCache::default();
    assert_eq!(verify(&req, &p, good, 0, RULES, NOW + 60, &mut cache), Ok(()));
    assert_eq!(
        verify(&req, &p, good, 0, RULES, NOW + 61, &mut cache).unwrap_err().message(),
        "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T123701Z - 1 min.)"
    );
    let other = query.replace("name=caf", "name=cafe");
    let req = Request { query: other.as_bytes(), ..req };
    assert!(matches!(
        verify(&req, &p, good, 0, RULES, NOW, &mut cache),
        Err(SigError::Mismatch(_))
    ));
}

#[test]
fn incomplete_and_missing_signatures() {
    let h = |v: &str| vec![("authorization".to_string(), v.as_bytes().to_vec())];
    assert_eq!(presented(&[], b"a=1").unwrap_err(), SigError::Missing);
    let e = presented(&h("Bearer abc"), b"").unwrap_err();
    assert_eq!(e.error_type(), "IncompleteSignatureException");
    assert_eq!(
        e.message(),
        "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
    );
    let mut headers =
        h("AWS4-HMAC-SHA256 Credential=AKID/20261125/eu-west-1/execute-api/aws4_request");
    headers.push(("x-amz-date".into(), b"20261125T000000Z".to_vec()));
    assert_eq!(
        presented(&headers, b"").unwrap_err().message(),
        "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter."
    );
    let e = presented(&[], b"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=x").unwrap_err();
    assert!(e.message().contains("'X-Amz-Credential'"), "{e}");
    let e = presented(&[], b"X-Amz-Algorithm=HMAC").unwrap_err();
    assert_eq!(e.error_type(), "IncompleteSignatureException");
    let e = presented(&h("\u{fffd}\u{0}"), b"").unwrap_err();
    assert_eq!(e.error_type(), "IncompleteSignatureException");
}

#[test]
fn authorization_signs_as_the_suite_does() {
    for case in cases().into_iter().filter(|c| c.name != STS_ERRATUM) {
        let raw = signed(&case);
        let p = presented(&raw.headers, &raw.query).unwrap();
        let signer = Signer {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: SECRET,
            region: "us-east-1",
            service: "service",
            amz_date: "20150830T123600Z",
        };
        assert_eq!(
            authorization(&raw.request(), &p.signed_headers, signer),
            case.authz.trim(),
            "{}",
            case.name
        );
    }
}
