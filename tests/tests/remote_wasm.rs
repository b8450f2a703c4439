//! `tollgate render --wasm-url URL --sha256 HEX`: Envoy fetches the filter over HTTP from a
//! server on loopback (a thread of this test, which serves the built module and counts the
//! fetches) and checks it against the SHA-256 before anything is served.
//!
//! What Envoy 1.40 does, as these tests pin it:
//! - startup waits for the module: the API listener is bound only once it is fetched and
//!   checked; a later config with the same SHA-256 applies without a fetch (Envoy keeps
//!   modules by hash);
//! - a module whose SHA-256 does not match is refused (after the retries), the filter fails
//!   closed, and every request, with a valid key or not, gets 503 with no request upstream;
//!   the log says why (`data is invalid` at debug for the `config` component, then `Retry limit
//!   exceeded` and `Plugin configured to fail closed failed to load`), and the admin stats
//!   count `wasm.remote_load_fetch_failures`;
//! - a live update to a SHA-256 Envoy has not fetched is never fetched, and the filter then
//!   fails closed or is skipped, at random: so `tollgate render` names the ECDS file of remote
//!   code by its hash, a new build is a new file only a new envoy.yaml reads, and the running
//!   Envoy keeps its filter until it restarts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tollgate_e2e::client::try_request;
use tollgate_e2e::sha256_hex as sha;
use tollgate_e2e::{
    assert_gateway_error, envoy_bin, get, run_cli, scratch_dir, wasm_path, Envoy, Process, Upstream,
};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");

/// A loopback HTTP/1.1 server of a few files; remembers every path asked for.
struct FileServer {
    port: u16,
    asked: Arc<Mutex<Vec<String>>>,
}

impl FileServer {
    fn start(files: Vec<(&str, Vec<u8>)>) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let files: Arc<Vec<(String, Vec<u8>)>> =
            Arc::new(files.into_iter().map(|(p, b)| (p.to_string(), b)).collect());
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&asked);
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or_default().to_string();
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                        break;
                    }
                }
                log.lock().unwrap().push(path.clone());
                let head = |status: &str, len: usize| {
                    format!("HTTP/1.1 {status}\r\ncontent-type: application/wasm\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n")
                };
                let _ = match files.iter().find(|(p, _)| *p == path) {
                    Some((_, body)) => stream
                        .write_all(head("200 OK", body.len()).as_bytes())
                        .and_then(|_| stream.write_all(body)),
                    None => stream.write_all(head("404 Not Found", 0).as_bytes()),
                };
            }
        });
        FileServer { port, asked }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn fetches(&self, path: &str) -> usize {
        self.asked.lock().unwrap().iter().filter(|p| *p == path).count()
    }
}

fn module() -> Vec<u8> {
    std::fs::read(wasm_path()).unwrap()
}

fn sha_of(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// One keyed method on the echo upstream; `keys` are (id, value).
fn config(id: &str, keys: &[(&str, &str)]) -> Value {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(id, value)| json!({"id": id, "value_sha256": sha(value), "usage_plan_ids": ["basic"]}))
        .collect();
    json!({
        "api": {"id": id},
        "methods": [{"resource": "/pets", "http_method": "GET", "api_key_required": true}],
        "api_keys": keys,
        "usage_plans": [{"id": "basic", "api_stages": [{"api_id": id, "stage": "prod"}]}],
    })
}

fn gateway(upstream: u16) -> Value {
    json!({
        "listen": "127.0.0.1:0",
        "admin_listen": "127.0.0.1:0",
        "envoy_admin": "127.0.0.1:0",
        "upstream": format!("http://127.0.0.1:{upstream}"),
    })
}

fn write_spec(dir: &Path, upstream: u16, keys: &[(&str, &str)]) -> PathBuf {
    let mut spec = config("petstore", keys);
    spec["gateway"] = gateway(upstream);
    let path = dir.join("petstore.yaml");
    std::fs::write(&path, serde_json::to_string_pretty(&spec).unwrap()).unwrap();
    path
}

/// `tollgate render SPEC --out OUT --wasm-url URL --sha256 SHA`; what it printed.
fn render_remote(spec: &Path, out: &Path, url: &str, sha256: &str) -> String {
    let (ok, stdout, stderr) = run_cli(&[
        "render",
        &spec.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
        "--wasm-url",
        url,
        "--sha256",
        sha256,
    ]);
    assert!(ok, "tollgate render: {stderr}");
    stdout
}

fn assert_validates(config: &Path) {
    let out =
        Command::new(envoy_bin()).args(["--mode", "validate", "-c"]).arg(config).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("OK"), "{}:\n{text}", config.display());
}

/// Polls `check` for up to 5 s.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < deadline, "not within 5 s: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_fetched_module_is_checked_served_and_kept_by_its_hash() {
    let upstream = Upstream::start(UPSTREAM, "echo");
    let bytes = module();
    // A second build: the same module with a custom section appended, so another SHA-256.
    let mut v2 = bytes.clone();
    v2.extend_from_slice(b"\x00\x05\x04tgv2");
    let server =
        FileServer::start(vec![("/tollgate_filter.wasm", bytes.clone()), ("/v2.wasm", v2.clone())]);
    let work = scratch_dir("remote-wasm");
    let out = work.join("gateway");
    let spec = write_spec(&work, upstream.port, &[("alice", "alice-key")]);
    let url = server.url("/tollgate_filter.wasm");
    let said = render_remote(&spec, &out, &url, &sha_of(&bytes));
    assert!(said.contains("start Envoy with"), "{said}");
    assert_validates(&out.join("envoy.yaml"));
    let ecds = format!("tollgate.{}.ecds.yaml", &sha_of(&bytes)[..16]);
    assert!(said.contains(&ecds), "{said}");
    let ecds = std::fs::read_to_string(out.join(ecds)).unwrap();
    assert!(ecds.contains(&format!("uri: {url}")) && !ecds.contains("filename:"), "{ecds}");

    let envoy = Envoy::start_file(&out.join("envoy.yaml"), 2).unwrap_or_else(|log| panic!("{log}"));
    // The listener is bound only once the module is in: nothing is served without the filter.
    assert!(server.fetches("/tollgate_filter.wasm") >= 1);
    assert_eq!(envoy.stat("wasm.remote_load_fetch_failures"), 0, "{}", envoy.log());
    assert_keyed(envoy.port, "alice-key", "no key");

    // A new key, same module: the config applies live, and Envoy fetches nothing (its modules
    // are kept by hash).
    let fetched = server.fetches("/tollgate_filter.wasm");
    write_spec(&work, upstream.port, &[("alice", "alice-key"), ("bob", "bob-key")]);
    let said = render_remote(&spec, &out, &url, &sha_of(&bytes));
    assert!(said.contains("a running Envoy applies the new filter config now"), "{said}");
    eventually("bob's key works", || {
        get(envoy.port, "/pets", &[("x-api-key", "bob-key")]).status == 200
    });
    assert_gateway_error(
        &get(envoy.port, "/pets", &[]),
        403,
        "Forbidden",
        "ForbiddenException",
        "no key",
    );
    assert_eq!(server.fetches("/tollgate_filter.wasm"), fetched, "a cached module fetched again");

    // A new build (another SHA-256). Envoy 1.40 cannot take it live: it never fetches remote
    // code on a live update, and the plugin without a VM then answers 503 or skips the filter
    // altogether (requests without a key reach the upstream), whichever instance the workers
    // got. So its config goes to another file (named by the hash) that only the new envoy.yaml
    // reads: the running Envoy keeps its filter, and the CLI says to restart.
    let new_ecds = format!("tollgate.{}.ecds.yaml", &sha_of(&v2)[..16]);
    let said = render_remote(&spec, &out, &server.url("/v2.wasm"), &sha_of(&v2));
    assert!(said.contains("restart Envoy to run it") && said.contains(&new_ecds), "{said}");
    assert!(out.join(format!("tollgate.{}.ecds.yaml", &sha_of(&bytes)[..16])).exists());
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(100));
        assert_keyed(envoy.port, "bob-key", "no key, old build");
    }
    assert_eq!(server.fetches("/v2.wasm"), 0, "a running Envoy saw the new build");
    drop(envoy);
    let envoy = Envoy::start_file(&out.join("envoy.yaml"), 2).unwrap_or_else(|log| panic!("{log}"));
    assert!(server.fetches("/v2.wasm") >= 1);
    assert_keyed(envoy.port, "bob-key", "no key, new build");
}

/// The filter at work: `/pets` without a key is AWS's 403, with `key` it is served.
fn assert_keyed(port: u16, key: &str, label: &str) {
    assert_gateway_error(&get(port, "/pets", &[]), 403, "Forbidden", "ForbiddenException", label);
    let r = get(port, "/pets", &[("x-api-key", key)]);
    assert_eq!(r.status, 200, "{label}: {}", r.text());
}

/// Envoy run here rather than by the harness: the mismatch itself is logged at debug only.
fn start_envoy_debug(config: &Path) -> (Process, PathBuf, u16, u16) {
    let dir = scratch_dir("remote-wasm-envoy");
    let log = dir.join("envoy.log");
    let admin_file = dir.join("admin.address");
    let child = Command::new(envoy_bin())
        .arg("-c")
        .arg(config)
        .args(["--concurrency", "2", "--disable-hot-restart", "-l", "info"])
        .args(["--component-log-level", "config:debug"])
        .arg("--log-path")
        .arg(&log)
        .arg("--admin-address-path")
        .arg(&admin_file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let process = Process { child };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "envoy not ready:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
        let Some(admin) = std::fs::read_to_string(&admin_file)
            .ok()
            .and_then(|a| a.trim().rsplit(':').next().and_then(|p| p.parse::<u16>().ok()))
        else {
            continue;
        };
        if try_request(admin, "GET", b"/ready", &[], b"").map_or(true, |r| r.status != 200) {
            continue;
        }
        let Ok(listeners) = try_request(admin, "GET", b"/listeners?format=json", &[], b"") else {
            continue;
        };
        let port = listeners.json()["listener_statuses"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["name"] == "api"))
            .and_then(|l| l["local_address"]["socket_address"]["port_value"].as_u64());
        if let Some(port) = port {
            return (process, log, admin, u16::try_from(port).unwrap());
        }
    }
}

fn stat(admin: u16, name: &str) -> u64 {
    get(admin, "/stats", &[])
        .text()
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(": ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_module_that_does_not_match_its_sha256_lets_nothing_through() {
    let upstream = Upstream::start(UPSTREAM, "echo");
    let server = FileServer::start(vec![("/tollgate_filter.wasm", module())]);
    let work = scratch_dir("remote-wasm-mismatch");
    let out = work.join("gateway");
    let spec = write_spec(&work, upstream.port, &[("alice", "alice-key")]);
    let wrong = sha("not the module");
    render_remote(&spec, &out, &server.url("/tollgate_filter.wasm"), &wrong);

    let (_envoy, log, admin, port) = start_envoy_debug(&out.join("envoy.yaml"));
    let log = || std::fs::read_to_string(&log).unwrap_or_default();
    // The listener comes up once the retries are spent, with the filter failed closed: Envoy
    // answers 503 itself, key or no key, and the upstream sees nothing.
    // (Envoy's 503 in AWS's words: the rendered local_reply_config.)
    for key in [Some("alice-key"), Some("wrong"), None].into_iter().cycle().take(9) {
        let headers: Vec<(&str, &str)> = key.map(|k| ("x-api-key", k)).into_iter().collect();
        let r = get(port, "/pets", &headers);
        let why = format!("{key:?}\n{}", log());
        assert_gateway_error(
            &r,
            503,
            "Internal server error",
            "InternalServerErrorException",
            &why,
        );
    }
    assert_eq!(stat(admin, "cluster.upstream.upstream_rq_total"), 0, "a request went upstream");
    // The module was served fine (200s on the fetch cluster) and refused for its hash, once per
    // try (the first and the 4 retries of each fetch).
    assert!(stat(admin, "cluster.tollgate_wasm.upstream_rq_200") >= 5, "{}", log());
    assert!(server.fetches("/tollgate_filter.wasm") >= 5);
    assert!(stat(admin, "wasm.remote_load_fetch_failures") >= 1, "{}", log());
    assert_eq!(stat(admin, "wasm.remote_load_fetch_successes"), 0);
    eventually("the refusal in Envoy's log", || {
        let log = log();
        log.contains("data is invalid")
            && log.contains("Retry limit exceeded for fetching data from remote data source")
            && log.contains("Plugin configured to fail closed failed to load")
    });
}

/// A gateway file of two APIs: every API's filter names the same module (Envoy fetches and
/// checks it for each), and their plugins share the VM's data as with a local file.
#[test]
fn the_apis_of_a_gateway_file_share_the_fetched_module() {
    let upstream = Upstream::start(UPSTREAM, "echo");
    let bytes = module();
    let server = FileServer::start(vec![("/m/tollgate_filter.wasm", bytes.clone())]);
    let work = scratch_dir("remote-wasm-gateway");
    for id in ["orders", "billing"] {
        let spec = json!({"api": {"id": id},
            "methods": [{"resource": "/pets", "http_method": "GET", "api_key_required": true}]});
        std::fs::write(work.join(format!("{id}.yaml")), serde_json::to_string(&spec).unwrap())
            .unwrap();
    }
    let gateway_file = json!({
        "gateway": gateway(upstream.port),
        "apis": [{"spec": "orders.yaml"}, {"spec": "billing.yaml"}],
        "domains": [{"domain_name": "api.example.com", "base_path_mappings": [
            {"base_path": "orders", "api": "orders", "stage": "prod"},
            {"base_path": "billing", "api": "billing", "stage": "prod"},
        ]}],
        "api_keys": [{"id": "k", "value_sha256": sha("the-key"), "usage_plan_ids": ["both"]}],
        "usage_plans": [{"id": "both", "quota": {"limit": 2, "period": "DAY"}, "api_stages": [
            {"api_id": "orders", "stage": "prod"}, {"api_id": "billing", "stage": "prod"}]}],
    });
    let path = work.join("gateway.yaml");
    std::fs::write(&path, serde_json::to_string_pretty(&gateway_file).unwrap()).unwrap();
    let out = work.join("rendered");
    render_remote(&path, &out, &server.url("/m/tollgate_filter.wasm"), &sha_of(&bytes));
    assert_validates(&out.join("envoy.yaml"));

    let envoy = Envoy::start_file(&out.join("envoy.yaml"), 2).unwrap_or_else(|log| panic!("{log}"));
    for api in ["orders", "billing"] {
        let r = get(envoy.port, &format!("/{api}/pets"), &[]);
        assert_gateway_error(&r, 403, "Forbidden", "ForbiddenException", api);
        let r = get(envoy.port, &format!("/{api}/pets"), &[("x-api-key", "the-key")]);
        assert_eq!(r.status, 200, "{api}: {}", r.text());
    }
    // One quota of 2 across both APIs: their plugins share the VM's data, as with a file.
    let r = get(envoy.port, "/orders/pets", &[("x-api-key", "the-key")]);
    assert_gateway_error(&r, 429, "Limit Exceeded", "LimitExceededException", "third request");
    assert_eq!(envoy.stat("wasm.remote_load_fetch_failures"), 0, "{}", envoy.log());
}

#[test]
fn bad_urls_and_hashes_are_refused() {
    let work = scratch_dir("remote-wasm-refused");
    let spec = write_spec(&work, 9, &[]).to_string_lossy().into_owned();
    let out = work.join("out").to_string_lossy().into_owned();
    let good = "0".repeat(64);
    for (args, says) in [
        (vec!["--wasm-url", "https://cdn.example.com/f.wasm"], "--wasm-url needs --sha256"),
        (vec!["--wasm-url", "cdn.example.com/f.wasm", "--sha256", &good], "is not http://host"),
        (vec!["--wasm-url", "https://cdn.example.com/", "--sha256", &good], "names no file"),
        (
            vec!["--wasm-url", "https://cdn.example.com/f.wasm", "--sha256", "abc123"],
            "64 hex digits",
        ),
        (vec!["--sha256", &good], "--sha256 goes with --wasm-url"),
    ] {
        let mut argv = vec!["render", &spec, "--out", &out];
        argv.extend(args.iter().copied());
        let (ok, _, stderr) = run_cli(&argv);
        assert!(!ok && stderr.contains(says), "{args:?}: {stderr}");
    }
    assert!(!work.join("out/envoy.yaml").exists());
}
