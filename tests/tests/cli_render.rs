//! `tollgate render`: a spec becomes an Envoy bootstrap that passes `envoy --mode validate`,
//! runs, routes each method to its upstream, and takes a new filter config (rendered again into
//! the same directory) without a restart and without a failed request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tollgate_e2e::client::try_request;
use tollgate_e2e::sha256_hex as sha;
use tollgate_e2e::{
    assert_gateway_error, envoy_bin, get, render, root, run_cli, scratch_dir, wasm_path, Envoy,
    Upstream,
};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");

/// `envoy --mode validate` on a rendered bootstrap.
fn assert_validates(config: &Path) {
    let out = Command::new(envoy_bin())
        .args(["--mode", "validate", "-c"])
        .arg(config)
        .output()
        .expect("run envoy --mode validate");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("OK"), "{}:\n{text}", config.display());
}

/// A pet store: a keyed method on the default upstream, an HTTP_PROXY integration and a
/// `{proxy+}` resource on a second upstream (named `localhost` by their URIs), a MOCK method.
fn spec(default_port: u16, second_port: u16, keys: &[(&str, &str)]) -> Value {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(id, value)| json!({"id": id, "value_sha256": sha(value), "usage_plan_ids": ["basic"]}))
        .collect();
    json!({
        "gateway": {
            "listen": "127.0.0.1:0",
            "admin_listen": "127.0.0.1:0",
            "envoy_admin": "127.0.0.1:0",
            "upstream": format!("http://127.0.0.1:{default_port}"),
        },
        "api": {"id": "petstore"},
        "api_key_id_header": "x-tollgate-api-key-id",
        "methods": [
            {"resource": "/pets", "http_method": "GET", "api_key_required": true},
            {"resource": "/orders/{id}", "http_method": "GET", "integration": {
                "type": "HTTP_PROXY",
                "uri": format!("http://localhost:{second_port}/v1/orders/{{id}}"),
                "request_parameters": {"integration.request.path.id": "method.request.path.id"}}},
            {"resource": "/files/{proxy+}", "http_method": "ANY", "integration": {
                "type": "HTTP_PROXY",
                "uri": format!("http://localhost:{second_port}/store/{{proxy}}"),
                "request_parameters": {"integration.request.path.proxy": "method.request.path.proxy"}}},
            {"resource": "/health", "http_method": "GET", "integration": {
                "type": "MOCK",
                "request_templates": {"application/json": "{\"statusCode\": 200}"},
                "responses": {"default": {"status_code": "200",
                    "response_templates": {"application/json": "{\"healthy\": true}"}}}}},
        ],
        "api_keys": keys,
        "usage_plans": [{"id": "basic", "api_stages": [{"api_id": "petstore", "stage": "prod"}]}],
    })
}

fn write_spec(dir: &Path, spec: &Value) -> std::path::PathBuf {
    let path = dir.join("petstore.yaml");
    std::fs::write(&path, serde_json::to_string_pretty(spec).unwrap()).unwrap();
    path
}

#[test]
fn rendered_gateway_routes_and_reloads_its_filter_config() {
    let default = Upstream::start_with(UPSTREAM, &["--mode", "echo", "--name", "default"]);
    let second = Upstream::start_with(UPSTREAM, &["--mode", "echo", "--name", "second"]);
    let work = scratch_dir("render");
    let out = work.join("gateway");
    let spec_path = write_spec(&work, &spec(default.port, second.port, &[("alice", "alice-key")]));
    let said = render(&spec_path, &out);
    assert!(said.contains("envoy.yaml") && said.contains("tollgate.ecds.yaml"), "{said}");
    let bootstrap = out.join("envoy.yaml");
    assert_validates(&bootstrap);

    let envoy = Envoy::start_file(&bootstrap, 2).unwrap_or_else(|log| panic!("{log}"));
    let port = envoy.port;
    assert_ne!(envoy.management_port, 0, "the admin listener");

    // The keyed method: AWS's 403 without a key, the default upstream with one.
    let r = get(port, "/pets", &[]);
    assert_gateway_error(&r, 403, "Forbidden", "ForbiddenException", "no key");
    let r = get(port, "/pets?limit=2", &[("x-api-key", "alice-key")]);
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = r.json();
    assert_eq!(
        (seen["server"].as_str(), seen["path"].as_str()),
        (Some("default"), Some("/pets?limit=2"))
    );
    assert_eq!(seen["headers"]["x-tollgate-api-key-id"], "alice");

    // The integration URIs: the second upstream, at the URI's path.
    let r = get(port, "/orders/42", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = r.json();
    assert_eq!(
        (seen["server"].as_str(), seen["path"].as_str()),
        (Some("second"), Some("/v1/orders/42"))
    );
    let r = tollgate_e2e::request(port, "PUT", b"/files/a/b.txt", &[], b"hello");
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = r.json();
    assert_eq!(
        (seen["server"].as_str(), seen["path"].as_str()),
        (Some("second"), Some("/store/a/b.txt"))
    );
    assert_eq!((seen["method"].as_str(), seen["body"].as_str()), (Some("PUT"), Some("hello")));

    // MOCK: the filter answers.
    let r = get(port, "/health", &[]);
    assert_eq!((r.status, r.json()), (200, json!({"healthy": true})));

    // No such method: AWS's answer, whether the path is unknown or the verb is.
    for (method, path) in [("GET", "/nothing"), ("DELETE", "/pets"), ("GET", "/files")] {
        let r = tollgate_e2e::request(port, method, path.as_bytes(), &[], b"");
        assert_gateway_error(
            &r,
            403,
            "Missing Authentication Token",
            "MissingAuthenticationTokenException",
            &format!("{method} {path}"),
        );
    }

    // A second key, rendered into the same directory while a client keeps calling: the running
    // Envoy takes it within 2 s, and no request fails on the way.
    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut failures = Vec::new();
            let mut count = 0u32;
            while !stop.load(Ordering::Relaxed) {
                for (path, key) in [("/pets", "alice-key"), ("/orders/7", "")] {
                    let headers: Vec<(&str, &[u8])> =
                        if key.is_empty() { vec![] } else { vec![("x-api-key", key.as_bytes())] };
                    match try_request(port, "GET", path.as_bytes(), &headers, b"") {
                        Ok(r) if r.status == 200 => {}
                        Ok(r) => failures.push(format!("{path}: {} {}", r.status, r.text())),
                        Err(e) => failures.push(format!("{path}: {e}")),
                    }
                    count += 1;
                }
            }
            (count, failures)
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let r = get(port, "/pets", &[("x-api-key", "bob-key")]);
    assert_eq!(r.status, 403, "bob's key is not there yet");
    let spec_path = write_spec(
        &work,
        &spec(default.port, second.port, &[("alice", "alice-key"), ("bob", "bob-key")]),
    );
    let said = render(&spec_path, &out);
    assert!(said.contains("applies the new filter config"), "{said}");
    let written = Instant::now();
    loop {
        let r = get(port, "/pets", &[("x-api-key", "bob-key")]);
        if r.status == 200 {
            assert_eq!(r.json()["headers"]["x-tollgate-api-key-id"], "bob");
            break;
        }
        assert_eq!(r.status, 403, "{}", r.text());
        assert!(written.elapsed() < Duration::from_secs(2), "bob's key not taken within 2 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = written.elapsed();
    // Every worker has it now.
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..20 {
        assert_eq!(get(port, "/pets", &[("x-api-key", "bob-key")]).status, 200);
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let (count, failures) = client.join().expect("client thread");
    assert!(failures.is_empty(), "{} of {count} requests failed: {failures:?}", failures.len());
    assert!(count > 20, "only {count} requests during the change");
    eprintln!("new key served {took:?} after render; {count} requests without a failure");
    assert_eq!(envoy.stat("server.live"), 1, "Envoy did not restart");
}

/// `tollgate run`: renders and runs Envoy in the foreground, Envoy's arguments after `--`.
#[test]
fn run_serves_the_spec() {
    let upstream = Upstream::start_with(UPSTREAM, &["--mode", "echo", "--name", "default"]);
    let work = scratch_dir("run");
    let spec_path =
        write_spec(&work, &spec(upstream.port, upstream.port, &[("alice", "alice-key")]));
    let admin_file = work.join("admin.address");
    let child = Command::new(tollgate_e2e::tollgate_cli())
        .arg("run")
        .arg(&spec_path)
        .arg("--dir")
        .arg(work.join("gateway"))
        .arg("--wasm")
        .arg(wasm_path())
        .args(["--", "--concurrency", "1", "-l", "warn", "--admin-address-path"])
        .arg(&admin_file)
        .env("TOLLGATE_ENVOY", envoy_bin())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tollgate run");
    let mut process = tollgate_e2e::Process { child };
    let deadline = Instant::now() + Duration::from_secs(60);
    let port = loop {
        assert!(Instant::now() < deadline, "the gateway did not start within 60 s");
        if !matches!(process.child.try_wait(), Ok(None)) {
            let mut err = String::new();
            if let Some(stderr) = process.child.stderr.as_mut() {
                let _ = std::io::Read::read_to_string(stderr, &mut err);
            }
            panic!("tollgate run exited: {err}");
        }
        std::thread::sleep(Duration::from_millis(100));
        let Some(admin) = std::fs::read_to_string(&admin_file)
            .ok()
            .and_then(|a| a.trim().rsplit(':').next().and_then(|p| p.parse::<u16>().ok()))
        else {
            continue;
        };
        let Ok(r) = try_request(admin, "GET", b"/listeners?format=json", &[], b"") else {
            continue;
        };
        let listeners = r.json();
        let port = listeners["listener_statuses"][0]["local_address"]["socket_address"]
            ["port_value"]
            .as_u64();
        if let (Some(port), Ok(ready)) = (port, try_request(admin, "GET", b"/ready", &[], b"")) {
            if ready.status == 200 {
                break u16::try_from(port).expect("port");
            }
        }
    };
    let r = get(port, "/pets", &[("x-api-key", "alice-key")]);
    assert_eq!((r.status, r.json()["server"].as_str()), (200, Some("default")), "{}", r.text());
    let r = get(port, "/pets", &[]);
    assert_gateway_error(&r, 403, "Forbidden", "ForbiddenException", "no key");
    let _ = process.child.kill();
    let mut said = String::new();
    let stdout = process.child.stdout.as_mut().expect("stdout");
    std::io::Read::read_to_string(stdout, &mut said).expect("read stdout");
    assert!(said.contains("API `petstore` on http://127.0.0.1:0"), "{said}");
}

#[test]
fn render_errors_are_clear() {
    let work = scratch_dir("render-errors");
    let spec_path = work.join("s.yaml");
    std::fs::write(&spec_path, "api: {id: a}\nmethods: [{resource: /a, http_method: GET}]\n")
        .unwrap();
    let out = work.join("out").to_string_lossy().into_owned();
    let spec = spec_path.to_string_lossy().into_owned();
    let wasm = wasm_path().to_string_lossy().into_owned();
    let (ok, _, stderr) = run_cli(&["render", &spec, "--out", &out, "--wasm", &wasm]);
    assert!(!ok && stderr.contains("gateway.upstream"), "{stderr}");
    let (ok, _, stderr) = run_cli(&["render", &spec, "--out", &out, "--wasm", "/no/such.wasm"]);
    assert!(!ok && stderr.contains("/no/such.wasm") && stderr.contains("make filter"), "{stderr}");
    assert!(!work.join("out/envoy.yaml").exists());
}

/// Every OpenAPI fixture of the CLI imports, renders and passes `envoy --mode validate`.
#[test]
fn imported_fixtures_render_and_validate() {
    let fixtures = root().join("cli/tests/fixtures");
    let entries =
        std::fs::read_dir(&fixtures).unwrap_or_else(|e| panic!("{}: {e}", fixtures.display()));
    let mut files: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "fixtures: {files:?}");
    let wasm = wasm_path().to_string_lossy().into_owned();
    for (i, file) in files.iter().enumerate() {
        let work = scratch_dir(&format!("import-{i}"));
        let spec = work.join("spec.yaml").to_string_lossy().into_owned();
        let (ok, _, stderr) = run_cli(&["import", &file.to_string_lossy(), "--out", &spec]);
        assert!(ok, "tollgate import {}: {stderr}", file.display());
        let out = work.join("gateway").to_string_lossy().into_owned();
        let (ok, _, stderr) = run_cli(&["render", &spec, "--out", &out, "--wasm", &wasm]);
        assert!(ok, "tollgate render ({}): {stderr}", file.display());
        assert_validates(&work.join("gateway/envoy.yaml"));
    }
}

/// Several exports imported as one gateway: a spec per API and `gateway.yaml` mapping each on a
/// custom domain; the gateway renders and passes `envoy --mode validate`.
#[test]
fn several_exports_import_as_one_gateway() {
    let fixtures = root().join("cli/tests/fixtures");
    let work = scratch_dir("import-gateway");
    let dir = work.join("gateway");
    let mut args: Vec<String> =
        ["petstore-oas30.json", "lambda-proxy.yaml", "request-validation.yaml"]
            .iter()
            .map(|f| fixtures.join(f).to_string_lossy().into_owned())
            .collect();
    args.splice(0..0, ["import".to_string()]);
    args.extend(
        ["--out-dir", &dir.to_string_lossy(), "--domain", "api.example.com"].map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, stderr) = run_cli(&args);
    assert!(ok, "tollgate import: {stderr}");
    let gateway = std::fs::read_to_string(dir.join("gateway.yaml")).unwrap();
    let doc: serde_json::Value = serde_yaml_ng::from_str(&gateway).unwrap();
    let apis = doc["apis"].as_array().unwrap();
    assert_eq!(apis.len(), 3, "{gateway}");
    let mappings = doc["domains"][0]["base_path_mappings"].as_array().unwrap();
    assert_eq!(mappings.len(), 3, "{gateway}");
    for (api, mapping) in apis.iter().zip(mappings) {
        let spec = api["spec"].as_str().unwrap();
        assert!(dir.join(spec).exists(), "{spec}");
        assert_eq!(format!("{}.yaml", mapping["api"].as_str().unwrap()), spec);
    }
    let out = work.join("rendered").to_string_lossy().into_owned();
    let wasm = wasm_path().to_string_lossy().into_owned();
    let gateway_file = dir.join("gateway.yaml").to_string_lossy().into_owned();
    let (ok, _, stderr) = run_cli(&["render", &gateway_file, "--out", &out, "--wasm", &wasm]);
    assert!(ok, "tollgate render: {stderr}");
    assert_validates(&work.join("rendered/envoy.yaml"));
    // One export and a directory, or several and none: a clear error.
    let one = fixtures.join("petstore-oas30.json").to_string_lossy().into_owned();
    let (ok, _, stderr) = run_cli(&["import", &one, &one]);
    assert!(!ok && stderr.contains("--out-dir"), "{stderr}");
}
