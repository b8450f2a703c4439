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
    /// The wasm VM's linear memory, in bytes (`tollgate.wasm.memory_bytes`; every worker's VM
    /// sets it each second, so it shows the last one to report).
    memory: u32,
    rejected: Vec<(ResponseType, u32)>,
    /// The metrics were defined (not [`Metrics::none`]).
    defined: bool,
}

impl Metrics {
    pub fn define() -> Result<Self, Status> {
        let allowed = hostcalls::define_metric(MetricType::Counter, "tollgate.requests.allowed")?;
        let canary = hostcalls::define_metric(MetricType::Counter, "tollgate.requests.canary")?;
        let cache_hit = hostcalls::define_metric(MetricType::Counter, "tollgate.cache.hit")?;
        let cache_miss = hostcalls::define_metric(MetricType::Counter, "tollgate.cache.miss")?;
        let memory = hostcalls::define_metric(MetricType::Gauge, "tollgate.wasm.memory_bytes")?;
        let mut rejected = Vec::with_capacity(ResponseType::ALL.len());
        for kind in ResponseType::ALL {
            let name = format!("tollgate.requests.{}", kind.name().to_ascii_lowercase());
            rejected.push((kind, hostcalls::define_metric(MetricType::Counter, &name)?));
        }
        Ok(Metrics { allowed, canary, cache_hit, cache_miss, memory, rejected, defined: true })
    }

    /// No metrics (a plugin whose configuration failed): nothing is counted.
    pub fn none() -> Self {
        Metrics {
            allowed: 0,
            canary: 0,
            cache_hit: 0,
            cache_miss: 0,
            memory: 0,
            rejected: Vec::new(),
            defined: false,
        }
    }

    /// Sets the memory gauge to the size of this VM's linear memory.
    pub fn record_memory(&self) {
        #[cfg(target_arch = "wasm32")]
        if self.defined {
            let bytes = core::arch::wasm32::memory_size(0).saturating_mul(65_536);
            let _ = hostcalls::record_metric(self.memory, u64::try_from(bytes).unwrap_or(u64::MAX));
        }
        #[cfg(not(target_arch = "wasm32"))]
        let _ = self.memory;
    }

    pub fn id(&self, outcome: Outcome) -> Option<u32> {
        if !self.defined {
            return None;
        }
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
