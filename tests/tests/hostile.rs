//! Hostile requests through a real Envoy, over HTTP/1.1 (the raw client: exactly the bytes a test
//! writes) and HTTP/2 (prior-knowledge h2c with the `h2` crate): huge and numerous headers,
//! non-UTF-8 and NUL bytes, dot segments plain and encoded, repeated and misplaced API keys,
//! bodies past 10 MB (declared, streamed, chunked), slow bodies under a signature or a model, and
//! clients that give up half way. Each gets AWS's answer (or Envoy's own refusal), the upstream
//! gets only what it should (Envoy's `upstream_rq_total` and the echo upstream's report), and
//! the VM keeps serving: a keyed request answers 200 after every case, and Envoy's log has no
//! wasm panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tollgate_e2e::client::{read_response, try_request};
use tollgate_e2e::sha256_hex as sha;
use tollgate_e2e::sigv4::{Job, Key};
use tollgate_e2e::{assert_gateway_error, Envoy, EnvoyOptions, Response, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");
const KEY: &str = "hostile-test-key-0001";
const TEMP: Key =
    Key { access_key: "ASIAHOSTILE", secret_key: "hostile-secret", token: Some("hostile-session") };
/// Past AWS's 10 MB payload limit (and below the harness's 11 MiB connection buffer).
const TOO_BIG: usize = 10 * 1024 * 1024 + 1;

fn config() -> Value {
    json!({
        "api": {"id": "petstore", "region": "eu-west-1", "account_id": "123456789012"},
        "api_key_id_header": "x-tollgate-api-key-id",
        "stage": {"name": "prod"},
        "models": {"Pet": {"type": "object", "required": ["type"],
                           "properties": {"type": {"type": "string"}}}},
        "request_validators": {"body": {"validate_request_body": true}},
        "iam": {"credentials": [
            {"access_key_id": TEMP.access_key, "secret_access_key": TEMP.secret_key,
             "session_token": TEMP.token, "principal_arn": "arn:aws:sts::123456789012:assumed-role/r/s",
             "policies": [{"Statement": {"Effect": "Allow", "Action": "execute-api:Invoke",
                                         "Resource": "arn:aws:execute-api:*:123456789012:petstore/*"}}]}]},
        "methods": [
            {"resource": "/pets", "http_method": "GET", "api_key_required": true},
            {"resource": "/pets", "http_method": "POST", "api_key_required": true,
             "request_validator": "body", "request_models": {"application/json": "Pet"}},
            {"resource": "/pets/{petId}", "http_method": "ANY", "api_key_required": true},
            {"resource": "/admin", "http_method": "GET", "api_key_required": true},
            {"resource": "/public/{proxy+}", "http_method": "GET"},
            {"resource": "/upload", "http_method": "PUT", "api_key_required": true},
            {"resource": "/signed", "http_method": "POST", "authorization_type": "AWS_IAM"},
        ],
        "api_keys": [{"id": "k1", "value_sha256": sha(KEY), "usage_plan_ids": ["open"]}],
        "usage_plans": [{"id": "open", "api_stages": [{"api_id": "petstore", "stage": "prod"}]}],
    })
}

#[path = "support/h2c.rs"]
mod h2c;

#[derive(Clone, Copy, Debug)]
enum Proto {
    H1,
    H2,
}

/// What a case expects.
#[derive(Clone, Copy, Debug)]
enum Want {
    /// Reaches the upstream, which answers 200.
    Upstream,
    /// The filter's AWS answer: status, message, error type; nothing upstream.
    Aws(u16, &'static str, &'static str),
    /// Envoy refuses it before the filter (HTTP/1.1 status; HTTP/2 may reset the stream
    /// instead); nothing upstream.
    Envoy(u16),
}

struct Gateway {
    envoy: Envoy,
    _upstream: Upstream,
}

impl Gateway {
    fn start() -> Gateway {
        let upstream = Upstream::start(UPSTREAM, "echo");
        let envoy = Envoy::start(&EnvoyOptions::new(config(), upstream.port))
            .unwrap_or_else(|log| panic!("{log}"));
        Gateway { envoy, _upstream: upstream }
    }

    fn send(
        &self,
        proto: Proto,
        method: &str,
        path: &[u8],
        headers: &[(&str, &[u8])],
        body: &[u8],
    ) -> Result<Response, String> {
        match proto {
            Proto::H1 => {
                try_request(self.envoy.port, method, path, headers, body).map_err(|e| e.to_string())
            }
            Proto::H2 => h2c::request(self.envoy.port, method, path, headers, body),
        }
    }

    fn upstream_requests(&self) -> u64 {
        self.envoy.stat("cluster.upstream.upstream_rq_total")
    }

    /// Requests the upstream answered (a request cut off half way gets no answer).
    fn upstream_answers(&self) -> u64 {
        self.envoy.stat("cluster.upstream.upstream_rq_200")
    }

    /// A keyed request still answers 200 from the upstream (the VM is alive), over `proto`.
    fn assert_serving(&self, proto: Proto, case: &str) {
        let r = self.send(proto, "GET", b"/pets", &[("x-api-key", KEY.as_bytes())], b"");
        let r = r.unwrap_or_else(|e| panic!("{case}: the keyed request after it failed: {e}"));
        assert_eq!(r.status, 200, "{case}: the keyed request after it: {}", r.text());
        assert_eq!(r.json()["headers"]["x-tollgate-api-key-id"], "k1", "{case}");
    }

    /// Sends one case over `proto` and checks the answer, what reached the upstream, and that
    /// the VM serves afterwards. Returns the upstream's report for `Want::Upstream`.
    fn case(
        &self,
        proto: Proto,
        case: &str,
        (method, path): (&str, &[u8]),
        headers: &[(&str, &[u8])],
        body: &[u8],
        want: Want,
    ) -> Option<Value> {
        let case = format!("{proto:?} {case}");
        let before = self.upstream_requests();
        let r = self.send(proto, method, path, headers, body);
        let reached = self.upstream_requests() - before;
        let mut seen = None;
        match (&want, r) {
            (Want::Upstream, Ok(r)) => {
                assert_eq!(r.status, 200, "{case}: {}", r.text());
                assert_eq!(reached, 1, "{case}: upstream requests");
                seen = Some(r.json());
            }
            (Want::Aws(status, message, error_type), Ok(r)) => {
                assert_gateway_error(&r, *status, message, error_type, &case);
                assert_eq!(reached, 0, "{case}: reached the upstream");
            }
            (Want::Envoy(status), Ok(r)) => {
                assert_eq!(r.status, *status, "{case}: {}", r.text());
                assert!(r.header("x-amzn-errortype").is_none(), "{case}: the filter answered");
                assert_eq!(reached, 0, "{case}: reached the upstream");
            }
            // A body refused while the client still sends it: Envoy answers 413 and closes,
            // and the rest of the body in its socket can make the kernel reset the connection
            // before the client reads the answer (HTTP/1.1 has no way round this race).
            (Want::Aws(413, ..), Err(e))
                if body.len() >= TOO_BIG && (e.contains("reset") || e.contains("Broken pipe")) =>
            {
                eprintln!("{case}: connection reset while sending the body: {e}");
                assert_eq!(reached, 0, "{case}: reached the upstream");
            }
            // HTTP/2: Envoy resets the stream, or the client library refuses to send it.
            (Want::Envoy(_), Err(e)) if matches!(proto, Proto::H2) => {
                eprintln!("{case}: refused: {e}");
                assert_eq!(reached, 0, "{case}: reached the upstream");
            }
            (want, Err(e)) => panic!("{case}: wanted {want:?}, got {e}"),
        }
        self.assert_serving(proto, &case);
        seen
    }

    fn assert_no_wasm_failure(&self) {
        let log = self.envoy.log();
        for sign in ["panicked at", "Function: proxy_on_", "wasm vm crash", "VM failed"] {
            assert!(!log.contains(sign), "Envoy's log has `{sign}`:\n{log}");
        }
    }
}

#[test]
fn hostile_headers_paths_and_keys_over_http1_and_http2() {
    let gw = Gateway::start();
    let key: (&str, &[u8]) = ("x-api-key", KEY.as_bytes());
    let forbidden = Want::Aws(403, "Forbidden", "ForbiddenException");
    let no_route =
        Want::Aws(403, "Missing Authentication Token", "MissingAuthenticationTokenException");
    let names: Vec<String> = (0..5000).map(|i| format!("x-h{i}")).collect();
    let many = |n: usize| -> Vec<(&str, &[u8])> {
        std::iter::once(key).chain(names.iter().take(n).map(|n| (n.as_str(), &b"v"[..]))).collect()
    };
    let big = |n: usize| vec![b'a'; n];
    let (near, over) = (big(59 * 1024), big(61 * 1024));
    let get = |path: &'static [u8]| ("GET", path);

    for proto in [Proto::H1, Proto::H2] {
        // Envoy's limits (60 KiB of headers, 100 headers) hold before the filter runs; just
        // under them the request is served, headers intact.
        let seen = gw.case(
            proto,
            "59 KiB header",
            get(b"/pets"),
            &[key, ("x-big", &near)],
            b"",
            Want::Upstream,
        );
        assert_eq!(seen.unwrap()["headers"]["x-big"].as_str().map(str::len), Some(near.len()));
        gw.case(
            proto,
            "61 KiB header",
            get(b"/pets"),
            &[key, ("x-big", &over)],
            b"",
            Want::Envoy(431),
        );
        gw.case(proto, "90 headers", get(b"/pets"), &many(90), b"", Want::Upstream);
        gw.case(proto, "120 headers", get(b"/pets"), &many(120), b"", Want::Envoy(431));
        gw.case(proto, "5000 headers", get(b"/pets"), &many(5000), b"", Want::Envoy(431));

        // Non-UTF-8 header values pass through as bytes; as a key they are just a wrong key.
        let seen = gw.case(
            proto,
            "non-UTF-8 value",
            get(b"/pets"),
            &[key, ("x-odd", b"\xff\xfe\x80")],
            b"",
            Want::Upstream,
        );
        assert_eq!(seen.unwrap()["headers"]["x-odd"], "\u{fffd}\u{fffd}\u{fffd}");
        gw.case(
            proto,
            "non-UTF-8 key",
            get(b"/pets"),
            &[("x-api-key", b"\xff\xfekey")],
            b"",
            forbidden,
        );
        // Percent-encoded non-UTF-8 in the path and query is an ordinary parameter value.
        let seen = gw.case(
            proto,
            "encoded non-UTF-8",
            get(b"/pets/%ff%fe?q=%c3%28"),
            &[key],
            b"",
            Want::Upstream,
        );
        assert_eq!(seen.unwrap()["path"], "/pets/%ff%fe?q=%c3%28");

        // Dot segments, plain or encoded (once, twice, with an encoded slash or backslash),
        // name no resource: an upstream that normalises them would serve another resource
        // than the one checked (here `/admin`, which needs a key, behind keyless `/public`).
        for path in [
            &b"/public/../admin"[..],
            b"/public/%2e%2e/admin",
            b"/public/%2E%2e/admin",
            b"/public/..%2fadmin",
            b"/public/..%5cadmin",
            b"/public/%252e%252e/admin",
            b"/pets/..%2f..%2fadmin",
            b"/%2e%2e/admin",
            b"/public/./x",
        ] {
            let case = format!("dot segments {}", String::from_utf8_lossy(path));
            gw.case(proto, &case, get(path), &[key], b"", no_route);
        }
        let seen = gw.case(
            proto,
            "dots inside a name",
            get(b"/public/a..b/.well-known"),
            &[],
            b"",
            Want::Upstream,
        );
        assert_eq!(seen.unwrap()["path"], "/public/a..b/.well-known");

        // A repeated x-api-key is refused whichever copy is valid: the upstream could read
        // another copy than the one checked.
        gw.case(
            proto,
            "repeated key, valid first",
            get(b"/pets"),
            &[key, ("x-api-key", b"wrong")],
            b"",
            forbidden,
        );
        gw.case(
            proto,
            "repeated key, valid last",
            get(b"/pets"),
            &[("x-api-key", b"wrong"), key],
            b"",
            forbidden,
        );
        gw.case(proto, "repeated valid key", get(b"/pets"), &[key, key], b"", forbidden);
        // A key counts only in the x-api-key header (as on AWS); the query goes upstream as sent.
        let query = format!("/pets?x-api-key={KEY}&api_key={KEY}").into_bytes();
        gw.case(proto, "key in the query only", ("GET", &query), &[], b"", forbidden);
        gw.case(
            proto,
            "valid query, wrong header",
            ("GET", &query),
            &[("x-api-key", b"wrong")],
            b"",
            forbidden,
        );
        let seen = gw.case(
            proto,
            "wrong query, valid header",
            ("GET", b"/pets?x-api-key=wrong"),
            &[key],
            b"",
            Want::Upstream,
        );
        assert_eq!(seen.unwrap()["path"], "/pets?x-api-key=wrong");

        // Bodies past 10 MB: AWS's 413 whether the method buffers the body (a model) or streams
        // it, with a declared length (refused before anything goes upstream).
        let huge = vec![b'x'; TOO_BIG];
        let too_large = Want::Aws(413, "Request Too Long", "RequestTooLargeException");
        let json: (&str, &[u8]) = ("content-type", b"application/json");
        let declared = TOO_BIG.to_string();
        let length: (&str, &[u8]) = ("content-length", declared.as_bytes());
        let (post, put) = (("POST", &b"/pets"[..]), ("PUT", &b"/upload"[..]));
        if let Proto::H2 = proto {
            // h2 sends no content-length unless told: declared, then streamed.
            gw.case(proto, "11 MB declared, model", post, &[key, json, length], &huge, too_large);
            gw.case(proto, "11 MB declared, streamed", put, &[key, length], &huge, too_large);
        } else {
            gw.case(proto, "11 MB, model", post, &[key, json], &huge, too_large);
            gw.case(proto, "11 MB, streamed", put, &[key], &huge, too_large);
        }
        // Exactly at the limit is fine.
        let limit = vec![b'x'; TOO_BIG - 1];
        gw.case(proto, "10 MB", put, &[key], &limit, Want::Upstream);
    }

    // HTTP/1.1 only: bytes the HTTP/2 client library will not put on the wire (HTTP/2 forbids
    // NUL and raw non-ASCII in a path). Envoy refuses them with 400 before the filter.
    let h1 = Proto::H1;
    gw.case(h1, "NUL in a value", get(b"/pets"), &[key, ("x-nul", b"a\0b")], b"", Want::Envoy(400));
    gw.case(
        h1,
        "NUL in the key",
        get(b"/pets"),
        &[("x-api-key", b"hostile\0key")],
        b"",
        Want::Envoy(400),
    );
    gw.case(h1, "NUL in the path", get(b"/pets/a\0b"), &[key], b"", Want::Envoy(400));
    gw.case(h1, "raw non-UTF-8 path", get(b"/pets/\xff\xfe"), &[key], b"", Want::Envoy(400));
    gw.case(h1, "raw non-UTF-8 query", get(b"/pets?q=\xc3\x28"), &[key], b"", Want::Envoy(400));

    // A streamed body without a declared length (chunked) past 10 MB: 413 once it crosses
    // the limit; the upstream, which got the start of it, is cut off and answers nothing.
    let before = (gw.upstream_requests(), gw.upstream_answers());
    let mut stream = TcpStream::connect(("127.0.0.1", gw.envoy.port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let head = format!(
        "PUT /upload HTTP/1.1\r\nhost: a\r\nx-api-key: {KEY}\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).expect("head");
    let chunk = vec![b'y'; 1024 * 1024];
    for _ in 0..12 {
        let mut piece = format!("{:x}\r\n", chunk.len()).into_bytes();
        piece.extend_from_slice(&chunk);
        piece.extend_from_slice(b"\r\n");
        if stream.write_all(&piece).is_err() {
            break; // Envoy answered and closed.
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let r = read_response(&mut stream).expect("an answer");
    assert_gateway_error(&r, 413, "Request Too Long", "RequestTooLargeException", "chunked 12 MB");
    assert!(gw.upstream_requests() - before.0 <= 1);
    assert_eq!(gw.upstream_answers(), before.1, "the upstream answered a cut-off body");
    gw.assert_serving(Proto::H1, "chunked 12 MB");
    gw.assert_serving(Proto::H2, "chunked 12 MB");
    gw.assert_no_wasm_failure();
}

/// Writes a request's head, then its body in `pieces` with `pause` between them, and reads
/// the answer (`Err` if Envoy closed first).
fn trickle(
    port: u16,
    (method, target): (&str, &str),
    headers: &[(String, String)],
    body: &[u8],
    pieces: usize,
    pause: Duration,
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str("host: api.example.com\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes())?;
    for piece in body.chunks(body.len().div_ceil(pieces).max(1)) {
        std::thread::sleep(pause);
        stream.write_all(piece)?;
    }
    read_response(&mut stream)
}

#[test]
fn slow_and_abandoned_bodies() {
    let gw = Gateway::start();
    let port = gw.envoy.port;
    let keyed = vec![
        ("x-api-key".to_string(), KEY.to_string()),
        ("content-type".to_string(), "application/json".to_string()),
    ];
    let body = br#"{"type": "dog", "name": "a slowly typed pet"}"#;

    // A validated body trickled over ~1.5 s while other requests are served meanwhile: the
    // worker is not held up, and the body is checked once complete.
    let started = Instant::now();
    let other = std::thread::scope(|s| {
        let slow = s.spawn(|| {
            trickle(port, ("POST", "/pets"), &keyed, body, 20, Duration::from_millis(100))
        });
        let mut served = 0;
        while !slow.is_finished() {
            gw.assert_serving(Proto::H1, "during a slow body");
            served += 1;
        }
        let r = slow.join().expect("trickle").expect("an answer");
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["body"], String::from_utf8_lossy(body).as_ref());
        served
    });
    assert!(started.elapsed() >= Duration::from_secs(1), "the body came too fast");
    assert!(other >= 5, "only {other} requests served during the slow body");
    let r =
        trickle(port, ("POST", "/pets"), &keyed, br#"{"kind": 1}"#, 5, Duration::from_millis(100))
            .expect("an answer");
    assert_gateway_error(&r, 400, "Invalid request body", "BadRequestException", "slow bad body");

    // A SigV4-signed body (with a session token) trickled: verified once complete; the same
    // body with one byte changed on the way is refused, and never reaches the upstream.
    let url = format!("http://127.0.0.1:{port}/signed");
    let signed = Job::new("POST", &url, TEMP, "eu-west-1")
        .header("content-type", "application/json")
        .body(std::str::from_utf8(body).expect("UTF-8"))
        .sign();
    let r = trickle(
        port,
        ("POST", &signed.target),
        &signed.headers,
        &signed.body,
        10,
        Duration::from_millis(100),
    )
    .expect("an answer");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["body"], String::from_utf8_lossy(body).as_ref());
    let before = gw.upstream_requests();
    let mut tampered = signed.body.clone();
    tampered[10] ^= 1;
    let r = trickle(
        port,
        ("POST", &signed.target),
        &signed.headers,
        &tampered,
        10,
        Duration::from_millis(50),
    )
    .expect("an answer");
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.header("x-amzn-errortype"), Some("InvalidSignatureException"));
    assert_eq!(gw.upstream_requests(), before, "a tampered body reached the upstream");

    // Clients that give up half way through a buffered body (signed, validated): nothing
    // reaches the upstream, and the VM serves on.
    let before = gw.upstream_requests();
    for (target, headers, body) in
        [(signed.target.as_str(), &signed.headers, &signed.body), ("/pets", &keyed, &body.to_vec())]
    {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let mut head = format!("POST {target} HTTP/1.1\r\n");
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
            head.push_str("host: api.example.com\r\n");
        }
        for (name, value) in headers.iter() {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
        stream.write_all(head.as_bytes()).expect("head");
        stream.write_all(&body[..body.len() / 2]).expect("half a body");
        std::thread::sleep(Duration::from_millis(200));
        drop(stream);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(gw.upstream_requests(), before, "an abandoned body reached the upstream");
    gw.assert_serving(Proto::H1, "abandoned bodies");
    gw.assert_serving(Proto::H2, "abandoned bodies");
    gw.assert_no_wasm_failure();
}

#[test]
fn a_websocket_carries_more_than_the_payload_limit() {
    // The 10 MB limit is a request's; a WebSocket's data after the upgrade is not one.
    let config = json!({
        "api": {"id": "chat"},
        "methods": [{"resource": "/chat", "http_method": "GET", "api_key_required": true}],
        "api_keys": [{"id": "k1", "value_sha256": sha(KEY), "usage_plan_ids": ["open"]}],
        "usage_plans": [{"id": "open", "api_stages": [{"api_id": "chat", "stage": "prod"}]}],
    });
    let upstream = Upstream::start(UPSTREAM, "websocket");
    let envoy = Envoy::start(&EnvoyOptions::new(config, upstream.port))
        .unwrap_or_else(|log| panic!("{log}"));
    let mut socket =
        tollgate_e2e::ws::open(envoy.port, "/chat", &[("x-api-key", KEY)], None).expect("upgrade");
    tollgate_e2e::ws::next_json(&mut socket);
    let chunk = vec![7u8; 1024 * 1024];
    for i in 0..12 {
        socket.send(tungstenite::Message::binary(chunk.clone())).expect("send");
        match socket.read().expect("the echo") {
            tungstenite::Message::Binary(back) => assert_eq!(back.len(), chunk.len(), "MiB {i}"),
            other => panic!("MiB {i}: {other:?}"),
        }
    }
}
