//! The access log: one JSON line per request in API Gateway's `$context` vocabulary
//! (`requestId`, `ip`, `httpMethod`, `resourcePath`, `status`, `identity.apiKeyId`,
//! `error.responseType`, `integrationLatency`, ...), written by Envoy from what it measured and
//! what the filter left in filter state; to stdout, or to `gateway.access_log`.

use std::path::Path;

use serde_json::{json, Value};

/// Filter state the filter writes, as an Envoy operator.
fn state(name: &str) -> String {
    format!("%FILTER_STATE(wasm.tollgate.{name}:PLAIN)%")
}

/// The connection manager's `access_log`: the JSON lines, or the lines of an AWS
/// `accessLogSettings.format` (`$context.*` variables) when `aws_format` is given. `stage`: the
/// stage's name when the API has one stage (with several, the filter names it per request).
pub fn access_log(
    file: Option<&Path>,
    aws_format: Option<&str>,
    (api, stage): (&tollgate_core::config::Api, Option<&str>),
) -> Result<Value, String> {
    let principal = state("principal_arn");
    let stage = stage.map_or_else(|| state("stage"), str::to_string);
    let formatters = json!([{
        "name": "envoy.formatter.req_without_query",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery"},
    }]);
    if let Some(aws) = aws_format {
        let text = translate(aws, (api, &stage))?;
        let format = json!({"text_format_source": {"inline_string": format!("{text}\n")},
                            "formatters": formatters});
        return Ok(logger(file, format));
    }
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
    let format = json!({"json_format": fields, "formatters": formatters});
    Ok(logger(file, format))
}

/// A stdout or file access logger with `format`.
fn logger(file: Option<&Path>, format: Value) -> Value {
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

/// An AWS access log format (`$context.requestId $context.status ...`, often JSON-shaped) as an
/// Envoy format string: each `$context.NAME` becomes the operator that logs the same value,
/// other text stays (with `%` escaped); a variable Tollgate has no value for is refused, named.
pub fn translate(
    aws: &str,
    (api, stage): (&tollgate_core::config::Api, &str),
) -> Result<String, String> {
    const PREFIX: &str = "$context.";
    let mut out = String::with_capacity(aws.len() * 2);
    let mut rest = aws;
    while let Some(at) = rest.find(PREFIX) {
        let (text, tail) = rest.split_at(at);
        out.push_str(&text.replace('%', "%%"));
        let tail = tail.get(PREFIX.len()..).unwrap_or_default();
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-'))
            .unwrap_or(tail.len());
        let name = tail.get(..end).unwrap_or_default().trim_end_matches('.');
        let operator = match name {
            "requestId" | "awsEndpointRequestId" => "%REQ(X-REQUEST-ID)%".to_string(),
            "extendedRequestId" => "%REQ(X-REQUEST-ID):16%".to_string(),
            "identity.sourceIp" => "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%".to_string(),
            "identity.caller" | "identity.user" | "identity.userArn" => state("principal_arn"),
            "identity.userAgent" => "%REQ(USER-AGENT)%".to_string(),
            "identity.apiKeyId" => state("api_key_id"),
            "requestTime" => "%START_TIME(%d/%b/%Y:%H:%M:%S %z)%".to_string(),
            "requestTimeEpoch" => "%START_TIME(%s%3f)%".to_string(),
            "httpMethod" => "%REQ(:METHOD)%".to_string(),
            "resourcePath" => "%METADATA(ROUTE:tollgate:resource)%".to_string(),
            "path" => "%REQ_WITHOUT_QUERY(X-ENVOY-ORIGINAL-PATH?:PATH)%".to_string(),
            "protocol" => "%PROTOCOL%".to_string(),
            "status" => "%RESPONSE_CODE%".to_string(),
            "responseLength" => "%BYTES_SENT%".to_string(),
            "responseLatency" => "%DURATION%".to_string(),
            "integrationLatency" | "integration.latency" => {
                "%COMMON_DURATION(US_TX_BEG:US_RX_END:ms)%".to_string()
            }
            "domainName" => "%REQ(:AUTHORITY)%".to_string(),
            "error.message" => state("error_message"),
            "error.responseType" => state("response_type"),
            "authorizer.principalId" => "%REQ(X-TOLLGATE-AUTHORIZER-PRINCIPAL-ID)%".to_string(),
            "authorizer.claims.sub" => state("sub"),
            "stage" => stage.to_string(),
            "apiId" => api.id.replace('%', "%%"),
            "accountId" => api.account_id.clone(),
            other => {
                return Err(format!(
                    "access log format: `$context.{other}` has no value in Tollgate's logs"
                ))
            }
        };
        out.push_str(&operator);
        rest = tail.get(name.len()..).unwrap_or_default();
    }
    out.push_str(&rest.replace('%', "%%"));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_formats_become_envoy_formats() {
        let api: tollgate_core::config::Api =
            serde_json::from_value(json!({"id": "shop", "account_id": "123456789012"})).unwrap();
        let clf = "$context.identity.sourceIp - - [$context.requestTime] \"$context.httpMethod $context.resourcePath $context.protocol\" $context.status $context.responseLength $context.requestId";
        assert_eq!(
            translate(clf, (&api, "prod")).unwrap(),
            "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% - - [%START_TIME(%d/%b/%Y:%H:%M:%S %z)%] \"%REQ(:METHOD)% %METADATA(ROUTE:tollgate:resource)% %PROTOCOL%\" %RESPONSE_CODE% %BYTES_SENT% %REQ(X-REQUEST-ID)%"
        );
        let json = r#"{"requestId":"$context.requestId","stage":"$context.stage","key":"$context.identity.apiKeyId","pct":"100%"}"#;
        assert_eq!(
            translate(json, (&api, "prod")).unwrap(),
            r#"{"requestId":"%REQ(X-REQUEST-ID)%","stage":"prod","key":"%FILTER_STATE(wasm.tollgate.api_key_id:PLAIN)%","pct":"100%%"}"#
        );
        let err = translate("$context.wafResponseCode", (&api, "prod")).unwrap_err();
        assert!(err.contains("$context.wafResponseCode"), "{err}");
    }
}
