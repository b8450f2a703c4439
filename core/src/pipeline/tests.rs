//! The pipeline with API keys, routes and gateway responses, on the in-memory host.

use super::*;
use crate::apikey::hash_key_hex;
use crate::host::memory::MemoryHost;
use crate::test_support::test;

/// The key id header and filter state turned on, as most tests here look at them.
fn plan() -> Plan {
    let mut config = config();
    config["api_key_id_header"] = DEFAULT_ID_HEADER.into();
    config["filter_state"] = true.into();
    Plan::from_json(config.to_string().as_bytes()).unwrap()
}

fn config() -> serde_json::Value {
    serde_json::json!({
        "api": {"id": "petstore", "account_id": "123456789012"},
        "methods": [
            {"resource": "/pets", "http_method": "GET", "api_key_required": true},
            {"resource": "/health", "http_method": "GET"},
        ],
        "api_keys": [
            {"id": "k-demo", "value_sha256": hash_key_hex(b"demo-key"), "usage_plan_ids": ["basic"]},
            {"id": "k-off", "value_sha256": hash_key_hex(b"off-key"), "enabled": false, "usage_plan_ids": ["basic"]},
            {"id": "k-planless", "value_sha256": hash_key_hex(b"planless-key")},
        ],
        "usage_plans": [{"id": "basic", "api_stages": [{"api_id": "petstore", "stage": "prod"}]}],
    })
}

fn run(host: &mut MemoryHost) -> Flow {
    on_request_headers(&plan(), &mut Worker::default(), host, &mut Exchange::default(), true)
}

fn assert_rejected(host: &MemoryHost, status: u16, message: &str, error_type: &str) {
    let reply = host.reply.as_ref().expect("a local reply");
    assert_eq!(reply.status, status);
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(body, serde_json::json!({ "message": message }));
    assert_eq!(reply.header("x-amzn-errortype"), Some(error_type));
}

#[test]
fn valid_key_continues_with_key_id_upstream_and_in_filter_state() {
    let mut host = MemoryHost::request("GET", "/pets?x=1")
        .with_header("x-api-key", "demo-key")
        .with_header(DEFAULT_ID_HEADER, "forged");
    assert_eq!(run(&mut host), Flow::Continue);
    assert_eq!(host.header(DEFAULT_ID_HEADER), Some(&b"k-demo"[..]));
    assert_eq!(host.filter_state.get(API_KEY_ID_STATE).map(Vec::as_slice), Some(&b"k-demo"[..]));
    assert_eq!(host.counts.get(&Outcome::Allowed), Some(&1));
    assert!(host.reply.is_none());
}

#[test]
fn by_default_no_key_id_goes_upstream_and_no_filter_state_is_set() {
    let plan = Plan::from_json(config().to_string().as_bytes()).unwrap();
    let mut host = MemoryHost::request("GET", "/pets")
        .with_header("x-api-key", "demo-key")
        .with_header(DEFAULT_ID_HEADER, "forged");
    let flow = on_request_headers(
        &plan,
        &mut Worker::default(),
        &mut host,
        &mut Exchange::default(),
        true,
    );
    assert_eq!(flow, Flow::Continue);
    // The client's value is removed all the same: `x-tollgate-*` is the gateway's word.
    assert_eq!(host.header(DEFAULT_ID_HEADER), None);
    assert!(host.filter_state.is_empty(), "{:?}", host.filter_state);
    assert_eq!(host.counts.get(&Outcome::Allowed), Some(&1));
}

const DEFAULT_ID_HEADER: &str = crate::config::DEFAULT_API_KEY_ID_HEADER;

#[test]
fn missing_wrong_disabled_and_non_utf8_keys_are_forbidden() {
    let keys: [Option<&[u8]>; 5] =
        [None, Some(b"nope"), Some(b"off-key"), Some(b"\xff\xfe"), Some(b"")];
    for key in keys {
        let mut host = MemoryHost::request("GET", "/pets").with_header("x-request-id", "rid-7");
        if let Some(k) = key {
            host = host.with_header("x-api-key", k);
        }
        assert_eq!(run(&mut host), Flow::Replied, "{key:?}");
        assert_rejected(&host, 403, "Forbidden", "ForbiddenException");
        assert_eq!(host.reply.as_ref().unwrap().header("x-amzn-requestid"), Some("rid-7"));
        assert_eq!(host.counts.get(&Outcome::Rejected(ResponseType::InvalidApiKey)), Some(&1));
    }
}

#[test]
fn a_repeated_key_header_is_forbidden_whichever_copy_is_valid() {
    for (first, second) in [("demo-key", "nope"), ("nope", "demo-key"), ("demo-key", "demo-key")] {
        let mut host = MemoryHost::request("GET", "/pets")
            .with_header("x-api-key", first)
            .with_header("x-api-key", second);
        assert_eq!(run(&mut host), Flow::Replied, "{first} {second}");
        assert_rejected(&host, 403, "Forbidden", "ForbiddenException");
    }
}

#[test]
fn unknown_route_or_verb_is_missing_authentication_token() {
    for (verb, path) in [("GET", "/nope"), ("DELETE", "/pets"), ("GET", "/pets/1"), ("", "")] {
        let mut host = MemoryHost::request(verb, path).with_header("x-api-key", "demo-key");
        assert_eq!(run(&mut host), Flow::Replied);
        assert_rejected(
            &host,
            403,
            "Missing Authentication Token",
            "MissingAuthenticationTokenException",
        );
    }
}

#[test]
fn open_method_needs_no_key_and_strips_a_forged_key_id() {
    let mut host = MemoryHost::request("GET", "/health").with_header(DEFAULT_ID_HEADER, "forged");
    assert_eq!(run(&mut host), Flow::Continue);
    assert_eq!(host.header(DEFAULT_ID_HEADER), None);
    assert!(host.filter_state.is_empty());
}

#[test]
fn request_id_falls_back_when_envoy_sent_none_or_garbage() {
    let mut host = MemoryHost::request("GET", "/nope").with_header("x-request-id", "a\nb");
    host.now_nanos = 255;
    run(&mut host);
    let id = host.reply.unwrap().header("x-amzn-requestid").unwrap().to_string();
    assert_eq!(id, format!("{:032x}", 255));
}

#[test]
fn a_client_cannot_send_the_gateways_own_headers() {
    let mut host = MemoryHost::request("GET", "/health")
        .with_header("x-tollgate-authorizer-principal-id", "admin")
        .with_header("x-tollgate-authorizer-role", "admin")
        .with_header("x-tollgate-cluster", "internal")
        .with_header("x-tollgate-cluster", "internal-2")
        .with_header("x-custom", "kept");
    assert_eq!(run(&mut host), Flow::Continue);
    let names: Vec<&str> = host.request_headers.iter().map(|(n, _)| n.as_str()).collect();
    assert!(!names.iter().any(|n| n.starts_with("x-tollgate-")), "{names:?}");
    assert!(names.contains(&"x-custom"), "{names:?}");
}

/// One stage: the execute-api form of a path (`/prod/pets`, the stage first) is served like
/// `/pets`, and the upstream gets the path without the stage, as on AWS; a resource that starts
/// with the stage's name is still served as it is.
#[test]
fn one_stage_answers_execute_api_paths() {
    let config = serde_json::json!({
        "api": {"id": "petstore"},
        "stage": {"name": "prod"},
        "methods": [
            {"resource": "/pets/{petId}", "http_method": "GET"},
            {"resource": "/prod/items", "http_method": "GET"},
            {"resource": "/files/{proxy+}", "http_method": "GET"},
        ],
    });
    let deployment =
        crate::deployment::Deployment::from_json(config.to_string().as_bytes()).unwrap();
    let plan = deployment.primary().unwrap();
    let run = |path: &str| {
        let mut host = MemoryHost::request("GET", path);
        let flow = on_request_headers(
            plan,
            &mut Worker::default(),
            &mut host,
            &mut Exchange::default(),
            true,
        );
        (flow, host)
    };
    for (path, upstream) in [
        ("/prod/pets/7?x=1", "/pets/7?x=1"),
        ("/pets/7", "/pets/7"),
        ("/prod/items", "/prod/items"),
    ] {
        let (flow, host) = run(path);
        assert_eq!(flow, Flow::Continue, "{path}");
        assert_eq!(host.header(":path"), Some(upstream.as_bytes()), "{path}");
    }
    // `/prod` is the stage's root (no method), not a greedy parameter's value.
    for path in ["/prod", "/prod/", "/prodx/pets/7", "/dev/pets/7", "/prod/files"] {
        let (flow, host) = run(path);
        assert_eq!(flow, Flow::Replied, "{path}");
        assert_rejected(
            &host,
            403,
            "Missing Authentication Token",
            "MissingAuthenticationTokenException",
        );
    }
    // With `path_prefix: false` the path is taken as it is.
    let mut off = config.clone();
    off["stage_selection"] = serde_json::json!({"path_prefix": false});
    let deployment = crate::deployment::Deployment::from_json(off.to_string().as_bytes()).unwrap();
    let mut host = MemoryHost::request("GET", "/prod/pets/7");
    let plan = deployment.primary().unwrap();
    let flow =
        on_request_headers(plan, &mut Worker::default(), &mut host, &mut Exchange::default(), true);
    assert_eq!(flow, Flow::Replied);
}

/// A request refused before its small body arrived is answered once the body is read (an
/// HTTP/1.1 connection answered early is closed); a large or undeclared body is not waited for.
#[test]
fn refusals_wait_for_a_small_body() {
    let plan = plan();
    let refuse = |length: Option<&str>| {
        let mut host = MemoryHost::request("POST", "/pets");
        if let Some(length) = length {
            host = host.with_header("content-length", length);
        }
        let mut exchange = Exchange::default();
        let flow =
            on_request_headers(&plan, &mut Worker::default(), &mut host, &mut exchange, false);
        (flow, host, exchange)
    };
    let (flow, mut host, mut exchange) = refuse(Some("12"));
    assert_eq!(flow, Flow::NeedBody);
    assert!(host.reply.is_none());
    assert_eq!(on_request_body_data(&plan, &mut host, &mut exchange, 5, false), BodyFlow::Pause);
    assert!(host.reply.is_none());
    assert_eq!(on_request_body_data(&plan, &mut host, &mut exchange, 12, true), BodyFlow::Replied);
    assert_rejected(
        &host,
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
    );
    assert!(host.reply.as_ref().unwrap().header("x-amzn-requestid").is_some());
    for length in [None, Some("65537"), Some("x")] {
        let (flow, host, _) = refuse(length);
        assert_eq!(flow, Flow::Replied, "{length:?}");
        assert_eq!(host.reply.as_ref().map(|r| r.status), Some(403));
    }
}

/// The method ARN's 1,600-byte limit, on a method with authorization (the key check here is
/// not one, a resource policy is).
#[test]
fn a_method_arn_over_1600_bytes_is_414() {
    let arn = crate::auth::policy::method_arn(
        "us-east-1",
        "123456789012",
        "petstore",
        "prod",
        "GET",
        "/pets/",
    );
    let config = serde_json::json!({
        "api": {"id": "petstore", "account_id": "123456789012"},
        "methods": [{"resource": "/pets/{id}", "http_method": "GET"}],
        "resource_policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*"}]},
    });
    let plan = Plan::from_json(config.to_string().as_bytes()).unwrap();
    for (id_len, status) in [(1600 - arn.len(), None), (1601 - arn.len(), Some(414))] {
        let path = format!("/pets/{}", "a".repeat(id_len));
        let mut host = MemoryHost::request("GET", &path);
        let mut exchange = Exchange::default();
        on_request_headers(&plan, &mut Worker::default(), &mut host, &mut exchange, true);
        assert_eq!(host.reply.as_ref().map(|r| r.status), status, "{id_len}");
    }
    let host = {
        let mut host = MemoryHost::request("GET", &format!("/pets/{}", "a".repeat(2000)));
        on_request_headers(
            &plan,
            &mut Worker::default(),
            &mut host,
            &mut Exchange::default(),
            true,
        );
        host
    };
    assert_rejected(&host, 414, "Request URI too long", "BadRequestException");
}

#[test]
fn a_mapped_base_path_is_left_for_envoys_route_a_stage_path_is_removed() {
    let plan = Plan::from_json(config().to_string().as_bytes()).unwrap();
    let path_upstream = |mapped: bool| {
        let mut host =
            MemoryHost::request("GET", "/v1/pets?x=1").with_header("x-api-key", "demo-key");
        let mut exchange = Exchange::default();
        if mapped {
            exchange.set_mapped_base_path(Some("/v1".into()));
        } else {
            exchange.set_base_path(Some("/v1".into()));
        }
        let flow =
            on_request_headers(&plan, &mut Worker::default(), &mut host, &mut exchange, true);
        assert_eq!(flow, Flow::Continue, "{:?}", host.reply);
        host.header(":path").map(<[u8]>::to_vec)
    };
    // Both match `/pets`; a custom domain's base path stays for the route's `prefix_rewrite`.
    assert_eq!(path_upstream(true).as_deref(), Some(&b"/v1/pets?x=1"[..]));
    assert_eq!(path_upstream(false).as_deref(), Some(&b"/pets?x=1"[..]));
}
