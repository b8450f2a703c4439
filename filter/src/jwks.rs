//! JWKS fetches through an Envoy cluster (`dispatch_http_call`), for token authorizers whose keys
//! come from a URL: in the background on the root context's timer, and on demand by a request
//! whose token names a key the worker does not have yet.

use std::time::Duration;

use proxy_wasm::hostcalls;
use proxy_wasm::types::MapType;
use tollgate_core::plan::Plan;

/// Starts a GET of the authorizer's JWKS; the callout's token id.
pub fn dispatch(plan: &Plan, authorizer: usize) -> Result<u32, String> {
    let uri = plan
        .authorizers
        .get(authorizer)
        .and_then(|a| a.jwks_uri.as_ref())
        .ok_or("the authorizer has no jwks_uri")?;
    hostcalls::dispatch_http_call(
        &uri.cluster,
        vec![
            (":method", "GET"),
            (":path", &uri.path),
            (":authority", &uri.authority),
            ("accept", "application/json"),
        ],
        None,
        vec![],
        Duration::from_millis(u64::from(uri.timeout_ms)),
    )
    .map_err(|status| format!("cannot call cluster `{}`: {status:?}", uri.cluster))
}

/// The body of the callout's response when it is a 200, else `None`.
pub fn response_body(body_size: usize) -> Option<Vec<u8>> {
    let status =
        hostcalls::get_map_value_bytes(MapType::HttpCallResponseHeaders, ":status").ok().flatten();
    if status.as_deref() != Some(b"200") {
        log::warn!(
            "JWKS fetch answered {}",
            status.map_or("nothing".into(), |s| String::from_utf8_lossy(&s).into_owned())
        );
        return None;
    }
    hostcalls::get_buffer(proxy_wasm::types::BufferType::HttpCallResponseBody, 0, body_size)
        .ok()
        .flatten()
}

/// Logs how a fetch for `authorizer` ended.
pub fn log_result(plan: &Plan, authorizer: usize, result: &Result<usize, String>) {
    let id = plan.authorizers.get(authorizer).map_or("?", |a| a.id.as_str());
    match result {
        Ok(n) => log::info!("authorizer {id}: JWKS loaded, {n} keys"),
        Err(e) => {
            log::error!("authorizer {id}: JWKS not loaded ({e}); old keys, if any, still serve")
        }
    }
}
