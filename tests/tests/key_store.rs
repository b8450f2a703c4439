//! API keys for a fleet from the key store: two Envoys (two workers each) read one Redis through
//! `tollgate-ratelimit`, holding no key in their config. A million keys imported with the CLI
//! from AWS's key file; a key created with the CLI opens on both Envoys within 2 s, and a
//! disabled one is refused on both within 2 s, while other keys serve under load without one
//! failed request; Redis restarts without losing a key; with the store down a key that needs it
//! gets AWS's 500, and cached keys stop (`CLOSED`) or keep serving (`STALE`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tollgate_e2e::ratelimit::{free_port, redis, service, stop_redis};
use tollgate_e2e::{
    assert_gateway_error, get, run_cli, scratch_dir, Envoy, EnvoyOptions, Upstream,
};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");
const KEYS: usize = 1_000_000;
/// How soon a change must be seen by every worker of both Envoys.
const WITHIN: Duration = Duration::from_secs(2);

fn value(i: usize) -> String {
    format!("fleet-key-{i:07}-abcdefghij")
}

fn config(failure_mode: &str) -> Value {
    json!({
        "api": {"id": "petstore"},
        "stage": {"name": "prod"},
        "methods": [{"resource": "/pets", "http_method": "GET", "api_key_required": true}],
        // Counted for the fleet by the same service (exactly: a batch of 1).
        "usage_plans": [{"id": "basic", "global": true, "quota": {"limit": 1_000_000, "period": "DAY"},
                         "api_stages": [{"api_id": "petstore", "stage": "prod"}]}],
        // An Envoy that keeps serving cached keys when the store is down counts locally then.
        "rate_limit_service": {"cluster": "keystore", "timeout_ms": 500, "batch": 1,
                               "failure_mode": if failure_mode == "STALE" { "LOCAL" } else { "CLOSED" }},
        "api_key_store": {"cluster": "keystore", "timeout_ms": 500, "failure_mode": failure_mode},
        "admin": {"keys": [{"id": "ops", "value_sha256": tollgate_e2e::sha256_hex("ops-secret")}]},
    })
}

fn call(port: u16, key: &str) -> tollgate_e2e::Response {
    get(port, "/pets", &[("x-api-key", key)])
}

fn cli(args: &[&str]) -> String {
    let (ok, stdout, stderr) = run_cli(args);
    assert!(ok, "tollgate {args:?}: {stderr}");
    format!("{stdout}{stderr}")
}

/// The time until `n` requests in a row with `key` get `status` on each Envoy.
fn settles(ports: &[u16], key: &str, status: u16, n: usize) -> Duration {
    let start = Instant::now();
    for &port in ports {
        let mut streak = 0;
        while streak < n {
            let r = call(port, key);
            assert!(start.elapsed() < Duration::from_secs(10), "{key} never got {status}: {r:?}");
            streak = if r.status == status { streak + 1 } else { 0 };
        }
    }
    start.elapsed()
}

#[test]
fn a_fleet_reads_keys_from_the_store() {
    let dir = scratch_dir("key-store");
    let spec = dir.join("spec.json");
    std::fs::write(&spec, serde_json::to_string_pretty(&config("CLOSED")).unwrap()).unwrap();
    let spec = spec.to_string_lossy().into_owned();
    let (redis_port, service_port) = (free_port(), free_port());
    let store = format!("redis://127.0.0.1:{redis_port}");
    let mut redis = redis(&dir, redis_port);
    let rls = service(&dir.join("spec.json"), service_port, redis_port);

    // A million keys from AWS's API key file.
    let file = dir.join("keys.csv");
    let mut csv = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    writeln!(csv, "Name,Key,Enabled,UsagePlanIds").unwrap();
    for i in 0..KEYS {
        writeln!(csv, "customer-{i},{},TRUE,basic", value(i)).unwrap();
    }
    drop(csv);
    let started = Instant::now();
    let out = cli(&["keys", "import", &spec, "--file", &file.to_string_lossy(), "--store", &store]);
    println!(
        "imported {KEYS} keys into the store in {:.1} s: {out}",
        started.elapsed().as_secs_f64()
    );

    let upstream = Upstream::start(UPSTREAM, "echo");
    let start = |mode: &str| {
        let options = EnvoyOptions::new(config(mode), upstream.port)
            .grpc_cluster("keystore", service_port)
            .management();
        Envoy::start(&options).unwrap_or_else(|log| panic!("{log}"))
    };
    let (a, b) = (start("CLOSED"), start("CLOSED"));
    let ports = [a.port, b.port];
    for i in (0..KEYS).step_by(KEYS / 40).chain([KEYS - 1]) {
        for port in ports {
            assert_eq!(call(port, &value(i)).status, 200, "key {i}");
        }
    }
    assert_gateway_error(
        &call(a.port, "not-a-key-0123456789"),
        403,
        "Forbidden",
        "ForbiddenException",
        "unknown",
    );

    // GetUsage of a stored key, for the fleet: 3 requests through A and 4 through B.
    for port in [a.port, a.port, a.port, b.port, b.port, b.port, b.port] {
        assert_eq!(call(port, &value(123_456)).status, 200);
    }
    for envoy in [&a, &b] {
        let r = get(
            envoy.management_port,
            "/usageplans/basic/usage?keyId=customer-123456",
            &[("x-tollgate-admin-key", "ops-secret")],
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["items"], json!({"customer-123456": [[7, 999_993]]}));
    }

    // What a lookup costs the request that makes it: a key's first request against its next.
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for i in 0..30 {
        let key = value(500_000 + i * 11);
        for n in 0..6 {
            let started = Instant::now();
            assert_eq!(call(a.port, &key).status, 200);
            match n {
                0 => cold.push(started.elapsed().as_micros()),
                5 => warm.push(started.elapsed().as_micros()),
                _ => {}
            }
        }
    }
    cold.sort_unstable();
    warm.sort_unstable();
    println!(
        "latency seen by the client, median of 30: first request of a key {} µs (one lookup), \
         its sixth {} µs (cached by both workers; both also ask the rate-limit service, batch 1)",
        cold[15], warm[15]
    );

    // Load on both Envoys with 50 keys for the rest of the changes: no request may fail.
    let stop = AtomicBool::new(false);
    let (served, failed) = (AtomicU64::new(0), AtomicU64::new(0));
    std::thread::scope(|s| {
        for t in 0..3 {
            let (stop, served, failed) = (&stop, &served, &failed);
            s.spawn(move || {
                let mut n = t;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let r = call(ports[n % 2], &value(n % 50 * 1000));
                    if r.status == 200 {
                        served.fetch_add(1, Ordering::Relaxed);
                    } else {
                        eprintln!("under load: {} {}", r.status, r.text());
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }

        // A created key: refused (and remembered as unknown) first, then open on both.
        let created = "created-by-the-cli-0123456789";
        for port in ports {
            assert_eq!(call(port, created).status, 403);
        }
        cli(&[
            "keys", "create", &spec, "--id", "late", "--plan", "basic", "--value", created,
            "--store", &store,
        ]);
        let opened = settles(&ports, created, 200, 20);
        println!("a created key opened on both Envoys after {} ms", opened.as_millis());
        assert!(opened <= WITHIN, "{opened:?}");

        // A disabled key, cached on every worker: refused on both.
        let victim = value(777_777);
        settles(&ports, &victim, 200, 20);
        cli(&["keys", "disable", &spec, "customer-777777", "--store", &store]);
        let closed = settles(&ports, &victim, 403, 20);
        println!("a disabled key was refused on both Envoys after {} ms", closed.as_millis());
        assert!(closed <= WITHIN, "{closed:?}");
        assert_gateway_error(
            &call(b.port, &victim),
            403,
            "Forbidden",
            "ForbiddenException",
            "disabled",
        );
        stop.store(true, Ordering::Relaxed);
    });
    let (served, failed) = (served.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    println!("under load meanwhile: {served} served, {failed} failed");
    assert!(served > 100, "{served}");
    assert_eq!(failed, 0);

    // Redis restarts from its append-only file: nothing is lost.
    stop_redis(redis);
    redis = self::redis(&dir, redis_port);
    let c = start("STALE");
    let fresh = |i: usize| value(i * 7 + 3);
    assert_eq!(call(c.port, &fresh(1)).status, 200, "a key never looked up, after the restart");
    assert_eq!(call(c.port, "created-by-the-cli-0123456789").status, 200);
    assert_eq!(call(c.port, &value(777_777)).status, 403, "still disabled");

    // The store goes down. A key no worker has cached gets AWS's 500 everywhere; a cached key
    // stops on the CLOSED Envoys once the change feed has been silent for three polls, and
    // keeps serving on the STALE one.
    settles(&[a.port, c.port], &fresh(2), 200, 10);
    drop(rls);
    std::thread::sleep(Duration::from_millis(2_000));
    for port in [a.port, c.port] {
        assert_gateway_error(
            &call(port, &fresh(3)),
            500,
            "Internal server error",
            "InternalServerErrorException",
            "store down",
        );
    }
    assert_eq!(call(a.port, &fresh(2)).status, 500, "CLOSED");
    assert!(settles(&[c.port], &fresh(2), 200, 10) < WITHIN, "STALE");
    stop_redis(redis);
}
