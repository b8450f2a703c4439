//! Traces of a gateway `tollgate render` wrote with `gateway.tracing`: Envoy's OpenTelemetry
//! tracer exports over OTLP/HTTP to a real receiver (the official `opentelemetry-proto`
//! package); a request with a Lambda authorizer and an API key gives a server span in the
//! client's trace, tagged with the API, stage, resource, method and key id, and the backend
//! gets the trace to continue.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use serde_json::{json, Value};
use tollgate_e2e::otlp::OtlpReceiver;
use tollgate_e2e::{get, render, scratch_dir, sha256_hex, Envoy, LambdaEmulator, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");

/// A TOKEN authorizer that allows `allow` and tells, in its context, the trace header Lambda's
/// runtime gave it (`_X_AMZN_TRACE_ID`).
const AUTHORIZER_PY: &str = r#"import os


def handler(event, context):
    effect = 'Allow' if event['authorizationToken'] == 'allow' else 'Deny'
    return {'principalId': 'user', 'policyDocument': {'Version': '2012-10-17', 'Statement': [
        {'Action': 'execute-api:Invoke', 'Effect': effect, 'Resource': event['methodArn']}]},
        'context': {'trace': os.environ.get('_X_AMZN_TRACE_ID', '')}}
"#;

const SERVER: u64 = 2;
const CLIENT: u64 = 3;

#[test]
fn spans_reach_the_collector_in_the_callers_trace() {
    let receiver = OtlpReceiver::start();
    let functions = scratch_dir("tracing-functions");
    std::fs::write(functions.join("authorizer.py"), AUTHORIZER_PY).unwrap();
    let lambda = LambdaEmulator::start(&functions);
    let upstream = Upstream::start_with(UPSTREAM, &["--mode", "echo", "--name", "backend"]);
    let dir = scratch_dir("tracing");
    let spec = json!({
        "gateway": {"listen": "127.0.0.1:0", "admin_listen": "127.0.0.1:0", "envoy_admin": "127.0.0.1:0",
                    "upstream": format!("http://127.0.0.1:{}", upstream.port),
                    "clusters": {"lambda": format!("http://127.0.0.1:{}", lambda.port)},
                    "tracing": {"collector": receiver.url()}},
        "api": {"id": "shop", "region": "us-east-1", "account_id": "123456789012"},
        "stage": {"name": "prod"},
        "lambda_authorizers": [{"id": "tok", "type": "TOKEN",
            "function": {"cluster": "lambda", "authority": "lambda.us-east-1.amazonaws.com", "name": "authorizer"},
            "identity_source": "method.request.header.Authorization", "result_ttl_seconds": 0}],
        "methods": [{"resource": "/pets/{id}", "http_method": "GET", "api_key_required": true,
                     "authorization_type": "CUSTOM", "authorizer_id": "tok"}],
        "api_keys": [{"id": "k-1", "value_sha256": sha256_hex("the-key"), "usage_plan_ids": ["one"]}],
        "usage_plans": [{"id": "one", "api_stages": [{"api_id": "shop", "stage": "prod"}]}],
    });
    let path = dir.join("spec.json");
    std::fs::write(&path, spec.to_string()).unwrap();
    render(&path, &dir.join("gw"));
    let envoy = Envoy::start_file(&dir.join("gw/envoy.yaml"), 1).unwrap_or_else(|l| panic!("{l}"));

    // The client is traced already: W3C trace context and X-Ray's header.
    let (trace_id, client_span) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let traceparent = format!("00-{trace_id}-{client_span}-01");
    let xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1";
    let call = |token: &str| {
        let headers = [
            ("x-api-key", "the-key"),
            ("authorization", token),
            ("traceparent", traceparent.as_str()),
            ("x-amzn-trace-id", xray),
        ];
        get(envoy.port, "/pets/7", &headers)
    };
    let r = call("allow");
    assert_eq!(r.status, 200, "{}", r.text());
    let denied = call("deny");
    assert_eq!(denied.status, 403, "{}", denied.text());
    let seen = r.json();
    let seen = &seen["headers"];
    // X-Ray's header reaches the backend as the client sent it, and the authorizer function
    // (as Lambda's runtime gives it: _X_AMZN_TRACE_ID).
    assert_eq!(seen["x-amzn-trace-id"], xray, "{seen}");
    assert_eq!(seen["x-tollgate-authorizer-trace"], xray, "{seen}");

    // Envoy's spans, decoded by the receiver: for each request a server span in the client's
    // trace (its parent the client's span); for the admitted one a client span for the backend.
    let spans = receiver.trace(trace_id, |s| s.len() >= 3);
    let of_kind =
        |kind: u64| -> Vec<&Value> { spans.iter().filter(|s| s["kind"] == kind).collect() };
    let servers = of_kind(SERVER);
    assert_eq!(servers.len(), 2, "{spans:#?}");
    let server = |status: &str| {
        *servers
            .iter()
            .find(|s| s["attributes"]["http.status_code"] == status)
            .unwrap_or_else(|| panic!("no {status} span: {spans:#?}"))
    };
    let (ok, refused) = (server("200"), server("403"));
    for (span, answer) in [(ok, &r), (refused, &denied)] {
        assert_eq!(span["name"], "GET /pets/{id}", "{span}");
        assert_eq!(span["parent_span_id"], client_span, "{span}");
        assert_eq!(span["service"], "tollgate-shop", "{span}");
        let tags = &span["attributes"];
        assert_eq!(tags["aws.api_gateway.api_id"], "shop", "{span}");
        assert_eq!(tags["aws.api_gateway.stage"], "prod", "{span}");
        assert_eq!(tags["aws.api_gateway.resource"], "/pets/{id}", "{span}");
        assert_eq!(tags["http.request.method"], "GET", "{span}");
        assert_eq!(tags["aws.xray.trace_id"], xray, "{span}");
        // The span names the request id the client got.
        assert_eq!(tags["guid:x-request-id"].as_str(), answer.header("x-amzn-requestid"), "{span}");
    }
    assert_eq!(ok["attributes"]["aws.api_gateway.api_key_id"], "k-1", "{ok}");
    assert_eq!(ok["attributes"].get("aws.api_gateway.error.response_type"), None, "{ok}");
    assert_eq!(refused["attributes"]["aws.api_gateway.error.response_type"], "ACCESS_DENIED");
    // The backend's request: a child of the admitted request's span, and the backend continues
    // the trace from it.
    let upstream_spans = of_kind(CLIENT);
    assert_eq!(upstream_spans.len(), 1, "{spans:#?}");
    let egress = upstream_spans[0];
    assert_eq!(egress["parent_span_id"], ok["span_id"], "{egress}");
    assert_eq!(egress["attributes"]["upstream_cluster"], "upstream", "{egress}");
    let to_backend = format!("00-{trace_id}-{}-01", egress["span_id"].as_str().unwrap());
    assert_eq!(seen["traceparent"], to_backend.as_str(), "{seen}");
}
