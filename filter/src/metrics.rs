//! Per-outcome counters, defined once per plugin, shown by Envoy as
//! `tollgate.requests.allowed`, `tollgate.requests.invalid_api_key`, ...

use proxy_wasm::hostcalls;
use proxy_wasm::types::{MetricType, Status};
use tollgate_core::gateway_response::ResponseType;
use tollgate_core::host::Outcome;

pub struct Metrics {
    allowed: u32,
    /// Requests a stage's canary served (`tollgate.requests.canary`).
    pub canary: u32,
    cache_hit: u32,
    cache_miss: u32,
    rejected: Vec<(ResponseType, u32)>,
}

impl Metrics {
    pub fn define() -> Result<Self, Status> {
        let allowed = hostcalls::define_metric(MetricType::Counter, "tollgate.requests.allowed")?;
        let canary = hostcalls::define_metric(MetricType::Counter, "tollgate.requests.canary")?;
        let cache_hit = hostcalls::define_metric(MetricType::Counter, "tollgate.cache.hit")?;
        let cache_miss = hostcalls::define_metric(MetricType::Counter, "tollgate.cache.miss")?;
        let mut rejected = Vec::with_capacity(ResponseType::ALL.len());
        for kind in ResponseType::ALL {
            let name = format!("tollgate.requests.{}", kind.name().to_ascii_lowercase());
            rejected.push((kind, hostcalls::define_metric(MetricType::Counter, &name)?));
        }
        Ok(Metrics { allowed, canary, cache_hit, cache_miss, rejected })
    }

    pub fn id(&self, outcome: Outcome) -> Option<u32> {
        match outcome {
            Outcome::Allowed => Some(self.allowed),
            Outcome::CacheHit => Some(self.cache_hit),
            Outcome::CacheMiss => Some(self.cache_miss),
            Outcome::Rejected(kind) => {
                self.rejected.iter().find(|(k, _)| *k == kind).map(|(_, id)| *id)
            }
        }
    }
}
