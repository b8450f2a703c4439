//! The events API Gateway (REST) sends a Lambda authorizer: TOKEN (`authorizationToken`,
//! `methodArn`) and REQUEST (the request's headers, query, path parameters, stage variables and
//! part of its context), as JSON.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::auth::sigv4::parse::query_pairs;
use crate::text::header_case::HeaderSpellings;
use crate::text::percent::percent_decode;

/// What a REQUEST event (and the identity sources) read from a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    pub http_method: &'a str,
    /// The raw path, without the query string.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a [u8],
    /// Lowercase names, as Envoy has them, pseudo-headers (`:authority`) included.
    pub headers: &'a [(String, Vec<u8>)],
    /// The method's resource template, e.g. `/pets/{petId}`.
    pub resource: &'a str,
    pub path_parameters: &'a [(String, String)],
    pub stage_variables: &'a BTreeMap<String, String>,
    pub stage: &'a str,
    pub request_id: &'a str,
    pub source_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenEvent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    authorization_token: &'a str,
    method_arn: &'a str,
}

/// `{"type": "TOKEN", "authorizationToken": ..., "methodArn": ...}`.
pub fn token_event(token: &str, method_arn: &str) -> Vec<u8> {
    let event = TokenEvent { kind: "TOKEN", authorization_token: token, method_arn };
    serde_json::to_vec(&event).unwrap_or_default()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestEvent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    method_arn: &'a str,
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
}

/// How an event spells header names: as the spec does, else `Header-Case` (lower case for an
/// HTTP/2 client).
#[derive(Debug, Clone, Copy)]
pub struct HeaderNames<'a> {
    pub spellings: &'a HeaderSpellings,
    pub http2: bool,
}

/// The REQUEST event. A repeated header or query parameter gives its last value in `headers` /
/// `queryStringParameters` and all of them, in order, in the `multiValue...` maps. Query names
/// and values are percent-decoded (`+` stays `+`); header values that are not UTF-8 are decoded
/// lossily. Pseudo-headers are left out, but `:authority` becomes `Host` when there is no
/// `host` header. Empty maps are `null`, as AWS sends them. `context` is the event's
/// `requestContext` (`$context`, without `authorizer`).
pub fn request_event(
    view: &RequestView<'_>,
    names: HeaderNames<'_>,
    context: &Value,
    method_arn: &str,
) -> Vec<u8> {
    let (headers, multi_value_headers) = last_and_all(event_headers(view.headers, names));
    let (query, multi_value_query) = last_and_all(query_parameters(view.query));
    let path_parameters: BTreeMap<&str, &str> =
        view.path_parameters.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let event = RequestEvent {
        kind: "REQUEST",
        method_arn,
        resource: view.resource,
        path: view.path,
        http_method: view.http_method,
        headers: non_empty(headers),
        multi_value_headers: non_empty(multi_value_headers),
        query_string_parameters: non_empty(query),
        multi_value_query_string_parameters: non_empty(multi_value_query),
        path_parameters: non_empty(path_parameters),
        stage_variables: Some(view.stage_variables).filter(|v| !v.is_empty()),
        request_context: context,
    };
    serde_json::to_vec(&event).unwrap_or_default()
}

fn non_empty<K, V>(map: BTreeMap<K, V>) -> Option<BTreeMap<K, V>> {
    (!map.is_empty()).then_some(map)
}

/// The last value of every name, and all of them in order.
pub(crate) fn last_and_all(
    pairs: Vec<(String, String)>,
) -> (BTreeMap<String, String>, BTreeMap<String, Vec<String>>) {
    let mut last = BTreeMap::new();
    let mut all: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in pairs {
        last.insert(name.clone(), value.clone());
        all.entry(name).or_default().push(value);
    }
    (last, all)
}

/// The headers as the event has them: no pseudo-headers, `:authority` as `Host` when there is
/// no `host`, none of Envoy's own (`x-request-id`, `x-envoy-*`), names spelled as `names` says,
/// values decoded lossily.
pub(crate) fn event_headers(
    headers: &[(String, Vec<u8>)],
    names: HeaderNames<'_>,
) -> Vec<(String, String)> {
    let has_host = headers.iter().any(|(name, _)| name == "host");
    headers
        .iter()
        .filter_map(|(name, value)| {
            let name = match name.as_str() {
                ":authority" if !has_host => "host",
                n if n.starts_with(':') || n == "x-request-id" || n.starts_with("x-envoy-") => {
                    return None
                }
                n => n,
            };
            let spelled = names.spellings.spell(name, names.http2).into_owned();
            Some((spelled, String::from_utf8_lossy(value).into_owned()))
        })
        .collect()
}

/// The last value of a header (lowercase `name`); `host` falls back to `:authority`.
pub(super) fn header_value(view: &RequestView<'_>, name: &str) -> Option<String> {
    let last = |wanted: &str| {
        view.headers
            .iter()
            .rev()
            .find(|(n, _)| n == wanted)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    last(name).or_else(|| if name == "host" { last(":authority") } else { None })
}

/// `a=1&b=%20&a=2&flag` as decoded (name, value) pairs in order; a name without `=` has an
/// empty value, pairs with an empty name are skipped.
pub fn query_parameters(query: &[u8]) -> Vec<(String, String)> {
    query_pairs(query)
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, value)| (decode(name), decode(value)))
        .collect()
}

fn decode(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&percent_decode(bytes)).into_owned()
}

/// A stable stand-in for AWS's resource id: 6 characters of `[0-9a-z]` from a hash of the API
/// id and the resource template.
pub(crate) fn resource_id(api_id: &str, resource: &str) -> String {
    const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut hash = Sha256::new();
    hash.update(api_id.as_bytes());
    hash.update([0]);
    hash.update(resource.as_bytes());
    let digest: [u8; 32] = hash.finalize().into();
    digest
        .iter()
        .take(6)
        .map(|b| {
            char::from(ALPHABET.get(usize::from(*b) % ALPHABET.len()).copied().unwrap_or(b'0'))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::test_support::test;

    const ARN: &str = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/prod/GET/pets/7";

    fn parse(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn token_events() {
        let cases = [
            (
                "Bearer abc.def",
                json!({"type": "TOKEN", "authorizationToken": "Bearer abc.def", "methodArn": ARN}),
            ),
            (
                "\"quoted\"\n\\",
                json!({"type": "TOKEN", "authorizationToken": "\"quoted\"\n\\", "methodArn": ARN}),
            ),
            ("", json!({"type": "TOKEN", "authorizationToken": "", "methodArn": ARN})),
        ];
        for (token, want) in cases {
            assert_eq!(parse(&token_event(token, ARN)), want, "{token:?}");
        }
    }

    fn headers(pairs: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
        pairs.iter().map(|(n, v)| ((*n).to_owned(), v.to_vec())).collect()
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    }

    fn view<'a>(
        headers: &'a [(String, Vec<u8>)],
        query: &'a [u8],
        path_parameters: &'a [(String, String)],
        stage_variables: &'a BTreeMap<String, String>,
    ) -> RequestView<'a> {
        RequestView {
            http_method: "GET",
            path: "/pets/7",
            query,
            headers,
            resource: "/pets/{petId}",
            path_parameters,
            stage_variables,
            stage: "prod",
            request_id: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            source_ip: Some("192.0.2.1"),
            user_agent: Some("curl/8.5.0"),
        }
    }

    #[test]
    fn request_events() {
        let context = json!({"requestId": "c6af9ac6", "path": "/prod/pets/7"});
        let full_headers = headers(&[
            (":authority", b"api.example.com"),
            (":method", b"GET"),
            (":path", b"/pets/7?a=1"),
            ("authorization", b"Bearer abc"),
            ("accept", b"text/html"),
            ("accept", b"application/json"),
            ("x-latin", b"caf\xe9"),
            ("x-request-id", b"c6af9ac6"),
            ("x-envoy-internal", b"true"),
            ("headerauth1", b"v1"),
        ]);
        let host_headers =
            headers(&[(":authority", b"from-authority"), ("host", b"from-host"), ("x-a", b"1")]);
        let pet = params(&[("petId", "7")]);
        let variables = BTreeMap::from([("tenant".to_owned(), "t1".to_owned())]);
        let none = BTreeMap::new();
        let cases = [
            (
                "multi-value headers and query",
                view(
                    &full_headers,
                    b"tag=a%20b&tag=c+d&limit=3&flag&=x&&q=%E2%9C%93",
                    &pet,
                    &variables,
                ),
                json!({
                    "type": "REQUEST",
                    "methodArn": ARN,
                    "resource": "/pets/{petId}",
                    "path": "/pets/7",
                    "httpMethod": "GET",
                    "headers": {
                        "Host": "api.example.com",
                        "Authorization": "Bearer abc",
                        "Accept": "application/json",
                        "x-latin": "caf\u{fffd}",
                        "HeaderAuth1": "v1",
                    },
                    "multiValueHeaders": {
                        "Host": ["api.example.com"],
                        "Authorization": ["Bearer abc"],
                        "Accept": ["text/html", "application/json"],
                        "x-latin": ["caf\u{fffd}"],
                        "HeaderAuth1": ["v1"],
                    },
                    "queryStringParameters": {"tag": "c+d", "limit": "3", "flag": "", "q": "\u{2713}"},
                    "multiValueQueryStringParameters": {
                        "tag": ["a b", "c+d"], "limit": ["3"], "flag": [""], "q": ["\u{2713}"],
                    },
                    "pathParameters": {"petId": "7"},
                    "stageVariables": {"tenant": "t1"},
                    "requestContext": context,
                }),
            ),
            (
                "empty query, no path parameters, no stage variables: null",
                view(&host_headers, b"", &[], &none),
                json!({
                    "type": "REQUEST",
                    "methodArn": ARN,
                    "resource": "/pets/{petId}",
                    "path": "/pets/7",
                    "httpMethod": "GET",
                    "headers": {"Host": "from-host", "x-a": "1"},
                    "multiValueHeaders": {"Host": ["from-host"], "x-a": ["1"]},
                    "queryStringParameters": null,
                    "multiValueQueryStringParameters": null,
                    "pathParameters": null,
                    "stageVariables": null,
                    "requestContext": context,
                }),
            ),
            (
                "no headers, a query of separators only",
                RequestView { source_ip: None, user_agent: None, ..view(&[], b"&&=1", &[], &none) },
                json!({
                    "type": "REQUEST",
                    "methodArn": ARN,
                    "resource": "/pets/{petId}",
                    "path": "/pets/7",
                    "httpMethod": "GET",
                    "headers": null,
                    "multiValueHeaders": null,
                    "queryStringParameters": null,
                    "multiValueQueryStringParameters": null,
                    "pathParameters": null,
                    "stageVariables": null,
                    "requestContext": context,
                }),
            ),
        ];
        let spellings = HeaderSpellings::scan("method.request.header.HeaderAuth1");
        let names = HeaderNames { spellings: &spellings, http2: false };
        for (name, view, want) in cases {
            assert_eq!(parse(&request_event(&view, names, &context, ARN)), want, "{name}");
        }
        // An HTTP/2 client's names stay lower case; the spec's spelling still wins.
        let names = HeaderNames { http2: true, ..names };
        let event =
            parse(&request_event(&view(&full_headers, b"", &[], &none), names, &context, ARN));
        let names: Vec<&str> =
            event["headers"].as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["HeaderAuth1", "accept", "authorization", "host", "x-latin"]);
    }

    #[test]
    fn resource_ids_are_stable_and_differ_by_resource() {
        let a = resource_id("a1b2c3", "/pets/{petId}");
        assert_eq!(a, resource_id("a1b2c3", "/pets/{petId}"));
        assert_eq!(a.len(), 6);
        assert!(a.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()), "{a}");
        assert_ne!(a, resource_id("a1b2c3", "/pets"));
        assert_ne!(a, resource_id("zzzzzz", "/pets/{petId}"));
    }

    #[test]
    fn query_parameters_decode_and_keep_order() {
        assert_eq!(
            query_parameters(b"b=2&a=1&b=%32&c&d=&=e&&f=a=b"),
            params(&[("b", "2"), ("a", "1"), ("b", "2"), ("c", ""), ("d", ""), ("f", "a=b")])
        );
        assert_eq!(query_parameters(b""), params(&[]));
        assert_eq!(query_parameters(b"%61%3D=%26"), params(&[("a=", "&")]));
    }
}
