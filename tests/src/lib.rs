//! End-to-end harness: the pinned Envoy with the built filter, a real upstream process, real
//! HTTP clients, all on ephemeral loopback ports. Everything started here is killed on drop, and
//! Envoy's log is printed when a test fails.

// A test harness fails a test by panicking: the no-panic lints of the workspace are for the
// filter, the CLI and the rate-limit service.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

pub mod client;
pub mod envoy;
pub mod jwt;
pub mod lambda;
pub mod moto;
pub mod otlp;
pub mod prometheus;
pub mod ratelimit;
pub mod sigv4;
pub mod ws;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

pub use client::{assert_gateway_error, get, request, Response};
pub use envoy::{Envoy, EnvoyOptions};
pub use lambda::LambdaEmulator;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The Envoy binary: `$TOLLGATE_ENVOY`, else the one `make setup` links at `.tools/envoy`.
pub fn envoy_bin() -> PathBuf {
    std::env::var_os("TOLLGATE_ENVOY")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".tools/envoy"))
}

/// The filter built by `make filter`.
pub fn wasm_path() -> PathBuf {
    let path = root().join("target/wasm32-wasip1/release/tollgate_filter.wasm");
    assert!(path.exists(), "{} is missing: run `make filter` first", path.display());
    path
}

/// The `tollgate` CLI built by `make cli` (`make test-e2e` builds it first).
pub fn tollgate_cli() -> PathBuf {
    let path = root().join("target/release/tollgate");
    assert!(path.exists(), "{} is missing: run `make cli` first", path.display());
    path
}

/// Runs the `tollgate` CLI; returns (exit success, stdout, stderr).
pub fn run_cli(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(tollgate_cli()).args(args).output().expect("run tollgate");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `tollgate render SPEC --out OUT` with the freshly built filter; returns what it printed.
pub fn render(spec: &Path, out: &Path) -> String {
    let wasm = wasm_path();
    let (ok, stdout, stderr) = run_cli(&[
        "render",
        &spec.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
        "--wasm",
        &wasm.to_string_lossy(),
    ]);
    assert!(ok, "tollgate render: {stderr}");
    stdout
}

/// Lowercase hex SHA-256 of `value`: how configs name API keys (`value_sha256`).
pub fn sha256_hex(value: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(value.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh directory for one test's files.
pub fn scratch_dir(name: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("tollgate-e2e-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// A process killed when dropped.
pub struct Process {
    pub child: Child,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The upstream (`tollgate-upstream`) on a free port.
pub struct Upstream {
    pub port: u16,
    _process: Process,
}

impl Upstream {
    pub fn start(bin: &str, mode: &str) -> Upstream {
        Upstream::start_with(bin, &["--mode", mode])
    }

    /// The upstream serving the files under `dir` (`--mode files`), e.g. a JWKS endpoint.
    pub fn files(bin: &str, dir: &Path) -> Upstream {
        Upstream::start_with(bin, &["--mode", "files", "--dir", &dir.to_string_lossy()])
    }

    /// The upstream with these arguments (after `--port 0`).
    pub fn start_with(bin: &str, args: &[&str]) -> Upstream {
        let mut child = Command::new(bin)
            .args(["--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start upstream");
        let stdout = child.stdout.take().expect("upstream stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("upstream announces its port");
        let port = line.trim().rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
        Upstream { port, _process: Process { child } }
    }
}

/// The Tollgate config embedded in `examples/{example}/envoy.yaml` (the block scalar after the
/// first `value: |`), so a test runs exactly what the example ships.
pub fn example_config(example: &str) -> serde_json::Value {
    let path = root().join("examples").join(example).join("envoy.yaml");
    let yaml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = yaml.lines().skip_while(|l| l.trim() != "value: |").skip(1).peekable();
    let indent = lines.peek().map(|l| l.len() - l.trim_start().len()).expect("a config block");
    let block: Vec<&str> = lines
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() >= indent)
        .collect();
    serde_json::from_str(&block.join("\n")).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
