//! API keys, unknown routes, gateway responses, metrics and robustness, through a real Envoy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use serde_json::{json, Value};
use tollgate_e2e::sha256_hex as sha;
use tollgate_e2e::{get, request, Envoy, EnvoyOptions, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");

fn config() -> Value {
    json!({
        "api": {"id": "petstore", "region": "eu-west-1", "account_id": "123456789012"},
        "api_key_id_header": "x-tollgate-api-key-id",
        "stage": {"name": "prod"},
        "methods": [
            {"resource": "/pets", "http_method": "GET", "api_key_required": true},
            {"resource": "/pets/{petId}", "http_method": "ANY", "api_key_required": true},
            {"resource": "/health", "http_method": "GET"},
        ],
        "api_keys": [
            {"id": "key-alice", "name": "alice", "value_sha256": sha("alice-secret-key"), "usage_plan_ids": ["open"]},
            {"id": "key-off", "name": "off", "value_sha256": sha("disabled-key"), "enabled": false, "usage_plan_ids": ["open"]},
            {"id": "key-planless", "name": "in no plan", "value_sha256": sha("planless-key")},
        ],
        "usage_plans": [{"id": "open", "api_stages": [{"api_id": "petstore", "stage": "prod"}]}],
        "gateway_responses": {
            "RESOURCE_NOT_FOUND": {"status": 404},
        },
    })
}

fn start(config: Value) -> (Upstream, Envoy) {
    let upstream = Upstream::start(UPSTREAM, "echo");
    let envoy = Envoy::start(&EnvoyOptions::new(config, upstream.port))
        .unwrap_or_else(|log| panic!("{log}"));
    (upstream, envoy)
}

fn assert_aws_error(r: &tollgate_e2e::Response, status: u16, message: &str, error_type: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.json(), json!({ "message": message }));
    assert_eq!(r.header("x-amzn-errortype"), Some(error_type));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let id = r.header("x-amzn-requestid").expect("x-amzn-RequestId");
    assert!(id.len() >= 32, "request id {id}");
}

#[test]
fn api_keys_end_to_end() {
    let (_upstream, envoy) = start(config());
    let port = envoy.port;

    // A valid key reaches the upstream, which sees the key id; a forged id header is replaced.
    let ok = get(
        port,
        "/pets?limit=2",
        &[("x-api-key", "alice-secret-key"), ("x-tollgate-api-key-id", "forged")],
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    let seen = ok.json();
    assert_eq!(seen["path"], "/pets?limit=2");
    assert_eq!(seen["headers"]["x-tollgate-api-key-id"], "key-alice");
    let ok = get(port, "/pets/42", &[("x-api-key", "alice-secret-key")]);
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["path"], "/pets/42");

    // Missing, wrong and disabled keys: 403 Forbidden exactly as AWS, nothing reaches upstream.
    // A key in no usage plan for the stage is refused too, as on AWS.
    for headers in [
        vec![],
        vec![("x-api-key", "wrong")],
        vec![("x-api-key", "disabled-key")],
        vec![("x-api-key", "")],
        vec![("x-api-key", "planless-key")],
    ] {
        let r = get(port, "/pets", &headers);
        assert_aws_error(&r, 403, "Forbidden", "ForbiddenException");
    }

    // Unknown path, unknown verb: Missing Authentication Token.
    let r = get(port, "/unknown", &[("x-api-key", "alice-secret-key")]);
    assert_aws_error(
        &r,
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
    );
    let r = request(port, "DELETE", b"/pets", &[("x-api-key", b"alice-secret-key")], b"");
    assert_aws_error(
        &r,
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
    );

    // A method without a key requirement passes without a key, and no key id goes upstream.
    let r = get(port, "/health", &[("x-tollgate-api-key-id", "forged")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["headers"].get("x-tollgate-api-key-id"), None);

    // Non-UTF-8 in the key and elsewhere gets a normal answer; the VM lives on.
    let bad: &[u8] = b"\xff\xfe\x80key";
    let r = request(port, "GET", b"/pets", &[("x-api-key", bad), ("x-other", b"\xc3\x28")], b"");
    assert_aws_error(&r, 403, "Forbidden", "ForbiddenException");
    let r = request(port, "GET", b"/pets/\xe2\x82", &[("x-api-key", b"alice-secret-key")], b"");
    assert!(r.status == 200 || r.status == 400, "non-UTF-8 path got {}", r.status);
    for _ in 0..20 {
        assert_eq!(get(port, "/pets", &[("x-api-key", "alice-secret-key")]).status, 200);
    }

    // Counters per outcome on the admin's Prometheus page; the key id in the access log.
    let stats = envoy.prometheus();
    let counter = |name: &str| -> u64 {
        stats
            .lines()
            .find(|l| l.starts_with(&format!("{name}{{")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{stats}"))
    };
    assert_eq!(counter("tollgate_requests_allowed"), 23, "{stats}");
    assert_eq!(
        counter("tollgate_requests_invalid_api_key"),
        6,
        "{}",
        stats.lines().filter(|l| l.starts_with("tollgate")).collect::<Vec<_>>().join("\n")
    );
    assert_eq!(counter("tollgate_requests_missing_authentication_token"), 2);
    let mut access = String::new();
    for _ in 0..50 {
        // The harness has Envoy flush access logs every 100 ms.
        access = envoy.access_log();
        if access.contains("/unknown") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(access.contains("/pets?limit=2 200 key=key-alice"), "{access}");
    assert!(access.contains("/unknown 403 key=-"), "{access}");
}

#[test]
fn overridden_gateway_response() {
    let mut cfg = config();
    cfg["gateway_responses"] = json!({
        "MISSING_AUTHENTICATION_TOKEN": {
            "status": 404,
            "headers": {"access-control-allow-origin": "*"},
            "body": "{\"error\": $context.error.messageString, \"type\": \"$context.error.responseType\"}",
        },
        "DEFAULT_4XX": {"headers": {"x-gateway": "tollgate"}},
    });
    let (_upstream, envoy) = start(cfg);
    let r = get(envoy.port, "/nowhere", &[]);
    assert_eq!(r.status, 404);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.json(),
        json!({"error": "Missing Authentication Token", "type": "MISSING_AUTHENTICATION_TOKEN"})
    );
    let r = get(envoy.port, "/pets", &[]);
    assert_eq!(r.status, 403);
    assert_eq!(r.header("x-gateway"), Some("tollgate"));
    assert_eq!(r.json(), json!({"message": "Forbidden"}));
}

#[test]
fn config_with_unknown_field_is_refused_and_named() {
    let mut cfg = config();
    cfg["methods"][1]["api_key_requried"] = json!(true);
    let upstream = Upstream::start(UPSTREAM, "echo");
    let log = match Envoy::start(&EnvoyOptions::new(cfg, upstream.port)) {
        Ok(_) => panic!("envoy accepted a config with an unknown field"),
        Err(log) => log,
    };
    assert!(log.contains("invalid configuration: methods[1]"), "{log}");
    assert!(log.contains("api_key_requried"), "{log}");
}

#[test]
fn bad_key_hash_is_refused_and_named() {
    let mut cfg = config();
    cfg["api_keys"][0]["value_sha256"] = json!("alice-secret-key");
    let upstream = Upstream::start(UPSTREAM, "echo");
    let log = Envoy::start(&EnvoyOptions::new(cfg, upstream.port)).err().expect("refused");
    assert!(log.contains("api_keys[0].value_sha256"), "{log}");
}
