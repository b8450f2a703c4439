//! Every Envoy config shipped in `envoy/` and `examples/` passes `envoy --mode validate`, which
//! also loads the filter and runs its configuration check on the embedded Tollgate config.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::path::PathBuf;
use std::process::Command;

use tollgate_e2e::{envoy_bin, root, scratch_dir, wasm_path};

fn shipped_configs() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![root().join("envoy"), root().join("examples")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml")
                && !path.file_name().is_some_and(|n| n.to_string_lossy().contains("compose"))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn shipped_envoy_configs_validate() {
    let configs = shipped_configs();
    assert!(configs.len() >= 2, "expected envoy/envoy.yaml and the examples, found {configs:?}");
    let wasm = wasm_path().to_string_lossy().into_owned();
    let dir = scratch_dir("validate");
    // The HTTPS listeners read the local certificate `make run` makes: make it the same way.
    let cert =
        Command::new(root().join("scripts/dev-cert")).output().expect("run scripts/dev-cert");
    assert!(cert.status.success(), "scripts/dev-cert: {}", String::from_utf8_lossy(&cert.stderr));
    let certs = root().join(".tools/certs/").to_string_lossy().into_owned();
    for (i, config) in configs.iter().enumerate() {
        // Point the filter at the freshly built module (shipped configs name it relative to the
        // repository root, or where Docker mounts it).
        let text = std::fs::read_to_string(config)
            .expect("read config")
            .replace("/etc/tollgate/tollgate_filter.wasm", &wasm)
            .replace(
                "filename: target/wasm32-wasip1/release/tollgate_filter.wasm",
                &format!("filename: {wasm}"),
            )
            .replace("filename: .tools/certs/", &format!("filename: {certs}"));
        assert!(
            text.contains("failure_policy: FAIL_CLOSED"),
            "{}: set the wasm failure_policy",
            config.display()
        );
        assert!(
            text.contains("allow_on_headers_stop_iteration: true"),
            "{}: without allow_on_headers_stop_iteration a signed request body never reaches the filter",
            config.display()
        );
        // Every connection manager takes the caller from the TCP peer: without it Envoy believes
        // a client's X-Forwarded-For, and so would aws:SourceIp (README, Trust boundaries).
        let managers = text.matches("http_connection_manager.v3.HttpConnectionManager").count();
        let remote = text.lines().filter(|l| l.trim() == "use_remote_address: true").count();
        assert!(
            managers > 0 && remote == managers,
            "{}: {remote} of {managers} connection managers set use_remote_address: true",
            config.display()
        );
        // Every route to an upstream carries WebSocket upgrades (the filter authenticates and
        // meters the upgrade request like any other).
        for line in text.lines().filter(|l| l.trim_start().starts_with("route: {cluster:")) {
            assert!(
                line.contains("upgrade_configs: [{upgrade_type: websocket}]"),
                "{}: a route without WebSocket upgrades: {line}",
                config.display()
            );
        }
        let copy = dir.join(format!("{i}.yaml"));
        std::fs::write(&copy, text).expect("write copy");
        let out = Command::new(envoy_bin())
            .args(["--mode", "validate", "-l", "error", "-c"])
            // The petstore's private stage reads its demo secret from the environment.
            .env("PETSTORE_DEMO_SECRET", "validate-only")
            .arg(&copy)
            .output()
            .expect("run envoy --mode validate");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains("OK"),
            "{} does not validate:\n{stdout}\n{stderr}",
            config.display()
        );
    }
}
