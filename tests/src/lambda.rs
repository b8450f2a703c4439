//! The local AWS Lambda (`examples/lambda-emulator/emulator.py`, a real `python3` process) on a
//! free port: it runs the Python handler files of a directory behind the Lambda Invoke API, as
//! the filter calls them through an Envoy cluster, and counts the invocations per function.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{client, root, scratch_dir, Process};

pub struct LambdaEmulator {
    pub port: u16,
    log: PathBuf,
    _process: Process,
}

impl LambdaEmulator {
    /// Serves the functions `{functions}/{name}.py`; waits until it listens.
    pub fn start(functions: &Path) -> LambdaEmulator {
        let log = scratch_dir("lambda-emulator").join("emulator.log");
        let mut child = Command::new("python3")
            .arg(root().join("examples/lambda-emulator/emulator.py"))
            .args(["--port", "0", "--functions"])
            .arg(functions)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("emulator log"))
            .spawn()
            .expect("start python3 examples/lambda-emulator/emulator.py");
        let stdout = child.stdout.take().expect("emulator stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("the emulator announces its port");
        let port =
            line.trim().rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or_else(|| {
                panic!(
                    "the emulator did not start ({line:?}):\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
        LambdaEmulator { port, log, _process: Process { child } }
    }

    /// Invocations per function since the start or the last [`reset`](Self::reset).
    pub fn invocations(&self) -> BTreeMap<String, u64> {
        let r = client::get(self.port, "/_emulator/invocations", &[]);
        assert_eq!(r.status, 200, "{}", r.text());
        serde_json::from_slice(&r.body).expect("invocation counts")
    }

    /// Invocations of one function.
    pub fn count(&self, function: &str) -> u64 {
        self.invocations().get(function).copied().unwrap_or(0)
    }

    pub fn reset(&self) {
        let r = client::request(self.port, "POST", b"/_emulator/reset", &[], b"");
        assert_eq!(r.status, 200, "{}", r.text());
    }

    /// What the emulator and the handlers wrote (request log, START/END/REPORT, prints, errors).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for LambdaEmulator {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- lambda emulator log ({}) ----\n{}", self.log.display(), self.log());
        }
    }
}
