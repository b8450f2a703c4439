//! The access log: one JSON line per request in API Gateway's `$context` vocabulary
//! (`requestId`, `ip`, `httpMethod`, `resourcePath`, `status`, `identity.apiKeyId`,
//! `error.responseType`, `integrationLatency`, ...), written by Envoy from what it measured and
//! what the filter left in filter state; to stdout, or to `gateway.access_log`.

use std::path::Path;

use serde_json::{json, Value};

/// The connection manager's `access_log`. `stage`: the stage's name when the API has one stage
/// (with several, the filter names it per request).
pub fn access_log(file: Option<&Path>, stage: Option<&str>) -> Value {
    let state = |name: &str| format!("%FILTER_STATE(wasm.tollgate.{name}:PLAIN)%");
    let principal = state("principal_arn");
    let stage = stage.map_or_else(|| state("stage"), str::to_string);
    let fields = json!({
        "requestId": "%REQ(X-REQUEST-ID)%",
        "extendedRequestId": "%REQ(X-REQUEST-ID):16%",
        "ip": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
        "caller": principal,
        "user": principal,
        "requestTime": "%START_TIME(%d/%b/%Y:%H:%M:%S %z)%",
        "requestTimeEpoch": "%START_TIME(%s)%",
        "httpMethod": "%REQ(:METHOD)%",
        "resourcePath": "%METADATA(ROUTE:tollgate:resource)%",
        // The path without its query: a presigned URL's signature stays out.
        "path": "%REQ_WITHOUT_QUERY(X-ENVOY-ORIGINAL-PATH?:PATH)%",
        "status": "%RESPONSE_CODE%",
        "protocol": "%PROTOCOL%",
        "responseLength": "%BYTES_SENT%",
        "responseLatency": "%DURATION%",
        "integrationLatency": "%COMMON_DURATION(US_TX_BEG:US_RX_END:ms)%",
        "stage": stage,
        "routeName": "%ROUTE_NAME%",
        "identity": {
            "apiKeyId": state("api_key_id"),
            "sourceIp": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
            "userAgent": "%REQ(USER-AGENT)%",
        },
        "authorizer": {
            "principalId": "%REQ(X-TOLLGATE-AUTHORIZER-PRINCIPAL-ID)%",
            "sub": state("sub"),
        },
        "error": {
            "responseType": state("response_type"),
            "message": state("error_message"),
            "reason": state("rejection"),
        },
    });
    let format = json!({
        "json_format": fields,
        "formatters": [{
            "name": "envoy.formatter.req_without_query",
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery"},
        }],
    });
    match file {
        Some(path) => json!({
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                "path": path,
                "log_format": format,
            },
        }),
        None => json!({
            "name": "envoy.access_loggers.stdout",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
                "log_format": format,
            },
        }),
    }
}
