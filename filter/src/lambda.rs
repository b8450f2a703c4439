//! Calls to Lambda authorizers: the Lambda Invoke API (`RequestResponse`) through an Envoy
//! cluster (for AWS, the cluster signs with Envoy's `aws_request_signing` filter), sent and
//! read like every other callout ([`crate::integration`]).

use tollgate_core::auth::custom::{InvokeResponse, MAX_RESULT_BYTES};
use tollgate_core::pipeline::Callout;
use tollgate_core::plan::Plan;

use crate::integration;

/// Starts the call to a Lambda authorizer with `event` as the body; the callout's token id.
pub fn dispatch(plan: &Plan, authorizer: usize, event: &[u8]) -> Result<u32, String> {
    let auth = plan.lambda_authorizers.get(authorizer).ok_or("no such Lambda authorizer")?;
    integration::dispatch(&Callout {
        cluster: auth.cluster.clone(),
        headers: vec![
            (":method".into(), "POST".into()),
            (":path".into(), auth.path.clone()),
            (":authority".into(), auth.authority.clone()),
            ("content-type".into(), "application/json".into()),
            ("x-amz-invocation-type".into(), "RequestResponse".into()),
        ],
        body: event.to_vec(),
        timeout_ms: auth.timeout_ms,
    })
}

/// An authorizer's answer (at most AWS's 8 KB, one byte more to tell it is too large); status
/// 0 when the call failed or timed out.
pub fn response(body_size: usize) -> InvokeResponse {
    let answer = integration::read(body_size, MAX_RESULT_BYTES);
    let function_error =
        answer.headers.iter().find(|(n, _)| n == "x-amz-function-error").map(|(_, v)| v.clone());
    InvokeResponse { status: answer.status, function_error, body: answer.body }
}
