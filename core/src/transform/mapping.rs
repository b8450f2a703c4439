//! Parameter mappings: `integration.request.header.x-limit` from
//! `method.request.querystring.limit`, `method.response.header.x-id` from
//! `integration.response.body.id`, a `'static'` value, `context.*` or `stageVariables.*`.
//! Parsed once at config time; evaluated per request over a [`vtl::Input`], the same view of the
//! request (or of the backend's response) that templates see.

use std::collections::BTreeMap;

use crate::config::ConfigError;
use crate::vtl::{self, Input};

/// Where a request mapping writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Header(String),
    Query(String),
    Path(String),
}

/// Where a mapping reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Static(String),
    Path(String),
    Query(String),
    MultiQuery(String),
    Header(String),
    MultiHeader(String),
    /// The whole body, or the value at a JSONPath (`$.a.b`) in it.
    Body(Option<String>),
    StageVariable(String),
    /// A path into `$context` (`identity.sourceIp`).
    Context(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping<T> {
    pub target: T,
    pub source: Source,
}

/// Which side a mapping belongs to: the prefixes its sources and targets use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Request,
    Response,
}

/// `integration.request.*` mappings of a method, in config order.
pub fn compile_request(
    map: &BTreeMap<String, String>,
    path: &str,
) -> Result<Vec<Mapping<Target>>, ConfigError> {
    let mut out = Vec::with_capacity(map.len());
    for (target, source) in map {
        let field = format!("{path}.{target}");
        let target = request_target(target).map_err(|r| ConfigError::new(&field, r))?;
        let source =
            parse_source(source, Side::Request).map_err(|r| ConfigError::new(&field, r))?;
        out.push(Mapping { target, source });
    }
    Ok(out)
}

/// `method.response.header.*` mappings of an integration response; targets are lowercase
/// header names.
pub fn compile_response(
    map: &BTreeMap<String, String>,
    path: &str,
) -> Result<Vec<Mapping<String>>, ConfigError> {
    let mut out = Vec::with_capacity(map.len());
    for (target, source) in map {
        let field = format!("{path}.{target}");
        let name = target
            .strip_prefix("method.response.header.")
            .filter(|n| crate::text::is_token(n))
            .ok_or_else(|| {
                ConfigError::new(&field, "a response mapping writes `method.response.header.NAME`")
            })?;
        let source =
            parse_source(source, Side::Response).map_err(|r| ConfigError::new(&field, r))?;
        out.push(Mapping { target: name.to_ascii_lowercase(), source });
    }
    Ok(out)
}

fn request_target(target: &str) -> Result<Target, String> {
    let parse = || {
        let rest = target.strip_prefix("integration.request.")?;
        let (kind, name) = rest.split_once('.')?;
        if name.is_empty() {
            return None;
        }
        match kind {
            "header" if crate::text::is_token(name) => {
                Some(Target::Header(name.to_ascii_lowercase()))
            }
            "querystring" => Some(Target::Query(name.to_string())),
            "path" => Some(Target::Path(name.to_string())),
            _ => None,
        }
    };
    parse().ok_or_else(|| {
        format!("`{target}` is not `integration.request.{{header|querystring|path}}.NAME`")
    })
}

fn parse_source(source: &str, side: Side) -> Result<Source, String> {
    if let Some(text) = source.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        return Ok(Source::Static(text.to_string()));
    }
    if let Some(name) = source.strip_prefix("stageVariables.").filter(|n| !n.is_empty()) {
        return Ok(Source::StageVariable(name.to_string()));
    }
    if let Some(rest) = source.strip_prefix("context.").filter(|n| !n.is_empty()) {
        return Ok(Source::Context(rest.split('.').map(str::to_string).collect()));
    }
    let prefix = match side {
        Side::Request => "method.request.",
        Side::Response => "integration.response.",
    };
    let bad = || {
        format!(
            "`{source}` is not a mapping source: `{prefix}{{path|querystring|header|body}}...`, \
             `'static'`, `context.NAME` or `stageVariables.NAME`"
        )
    };
    let rest = source.strip_prefix(prefix).ok_or_else(bad)?;
    if rest == "body" {
        return Ok(Source::Body(None));
    }
    if let Some(json_path) = rest.strip_prefix("body.") {
        let json_path = format!("$.{json_path}");
        vtl::json_path(&serde_json::Value::Null, &json_path)
            .map_err(|e| format!("`{source}`: {e}"))?;
        return Ok(Source::Body(Some(json_path)));
    }
    let (kind, name) = rest.split_once('.').filter(|(_, n)| !n.is_empty()).ok_or_else(bad)?;
    let name = name.to_string();
    match (side, kind) {
        (Side::Request, "path") => Ok(Source::Path(name)),
        (Side::Request, "querystring") => Ok(Source::Query(name)),
        (Side::Request, "multivaluequerystring") => Ok(Source::MultiQuery(name)),
        (_, "header") => Ok(Source::Header(name)),
        (_, "multivalueheader") => Ok(Source::MultiHeader(name)),
        _ => Err(bad()),
    }
}

/// The values a source gives for this request: none when it is missing (the mapping is then
/// skipped, as on AWS), several for the multi-value sources.
pub fn evaluate(
    source: &Source,
    input: &Input<'_>,
    body: Option<&serde_json::Value>,
) -> Vec<String> {
    let first = |pairs: &[(String, String)], name: &str, fold: bool| {
        pairs
            .iter()
            .find(|(n, _)| if fold { n.eq_ignore_ascii_case(name) } else { n == name })
            .map(|(_, v)| vec![v.clone()])
            .unwrap_or_default()
    };
    let all = |pairs: &[(String, String)], name: &str, fold: bool| {
        pairs
            .iter()
            .filter(|(n, _)| if fold { n.eq_ignore_ascii_case(name) } else { n == name })
            .map(|(_, v)| v.clone())
            .collect()
    };
    match source {
        Source::Static(text) => vec![text.clone()],
        Source::Path(name) => first(input.path, name, false),
        Source::Query(name) => first(input.querystring, name, false),
        Source::MultiQuery(name) => all(input.querystring, name, false),
        Source::Header(name) => first(input.header, name, true),
        Source::MultiHeader(name) => all(input.header, name, true),
        Source::StageVariable(name) => {
            input.stage_variables.get(name).map(|v| vec![v.clone()]).unwrap_or_default()
        }
        Source::Context(path) => {
            let mut value = input.context;
            for part in path {
                match value.get(part) {
                    Some(v) => value = v,
                    None => return Vec::new(),
                }
            }
            scalar_text(value).map(|v| vec![v]).unwrap_or_default()
        }
        Source::Body(None) => vec![String::from_utf8_lossy(input.body).into_owned()],
        Source::Body(Some(json_path)) => body
            .and_then(|root| vtl::json_path(root, json_path).ok().flatten())
            .and_then(|v| scalar_text(&v))
            .or_else(|| through_json_strings(input.body, json_path))
            .map(|v| vec![v])
            .unwrap_or_default(),
    }
}

/// A dotted path (`$.errorMessage.trace.function`) that goes on into a string holding JSON, as
/// API Gateway reads a Lambda function's `errorMessage` when it is a serialized object.
fn through_json_strings(body: &[u8], json_path: &str) -> Option<String> {
    let names: Vec<&str> = json_path.strip_prefix("$.")?.split('.').collect();
    if names.iter().any(|n| n.is_empty() || n.contains(['[', ']', '*', '\'', '"'])) {
        return None;
    }
    vtl::member_text(body, &names)
}

/// A JSON value as a parameter: strings as they are, `null` as missing, the rest as JSON.
fn scalar_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;
    use serde_json::json;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn request_mappings_read_every_source() {
        let mappings = compile_request(
            &map(&[
                ("integration.request.header.X-Limit", "method.request.querystring.limit"),
                ("integration.request.header.x-tags", "method.request.multivaluequerystring.tag"),
                ("integration.request.querystring.id", "method.request.path.petId"),
                ("integration.request.header.x-agent", "method.request.header.User-Agent"),
                ("integration.request.header.x-static", "'fixed value'"),
                ("integration.request.header.x-stage", "stageVariables.env"),
                ("integration.request.header.x-ip", "context.identity.sourceIp"),
                ("integration.request.header.x-name", "method.request.body.pet.name"),
                ("integration.request.header.x-age", "method.request.body.pet.age"),
                ("integration.request.header.x-none", "method.request.querystring.absent"),
            ]),
            "methods[0].integration.request_parameters",
        )
        .unwrap();
        let path = pairs(&[("petId", "42")]);
        let query = pairs(&[("limit", "3"), ("tag", "a"), ("tag", "b")]);
        let header = pairs(&[("user-agent", "curl/8")]);
        let context = json!({"identity": {"sourceIp": "10.0.0.1"}});
        let vars: BTreeMap<String, String> = [("env".to_string(), "dev".to_string())].into();
        let body = br#"{"pet": {"name": "Rex", "age": 3}}"#;
        let input = Input {
            body,
            path: &path,
            querystring: &query,
            header: &header,
            context: &context,
            stage_variables: &vars,
            json: None,
        };
        let parsed: serde_json::Value = serde_json::from_slice(body).unwrap();
        let got: BTreeMap<String, Vec<String>> = mappings
            .iter()
            .map(|m| (format!("{:?}", m.target), evaluate(&m.source, &input, Some(&parsed))))
            .collect();
        let want = |t: &str, v: &[&str]| {
            assert_eq!(got[t], v.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "{t}")
        };
        want("Header(\"x-limit\")", &["3"]);
        want("Header(\"x-tags\")", &["a", "b"]);
        want("Query(\"id\")", &["42"]);
        want("Header(\"x-agent\")", &["curl/8"]);
        want("Header(\"x-static\")", &["fixed value"]);
        want("Header(\"x-stage\")", &["dev"]);
        want("Header(\"x-ip\")", &["10.0.0.1"]);
        want("Header(\"x-name\")", &["Rex"]);
        want("Header(\"x-age\")", &["3"]);
        want("Header(\"x-none\")", &[]);
    }

    #[test]
    fn body_paths_go_on_into_serialized_json() {
        let body =
            br#"{"errorMessage": "{\"errorType\":\"E\",\"trace\":{\"z\":1,\"a\":2}}", "n": 1}"#;
        let at = |path: &str| through_json_strings(body, path);
        assert_eq!(at("$.errorMessage.errorType").as_deref(), Some("E"));
        assert_eq!(at("$.errorMessage.trace").as_deref(), Some(r#"{"z":1,"a":2}"#));
        assert_eq!(at("$.errorMessage.trace.a").as_deref(), Some("2"));
        assert_eq!(at("$.errorMessage.missing"), None);
        assert_eq!(at("$.n.x"), None);
        assert_eq!(at("$.errorMessage[0]"), None);
    }

    #[test]
    fn response_mappings_read_the_backend_response() {
        let mappings = compile_response(
            &map(&[
                ("method.response.header.X-Id", "integration.response.body.id"),
                ("method.response.header.x-server", "integration.response.header.Server"),
                ("method.response.header.x-cors", "'*'"),
            ]),
            "r",
        )
        .unwrap();
        let header = pairs(&[("server", "backend/1")]);
        let context = json!({});
        let vars = BTreeMap::new();
        let input = Input {
            body: br#"{"id": "p-1"}"#,
            path: &[],
            querystring: &[],
            header: &header,
            context: &context,
            stage_variables: &vars,
            json: None,
        };
        let parsed = json!({"id": "p-1"});
        let got: Vec<(String, Vec<String>)> = mappings
            .iter()
            .map(|m| (m.target.clone(), evaluate(&m.source, &input, Some(&parsed))))
            .collect();
        assert_eq!(
            got,
            vec![
                ("x-id".to_string(), vec!["p-1".to_string()]),
                ("x-cors".to_string(), vec!["*".to_string()]),
                ("x-server".to_string(), vec!["backend/1".to_string()]),
            ]
        );
    }

    #[test]
    fn malformed_mappings_are_config_errors_naming_the_field() {
        let cases = [
            ("integration.request.cookie.a", "method.request.header.a"),
            ("integration.request.header.bad name", "'x'"),
            ("integration.request.header.", "'x'"),
            ("integration.request.header.a", "method.request.cookie.a"),
            ("integration.request.header.a", "method.request.header."),
            ("integration.request.header.a", "integration.response.header.a"),
            ("integration.request.header.a", "unquoted"),
            ("integration.request.header.a", "method.request.body.a[["),
        ];
        for (target, source) in cases {
            let err = compile_request(&map(&[(target, source)]), "m.rp").unwrap_err();
            assert_eq!(err.path, format!("m.rp.{target}"), "{target} <- {source}");
        }
        let err = compile_response(&map(&[("method.request.header.a", "'x'")]), "r").unwrap_err();
        assert!(err.reason.contains("method.response.header"), "{err}");
        let err =
            compile_response(&map(&[("method.response.header.a", "method.request.path.x")]), "r")
                .unwrap_err();
        assert!(err.reason.contains("integration.response"), "{err}");
    }
}
