//! Envoy's own answers as AWS gateway responses. Envoy answers some requests itself (an
//! integration that refuses the connection or does not answer in time, a body or headers over
//! the limits); the connection manager's `local_reply_config` rewrites them into the API's
//! gateway responses (`INTEGRATION_FAILURE`, `INTEGRATION_TIMEOUT`, `REQUEST_TOO_LARGE`,
//! `DEFAULT_4XX`, `DEFAULT_5XX`), overrides included, rendered by the same code the filter
//! answers with. The filter's own replies pass through the mappers too: they are told apart by
//! their empty `response.code_details` (every reply of Envoy's names its reason there).

use serde_json::{json, Value};
use tollgate_core::config::Config;
use tollgate_core::gateway_response::{GatewayResponses, Rejection, ResponseType};

/// Stands for the request id while a reply is rendered, then becomes Envoy's `%REQ(...)%`.
const REQUEST_ID: &str = "tollgate0request0id0placeholder0";
/// Stands for Envoy's own text of the reply (`Request Header Fields Too Large`).
const ENVOY_TEXT: &str = "tollgate0envoy0text0placeholder0";

/// The connection manager's `local_reply_config` for the API listeners.
pub fn local_reply_config(config: &Config) -> Result<Value, String> {
    let responses = GatewayResponses::compile(
        &config.gateway_responses,
        (&config.api.id, &config.stage.name, &config.api.account_id),
    )
    .map_err(|e| e.to_string())?
    .with_stage_variables(&config.stage.variables);
    let has_status = |kind: ResponseType| {
        config.gateway_responses.get(&kind).is_some_and(|o| o.status.is_some())
    };
    let flags = |flags: &[&str]| json!({"response_flag_filter": {"flags": flags}});
    let status = |op: &str, value: u16| {
        json!({"status_code_filter": {"comparison": {"op": op, "value": {
            "default_value": value, "runtime_key": format!("tollgate.local_reply.{value}")}}}})
    };
    let mappers = vec![
        // The filter's own replies carry the ids already, and the virtual host adds them to
        // every answer: one of each stays.
        json!({"filter": filter_own(), "headers_to_add": id_headers()}),
        // The route's timeout ran out before the integration answered.
        mapper(&responses, flags(&["UT"]), Rejection::new(ResponseType::IntegrationTimeout), true),
        // The integration could not be reached (refused, reset, no healthy host, overflow, an
        // unknown cluster).
        mapper(
            &responses,
            flags(&["UF", "UH", "URX", "UC", "UO", "NC", "UR", "LR"]),
            Rejection::new(ResponseType::IntegrationFailure),
            true,
        ),
        // A body over the payload limit while the filter buffered it.
        mapper(&responses, status("EQ", 413), Rejection::new(ResponseType::RequestTooLarge), true),
        // Any other: Envoy's status, the API's DEFAULT_5XX or DEFAULT_4XX.
        mapper(
            &responses,
            status("GE", 500),
            Rejection::new(ResponseType::Default5xx),
            has_status(ResponseType::Default5xx),
        ),
        mapper(
            &responses,
            Value::Null,
            Rejection::with_message(ResponseType::Default4xx, ENVOY_TEXT),
            has_status(ResponseType::Default4xx),
        ),
    ];
    Ok(json!({"mappers": mappers}))
}

/// Matches the filter's own replies: the only ones with empty response code details.
fn filter_own() -> Value {
    cel("response.code_details == \"\"")
}

/// An access-log filter (as the local reply mappers and the stats loggers take it) that holds
/// when the CEL `expression` does.
pub(super) fn cel(expression: &str) -> Value {
    json!({"extension_filter": {
        "name": "envoy.access_loggers.extension_filters.cel",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter",
            "expression": expression,
        },
    }})
}

/// `x-amzn-RequestId` and `x-amz-apigw-id`, set once.
fn id_headers() -> Value {
    crate::render::request_id_headers()
}

/// One mapper: Envoy's own replies that `filter` matches (`Null`: all) become `rejection`'s
/// gateway response, with its status when `set_status`.
fn mapper(
    responses: &GatewayResponses,
    filter: Value,
    rejection: Rejection,
    set_status: bool,
) -> Value {
    let envoy_own = cel("response.code_details != \"\"");
    let filter = if filter.is_null() {
        envoy_own
    } else {
        json!({"and_filter": {"filters": [envoy_own, filter]}})
    };
    // A header mapped from the request's becomes Envoy's `%REQ(name)%`.
    let request_header = |name: &str| Some(format!("{OPERATOR}REQ({name}){OPERATOR}"));
    let reply = responses.render_for(&rejection, REQUEST_ID, &request_header);
    let content_type = reply.header("content-type").unwrap_or("application/json").to_string();
    let headers: Vec<Value> = reply
        .headers
        .iter()
        .filter(|(name, _)| name != "content-type")
        .map(|(name, value)| {
            json!({"header": {"key": name, "value": format_string(value)},
                   "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"})
        })
        .collect();
    let body = format_string(&String::from_utf8_lossy(&reply.body));
    let mut out = json!({
        "filter": filter,
        "headers_to_add": headers,
        "body_format_override": {
            "text_format_source": {"inline_string": body},
            "content_type": content_type,
        },
    });
    if set_status {
        out["status_code"] = json!(reply.status);
    }
    out
}

/// Stands for `%` around an Envoy operator until the text is escaped.
const OPERATOR: char = '\u{1}';

/// Text as an Envoy format string: `%` escaped, the placeholders as Envoy's operators.
fn format_string(text: &str) -> String {
    let extended = tollgate_core::text::extended_request_id(REQUEST_ID);
    text.replace('%', "%%")
        .replace(OPERATOR, "%")
        .replace(REQUEST_ID, "%REQ(x-request-id)%")
        .replace(extended, "%REQ(x-request-id):16%")
        .replace(ENVOY_TEXT, "%LOCAL_REPLY_BODY%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_to_envoys_replies() {
        let config: Config = serde_json::from_value(json!({
            "api": {"id": "shop"},
            "gateway_responses": {
                "INTEGRATION_FAILURE": {"headers": {"Access-Control-Allow-Origin": "*",
                                                    "X-Origin": {"from": "method.request.header.Origin"}},
                                        "body": "{\"error\": \"$context.error.message\", \"id\": \"$context.requestId\", \"pct\": \"100%\"}"},
                "DEFAULT_4XX": {"status": 400},
            },
        }))
        .unwrap();
        let mappers = local_reply_config(&config).unwrap()["mappers"].clone();
        let failure = &mappers[2];
        assert_eq!(failure["status_code"], 504);
        assert_eq!(
            failure["body_format_override"]["text_format_source"]["inline_string"],
            "{\"error\": \"Internal server error\", \"id\": \"%REQ(x-request-id)%\", \"pct\": \"100%%\"}"
        );
        let headers = failure["headers_to_add"].as_array().unwrap();
        let header = |name: &str| {
            headers
                .iter()
                .find(|h| h["header"]["key"] == name)
                .map(|h| h["header"]["value"].clone())
        };
        assert_eq!(header("access-control-allow-origin"), Some(json!("*")));
        assert_eq!(header("x-origin"), Some(json!("%REQ(origin)%")));
        assert_eq!(header("x-amzn-requestid"), Some(json!("%REQ(x-request-id)%")));
        assert_eq!(header("x-amz-apigw-id"), Some(json!("%REQ(x-request-id):16%")));
        assert_eq!(header("x-amzn-errortype"), Some(json!("InternalServerErrorException")));
        // Envoy's status stays unless an override sets one.
        assert_eq!(mappers[4].get("status_code"), None);
        assert_eq!(mappers[5]["status_code"], 400);
        assert_eq!(
            mappers[5]["body_format_override"]["text_format_source"]["inline_string"],
            "{\"message\":\"%LOCAL_REPLY_BODY%\"}"
        );
    }
}
