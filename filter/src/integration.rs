//! Calls to the integrations Tollgate calls itself (Lambda proxy functions, AWS services):
//! the request the pipeline built, sent to its Envoy cluster, and the answer read back.

use std::time::Duration;

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType};
use tollgate_core::pipeline::{Callout, CalloutResponse, MAX_CALLOUT_RESPONSE_BYTES};

/// Starts the call; the callout's token id.
pub fn dispatch(call: &Callout) -> Result<u32, String> {
    let headers: Vec<(&str, &str)> =
        call.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    hostcalls::dispatch_http_call(
        &call.cluster,
        headers,
        Some(&call.body),
        vec![],
        Duration::from_millis(u64::from(call.timeout_ms)),
    )
    .map_err(|status| format!("cannot call cluster `{}`: {status:?}", call.cluster))
}

/// The answer; status 0 when the call failed (no response headers).
pub fn response(body_size: usize) -> CalloutResponse {
    read(body_size, MAX_CALLOUT_RESPONSE_BYTES)
}

/// The answer with its body read up to `cap` bytes (and one more, to tell it is too large).
pub fn read(body_size: usize, cap: usize) -> CalloutResponse {
    let headers = hostcalls::get_map_bytes(MapType::HttpCallResponseHeaders).unwrap_or_default();
    let status = headers
        .iter()
        .find(|(n, _)| n == ":status")
        .and_then(|(_, v)| std::str::from_utf8(v).ok().and_then(|s| s.parse().ok()))
        .unwrap_or(0);
    let size = body_size.min(cap.saturating_add(1));
    let body = hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, size)
        .ok()
        .flatten()
        .unwrap_or_default();
    CalloutResponse { status, headers, body }
}
