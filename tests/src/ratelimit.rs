//! The rate-limit service of global usage plans for tests: Redis (Debian's `redis-server`) and
//! `tollgate-ratelimit` on free loopback ports.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{root, Process};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap()
}

pub fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < Duration::from_secs(15), "{what} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Redis on `port` with its append-only file in `dir`.
pub fn redis(dir: &Path, port: u16) -> Process {
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
        .args(["--appendonly", "yes", "--dir", &dir.to_string_lossy()])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server (make test installs it)");
    wait_for("redis", || {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return false };
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    });
    Process { child }
}

/// Stops Redis with SIGTERM, so it writes its append-only file out.
pub fn stop_redis(mut redis: Process) {
    let pid = redis.child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let _ = redis.child.wait();
}

pub fn ratelimit_bin() -> PathBuf {
    let path = root().join("target/release/tollgate-ratelimit");
    assert!(path.exists(), "{} is missing: run `make ratelimit` first", path.display());
    path
}

/// `tollgate-ratelimit` on `port`, with the limits of `config`.
pub fn service(config: &Path, port: u16, redis_port: u16) -> Process {
    service_with_admin(config, port, redis_port, None)
}

/// [`service`], with `/healthz` and `/metrics` on `admin_port` when given.
pub fn service_with_admin(
    config: &Path,
    port: u16,
    redis_port: u16,
    admin_port: Option<u16>,
) -> Process {
    let mut command = Command::new(ratelimit_bin());
    command
        .args(["--config", &config.to_string_lossy()])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--redis", &format!("redis://127.0.0.1:{redis_port}")]);
    if let Some(admin) = admin_port {
        command.args(["--admin", &format!("127.0.0.1:{admin}")]);
    }
    let child = command.spawn().expect("start tollgate-ratelimit");
    wait_for("tollgate-ratelimit", || TcpStream::connect(("127.0.0.1", port)).is_ok());
    Process { child }
}
