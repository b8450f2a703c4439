//! The one seam between decisions and the proxy: everything the pipeline needs from Envoy goes
//! through [`Host`]. The filter implements it over proxy-wasm; [`memory::MemoryHost`] implements it
//! in memory for tests, with the real host's shared-data semantics.

mod headers;
#[cfg(any(test, feature = "test-host"))]
pub mod memory;

pub use headers::HeaderList;

use crate::gateway_response::{LocalReply, ResponseType};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// A compare-and-swap write lost the race: someone wrote the key since it was read.
    #[error("shared data changed since it was read")]
    CasMismatch,
    #[error("host call `{call}` failed: {status}")]
    Call { call: &'static str, status: String },
}

/// What a request ended up as, for the per-outcome counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Allowed,
    Rejected(ResponseType),
    /// Answered from the response cache (also counted as allowed).
    CacheHit,
    /// A cacheable request the cache could not answer.
    CacheMiss,
}

/// How much a log line matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Info,
    Warn,
    Error,
}

/// Shared data: a value and its version (`cas`).
pub type Versioned = (Option<Vec<u8>>, Option<u32>);

pub trait Host {
    /// A request header's raw bytes (names are lowercase; pseudo-headers like `:path` too).
    fn request_header(&self, name: &str) -> Result<Option<Vec<u8>>, HostError>;
    /// Every request header in order (names lowercase, pseudo-headers included), repeated
    /// headers as separate entries.
    fn request_headers(&self) -> Result<HeaderList, HostError>;
    /// An Envoy attribute such as `source.address` (`["source", "address"]`).
    fn property(&self, path: &[&str]) -> Result<Option<Vec<u8>>, HostError>;
    /// Sets (or with `None` removes) a request header before it goes upstream.
    fn set_request_header(&mut self, name: &str, value: Option<&[u8]>) -> Result<(), HostError>;
    /// Replaces the whole request body (only once the body has been buffered).
    fn set_request_body(&mut self, body: &[u8]) -> Result<(), HostError>;
    /// Adds a header to the upstream's response.
    fn add_response_header(&mut self, name: &str, value: &[u8]) -> Result<(), HostError>;
    /// Every response header in order (`:status` included).
    fn response_headers(&self) -> Result<Vec<(String, Vec<u8>)>, HostError>;
    /// Sets (or with `None` removes) a response header before it goes to the client.
    fn set_response_header(&mut self, name: &str, value: Option<&[u8]>) -> Result<(), HostError>;
    /// Replaces the whole response body (only once the body has been buffered).
    fn set_response_body(&mut self, body: &[u8]) -> Result<(), HostError>;
    /// Publishes a value for access logs and later filters (Envoy filter state).
    fn set_filter_state(&mut self, key: &str, value: &[u8]) -> Result<(), HostError>;
    /// Reads shared data (spans workers); `(None, None)` when absent.
    fn shared_data(&self, key: &str) -> Result<Versioned, HostError>;
    /// Writes shared data; with `cas: Some(v)` the write fails with [`HostError::CasMismatch`] if
    /// the stored version is not `v` (a missing key is inserted whatever `cas` says).
    fn set_shared_data(
        &mut self,
        key: &str,
        value: &[u8],
        cas: Option<u32>,
    ) -> Result<(), HostError>;
    /// Wall clock, nanoseconds since the Unix epoch.
    fn now_nanos(&self) -> u64;
    fn count(&mut self, outcome: Outcome);
    fn send_reply(&mut self, reply: &LocalReply) -> Result<(), HostError>;
    /// Writes a line to Envoy's log (never a secret: no key, token or signature).
    fn log(&mut self, level: LogLevel, message: &str);
}
