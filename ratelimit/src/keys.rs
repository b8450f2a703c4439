//! `tollgate.keystore.v1.KeyStore`: the API keys of a fleet, read from Redis for the filters
//! (the schema is [`tollgate_core::keystore`]'s; `tollgate keys ... --store` writes it).
//! `Lookup` reads one key's record; `Changes` reads the change feed in one Lua script, so the
//! version, the floor and the changes it answers are one consistent snapshot. Redis down is
//! UNAVAILABLE: the filter then applies its failure mode.

use std::collections::HashMap;
use std::sync::Arc;

use redis::aio::ConnectionManager;
use tollgate_core::keystore::{
    self, ChangesRequest, ChangesResponse, LookupRequest, LookupResponse, StoredKey,
    MAX_CHANGES_PER_ANSWER,
};
use tollgate_core::text::hex::hex;

use crate::admin::Metrics;

/// KEYS: version, changes, floor, epoch. ARGV: since, the most changes one answer carries, an
/// epoch for a store that has none yet. Returns the version, 1 when the caller must drop
/// everything (it knows nothing yet, Redis was emptied since, the changes it missed were
/// trimmed, or there are too many), the SHA-256 hex of the keys changed after `since`, oldest
/// change first, and the store's epoch (set by the first call after Redis was emptied, so a
/// worker notices an emptied store even once the version has grown past its own again).
const CHANGES: &str = r"
local version = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(redis.call('GET', KEYS[3]) or '0')
redis.call('SET', KEYS[4], ARGV[3], 'NX')
local epoch = redis.call('GET', KEYS[4])
local since = tonumber(ARGV[1])
local most = tonumber(ARGV[2])
if since == 0 or since > version or since < floor then
  return { version, 1, {}, epoch }
end
local changed = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'LIMIT', 0, most + 1)
if #changed > most then
  return { version, 1, {}, epoch }
end
return { version, 0, changed, epoch }
";

pub struct KeyStore {
    redis: ConnectionManager,
    changes: redis::Script,
    metrics: Arc<Metrics>,
}

/// The answer to `Changes` from the script's: every hash decoded, or `reset` when one is not
/// a SHA-256 (the feed cannot be trusted to name every change, so nothing cached can be).
pub fn changes_answer(version: u64, reset: bool, changed: &[String]) -> ChangesResponse {
    let decoded: Option<Vec<Vec<u8>>> = if reset {
        None
    } else {
        changed.iter().map(|h| keystore::parse_sha256_hex(h).map(|b| b.to_vec())).collect()
    };
    match decoded {
        Some(changed) => ChangesResponse { version, changed, ..ChangesResponse::default() },
        None => {
            if !reset {
                eprintln!("tollgate-ratelimit: `{}` holds a member that is not a SHA-256: answering reset", keystore::CHANGES_KEY);
            }
            ChangesResponse { version, reset: true, ..ChangesResponse::default() }
        }
    }
}

impl KeyStore {
    pub fn new(redis: ConnectionManager, metrics: Arc<Metrics>) -> Self {
        KeyStore { redis, changes: redis::Script::new(CHANGES), metrics }
    }

    /// The record of the key whose SHA-256 the request carries.
    pub async fn lookup(&self, req: &LookupRequest) -> Result<LookupResponse, tonic::Status> {
        let answer = self.read_record(req).await;
        self.metrics.looked_up(answer.as_ref().ok().map(|a| a.found));
        answer
    }

    async fn read_record(&self, req: &LookupRequest) -> Result<LookupResponse, tonic::Status> {
        if req.sha256.len() != 32 {
            return Err(tonic::Status::invalid_argument(format!(
                "sha256: {} bytes, not 32",
                req.sha256.len()
            )));
        }
        let record = keystore::record_key(&hex(&req.sha256));
        let started = std::time::Instant::now();
        let fields: redis::RedisResult<HashMap<String, String>> = again_if_reconnected(|| {
            let mut con = self.redis.clone();
            let cmd = redis::cmd("HGETALL").arg(&record).clone();
            async move { cmd.query_async(&mut con).await }
        })
        .await;
        self.metrics.redis(started.elapsed(), fields.is_err());
        let fields = fields.map_err(unavailable)?;
        let record = StoredKey::from_fields(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        Ok(record.into())
    }

    /// The keys changed after the request's `since`.
    pub async fn changes(&self, req: &ChangesRequest) -> Result<ChangesResponse, tonic::Status> {
        let started = std::time::Instant::now();
        let candidate = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros())
            .to_string();
        let out: redis::RedisResult<(u64, u8, Vec<String>, String)> = again_if_reconnected(|| {
            let mut con = self.redis.clone();
            let mut call = self.changes.prepare_invoke();
            call.key(keystore::VERSION_KEY)
                .key(keystore::CHANGES_KEY)
                .key(keystore::FLOOR_KEY)
                .key(keystore::EPOCH_KEY)
                .arg(req.since)
                .arg(MAX_CHANGES_PER_ANSWER)
                .arg(&candidate);
            async move { call.invoke_async(&mut con).await }
        })
        .await;
        self.metrics.redis(started.elapsed(), out.is_err());
        let answer = out
            .map(|(version, reset, changed, epoch)| ChangesResponse {
                epoch,
                ..changes_answer(version, reset != 0, &changed)
            })
            .map_err(unavailable);
        self.metrics.changes(answer.as_ref().ok().map(|a| a.reset));
        answer
    }
}

/// Runs a read again once when it failed on the connection (not a timeout): the first call
/// after Redis is back answers with the failed reconnection the previous call started, the
/// second one uses the new connection. While Redis is down both fail at once.
async fn again_if_reconnected<T, F>(query: impl Fn() -> F) -> redis::RedisResult<T>
where
    F: std::future::Future<Output = redis::RedisResult<T>>,
{
    match query().await {
        Err(e) if e.is_io_error() && !e.is_timeout() => query().await,
        answer => answer,
    }
}

fn unavailable(e: redis::RedisError) -> tonic::Status {
    eprintln!("tollgate-ratelimit: key store: Redis: {e}");
    tonic::Status::unavailable(format!("Redis: {e}"))
}

/// The gRPC service, written out by hand over tonic's unary helper (no codegen).
#[derive(Clone)]
pub struct Server(pub Arc<KeyStore>);

impl tonic::server::NamedService for Server {
    const NAME: &'static str = keystore::SERVICE;
}

struct Lookup(Arc<KeyStore>);

impl tonic::server::UnaryService<LookupRequest> for Lookup {
    type Response = LookupResponse;
    type Future = tonic::codegen::BoxFuture<tonic::Response<LookupResponse>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<LookupRequest>) -> Self::Future {
        let store = self.0.clone();
        Box::pin(async move { store.lookup(request.get_ref()).await.map(tonic::Response::new) })
    }
}

struct Changes(Arc<KeyStore>);

impl tonic::server::UnaryService<ChangesRequest> for Changes {
    type Response = ChangesResponse;
    type Future = tonic::codegen::BoxFuture<tonic::Response<ChangesResponse>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<ChangesRequest>) -> Self::Future {
        let store = self.0.clone();
        Box::pin(async move { store.changes(request.get_ref()).await.map(tonic::Response::new) })
    }
}

impl<B> tonic::codegen::Service<tonic::codegen::http::Request<B>> for Server
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = tonic::codegen::http::Response<tonic::body::BoxBody>;
    type Error = std::convert::Infallible;
    type Future = tonic::codegen::BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: tonic::codegen::http::Request<B>) -> Self::Future {
        let store = self.0.clone();
        let method = req.uri().path().strip_prefix(&format!("/{}/", keystore::SERVICE));
        match method {
            Some(keystore::LOOKUP) => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(tonic::codec::ProstCodec::default());
                Ok(grpc.unary(Lookup(store), req).await)
            }),
            Some(keystore::CHANGES) => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(tonic::codec::ProstCodec::default());
                Ok(grpc.unary(Changes(store), req).await)
            }),
            _ => Box::pin(async { Ok(crate::service::unimplemented()) }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_core::apikey::{hash_key, hash_key_hex};

    #[test]
    fn the_feed_answer_decodes_hashes_and_resets_on_anything_else() {
        let (a, b) =
            (hash_key_hex(b"a-key-value-of-20-chars"), hash_key_hex(b"another-value-0000000"));
        let answer = changes_answer(7, false, &[a, b.clone()]);
        assert_eq!(
            answer,
            ChangesResponse {
                version: 7,
                changed: vec![
                    hash_key(b"a-key-value-of-20-chars").to_vec(),
                    hash_key(b"another-value-0000000").to_vec()
                ],
                ..ChangesResponse::default()
            }
        );
        let reset = ChangesResponse { version: 7, reset: true, ..ChangesResponse::default() };
        assert_eq!(changes_answer(7, true, &[]), reset);
        assert_eq!(changes_answer(7, false, &[b, "not-a-hash".into()]), reset);
        assert_eq!(changes_answer(0, false, &[]).changed.len(), 0);
    }
}
