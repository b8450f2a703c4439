//! `tollgate-core`'s [`Host`] over proxy-wasm host calls. Every call returns a `Result`; header
//! values are read as bytes (the string getters panic on non-UTF-8).

use std::cell::Cell;
use std::time::UNIX_EPOCH;

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType, Status};
use tollgate_core::gateway_response::LocalReply;
use tollgate_core::host::{HeaderList, Host, HostError, LogLevel, Outcome, Versioned};

use crate::metrics::Metrics;

pub struct WasmHost<'a> {
    metrics: &'a Metrics,
    /// Size of the buffered body of the callback in progress (request or response), which a
    /// body replacement replaces whole.
    body_size: usize,
    /// The request headers went on upstream: Envoy no longer lends them (it answers
    /// BadArgument, on which the SDK's getters panic), so reads fail here instead.
    headers_gone: bool,
    /// The clock, read once per callback: the pipeline asks for it at several steps (the
    /// token's expiry, the buckets, the quota window), and each read is a host call.
    now: Cell<Option<u64>>,
    /// The request headers, when the filter read them earlier in this callback (to choose the
    /// stage): handed to the pipeline's first read instead of reading them again.
    read_headers: Cell<Option<HeaderList>>,
}

impl<'a> WasmHost<'a> {
    pub fn new(metrics: &'a Metrics) -> Self {
        Self::with_body(metrics, 0)
    }

    /// A host for a body callback with `body_size` bytes buffered.
    pub fn with_body(metrics: &'a Metrics, body_size: usize) -> Self {
        WasmHost {
            metrics,
            body_size,
            headers_gone: false,
            now: Cell::new(None),
            read_headers: Cell::new(None),
        }
    }

    /// The request headers already read in this callback, for the pipeline's first read.
    pub fn with_read_headers(self, headers: Option<HeaderList>) -> Self {
        self.read_headers.set(headers);
        self
    }

    /// A host for a callback after the request headers continued upstream (`gone`).
    pub fn after_request_headers(metrics: &'a Metrics, gone: bool) -> Self {
        WasmHost { headers_gone: gone, ..Self::new(metrics) }
    }
}

fn err(call: &'static str) -> impl FnOnce(Status) -> HostError {
    move |status| match status {
        Status::CasMismatch => HostError::CasMismatch,
        other => HostError::Call { call, status: format!("{other:?}") },
    }
}

impl Host for WasmHost<'_> {
    fn request_header(&self, name: &str) -> Result<Option<Vec<u8>>, HostError> {
        if self.headers_gone {
            return Err(HostError::Call { call: "get_header", status: "headers gone".into() });
        }
        hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, name).map_err(err("get_header"))
    }

    fn request_headers(&self) -> Result<HeaderList, HostError> {
        if self.headers_gone {
            return Err(HostError::Call { call: "get_headers", status: "headers gone".into() });
        }
        if let Some(headers) = self.read_headers.take() {
            return Ok(headers);
        }
        let buf = raw::request_header_pairs().map_err(err("get_headers"))?;
        HeaderList::from_serialized(buf)
            .ok_or(HostError::Call { call: "get_headers", status: "malformed header map".into() })
    }

    fn property(&self, path: &[&str]) -> Result<Option<Vec<u8>>, HostError> {
        hostcalls::get_property(path.to_vec()).map_err(err("get_property"))
    }

    fn set_request_header(&mut self, name: &str, value: Option<&[u8]>) -> Result<(), HostError> {
        hostcalls::set_map_value_bytes(MapType::HttpRequestHeaders, name, value)
            .map_err(err("set_header"))
    }

    fn set_request_body(&mut self, body: &[u8]) -> Result<(), HostError> {
        hostcalls::set_buffer(BufferType::HttpRequestBody, 0, self.body_size, body)
            .map_err(err("set_request_body"))
    }

    fn add_response_header(&mut self, name: &str, value: &[u8]) -> Result<(), HostError> {
        hostcalls::add_map_value_bytes(MapType::HttpResponseHeaders, name, value)
            .map_err(err("add_response_header"))
    }

    fn response_headers(&self) -> Result<Vec<(String, Vec<u8>)>, HostError> {
        hostcalls::get_map_bytes(MapType::HttpResponseHeaders).map_err(err("get_response_headers"))
    }

    fn set_response_header(&mut self, name: &str, value: Option<&[u8]>) -> Result<(), HostError> {
        hostcalls::set_map_value_bytes(MapType::HttpResponseHeaders, name, value)
            .map_err(err("set_response_header"))
    }

    fn set_response_body(&mut self, body: &[u8]) -> Result<(), HostError> {
        hostcalls::set_buffer(BufferType::HttpResponseBody, 0, self.body_size, body)
            .map_err(err("set_response_body"))
    }

    fn set_filter_state(&mut self, key: &str, value: &[u8]) -> Result<(), HostError> {
        hostcalls::set_property(vec![key], Some(value)).map_err(err("set_property"))
    }

    fn shared_data(&self, key: &str) -> Result<Versioned, HostError> {
        hostcalls::get_shared_data(key).map_err(err("get_shared_data"))
    }

    fn set_shared_data(
        &mut self,
        key: &str,
        value: &[u8],
        cas: Option<u32>,
    ) -> Result<(), HostError> {
        hostcalls::set_shared_data(key, Some(value), cas).map_err(err("set_shared_data"))
    }

    fn now_nanos(&self) -> u64 {
        if let Some(now) = self.now.get() {
            return now;
        }
        let now = hostcalls::get_current_time()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        self.now.set(Some(now));
        now
    }

    fn count(&mut self, outcome: Outcome) {
        if let Some(id) = self.metrics.id(outcome) {
            // A failed counter must not fail the request.
            let _ = hostcalls::increment_metric(id, 1);
        }
    }

    fn send_reply(&mut self, reply: &LocalReply) -> Result<(), HostError> {
        let headers: Vec<(&str, &str)> =
            reply.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        hostcalls::send_http_response(u32::from(reply.status), headers, Some(&reply.body))
            .map_err(err("send_http_response"))
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        match level {
            LogLevel::Info => log::info!("{message}"),
            LogLevel::Warn => log::warn!("{message}"),
            LogLevel::Error => log::error!("{message}"),
        }
    }
}

/// The one host call the SDK wraps too thickly: its `get_map_bytes` copies every header name and
/// value into an allocation of its own (about 6,000 instructions a request in the benchmark);
/// the pipeline reads the host's buffer in place instead ([`HeaderList`]). The filter's only
/// `unsafe`: a host call the SDK does not offer in this form.
#[allow(unsafe_code)]
mod raw {
    use proxy_wasm::types::{MapType, Status};

    #[link(wasm_import_module = "env")]
    extern "C" {
        fn proxy_get_header_map_pairs(
            map_type: u32,
            return_map_data: *mut *mut u8,
            return_map_size: *mut usize,
        ) -> u32;
    }

    /// The request headers' serialized pairs (empty when there are none).
    pub fn request_header_pairs() -> Result<Vec<u8>, Status> {
        let mut data: *mut u8 = std::ptr::null_mut();
        let mut size: usize = 0;
        // SAFETY: on success the host has written a buffer of `size` bytes it allocated through
        // the SDK's `proxy_on_memory_allocate` (a `Vec<u8>` with capacity `size`, then
        // forgotten), so taking it back as that `Vec` owns and later frees it once; the SDK's own
        // getters do the same.
        unsafe {
            match proxy_get_header_map_pairs(
                MapType::HttpRequestHeaders as u32,
                &mut data,
                &mut size,
            ) {
                0 if data.is_null() || size == 0 => Ok(Vec::new()),
                0 => Ok(Vec::from_raw_parts(data, size, size)),
                2 => Err(Status::BadArgument),
                _ => Err(Status::InternalFailure),
            }
        }
    }
}
