//! Lambda authorizers (CUSTOM methods) through the pipeline, on the in-memory host: the call,
//! its answer, the shared result cache, and the authorizer-chosen API key.

use super::*;
use crate::apikey::hash_key_hex;
use crate::auth::custom::InvokeResponse;
use crate::host::memory::{MemoryHost, SharedStore};
use crate::test_support::test;

const NOW: u64 = 1_764_072_000;
const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:petstore/prod";

fn plan(ttl: u32) -> Plan {
    let config = serde_json::json!({
        "api": {"id": "petstore", "region": "us-east-1", "account_id": "123456789012"},
        "api_key_source": "AUTHORIZER",
        "lambda_authorizers": [
            {"id": "tok", "type": "TOKEN", "function": {"cluster": "lambda", "authority": "lambda", "name": "auth"},
             "identity_source": "method.request.header.Authorization",
             "identity_validation_expression": "^[a-z-]+$", "result_ttl_seconds": ttl},
        ],
        "methods": [
            {"resource": "/pets", "http_method": "GET", "authorization_type": "CUSTOM", "authorizer_id": "tok"},
            {"resource": "/pets/{petId}", "http_method": "GET", "authorization_type": "CUSTOM", "authorizer_id": "tok"},
            {"resource": "/limited", "http_method": "GET", "authorization_type": "CUSTOM", "authorizer_id": "tok",
             "api_key_required": true},
        ],
        "api_keys": [{"id": "k", "value_sha256": hash_key_hex(b"key-from-authorizer"), "usage_plan_ids": ["p"]}],
        "usage_plans": [{"id": "p", "api_stages": [{"api_id": "petstore", "stage": "prod"}]}],
        "account_throttle": null,
    });
    Plan::from_json(config.to_string().as_bytes()).unwrap()
}

/// Lambda's answer as the callout brings it back.
pub(super) fn invoked(r: InvokeResponse) -> CalloutResponse {
    let headers = r.function_error.map(|e| vec![("x-amz-function-error".into(), e)]);
    CalloutResponse { status: r.status, headers: headers.unwrap_or_default(), body: r.body }
}

fn answer(effect: &str, resource: &str) -> InvokeResponse {
    let body = serde_json::json!({
        "principalId": "user-7",
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]},
        "context": {"tier": "gold", "count": 3, "ok": true},
        "usageIdentifierKey": "key-from-authorizer",
    });
    InvokeResponse { status: 200, function_error: None, body: body.to_string().into_bytes() }
}

fn request(path: &str, token: &str, shared: &SharedStore) -> MemoryHost {
    let mut host = MemoryHost::request("GET", path)
        .with_header("authorization", token)
        .with_header("x-tollgate-authorizer-principal-id", "forged");
    host.shared = shared.clone();
    host.now_nanos = NOW * 1_000_000_000;
    host
}

/// Runs a request; `answer` is what the function says if it is called. Returns the flow and
/// whether the function was called.
fn run(plan: &Plan, host: &mut MemoryHost, answer: Option<InvokeResponse>) -> (Flow, bool) {
    let mut worker = Worker::default();
    let mut exchange = Exchange::default();
    match on_request_headers(plan, &mut worker, host, &mut exchange, true) {
        Flow::Call(call) => {
            assert_eq!(call.cluster, "lambda");
            assert_eq!(call.header(":method"), Some("POST"));
            let event: serde_json::Value = serde_json::from_slice(call.body()).unwrap();
            assert_eq!(event["type"], "TOKEN");
            assert!(event["methodArn"].as_str().unwrap().starts_with(ARN), "{event}");
            let answer = answer.expect("the function was not expected to be called");
            (on_callout_response(plan, &mut worker, host, &mut exchange, invoked(answer)), true)
        }
        flow => (flow, false),
    }
}

fn reply(host: &MemoryHost) -> (u16, String, String) {
    let r = host.reply.as_ref().expect("a reply");
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    (
        r.status,
        body["message"].as_str().unwrap().into(),
        r.header("x-amzn-errortype").unwrap().into(),
    )
}

#[test]
fn allow_sends_principal_and_context_upstream_and_is_cached_for_every_method() {
    let plan = plan(300);
    let shared = SharedStore::default();
    let mut host = request("/pets", "allow", &shared);
    let (flow, called) = run(&plan, &mut host, Some(answer("Allow", &format!("{ARN}/*"))));
    assert_eq!((flow, called), (Flow::Continue, true));
    let h = |n: &str| host.header(n).map(|v| String::from_utf8_lossy(v).into_owned());
    assert_eq!(h("x-tollgate-authorizer-principal-id").as_deref(), Some("user-7"));
    assert_eq!(h("x-tollgate-authorizer-tier").as_deref(), Some("gold"));
    assert_eq!(h("x-tollgate-authorizer-count").as_deref(), Some("3"));
    assert_eq!(h("x-tollgate-authorizer-ok").as_deref(), Some("true"));
    // The same token on another method: the cached policy decides, no call.
    let mut host = request("/pets/1", "allow", &shared);
    assert_eq!(run(&plan, &mut host, None), (Flow::Continue, false));
    // The usage identifier key is the API key of methods that need one.
    let mut host = request("/limited", "allow", &shared);
    assert_eq!(run(&plan, &mut host, None), (Flow::Continue, false));
}

#[test]
fn a_cached_policy_that_does_not_cover_a_method_denies_it() {
    let plan = plan(300);
    let shared = SharedStore::default();
    let mut host = request("/pets", "narrow", &shared);
    assert_eq!(
        run(&plan, &mut host, Some(answer("Allow", &format!("{ARN}/GET/pets")))).0,
        Flow::Continue
    );
    let mut host = request("/pets/1", "narrow", &shared);
    assert_eq!(run(&plan, &mut host, None), (Flow::Replied, false));
    assert_eq!(
        reply(&host),
        (
            403,
            "User is not authorized to access this resource".into(),
            "AccessDeniedException".into()
        )
    );
}

#[test]
fn deny_unauthorized_failures_and_validation() {
    let plan = plan(0);
    let cases = [
        (
            answer("Deny", &format!("{ARN}/*")),
            403,
            "User is not authorized to access this resource",
            "AccessDeniedException",
        ),
        (
            InvokeResponse {
                status: 200,
                function_error: Some(b"Unhandled".to_vec()),
                body: br#"{"errorMessage":"Unauthorized","errorType":"Exception"}"#.to_vec(),
            },
            401,
            "Unauthorized",
            "UnauthorizedException",
        ),
        (
            InvokeResponse {
                status: 200,
                function_error: Some(b"Unhandled".to_vec()),
                body: br#"{"errorMessage":"boom","errorType":"ValueError"}"#.to_vec(),
            },
            500,
            "Internal server error",
            "AuthorizerFailureException",
        ),
        (
            InvokeResponse { status: 200, function_error: None, body: b"not json".to_vec() },
            500,
            "Internal server error",
            "AuthorizerFailureException",
        ),
        (InvokeResponse::default(), 500, "Internal server error", "AuthorizerFailureException"),
    ];
    for (answer, status, message, kind) in cases {
        let mut host = request("/pets", "some-token", &SharedStore::default());
        assert_eq!(run(&plan, &mut host, Some(answer)), (Flow::Replied, true));
        assert_eq!(reply(&host), (status, message.into(), kind.into()));
    }
    // A token that fails the validation expression, or no token: 401 without a call.
    for token in ["Not Valid!", ""] {
        let mut host = request("/pets", token, &SharedStore::default());
        assert_eq!(run(&plan, &mut host, None), (Flow::Replied, false));
        assert_eq!(reply(&host).0, 401);
    }
}

#[test]
fn ttl_zero_calls_every_time() {
    let plan = plan(0);
    let shared = SharedStore::default();
    for _ in 0..2 {
        let mut host = request("/pets", "allow", &shared);
        assert_eq!(
            run(&plan, &mut host, Some(answer("Allow", &format!("{ARN}/*")))),
            (Flow::Continue, true)
        );
    }
}

/// The caller's trace headers go with the call to the function (AWS passes `X-Amzn-Trace-Id` to
/// Lambda), so the function's spans join the caller's trace.
#[test]
fn the_authorizer_call_carries_the_callers_trace() {
    let xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1";
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let call = |host: &mut MemoryHost| {
        let flow = on_request_headers(
            &plan(0),
            &mut Worker::default(),
            host,
            &mut Exchange::default(),
            true,
        );
        let Flow::Call(call) = flow else { panic!("{flow:?}") };
        call
    };
    let mut host = request("/pets", "allow", &SharedStore::default())
        .with_header("x-amzn-trace-id", xray)
        .with_header("traceparent", parent);
    let call_made = call(&mut host);
    assert_eq!(call_made.header("x-amzn-trace-id"), Some(xray));
    assert_eq!(call_made.header("traceparent"), Some(parent));
    assert_eq!(call_made.header("tracestate"), None, "the caller sent none");
    // Without trace headers, none are made up.
    let call_made = call(&mut request("/pets", "allow", &SharedStore::default()));
    assert_eq!(call_made.header("x-amzn-trace-id"), None);
}
