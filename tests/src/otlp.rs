//! An OTLP/HTTP trace receiver (`tests/otlp/receiver.py`, a real `python3` process with the
//! official `opentelemetry-proto` package, installed into `.venv` by `make test-e2e`) on a free
//! port: it decodes what Envoy's OpenTelemetry tracer exports and keeps every span.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{root, sigv4::python, Process};

pub struct OtlpReceiver {
    pub port: u16,
    spans: Arc<Mutex<Vec<Value>>>,
    _process: Process,
}

impl OtlpReceiver {
    pub fn start() -> OtlpReceiver {
        let mut child = Command::new(python())
            .arg(root().join("tests/otlp/receiver.py"))
            .arg("0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start tests/otlp/receiver.py (make test-e2e installs opentelemetry-proto)");
        let mut lines = BufReader::new(child.stdout.take().expect("receiver stdout")).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let port = serde_json::from_str::<Value>(&first)
            .ok()
            .and_then(|v| v["port"].as_u64())
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or_else(|| panic!("the OTLP receiver did not start: {first:?}"));
        let spans = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&spans);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Ok(span) = serde_json::from_str::<Value>(&line) {
                    sink.lock().expect("spans").push(span);
                }
            }
        });
        OtlpReceiver { port, spans, _process: Process { child } }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Value> {
        self.spans.lock().expect("spans").clone()
    }

    /// The spans of `trace_id` once `done` says they are all there (Envoy exports in batches,
    /// every 5 s by default); whatever arrived after 20 s otherwise.
    pub fn trace(&self, trace_id: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let spans: Vec<Value> =
                self.spans().into_iter().filter(|s| s["trace_id"] == trace_id).collect();
            if done(&spans) || Instant::now() > deadline {
                return spans;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
