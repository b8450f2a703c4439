//! Usage plans through a real Envoy with two workers and concurrent clients: burst and rate
//! accuracy, quotas, per-key and per-method limits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tollgate_e2e::sha256_hex as sha;
use tollgate_e2e::{get, Envoy, EnvoyOptions, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");

fn key(id: &str, plan: &str) -> Value {
    json!({"id": id, "value_sha256": sha(&format!("{id}-secret")), "usage_plan_ids": [plan]})
}

fn plan(
    id: &str,
    throttle: Option<(f64, u64)>,
    quota: Option<u64>,
    method_throttles: Value,
) -> Value {
    let mut p = json!({"id": id, "api_stages": [
        {"api_id": "petstore", "stage": "prod", "method_throttles": method_throttles}]});
    if let Some((rate, burst)) = throttle {
        p["throttle"] = json!({"rate": rate, "burst": burst});
    }
    if let Some(limit) = quota {
        p["quota"] = json!({"limit": limit, "period": "DAY"});
    }
    p
}

fn config() -> Value {
    json!({
        "api": {"id": "petstore", "account_id": "123456789012"},
        "stage": {"name": "prod"},
        "methods": [
            {"resource": "/pets", "http_method": "GET", "api_key_required": true},
            {"resource": "/pets/{petId}", "http_method": "GET", "api_key_required": true},
        ],
        "usage_plans": [
            plan("burst", Some((0.001, 200)), None, json!({})),
            plan("leased", Some((0.001, 1280)), None, json!({})),
            plan("sustained", Some((50.0, 1)), None, json!({})),
            plan("quota5", None, Some(5), json!({})),
            plan("basic", Some((0.001, 3)), None, json!({"/pets/{petId}/GET": {"rate": 0.001, "burst": 1}})),
            plan("premium", Some((0.001, 10)), None, json!({})),
        ],
        "api_keys": [
            key("k-burst", "burst"),
            key("k-leased", "leased"),
            key("k-sustained", "sustained"),
            key("k-quota-a", "quota5"),
            key("k-quota-b", "quota5"),
            key("k-basic", "basic"),
            key("k-premium", "premium"),
        ],
    })
}

fn call(port: u16, path: &str, key_id: &str) -> tollgate_e2e::Response {
    get(port, path, &[("x-api-key", &format!("{key_id}-secret"))])
}

/// `threads` clients send `GET /pets` with `key_id` until `stop` or `total` requests; returns
/// (admitted, first send, last send) and checks every refusal is the AWS throttle response.
fn hammer(
    port: u16,
    key_id: &str,
    threads: usize,
    total: u64,
    until: Instant,
) -> (u64, Instant, Instant) {
    let sent = AtomicU64::new(0);
    let admitted = AtomicU64::new(0);
    let started = Instant::now();
    let last = std::sync::Mutex::new(started);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while Instant::now() < until && sent.fetch_add(1, Ordering::SeqCst) < total {
                    let at = Instant::now();
                    let r = call(port, "/pets", key_id);
                    match r.status {
                        200 => {
                            admitted.fetch_add(1, Ordering::SeqCst);
                        }
                        429 => assert_eq!(r.json(), json!({"message": "Too Many Requests"})),
                        other => panic!("unexpected {other}: {}", r.text()),
                    }
                    let mut l = last.lock().unwrap();
                    if at > *l {
                        *l = at;
                    }
                }
            });
        }
    });
    let last = *last.lock().unwrap();
    (admitted.into_inner(), started, last)
}

#[test]
fn usage_plans_across_two_workers() {
    let upstream = Upstream::start(UPSTREAM, "echo");
    let envoy = Envoy::start(&EnvoyOptions::new(config(), upstream.port))
        .unwrap_or_else(|log| panic!("{log}"));
    let port = envoy.port;
    let far = Instant::now() + Duration::from_secs(120);

    // A burst of 400 simultaneous requests against burst 200 (refill negligible): exactly 200.
    let (admitted, _, _) = hammer(port, "k-burst", 16, 400, far);
    eprintln!("burst: admitted {admitted} of 400, expected 200");
    assert!((198..=202).contains(&admitted), "burst admitted {admitted}, expected 200 (within 1%)");

    // Burst 1280: workers take tokens in leases of 10, and never exceed the burst; what the
    // other worker may hold unspent (at most 9) stays within 1%.
    let (admitted, _, _) = hammer(port, "k-leased", 16, 1500, far);
    eprintln!("leased burst: admitted {admitted} of 1500, expected 1280");
    assert!(
        (1267..=1280).contains(&admitted),
        "leased burst admitted {admitted}, expected 1280 (within 1%)"
    );

    // Sustained load at rate 50/s, burst 1, for 4 s: burst + rate * t.
    let until = Instant::now() + Duration::from_secs(4);
    let (admitted, first, last) = hammer(port, "k-sustained", 8, u64::MAX, until);
    let expected = 1.0 + 50.0 * (last - first).as_secs_f64();
    eprintln!("sustained: admitted {admitted}, expected {expected:.1}");
    assert!(
        (admitted as f64 - expected).abs() <= expected * 0.02,
        "sustained admitted {admitted}, expected {expected:.1} (within 2%)"
    );

    // Quota of 5 a day: the 6th is Limit Exceeded; another key of the same plan has its own.
    for i in 0..5 {
        assert_eq!(call(port, "/pets", "k-quota-a").status, 200, "request {i}");
    }
    let r = call(port, "/pets", "k-quota-a");
    assert_eq!(r.status, 429);
    assert_eq!(r.json(), json!({"message": "Limit Exceeded"}));
    assert_eq!(r.header("x-amzn-errortype"), Some("LimitExceededException"));
    assert_eq!(call(port, "/pets", "k-quota-b").status, 200, "one key's quota is not another's");

    // Basic (burst 3) and premium (burst 10) keys get their own limits.
    let count = |path: &str, key_id: &str, n: usize| {
        (0..n).filter(|_| call(port, path, key_id).status == 200).count()
    };
    // The per-method override (burst 1) applies to GET /pets/{petId} only...
    assert_eq!(count("/pets/1", "k-basic", 3), 1);
    // ...and GET /pets still has the plan's burst of 3, less the token /pets/1 took from the plan.
    assert_eq!(count("/pets", "k-basic", 5), 2);
    assert_eq!(count("/pets", "k-premium", 15), 10);
    // The exhausted burst key did not affect the others, and is still throttled.
    assert_eq!(call(port, "/pets", "k-burst").status, 429);

    let stats = envoy.prometheus();
    assert!(stats.contains("tollgate_requests_throttled{} "), "{stats}");
    assert!(stats.contains("tollgate_requests_quota_exceeded{} 1\n"), "{stats}");
}
