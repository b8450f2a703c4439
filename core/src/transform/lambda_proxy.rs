//! The Lambda proxy integration (AWS_PROXY): the request as API Gateway's REST proxy event
//! (format 1.0), and the function's `{statusCode, headers, multiValueHeaders, body,
//! isBase64Encoded}` turned into the client's response. Anything else the function answers is
//! AWS's 502 `Internal server error`.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

use crate::auth::custom::InvokeResponse;
use crate::auth::lambda::{event_headers, last_and_all, HeaderNames};
use crate::gateway_response::{LocalReply, Rejection, ResponseType};
use crate::text::header_case::{is_http2, HeaderSpellings};
use crate::text::is_token;

/// The largest answer read from a function (Lambda's synchronous payload limit, 6 MB).
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

/// What the event is built from.
pub struct ProxyRequest<'a> {
    pub resource: &'a str,
    pub path: &'a str,
    pub http_method: &'a str,
    pub headers: &'a [(String, Vec<u8>)],
    /// Decoded query pairs, in order.
    pub query: &'a [(String, String)],
    pub path_parameters: &'a [(String, String)],
    pub stage_variables: &'a BTreeMap<String, String>,
    /// `$context` as templates see it: the event's `requestContext`.
    pub context: &'a Value,
    /// How the spec spells header names.
    pub spellings: &'a HeaderSpellings,
    /// The body's Content-Type is one of the API's binary media types: it goes base64-encoded.
    pub binary: bool,
    pub body: Option<&'a [u8]>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    resource: &'a str,
    path: &'a str,
    http_method: &'a str,
    headers: Option<BTreeMap<String, String>>,
    multi_value_headers: Option<BTreeMap<String, Vec<String>>>,
    query_string_parameters: Option<BTreeMap<String, String>>,
    multi_value_query_string_parameters: Option<BTreeMap<String, Vec<String>>>,
    path_parameters: Option<BTreeMap<&'a str, &'a str>>,
    stage_variables: Option<&'a BTreeMap<String, String>>,
    request_context: &'a Value,
    body: Option<String>,
    is_base64_encoded: bool,
}

/// The proxy event. Empty maps are `null` and so is an empty body, as AWS sends them; a body
/// that is not UTF-8 goes base64-encoded with `isBase64Encoded: true`.
pub fn event(request: &ProxyRequest<'_>) -> Vec<u8> {
    let protocol = request.context.get("protocol").and_then(Value::as_str).unwrap_or_default();
    let names = HeaderNames { spellings: request.spellings, http2: is_http2(protocol) };
    let (headers, multi_value_headers) = last_and_all(event_headers(request.headers, names));
    let (query, multi_value_query) = last_and_all(request.query.to_vec());
    let base64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let (body, is_base64_encoded) = match request.body.filter(|b| !b.is_empty()) {
        None => (None, false),
        Some(bytes) if request.binary => (Some(base64(bytes)), true),
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => (Some(text.to_string()), false),
            // Not text, whatever its type says: base64 rather than mangled.
            Err(_) => (Some(base64(bytes)), true),
        },
    };
    let non_empty = |m: BTreeMap<String, String>| (!m.is_empty()).then_some(m);
    let event = Event {
        resource: request.resource,
        path: request.path,
        http_method: request.http_method,
        headers: non_empty(headers),
        multi_value_headers: (!multi_value_headers.is_empty()).then_some(multi_value_headers),
        query_string_parameters: non_empty(query),
        multi_value_query_string_parameters: (!multi_value_query.is_empty())
            .then_some(multi_value_query),
        path_parameters: (!request.path_parameters.is_empty()).then(|| {
            request.path_parameters.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
        }),
        stage_variables: Some(request.stage_variables).filter(|v| !v.is_empty()),
        request_context: request.context,
        body,
        is_base64_encoded,
    };
    serde_json::to_vec(&event).unwrap_or_default()
}

/// Why a function's answer is not a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyError {
    /// No answer in time (the call's timeout ran out).
    NoAnswer,
    /// The Invoke API refused the call (unknown function, throttled, ...).
    Invoke(u16),
    /// The function raised (`X-Amz-Function-Error`).
    FunctionError,
    /// The answer is not a proxy response (the reason, for the log).
    Malformed(String),
}

impl ProxyError {
    /// The client's answer: 502 `Internal server error` (504 when nothing came back in time).
    pub fn rejection(&self) -> Rejection {
        match self {
            ProxyError::NoAnswer => Rejection::new(ResponseType::IntegrationTimeout),
            _ => Rejection::new(ResponseType::Default5xx).status(502),
        }
    }
}

/// The client's response from the function's answer. A base64 body (`isBase64Encoded`) is
/// decoded when `binary` (the client's first `Accept` type is one of the API's binary media
/// types), else it reaches the client as the base64 text it is, as on AWS.
pub fn reply(response: &InvokeResponse, binary: bool) -> Result<LocalReply, ProxyError> {
    match response.status {
        // No answer, or Envoy's own 504 when the callout's timeout ran out.
        0 | 504 => return Err(ProxyError::NoAnswer),
        200 => {}
        other => return Err(ProxyError::Invoke(other)),
    }
    if response.function_error.is_some() {
        return Err(ProxyError::FunctionError);
    }
    if response.body.len() > MAX_RESPONSE_BYTES {
        return Err(ProxyError::Malformed("the answer is over 6 MB".into()));
    }
    let malformed = |why: &str| ProxyError::Malformed(why.to_string());
    let value: Value = serde_json::from_slice(&response.body).map_err(|_| malformed("not JSON"))?;
    let object = value.as_object().ok_or_else(|| malformed("not a JSON object"))?;
    let status = match object.get("statusCode") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .and_then(|s| u16::try_from(s).ok())
    .filter(|s| (100..=599).contains(s))
    .ok_or_else(|| malformed("statusCode is missing or not an HTTP status"))?;
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(map) = nullable_object(object.get("headers")).map_err(|_| malformed("headers"))? {
        for (name, value) in map {
            headers.push((header_name(name)?, scalar(value).ok_or_else(|| malformed("headers"))?));
        }
    }
    let multi = nullable_object(object.get("multiValueHeaders"))
        .map_err(|_| malformed("multiValueHeaders"))?;
    for (name, values) in multi.into_iter().flatten() {
        let name = header_name(name)?;
        let values = values.as_array().ok_or_else(|| malformed("multiValueHeaders"))?;
        // `multiValueHeaders` win over `headers` of the same name, as on AWS.
        headers.retain(|(n, _)| *n != name);
        for v in values {
            headers.push((name.clone(), scalar(v).ok_or_else(|| malformed("multiValueHeaders"))?));
        }
    }
    let base64 = match object.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(malformed("isBase64Encoded is not a boolean")),
    };
    let body = match object.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if base64 && binary => base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| malformed("body is not base64"))?,
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(_) => return Err(malformed("body is not a string")),
    };
    Ok(LocalReply { status, headers, body })
}

fn nullable_object(value: Option<&Value>) -> Result<Option<&serde_json::Map<String, Value>>, ()> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(()),
    }
}

fn header_name(name: &str) -> Result<String, ProxyError> {
    if is_token(name) {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(ProxyError::Malformed(format!("`{name}` is not a header name")))
    }
}

/// A header value: strings, numbers and booleans as text; no control characters.
fn scalar(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    text.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f)).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;
    use serde_json::json;

    fn ok(body: Value) -> InvokeResponse {
        InvokeResponse { status: 200, function_error: None, body: body.to_string().into_bytes() }
    }

    #[test]
    fn events_follow_the_rest_proxy_format() {
        let headers = vec![
            (":authority".to_string(), b"api.example.com".to_vec()),
            ("accept".to_string(), b"a".to_vec()),
            ("x-tag".to_string(), b"1".to_vec()),
            ("x-tag".to_string(), b"2".to_vec()),
        ];
        let query = vec![("q".to_string(), "a b".to_string()), ("q".to_string(), "c".to_string())];
        let params = vec![("proxy".to_string(), "a/b".to_string())];
        let vars: BTreeMap<String, String> = [("v".to_string(), "1".to_string())].into();
        let context = json!({"requestId": "r-1", "stage": "prod"});
        let request = ProxyRequest {
            resource: "/files/{proxy+}",
            path: "/files/a/b",
            http_method: "POST",
            headers: &headers,
            query: &query,
            path_parameters: &params,
            stage_variables: &vars,
            context: &context,
            spellings: &HeaderSpellings::scan("method.request.header.X-TAG"),
            binary: false,
            body: Some(b"\xff\x00binary"),
        };
        let built: Value = serde_json::from_slice(&event(&request)).unwrap();
        assert_eq!(
            built,
            json!({
                "resource": "/files/{proxy+}",
                "path": "/files/a/b",
                "httpMethod": "POST",
                "headers": {"Host": "api.example.com", "Accept": "a", "X-TAG": "2"},
                "multiValueHeaders": {"Host": ["api.example.com"], "Accept": ["a"], "X-TAG": ["1", "2"]},
                "queryStringParameters": {"q": "c"},
                "multiValueQueryStringParameters": {"q": ["a b", "c"]},
                "pathParameters": {"proxy": "a/b"},
                "stageVariables": {"v": "1"},
                "requestContext": {"requestId": "r-1", "stage": "prod"},
                "body": "/wBiaW5hcnk=",
                "isBase64Encoded": true,
            })
        );
        let bare =
            ProxyRequest { headers: &[], query: &[], path_parameters: &[], body: None, ..request };
        let vars = BTreeMap::new();
        let bare = ProxyRequest { stage_variables: &vars, ..bare };
        let built: Value = serde_json::from_slice(&event(&bare)).unwrap();
        for field in [
            "headers",
            "multiValueHeaders",
            "queryStringParameters",
            "pathParameters",
            "stageVariables",
            "body",
        ] {
            assert_eq!(built[field], Value::Null, "{field}");
        }
        assert_eq!(built["isBase64Encoded"], false);
    }

    #[test]
    fn proxy_responses_become_the_reply() {
        let answer = reply(
            &ok(json!({
                "statusCode": 201,
                "headers": {"Content-Type": "text/plain", "X-One": 1},
                "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
                "body": "created",
            })),
            true,
        )
        .unwrap();
        assert_eq!(answer.status, 201);
        assert_eq!(answer.body, b"created");
        assert_eq!(
            answer.headers,
            vec![
                ("content-type".to_string(), "text/plain".to_string()),
                ("x-one".to_string(), "1".to_string()),
                ("set-cookie".to_string(), "a=1".to_string()),
                ("set-cookie".to_string(), "b=2".to_string()),
            ]
        );
        let binary =
            reply(&ok(json!({"statusCode": "200", "body": "/wA=", "isBase64Encoded": true})), true)
                .unwrap();
        assert_eq!(binary.body, vec![0xff, 0x00]);
        // A client that does not accept a binary type gets the base64 text, as on AWS.
        let text = reply(
            &ok(json!({"statusCode": "200", "body": "/wA=", "isBase64Encoded": true})),
            false,
        );
        assert_eq!(text.unwrap().body, b"/wA=");
        let empty = reply(&ok(json!({"statusCode": 204})), true).unwrap();
        assert!(empty.body.is_empty() && empty.headers.is_empty());
    }

    #[test]
    fn anything_else_is_an_integration_error() {
        let malformed = [
            json!("just a string"),
            json!({"body": "no status"}),
            json!({"statusCode": 99}),
            json!({"statusCode": "abc"}),
            json!({"statusCode": 200, "body": {"an": "object"}}),
            json!({"statusCode": 200, "headers": ["x"]}),
            json!({"statusCode": 200, "headers": {"bad name": "x"}}),
            json!({"statusCode": 200, "headers": {"x": "a\r\nb"}}),
            json!({"statusCode": 200, "multiValueHeaders": {"x": "not a list"}}),
            json!({"statusCode": 200, "body": "%%%", "isBase64Encoded": true}),
            json!({"statusCode": 200, "isBase64Encoded": "yes"}),
        ];
        for body in malformed {
            let err = reply(&ok(body.clone()), true).unwrap_err();
            assert!(matches!(err, ProxyError::Malformed(_)), "{body}: {err:?}");
            assert_eq!(err.rejection().status, Some(502));
        }
        let not_json = InvokeResponse { status: 200, function_error: None, body: b"{".to_vec() };
        assert!(matches!(reply(&not_json, true), Err(ProxyError::Malformed(_))));
        let raised = InvokeResponse {
            status: 200,
            function_error: Some(b"Unhandled".to_vec()),
            body: br#"{"errorMessage": "boom"}"#.to_vec(),
        };
        assert_eq!(reply(&raised, true), Err(ProxyError::FunctionError));
        assert_eq!(
            reply(&InvokeResponse { status: 404, ..raised.clone() }, true),
            Err(ProxyError::Invoke(404))
        );
        assert_eq!(reply(&InvokeResponse::default(), true), Err(ProxyError::NoAnswer));
        let timed_out = InvokeResponse { status: 504, ..InvokeResponse::default() };
        assert_eq!(reply(&timed_out, true), Err(ProxyError::NoAnswer));
        assert_eq!(ProxyError::NoAnswer.rejection().kind, ResponseType::IntegrationTimeout);
    }
}
