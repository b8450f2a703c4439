//! The rate-limit service that counts the usage plans marked `global` for a whole Envoy fleet.

use serde::{Deserialize, Serialize};

/// A service speaking Envoy's rate-limit protocol
/// (`envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`), reached over gRPC through an
/// Envoy cluster (HTTP/2). `tollgate-ratelimit` is one, counting in Redis.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitService {
    /// The Envoy cluster of the service (HTTP/2: `typed_extension_protocol_options` with
    /// `explicit_http_config.http2_protocol_options`).
    pub cluster: String,
    /// The rate-limit domain the service keeps this config's limits under.
    #[serde(default = "default_domain")]
    pub domain: String,
    /// How long a request waits for the service before the failure mode applies.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u32,
    /// What a request gets when the service cannot answer.
    #[serde(default)]
    pub failure_mode: FailureMode,
    /// Units one Envoy worker leases from the service per call and spends locally. Unset:
    /// 1/1000 of a quota and 1/128 of a throttle's burst, between 1 and 64. 1: every request
    /// asks the service (exact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u64>,
    /// Count the stage, per-method stage and account throttles in the service too (one count
    /// for the fleet, as on AWS), not per Envoy.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub global_throttles: bool,
}

/// When the rate-limit service cannot answer (down, timed out, unreadable answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailureMode {
    /// Refuse: 429 `Limit Exceeded` for a plan with a quota, else 429 `Too Many Requests`.
    #[default]
    Closed,
    /// Count in this Envoy's shared data alone (the local mode) until the service answers.
    Local,
}

fn default_domain() -> String {
    "tollgate".into()
}

fn default_timeout_ms() -> u32 {
    200
}
