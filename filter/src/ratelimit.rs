//! Calls to the rate-limit service of global usage plans: Envoy's `ShouldRateLimit` over gRPC
//! to the service's cluster, the bytes `tollgate-core` encoded sent, the answer's bytes read
//! back. Every decision about them is `tollgate-core`'s.

use std::time::Duration;

use proxy_wasm::hostcalls;
use proxy_wasm::types::BufferType;
use tollgate_core::throttle::rls;

/// The largest answer read (a few descriptors' statuses; GetUsage: one per key).
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Starts the call; the callout's token id.
pub fn dispatch(cluster: &str, body: &[u8], timeout_ms: u32) -> Result<u32, String> {
    hostcalls::dispatch_grpc_call(
        cluster,
        rls::SERVICE,
        rls::METHOD,
        vec![],
        Some(body),
        Duration::from_millis(u64::from(timeout_ms)),
    )
    .map_err(|status| format!("cannot call the rate-limit service `{cluster}`: {status:?}"))
}

/// The answer's message; `None` when the call failed (gRPC status other than OK, a timeout).
pub fn response(status_code: u32, size: usize) -> Option<Vec<u8>> {
    if status_code != 0 {
        log::warn!("rate-limit service: gRPC status {status_code}");
        return None;
    }
    if size > MAX_ANSWER_BYTES {
        log::warn!("rate-limit service: answer of {size} bytes refused");
        return None;
    }
    match hostcalls::get_buffer(BufferType::GrpcReceiveBuffer, 0, size) {
        Ok(body) => Some(body.unwrap_or_default()),
        Err(status) => {
            log::warn!("rate-limit service: cannot read the answer: {status:?}");
            None
        }
    }
}
