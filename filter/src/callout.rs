//! Sends a `tollgate-core` [`Callout`] as it is (HTTP or gRPC, to its Envoy cluster) and reads
//! what came back into a [`CalloutResponse`]. It knows no callout kind: every decision about
//! the answer is `tollgate-core`'s.

use std::time::Duration;

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType};
use tollgate_core::pipeline::{Callout, CalloutRequest, CalloutResponse};

/// Starts the call; the callout's token id.
pub fn dispatch(call: &Callout) -> Result<u32, String> {
    let timeout = Duration::from_millis(u64::from(call.timeout_ms));
    let sent = match &call.request {
        CalloutRequest::Http { headers, body } => {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            hostcalls::dispatch_http_call(&call.cluster, headers, Some(body), vec![], timeout)
        }
        CalloutRequest::Grpc { service, method, message } => hostcalls::dispatch_grpc_call(
            &call.cluster,
            service,
            method,
            vec![],
            Some(message),
            timeout,
        ),
    };
    sent.map_err(|status| format!("cannot call cluster `{}`: {status:?}", call.cluster))
}

/// An HTTP callout's answer, its body read up to `cap` bytes and one more (to tell it is too
/// large); status 0 when the call failed (no response headers).
pub fn http_response(body_size: usize, cap: usize) -> CalloutResponse {
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

/// A gRPC callout's end: its status and, when OK, the message (refused past `cap` bytes).
pub fn grpc_response(status_code: u32, size: usize, cap: usize) -> CalloutResponse {
    if status_code != 0 {
        log::warn!("gRPC callout: status {status_code}");
        return CalloutResponse::failed();
    }
    if size > cap {
        log::warn!("gRPC callout: answer of {size} bytes refused");
        return CalloutResponse::failed();
    }
    match hostcalls::get_buffer(BufferType::GrpcReceiveBuffer, 0, size) {
        Ok(message) => CalloutResponse::grpc(0, message.unwrap_or_default()),
        Err(status) => {
            log::warn!("gRPC callout: cannot read the answer: {status:?}");
            CalloutResponse::failed()
        }
    }
}
