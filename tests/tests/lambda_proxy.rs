//! Lambda proxy integrations (AWS_PROXY) through a real Envoy and the local Lambda emulator
//! running the example's Python handlers: the event the function gets, the response the client
//! gets, binary bodies, multi-value headers and query, and every broken answer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use serde_json::{json, Value};
use tollgate_e2e::lambda::LambdaEmulator;
use tollgate_e2e::{assert_gateway_error, get, request, root, Envoy, EnvoyOptions, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");

fn function(name: &str, timeout_ms: u32) -> Value {
    json!({"cluster": "lambda", "authority": "lambda.us-east-1.amazonaws.com", "name": name,
           "timeout_ms": timeout_ms})
}

fn proxy(name: &str) -> Value {
    json!({"type": "AWS_PROXY", "function": function(name, 5000)})
}

fn config() -> Value {
    json!({
        "api": {"id": "pets-api", "account_id": "123456789012",
                "binary_media_types": ["image/png", "application/octet-stream"]},
        "stage": {"name": "prod", "variables": {"petsFunction": "pets"}},
        "methods": [
            {"resource": "/pets", "http_method": "GET",
             "integration": {"type": "AWS_PROXY", "function": function("${stageVariables.petsFunction}", 5000)}},
            {"resource": "/pets", "http_method": "POST", "integration": proxy("pets")},
            {"resource": "/pets/{petId}", "http_method": "GET", "integration": proxy("pets")},
            {"resource": "/echo/{proxy+}", "http_method": "ANY", "integration": proxy("echo_event")},
            {"resource": "/binary", "http_method": "ANY", "integration": proxy("binary")},
            {"resource": "/broken", "http_method": "GET",
             "integration": {"type": "AWS_PROXY", "function": function("broken", 1000)}},
            {"resource": "/missing", "http_method": "GET", "integration": proxy("no_such_function")},
        ],
    })
}

#[test]
fn lambda_proxy_end_to_end() {
    let lambda = LambdaEmulator::start(&root().join("examples/lambda-proxy/functions"));
    // Nothing is routed here: every method answers from its function.
    let upstream = Upstream::start(UPSTREAM, "echo");
    let options = EnvoyOptions::new(config(), upstream.port).cluster("lambda", lambda.port);
    let envoy = Envoy::start(&options).unwrap_or_else(|log| panic!("{log}"));
    let port = envoy.port;

    // A REST API backed by one function; its name comes from a stage variable.
    let r = get(port, "/pets?type=dog", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json(), json!([{"id": 1, "type": "dog", "price": 249.99}]));
    let r = get(port, "/pets/2", &[]);
    assert_eq!(r.json()["type"], "cat");
    let r = get(port, "/pets/9", &[]);
    assert_eq!((r.status, r.json()), (404, json!({"message": "no pet 9"})));
    let r = request(
        port,
        "POST",
        b"/pets",
        &[("content-type", b"application/json")],
        br#"{"type":"bird"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("location"), Some("/pets/4"));
    assert_eq!(r.json(), json!({"type": "bird", "id": 4}));

    // The event, as the function got it: greedy path parameter, multi-value query and headers.
    let r = request(
        port,
        "GET",
        b"/echo/a/b%20c?x=1&x=2&set-cookie=a%3D1&set-cookie=b%3D2",
        &[("x-multi", b"one"), ("x-multi", b"two"), ("user-agent", b"tollgate-e2e")],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-handler"), Some("echo_event"));
    let cookies: Vec<&str> = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    let event = r.json();
    assert_eq!(event["resource"], "/echo/{proxy+}");
    assert_eq!(event["path"], "/echo/a/b%20c");
    assert_eq!(event["httpMethod"], "GET");
    assert_eq!(event["pathParameters"], json!({"proxy": "a/b c"}));
    assert_eq!(event["queryStringParameters"]["x"], "2");
    assert_eq!(event["multiValueQueryStringParameters"]["x"], json!(["1", "2"]));
    assert_eq!(event["multiValueHeaders"]["x-multi"], json!(["one", "two"]));
    assert_eq!(event["headers"]["x-multi"], "two");
    assert_eq!(event["headers"]["Host"], "api.example.com");
    // Standard names in the Header-Case HTTP/1.1 clients send, custom ones as Envoy has them,
    // nothing of Envoy's own; Envoy's X-Forwarded-For names the caller, as AWS's does.
    assert_eq!(event["headers"]["User-Agent"], "tollgate-e2e");
    // (For a loopback peer Envoy appends this host's own address.)
    let forwarded = event["headers"]["X-Forwarded-For"].as_str().unwrap_or_default();
    assert!(forwarded.parse::<std::net::IpAddr>().is_ok(), "{forwarded}");
    let names: Vec<&String> = event["headers"].as_object().unwrap().keys().collect();
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("x-envoy") || *n == "x-request-id" || *n == "user-agent"),
        "{names:?}"
    );
    assert_eq!(event["stageVariables"], json!({"petsFunction": "pets"}));
    assert_eq!(event["body"], Value::Null);
    assert_eq!(event["isBase64Encoded"], false);
    let ctx = &event["requestContext"];
    assert_eq!(ctx["stage"], "prod");
    assert_eq!(ctx["resourcePath"], "/echo/{proxy+}");
    assert_eq!(ctx["httpMethod"], "GET");
    assert_eq!(ctx["apiId"], "pets-api");
    assert_eq!(ctx["accountId"], "123456789012");
    assert_eq!(ctx["path"], "/prod/echo/a/b%20c");
    assert_eq!(ctx["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(ctx["identity"]["userAgent"], "tollgate-e2e");
    assert!(ctx["requestId"].as_str().is_some_and(|id| !id.is_empty()), "{ctx}");
    assert!(ctx["requestTimeEpoch"].as_u64().is_some_and(|t| t > 1_700_000_000_000), "{ctx}");
    assert_eq!(ctx["protocol"], "HTTP/1.1");
    assert_eq!(ctx["domainName"], "api.example.com");
    assert_eq!(ctx["domainPrefix"], "api");
    for field in
        ["accessKey", "accountId", "apiKey", "caller", "cognitoIdentityId", "user", "userArn"]
    {
        assert_eq!(ctx["identity"][field], Value::Null, "{field}: {ctx}");
    }
    // The ids the client gets are the ones the function saw.
    let extended = ctx["extendedRequestId"].as_str().unwrap();
    assert_ne!(extended, ctx["requestId"].as_str().unwrap());
    assert_eq!(r.header("x-amzn-requestid"), ctx["requestId"].as_str());
    assert_eq!(r.header("x-amz-apigw-id"), Some(extended));

    // A text body arrives as it was sent; the function's status code is the client's.
    let r =
        request(port, "PUT", b"/echo/x?status=202", &[("content-type", b"text/plain")], b"hello");
    assert_eq!(r.status, 202);
    assert_eq!(
        (r.json()["body"].clone(), r.json()["isBase64Encoded"].clone()),
        (json!("hello"), json!(false))
    );

    // Binary both ways (the API's binary media types): base64 in the event and in the answer,
    // bytes on the wire for a client whose first Accept type is binary; the base64 text for
    // any other client, as on AWS.
    let r = get(port, "/binary", &[("accept", "image/png")]);
    assert_eq!(r.status, 200);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(0..=255u8);
    assert_eq!(r.body, png);
    let r = get(port, "/binary", &[("accept", "text/html, image/png")]);
    let text = r.text();
    assert!(text.starts_with("iVBORw0KGgo") && text.len() == png.len().div_ceil(3) * 4, "{text}");
    let r = request(
        port,
        "POST",
        b"/binary",
        &[("content-type", b"application/octet-stream"), ("accept", b"application/octet-stream")],
        b"\xff\x00\x01ab",
    );
    assert_eq!(r.body, b"ba\x01\x00\xff");
    // A binary type is base64 in the event even when it is valid UTF-8.
    let r = request(
        port,
        "POST",
        b"/echo/bin",
        &[("content-type", b"application/octet-stream")],
        b"text",
    );
    assert_eq!(
        (r.json()["body"].clone(), r.json()["isBase64Encoded"].clone()),
        (json!("dGV4dA=="), json!(true))
    );

    // Whatever is not a proxy response is AWS's 502; no answer in time is 504.
    for kind in ["string", "nostatus", "objectbody", "badbase64", "raise"] {
        let r = get(port, &format!("/broken?kind={kind}"), &[("accept", "image/png")]);
        assert_gateway_error(
            &r,
            502,
            "Internal server error",
            "InternalServerErrorException",
            kind,
        );
    }
    let r = get(port, "/missing", &[]);
    assert_gateway_error(
        &r,
        502,
        "Internal server error",
        "InternalServerErrorException",
        "no such function",
    );
    let r = get(port, "/broken?kind=slow", &[]);
    assert_gateway_error(
        &r,
        504,
        "Endpoint request timed out",
        "InternalServerErrorException",
        "timeout",
    );

    // The worker keeps serving after all that.
    assert_eq!(get(port, "/pets/1", &[]).status, 200);
    assert_eq!(lambda.count("pets"), 5);
}
