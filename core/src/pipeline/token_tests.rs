//! Token authorizers through the pipeline: an HS256 authorizer with inline keys, and one whose
//! keys come from a JWKS URL (fetched on demand, then the request is decided).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::*;
use crate::host::memory::MemoryHost;
use crate::test_support::test;

const NOW: i64 = 1_764_072_000;
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const ISSUER: &str = "https://issuer.example";

pub(super) fn jwks(kid: &str) -> serde_json::Value {
    serde_json::json!({"keys": [{"kty": "oct", "kid": kid, "alg": "HS256", "k": URL_SAFE_NO_PAD.encode(SECRET)}]})
}

fn plan() -> Plan {
    let config = serde_json::json!({
        "api": {"id": "petstore"},
        "authorizers": [
            {"id": "inline", "type": "JWT", "issuers": [ISSUER], "audiences": ["app"],
             "jwks": jwks("k1"), "claims_to_headers": {"sub": "x-user-sub", "email": "x-user-email"}},
            {"id": "fetched", "type": "COGNITO_USER_POOLS", "issuers": [ISSUER],
             "jwks_uri": {"cluster": "jwks", "authority": "idp.example", "path": "/jwks.json"}},
        ],
        "methods": [
            {"resource": "/pets", "http_method": "GET", "authorization_type": "JWT", "authorizer_id": "inline"},
            {"resource": "/pets", "http_method": "POST", "authorization_type": "JWT", "authorizer_id": "inline",
             "authorization_scopes": ["pets/write"]},
            {"resource": "/pool", "http_method": "GET", "authorization_type": "COGNITO_USER_POOLS", "authorizer_id": "fetched"},
        ],
        "filter_state": true,
    });
    Plan::from_json(config.to_string().as_bytes()).unwrap()
}

pub(super) fn token(kid: &str, claims: serde_json::Value) -> String {
    let header = serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": kid});
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
    mac.update(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

pub(super) fn claims(extra: serde_json::Value) -> serde_json::Value {
    let mut c = serde_json::json!({"iss": ISSUER, "aud": "app", "sub": "user-1", "email": "a@example.com", "token_use": "id",
                                   "iat": NOW - 10, "exp": NOW + 600});
    for (k, v) in extra.as_object().unwrap() {
        match v {
            serde_json::Value::Null => {
                c.as_object_mut().unwrap().remove(k);
            }
            v => c[k] = v.clone(),
        }
    }
    c
}

fn request(method: &str, path: &str, token: Option<&str>) -> MemoryHost {
    let mut host = MemoryHost::request(method, path).with_header("x-user-sub", "forged");
    if let Some(t) = token {
        host = host.with_header("authorization", format!("Bearer {t}"));
    }
    host.now_nanos = u64::try_from(NOW).unwrap() * 1_000_000_000;
    host
}

fn message(host: &MemoryHost) -> (u16, String) {
    let reply = host.reply.as_ref().expect("a reply");
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    (reply.status, body["message"].as_str().unwrap().to_string())
}

#[test]
fn a_valid_token_passes_with_its_claims_upstream() {
    let plan = plan();
    let mut worker = Worker::default();
    let mut host = request("GET", "/pets", Some(&token("k1", claims(serde_json::json!({})))));
    let flow = on_request_headers(&plan, &mut worker, &mut host, &mut Exchange::default(), true);
    assert_eq!(flow, Flow::Continue);
    assert_eq!(host.header("x-user-sub"), Some(&b"user-1"[..]));
    assert_eq!(host.header("x-user-email"), Some(&b"a@example.com"[..]));
    assert_eq!(host.filter_state.get(SUBJECT_STATE).map(Vec::as_slice), Some(&b"user-1"[..]));
    // A claim the token lacks (no `sub`) removes the client's header rather than passing it on.
    let mut host =
        request("GET", "/pets", Some(&token("k1", claims(serde_json::json!({"sub": null})))));
    on_request_headers(&plan, &mut worker, &mut host, &mut Exchange::default(), true);
    assert_eq!(host.header("x-user-sub"), None);
    assert_eq!(host.header("x-user-email"), Some(&b"a@example.com"[..]));
}

#[test]
fn missing_invalid_expired_and_unscoped_tokens_are_refused() {
    let plan = plan();
    let cases: Vec<(&str, Option<String>, u16, &str)> = vec![
        ("GET", None, 401, "Unauthorized"),
        ("GET", Some("garbage".into()), 401, "Unauthorized"),
        (
            "GET",
            Some(token("k1", claims(serde_json::json!({"exp": NOW - 1})))),
            401,
            "The incoming token has expired",
        ),
        (
            "GET",
            Some(token("k1", claims(serde_json::json!({"iss": "https://evil.example"})))),
            401,
            "Unauthorized",
        ),
        (
            "GET",
            Some(token("k1", claims(serde_json::json!({"aud": "other"})))),
            401,
            "Unauthorized",
        ),
        ("GET", Some(token("k2", claims(serde_json::json!({})))), 401, "Unauthorized"),
        (
            "POST",
            Some(token(
                "k1",
                claims(serde_json::json!({"scope": "pets/read", "token_use": "access"})),
            )),
            401,
            "Unauthorized",
        ),
    ];
    for (method, t, status, msg) in cases {
        let mut host = request(method, "/pets", t.as_deref());
        let flow = on_request_headers(
            &plan,
            &mut Worker::default(),
            &mut host,
            &mut Exchange::default(),
            true,
        );
        assert_eq!(flow, Flow::Replied, "{t:?}");
        assert_eq!(message(&host), (status, msg.to_string()), "{t:?}");
    }
    let mut host = request(
        "POST",
        "/pets",
        Some(&token(
            "k1",
            claims(serde_json::json!({"scope": "pets/read pets/write", "token_use": "access"})),
        )),
    );
    let flow = on_request_headers(
        &plan,
        &mut Worker::default(),
        &mut host,
        &mut Exchange::default(),
        true,
    );
    assert_eq!(flow, Flow::Continue);
}

/// The flow is a JWKS fetch (a GET through the authorizer's cluster).
fn fetches_keys(flow: Flow) -> Callout {
    match flow {
        Flow::Call(call) => {
            assert_eq!(call.header(":method"), Some("GET"), "{call:?}");
            assert_eq!(call.header("accept"), Some("application/json"));
            call
        }
        other => panic!("expected a JWKS fetch, got {other:?}"),
    }
}

/// A 200 with `body`.
fn fetched(body: &str) -> CalloutResponse {
    CalloutResponse { status: 200, headers: Vec::new(), body: body.as_bytes().to_vec() }
}

#[test]
fn keys_are_fetched_on_demand_then_the_request_is_decided() {
    let plan = plan();
    let mut worker = Worker::default();
    let t = token("k1", claims(serde_json::json!({})));
    let mut host = request("GET", "/pool", Some(&t));
    let mut exchange = Exchange::default();
    let flow = on_request_headers(&plan, &mut worker, &mut host, &mut exchange, true);
    fetches_keys(flow);
    let body = jwks("k1").to_string();
    let flow = on_callout_response(&plan, &mut worker, &mut host, &mut exchange, fetched(&body));
    assert_eq!(
        flow,
        Flow::Continue,
        "{:?}",
        host.reply.as_ref().map(|r| String::from_utf8_lossy(&r.body).into_owned())
    );
    assert!(host.logs.iter().any(|(_, l)| l.contains("JWKS loaded, 1 keys")), "{:?}", host.logs);
    // The next request finds the keys (and the verified token in the cache).
    let mut host = request("GET", "/pool", Some(&t));
    assert_eq!(
        on_request_headers(&plan, &mut worker, &mut host, &mut Exchange::default(), true),
        Flow::Continue
    );
    // Later, an unknown kid asks for one refetch (at most one per 30 s); a failed fetch refuses
    // the request.
    let later = 31 * 1_000_000_000;
    let mut host = request("GET", "/pool", Some(&token("k9", claims(serde_json::json!({})))));
    host.now_nanos += later;
    let mut exchange = Exchange::default();
    let flow = on_request_headers(&plan, &mut worker, &mut host, &mut exchange, true);
    fetches_keys(flow);
    let failed = CalloutResponse::failed();
    let flow = on_callout_response(&plan, &mut worker, &mut host, &mut exchange, failed);
    assert_eq!(flow, Flow::Replied);
    assert!(host.logs.iter().any(|(_, l)| l.contains("JWKS not loaded")), "{:?}", host.logs);
    assert_eq!(message(&host), (401, "Unauthorized".into()));
    // Rate-limited: another unknown kid right away does not fetch again, and old keys still serve.
    let mut host = request("GET", "/pool", Some(&token("k8", claims(serde_json::json!({})))));
    host.now_nanos += later;
    assert_eq!(
        on_request_headers(&plan, &mut worker, &mut host, &mut Exchange::default(), true),
        Flow::Replied
    );
    let mut host = request("GET", "/pool", Some(&t));
    assert_eq!(
        on_request_headers(&plan, &mut worker, &mut host, &mut Exchange::default(), true),
        Flow::Continue
    );
}

#[test]
fn no_keys_at_all_fails_closed() {
    let plan = plan();
    let mut worker = Worker::default();
    let mut host = request("GET", "/pool", Some(&token("k1", claims(serde_json::json!({})))));
    let mut exchange = Exchange::default();
    fetches_keys(on_request_headers(&plan, &mut worker, &mut host, &mut exchange, true));
    let flow =
        on_callout_response(&plan, &mut worker, &mut host, &mut exchange, fetched("not json"));
    assert_eq!(flow, Flow::Replied);
    assert_eq!(host.reply.as_ref().unwrap().status, 500);
}

#[test]
fn background_refresh_is_scheduled_for_fetched_keys_only() {
    let plan = plan();
    let mut worker = Worker::default();
    let due = |worker: &mut Worker, now| -> Vec<usize> {
        jwks_refresh_due(&plan, worker, now).into_iter().map(|(i, _)| i).collect()
    };
    let first = jwks_refresh_due(&plan, &mut worker, NOW);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].0, 1);
    assert_eq!(first[0].1.header(":method"), Some("GET"));
    assert_eq!(due(&mut worker, NOW), Vec::<usize>::new(), "in flight");
    let mut host = MemoryHost {
        now_nanos: u64::try_from(NOW).unwrap() * 1_000_000_000,
        ..MemoryHost::default()
    };
    let body = jwks("k1").to_string();
    on_background_keys(&plan, &mut worker, &mut host, 1, &fetched(&body));
    assert!(host.logs.iter().any(|(_, l)| l.contains("JWKS loaded, 1 keys")), "{:?}", host.logs);
    assert_eq!(due(&mut worker, NOW + 1), Vec::<usize>::new());
}

#[test]
fn inline_keys_must_all_be_usable() {
    let mut keys = jwks("k1");
    keys["keys"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"kty": "oct", "kid": "short", "alg": "HS256", "k": "c2hvcnQ"}));
    let config = serde_json::json!({
        "api": {"id": "petstore"},
        "authorizers": [{"id": "inline", "type": "JWT", "issuers": [ISSUER], "jwks": keys}],
    });
    let e = Plan::from_json(config.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.path, "authorizers[0].jwks", "{e}");
    assert!(e.reason.contains("keys[1]"), "{e}");
}

#[test]
fn claims_with_control_characters_never_reach_headers_or_logs() {
    let plan = plan();
    let evil = claims(serde_json::json!({"sub": "user-1\r\nx-injected: yes", "email": "a\u{0}b"}));
    let mut host = request("GET", "/pets", Some(&token("k1", evil)));
    let flow = on_request_headers(
        &plan,
        &mut Worker::default(),
        &mut host,
        &mut Exchange::default(),
        true,
    );
    assert_eq!(flow, Flow::Continue);
    assert_eq!(host.header("x-user-sub"), None, "the forged client header is removed too");
    assert_eq!(host.header("x-user-email"), None);
    assert!(!host.filter_state.contains_key(SUBJECT_STATE));
}

/// An authorizer over two user pools (AWS's `providerARNs`): a token is verified with the keys
/// of the pool its `iss` names, each pool's keys fetched from its own JWKS; a token of neither
/// pool is refused.
#[test]
fn an_authorizer_over_two_pools_uses_each_pools_keys() {
    const OTHER: &str = "https://other-pool.example";
    let config = serde_json::json!({
        "api": {"id": "petstore"},
        "authorizers": [{"id": "pools", "type": "COGNITO_USER_POOLS", "issuers": [ISSUER, OTHER],
            "jwks_uris": [{"cluster": "idp", "authority": "idp.example", "path": "/one/jwks.json"},
                          {"cluster": "idp", "authority": "idp.example", "path": "/two/jwks.json"}]}],
        "methods": [{"resource": "/pool", "http_method": "GET",
                     "authorization_type": "COGNITO_USER_POOLS", "authorizer_id": "pools"}],
    });
    let plan = Plan::from_json(config.to_string().as_bytes()).unwrap();
    let mut worker = Worker::default();
    for (issuer, path) in [(ISSUER, "/one/jwks.json"), (OTHER, "/two/jwks.json")] {
        let t = token("k1", claims(serde_json::json!({"iss": issuer})));
        let mut host = request("GET", "/pool", Some(&t));
        let mut exchange = Exchange::default();
        let call =
            fetches_keys(on_request_headers(&plan, &mut worker, &mut host, &mut exchange, true));
        assert_eq!(call.header(":path"), Some(path), "{issuer}");
        let body = jwks("k1").to_string();
        let flow =
            on_callout_response(&plan, &mut worker, &mut host, &mut exchange, fetched(&body));
        assert_eq!(flow, Flow::Continue, "{issuer}: {:?}", host.reply);
    }
    let t = token("k1", claims(serde_json::json!({"iss": "https://third.example"})));
    let mut host = request("GET", "/pool", Some(&t));
    assert_eq!(
        on_request_headers(&plan, &mut worker, &mut host, &mut Exchange::default(), true),
        Flow::Replied
    );
    assert_eq!(message(&host).0, 401);
    // Each pool's keys are refreshed in the background.
    assert_eq!(plan.authorizers.iter().filter(|a| a.jwks_uri.is_some()).count(), 2);
}
