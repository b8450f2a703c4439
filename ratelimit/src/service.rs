//! `envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit` over Redis: the counters of
//! all descriptors of a request are checked and counted in one Lua script, so they are all
//! counted or none, atomically for every replica of the service sharing the Redis.

use std::sync::Arc;

use redis::aio::ConnectionManager;
use tollgate_core::throttle::global::ServiceLimit;
use tollgate_core::throttle::rls::{self, DescriptorStatus, RateLimitRequest, RateLimitResponse};

use crate::admin::Metrics;
use crate::limits;

/// KEYS: the counters. ARGV: per counter (max, window seconds, hits). A counter is a fixed
/// window: created by its first hit with a TTL of the window, gone when the window ends.
/// Returns the first counter (1-based) that has not `hits` left (0: none), then per counter
/// its value and milliseconds to reset. Nothing is counted unless all fit.
const CHECK_AND_COUNT: &str = r"
local over = 0
for i = 1, #KEYS do
  local max = tonumber(ARGV[3 * i - 2])
  local hits = tonumber(ARGV[3 * i])
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if over == 0 and used + hits > max then over = i end
end
local out = { over }
for i = 1, #KEYS do
  local ttl = tonumber(ARGV[3 * i - 1])
  local hits = tonumber(ARGV[3 * i])
  local used
  if over == 0 and hits > 0 then
    used = redis.call('INCRBY', KEYS[i], hits)
    if used == hits then redis.call('EXPIRE', KEYS[i], ttl) end
  else
    used = tonumber(redis.call('GET', KEYS[i]) or '0')
  end
  table.insert(out, used)
  table.insert(out, redis.call('PTTL', KEYS[i]))
end
return out
";

pub struct RateLimits {
    limits: Vec<ServiceLimit>,
    redis: ConnectionManager,
    script: redis::Script,
    pub metrics: Arc<Metrics>,
}

fn status(code: i32, remaining: u64, reset_ms: i64) -> DescriptorStatus {
    DescriptorStatus {
        code,
        current_limit: None,
        limit_remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
        duration_until_reset: Some(rls::Duration {
            seconds: reset_ms.max(0).div_euclid(1000),
            nanos: 0,
        }),
    }
}

impl RateLimits {
    pub fn new(limits: Vec<ServiceLimit>, redis: ConnectionManager, metrics: Arc<Metrics>) -> Self {
        RateLimits { limits, redis, script: redis::Script::new(CHECK_AND_COUNT), metrics }
    }

    pub async fn should_rate_limit(
        &self,
        req: &RateLimitRequest,
    ) -> Result<RateLimitResponse, String> {
        let default_hits = u64::from(req.hits_addend.max(1));
        let mut invocation = self.script.prepare_invoke();
        // Index in the script's counters of each descriptor (None: no limit applies).
        let mut counters: Vec<Option<(usize, u64, u64)>> = Vec::new();
        let mut n = 0;
        for d in &req.descriptors {
            let hits = d.hits_addend.map_or(default_hits, |h| h.value);
            match limits::find(&self.limits, &req.domain, d) {
                Some((limit, key)) => {
                    invocation.key(key).arg(limit.max).arg(limit.seconds).arg(hits);
                    counters.push(Some((n, limit.max, hits)));
                    n += 1;
                }
                None => {
                    eprintln!("tollgate-ratelimit: no limit in domain `{}` for {d:?}", req.domain);
                    counters.push(None);
                }
            }
        }
        let out: Vec<i64> = if n == 0 {
            vec![0]
        } else {
            let mut con = self.redis.clone();
            let started = std::time::Instant::now();
            let result: redis::RedisResult<Vec<i64>> = invocation.invoke_async(&mut con).await;
            self.metrics.redis(started.elapsed(), result.is_err());
            result.map_err(|e| format!("Redis: {e}"))?
        };
        let over = out.first().copied().unwrap_or(0);
        let statuses = counters
            .iter()
            .map(|c| match c {
                None => status(rls::CODE_OK, u64::from(u32::MAX), 0),
                Some((i, max, hits)) => {
                    let used = out.get(1 + 2 * i).copied().unwrap_or(0).max(0) as u64;
                    let reset_ms = out.get(2 + 2 * i).copied().unwrap_or(0);
                    let refused = over != 0 && used + hits > *max;
                    let code = if refused { rls::CODE_OVER_LIMIT } else { rls::CODE_OK };
                    status(code, max.saturating_sub(used), reset_ms)
                }
            })
            .collect();
        let overall_code = if over == 0 { rls::CODE_OK } else { rls::CODE_OVER_LIMIT };
        Ok(RateLimitResponse { overall_code, statuses })
    }
}

/// The gRPC service, written out by hand over tonic's unary helper (no codegen).
#[derive(Clone)]
pub struct Server(pub Arc<RateLimits>);

impl tonic::server::NamedService for Server {
    const NAME: &'static str = rls::SERVICE;
}

struct ShouldRateLimit(Arc<RateLimits>);

impl tonic::server::UnaryService<RateLimitRequest> for ShouldRateLimit {
    type Response = RateLimitResponse;
    type Future = tonic::codegen::BoxFuture<tonic::Response<RateLimitResponse>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<RateLimitRequest>) -> Self::Future {
        let limits = self.0.clone();
        Box::pin(async move {
            let answer = limits.should_rate_limit(request.get_ref()).await;
            let over = answer.as_ref().ok().map(|a| a.overall_code == rls::CODE_OVER_LIMIT);
            limits.metrics.decided(over);
            match answer {
                Ok(answer) => Ok(tonic::Response::new(answer)),
                Err(e) => {
                    eprintln!("tollgate-ratelimit: {e}");
                    Err(tonic::Status::unavailable(e))
                }
            }
        })
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
        let limits = self.0.clone();
        if req.uri().path() == format!("/{}/{}", rls::SERVICE, rls::METHOD) {
            return Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(tonic::codec::ProstCodec::default());
                Ok(grpc.unary(ShouldRateLimit(limits), req).await)
            });
        }
        Box::pin(async move { Ok(unimplemented()) })
    }
}

/// gRPC UNIMPLEMENTED, the answer to a method a service does not have.
pub fn unimplemented() -> tonic::codegen::http::Response<tonic::body::BoxBody> {
    let mut response = tonic::codegen::http::Response::new(tonic::codegen::empty_body());
    let headers = response.headers_mut();
    headers.insert("grpc-status", tonic::codegen::http::HeaderValue::from_static("12"));
    headers
        .insert("content-type", tonic::codegen::http::HeaderValue::from_static("application/grpc"));
    response
}
