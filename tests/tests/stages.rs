//! Stages, stage variables, versions, several microservices and a canary, through a real Envoy
//! and five real upstream processes: the stage comes from the path (`/dev/...`, `/prod/...`),
//! stage variables choose the upstream and fill its path and query, and the prod canary takes
//! its share of requests with its own variable values.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use serde_json::{json, Value};
use tollgate_e2e::sha256_hex as sha;
use tollgate_e2e::{assert_gateway_error, get, Envoy, EnvoyOptions, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");

fn proxy(uri: &str, params: &[(&str, &str)]) -> Value {
    let params: serde_json::Map<String, Value> = params
        .iter()
        .map(|(to, from)| (format!("integration.request.path.{to}"), json!(from)))
        .collect();
    json!({"type": "HTTP_PROXY", "uri": uri, "request_parameters": params})
}

fn config() -> Value {
    let method = |resource: &str, integration: Value| {
        json!({"resource": resource, "http_method": "GET", "api_key_required": true,
               "integration": integration})
    };
    json!({
        "api": {"id": "shop"},
        "stages": [
            {"name": "dev", "variables": {"orders": "orders-dev", "release": "dev-7"}},
            {"name": "prod", "variables": {"orders": "orders-v2", "release": "r41"},
             "canary": {"percent_traffic": 10.0, "stage_variable_overrides": {"release": "r42"}}},
        ],
        "stage_selection": {"path_prefix": true, "header": "accept-version"},
        "methods": [
            method("/orders/{id}", proxy(
                "http://${stageVariables.orders}/orders/{id}?release=${stageVariables.release}",
                &[("id", "method.request.path.id")])),
            method("/users/{id}", proxy("http://users/users/{id}", &[("id", "method.request.path.id")])),
            method("/inventory/{proxy+}", proxy("http://inventory/stock/{proxy}", &[("proxy", "method.request.path.proxy")])),
            method("/v1/pets", proxy("http://pets-v1/pets", &[])),
            method("/v2/pets", proxy("http://pets-v2/pets", &[])),
        ],
        "api_keys": [{"id": "k-shop", "value_sha256": sha("shop-key"), "usage_plan_ids": ["all"]}],
        "usage_plans": [{"id": "all", "api_stages": [
            {"api_id": "shop", "stage": "dev"}, {"api_id": "shop", "stage": "prod"}]}],
    })
}

#[test]
fn stages_microservices_versions_and_canary() {
    let names = ["orders-dev", "orders-v2", "users", "inventory", "pets-v1", "pets-v2"];
    let upstreams: Vec<Upstream> = names
        .iter()
        .map(|name| Upstream::start_with(UPSTREAM, &["--mode", "echo", "--name", name]))
        .collect();
    let mut options = EnvoyOptions::new(config(), upstreams[0].port).cluster_header_routing();
    for (name, upstream) in names.iter().zip(&upstreams) {
        options = options.cluster(name, upstream.port);
    }
    let envoy = Envoy::start(&options).unwrap_or_else(|log| panic!("{log}"));
    let port = envoy.port;
    let key = [("x-api-key", "shop-key")];
    let seen = |path: &str| {
        let r = get(port, path, &key);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        r
    };

    // The same path in two stages: a stage variable picks the upstream and fills the query; the
    // upstream sees the path without the stage.
    let dev = seen("/dev/orders/7").json();
    assert_eq!(
        (dev["server"].clone(), dev["path"].clone()),
        (json!("orders-dev"), json!("/orders/7?release=dev-7"))
    );
    let r = seen("/prod/orders/7?trace=1");
    let prod = r.json();
    assert_eq!(prod["server"], "orders-v2");
    assert!(
        prod["path"] == "/orders/7?release=r41&trace=1"
            || prod["path"] == "/orders/7?release=r42&trace=1",
        "{prod}"
    );
    assert_eq!(r.header("x-tollgate-stage"), Some("prod"));
    assert_eq!(get(port, "/dev/orders/7", &key).header("x-tollgate-canary"), None);
    // The stage is in the access log (filter state `wasm.tollgate.stage`).
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = envoy.access_log();
    assert!(
        log.lines()
            .any(|l| l.starts_with("/orders/7?release=dev-7 200")
                && l.ends_with("stage=dev reason=-")),
        "{log}"
    );

    // A stage (version) chosen by header rather than by path.
    let r = get(port, "/orders/7", &[("x-api-key", "shop-key"), ("accept-version", "dev")]);
    assert_eq!((r.status, r.json()["server"].clone()), (200, json!("orders-dev")));
    assert_eq!(r.header("x-tollgate-stage"), Some("dev"));
    let r = get(port, "/orders/7", &[("x-api-key", "shop-key"), ("accept-version", "qa")]);
    assert_eq!(r.status, 403, "an unknown version: {}", r.text());

    // Three microservices and two API versions behind one listener and one key.
    assert_eq!(seen("/prod/users/42").json()["path"], "/users/42");
    let stock = seen("/prod/inventory/shelf/a/12").json();
    assert_eq!(
        (stock["server"].clone(), stock["path"].clone()),
        (json!("inventory"), json!("/stock/shelf/a/12"))
    );
    assert_eq!(seen("/prod/v1/pets").json()["server"], "pets-v1");
    assert_eq!(seen("/prod/v2/pets").json()["server"], "pets-v2");

    // No stage, an unknown stage, no key, a client naming the cluster itself.
    let r = get(port, "/orders/7", &key);
    assert_gateway_error(
        &r,
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
        "no stage",
    );
    let r = get(port, "/qa/orders/7", &key);
    assert_gateway_error(
        &r,
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
        "unknown stage",
    );
    assert_eq!(get(port, "/prod/orders/7", &[]).status, 403);
    let r = get(
        port,
        "/prod/users/1",
        &[("x-api-key", "shop-key"), ("x-tollgate-cluster", "orders-dev")],
    );
    assert_eq!(r.json()["server"], "users");

    // The canary: 10% of prod's requests, at random, each with its override and marked.
    let total = 2000;
    let mut canary: u64 = 0;
    for _ in 0..total {
        let r = get(port, "/prod/orders/1", &key);
        let release = r.json()["path"].as_str().unwrap_or_default().to_string();
        match r.header("x-tollgate-canary") {
            Some("true") => {
                canary += 1;
                assert_eq!(release, "/orders/1?release=r42");
            }
            Some("false") => assert_eq!(release, "/orders/1?release=r41"),
            other => panic!("no canary header: {other:?}"),
        }
    }
    let share = canary as f64 / f64::from(total) * 100.0;
    assert!((7.0..=13.0).contains(&share), "canary share {share:.1}% ({canary} of {total})");
    // The counter: every canary request of the run, and of the seven prod requests before it
    // (each drew its side too).
    let stats = envoy.prometheus();
    let counted: u64 = stats
        .lines()
        .find(|l| l.starts_with("tollgate_requests_canary"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no canary counter in {stats}"));
    assert!((canary..=canary + 7).contains(&counted), "{counted} counted, {canary} seen");
}
