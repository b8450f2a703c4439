//! Identity sources as API Gateway (REST) writes them — `method.request.header.Authorization,
//! method.request.querystring.token, stageVariables.tenant, context.identity.sourceIp` — their
//! values in a request, and the TOKEN authorizer's `identity_validation_expression`.

use std::fmt;

use super::event::{header_value, query_parameters, RequestView};
use crate::text::is_token;

/// Where one identity value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// A request header, by its lowercase name.
    Header(String),
    /// A query string parameter, by its (percent-decoded) name.
    Query(String),
    StageVariable(String),
    /// A context variable, by its AWS name without `context.` (`identity.sourceIp`).
    Context(String),
}

const HEADER: &str = "method.request.header.";
const QUERY: &str = "method.request.querystring.";
const STAGE_VARIABLE: &str = "stageVariables.";
const CONTEXT: &str = "context.";

/// The context variables an identity source may name.
const CONTEXT_VARIABLES: [&str; 7] = [
    "httpMethod",
    "identity.sourceIp",
    "identity.userAgent",
    "path",
    "requestId",
    "resourcePath",
    "stage",
];

impl fmt::Display for IdentitySource {
    /// The AWS expression.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentitySource::Header(name) => write!(f, "{HEADER}{name}"),
            IdentitySource::Query(name) => write!(f, "{QUERY}{name}"),
            IdentitySource::StageVariable(name) => write!(f, "{STAGE_VARIABLE}{name}"),
            IdentitySource::Context(name) => write!(f, "{CONTEXT}{name}"),
        }
    }
}

/// Parses a comma-separated list of identity sources (spaces around the commas are fine). The
/// error names the source that is wrong (1-based) and why.
pub fn parse_identity_sources(text: &str) -> Result<Vec<IdentitySource>, String> {
    if text.trim().is_empty() {
        return Err(format!("no identity source: expected e.g. `{HEADER}Authorization`"));
    }
    let mut sources: Vec<IdentitySource> = Vec::new();
    for (i, part) in text.split(',').enumerate() {
        let part = part.trim();
        let n = i + 1;
        let source = parse_source(part).map_err(|why| format!("source {n} `{part}`: {why}"))?;
        if sources.contains(&source) {
            return Err(format!("source {n} `{part}` is listed twice"));
        }
        sources.push(source);
    }
    Ok(sources)
}

fn parse_source(part: &str) -> Result<IdentitySource, String> {
    if part.is_empty() {
        return Err("is empty".into());
    }
    if let Some(name) = part.strip_prefix(HEADER) {
        return if is_token(name) {
            Ok(IdentitySource::Header(name.to_ascii_lowercase()))
        } else {
            Err(format!("`{name}` is not a valid header name"))
        };
    }
    if let Some(name) = part.strip_prefix(QUERY) {
        return if !name.is_empty() && !name.chars().any(char::is_control) {
            Ok(IdentitySource::Query(name.to_owned()))
        } else {
            Err("needs a query string parameter name".into())
        };
    }
    if let Some(name) = part.strip_prefix(STAGE_VARIABLE) {
        let ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        return if ok {
            Ok(IdentitySource::StageVariable(name.to_owned()))
        } else {
            Err(format!("`{name}` is not a stage variable name (letters, digits, `_`)"))
        };
    }
    if let Some(name) = part.strip_prefix(CONTEXT) {
        // `context.sourceIp` is accepted for `context.identity.sourceIp`.
        let name = if name == "sourceIp" { "identity.sourceIp" } else { name };
        return if CONTEXT_VARIABLES.contains(&name) {
            Ok(IdentitySource::Context(name.to_owned()))
        } else {
            Err(format!(
                "`{name}` is not a supported context variable (one of {})",
                CONTEXT_VARIABLES.join(", ")
            ))
        };
    }
    if part.starts_with("method.request.path.") {
        return Err("path parameters cannot be identity sources".into());
    }
    if part.starts_with('$') {
        return Err(format!("`$...` is HTTP API syntax; REST APIs write `{HEADER}NAME`"));
    }
    Err(format!(
        "expected `{HEADER}NAME`, `{QUERY}NAME`, `{STAGE_VARIABLE}NAME` or `{CONTEXT}VARIABLE`"
    ))
}

/// The value of every source, in order; `None` when one is missing or empty (API Gateway then
/// answers 401 without calling the function). A repeated header or query parameter gives its
/// last value, as in the REQUEST event's `headers` and `queryStringParameters`.
pub fn identity_values(sources: &[IdentitySource], view: &RequestView<'_>) -> Option<Vec<String>> {
    let mut query: Option<Vec<(String, String)>> = None;
    let mut values = Vec::with_capacity(sources.len());
    for source in sources {
        let value = match source {
            IdentitySource::Header(name) => header_value(view, name),
            IdentitySource::Query(name) => query
                .get_or_insert_with(|| query_parameters(view.query))
                .iter()
                .rev()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone()),
            IdentitySource::StageVariable(name) => view.stage_variables.get(name).cloned(),
            IdentitySource::Context(name) => context_value(view, name).map(str::to_owned),
        };
        values.push(value.filter(|v| !v.is_empty())?);
    }
    Some(values)
}

fn context_value<'a>(view: &RequestView<'a>, name: &str) -> Option<&'a str> {
    match name {
        "httpMethod" => Some(view.http_method),
        "identity.sourceIp" => view.source_ip,
        "identity.userAgent" => view.user_agent,
        "path" => Some(view.path),
        "requestId" => Some(view.request_id),
        "resourcePath" => Some(view.resource),
        "stage" => Some(view.stage),
        _ => None,
    }
}

/// A TOKEN authorizer's `identity_validation_expression`: the whole token must match (as Java's
/// `String.matches`), else 401 without calling the function. Rust regex syntax (no
/// look-around or back-references); matching takes linear time.
#[derive(Debug, Clone)]
pub struct ValidationExpression(regex_lite::Regex);

impl ValidationExpression {
    pub fn compile(pattern: &str) -> Result<ValidationExpression, String> {
        let invalid =
            |e: regex_lite::Error| format!("`{pattern}` is not a valid regular expression: {e}");
        // Alone first: wrapped, `a)|(b` would be valid and mean something else.
        regex_lite::Regex::new(pattern).map_err(invalid)?;
        regex_lite::Regex::new(&format!("^(?:{pattern})$"))
            .map(ValidationExpression)
            .map_err(invalid)
    }

    pub fn is_match(&self, token: &str) -> bool {
        self.0.is_match(token)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::test_support::test;

    fn header(name: &str) -> IdentitySource {
        IdentitySource::Header(name.into())
    }

    #[test]
    fn parses_aws_identity_sources() {
        let cases: &[(&str, &[IdentitySource])] = &[
            ("method.request.header.Authorization", &[header("authorization")]),
            ("  method.request.header.X-Api-Token  ", &[header("x-api-token")]),
            (
                "method.request.header.Authorization, method.request.querystring.token, \
                 stageVariables.v, context.sourceIp",
                &[
                    header("authorization"),
                    IdentitySource::Query("token".into()),
                    IdentitySource::StageVariable("v".into()),
                    IdentitySource::Context("identity.sourceIp".into()),
                ],
            ),
            (
                "context.identity.sourceIp,context.identity.userAgent,context.httpMethod,\
                 context.path,context.resourcePath,context.stage,context.requestId",
                &[
                    IdentitySource::Context("identity.sourceIp".into()),
                    IdentitySource::Context("identity.userAgent".into()),
                    IdentitySource::Context("httpMethod".into()),
                    IdentitySource::Context("path".into()),
                    IdentitySource::Context("resourcePath".into()),
                    IdentitySource::Context("stage".into()),
                    IdentitySource::Context("requestId".into()),
                ],
            ),
            ("method.request.querystring.Ticket Id", &[IdentitySource::Query("Ticket Id".into())]),
            ("stageVariables.tenant_1", &[IdentitySource::StageVariable("tenant_1".into())]),
        ];
        for (text, want) in cases {
            assert_eq!(parse_identity_sources(text).as_deref(), Ok(*want), "{text}");
        }
    }

    #[test]
    fn bad_identity_sources_say_which_and_why() {
        let cases = [
            ("", "no identity source"),
            ("   ", "no identity source"),
            ("method.request.header.Authorization,", "source 2 ``: is empty"),
            ("method.request.header.", "source 1 `method.request.header.`: `` is not a valid"),
            ("method.request.header.Bad Name", "`Bad Name` is not a valid header name"),
            ("method.request.querystring.", "needs a query string parameter name"),
            ("stageVariables.a-b", "`a-b` is not a stage variable name"),
            ("stageVariables.", "`` is not a stage variable name"),
            ("context.authorizer.claims", "`authorizer.claims` is not a supported context"),
            ("method.request.path.id", "path parameters cannot be identity sources"),
            ("$request.header.Auth", "HTTP API syntax"),
            ("Method.Request.Header.Auth", "expected `method.request.header.NAME`"),
            ("header.Authorization", "expected"),
            (
                "method.request.header.A, method.request.header.a",
                "source 2 `method.request.header.a` is listed twice",
            ),
            (
                "context.sourceIp, context.identity.sourceIp",
                "source 2 `context.identity.sourceIp` is listed twice",
            ),
        ];
        for (text, reason) in cases {
            let err = parse_identity_sources(text).unwrap_err();
            assert!(err.contains(reason), "{text:?}: {err}");
        }
    }

    #[test]
    fn sources_print_as_aws_expressions() {
        let text = "method.request.header.authorization, method.request.querystring.t, \
                    stageVariables.v, context.identity.sourceIp";
        let printed: Vec<String> =
            parse_identity_sources(text).unwrap().iter().map(ToString::to_string).collect();
        assert_eq!(printed.join(", "), text.split_whitespace().collect::<Vec<_>>().join(" "));
    }

    fn view<'a>(
        headers: &'a [(String, Vec<u8>)],
        query: &'a [u8],
        stage_variables: &'a BTreeMap<String, String>,
        source_ip: Option<&'a str>,
    ) -> RequestView<'a> {
        RequestView {
            http_method: "GET",
            path: "/pets/7",
            query,
            headers,
            resource: "/pets/{petId}",
            path_parameters: &[],
            stage_variables,
            stage: "prod",
            request_id: "req-1",
            source_ip,
            user_agent: None,
        }
    }

    #[test]
    fn values_come_from_the_request_and_any_missing_one_is_none() {
        let headers: Vec<(String, Vec<u8>)> = vec![
            (":authority".into(), b"api.example.com".to_vec()),
            ("authorization".into(), b"Bearer first".to_vec()),
            ("authorization".into(), b"Bearer last".to_vec()),
            ("x-empty".into(), Vec::new()),
            ("x-latin".into(), b"caf\xe9".to_vec()),
        ];
        let stage_variables =
            BTreeMap::from([("tenant".to_owned(), "t1".to_owned()), ("blank".into(), "".into())]);
        let query = b"token=a%20b+c&flag&empty=&token=second&x=%zz";
        let v = view(&headers, query, &stage_variables, Some("192.0.2.1"));
        let cases: &[(&str, Option<&[&str]>)] = &[
            ("method.request.header.Authorization", Some(&["Bearer last"])),
            ("method.request.header.Host", Some(&["api.example.com"])),
            ("method.request.header.X-Latin", Some(&["caf\u{fffd}"])),
            ("method.request.querystring.token", Some(&["second"])),
            ("method.request.querystring.x", Some(&["%zz"])),
            (
                "method.request.header.authorization, stageVariables.tenant, context.sourceIp, \
                 context.httpMethod, context.path, context.resourcePath, context.stage, \
                 context.requestId",
                Some(&[
                    "Bearer last",
                    "t1",
                    "192.0.2.1",
                    "GET",
                    "/pets/7",
                    "/pets/{petId}",
                    "prod",
                    "req-1",
                ]),
            ),
            ("method.request.header.x-missing", None),
            ("method.request.header.x-empty", None),
            ("method.request.header.authorization, method.request.header.x-missing", None),
            ("method.request.querystring.flag", None),
            ("method.request.querystring.empty", None),
            ("method.request.querystring.nope", None),
            ("stageVariables.blank", None),
            ("stageVariables.nope", None),
            ("context.identity.userAgent", None),
        ];
        for (text, want) in cases {
            let sources = parse_identity_sources(text).unwrap();
            let got = identity_values(&sources, &v);
            let want = want.map(|w| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
            assert_eq!(got, want, "{text}");
        }
        let no_ip = view(&headers, b"", &stage_variables, None);
        let sources = parse_identity_sources("context.identity.sourceIp").unwrap();
        assert_eq!(identity_values(&sources, &no_ip), None);
        let query_source = parse_identity_sources("method.request.querystring.token").unwrap();
        assert_eq!(identity_values(&query_source, &no_ip), None);
        assert_eq!(identity_values(&[], &no_ip), Some(Vec::new()));
        assert_eq!(identity_values(&[IdentitySource::Context("apiKey".into())], &v), None);
    }

    #[test]
    fn the_host_header_wins_over_authority() {
        let headers: Vec<(String, Vec<u8>)> = vec![
            (":authority".into(), b"from-authority".to_vec()),
            ("host".into(), b"from-host".to_vec()),
        ];
        let stage_variables = BTreeMap::new();
        let v = view(&headers, b"", &stage_variables, None);
        let sources = parse_identity_sources("method.request.header.Host").unwrap();
        assert_eq!(identity_values(&sources, &v), Some(vec!["from-host".to_owned()]));
    }

    #[test]
    fn validation_expressions_match_the_whole_token() {
        let cases: &[(&str, &str, bool)] = &[
            ("Bearer .*", "Bearer abc", true),
            ("Bearer .*", "xBearer abc", false),
            ("^Bearer [-0-9a-zA-Z\\.]*$", "Bearer a.b-c", true),
            ("^Bearer [-0-9a-zA-Z\\.]*$", "Bearer a b", false),
            ("[a-z]+", "abc", true),
            ("[a-z]+", "abc1", false),
            ("allow|deny", "deny", true),
            ("allow|deny", "allowed", false),
            ("", "", true),
            ("", "x", false),
        ];
        for (pattern, token, want) in cases {
            let re = ValidationExpression::compile(pattern).unwrap();
            assert_eq!(re.is_match(token), *want, "{pattern:?} on {token:?}");
        }
        for pattern in ["(", "[a-", "a{2,1}", "(?<=x)a", "(a)\\1", "a)|(b", ")"] {
            let err = ValidationExpression::compile(pattern).unwrap_err();
            assert!(err.contains("is not a valid regular expression"), "{pattern}: {err}");
        }
    }
}
