//! What the CLI's test files share: running the built `tollgate` and a scratch directory.

#![allow(dead_code)] // each test file uses its own part

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the built `tollgate` with `args`, without a key store named by the environment.
pub fn tollgate(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .env_remove("TOLLGATE_KEY_STORE")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The command succeeds.
pub fn ok(args: &[&str]) -> Run {
    let run = tollgate(args);
    assert_eq!(run.code, 0, "tollgate {args:?}\nstdout: {}\nstderr: {}", run.stdout, run.stderr);
    run
}

/// A fresh directory `tollgate-{name}-…` under the system's temporary directory.
pub fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tollgate-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
