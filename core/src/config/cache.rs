//! Response caching as API Gateway configures it: per stage (`cacheClusterEnabled`, method
//! settings' `cachingEnabled`, `cacheTtlInSeconds`, `requireAuthorizationForCacheControl`,
//! `unauthorizedCacheControlHeaderStrategy`) with per-method overrides and cache key parameters.

use serde::{Deserialize, Serialize};

/// A stage's cache.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StageCache {
    /// Caches the stage's GET methods (others opt in per method).
    #[serde(default)]
    pub enabled: bool,
    /// AWS: default 300, at most 3600, 0 disables.
    #[serde(default = "default_ttl")]
    pub ttl_seconds: u32,
    /// Entries the stage's cache holds (per API stage, shared by every worker); more evict
    /// each other.
    #[serde(default = "default_capacity")]
    pub capacity: u32,
    /// Responses larger than this are not cached (AWS: 1 MB).
    #[serde(default = "default_max_entry")]
    pub max_entry_bytes: u32,
    /// A client's `Cache-Control: max-age=0` refreshes an entry only when the caller may
    /// `execute-api:InvalidateCache` the method.
    #[serde(default = "default_true")]
    pub require_authorization_for_cache_control: bool,
    #[serde(default)]
    pub unauthorized_cache_control_header_strategy: UnauthorizedStrategy,
}

impl Default for StageCache {
    fn default() -> Self {
        StageCache {
            enabled: false,
            ttl_seconds: default_ttl(),
            capacity: default_capacity(),
            max_entry_bytes: default_max_entry(),
            require_authorization_for_cache_control: true,
            unauthorized_cache_control_header_strategy: UnauthorizedStrategy::default(),
        }
    }
}

/// What happens to an unauthorized `Cache-Control: max-age=0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UnauthorizedStrategy {
    /// 403.
    #[default]
    FailWith403,
    /// Served from the cache, with a `warning` header saying the header was ignored.
    SucceedWithResponseHeader,
    /// Served from the cache.
    SucceedWithoutResponseHeader,
}

/// A method's cache settings over the stage's.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MethodCache {
    /// Overrides the stage (for a method other than GET: opts in).
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub ttl_seconds: Option<u32>,
    /// `method.request.{querystring|header|path}.NAME`: the parameters that vary the entry
    /// (the HTTP method and resource always do).
    #[serde(default)]
    pub key_parameters: Vec<String>,
}

fn default_ttl() -> u32 {
    300
}

fn default_capacity() -> u32 {
    1024
}

fn default_max_entry() -> u32 {
    1024 * 1024
}

fn default_true() -> bool {
    true
}
