//! moto in server mode (PyPI `moto[server]`, installed into `.venv` by `make test-e2e`): a real
//! AWS API emulator on a free loopback port, for AWS service integrations.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{client, root, scratch_dir, sigv4::python, Process};

pub struct Moto {
    pub port: u16,
    log: PathBuf,
    _process: Process,
}

impl Moto {
    /// Starts `moto_server` and waits until it answers.
    pub fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let log = scratch_dir("moto").join("moto.log");
        let child = Command::new(root().join(".venv/bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(File::create(&log).expect("moto log"))
            .stderr(File::create(log.with_extension("err")).expect("moto log"))
            .spawn()
            .expect("start .venv/bin/moto_server (make test-e2e installs moto[server])");
        let moto = Moto { port, log, _process: Process { child } };
        let deadline = Instant::now() + Duration::from_secs(30);
        while client::try_request(port, "GET", b"/moto-api/", &[], b"").is_err() {
            assert!(Instant::now() < deadline, "moto did not start:\n{}", moto.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One AWS API call (`tests/aws/call.py`): `service`, `operation` as the API names it
    /// (`CreateBucket`), botocore's parameters; returns the answer as JSON text.
    pub fn call(&self, service: &str, operation: &str, params: &serde_json::Value) -> String {
        let out = Command::new(python())
            .arg(root().join("tests/aws/call.py"))
            .arg(self.endpoint())
            .args([service, operation, &params.to_string()])
            .output()
            .expect("run tests/aws/call.py");
        assert!(
            out.status.success(),
            "{service} {operation}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Runs `tests/aws/dynamodb.py ENDPOINT args...` and returns what it printed.
    pub fn dynamodb(&self, args: &[&str]) -> String {
        let out = Command::new(python())
            .arg(root().join("tests/aws/dynamodb.py"))
            .arg(self.endpoint())
            .args(args)
            .output()
            .expect("run tests/aws/dynamodb.py");
        assert!(
            out.status.success(),
            "dynamodb.py {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn log(&self) -> String {
        let err = std::fs::read_to_string(self.log.with_extension("err")).unwrap_or_default();
        std::fs::read_to_string(&self.log).unwrap_or_default() + &err
    }
}
