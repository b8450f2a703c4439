//! `make soak`: mixed load on Envoy (`--concurrency 2`) with the built filter for a while
//! (`SOAK_SECONDS`, default 600), sampling Envoy's RSS and the wasm VM's memory every 5 s.
//! Fails (exit 1) on any status a request kind must not get, on a dead VM, or when a key's
//! quota count is not its admitted requests (within the documented lease bound). Writes
//! `soak.csv` and `summary.md` under `bench/results/soak/<time>/` (the chart is drawn from the
//! CSV by `bench/tollbench/soak_chart.py`).

// A test harness fails a test by panicking: the no-panic lints of the workspace are for the
// filter, the CLI and the rate-limit service.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tollgate_e2e::client::try_request;
use tollgate_e2e::{root, Envoy, EnvoyOptions, Upstream};

const KEYS: usize = 20;
const CLIENTS: usize = 4;
/// Quota of the metered plan: its lease is limit / 1000 = 64 units per worker and key.
const QUOTA: u64 = 1_000_000_000;
const LEASE: u64 = 64;
const WORKERS: u64 = 2;
const ADMIN_KEY: &str = "soak-admin-key-0123456789";

fn sha(value: &str) -> String {
    Sha256::digest(value.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn key(i: usize) -> String {
    format!("soak-key-{i:04}-abcdefghijklmnop")
}

fn config() -> Value {
    let mut keys: Vec<Value> = (0..KEYS)
        .map(|i| json!({"id": format!("k{i}"), "value_sha256": sha(&key(i)), "usage_plan_ids": ["metered"]}))
        .collect();
    keys.push(json!({"id": "tight", "value_sha256": sha("soak-tight-key-0123456789"), "usage_plan_ids": ["tight"]}));
    json!({
        "api": {"id": "soak"},
        "stage": {"name": "prod", "variables": {"shelf": "north"},
                  "cache": {"enabled": true, "ttl_seconds": 2, "capacity": 256}},
        "models": {"NewPet": {
            "type": "object", "required": ["type", "price"],
            "properties": {"type": {"type": "string", "enum": ["dog", "cat"]},
                           "price": {"type": "number", "minimum": 1}}}},
        "request_validators": {"all": {"validate_request_body": true, "validate_request_parameters": true}},
        "methods": [
            {"resource": "/pets", "http_method": "GET", "api_key_required": true,
             "cache": {"key_parameters": ["method.request.querystring.page"]}},
            {"resource": "/pets", "http_method": "POST", "api_key_required": true,
             "request_validator": "all", "request_models": {"application/json": "NewPet"},
             "integration": {"type": "HTTP", "request_templates": {"application/json":
                "{\"kind\": \"$input.path('$.type')\", \"shelf\": \"$stageVariables.shelf\"}"}}},
            {"resource": "/pets/{id}", "http_method": "GET", "api_key_required": true},
        ],
        "api_keys": keys,
        "usage_plans": [
            {"id": "metered", "throttle": {"rate": 1_000_000, "burst": 1_000_000},
             "quota": {"limit": QUOTA, "period": "DAY"},
             "api_stages": [{"api_id": "soak", "stage": "prod"}]},
            {"id": "tight", "throttle": {"rate": 5, "burst": 5},
             "api_stages": [{"api_id": "soak", "stage": "prod"}]},
        ],
        "admin": {"keys": [{"id": "ops", "value_sha256": sha(ADMIN_KEY)}]},
    })
}

/// One kind of request and the statuses it may get.
struct Kind {
    name: &'static str,
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: &'static str,
    allowed: &'static [u16],
}

fn kinds(n: usize) -> Vec<Kind> {
    let k = key(n % KEYS);
    let h = |value: &str| vec![("x-api-key", value.to_string())];
    let json_post = |value: &str| {
        vec![("x-api-key", value.to_string()), ("content-type", "application/json".to_string())]
    };
    vec![
        Kind {
            name: "get",
            method: "GET",
            path: format!("/pets/{n}"),
            headers: h(&k),
            body: "",
            allowed: &[200],
        },
        Kind {
            name: "cached",
            method: "GET",
            path: format!("/pets?page={}", n % 7),
            headers: h(&k),
            body: "",
            allowed: &[200],
        },
        Kind {
            name: "post",
            method: "POST",
            path: "/pets".into(),
            headers: json_post(&k),
            body: "{\"type\": \"dog\", \"price\": 30}",
            allowed: &[200],
        },
        Kind {
            name: "invalid",
            method: "POST",
            path: "/pets".into(),
            headers: json_post(&k),
            body: "{\"type\": \"cow\"}",
            allowed: &[400],
        },
        Kind {
            name: "tight",
            method: "GET",
            path: "/pets/1".into(),
            headers: h("soak-tight-key-0123456789"),
            body: "",
            allowed: &[200, 429],
        },
        Kind {
            name: "wrong_key",
            method: "GET",
            path: "/pets/1".into(),
            headers: h("not-a-key-at-all-0000"),
            body: "",
            allowed: &[403],
        },
        Kind {
            name: "no_key",
            method: "GET",
            path: "/pets/1".into(),
            headers: vec![],
            body: "",
            allowed: &[403],
        },
        Kind {
            name: "unknown",
            method: "GET",
            path: "/nothing/here".into(),
            headers: h(&k),
            body: "",
            allowed: &[403],
        },
    ]
}

/// Counts per (kind, status), admitted requests per metered key, and unexpected answers.
#[derive(Default)]
struct Tally {
    statuses: BTreeMap<(String, u16), u64>,
    admitted: BTreeMap<String, u64>,
    unexpected: Vec<String>,
}

fn stat(port: u16, name: &str) -> u64 {
    try_request(port, "GET", b"/stats", &[], b"")
        .map(|r| r.text())
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(": ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let seconds: u64 =
        std::env::var("SOAK_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(600);
    let upstream_bin = root().join("target/release/tollgate-upstream");
    let upstream = Upstream::start(&upstream_bin.to_string_lossy(), "echo");
    let envoy = Envoy::start(&EnvoyOptions::new(config(), upstream.port).management())
        .unwrap_or_else(|log| panic!("{log}"));
    let port = envoy.port;
    let stamp = std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y%m%dT%H%M%SZ")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| "now".into());
    let out = root().join("bench/results/soak").join(&stamp);
    std::fs::create_dir_all(&out).expect("results directory");
    println!(
        "soak: {seconds} s of mixed load, {CLIENTS} clients, Envoy --concurrency 2; results in {}",
        out.display()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (stop, tally) = (Arc::clone(&stop), Arc::clone(&tally));
            std::thread::spawn(move || {
                let mut n = c;
                while !stop.load(Ordering::Relaxed) {
                    for kind in kinds(n) {
                        let headers: Vec<(&str, &[u8])> =
                            kind.headers.iter().map(|(k, v)| (*k, v.as_bytes())).collect();
                        let status = try_request(
                            port,
                            kind.method,
                            kind.path.as_bytes(),
                            &headers,
                            kind.body.as_bytes(),
                        )
                        .map_or(0, |r| r.status);
                        let mut t = tally.lock().expect("tally");
                        *t.statuses.entry((kind.name.to_string(), status)).or_default() += 1;
                        if !kind.allowed.contains(&status) {
                            let seen = format!("{} {} -> {status}", kind.method, kind.path);
                            if t.unexpected.len() < 20 {
                                t.unexpected.push(seen);
                            }
                        }
                        // What passed the quota: answered, cached, or refused by validation
                        // (which comes after the quota, as on AWS).
                        let metered = matches!(
                            (kind.name, status),
                            ("get" | "cached" | "post", 200) | ("invalid", 400)
                        );
                        if metered {
                            *t.admitted.entry(format!("k{}", n % KEYS)).or_default() += 1;
                        }
                    }
                    n += CLIENTS;
                }
            })
        })
        .collect();

    let mut csv = String::from("seconds,rss_mib,wasm_memory_mib,requests\n");
    let started = Instant::now();
    loop {
        let elapsed = started.elapsed().as_secs();
        let requests: u64 = tally.lock().expect("tally").statuses.values().sum();
        let rss = envoy.rss_kib() as f64 / 1024.0;
        let wasm =
            stat(envoy.admin_port, "wasmcustom.tollgate.wasm.memory_bytes") as f64 / 1_048_576.0;
        csv.push_str(&format!("{elapsed},{rss:.1},{wasm:.2},{requests}\n"));
        println!("{elapsed:>5} s  RSS {rss:>7.1} MiB  wasm {wasm:>6.2} MiB  {requests} requests");
        if elapsed >= seconds {
            break;
        }
        std::thread::sleep(Duration::from_secs(5).min(Duration::from_secs(seconds - elapsed)));
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.join();
    }
    std::fs::write(out.join("soak.csv"), &csv).expect("write csv");

    // Quota counts against admitted requests, per key, from the management route.
    let usage = try_request(
        envoy.management_port,
        "GET",
        b"/usageplans/metered/usage",
        &[("x-tollgate-admin-key", ADMIN_KEY.as_bytes())],
        b"",
    )
    .map(|r| r.json())
    .unwrap_or_default();
    let tally = tally.lock().expect("tally");
    let mut failures: Vec<String> = tally.unexpected.clone();
    let mut quota_lines = Vec::new();
    for i in 0..KEYS {
        let id = format!("k{i}");
        let admitted = tally.admitted.get(&id).copied().unwrap_or(0);
        let counted = usage["items"][&id][0][0].as_u64().unwrap_or(0);
        let ahead = counted.saturating_sub(admitted);
        if counted < admitted || ahead > LEASE * WORKERS {
            failures.push(format!("{id}: counted {counted}, admitted {admitted}"));
        }
        quota_lines.push(format!("| {id} | {admitted} | {counted} | {ahead} |"));
    }
    let log = envoy.log();
    if log.contains("panicked at") || log.contains("failed: ") && log.contains("proxy_on_") {
        failures.push("a wasm VM failed (see Envoy's log)".into());
    }
    let rss: Vec<f64> =
        csv.lines().skip(1).filter_map(|l| l.split(',').nth(1)?.parse().ok()).collect();
    let wasm: Vec<f64> =
        csv.lines().skip(1).filter_map(|l| l.split(',').nth(2)?.parse().ok()).collect();
    let span = |v: &[f64]| {
        let after_warmup = &v[v.len().min(3)..];
        let min = after_warmup.iter().copied().fold(f64::INFINITY, f64::min);
        let max = after_warmup.iter().copied().fold(0.0, f64::max);
        (min, max)
    };
    let total: u64 = tally.statuses.values().sum();
    let mut summary = format!(
        "# Soak {stamp}\n\n{seconds} s, {CLIENTS} clients (one connection per request), Envoy --concurrency 2, \
         {total} requests ({:.0}/s).\n\n\
         - RSS after the first 15 s: {:.1} - {:.1} MiB\n- wasm memory (last VM to report) after the first 15 s: {:.2} - {:.2} MiB\n\
         - unexpected statuses: {}\n\n| kind | status | count |\n|---|---|---|\n",
        total as f64 / seconds.max(1) as f64,
        span(&rss).0, span(&rss).1, span(&wasm).0, span(&wasm).1,
        tally.unexpected.len(),
    );
    for ((kind, status), count) in &tally.statuses {
        summary.push_str(&format!("| {kind} | {status} | {count} |\n"));
    }
    summary.push_str(&format!(
        "\nQuota counters against admitted requests (a count may run ahead by at most {LEASE} x {WORKERS} workers):\n\n\
         | key | admitted | counted | ahead |\n|---|---|---|---|\n{}\n",
        quota_lines.join("\n")
    ));
    if !failures.is_empty() {
        summary.push_str(&format!("\n**Failures:**\n\n- {}\n", failures.join("\n- ")));
    }
    std::fs::write(out.join("summary.md"), &summary).expect("write summary");
    let chart = std::process::Command::new(root().join(".venv/bin/python"))
        .arg(root().join("bench/tollbench/soak_chart.py"))
        .arg(out.join("soak.csv"))
        .arg(out.join("soak.png"))
        .status();
    if !chart.is_ok_and(|s| s.success()) {
        eprintln!("no chart (matplotlib missing from .venv?)");
    }
    println!("{summary}");
    if !failures.is_empty() {
        eprintln!("soak failed");
        std::process::exit(1);
    }
}
