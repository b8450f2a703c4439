//! Failure modes through a real Envoy: every dependency of a decision down or silent (the JWKS
//! endpoint, a Lambda authorizer, a Lambda proxy function, the upstream), many clients on one
//! key's quota across two workers (shared-data contention), and a filter that cannot run (a
//! config it refuses, a corrupt module, a VM that traps). Auth fails closed with AWS's status,
//! nothing reaches the upstream that was not admitted, counts are exact, and with the shipped
//! `failure_policy: FAIL_CLOSED` a broken VM lets nothing through.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jwt_simple::prelude::RSAKeyPairLike;
use serde_json::{json, Value};
use tollgate_e2e::jwt::{claims, now, test_rsa_key};
use tollgate_e2e::sha256_hex as sha;
use tollgate_e2e::{
    assert_gateway_error, get, scratch_dir, Envoy, EnvoyOptions, Response, Upstream,
};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");
const KEY: &str = "failure-modes-key";
const INTERNAL: &str = "Internal server error";

/// A port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// A server that accepts connections and never answers (a dependency that hangs).
fn silent_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

fn function(cluster: &str, timeout_ms: u32) -> Value {
    json!({"cluster": cluster, "authority": "lambda.us-east-1.amazonaws.com", "name": "fn",
           "timeout_ms": timeout_ms})
}

fn dependencies_config() -> Value {
    let custom = |resource: &str, authorizer: &str| json!({"resource": resource, "http_method": "GET", "authorization_type": "CUSTOM", "authorizer_id": authorizer});
    let token = |id: &str, cluster: &str, timeout_ms: u32| {
        json!({"id": id, "type": "TOKEN",
        "function": function(cluster, timeout_ms),
        "identity_source": "method.request.header.Authorization", "result_ttl_seconds": 0})
    };
    json!({
        "api": {"id": "failing", "region": "us-east-1", "account_id": "123456789012"},
        "stage": {"name": "prod"},
        "authorizers": [{"id": "pool", "type": "JWT", "issuers": ["https://issuer.example"],
            "jwks_uri": {"cluster": "jwks", "authority": "issuer.example", "path": "/jwks.json",
                         "refresh_seconds": 600, "timeout_ms": 1000}}],
        "lambda_authorizers": [token("down", "lambda", 1000), token("silent", "silent", 500)],
        "methods": [
            {"resource": "/jwt", "http_method": "GET", "authorization_type": "JWT", "authorizer_id": "pool"},
            custom("/custom", "down"),
            custom("/custom-silent", "silent"),
            {"resource": "/fn", "http_method": "GET",
             "integration": {"type": "AWS_PROXY", "function": function("lambda", 1000)}},
            {"resource": "/fn-silent", "http_method": "GET",
             "integration": {"type": "AWS_PROXY", "function": function("silent", 500)}},
            {"resource": "/pets", "http_method": "GET", "api_key_required": true},
        ],
        "api_keys": [{"id": "k1", "value_sha256": sha(KEY), "usage_plan_ids": ["open"]}],
        "usage_plans": [{"id": "open", "api_stages": [{"api_id": "failing", "stage": "prod"}]}],
    })
}

fn upstream_requests(envoy: &Envoy) -> u64 {
    envoy.stat("cluster.upstream.upstream_rq_total")
}

/// Sends `GET path` and checks it is refused with AWS's answer within `within`, nothing upstream.
fn assert_refused(
    envoy: &Envoy,
    (path, headers): (&str, &[(&str, &str)]),
    (status, message, error_type): (u16, &str, &str),
    within: Duration,
) -> Duration {
    let before = upstream_requests(envoy);
    let started = Instant::now();
    let r = get(envoy.port, path, headers);
    let took = started.elapsed();
    assert_gateway_error(&r, status, message, error_type, path);
    assert!(took < within, "{path}: answered after {took:?}");
    assert_eq!(upstream_requests(envoy), before, "{path}: reached the upstream");
    took
}

fn assert_no_wasm_failure(envoy: &Envoy) {
    let log = envoy.log();
    for sign in ["panicked at", "Function: proxy_on_"] {
        assert!(!log.contains(sign), "Envoy's log has `{sign}`:\n{log}");
    }
}

#[test]
fn dependencies_down_or_silent_fail_closed() {
    let upstream = Upstream::start(UPSTREAM, "echo");
    let options = EnvoyOptions::new(dependencies_config(), upstream.port)
        .cluster("jwks", closed_port())
        .cluster("lambda", closed_port())
        .cluster("silent", silent_port());
    let envoy = Envoy::start(&options).unwrap_or_else(|log| panic!("{log}"));
    let second = Duration::from_secs(1);

    let rsa = test_rsa_key("rs1");
    let t = now();
    let token = rsa
        .sign(claims(
            &json!({"sub": "u1", "iss": "https://issuer.example", "iat": t, "exp": t + 600}),
        ))
        .expect("sign");
    let bearer = format!("Bearer {token}");
    // Several times each, so both workers (and their retry of the JWKS) are seen.
    for _ in 0..4 {
        // JWKS unreachable: no keys to verify with, AWS's authorizer configuration error (500);
        // no token at all is 401 as ever.
        let jwt = ("/jwt", &[("authorization", bearer.as_str())][..]);
        let config_error = (500, INTERNAL, "AuthorizerConfigurationException");
        assert_refused(&envoy, jwt, config_error, 3 * second);
        let unauthorized = (401, "Unauthorized", "UnauthorizedException");
        assert_refused(&envoy, ("/jwt", &[]), unauthorized, second);

        // Lambda authorizer down (connection refused) or silent (past its 500 ms timeout):
        // AWS's authorizer failure, 500.
        let failure = (500, INTERNAL, "AuthorizerFailureException");
        let custom = ("/custom", &[("authorization", "allow")][..]);
        assert_refused(&envoy, custom, failure, 2 * second);
        let silent = ("/custom-silent", &[("authorization", "allow")][..]);
        let took = assert_refused(&envoy, silent, failure, 2 * second);
        assert!(took >= Duration::from_millis(450), "the silent authorizer answered in {took:?}");

        // Lambda proxy function down: 502; silent past its timeout: 504.
        assert_refused(
            &envoy,
            ("/fn", &[]),
            (502, INTERNAL, "InternalServerErrorException"),
            2 * second,
        );
        let timeout = (504, "Endpoint request timed out", "InternalServerErrorException");
        let took = assert_refused(&envoy, ("/fn-silent", &[]), timeout, 2 * second);
        assert!(took >= Duration::from_millis(450), "the silent function answered in {took:?}");

        // The keyed route still works meanwhile.
        let r = get(envoy.port, "/pets", &[("x-api-key", KEY)]);
        assert_eq!(r.status, 200, "{}", r.text());
    }

    // The upstream down: a keyed request gets Envoy's 503 (the filter admitted it; there is
    // nothing to reach), and an unkeyed one is still refused by the filter first.
    drop(upstream);
    let r = get(envoy.port, "/pets", &[("x-api-key", KEY)]);
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.header("x-amzn-errortype").is_none(), "{:?}", r.headers);
    assert_refused(&envoy, ("/pets", &[]), (403, "Forbidden", "ForbiddenException"), second);
    assert_no_wasm_failure(&envoy);
}

/// Connections each worker accepted on the API listener.
fn connections(envoy: &Envoy, worker: u32) -> u64 {
    let suffix = format!(".worker_{worker}.downstream_cx_total: ");
    get(envoy.admin_port, "/stats?filter=downstream_cx_total", &[])
        .text()
        .lines()
        .filter(|l| l.starts_with("listener.127.0.0.1_"))
        .find_map(|l| l.split_once(&suffix).and_then(|(_, n)| n.trim().parse().ok()))
        .unwrap_or(0)
}

#[test]
fn one_quota_under_contention_from_two_workers_counts_exactly() {
    const LIMIT: u64 = 300;
    const SENT: u64 = 420;
    let config = json!({
        "api": {"id": "hot", "account_id": "123456789012"},
        "stage": {"name": "prod"},
        "methods": [{"resource": "/pets", "http_method": "GET", "api_key_required": true}],
        "api_keys": [{"id": "k-hot", "value_sha256": sha(KEY), "usage_plan_ids": ["day"]}],
        "usage_plans": [{"id": "day", "quota": {"limit": LIMIT, "period": "DAY"},
                         "api_stages": [{"api_id": "hot", "stage": "prod"}]}],
    });
    let upstream = Upstream::start(UPSTREAM, "echo");
    let envoy = Envoy::start(&EnvoyOptions::new(config, upstream.port))
        .unwrap_or_else(|log| panic!("{log}"));
    let (admitted, exceeded, sent) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    let before = [connections(&envoy, 0), connections(&envoy, 1)];
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| {
                while sent.fetch_add(1, Ordering::SeqCst) < SENT {
                    let r: Response = get(envoy.port, "/pets", &[("x-api-key", KEY)]);
                    match r.status {
                        200 => admitted.fetch_add(1, Ordering::SeqCst),
                        429 => {
                            assert_gateway_error(
                                &r,
                                429,
                                "Limit Exceeded",
                                "LimitExceededException",
                                "over quota",
                            );
                            exceeded.fetch_add(1, Ordering::SeqCst)
                        }
                        other => panic!("unexpected {other}: {}", r.text()),
                    };
                }
            });
        }
    });
    let per_worker = [connections(&envoy, 0) - before[0], connections(&envoy, 1) - before[1]];
    eprintln!("connections per worker: {per_worker:?}");
    assert!(per_worker.iter().all(|&n| n > 20), "both workers should serve: {per_worker:?}");
    assert_eq!(admitted.into_inner(), LIMIT, "admitted");
    assert_eq!(exceeded.into_inner(), SENT - LIMIT, "refused");
    assert_eq!(upstream_requests(&envoy), LIMIT, "upstream requests");
    assert_no_wasm_failure(&envoy);
}

#[test]
fn a_filter_that_cannot_run_lets_nothing_through() {
    let upstream = Upstream::start(UPSTREAM, "echo");

    // A config the filter refuses: on_configure fails, Envoy will not start the listener (with
    // a static listener, Envoy exits) and names the field.
    let mut bad = dependencies_config();
    bad["methods"][0]["authorizer_id"] = json!("nobody");
    let log = Envoy::start(&EnvoyOptions::new(bad, upstream.port)).err().expect("refused");
    assert!(log.contains("invalid configuration"), "{log}");
    assert!(log.contains("methods[0].authorizer_id: no authorizer `nobody`"), "{log}");

    // A corrupt module: the VM cannot be created, Envoy refuses the config.
    let corrupt = scratch_dir("corrupt-wasm").join("tollgate_filter.wasm");
    std::fs::write(&corrupt, b"\0asm\x01\0\0\0 this is not a module").expect("write");
    let options = EnvoyOptions::new(json!({}), upstream.port).wasm(corrupt);
    let log = Envoy::start(&options).err().expect("a corrupt module refused");
    assert!(log.contains("Plugin configured to fail closed failed to load"), "{log}");

    // A VM that traps on every request (a panic in the filter does the same): with
    // FAIL_CLOSED, Envoy answers 503 itself and the upstream sees nothing, request after request.
    let module = scratch_dir("trapping-wasm").join("trap.wasm");
    std::fs::write(&module, wat::parse_str(TRAPPING_FILTER).expect("valid WAT")).expect("write");
    let envoy = Envoy::start(&EnvoyOptions::new(json!({}), upstream.port).wasm(module))
        .unwrap_or_else(|log| panic!("{log}"));
    for i in 0..6 {
        let r = get(envoy.port, "/pets", &[("x-api-key", KEY)]);
        assert_eq!(r.status, 503, "request {i}: {}", r.text());
    }
    assert_eq!(upstream_requests(&envoy), 0, "a broken VM let a request through");
    // Envoy's log is flushed in the background: wait for the trap to be written.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !envoy.log().contains("Function: proxy_on_request_headers failed") {
        assert!(Instant::now() < deadline, "no trap in Envoy's log:\n{}", envoy.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The smallest proxy-wasm module Envoy loads: it configures fine and traps (`unreachable`) on
/// every request's headers.
const TRAPPING_FILTER: &str = r#"
(module
  (memory (export "memory") 17)
  (global $next (mut i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $size)))
    (local.get $at))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) unreachable)
)
"#;
