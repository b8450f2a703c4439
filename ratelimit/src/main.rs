//! `tollgate-ratelimit`: the rate-limit service of Tollgate's global usage plans. Envoys reach
//! it over gRPC (`envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`); it counts in
//! Redis, so every Envoy of a fleet shares one count that outlives restarts. The limits come
//! from the same filter config JSON the Envoys load.
//!
//! ```text
//! tollgate-ratelimit --config tollgate.json [--config other.json] \
//!     [--listen 127.0.0.1:8081] [--admin 127.0.0.1:8082] [--redis redis://127.0.0.1:6379]
//! ```
//!
//! `--admin` (off unless given) serves `GET /healthz` and `GET /metrics` (Prometheus) for the
//! operator.

mod admin;
mod limits;
mod service;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "usage: tollgate-ratelimit --config FILE [--config FILE ...] \
[--listen ADDR:PORT] [--admin ADDR:PORT] [--redis redis://HOST:PORT]";

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
    if configs.is_empty() {
        return Err(format!("no --config given\n{USAGE}"));
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
    let client = redis::Client::open(args.redis.as_str())
        .map_err(|e| format!("--redis {}: {e}", args.redis))?;
    let redis = redis::aio::ConnectionManager::new(client)
        .await
        .map_err(|e| format!("cannot reach Redis at {}: {e}", args.redis))?;
    let count = limits.len();
    let rate_limits = Arc::new(service::RateLimits::new(limits, redis.clone()));
    let mut admin_note = String::new();
    if let Some(addr) = args.admin {
        let admin = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr} (--admin): {e}"))?;
        let bound = admin.local_addr().map_err(|e| e.to_string())?;
        admin_note = format!(", /healthz and /metrics on {bound}");
        tokio::spawn(admin::serve(admin, rate_limits.metrics.clone(), redis));
    }
    let server = service::Server(rate_limits);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!(
        "tollgate-ratelimit: {count} limits, listening on {addr}, counting in {}{admin_note}",
        args.redis
    );
    tonic::transport::Server::builder()
        .add_service(server)
        .serve_with_incoming_shutdown(tokio_stream_listener(listener), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}

/// The bound listener as the stream of connections tonic serves, each without Nagle's delay
/// (a small answer must not wait for the peer's delayed ACK).
fn tokio_stream_listener(
    listener: tokio::net::TcpListener,
) -> impl tonic::codegen::tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tonic::codegen::tokio_stream::StreamExt;
    tonic::codegen::tokio_stream::wrappers::TcpListenerStream::new(listener).map(|conn| {
        let conn = conn?;
        conn.set_nodelay(true)?;
        Ok(conn)
    })
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
