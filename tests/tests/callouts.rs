//! Requests that need several callouts, through a real Envoy: a Lambda REQUEST authorizer with a
//! result TTL of 0 (nothing cached), a global usage plan counted by `tollgate-ratelimit` (Redis),
//! and a Lambda proxy integration, all on one method. Each callout goes out once per request
//! (the authorizer too, whether the request is admitted, over its quota, or the service is
//! down), and a callout whose cluster Envoy does not have gets a gateway response at once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tollgate_e2e::lambda::LambdaEmulator;
use tollgate_e2e::ratelimit::{free_port, redis, service};
use tollgate_e2e::sha256_hex as sha;
use tollgate_e2e::{assert_gateway_error, get, scratch_dir, Envoy, EnvoyOptions, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");
const KEY: &str = "callouts-key-0001";

const AUTHORIZER: &str = r#"
def handler(event, context):
    return {
        "principalId": event["headers"].get("x-user", "nobody"),
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}]},
        "context": {"tier": "gold"},
    }
"#;

const FUNCTION: &str = r#"
import json

def handler(event, context):
    authorizer = event["requestContext"]["authorizer"]
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"principal": authorizer.get("principalId"), "tier": authorizer.get("tier")})}
"#;

fn function(name: &str) -> Value {
    json!({"cluster": "lambda", "authority": "lambda.us-east-1.amazonaws.com", "name": name,
           "timeout_ms": 5000})
}

fn config() -> Value {
    let custom = |resource: &str, authorizer: &str| {
        json!({"resource": resource, "http_method": "GET", "authorization_type": "CUSTOM",
               "authorizer_id": authorizer, "api_key_required": true})
    };
    let mut with_function = custom("/fn", "req");
    with_function["integration"] = json!({"type": "AWS_PROXY", "function": function("fn")});
    json!({
        "api": {"id": "shop", "region": "us-east-1", "account_id": "123456789012"},
        "stage": {"name": "prod"},
        "lambda_authorizers": [
            {"id": "req", "type": "REQUEST", "result_ttl_seconds": 0, "function": function("authz"),
             "identity_source": "method.request.header.x-user"},
            {"id": "gone", "type": "REQUEST", "result_ttl_seconds": 0,
             "function": {"cluster": "no-such-cluster", "authority": "lambda.us-east-1.amazonaws.com",
                          "name": "authz"},
             "identity_source": "method.request.header.x-user"},
        ],
        "methods": [custom("/orders", "req"), with_function, custom("/gone", "gone")],
        "api_keys": [{"id": "k1", "value_sha256": sha(KEY), "usage_plan_ids": ["fleet"]}],
        "usage_plans": [{"id": "fleet", "global": true, "quota": {"limit": 4, "period": "DAY"},
                         "api_stages": [{"api_id": "shop", "stage": "prod"}]}],
        "rate_limit_service": {"cluster": "ratelimit", "timeout_ms": 500, "batch": 1},
    })
}

fn call(port: u16, path: &str) -> tollgate_e2e::Response {
    get(port, path, &[("x-api-key", KEY), ("x-user", "ann")])
}

#[test]
fn each_callout_goes_out_once_per_request() {
    let functions = scratch_dir("callout-functions");
    std::fs::write(functions.join("authz.py"), AUTHORIZER).unwrap();
    std::fs::write(functions.join("fn.py"), FUNCTION).unwrap();
    let lambda = LambdaEmulator::start(&functions);
    let dir = scratch_dir("callouts-redis");
    let config_path = dir.join("tollgate.json");
    std::fs::write(&config_path, config().to_string()).unwrap();
    let (redis_port, service_port) = (free_port(), free_port());
    let _redis = redis(&dir, redis_port);
    let mut rls = service(&config_path, service_port, redis_port);
    let upstream = Upstream::start(UPSTREAM, "echo");
    let options = EnvoyOptions::new(config(), upstream.port)
        .cluster("lambda", lambda.port)
        .grpc_cluster("ratelimit", service_port);
    let envoy = Envoy::start(&options).unwrap_or_else(|log| panic!("{log}"));
    let port = envoy.port;
    let asked = || envoy.stat("cluster.ratelimit.upstream_rq_total");

    // Three callouts in one request: the authorizer, the rate-limit service, the function.
    let r = call(port, "/fn");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"principal": "ann", "tier": "gold"}));
    assert_eq!((lambda.count("authz"), lambda.count("fn"), asked()), (1, 1, 1));

    // The authorizer answers once per request whatever else the request waits for.
    for n in 2..=4 {
        let r = call(port, "/orders");
        assert_eq!(r.status, 200, "request {n}: {}", r.text());
        assert_eq!(r.json()["headers"]["x-tollgate-authorizer-principal-id"], "ann");
        assert_eq!((lambda.count("authz"), asked()), (n, n), "request {n}");
    }
    // Over the quota of 4: AWS's 429, and still one invocation.
    let r = call(port, "/orders");
    assert_gateway_error(&r, 429, "Limit Exceeded", "LimitExceededException", "over quota");
    assert_eq!((lambda.count("authz"), asked()), (5, 5));

    // The service down (fail closed): 429, one invocation.
    drop(rls.child.kill());
    let _ = rls.child.wait();
    let r = call(port, "/orders");
    assert_gateway_error(&r, 429, "Limit Exceeded", "LimitExceededException", "service down");
    assert_eq!(lambda.count("authz"), 6);
    assert_eq!(lambda.count("fn"), 1, "nothing more reached the function");

    // A callout that Envoy cannot send (no such cluster): the gateway's answer, at once.
    let started = Instant::now();
    let r = call(port, "/gone");
    assert_gateway_error(&r, 500, "Internal server error", "AuthorizerFailureException", "gone");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered, not held: {:?}",
        started.elapsed()
    );
    assert_eq!(lambda.count("authz"), 6);
    // Refusals are named for access logs (filter state `tollgate.rejection`).
    std::thread::sleep(Duration::from_millis(300));
    let log = envoy.access_log();
    assert!(log.contains("/orders 429 key=k1 sub=- stage=- reason=quota_exceeded"), "{log}");
    assert!(log.contains("/gone 500 key=- sub=- stage=- reason=authorizer_failure"), "{log}");
    assert!(log.contains("/fn 200 key=k1 sub=- stage=- reason=-"), "{log}");
}
