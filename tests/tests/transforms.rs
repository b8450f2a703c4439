//! Request validation, parameter mappings, mapping templates, integration responses, MOCK
//! integrations and gateway-response templates, through a real Envoy and a real upstream.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use serde_json::{json, Value};
use tollgate_e2e::{assert_gateway_error, get, request, Envoy, EnvoyOptions, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");

fn config() -> Value {
    json!({
        "api": {"id": "petstore", "binary_media_types": ["image/*"]},
        "stage": {"name": "prod", "variables": {"shelf": "north"}},
        "models": {
            "NewPet": {
                "$schema": "http://json-schema.org/draft-04/schema#",
                "title": "NewPet",
                "type": "object",
                "required": ["type", "price"],
                "properties": {
                    "type": {"type": "string", "enum": ["dog", "cat", "fish", "bird", "gecko"]},
                    "price": {"type": "number", "minimum": 25, "maximum": 500},
                },
            },
        },
        "request_validators": {
            "all": {"validate_request_body": true, "validate_request_parameters": true},
            "params-only": {"validate_request_parameters": true},
        },
        "methods": [
            {
                "resource": "/pets", "http_method": "POST",
                "request_validator": "all",
                "request_models": {"application/json": "NewPet"},
                "request_parameters": {"method.request.header.x-store": true},
                "integration": {
                    "type": "HTTP",
                    "request_parameters": {
                        "integration.request.header.x-store-id": "method.request.header.x-store",
                        "integration.request.querystring.shelf": "stageVariables.shelf",
                    },
                    "request_templates": {"application/json": concat!(
                        "#set($pet = $input.path('$'))\n",
                        "{\n",
                        "  \"kind\": \"$pet.type\",\n",
                        "  \"cents\": $pet.price,\n",
                        "  \"store\": \"$util.escapeJavaScript($input.params('x-store'))\",\n",
                        "  \"stage\": \"$context.stage\"\n",
                        "}\n",
                    )},
                    "responses": {"default": {
                        "status_code": "201",
                        "response_parameters": {
                            "method.response.header.x-backend-method": "integration.response.body.method",
                        },
                        "response_templates": {"application/json": concat!(
                            "#set($echo = $input.path('$'))\n",
                            "{\"created\": true, \"upstream_path\": \"$echo.path\", ",
                            "\"upstream_body\": $input.json('$.body')}",
                        )},
                    }},
                },
            },
            {
                "resource": "/pets", "http_method": "GET",
                "request_validator": "params-only",
                "request_parameters": {"method.request.querystring.limit": true},
                "integration": {
                    "type": "HTTP_PROXY",
                    "request_parameters": {
                        "integration.request.header.x-page-size": "method.request.querystring.limit",
                    },
                },
            },
            {
                "resource": "/status", "http_method": "GET",
                "integration": {
                    "type": "MOCK",
                    "request_templates": {"application/json": "{\"statusCode\": 200}"},
                    "responses": {"default": {
                        "status_code": "200",
                        "response_parameters": {"method.response.header.x-mock": "'yes'"},
                        "response_templates": {"application/json":
                            "{\"stage\": \"$context.stage\", \"shelf\": \"$stageVariables.shelf\"}"},
                    }},
                },
            },
            {
                "resource": "/files/{proxy+}", "http_method": "ANY",
                "integration": {
                    "type": "HTTP_PROXY",
                    "uri": "http://storage.internal/buckets/main/{proxy}",
                    "request_parameters": {"integration.request.path.proxy": "method.request.path.proxy"},
                },
            },
            {
                "resource": "/orders/{orderId}/lines/{line}", "http_method": "GET",
                "integration": {
                    "type": "HTTP_PROXY",
                    "uri": "http://orders.internal/v2/orders/{id}/items/{item}",
                    "request_parameters": {
                        "integration.request.path.id": "method.request.path.orderId",
                        "integration.request.path.item": "method.request.path.line",
                    },
                },
            },
            {
                // contentHandling: a binary upload reaches the backend as base64 text.
                "resource": "/images", "http_method": "POST",
                "integration": {"type": "HTTP", "content_handling": "CONVERT_TO_TEXT"},
            },
            {
                // AWS's parameter and status code overrides, from the templates.
                "resource": "/override", "http_method": "POST",
                "integration": {
                    "type": "HTTP",
                    "request_templates": {"application/json": concat!(
                        "#set($context.requestOverride.header.x-overridden = \"yes\")\n",
                        "#set($context.requestOverride.querystring.page = \"2\")\n",
                        "{\"kept\": true}",
                    )},
                    "responses": {"default": {
                        "status_code": "200",
                        "response_templates": {"application/json": concat!(
                            "#set($echo = $input.path('$'))\n",
                            "#if($echo.headers.x-overridden == 'yes')",
                            "#set($context.responseOverride.status = 202)",
                            "#set($context.responseOverride.header.x-seen = $echo.path)#end\n",
                            "{\"overridden\": true}",
                        )},
                    }},
                },
            },
            {
                "resource": "/upload", "http_method": "POST",
                "request_validator": "all",
                "request_models": {"application/json": "NewPet"},
            },
        ],
        "gateway_responses": {
            "BAD_REQUEST_BODY": {"body": concat!(
                "{\"message\": $context.error.messageString, ",
                "\"detail\": \"$util.escapeJavaScript($context.error.validationErrorString)\"}",
            )},
        },
    })
}

fn upstream_requests(envoy: &Envoy) -> u64 {
    envoy.stat("cluster.upstream.upstream_rq_total")
}

#[test]
fn validation_templates_and_mappings_end_to_end() {
    let upstream = Upstream::start(UPSTREAM, "echo");
    let envoy = Envoy::start(&EnvoyOptions::new(config(), upstream.port))
        .unwrap_or_else(|log| panic!("{log}"));
    let port = envoy.port;
    let json_body: &[(&str, &[u8])] = &[("content-type", b"application/json"), ("x-store", b"s-1")];

    // A body that fails the model: 400 with AWS's message, the validator's finding in the
    // customised template, and the upstream never called.
    let before = upstream_requests(&envoy);
    let r = request(port, "POST", b"/pets", json_body, br#"{"type": "dragon", "price": 10}"#);
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.header("x-amzn-errortype"), Some("BadRequestException"));
    let body = r.json();
    assert_eq!(body["message"], "Invalid request body");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.starts_with('[') && detail.contains("dragon"), "detail: {detail}");
    let r = request(port, "POST", b"/pets", json_body, b"{not json");
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["message"], "Invalid request body");
    let r = request(port, "POST", b"/upload", &[("content-type", b"application/json")], b"{}");
    assert_eq!(r.status, 400, "{}", r.text());
    let detail = r.json()["detail"].as_str().unwrap_or_default().to_string();
    assert!(detail.contains("type") && detail.contains("price"), "detail: {detail}");

    // A required header missing or blank: 400 naming it.
    for headers in [
        vec![("content-type", &b"application/json"[..])],
        vec![("content-type", &b"application/json"[..]), ("x-store", &b"  "[..])],
    ] {
        let r = request(port, "POST", b"/pets", &headers, br#"{"type": "dog", "price": 30}"#);
        assert_gateway_error(
            &r,
            400,
            "Missing required request parameters: [x-store]",
            "BadRequestException",
            "missing header",
        );
    }
    let r = get(port, "/pets", &[]);
    assert_gateway_error(
        &r,
        400,
        "Missing required request parameters: [limit]",
        "BadRequestException",
        "missing query",
    );
    assert_eq!(upstream_requests(&envoy), before, "no rejected request reached the upstream");

    // A valid body: the request template reshapes what the upstream sees, the mappings add a
    // header and a query value (and, for an HTTP integration, drop what is not mapped); the
    // response template and header mapping reshape what the client sees.
    let r = request(
        port,
        "POST",
        b"/pets?debug=1",
        &[("content-type", b"application/json"), ("x-store", b"s-1"), ("x-secret", b"s")],
        br#"{"type": "dog", "price": 30}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("x-backend-method"), Some("POST"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    // Only the method response's headers: the backend's own stay behind, as on AWS.
    assert_eq!(r.header("x-upstream"), None);
    let client = r.json();
    assert_eq!(client["created"], true);
    assert_eq!(client["upstream_path"], "/pets?shelf=north");
    let seen: Value =
        serde_json::from_str(client["upstream_body"].as_str().expect("body as a string")).unwrap();
    assert_eq!(seen, json!({"kind": "dog", "cents": 30, "store": "s-1", "stage": "prod"}));

    // HTTP_PROXY with a mapping: the query value moves into a header, the rest passes through.
    let r = get(port, "/pets?limit=5", &[("x-other", "kept")]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-upstream"), Some("echo"), "a proxy passes the backend's headers");
    let seen = r.json();
    assert_eq!(seen["headers"]["x-page-size"], "5");
    assert_eq!(seen["headers"]["x-other"], "kept");
    assert_eq!(seen["path"], "/pets?limit=5");

    // HTTP_PROXY with the integration URI's path: a greedy path and named path parameters are
    // substituted (decoded, then encoded once), the query passes through.
    let r = request(port, "PUT", b"/files/docs/2026/a%20b.txt?v=2", &[], b"data");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["path"], "/buckets/main/docs/2026/a%20b.txt?v=2");
    assert_eq!(r.json()["method"], "PUT");
    assert_eq!(r.json()["body"], "data");
    let r = get(port, "/orders/o-17/lines/3", &[]);
    assert_eq!(r.json()["path"], "/v2/orders/o-17/items/3");

    // MOCK: the integration response answers, no upstream.
    let before = upstream_requests(&envoy);
    let r = get(port, "/status", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"stage": "prod", "shelf": "north"}));
    assert_eq!(r.header("x-mock"), Some("yes"));
    assert_eq!(upstream_requests(&envoy), before);

    // $context.requestOverride in the request template reaches the backend, and
    // $context.responseOverride in the response template sets the client's status and header.
    let r = request(port, "POST", b"/override", &[("content-type", b"application/json")], b"{}");
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(r.header("x-seen"), Some("/override?page=2"));
    assert_eq!(r.json(), json!({"overridden": true}));

    // CONVERT_TO_TEXT: an image (a binary media type) goes to the backend base64-encoded; a
    // text body is not a binary type and passes as it is.
    let r = request(port, "POST", b"/images", &[("content-type", b"image/png")], b"\x89PNG\xff");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["body"], "iVBOR/8=");
    let r = request(port, "POST", b"/images", &[("content-type", b"text/plain")], b"plain");
    assert_eq!(r.json()["body"], "plain");

    // Past AWS's 10 MB payload limit: 413 with AWS's body, answered from the declared length
    // before any of the body is read (so the client is not sending when the answer comes).
    let r = declared_length_only(port, "/upload", 10 * 1024 * 1024 + 1);
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(r.json(), json!({"message": "Request Too Long"}));
    assert_eq!(r.header("x-amzn-errortype"), Some("RequestTooLargeException"));
    // A body just under the limit is read and validated (it is not JSON: 400).
    let big = vec![b'x'; 10 * 1024 * 1024 - 1];
    let r = request(port, "POST", b"/upload", &[("content-type", b"application/json")], &big);
    assert_eq!((r.status, r.json()["message"].clone()), (400, json!("Invalid request body")));
}

/// `POST path` announcing `length` bytes and sending none, then the response.
fn declared_length_only(port: u16, path: &str, length: usize) -> tollgate_e2e::Response {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: api.example.com\r\ncontent-type: application/json\r\n\
         content-length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    tollgate_e2e::client::read_response(&mut stream).expect("a response")
}
