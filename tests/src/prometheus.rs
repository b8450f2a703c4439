//! Prometheus itself (Debian `prometheus`, installed by `make test-e2e`) on a free port,
//! scraping the test's Envoy (and any other target) every second, with rule files loaded, and
//! PromQL queries through its HTTP API; `promtool` for rule files.

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{client, scratch_dir, Process};

pub struct Prometheus {
    pub port: u16,
    log: PathBuf,
    _process: Process,
}

/// A scrape target: the job's name, the port on 127.0.0.1, the metrics path.
pub struct Target<'a> {
    pub job: &'a str,
    pub port: u16,
    pub path: &'a str,
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` every second and evaluating `rules` (rule files)
    /// every second; waits until it is ready.
    pub fn start(targets: &[Target], rules: &[&Path]) -> Prometheus {
        let dir = scratch_dir("prometheus");
        let mut config =
            String::from("global: {scrape_interval: 1s, evaluation_interval: 1s}\nrule_files:\n");
        for rule in rules {
            let _ = writeln!(config, "  - {:?}", rule.display().to_string());
        }
        config.push_str("scrape_configs:\n");
        for t in targets {
            let _ = writeln!(
                config,
                "  - {{job_name: {}, metrics_path: {}, static_configs: [{{targets: ['127.0.0.1:{}']}}]}}",
                t.job, t.path, t.port
            );
        }
        if rules.is_empty() {
            config = config.replace("rule_files:\n", "");
        }
        std::fs::write(dir.join("prometheus.yaml"), config).expect("write prometheus.yaml");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let log = dir.join("prometheus.log");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", dir.join("prometheus.yaml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(File::create(&log).expect("prometheus log"))
            .stderr(File::create(log.with_extension("err")).expect("prometheus log"))
            .spawn()
            .expect("start prometheus (make test-e2e installs Debian's prometheus)");
        let prometheus = Prometheus { port, log, _process: Process { child } };
        let deadline = Instant::now() + Duration::from_secs(30);
        while client::try_request(port, "GET", b"/-/ready", &[], b"")
            .map_or(true, |r| r.status != 200)
        {
            assert!(Instant::now() < deadline, "prometheus did not start:\n{}", prometheus.log());
            std::thread::sleep(Duration::from_millis(200));
        }
        prometheus
    }

    /// An instant PromQL query: the `data` of a successful answer (panics on an error, with
    /// Prometheus's message).
    pub fn query(&self, promql: &str) -> Value {
        let path = format!("/api/v1/query?query={}", encode(promql));
        let answer = client::get(self.port, &path, &[]);
        let body: Value = serde_json::from_slice(&answer.body)
            .unwrap_or_else(|_| panic!("{promql}: {}", answer.text()));
        assert_eq!(body["status"], "success", "{promql}: {body}");
        body["data"].clone()
    }

    /// The value of each series `promql` gives, keyed by the values of `labels`.
    pub fn values(&self, promql: &str, labels: &[&str]) -> Vec<(Vec<String>, f64)> {
        let data = self.query(promql);
        let series = data["result"].as_array().cloned().unwrap_or_default();
        series
            .iter()
            .map(|s| {
                let key = labels
                    .iter()
                    .map(|l| s["metric"][*l].as_str().unwrap_or_default().to_string())
                    .collect();
                let value = s["value"][1].as_str().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
                (key, value)
            })
            .collect()
    }

    /// Waits until `promql` gives `want` for the series keyed by `labels` (30 s at most);
    /// returns what it gave last.
    pub fn wait_for(
        &self,
        promql: &str,
        labels: &[&str],
        want: &[(&[&str], f64)],
    ) -> Vec<(Vec<String>, f64)> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut got = self.values(promql, labels);
            got.sort_by(|a, b| a.0.cmp(&b.0));
            let matches = want.len() == got.len()
                && want.iter().all(|(key, value)| {
                    got.iter().any(|(k, v)| {
                        k.iter().map(String::as_str).eq(key.iter().copied()) && v == value
                    })
                });
            if matches || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    pub fn log(&self) -> String {
        let err = std::fs::read_to_string(self.log.with_extension("err")).unwrap_or_default();
        std::fs::read_to_string(&self.log).unwrap_or_default() + &err
    }
}

/// Runs `promtool ARGS`; returns (success, stdout + stderr).
pub fn promtool(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run promtool (make test-e2e installs Debian's prometheus)");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// Percent-encodes a query parameter.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
