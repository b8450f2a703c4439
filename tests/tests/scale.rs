//! A config with 100,000 API keys loads, answers, and its cost is printed (time to ready, RSS).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::time::Instant;

use serde_json::{json, Value};
use tollgate_e2e::sha256_hex as sha;
use tollgate_e2e::{get, Envoy, EnvoyOptions, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");
const KEYS: usize = 100_000;

fn config(keys: usize) -> Value {
    let api_keys: Vec<Value> = (0..keys)
        .map(|i| {
            json!({"id": format!("k{i}"), "value_sha256": sha(&format!("value-of-key-{i:06}")),
                   "enabled": i != 7, "usage_plan_ids": [if i % 2 == 0 { "basic" } else { "premium" }]})
        })
        .collect();
    json!({
        "api": {"id": "scale"},
        "methods": [{"resource": "/items", "http_method": "GET", "api_key_required": true}],
        "api_keys": api_keys,
        "usage_plans": [
            {"id": "basic", "throttle": {"rate": 100, "burst": 200},
             "quota": {"limit": 1000, "period": "DAY"},
             "api_stages": [{"api_id": "scale", "stage": "prod"}]},
            {"id": "premium", "throttle": {"rate": 1000, "burst": 2000},
             "api_stages": [{"api_id": "scale", "stage": "prod"}]}
        ]
    })
}

#[test]
fn a_100k_key_config_loads_and_answers() {
    let upstream = Upstream::start(UPSTREAM, "echo");
    let config = config(KEYS);
    let size = config.to_string().len();
    let started = Instant::now();
    let envoy = Envoy::start(&EnvoyOptions::new(config, upstream.port))
        .unwrap_or_else(|log| panic!("{log}"));
    let ready = started.elapsed();
    let rss = envoy.rss_kib();

    for (value, status) in [
        ("value-of-key-000000", 200),
        ("value-of-key-099999", 200),
        ("value-of-key-054321", 200),
        ("value-of-key-000007", 403),
        ("value-of-key-100000", 403),
    ] {
        let r = get(envoy.port, "/items", &[("x-api-key", value)]);
        assert_eq!(r.status, status, "{value}: {}", r.text());
    }
    // Lookups stay constant-time: 2,000 requests over keys spread through the index.
    let lookups = Instant::now();
    for i in 0..2_000 {
        let value = format!("value-of-key-{:06}", (i * 4_999 + 11) % KEYS);
        let expected = if (i * 4_999 + 11) % KEYS == 7 { 403 } else { 200 };
        assert_eq!(get(envoy.port, "/items", &[("x-api-key", &value)]).status, expected);
    }
    let per_request = lookups.elapsed() / 2_000;
    println!(
        "{KEYS} keys ({} MB of config): Envoy ready in {:.2} s, RSS {} MiB (2 workers), \
         {per_request:?} per keyed request end to end (one connection per request)",
        size / 1_000_000,
        ready.as_secs_f64(),
        rss / 1024
    );
}
