//! Lambda authorizers (CUSTOM methods) through a real Envoy: the authorizer functions are the
//! lambda-authorizer example's Python files (plus test-only ones) run by the local Lambda emulator
//! (`examples/lambda-emulator`, a real `python3` process) that the filter invokes through the
//! Envoy cluster `lambda` with the Lambda Invoke API. Asserted: AWS's status codes, bodies and
//! error types, what the upstream saw (principal and context headers, the key id), how often each
//! function ran (the result cache shared by both workers, TTL 0, TTL expiry, requests refused
//! before any call), the authorizer's `usageIdentifierKey` as the API key of a usage plan.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tollgate_e2e::assert_gateway_error as assert_error;
use tollgate_e2e::{
    request, root, scratch_dir, Envoy, EnvoyOptions, LambdaEmulator, Response, Upstream,
};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");

const UNAUTHORIZED: &str = "Unauthorized";
const NOT_AUTHORIZED: &str = "User is not authorized to access this resource";
const INTERNAL: &str = "Internal server error";
const TOO_MANY: &str = "Too Many Requests";

/// The functions of the example (`token_authorizer`, `request_authorizer`).
const TOKEN_FN: &str = "token_authorizer";
const REQUEST_FN: &str = "request_authorizer";
/// Test-only: sleeps past its authorizer's 500 ms timeout.
const SLOW_FN: &str = "slow_authorizer";
/// Test-only: the example's token authorizer again, behind an authorizer with a 2 s TTL.
const TTL_FN: &str = "ttl_authorizer";
/// Test-only: the example's request authorizer again, behind a REQUEST authorizer with caching.
const REQ_CACHED_FN: &str = "cached_request_authorizer";
/// Test-only: allows the method and returns the event it got as its context (`event`).
const EVENT_FN: &str = "event_authorizer";

/// The config of `examples/lambda-authorizer` (as the task specifies it), plus test-only
/// authorizers and methods: `/slow` (a function slower than its timeout), `/ttl` (results cached
/// for 2 s), `/ghost` (a function that does not exist), `/token-event` and `/events/{id}` (a
/// function that returns the event it got, TOKEN and REQUEST).
fn config() -> Value {
    let lambda = |name: &str| json!({"cluster": "lambda", "authority": "lambda.us-east-1.amazonaws.com", "name": name});
    let custom = |resource: &str, authorizer: &str| json!({"resource": resource, "http_method": "GET", "authorization_type": "CUSTOM", "authorizer_id": authorizer});
    json!({
        "api": {"id": "lambdaauth", "region": "us-east-1", "account_id": "123456789012"},
        "api_key_id_header": "x-tollgate-api-key-id",
        "filter_state": true,
        "stage": {"name": "prod", "variables": {"v": "1"}},
        "api_key_source": "AUTHORIZER",
        "lambda_authorizers": [
            {"id": "tok", "type": "TOKEN",
             "function": {"cluster": "lambda", "authority": "lambda.us-east-1.amazonaws.com", "name": TOKEN_FN, "timeout_ms": 2000},
             "identity_source": "method.request.header.Authorization",
             "identity_validation_expression": "^(allow|deny|unauthorized|fail|slow|garbage)$",
             "result_ttl_seconds": 300},
            {"id": "req", "type": "REQUEST", "function": lambda(REQUEST_FN),
             "identity_source": "method.request.header.x-auth, method.request.querystring.token",
             "result_ttl_seconds": 0},
            {"id": "slow", "type": "TOKEN",
             "function": {"cluster": "lambda", "authority": "lambda.us-east-1.amazonaws.com", "name": SLOW_FN, "timeout_ms": 500},
             "identity_source": "method.request.header.Authorization", "result_ttl_seconds": 0},
            {"id": "ttl", "type": "TOKEN", "function": lambda(TTL_FN),
             "identity_source": "method.request.header.Authorization", "result_ttl_seconds": 2},
            {"id": "tokevent", "type": "TOKEN", "function": lambda(EVENT_FN), "result_ttl_seconds": 0},
            {"id": "reqevent", "type": "REQUEST", "function": lambda(EVENT_FN),
             "identity_source": "method.request.header.x-auth", "result_ttl_seconds": 0},
            {"id": "reqcached", "type": "REQUEST", "function": lambda(REQ_CACHED_FN),
             "identity_source": "method.request.header.x-auth, method.request.querystring.token",
             "result_ttl_seconds": 300},
            {"id": "ghost", "type": "TOKEN", "function": lambda("no_such_function"),
             "identity_source": "method.request.header.Authorization", "result_ttl_seconds": 0},
        ],
        "methods": [
            custom("/pets", "tok"),
            custom("/pets/{petId}", "req"),
            {"resource": "/limited", "http_method": "GET", "authorization_type": "CUSTOM", "authorizer_id": "tok", "api_key_required": true},
            custom("/slow", "slow"),
            custom("/ttl", "ttl"),
            custom("/ghost", "ghost"),
            custom("/token-event", "tokevent"),
            custom("/cached/{petId}", "reqcached"),
            {"resource": "/keyless", "http_method": "GET", "authorization_type": "CUSTOM", "authorizer_id": "tokevent", "api_key_required": true},
            custom("/events/{id}", "reqevent"),
        ],
        "api_keys": [{"id": "k-auth", "value_sha256": sha256_hex("key-from-authorizer"), "usage_plan_ids": ["tiny"]}],
        "usage_plans": [{"id": "tiny", "throttle": {"rate": 0.01, "burst": 2},
                         "api_stages": [{"api_id": "lambdaauth", "stage": "prod"}]}],
    })
}

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

const SLOW_PY: &str = r#"import time


def handler(event, context):
    time.sleep(1.5)
    return {'principalId': 'late', 'policyDocument': {'Version': '2012-10-17', 'Statement': [
        {'Action': 'execute-api:Invoke', 'Effect': 'Allow', 'Resource': event['methodArn']}]}}
"#;

const EVENT_PY: &str = r#"import json


def handler(event, context):
    return {'principalId': 'events', 'policyDocument': {'Version': '2012-10-17', 'Statement': [
        {'Action': 'execute-api:Invoke', 'Effect': 'Allow', 'Resource': event['methodArn']}]},
        'context': {'event': json.dumps(event, sort_keys=True), 'function': context.function_name}}
"#;

/// The example's authorizers plus the test-only functions, in a scratch directory.
fn functions_dir() -> PathBuf {
    let dir = scratch_dir("lambda-functions");
    let example = root().join("examples/lambda-authorizer/authorizers");
    let copy = |from: &str, to: &str| {
        std::fs::copy(example.join(format!("{from}.py")), dir.join(format!("{to}.py")))
            .expect("copy an example authorizer");
    };
    copy(TOKEN_FN, TOKEN_FN);
    copy(REQUEST_FN, REQUEST_FN);
    copy(TOKEN_FN, TTL_FN);
    copy(REQUEST_FN, REQ_CACHED_FN);
    std::fs::write(dir.join(format!("{SLOW_FN}.py")), SLOW_PY).expect("write slow authorizer");
    std::fs::write(dir.join(format!("{EVENT_FN}.py")), EVENT_PY).expect("write event authorizer");
    dir
}

/// The Lambda emulator, the echo upstream and Envoy (two workers) with `config()`.
struct Gateway {
    port: u16,
    envoy: Envoy,
    lambda: LambdaEmulator,
    _upstream: Upstream,
}

impl Gateway {
    fn start() -> Gateway {
        let lambda = LambdaEmulator::start(&functions_dir());
        let upstream = Upstream::start(UPSTREAM, "echo");
        let options = EnvoyOptions::new(config(), upstream.port).cluster("lambda", lambda.port);
        let envoy = Envoy::start(&options).unwrap_or_else(|log| panic!("{log}"));
        Gateway { port: envoy.port, envoy, lambda, _upstream: upstream }
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        let headers: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
        request(self.port, "GET", path.as_bytes(), &headers, b"")
    }

    /// `GET path` with `Authorization: token`.
    fn token(&self, path: &str, token: &str) -> Response {
        self.get(path, &[("authorization", token)])
    }

    /// Runs `f` and returns how often `function` was invoked meanwhile.
    fn calls<T>(&self, function: &str, f: impl FnOnce() -> T) -> (T, u64) {
        let before = self.lambda.count(function);
        let out = f();
        (out, self.lambda.count(function) - before)
    }
}

/// 200 from the echo upstream for `GET path`; returns the headers it saw.
fn assert_reached(r: &Response, path: &str, case: &str) -> Value {
    assert_eq!(r.status, 200, "{case}: {}", r.text());
    let seen = r.json();
    assert_eq!(seen["method"], "GET", "{case}: {seen}");
    assert_eq!(seen["path"], path, "{case}: {seen}");
    seen["headers"].clone()
}

fn assert_unauthorized(r: &Response, case: &str) {
    assert_error(r, 401, UNAUTHORIZED, "UnauthorizedException", case);
}

fn assert_denied(r: &Response, case: &str) {
    assert_error(r, 403, NOT_AUTHORIZED, "AccessDeniedException", case);
}

/// 500 `Internal server error`: AWS's AUTHORIZER_FAILURE or AUTHORIZER_CONFIGURATION_ERROR.
fn assert_authorizer_error(r: &Response, case: &str) {
    let error_type = r.header("x-amzn-errortype").unwrap_or_default().to_string();
    eprintln!("{case}: {} {error_type}", r.status);
    assert!(
        error_type == "AuthorizerFailureException"
            || error_type == "AuthorizerConfigurationException",
        "{case}: x-amzn-ErrorType {error_type:?}, status {}: {}",
        r.status,
        r.text()
    );
    assert_error(r, 500, INTERNAL, &error_type, case);
}

/// What the token authorizer of the example puts in `context`, as the upstream sees it.
fn assert_token_context(seen: &Value, case: &str) {
    assert_eq!(seen["x-tollgate-authorizer-principal-id"], "user", "{case}: {seen}");
    assert_eq!(seen["x-tollgate-authorizer-stringkey"], "value", "{case}: {seen}");
    assert_eq!(seen["x-tollgate-authorizer-numberkey"], "123", "{case}: {seen}");
    assert_eq!(seen["x-tollgate-authorizer-booleankey"], "true", "{case}: {seen}");
}

#[test]
fn lambda_authorizers_end_to_end() {
    let mut gw = Gateway::start();
    let started = Instant::now();
    assert_eq!(gw.lambda.invocations().values().sum::<u64>(), 0, "nothing called before a request");

    // TOKEN "allow": the function is called once; the upstream sees the principal and the
    // authorizer's context as headers, and the client's forged copies are replaced.
    let forged = [
        ("authorization", "allow"),
        ("x-tollgate-authorizer-principal-id", "admin"),
        ("x-tollgate-authorizer-stringkey", "forged"),
    ];
    let (r, calls) = gw.calls(TOKEN_FN, || gw.get("/pets", &forged));
    let seen = assert_reached(&r, "/pets", "allow");
    assert_token_context(&seen, "allow, forged headers");
    assert_eq!(calls, 1, "allow: one invocation");
    // TTL 2 s: the `ttl` authorizer has its own cache (the "allow" that `tok` just cached is not
    // its), reused within the TTL, called again after it (checked at the end). Tollgate's clock
    // counts whole seconds, so an entry lives between 1 and 2 s.
    let (r, calls) = gw.calls(TTL_FN, || gw.token("/ttl", "allow"));
    let ttl_stored = Instant::now();
    assert_token_context(&assert_reached(&r, "/ttl", "ttl first"), "ttl first");
    assert_eq!(calls, 1, "each authorizer has its own cache: the ttl authorizer was not called");
    let (r, calls) = gw.calls(TTL_FN, || gw.token("/ttl", "allow"));
    assert_reached(&r, "/ttl", "ttl cached");
    assert_eq!(calls, 0, "within the TTL: cached");
    // A client-sent x-tollgate-authorizer-* header that the authorizer did not set is removed
    // (the cached result serves this one).
    let extra = [("authorization", "allow"), ("x-tollgate-authorizer-extra", "forged")];
    let seen = assert_reached(&gw.get("/pets", &extra), "/pets", "allow, extra forged header");
    assert_eq!(
        seen.get("x-tollgate-authorizer-extra"),
        None,
        "a forged header went upstream: {seen}"
    );

    // The result is cached for 300 s in shared data: 20 more requests on new connections, spread
    // over both workers, call the function no more. (Connections accepted per worker: the
    // listener's stats are named after its configured address, `listener.127.0.0.1_0.worker_N`.)
    let connections = |worker: u32| {
        let suffix = format!(".worker_{worker}.downstream_cx_total: ");
        let stats =
            tollgate_e2e::get(gw.envoy.admin_port, "/stats?filter=downstream_cx_total", &[]);
        stats
            .text()
            .lines()
            .filter(|l| l.starts_with("listener.127.0.0.1_"))
            .find_map(|l| l.split_once(&suffix).and_then(|(_, n)| n.trim().parse::<u64>().ok()))
            .unwrap_or(0)
    };
    let before = [connections(0), connections(1)];
    let (_, calls) = gw.calls(TOKEN_FN, || {
        for i in 0..20 {
            let seen =
                assert_reached(&gw.token("/pets", "allow"), "/pets", &format!("cached allow {i}"));
            assert_token_context(&seen, &format!("cached allow {i}"));
        }
    });
    assert_eq!(calls, 0, "20 requests with a cached token invoked the authorizer {calls} times");
    let served = [connections(0) - before[0], connections(1) - before[1]];
    eprintln!("20 cached requests: connections per worker {served:?}");
    assert!(served[0] > 0 && served[1] > 0, "connections per worker: {served:?}");

    // The cached policy (it allows lambdaauth/prod/*) is evaluated for another method of the same
    // authorizer: /limited, no new call. /limited requires an API key: with api_key_source
    // AUTHORIZER it is the authorizer's usageIdentifierKey, on the `tiny` plan (burst 2).
    let (statuses, calls) =
        gw.calls(TOKEN_FN, || (0..3).map(|_| gw.token("/limited", "allow")).collect::<Vec<_>>());
    for (i, r) in statuses.iter().take(2).enumerate() {
        let seen = assert_reached(
            r,
            "/limited",
            &format!("/limited {i}, cached policy, key from the authorizer"),
        );
        assert_token_context(&seen, "/limited");
        assert_eq!(seen["x-tollgate-api-key-id"], "k-auth", "/limited {i}: {seen}");
    }
    assert_error(
        &statuses[2],
        429,
        TOO_MANY,
        "TooManyRequestsException",
        "/limited past the burst of the authorizer's key",
    );
    assert_eq!(calls, 0, "/limited with a cached token invoked the authorizer {calls} times");

    // Deny: 403, and the Deny policy is cached like an Allow.
    let (r, calls) = gw.calls(TOKEN_FN, || gw.token("/pets", "deny"));
    assert_denied(&r, "deny");
    assert_eq!(calls, 1, "deny: one invocation");
    let (r, calls) = gw.calls(TOKEN_FN, || gw.token("/limited", "deny"));
    assert_denied(&r, "cached deny on /limited");
    assert_eq!(calls, 0, "a cached Deny invoked the authorizer again");

    // The function raises Exception("Unauthorized"): 401.
    let (r, calls) = gw.calls(TOKEN_FN, || gw.token("/pets", "unauthorized"));
    assert_unauthorized(&r, "raise Exception('Unauthorized')");
    assert_eq!(calls, 1, "unauthorized: one invocation");

    // Tokens that fail the validation expression, or no token: 401 without a call.
    let (_, calls) = gw.calls(TOKEN_FN, || {
        for token in ["bogus", "Allow", "allow-me", "deny2", ""] {
            assert_unauthorized(
                &gw.token("/pets", token),
                &format!("token {token:?} fails the expression"),
            );
        }
        assert_unauthorized(&gw.get("/pets", &[]), "no Authorization header");
        assert_unauthorized(&gw.get("/limited", &[]), "/limited without a token");
    });
    assert_eq!(calls, 0, "requests refused by the validation expression reached the function");

    // Malformed answers: a string instead of a policy ("fail", AWS's blueprint returns
    // 'unauthorized'), a policyDocument that is no policy ("garbage"): 500.
    for token in ["fail", "garbage"] {
        let (r, calls) = gw.calls(TOKEN_FN, || gw.token("/pets", token));
        assert_authorizer_error(&r, &format!("malformed answer ({token})"));
        assert_eq!(calls, 1, "{token}: one invocation");
    }

    // A function that does not exist (the Lambda API answers 404): 500.
    let r = gw.token("/ghost", "anything");
    assert_authorizer_error(&r, "function not found");

    // A function slower than the authorizer's timeout (500 ms): 500 once the timeout passed.
    let t = Instant::now();
    let (r, calls) = gw.calls(SLOW_FN, || gw.token("/slow", "anything"));
    let took = t.elapsed();
    assert_authorizer_error(&r, "authorizer timeout");
    assert_eq!(calls, 1, "slow: one invocation");
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_millis(2500),
        "the 500 ms timeout answered after {took:?}"
    );

    // REQUEST authorizer, TTL 0: called for every request; the event carries the header, the
    // query string, the path parameters and the stage variables (the function puts some of them
    // into its context, which arrives upstream).
    let allowed = [("x-auth", "let-me-in"), ("x-tollgate-authorizer-petid", "forged")];
    let (_, calls) = gw.calls(REQUEST_FN, || {
        for i in 0..3 {
            let r = gw.get("/pets/7?token=open-sesame", &allowed);
            let case = format!("REQUEST allow {i}");
            let seen = assert_reached(&r, "/pets/7?token=open-sesame", &case);
            assert_eq!(
                seen["x-tollgate-authorizer-principal-id"], "request-user",
                "{case}: {seen}"
            );
            assert_eq!(seen["x-tollgate-authorizer-petid"], "7", "{case}: {seen}");
            assert_eq!(seen["x-tollgate-authorizer-stagev"], "1", "{case}: {seen}");
            assert_eq!(seen["x-tollgate-authorizer-method"], "GET", "{case}: {seen}");
            assert_eq!(
                seen["x-tollgate-authorizer-resourcepath"], "/pets/{petId}",
                "{case}: {seen}"
            );
            assert_eq!(seen["x-tollgate-authorizer-apiid"], "lambdaauth", "{case}: {seen}");
        }
    });
    assert_eq!(calls, 3, "TTL 0: every request calls the REQUEST authorizer");
    let (r, calls) =
        gw.calls(REQUEST_FN, || gw.get("/pets/7?token=open-sesame", &[("x-auth", "deny")]));
    assert_denied(&r, "REQUEST deny");
    assert_eq!(calls, 1, "REQUEST deny: one invocation");
    let (r, calls) =
        gw.calls(REQUEST_FN, || gw.get("/pets/7?token=wrong", &[("x-auth", "let-me-in")]));
    assert_unauthorized(&r, "REQUEST, wrong token: the function raises Unauthorized");
    assert_eq!(calls, 1, "REQUEST wrong token: one invocation");
    // A missing identity source: 401 without a call.
    let (_, calls) = gw.calls(REQUEST_FN, || {
        assert_unauthorized(
            &gw.get("/pets/7", &[("x-auth", "let-me-in")]),
            "REQUEST without the query token",
        );
        assert_unauthorized(&gw.get("/pets/7?token=open-sesame", &[]), "REQUEST without x-auth");
        assert_unauthorized(&gw.get("/pets/7", &[]), "REQUEST without either");
        assert_unauthorized(
            &gw.get("/pets/7?other=open-sesame", &[("x-auth", "let-me-in")]),
            "REQUEST with another query parameter",
        );
    });
    assert_eq!(calls, 0, "REQUEST with a missing identity source reached the function");
    // The TOKEN authorizer's cached Allow does not open a method of another authorizer.
    let (r, calls) = gw.calls(REQUEST_FN, || gw.token("/pets/7", "allow"));
    assert_unauthorized(&r, "a TOKEN-authorizer token on the REQUEST-authorizer method");
    assert_eq!(calls, 0);

    // The events, as the functions get them (a test function returns its event as context).
    let event = |r: &Response, path: &str, case: &str| -> Value {
        let seen = assert_reached(r, path, case);
        assert_eq!(seen["x-tollgate-authorizer-function"], EVENT_FN, "{case}: {seen}");
        let text = seen["x-tollgate-authorizer-event"].as_str().unwrap_or_default();
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{case}: event {text:?}: {e}"))
    };
    let r = gw.token("/token-event", "opaque-token.with.dots");
    let token_event = event(&r, "/token-event", "TOKEN event");
    assert_eq!(
        token_event,
        json!({"type": "TOKEN", "authorizationToken": "opaque-token.with.dots",
               "methodArn": "arn:aws:execute-api:us-east-1:123456789012:lambdaauth/prod/GET/token-event"}),
        "TOKEN event"
    );
    let path = "/events/42?a=1&a=2&b=x%20y";
    // (Envoy's HTTP/1 codec joins repeated inline headers such as `accept` into one; a custom
    // header stays repeated.)
    let headers = [("x-auth", "e1"), ("x-multi", "one"), ("x-multi", "two")];
    let e = event(&gw.get(path, &headers), path, "REQUEST event");
    let expect = [
        ("/type", json!("REQUEST")),
        (
            "/methodArn",
            json!("arn:aws:execute-api:us-east-1:123456789012:lambdaauth/prod/GET/events/42"),
        ),
        ("/resource", json!("/events/{id}")),
        ("/path", json!("/events/42")),
        ("/httpMethod", json!("GET")),
        ("/headers/x-auth", json!("e1")),
        ("/headers/x-multi", json!("two")),
        ("/multiValueHeaders/x-multi", json!(["one", "two"])),
        ("/headers/Host", json!("api.example.com")),
        ("/queryStringParameters", json!({"a": "2", "b": "x y"})),
        ("/multiValueQueryStringParameters", json!({"a": ["1", "2"], "b": ["x y"]})),
        ("/pathParameters", json!({"id": "42"})),
        ("/stageVariables", json!({"v": "1"})),
        ("/requestContext/stage", json!("prod")),
        ("/requestContext/resourcePath", json!("/events/{id}")),
        ("/requestContext/httpMethod", json!("GET")),
        ("/requestContext/apiId", json!("lambdaauth")),
        ("/requestContext/accountId", json!("123456789012")),
        // As in AWS's events: the resource path at the top, the stage's in the context.
        ("/path", json!("/events/42")),
        ("/requestContext/path", json!("/prod/events/42")),
        ("/requestContext/protocol", json!("HTTP/1.1")),
        ("/requestContext/identity/apiKey", Value::Null),
        ("/requestContext/identity/sourceIp", json!("127.0.0.1")),
    ];
    for (pointer, want) in expect {
        assert_eq!(e.pointer(pointer), Some(&want), "REQUEST event {pointer}: {e}");
    }
    assert!(
        e.pointer("/requestContext/requestId")
            .and_then(Value::as_str)
            .is_some_and(|id| !id.is_empty()),
        "REQUEST event without a request id: {e}"
    );

    // A REQUEST authorizer with caching: the result is kept per identity (header + query), not
    // per path, and the cached policy (it names only the method ARN it was made for) is
    // evaluated again for every request, as on AWS: another pet with the same identity is denied.
    let allow = [("x-auth", "let-me-in")];
    let (_, calls) = gw.calls(REQ_CACHED_FN, || {
        for i in 0..3 {
            let r = gw.get("/cached/7?token=open-sesame", &allow);
            let seen =
                assert_reached(&r, "/cached/7?token=open-sesame", &format!("cached REQUEST {i}"));
            assert_eq!(seen["x-tollgate-authorizer-petid"], "7", "{seen}");
        }
    });
    assert_eq!(calls, 1, "a cached REQUEST identity: one invocation for three requests");
    let (r, calls) = gw.calls(REQ_CACHED_FN, || gw.get("/cached/8?token=open-sesame", &allow));
    assert_denied(&r, "cached REQUEST policy for /cached/7 used on /cached/8");
    assert_eq!(calls, 0, "same identity, other path: the cached result is used");
    let (r, calls) =
        gw.calls(REQ_CACHED_FN, || gw.get("/cached/7?token=open-sesame", &[("x-auth", "deny")]));
    assert_denied(&r, "cached REQUEST, another identity");
    assert_eq!(calls, 1, "another identity: a new invocation");

    // api_key_source AUTHORIZER: an authorizer that returns no usageIdentifierKey leaves a
    // key-requiring method without a key (403), whatever x-api-key the client sends.
    let r = gw.get("/keyless", &[("authorization", "t"), ("x-api-key", "key-from-authorizer")]);
    assert_error(
        &r,
        403,
        "Forbidden",
        "ForbiddenException",
        "no usageIdentifierKey, client x-api-key",
    );

    // The `ttl` authorizer's entry (made near the start) has expired by now.
    std::thread::sleep(
        (ttl_stored + Duration::from_millis(2200)).saturating_duration_since(Instant::now()),
    );
    let (r, calls) = gw.calls(TTL_FN, || gw.token("/ttl", "allow"));
    assert_reached(&r, "/ttl", "ttl expired");
    assert_eq!(calls, 1, "after the TTL the authorizer is called again");
    // tok's entry (TTL 300 s) is still good.
    let (r, calls) = gw.calls(TOKEN_FN, || gw.token("/pets", "allow"));
    assert_reached(&r, "/pets", "tok still cached");
    assert_eq!(calls, 0);

    assert!(gw.envoy.is_running(), "envoy died");
    eprintln!("invocations: {:?}; took {:?}", gw.lambda.invocations(), started.elapsed());
}

/// The emulator on its own (no Envoy): AWS's Invoke API answers, the counts, concurrency.
#[test]
fn lambda_emulator_speaks_the_invoke_api() {
    let lambda = LambdaEmulator::start(&functions_dir());
    let port = lambda.port;
    let invoke = |name: &str, event: &Value, invocation_type: Option<&str>| {
        let mut headers: Vec<(&str, &[u8])> = vec![("content-type", b"application/json")];
        if let Some(t) = invocation_type {
            headers.push(("x-amz-invocation-type", t.as_bytes()));
        }
        let path = format!("/2015-03-31/functions/{name}/invocations");
        request(port, "POST", path.as_bytes(), &headers, event.to_string().as_bytes())
    };
    let arn = "arn:aws:execute-api:us-east-1:123456789012:lambdaauth/prod/GET/pets";
    let token = |t: &str| json!({"type": "TOKEN", "authorizationToken": t, "methodArn": arn});

    let r = invoke(TOKEN_FN, &token("allow"), Some("RequestResponse"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-amz-function-error"), None);
    assert_eq!(
        r.json(),
        json!({
            "principalId": "user",
            "policyDocument": {"Version": "2012-10-17", "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow",
                "Resource": "arn:aws:execute-api:us-east-1:123456789012:lambdaauth/prod/*"}]},
            "context": {"stringKey": "value", "numberKey": 123, "booleanKey": true},
            "usageIdentifierKey": "key-from-authorizer",
        })
    );
    // No invocation type is RequestResponse; a function ARN with a qualifier names the function.
    let r = invoke(TOKEN_FN, &token("deny"), None);
    assert_eq!(r.json()["policyDocument"]["Statement"][0]["Effect"], "Deny");
    let by_arn =
        "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Atoken_authorizer%3Aprod";
    assert_eq!(invoke(by_arn, &token("deny"), None).status, 200);

    // The handler raised: 200, X-Amz-Function-Error: Unhandled, AWS's error shape.
    let r = invoke(TOKEN_FN, &token("unauthorized"), None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-amz-function-error"), Some("Unhandled"));
    let error = r.json();
    assert_eq!(
        (&error["errorMessage"], &error["errorType"]),
        (&json!("Unauthorized"), &json!("Exception"))
    );
    let r = invoke(REQUEST_FN, &json!({"methodArn": arn}), None);
    assert_eq!(r.header("x-amz-function-error"), Some("Unhandled"));
    assert_eq!(r.json()["errorMessage"], "Unauthorized");

    let r = invoke("no_such_function", &token("allow"), None);
    assert_eq!(r.status, 404);
    assert_eq!(r.header("x-amzn-errortype"), Some("ResourceNotFoundException"));
    assert_eq!(
        r.json()["Message"],
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:no_such_function"
    );
    for t in ["Event", "DryRun"] {
        assert_eq!(invoke(TOKEN_FN, &token("allow"), Some(t)).status, 400, "{t}");
    }

    // A slow handler does not hold up the others.
    let slow = std::thread::spawn(move || {
        let path = format!("/2015-03-31/functions/{SLOW_FN}/invocations");
        request(
            port,
            "POST",
            path.as_bytes(),
            &[],
            json!({"methodArn": arn}).to_string().as_bytes(),
        )
    });
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    assert_eq!(invoke(TOKEN_FN, &token("allow"), None).status, 200);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "served after the slow handler: {:?}",
        t.elapsed()
    );

    let counts = lambda.invocations();
    assert_eq!(counts.get(TOKEN_FN), Some(&5), "{counts:?}");
    assert_eq!(counts.get(REQUEST_FN), Some(&1), "{counts:?}");
    assert_eq!(counts.get("no_such_function"), None, "{counts:?}");
    lambda.reset();
    assert_eq!(lambda.count(TOKEN_FN), 0);
    assert_eq!(slow.join().expect("slow call").json()["principalId"], "late");
    assert_eq!(lambda.count(SLOW_FN), 0, "reset while the slow call ran");
    assert!(lambda.log().contains("START RequestId: "), "{}", lambda.log());
}

/// The test runs the example's config: the Tollgate config embedded in
/// `examples/lambda-authorizer/envoy.yaml` is `config()` without the test-only additions.
#[test]
fn example_config_is_the_tested_one() {
    let yaml = std::fs::read_to_string(root().join("examples/lambda-authorizer/envoy.yaml"))
        .expect("read the example's envoy.yaml");
    // The block scalar after `value: |`, up to the first line indented less than its first line.
    let mut lines = yaml.lines().skip_while(|l| l.trim() != "value: |").skip(1).peekable();
    let indent = lines.peek().map(|l| l.len() - l.trim_start().len()).expect("a config block");
    let block: Vec<&str> = lines
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() >= indent)
        .collect();
    let mut example: Value = serde_json::from_str(&block.join("\n")).expect("the config is JSON");
    for item in ["api_keys", "usage_plans"] {
        for entry in example[item].as_array_mut().expect(item) {
            entry.as_object_mut().expect("object").remove("name");
        }
    }
    let mut tested = config();
    tested["lambda_authorizers"].as_array_mut().expect("authorizers").truncate(2);
    tested["methods"].as_array_mut().expect("methods").truncate(3);
    assert_eq!(example, tested);
}
