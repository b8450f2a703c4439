//! The access log, in API Gateway's `$context` vocabulary, written by Envoy from what it measured
//! and what the filter left in filter state; to stdout, or to `gateway.access_log`. By default
//! one text line per request, AWS's CLF format with the key id and the error's response type
//! (about what a text line costs); `gateway.access_log_format: json` for JSON lines with every
//! field (`requestId`, `ip`, `httpMethod`, `resourcePath`, `status`, `identity.apiKeyId`,
//! `error.responseType`, `integrationLatency`, ...), or an AWS `accessLogSettings.format`.

use std::path::Path;

use serde_json::{json, Value};

/// Filter state the filter writes, as an Envoy operator.
pub(super) fn state(name: &str) -> String {
    format!("%FILTER_STATE(wasm.tollgate.{name}:PLAIN)%")
}

/// The line `tollgate render` writes unless told otherwise: the CLF format AWS's console offers,
/// then the key id and the error's response type (`-` when none).
pub const DEFAULT_FORMAT: &str = "$context.identity.sourceIp $context.identity.caller \
    $context.identity.user [$context.requestTime] \"$context.httpMethod $context.resourcePath \
    $context.protocol\" $context.status $context.responseLength $context.requestId \
    $context.extendedRequestId $context.identity.apiKeyId $context.error.responseType";

/// The `gateway.access_log_format` that asks for JSON lines with every field.
pub const JSON: &str = "json";

/// The connection manager's `access_log`: the lines of an AWS `accessLogSettings.format`
/// (`$context.*` variables; [`DEFAULT_FORMAT`] when none is given), or JSON lines with every
/// field for [`JSON`]. `stage`: the stage's name when the API has one stage (with several, the
/// filter names it per request).
pub fn access_log(
    file: Option<&Path>,
    aws_format: Option<&str>,
    (api, stage): (&tollgate_core::config::Api, Option<&str>),
) -> Result<Value, String> {
    let stage = stage.map_or_else(|| state("stage"), str::to_string);
    let formatters = json!([{
        "name": "envoy.formatter.req_without_query",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery"},
    }]);
    if aws_format != Some(JSON) {
        let text = translate(aws_format.unwrap_or(DEFAULT_FORMAT), (api, &stage))?;
        let format = json!({"text_format_source": {"inline_string": format!("{text}\n")},
                            "formatters": formatters});
        return Ok(logger(file, format));
    }
    // The same operators as the AWS variables of the same names.
    let op = |name: &str| operator(name, (api, &stage)).unwrap_or_default();
    let fields = json!({
        "requestId": op("requestId"),
        "extendedRequestId": op("extendedRequestId"),
        "ip": op("identity.sourceIp"),
        "caller": op("identity.caller"),
        "user": op("identity.user"),
        "requestTime": op("requestTime"),
        "requestTimeEpoch": "%START_TIME(%s)%",
        "httpMethod": op("httpMethod"),
        "resourcePath": op("resourcePath"),
        // The path without its query: a presigned URL's signature stays out.
        "path": op("path"),
        "status": op("status"),
        "protocol": op("protocol"),
        "responseLength": op("responseLength"),
        "responseLatency": op("responseLatency"),
        "integrationLatency": op("integrationLatency"),
        "integrationStatus": op("integrationStatus"),
        "stage": stage,
        "routeName": "%ROUTE_NAME%",
        "identity": {
            "apiKeyId": op("identity.apiKeyId"),
            "sourceIp": op("identity.sourceIp"),
            "userAgent": op("identity.userAgent"),
        },
        "authorizer": {
            "principalId": op("authorizer.principalId"),
            "sub": op("authorizer.claims.sub"),
        },
        "error": {
            "responseType": op("error.responseType"),
            "message": op("error.message"),
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
        let operator = operator(name, (api, stage)).ok_or_else(|| {
            format!("access log format: `$context.{name}` has no value in Tollgate's logs")
        })?;
        out.push_str(&operator);
        rest = tail.get(name.len()..).unwrap_or_default();
    }
    out.push_str(&rest.replace('%', "%%"));
    Ok(out)
}

/// The Envoy operator that logs `$context.NAME` (`None`: Tollgate has no value for it).
fn operator(name: &str, (api, stage): (&tollgate_core::config::Api, &str)) -> Option<String> {
    let fixed = |text: &str| Some(text.to_string());
    match name {
        "requestId" | "awsEndpointRequestId" => fixed("%REQ(X-REQUEST-ID)%"),
        "extendedRequestId" => fixed("%REQ(X-REQUEST-ID):16%"),
        "identity.sourceIp" => fixed("%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"),
        "identity.caller" | "identity.user" | "identity.userArn" => Some(state("principal_arn")),
        "identity.userAgent" => fixed("%REQ(USER-AGENT)%"),
        "identity.apiKeyId" => Some(state("api_key_id")),
        "requestTime" => fixed("%START_TIME(%d/%b/%Y:%H:%M:%S %z)%"),
        "requestTimeEpoch" => fixed("%START_TIME(%s%3f)%"),
        "httpMethod" => fixed("%REQ(:METHOD)%"),
        "resourcePath" => fixed("%METADATA(ROUTE:tollgate:resource)%"),
        "path" => fixed("%REQ_WITHOUT_QUERY(X-ENVOY-ORIGINAL-PATH?:PATH)%"),
        "protocol" => fixed("%PROTOCOL%"),
        "status" => fixed("%RESPONSE_CODE%"),
        "responseLength" => fixed("%BYTES_SENT%"),
        "responseLatency" => fixed("%DURATION%"),
        "integrationLatency" | "integration.latency" => {
            fixed("%COMMON_DURATION(US_TX_BEG:US_RX_END:ms)%")
        }
        // What the filter saw when it called the integration or reshaped its answer, else the
        // status of a backend Envoy reached.
        "integrationStatus" => Some(format!(
            "%CEL('{STATE}' in filter_state ? filter_state['{STATE}'] : \
             (upstream.address != '' ? response.code : null))%",
            STATE = "wasm.tollgate.integration_status"
        )),
        "domainName" => fixed("%REQ(:AUTHORITY)%"),
        "error.message" => Some(state("error_message")),
        "error.responseType" => Some(state("response_type")),
        "authorizer.principalId" => fixed("%REQ(X-TOLLGATE-AUTHORIZER-PRINCIPAL-ID)%"),
        "authorizer.claims.sub" => Some(state("sub")),
        "stage" => fixed(stage),
        "apiId" => Some(api.id.replace('%', "%%")),
        "accountId" => fixed(&api.account_id),
        _ => None,
    }
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
