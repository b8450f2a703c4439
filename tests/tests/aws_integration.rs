//! An AWS service integration (`type: AWS`) against moto in server mode: an "items" API backed
//! by a DynamoDB table. Tollgate builds the service request with the mapping template and sends
//! it through an Envoy cluster that signs it (`aws_request_signing`); the integration responses
//! shape the answer. Also MOCK-free error paths: a service error mapped by status, a validator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use serde_json::{json, Value};
use tollgate_e2e::moto::Moto;
use tollgate_e2e::{get, request, Envoy, EnvoyOptions, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");

/// The items API exactly as `examples/items/envoy.yaml` ships it (its cluster is `dynamodb`).
fn items_config() -> Value {
    tollgate_e2e::example_config("items")
}

#[test]
fn dynamodb_items_api_end_to_end() {
    let moto = Moto::start();
    assert_eq!(moto.dynamodb(&["create-table", "items"]), "ok");
    let upstream = Upstream::start(UPSTREAM, "echo");
    let options = EnvoyOptions::new(items_config(), upstream.port)
        .signed_cluster("dynamodb", moto.port, "dynamodb", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing");
    let envoy = Envoy::start(&options).unwrap_or_else(|log| panic!("{log}"));
    let port = envoy.port;
    let json_ct: &[(&str, &[u8])] = &[("content-type", b"application/json")];

    // PUT: the template builds PutItem; the item is in the table.
    let r =
        request(port, "PUT", b"/items/42", json_ct, br#"{"name": "Lamp \"XL\"", "price": 19.5}"#);
    assert_eq!(r.status, 200, "{}\n{}", r.text(), moto.log());
    assert_eq!(r.json(), json!({"id": "42", "saved": true}));
    let stored: Value = serde_json::from_str(&moto.dynamodb(&["get-item", "items", "42"])).unwrap();
    assert_eq!(
        stored,
        json!({"id": {"S": "42"}, "name": {"S": "Lamp \"XL\""}, "price": {"N": "19.5"}})
    );

    // GET: GetItem, reshaped by the response template.
    let r = get(port, "/items/42", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json(), json!({"id": "42", "name": "Lamp \"XL\"", "price": 19.5}));
    let r = get(port, "/items/nope", &[]);
    assert_eq!((r.status, r.json()), (200, json!({"message": "no item nope"})));

    // The request validator runs before the service is called.
    let r = request(port, "PUT", b"/items/43", json_ct, br#"{"price": "cheap"}"#);
    assert_eq!((r.status, r.json()["message"].clone()), (400, json!("Invalid request body")));
    assert_eq!(moto.dynamodb(&["get-item", "items", "43"]), "{}");

    // A service error (a table that does not exist) selected by status: 400 with its message.
    let r = get(port, "/missing-table/1", &[]);
    assert_eq!(r.status, 400, "{}", r.text());
    let message = r.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("not found") || message.contains("Requested resource"), "{message}");

    // DELETE, then the item is gone.
    let r = request(port, "DELETE", b"/items/42", &[], b"");
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(moto.dynamodb(&["get-item", "items", "42"]), "{}");

    // Envoy signed every service request.
    assert!(envoy.stat("cluster.dynamodb.upstream_rq_total") >= 5);
    let signed: u64 = envoy
        .prometheus()
        .lines()
        .filter(|l| l.contains("signing_added") && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<u64>().ok()))
        .sum();
    assert!(signed >= 5, "aws_request_signing stats: {}", envoy.prometheus());
}
