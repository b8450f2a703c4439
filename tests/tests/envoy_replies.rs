//! The answers Envoy gives itself, on a gateway `tollgate render` wrote: an integration that
//! refuses the connection, one that does not answer in time, headers over API Gateway's 10,240
//! bytes. Each is the API's gateway response (`INTEGRATION_FAILURE`, `INTEGRATION_TIMEOUT`,
//! `DEFAULT_4XX`, with their overrides: CORS headers stay during an outage), never Envoy's
//! plain text; and what Envoy adds of its own (`server`, `x-envoy-*`, the filter's routing
//! header) reaches neither the client nor the backend.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::net::TcpListener;

use serde_json::{json, Value};
use tollgate_e2e::{assert_gateway_error, get, render, scratch_dir, Envoy, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");

fn proxy(resource: &str, uri: String, timeout_ms: u32) -> Value {
    json!({"resource": resource, "http_method": "GET", "integration": {
        "type": "HTTP_PROXY", "uri": uri, "timeout_ms": timeout_ms}})
}

fn header<'a>(headers: &'a Value, name: &str) -> Option<&'a str> {
    headers.as_object()?.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))?.1.as_str()
}

#[test]
fn envoys_own_answers_are_gateway_responses() {
    let upstream = Upstream::start_with(UPSTREAM, &["--mode", "echo", "--name", "backend"]);
    // Nothing listens on `closed`; `held` accepts connections and never answers.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let held_port = held.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in held.incoming() {
            open.push(stream);
        }
    });
    // The common CORS setup: the caller's Origin echoed back (AWS's
    // `"gatewayresponse.header.Access-Control-Allow-Origin": "method.request.header.origin"`).
    let cors = json!({"Access-Control-Allow-Origin": {"from": "method.request.header.origin"},
                      "Access-Control-Allow-Credentials": "true"});
    const ORIGIN: &str = "https://app.example.com";
    let origin = [("origin", ORIGIN)];
    let spec = json!({
        "gateway": {
            "listen": "127.0.0.1:0", "admin_listen": "127.0.0.1:0", "envoy_admin": "127.0.0.1:0",
            "clusters": {
                "down.internal": format!("http://127.0.0.1:{closed}"),
                "slow.internal": format!("http://127.0.0.1:{held_port}"),
                "backend.internal": format!("http://127.0.0.1:{}", upstream.port),
            },
        },
        "api": {"id": "shop", "region": "us-east-1", "account_id": "123456789012",
                "minimum_compression_size": 100},
        "stage": {"name": "prod"},
        "methods": [
            proxy("/down", "http://down.internal/down".into(), 5000),
            proxy("/slow", "http://slow.internal/slow".into(), 1000),
            proxy("/echo", "http://backend.internal/echo".into(), 5000),
        ],
        "gateway_responses": {
            "INTEGRATION_FAILURE": {"headers": cors},
            "INTEGRATION_TIMEOUT": {"headers": cors},
            "DEFAULT_4XX": {"headers": cors,
                            "templates": {"application/xml": "<error>$context.error.message</error>"}},
        },
    });
    let dir = scratch_dir("envoy-replies");
    let path = dir.join("spec.json");
    std::fs::write(&path, spec.to_string()).unwrap();
    render(&path, &dir.join("gateway"));
    let envoy =
        Envoy::start_file(&dir.join("gateway/envoy.yaml"), 1).unwrap_or_else(|log| panic!("{log}"));
    let port = envoy.port;

    let ids = |r: &tollgate_e2e::Response, what: &str| {
        let id = r.header("x-amzn-requestid").unwrap_or_default();
        assert!(id.len() >= 32, "{what}: x-amzn-RequestId {id:?}");
        assert_eq!(r.header("x-amz-apigw-id"), id.get(..16), "{what}");
        assert_eq!(r.header("server"), None, "{what}");
        assert!(
            !r.headers.iter().any(|(n, _)| n.starts_with("x-envoy")),
            "{what}: {:?}",
            r.headers
        );
    };

    // The backend refuses the connection: INTEGRATION_FAILURE (504), its override's headers.
    let r = get(port, "/down", &origin);
    assert_gateway_error(&r, 504, "Internal server error", "InternalServerErrorException", "down");
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
    ids(&r, "down");

    // The backend does not answer within the integration's timeout: INTEGRATION_TIMEOUT.
    let r = get(port, "/slow", &origin);
    assert_gateway_error(
        &r,
        504,
        "Endpoint request timed out",
        "InternalServerErrorException",
        "slow",
    );
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
    ids(&r, "slow");

    // Headers over 10,240 bytes: Envoy's 431, as the API's DEFAULT_4XX.
    let big = "a".repeat(11_000);
    let r = get(port, "/echo", &[("x-big", big.as_str()), ("origin", ORIGIN)]);
    assert_eq!(r.status, 431, "{}", r.text());
    assert_eq!(r.json(), json!({"message": "Request Header Fields Too Large"}));
    assert_eq!(r.header("x-amzn-errortype"), Some("BadRequestException"));
    // (Envoy answers before it has read any header: there is no Origin to echo.)
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(r.header("server"), None);

    // The filter's own answers are left as they are.
    let r = get(port, "/nowhere", &origin);
    assert_gateway_error(
        &r,
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
        "own",
    );
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
    ids(&r, "own");
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    // A template per media type, chosen by Accept.
    let r = get(port, "/nowhere", &[("accept", "application/xml")]);
    assert_eq!(r.status, 403);
    assert_eq!(r.header("content-type"), Some("application/xml"));
    assert_eq!(r.text(), "<error>Missing Authentication Token</error>");
    // Without an Origin there is nothing to echo: the header is left out.
    let r = get(port, "/nowhere", &[]);
    assert_eq!(r.header("access-control-allow-origin"), None);
    let r = get(port, "/down", &[]);
    assert_eq!((r.status, r.header("access-control-allow-origin")), (504, None));

    // A refusal of a request with a (small) body keeps the connection: the next request on
    // it is answered too.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    let mut answers = Vec::new();
    for request in [
        "POST /nowhere HTTP/1.1\r\nhost: api\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"a\": true}",
        "GET /nowhere HTTP/1.1\r\nhost: api\r\n\r\n",
    ] {
        use std::io::{Read, Write};
        stream.write_all(request.as_bytes()).unwrap();
        let mut buf = [0u8; 4096];
        let n = stream.read(&mut buf).unwrap();
        answers.push(String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase());
    }
    for answer in &answers {
        assert!(answer.starts_with("http/1.1 403"), "{answer}");
        assert!(!answer.contains("connection: close"), "{answer}");
    }

    // A proxied answer: the ids, nothing of Envoy's; the backend got none of Envoy's headers
    // nor the filter's routing header.
    let r = get(port, "/echo", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    ids(&r, "proxied");
    let seen = &r.json()["headers"];
    for name in ["x-tollgate-cluster", "x-envoy-expected-rq-timeout-ms"] {
        assert_eq!(header(seen, name), None, "{name}: {seen}");
    }
    assert_eq!(r.header("content-encoding"), None, "no Accept-Encoding, no compression");

    // minimumCompressionSize: an answer of 100 bytes or more is gzip for a client that accepts
    // it; a smaller one (the 42-byte Missing Authentication Token) is not.
    let r = get(port, "/echo", &[("accept-encoding", "gzip")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.body.get(..2), Some(&[0x1f, 0x8b][..]), "a gzip stream");
    let r = get(port, "/nowhere", &[("accept-encoding", "gzip")]);
    assert_eq!((r.status, r.header("content-encoding")), (403, None));
}
