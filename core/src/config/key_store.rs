//! `api_key_store`: API keys looked up in the key store (Redis, through `tollgate-ratelimit`)
//! instead of listed in `api_keys`. See [`crate::keystore`].

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeyStore {
    /// The Envoy cluster of `tollgate-ratelimit` (HTTP/2), as for `rate_limit_service`.
    pub cluster: String,
    /// How long a request waits for a lookup before the failure mode applies.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u32,
    /// How long a worker keeps a key it looked up (the change feed drops a changed key sooner).
    #[serde(default = "default_ttl_ms")]
    pub ttl_ms: u64,
    /// How long a worker remembers that a key does not exist: a created key opens after at most
    /// this long, and random keys cost one lookup per this long each.
    #[serde(default = "default_negative_ttl_ms")]
    pub negative_ttl_ms: u64,
    /// Keys one worker keeps (known and unknown together).
    #[serde(default = "default_max_cached")]
    pub max_cached: usize,
    /// How often each worker asks for the keys changed since it last asked.
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// What a request gets while the store cannot answer.
    #[serde(default)]
    pub failure_mode: KeyStoreFailureMode,
    /// With `STALE`: how long after the store last answered cached keys keep serving.
    #[serde(default = "default_stale_ms")]
    pub stale_ms: u64,
}

/// When the key store cannot answer (down, timed out, unreadable answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyStoreFailureMode {
    /// A key that needs the store is refused (500 `Internal server error`); cached keys stop
    /// serving once the change feed has not answered for three polls.
    #[default]
    Closed,
    /// Cached keys keep serving for `stale_ms` after the store last answered; a key not cached
    /// is refused as with `CLOSED`.
    Stale,
}

fn default_timeout_ms() -> u32 {
    200
}

fn default_ttl_ms() -> u64 {
    60_000
}

fn default_negative_ttl_ms() -> u64 {
    1_000
}

fn default_max_cached() -> usize {
    100_000
}

fn default_poll_ms() -> u64 {
    500
}

fn default_stale_ms() -> u64 {
    300_000
}

impl KeyStore {
    pub fn check(&self) -> Result<(), ConfigError> {
        let field = |f: &str| format!("api_key_store.{f}");
        if self.cluster.is_empty() {
            return Err(ConfigError::new(field("cluster"), "must name an Envoy cluster"));
        }
        if self.timeout_ms == 0 || self.timeout_ms > 60_000 {
            return Err(ConfigError::new(field("timeout_ms"), "must be 1-60000"));
        }
        if !(100..=60_000).contains(&self.poll_ms) {
            return Err(ConfigError::new(field("poll_ms"), "must be 100-60000"));
        }
        if self.ttl_ms == 0 || self.ttl_ms > 86_400_000 {
            return Err(ConfigError::new(field("ttl_ms"), "must be 1-86400000"));
        }
        if self.negative_ttl_ms > self.ttl_ms {
            return Err(ConfigError::new(field("negative_ttl_ms"), "must be at most ttl_ms"));
        }
        if self.max_cached == 0 || self.max_cached > 10_000_000 {
            return Err(ConfigError::new(field("max_cached"), "must be 1-10000000"));
        }
        Ok(())
    }
}
