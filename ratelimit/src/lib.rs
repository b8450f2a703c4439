//! The parts of `tollgate-ratelimit` (see its `main.rs` for the command): the rate-limit
//! service of global usage plans ([`service`]), the key store ([`keys`]), the limits read from
//! configs ([`limits`]) and the operator's listener ([`admin`]). Both gRPC services share one
//! listener, one Redis connection and one set of metrics.

pub mod admin;
pub mod keys;
pub mod limits;
pub mod service;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use tollgate_core::throttle::global::ServiceLimit;

/// A connection to Redis that reconnects by itself. While Redis is down a call fails at once
/// (one connection attempt, no retries with backoff: a call must not wait longer than the
/// Envoy asking, which applies its own failure mode), and no call waits more than a second.
pub async fn connect(url: &str) -> Result<ConnectionManager, String> {
    let client = redis::Client::open(url).map_err(|e| format!("--redis {url}: {e}"))?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_number_of_retries(0)
        .set_connection_timeout(Duration::from_secs(1))
        .set_response_timeout(Duration::from_secs(1));
    ConnectionManager::new_with_config(client, config)
        .await
        .map_err(|e| format!("cannot reach Redis at {url}: {e}"))
}

/// Both gRPC services over one Redis.
#[derive(Clone)]
pub struct Services {
    pub rate_limits: Arc<service::RateLimits>,
    pub keys: Arc<keys::KeyStore>,
    pub metrics: Arc<admin::Metrics>,
}

impl Services {
    pub fn new(limits: Vec<ServiceLimit>, redis: ConnectionManager) -> Self {
        let metrics = Arc::new(admin::Metrics::default());
        Services {
            rate_limits: Arc::new(service::RateLimits::new(limits, redis.clone(), metrics.clone())),
            keys: Arc::new(keys::KeyStore::new(redis, metrics.clone())),
            metrics,
        }
    }

    /// Serves `envoy.service.ratelimit.v3.RateLimitService` and `tollgate.keystore.v1.KeyStore`
    /// on `listener` until `shutdown` completes.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), String> {
        tonic::transport::Server::builder()
            .add_service(service::Server(self.rate_limits.clone()))
            .add_service(keys::Server(self.keys.clone()))
            .serve_with_incoming_shutdown(tokio_stream_listener(listener), shutdown)
            .await
            .map_err(|e| e.to_string())
    }
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
