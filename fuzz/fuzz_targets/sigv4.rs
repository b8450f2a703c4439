//! SigV4: the `Authorization` header (or presigned query) taken apart, the canonical request
//! and the signature check; and a round trip: the same request, signed here over its headers,
//! verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_core::auth::sigv4::{self, KeyCache, Request, Rules, Secret, Signer};
use tollgate_fuzz::{split_target, Message};

// The AWS test suite's secret, clock and scope (the seeds are its requests).
const SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const NOW: i64 = 1_440_938_160;
const AMZ_DATE: &str = "20150830T123600Z";
const RULES: Rules<'static> = Rules { region: "us-east-1", service: "service", max_skew: 300 };

fuzz_target!(|data: &[u8]| {
    let msg = Message::parse(data);
    let (method, target) = msg.request_line();
    let (path, query) = split_target(&target);
    let req = Request { method: &method, path, query, headers: &msg.headers, body: &msg.body };
    let token = msg.header("x-amz-security-token");
    let secret = Secret { secret_access_key: SECRET, session_token: token };
    let mut cache = KeyCache::default();
    if let Ok(presented) = sigv4::presented(&msg.headers, query) {
        if let Err(e) = sigv4::verify(&req, &presented, secret, 0, RULES, NOW, &mut cache) {
            let _ = (e.error_type(), e.message());
        }
    }
    round_trip(&req);
});

fn round_trip(req: &Request<'_>) {
    // A query with presigned parameters is the other form: not this check's.
    if req.query.windows(9).any(|w| w.eq_ignore_ascii_case(b"x-amz-alg")) {
        return;
    }
    let dropped = ["authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"];
    let mut headers: Vec<(String, Vec<u8>)> = req
        .headers
        .iter()
        .filter(|(n, _)| !dropped.contains(&n.as_str()) && (is_token(n) || n.starts_with(':')))
        .cloned()
        .collect();
    if !headers.iter().any(|(n, _)| n == "host" || n == ":authority") {
        headers.push(("host".into(), b"example.amazonaws.com".to_vec()));
    }
    headers.push(("x-amz-date".into(), AMZ_DATE.as_bytes().to_vec()));
    let mut names: Vec<String> =
        headers.iter().map(|(n, _)| n.clone()).filter(|n| is_token(n)).collect();
    names.push("host".into());
    names.sort();
    names.dedup();
    let signer = Signer {
        access_key_id: "AKIDEXAMPLE",
        secret_access_key: SECRET,
        region: RULES.region,
        service: RULES.service,
        amz_date: AMZ_DATE,
    };
    let unsigned = Request { headers: &headers, ..*req };
    let authorization = sigv4::authorization(&unsigned, &names, signer);
    headers.push(("authorization".into(), authorization.into_bytes()));
    let signed = Request { headers: &headers, ..*req };
    let secret = Secret { secret_access_key: SECRET, session_token: None };
    let verified = sigv4::presented(&headers, req.query)
        .and_then(|p| sigv4::verify(&signed, &p, secret, 0, RULES, NOW, &mut KeyCache::default()));
    assert!(verified.is_ok(), "a request signed over its headers does not verify: {verified:?}");
}

/// A header name as Envoy passes it on: lowercase token characters.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.!#$%&'*+^`|~".contains(&b)
        })
}
