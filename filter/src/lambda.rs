//! Calls to Lambda functions (authorizers and AWS_PROXY integrations): the Lambda Invoke API
//! (`RequestResponse`) through an Envoy cluster (for AWS, the cluster signs with Envoy's
//! `aws_request_signing` filter).

use std::time::Duration;

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType};
use tollgate_core::auth::custom::{InvokeResponse, MAX_RESULT_BYTES};
use tollgate_core::plan::Plan;
use tollgate_core::routes::MethodId;
use tollgate_core::transform::lambda_proxy::MAX_RESPONSE_BYTES;

/// Starts the call to a Lambda authorizer with `event` as the body; the callout's token id.
pub fn dispatch(plan: &Plan, authorizer: usize, event: &[u8]) -> Result<u32, String> {
    let auth = plan.lambda_authorizers.get(authorizer).ok_or("no such Lambda authorizer")?;
    invoke(&auth.cluster, &auth.authority, &auth.path, auth.timeout_ms, event)
}

/// Starts the call to a method's AWS_PROXY function; the callout's token id.
pub fn dispatch_integration(plan: &Plan, method: MethodId, event: &[u8]) -> Result<u32, String> {
    let target = plan
        .method(method)
        .and_then(|m| m.integration.as_ref())
        .and_then(|i| i.lambda.as_ref())
        .ok_or("the method has no Lambda function")?;
    invoke(&target.cluster, &target.authority, &target.path, target.timeout_ms, event)
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

/// A proxy integration function's answer, read up to Lambda's 6 MB payload limit.
pub fn integration_response(body_size: usize) -> InvokeResponse {
    read_response(body_size, MAX_RESPONSE_BYTES)
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
