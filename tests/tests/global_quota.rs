//! Global usage plans: two Envoys (two workers each) in front of one `tollgate-ratelimit` and
//! one Redis (append-only file on), all on free loopback ports with their own data directory.
//! The fleet grants a quota once, restarts of the Envoys, the service and Redis lose no count,
//! and with the service down a quota fails closed with the AWS response.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tollgate_e2e::sha256_hex as sha;

use serde_json::{json, Value};
use tollgate_e2e::ratelimit::{free_port, redis, service, service_with_admin, stop_redis};
use tollgate_e2e::{assert_gateway_error, get, root, scratch_dir, Envoy, EnvoyOptions, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");

fn key(id: &str, plan: &str) -> Value {
    json!({"id": id, "value_sha256": sha(&format!("{id}-secret")), "usage_plan_ids": [plan]})
}

fn config() -> Value {
    json!({
        "api": {"id": "petstore"},
        "stage": {"name": "prod"},
        "methods": [{"resource": "/pets", "http_method": "GET", "api_key_required": true}],
        "usage_plans": [
            {"id": "fleet", "global": true, "quota": {"limit": 100, "period": "DAY"},
             "api_stages": [{"api_id": "petstore", "stage": "prod"}]},
            {"id": "paced", "global": true, "throttle": {"rate": 100, "burst": 100},
             "api_stages": [{"api_id": "petstore", "stage": "prod"}]},
        ],
        "api_keys": [key("k1", "fleet"), key("k2", "fleet"), key("k3", "fleet"), key("p1", "paced")],
        "rate_limit_service": {"cluster": "ratelimit", "timeout_ms": 500},
        "admin": {"keys": [{"id": "ops", "value_sha256": sha("ops-secret")}]},
    })
}

fn fleet(upstream: u16, service_port: u16) -> (Envoy, Envoy) {
    let start = || {
        Envoy::start(
            &EnvoyOptions::new(config(), upstream)
                .grpc_cluster("ratelimit", service_port)
                .management(),
        )
        .unwrap()
    };
    (start(), start())
}

fn call(port: u16, key_id: &str) -> tollgate_e2e::Response {
    get(port, "/pets", &[("x-api-key", &format!("{key_id}-secret"))])
}

/// `total` requests with `key_id` from 4 threads, alternating between the Envoys; admitted.
fn spread(ports: [u16; 2], key_id: &str, total: u64) -> u64 {
    let sent = AtomicU64::new(0);
    let admitted = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let n = sent.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let r = call(ports[(n % 2) as usize], key_id);
                match r.status {
                    200 => {
                        admitted.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => assert_gateway_error(
                        &r,
                        429,
                        "Limit Exceeded",
                        "LimitExceededException",
                        key_id,
                    ),
                }
            });
        }
    });
    admitted.load(Ordering::Relaxed)
}

fn usage(envoy: &Envoy, key_id: &str) -> Value {
    let r = get(
        envoy.management_port,
        &format!("/usageplans/fleet/usage?keyId={key_id}"),
        &[("x-tollgate-admin-key", "ops-secret")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["items"][key_id].clone()
}

#[test]
fn a_fleet_shares_one_quota_that_survives_restarts() {
    let dir = scratch_dir("global-quota");
    let config_path = dir.join("tollgate.json");
    std::fs::write(&config_path, config().to_string()).unwrap();
    let (redis_port, service_port) = (free_port(), free_port());
    let mut redis = redis(&dir, redis_port);
    let mut rls = service(&config_path, service_port, redis_port);
    let upstream = Upstream::start(UPSTREAM, "echo");
    let (a, b) = fleet(upstream.port, service_port);

    // 150 requests over two Envoys and four workers: the quota of 100 is granted once.
    let admitted = spread([a.port, b.port], "k1", 150);
    println!("quota across the fleet: {admitted} admitted of 150 (quota 100)");
    assert_eq!(admitted, 100);
    assert_eq!(usage(&a, "k1"), json!([[100, 0]]));
    assert_eq!(usage(&b, "k1"), json!([[100, 0]]), "both Envoys read the one count");

    // Throttle accuracy: 100 per window of 1 s for the fleet, hammered for about 3 s.
    let (allowed, secs) = hammer([a.port, b.port], |_| "p1");
    let expected = 100.0 * secs;
    println!(
        "throttle across the fleet: {allowed} allowed in {secs:.2} s, expected {expected:.0} \
         (rate 100/s, fixed windows of 1 s; {:.1}%)",
        allowed as f64 / expected * 100.0
    );
    // Fixed windows of one second: at most one window more than the seconds elapsed.
    assert!(allowed <= 100 * (secs.ceil() as u64 + 1), "{allowed}");
    assert!(allowed as f64 >= expected * 0.6, "{allowed}");

    // Both Envoys restart: the count is the service's, k1 stays spent.
    drop((a, b));
    let (a, b) = fleet(upstream.port, service_port);
    assert_gateway_error(
        &call(a.port, "k1"),
        429,
        "Limit Exceeded",
        "LimitExceededException",
        "k1 on A",
    );
    assert_gateway_error(
        &call(b.port, "k1"),
        429,
        "Limit Exceeded",
        "LimitExceededException",
        "k1 on B",
    );
    assert_eq!(spread([a.port, b.port], "k2", 10), 10);

    // The service and Redis restart: Redis's append-only file brings every count back.
    drop(rls);
    stop_redis(redis);
    redis = self::redis(&dir, redis_port);
    let admin_port = free_port();
    rls = service_with_admin(&config_path, service_port, redis_port, Some(admin_port));
    assert_eq!(usage(&a, "k2"), json!([[10, 90]]));
    assert_eq!(usage(&b, "k1"), json!([[100, 0]]));
    assert_eq!(spread([a.port, b.port], "k2", 100), 90, "k2 had 90 left");

    // The operator's side of the service (`--admin`): Prometheus metrics of what it decided and
    // of Redis, and a health check that follows Redis.
    let metrics = get(admin_port, "/metrics", &[]).text();
    let value = |series: &str| {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse::<f64>().ok()))
            .unwrap_or_else(|| panic!("no {series} in {metrics}"))
    };
    let ok = value("tollgate_ratelimit_decisions_total{decision=\"ok\"}");
    let over = value("tollgate_ratelimit_decisions_total{decision=\"over_limit\"}");
    // (Each Envoy worker asks for a lease of several units at a time: fewer calls than requests.)
    assert!(ok >= 1.0 && over >= 1.0, "{metrics}");
    assert_eq!(
        value("tollgate_ratelimit_calls_total"),
        ok + over + value("tollgate_ratelimit_decisions_total{decision=\"error\"}")
    );
    assert_eq!(value("tollgate_ratelimit_redis_seconds_count"), ok + over, "{metrics}");
    assert_eq!(get(admin_port, "/healthz", &[]).status, 200);
    stop_redis(redis);
    assert_eq!(get(admin_port, "/healthz", &[]).status, 503, "Redis is down");

    // The service is down: a quota fails closed, with AWS's answer.
    drop(rls);
    let r = call(a.port, "k3");
    assert_gateway_error(&r, 429, "Limit Exceeded", "LimitExceededException", "service down");
    let r = get(
        b.management_port,
        "/usageplans/fleet/usage",
        &[("x-tollgate-admin-key", "ops-secret")],
    );
    assert_eq!(r.status, 503, "{}", r.text());
}

/// The config block embedded in an Envoy YAML (the block scalar after `value: |`).
fn embedded_config(path: &Path) -> Value {
    let yaml = std::fs::read_to_string(path).unwrap();
    let mut lines = yaml.lines().skip_while(|l| l.trim() != "value: |").skip(1).peekable();
    let indent = lines.peek().map(|l| l.len() - l.trim_start().len()).expect("a config block");
    let block: Vec<&str> = lines
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() >= indent)
        .collect();
    serde_json::from_str(&block.join("\n")).unwrap()
}

/// examples/global-quota: both Envoys carry the config the rate-limit service reads.
#[test]
fn the_example_envoys_and_service_read_one_config() {
    let dir = root().join("examples/global-quota");
    let service: Value =
        serde_json::from_slice(&std::fs::read(dir.join("tollgate.json")).unwrap()).unwrap();
    for envoy in ["envoy.yaml", "envoy-b.yaml"] {
        assert_eq!(embedded_config(&dir.join(envoy)), service, "{envoy}");
    }
}

/// Four threads, two on each port, send requests for about 3 s, thread `t` with key
/// `key_of(t)`; every refusal must be a 429. Gives the requests allowed and the seconds taken.
fn hammer(ports: [u16; 2], key_of: impl Fn(usize) -> &'static str + Sync) -> (u64, f64) {
    let started = Instant::now();
    let allowed = AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..4 {
            let (allowed, key) = (&allowed, key_of(t));
            let port = ports[t % 2];
            s.spawn(move || {
                while started.elapsed() < Duration::from_secs(3) {
                    let r = call(port, key);
                    if r.status == 200 {
                        allowed.fetch_add(1, Ordering::Relaxed);
                    } else {
                        assert_gateway_error(
                            &r,
                            429,
                            "Too Many Requests",
                            "TooManyRequestsException",
                            key,
                        );
                    }
                }
            });
        }
    });
    (allowed.load(Ordering::Relaxed), started.elapsed().as_secs_f64())
}

/// `global_throttles`: a stage's throttle is one count for the fleet. Two Envoys of two
/// workers each, hammered for about 3 s with keys of a plan without limits: the stage admits
/// its 40 requests per window of 1 s once, where each Envoy alone would admit them.
#[test]
fn a_stage_throttle_is_counted_for_the_fleet() {
    let dir = scratch_dir("global-stage-throttle");
    let mut config = config();
    config["stage"] = json!({"name": "prod", "throttle": {"rate": 40, "burst": 40}});
    config["rate_limit_service"]["global_throttles"] = json!(true);
    config["usage_plans"] =
        json!([{"id": "open", "api_stages": [{"api_id": "petstore", "stage": "prod"}]}]);
    config["api_keys"] = json!([key("s1", "open"), key("s2", "open")]);
    config["account_throttle"] = Value::Null;
    let config_path = dir.join("tollgate.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let (redis_port, service_port) = (free_port(), free_port());
    let redis = redis(&dir, redis_port);
    let _rls = service(&config_path, service_port, redis_port);
    let upstream = Upstream::start(UPSTREAM, "echo");
    let start = || {
        let options = EnvoyOptions::new(config.clone(), upstream.port)
            .grpc_cluster("ratelimit", service_port);
        Envoy::start(&options).unwrap()
    };
    let (a, b) = (start(), start());
    let (allowed, secs) = hammer([a.port, b.port], |t| if t < 2 { "s1" } else { "s2" });
    println!("a global stage throttle of 40/s on two Envoys: {allowed} admitted in {secs:.2} s");
    // Fixed windows of one second: at most one window more than the seconds elapsed, and far
    // from the two Envoys' 2 x 40 per second a per-Envoy bucket would admit.
    assert!(allowed <= 40 * (secs.ceil() as u64 + 1), "{allowed}");
    assert!(allowed as f64 >= 40.0 * secs * 0.6, "{allowed}");
    stop_redis(redis);
}
