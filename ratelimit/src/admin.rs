//! The operator's side of the service, on its own listener (`--admin`, loopback by default):
//! `GET /healthz` (200 `ok` when Redis answers a PING, else 503) and `GET /metrics` (Prometheus
//! text: calls, decisions, key lookups and change-feed calls, Redis errors and latency). Plain HTTP/1.1, one request per connection.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Upper bounds (seconds) of the Redis latency histogram's buckets.
const BUCKETS: [f64; 10] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

/// What the service has done since it started.
#[derive(Default)]
pub struct Metrics {
    calls: AtomicU64,
    ok: AtomicU64,
    over_limit: AtomicU64,
    errors: AtomicU64,
    redis_errors: AtomicU64,
    /// Cumulative counts per bucket, then the total (the `+Inf` bucket).
    redis_buckets: [AtomicU64; BUCKETS.len() + 1],
    redis_micros: AtomicU64,
    /// Key store lookups: found, not found, failed.
    key_lookups: [AtomicU64; 3],
    /// Key store change-feed calls: answered with changes, answered `reset`, failed.
    key_changes: [AtomicU64; 3],
}

/// Counts one outcome of three: `Some(true)`, `Some(false)`, `None`.
fn count_outcome(counters: &[AtomicU64; 3], outcome: Option<bool>) {
    let [yes, no, failed] = counters;
    let counter = match outcome {
        Some(true) => yes,
        Some(false) => no,
        None => failed,
    };
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    /// A call decided: `Some(true)` over the limit, `Some(false)` within it, `None` failed.
    pub fn decided(&self, over: Option<bool>) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let counter = match over {
            Some(true) => &self.over_limit,
            Some(false) => &self.ok,
            None => &self.errors,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A key lookup answered: `Some(found)`, or `None` when it failed.
    pub fn looked_up(&self, found: Option<bool>) {
        count_outcome(&self.key_lookups, found);
    }

    /// A change-feed call answered: `Some(reset)`, or `None` when it failed.
    pub fn changes(&self, reset: Option<bool>) {
        let outcome = reset.map(|r| !r);
        count_outcome(&self.key_changes, outcome);
    }

    /// One Redis round trip, and whether it failed.
    pub fn redis(&self, took: Duration, failed: bool) {
        if failed {
            self.redis_errors.fetch_add(1, Ordering::Relaxed);
        }
        let seconds = took.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&self.redis_buckets) {
            if seconds <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Some(total) = self.redis_buckets.last() {
            total.fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.redis_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let _ = writeln!(out, "# TYPE tollgate_ratelimit_calls_total counter");
        let _ = writeln!(out, "tollgate_ratelimit_calls_total {}", get(&self.calls));
        let _ = writeln!(out, "# TYPE tollgate_ratelimit_decisions_total counter");
        for (decision, c) in
            [("ok", &self.ok), ("over_limit", &self.over_limit), ("error", &self.errors)]
        {
            let _ = writeln!(
                out,
                "tollgate_ratelimit_decisions_total{{decision=\"{decision}\"}} {}",
                get(c)
            );
        }
        let [found, not_found, failed] = &self.key_lookups;
        let _ = writeln!(out, "# TYPE tollgate_ratelimit_key_lookups_total counter");
        for (result, c) in [("found", found), ("not_found", not_found), ("error", failed)] {
            let _ = writeln!(
                out,
                "tollgate_ratelimit_key_lookups_total{{result=\"{result}\"}} {}",
                get(c)
            );
        }
        let [changes, reset, failed] = &self.key_changes;
        let _ = writeln!(out, "# TYPE tollgate_ratelimit_key_changes_total counter");
        for (result, c) in [("ok", changes), ("reset", reset), ("error", failed)] {
            let _ = writeln!(
                out,
                "tollgate_ratelimit_key_changes_total{{result=\"{result}\"}} {}",
                get(c)
            );
        }
        let _ = writeln!(out, "# TYPE tollgate_ratelimit_redis_errors_total counter");
        let _ = writeln!(out, "tollgate_ratelimit_redis_errors_total {}", get(&self.redis_errors));
        let _ = writeln!(out, "# TYPE tollgate_ratelimit_redis_seconds histogram");
        for (bound, c) in BUCKETS.iter().zip(&self.redis_buckets) {
            let _ = writeln!(
                out,
                "tollgate_ratelimit_redis_seconds_bucket{{le=\"{bound}\"}} {}",
                get(c)
            );
        }
        let total = self.redis_buckets.last().map_or(0, get);
        let _ = writeln!(out, "tollgate_ratelimit_redis_seconds_bucket{{le=\"+Inf\"}} {total}");
        let sum = get(&self.redis_micros) as f64 / 1e6;
        let _ = writeln!(out, "tollgate_ratelimit_redis_seconds_sum {sum}");
        let _ = writeln!(out, "tollgate_ratelimit_redis_seconds_count {total}");
        out
    }
}

/// Serves `/healthz` and `/metrics` on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    redis: ConnectionManager,
) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { continue };
        let metrics = metrics.clone();
        let mut redis = redis.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let mut read = 0;
            // The request line and headers (a GET has no body).
            let ended = |b: &[u8]| b.windows(4).any(|w| w == b"\r\n\r\n");
            while read < buf.len() && !buf.get(..read).is_some_and(ended) {
                let Some(free) = buf.get_mut(read..) else { return };
                match stream.read(free).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => read += n,
                }
            }
            let head = String::from_utf8_lossy(buf.get(..read).unwrap_or_default());
            let target = head.split_whitespace().nth(1).unwrap_or_default();
            let (status, body) = match target {
                "/healthz" => {
                    let ping: redis::RedisResult<String> =
                        redis::cmd("PING").query_async(&mut redis).await;
                    match ping {
                        Ok(_) => ("200 OK", "ok\n".to_string()),
                        Err(e) => ("503 Service Unavailable", format!("Redis: {e}\n")),
                    }
                }
                "/metrics" => ("200 OK", metrics.render()),
                _ => ("404 Not Found", "not found\n".to_string()),
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_store_calls_are_counted_by_outcome() {
        let metrics = Metrics::default();
        metrics.looked_up(Some(true));
        metrics.looked_up(Some(true));
        metrics.looked_up(Some(false));
        metrics.looked_up(None);
        metrics.changes(Some(false));
        metrics.changes(Some(true));
        metrics.changes(None);
        metrics.changes(None);
        let text = metrics.render();
        for line in [
            "tollgate_ratelimit_key_lookups_total{result=\"found\"} 2",
            "tollgate_ratelimit_key_lookups_total{result=\"not_found\"} 1",
            "tollgate_ratelimit_key_lookups_total{result=\"error\"} 1",
            "tollgate_ratelimit_key_changes_total{result=\"ok\"} 1",
            "tollgate_ratelimit_key_changes_total{result=\"reset\"} 1",
            "tollgate_ratelimit_key_changes_total{result=\"error\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line}\nin:\n{text}");
        }
    }
}
