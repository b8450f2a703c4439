//! WebSocket upgrades through the whole pipeline, and TLS: a real WebSocket client, the chat
//! room of `tollgate-upstream --mode websocket`, Envoy terminating TLS with a certificate made
//! for the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use serde_json::{json, Value};
use tollgate_e2e::sha256_hex as sha;
use tollgate_e2e::ws::{self, next_json};
use tollgate_e2e::{scratch_dir, Envoy, EnvoyOptions, Upstream};
use tungstenite::Message;

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");

fn config() -> Value {
    json!({
        "api": {"id": "chat"},
        "api_key_id_header": "x-tollgate-api-key-id",
        "methods": [
            {"resource": "/chat", "http_method": "GET", "api_key_required": true},
            {"resource": "/health", "http_method": "GET"},
        ],
        "api_keys": [
            {"id": "k-ann", "value_sha256": sha("ann-key"), "usage_plan_ids": ["chatty"]},
            {"id": "k-bob", "value_sha256": sha("bob-key"), "usage_plan_ids": ["chatty"]},
            {"id": "k-few", "value_sha256": sha("few-key"), "usage_plan_ids": ["three-a-day"]},
        ],
        "usage_plans": [
            {"id": "chatty", "api_stages": [{"api_id": "chat", "stage": "prod"}]},
            {"id": "three-a-day", "quota": {"limit": 3, "period": "DAY"},
             "api_stages": [{"api_id": "chat", "stage": "prod"}]},
        ],
    })
}

/// The gateway's answer to an upgrade it refused.
fn refused(result: Result<ws::Socket, Box<tungstenite::Error>>) -> (u16, Value) {
    match result.map_err(|e| *e) {
        Err(tungstenite::Error::Http(response)) => {
            let body = response.body().clone().unwrap_or_default();
            (response.status().as_u16(), serde_json::from_slice(&body).unwrap_or(Value::Null))
        }
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("the upgrade went through"),
    }
}

#[test]
fn websocket_upgrades_are_authenticated_and_metered() {
    let upstream = Upstream::start(UPSTREAM, "websocket");
    let envoy =
        Envoy::start(&EnvoyOptions::new(config(), upstream.port)).unwrap_or_else(|l| panic!("{l}"));
    let port = envoy.port;

    // Two members with valid keys: the upgrade reached the upstream with the caller's key id
    // (a forged one replaced), and messages go both ways.
    let mut ann = ws::open(
        port,
        "/chat?room=1",
        &[("x-api-key", "ann-key"), ("x-tollgate-api-key-id", "forged")],
        None,
    )
    .expect("ann connects");
    let welcome = next_json(&mut ann);
    assert_eq!(welcome["welcome"]["path"], "/chat?room=1");
    assert_eq!(welcome["welcome"]["headers"]["x-tollgate-api-key-id"], "k-ann");
    let mut bob = ws::open(port, "/chat", &[("x-api-key", "bob-key")], None).expect("bob connects");
    next_json(&mut bob);
    ann.send(Message::text("hello, bob")).unwrap();
    assert_eq!(next_json(&mut ann), json!({"from": "k-ann", "text": "hello, bob"}));
    assert_eq!(next_json(&mut bob), json!({"from": "k-ann", "text": "hello, bob"}));
    bob.send(Message::text("hi ann")).unwrap();
    assert_eq!(next_json(&mut ann), json!({"from": "k-bob", "text": "hi ann"}));
    assert_eq!(next_json(&mut bob), json!({"from": "k-bob", "text": "hi ann"}));
    bob.send(Message::binary(vec![0u8, 1, 2, 255])).unwrap();
    assert_eq!(bob.read().unwrap(), Message::binary(vec![0u8, 1, 2, 255]));

    // No key, a wrong key: 403 and no upgrade.
    let (status, body) = refused(ws::open(port, "/chat", &[], None));
    assert_eq!((status, body), (403, json!({"message": "Forbidden"})));
    let (status, _) = refused(ws::open(port, "/chat", &[("x-api-key", "nope")], None));
    assert_eq!(status, 403);

    // A quota of three connections a day: the fourth upgrade is refused with 429.
    for _ in 0..3 {
        let mut socket =
            ws::open(port, "/chat", &[("x-api-key", "few-key")], None).expect("within quota");
        next_json(&mut socket);
        socket.close(None).ok();
    }
    let (status, body) = refused(ws::open(port, "/chat", &[("x-api-key", "few-key")], None));
    assert_eq!((status, body), (429, json!({"message": "Limit Exceeded"})));

    // The open connections still work after all that.
    ann.send(Message::text("still here")).unwrap();
    assert_eq!(next_json(&mut ann)["text"], "still here");
}

#[test]
fn tls_serves_https_and_wss() {
    let (cert, key) = ws::self_signed(&scratch_dir("tls"));
    let tls = ws::trusting(&cert);
    let upstream = Upstream::start(UPSTREAM, "websocket");
    let options = EnvoyOptions::new(config(), upstream.port).tls(cert, key);
    let envoy = Envoy::start(&options).unwrap_or_else(|l| panic!("{l}"));
    let port = envoy.port;

    // HTTPS: the gateway's answers come over TLS.
    let r = ws::https(port, &tls, "GET", "/chat", &[]).expect("an HTTPS answer");
    assert_eq!((r.status, r.json()), (403, json!({"message": "Forbidden"})));
    let r = ws::https(port, &tls, "GET", "/nowhere", &[]).expect("an HTTPS answer");
    assert_eq!(r.status, 403);
    assert_eq!(r.json(), json!({"message": "Missing Authentication Token"}));

    // wss://: authenticated and working.
    let mut socket = ws::open(port, "/chat", &[("x-api-key", "ann-key")], Some(&tls)).expect("wss");
    assert_eq!(next_json(&mut socket)["welcome"]["headers"]["x-tollgate-api-key-id"], "k-ann");
    socket.send(Message::text("over tls")).unwrap();
    assert_eq!(next_json(&mut socket), json!({"from": "k-ann", "text": "over tls"}));
    let (status, _) = refused(ws::open(port, "/chat", &[], Some(&tls)));
    assert_eq!(status, 403);

    // Plain HTTP to the TLS port fails cleanly: no HTTP answer, the connection is closed, and
    // the gateway keeps serving.
    let plain = tollgate_e2e::client::try_request(port, "GET", b"/chat", &[], b"");
    assert!(plain.is_err(), "plain HTTP got an answer: {plain:?}");
    // A keyed GET without the upgrade headers is admitted and reaches the WebSocket-only
    // upstream, which hangs up on it: Envoy's 503, not a gateway refusal.
    let r = ws::https(port, &tls, "GET", "/chat", &[("x-api-key", "ann-key")]).expect("serving");
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.text().contains("upstream"), "{}", r.text());
}
