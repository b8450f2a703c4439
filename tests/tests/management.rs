//! Managing a running gateway with the CLI, under continuous load: `tollgate plans create`,
//! `keys create|disable`, `plans move-key` with `--deploy` change a running Envoy within 2 s and
//! without a failed request, and `tollgate usage` reports what the keys used.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tollgate_e2e::client::try_request;
use tollgate_e2e::{get, run_cli, scratch_dir, wasm_path, Envoy, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");

fn cli(args: &[&str]) -> String {
    let (ok, stdout, stderr) = run_cli(args);
    assert!(ok, "tollgate {}: {stderr}", args.join(" "));
    stdout.trim().to_string()
}

/// Statuses a loader saw, per key.
type Seen = Arc<Mutex<BTreeMap<String, Vec<u16>>>>;

/// Calls `/pets` with `key` every ~20 ms until `stop`; every answer (or connection error as
/// status 0) is recorded.
fn load(
    port: u16,
    key: String,
    name: &str,
    stop: Arc<AtomicBool>,
    seen: Seen,
) -> std::thread::JoinHandle<()> {
    let name = name.to_string();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let status = try_request(port, "GET", b"/pets", &[("x-api-key", key.as_bytes())], b"")
                .map_or(0, |r| r.status);
            seen.lock().unwrap().entry(name.clone()).or_default().push(status);
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

/// Polls until `key` gets `status`, at most 2 s after the change; the time it took and how
/// many of the polls were admitted (200).
fn within_2s(port: u16, key: &str, status: u16) -> (Duration, u64) {
    let since = Instant::now();
    let mut admitted = 0;
    loop {
        let r = get(port, "/pets", &[("x-api-key", key)]);
        admitted += u64::from(r.status == 200);
        if r.status == status {
            return (since.elapsed(), admitted);
        }
        assert!(since.elapsed() < Duration::from_secs(2), "not {status} within 2 s: {}", r.status);
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn usage(admin: &str, admin_key: &str, plan: &str, key: &str) -> u64 {
    let out = cli(&[
        "usage",
        "--admin",
        admin,
        "--admin-key",
        admin_key,
        "--plan",
        plan,
        "--key",
        key,
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["items"][key][0][0].as_u64().unwrap_or_else(|| panic!("{out}"))
}

fn spec_file(dir: &Path, upstream: u16) -> PathBuf {
    let path = dir.join("pets.yaml");
    std::fs::write(
        &path,
        format!(
            "gateway:\n  listen: 127.0.0.1:0\n  admin_listen: 127.0.0.1:0\n  envoy_admin: 127.0.0.1:0\n  \
             upstream: http://127.0.0.1:{upstream}\n\
             api: {{id: pets}}\n\
             methods:\n- {{resource: /pets, http_method: GET, api_key_required: true}}\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn keys_and_plans_change_a_running_gateway_without_a_failed_request() {
    let upstream = Upstream::start(UPSTREAM, "echo");
    let work = scratch_dir("manage");
    let spec = spec_file(&work, upstream.port);
    let spec = spec.to_str().unwrap();
    let out = work.join("gateway");
    let out_s = out.to_str().unwrap();

    // The developer's side: plans, an admin key and a first key, then the gateway.
    cli(&[
        "plans", "create", spec, "--id", "basic", "--rate", "10", "--burst", "10", "--quota",
        "900", "--period", "DAY",
    ]);
    cli(&[
        "plans", "create", spec, "--id", "premium", "--rate", "500", "--burst", "500", "--quota",
        "1500", "--period", "DAY",
    ]);
    let admin_key = cli(&["admin-keys", "create", spec, "--id", "ops"]);
    let alice = cli(&["keys", "create", spec, "--id", "alice", "--plan", "basic"]);
    assert_eq!(alice.len(), 40, "a 40-character key: {alice}");
    let spec_text = std::fs::read_to_string(spec).unwrap();
    assert!(!spec_text.contains(&alice), "only the key's hash is stored");
    cli(&["render", spec, "--out", out_s, "--wasm", wasm_path().to_str().unwrap()]);
    let envoy = Envoy::start_file(&out.join("envoy.yaml"), 2).unwrap_or_else(|log| panic!("{log}"));
    let port = envoy.port;
    let admin = format!("http://127.0.0.1:{}", envoy.management_port);

    // Alice calls at ~50 rps throughout, over basic's 10 rps: some 429s, never a 5xx or a reset.
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Seen = Arc::default();
    let loader = load(port, alice.clone(), "alice", Arc::clone(&stop), Arc::clone(&seen));
    std::thread::sleep(Duration::from_millis(1500));

    // A new key works within 2 s.
    let bob = cli(&["keys", "create", spec, "--id", "bob", "--plan", "basic", "--deploy", out_s]);
    let (took_add, mut bob_ok) = within_2s(port, &bob, 200);
    for _ in 0..4 {
        assert_eq!(get(port, "/pets", &[("x-api-key", &bob)]).status, 200);
        bob_ok += 1;
    }
    // A disabled key is refused within 2 s.
    cli(&["keys", "disable", spec, "bob", "--deploy", out_s]);
    let (took_disable, admitted) = within_2s(port, &bob, 403);
    bob_ok += admitted;

    // Moving alice to premium lifts her limit: after 2 s, no more 429s.
    let before_move = seen.lock().unwrap()["alice"].len();
    assert!(
        seen.lock().unwrap()["alice"].contains(&429),
        "alice is throttled on basic: {:?}",
        seen.lock().unwrap()["alice"]
    );
    cli(&[
        "plans", "move-key", spec, "alice", "--from", "basic", "--to", "premium", "--deploy", out_s,
    ]);
    std::thread::sleep(Duration::from_secs(2));
    let settled = seen.lock().unwrap()["alice"].len();
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    loader.join().unwrap();
    let alice_seen = seen.lock().unwrap()["alice"].clone();
    assert!(alice_seen.len() > before_move + 50, "the loader kept going: {}", alice_seen.len());
    let after: Vec<u16> = alice_seen[settled..].to_vec();
    assert!(after.iter().all(|&s| s == 200), "on premium: {after:?}");
    let unexpected: Vec<&u16> = alice_seen.iter().filter(|&&s| s != 200 && s != 429).collect();
    assert!(unexpected.is_empty(), "no 5xx, no reset during the changes: {unexpected:?}");

    // Usage: what each key was admitted, per plan, as the gateway counted it.
    let admitted = alice_seen.iter().filter(|&&s| s == 200).count() as u64;
    let basic = usage(&admin, &admin_key, "basic", "alice");
    let premium = usage(&admin, &admin_key, "premium", "alice");
    assert!(basic > 0 && premium > 0, "basic {basic}, premium {premium}");
    assert_eq!(basic + premium, admitted, "alice's usage is her admitted requests");
    // Bob's count survived the changes after it (the config was replaced twice since).
    cli(&["keys", "enable", spec, "bob", "--deploy", out_s]);
    bob_ok += within_2s(port, &bob, 200).1;
    assert_eq!(usage(&admin, &admin_key, "basic", "bob"), bob_ok);

    // The table form, and a wrong admin key.
    let table = cli(&["usage", "--admin", &admin, "--admin-key", &admin_key, "--plan", "premium"]);
    assert!(table.contains("alice") && table.contains(&premium.to_string()), "{table}");
    let (ok, _, err) =
        run_cli(&["usage", "--admin", &admin, "--admin-key", "wrong", "--plan", "basic"]);
    assert!(!ok && err.contains("403"), "{err}");
    println!(
        "new key live after {took_add:?}, disabled after {took_disable:?}; alice: {} requests, \
         {admitted} admitted ({basic} on basic, {premium} on premium)",
        alice_seen.len()
    );
}
