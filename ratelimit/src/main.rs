//! `tollgate-ratelimit`: the service beside a fleet of Envoys running Tollgate, over one Redis.
//!
//! - **Global usage plans** (`envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`):
//!   it counts in Redis, so every Envoy of a fleet shares one count that outlives restarts. The
//!   limits come from the same filter config JSON (or spec) the Envoys load, one `--config`
//!   each; with none it knows no limits (every descriptor is allowed).
//! - **The key store** (`tollgate.keystore.v1.KeyStore/Lookup` and `/Changes`): the API keys of
//!   configs with `api_key_store`, as `tollgate keys ... --store` writes them to Redis. Always
//!   served; it needs no config.
//!
//! ```text
//! tollgate-ratelimit [--config tollgate.json ...] \
//!     [--listen 127.0.0.1:8081] [--admin 127.0.0.1:8082] [--redis redis://127.0.0.1:6379]
//! ```
//!
//! `--admin` (off unless given) serves `GET /healthz` and `GET /metrics` (Prometheus) for the
//! operator.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use tollgate_ratelimit::{admin, limits, Services};

const USAGE: &str = "usage: tollgate-ratelimit [--config FILE ...] \
[--listen ADDR:PORT] [--admin ADDR:PORT] [--redis redis://HOST:PORT]
  --config FILE   a filter config or spec whose global usage plans to count (repeatable; \
none: only the key store is served)";

struct Args {
    configs: Vec<PathBuf>,
    listen: SocketAddr,
    admin: Option<SocketAddr>,
    redis: String,
}

fn args() -> Result<Args, String> {
    let mut configs = Vec::new();
    let mut listen = "127.0.0.1:8081".to_string();
    let mut admin = None;
    let mut redis = "redis://127.0.0.1:6379".to_string();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--config" => configs.push(PathBuf::from(value()?)),
            "--listen" => listen = value()?,
            "--admin" => admin = Some(value()?),
            "--redis" => redis = value()?,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    let listen = listen.parse().map_err(|e| format!("--listen {listen}: {e}"))?;
    let admin = match admin {
        Some(a) => Some(a.parse().map_err(|e| format!("--admin {a}: {e}"))?),
        None => None,
    };
    Ok(Args { configs, listen, admin, redis })
}

async fn serve(args: Args) -> Result<(), String> {
    let limits = limits::load(&args.configs)?;
    let redis = tollgate_ratelimit::connect(&args.redis).await?;
    let count = limits.len();
    let services = Services::new(limits, redis.clone());
    let mut admin_note = String::new();
    if let Some(addr) = args.admin {
        let admin = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr} (--admin): {e}"))?;
        let bound = admin.local_addr().map_err(|e| e.to_string())?;
        admin_note = format!(", /healthz and /metrics on {bound}");
        tokio::spawn(admin::serve(admin, services.metrics.clone(), redis));
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let limits_note = match args.configs.len() {
        0 => "no limits (no --config)".to_string(),
        _ => format!("{count} limits"),
    };
    eprintln!(
        "tollgate-ratelimit: {limits_note} and the key store, listening on {addr}, Redis at {}{admin_note}",
        args.redis
    );
    services
        .serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match args() {
        Ok(args) => serve(args).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tollgate-ratelimit: {e}");
            ExitCode::FAILURE
        }
    }
}
