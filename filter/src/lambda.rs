//! Calls to Lambda authorizers: the Lambda Invoke API
//! (`RequestResponse`) through an Envoy cluster (for AWS, the cluster signs with Envoy's
//! `aws_request_signing` filter).

use std::time::Duration;

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType};
use tollgate_core::auth::custom::{InvokeResponse, MAX_RESULT_BYTES};
use tollgate_core::plan::Plan;

/// Starts the call to a Lambda authorizer with `event` as the body; the callout's token id.
pub fn dispatch(plan: &Plan, authorizer: usize, event: &[u8]) -> Result<u32, String> {
    let auth = plan.lambda_authorizers.get(authorizer).ok_or("no such Lambda authorizer")?;
    invoke(&auth.cluster, &auth.authority, &auth.path, auth.timeout_ms, event)
}

fn invoke(
    cluster: &str,
    authority: &str,
    path: &str,
    timeout_ms: u32,
    event: &[u8],
) -> Result<u32, String> {
    hostcalls::dispatch_http_call(
        cluster,
        vec![
            (":method", "POST"),
            (":path", path),
            (":authority", authority),
            ("content-type", "application/json"),
            ("x-amz-invocation-type", "RequestResponse"),
        ],
        Some(event),
        vec![],
        Duration::from_millis(u64::from(timeout_ms)),
    )
    .map_err(|status| format!("cannot call cluster `{cluster}`: {status:?}"))
}

/// An authorizer's answer; status 0 when the call failed or timed out (no response headers).
pub fn response(body_size: usize) -> InvokeResponse {
    read_response(body_size, MAX_RESULT_BYTES)
}

fn read_response(body_size: usize, cap: usize) -> InvokeResponse {
    let header = |name| hostcalls::get_map_value_bytes(MapType::HttpCallResponseHeaders, name);
    let status = header(":status")
        .ok()
        .flatten()
        .and_then(|s| std::str::from_utf8(&s).ok().and_then(|s| s.parse().ok()))
        .unwrap_or(0);
    let function_error = header("x-amz-function-error").ok().flatten();
    // One byte past the cap is enough to tell that the answer is too large.
    let size = body_size.min(cap + 1);
    let body = hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, size)
        .ok()
        .flatten()
        .unwrap_or_default();
    InvokeResponse { status, function_error, body }
}
