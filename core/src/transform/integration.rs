//! A method's integration compiled once: its parameter mappings, request templates by
//! Content-Type with the passthrough behaviour, and integration responses selected by the
//! backend's status code.

use std::collections::BTreeMap;

use crate::config::ContentHandling;
use crate::config::{
    ConfigError, Integration, IntegrationResponse, IntegrationType, PassthroughBehavior,
};
use crate::transform::aws_service::AwsTarget;
use crate::transform::mapping::{self, Mapping, Target};
use crate::vtl::Template;

#[derive(Debug, Clone)]
pub struct IntegrationPlan {
    pub kind: IntegrationType,
    /// The URI's path split at its `{name}` parameters, when a URI is configured.
    pub uri_path: Option<Vec<UriPart>>,
    /// The URI's host (and port): the request's `:authority`, and its host the Envoy cluster
    /// named in [`CLUSTER_HEADER`] (routes with `cluster_header` go there).
    pub uri_authority: Option<String>,
    /// The URI's query (`a=1&b=2`), sent before any mapped query parameters.
    pub uri_query: Option<String>,
    pub request_mappings: Vec<Mapping<Target>>,
    /// (media type, template), media types lowercase.
    pub request_templates: Vec<(String, Template)>,
    pub passthrough: PassthroughBehavior,
    pub responses: Vec<ResponsePlan>,
    /// AWS_PROXY: the function to invoke.
    pub lambda: Option<LambdaTarget>,
    /// AWS: the service request.
    pub aws: Option<AwsTarget>,
    /// `contentHandling` of the request body.
    pub content_handling: Option<ContentHandling>,
}

/// A Lambda function behind an Envoy cluster, as the Invoke API addresses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaTarget {
    pub cluster: String,
    pub authority: String,
    /// `/2015-03-31/functions/{name}/invocations`.
    pub path: String,
    pub timeout_ms: u32,
}

/// The request header that names the Envoy cluster an HTTP integration's URI points at.
pub const CLUSTER_HEADER: &str = "x-tollgate-cluster";

/// API Gateway's integration timeouts, for every integration type: from 50 ms to 29 s by
/// default, and up to 300 s for Regional and private REST APIs (after a quota increase).
pub const MIN_INTEGRATION_TIMEOUT_MS: u32 = 50;
pub const MAX_INTEGRATION_TIMEOUT_MS: u32 = 300_000;

/// A timeout within [`MIN_INTEGRATION_TIMEOUT_MS`]..=[`MAX_INTEGRATION_TIMEOUT_MS`].
pub(crate) fn check_timeout(timeout_ms: u32, field: &str) -> Result<(), ConfigError> {
    if (MIN_INTEGRATION_TIMEOUT_MS..=MAX_INTEGRATION_TIMEOUT_MS).contains(&timeout_ms) {
        return Ok(());
    }
    Err(ConfigError::new(
        field,
        format!(
            "{timeout_ms} is not in {MIN_INTEGRATION_TIMEOUT_MS}-{MAX_INTEGRATION_TIMEOUT_MS} \
             (milliseconds)"
        ),
    ))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UriPart {
    Text(String),
    Param(String),
}

#[derive(Debug, Clone)]
pub struct ResponsePlan {
    /// `None`: the default response.
    pub pattern: Option<regex_lite::Regex>,
    pub status: Option<u16>,
    pub mappings: Vec<Mapping<String>>,
    /// (media type, template), media types lowercase.
    pub templates: Vec<(String, Template)>,
    /// `contentHandling` of the backend's body.
    pub content_handling: Option<ContentHandling>,
}

/// What to do with the request body for this Content-Type.
#[derive(Debug, Clone, Copy)]
pub enum RequestBody<'p> {
    /// Replace it with the template's output.
    Template(&'p Template),
    /// Pass it on unchanged.
    Passthrough,
    /// 415 Unsupported Media Type.
    Unsupported,
}

impl IntegrationPlan {
    /// `stage_variables` fill `${stageVariables.NAME}` in a Lambda function's name.
    pub fn compile(
        integration: &Integration,
        stage_variables: &BTreeMap<String, String>,
        path: &str,
    ) -> Result<IntegrationPlan, ConfigError> {
        let kind = integration.kind;
        let lambda = match (&integration.function, kind) {
            (Some(f), IntegrationType::AwsProxy) => {
                Some(lambda_target(f, stage_variables, &format!("{path}.function"))?)
            }
            (None, IntegrationType::AwsProxy) => {
                return Err(ConfigError::new(
                    format!("{path}.function"),
                    "an AWS_PROXY integration names its Lambda function",
                ))
            }
            (Some(_), _) => {
                return Err(ConfigError::new(
                    format!("{path}.function"),
                    "only AWS_PROXY integrations invoke a function",
                ))
            }
            (None, _) => None,
        };
        if matches!(kind, IntegrationType::HttpProxy | IntegrationType::AwsProxy) {
            if !integration.request_templates.is_empty() {
                return Err(ConfigError::new(
                    format!("{path}.request_templates"),
                    "a proxy integration passes the body through; use HTTP for templates",
                ));
            }
            if !integration.responses.is_empty() {
                return Err(ConfigError::new(
                    format!("{path}.responses"),
                    "a proxy integration passes the response through; use HTTP to map it",
                ));
            }
        }
        if kind == IntegrationType::AwsProxy && !integration.request_parameters.is_empty() {
            return Err(ConfigError::new(
                format!("{path}.request_parameters"),
                "a Lambda proxy integration gets the whole request in its event; nothing is mapped",
            ));
        }
        check_timeout(integration.timeout_ms, &format!("{path}.timeout_ms"))?;
        let request_mappings = mapping::compile_request(
            &integration.request_parameters,
            &format!("{path}.request_parameters"),
        )?;
        let uri = match &integration.uri {
            Some(uri) => Some(
                substitute_stage_variables(uri, stage_variables)
                    .map_err(|r| ConfigError::new(format!("{path}.uri"), r))?,
            ),
            None => None,
        };
        let uri = uri.as_deref();
        let mut uri_authority = None;
        let mut uri_query = None;
        let (uri_path, aws) = match (kind, uri) {
            (IntegrationType::Http | IntegrationType::HttpProxy, Some(uri)) => {
                let parts =
                    parse_uri_path(uri).map_err(|r| ConfigError::new(format!("{path}.uri"), r))?;
                uri_authority = Some(uri_host(uri));
                uri_query = uri.split_once('?').map(|(_, q)| q.to_string()).filter(|q| !q.is_empty());
                (Some(parts), None)
            }
            (IntegrationType::Aws, Some(uri)) => {
                let target = AwsTarget::compile(
                    uri,
                    &integration.http_method,
                    integration.cluster.as_deref(),
                    integration.timeout_ms,
                    path,
                )?;
                (None, Some(target))
            }
            (IntegrationType::Aws, None) => {
                return Err(ConfigError::new(
                    format!("{path}.uri"),
                    "an AWS integration names its service action: arn:aws:apigateway:REGION:SERVICE:action/ACTION",
                ))
            }
            (IntegrationType::Mock, Some(_)) => {
                return Err(ConfigError::new(format!("{path}.uri"), "a MOCK integration calls nothing"))
            }
            // A Lambda proxy's URI (the function's ARN) is informational: `function` is called.
            _ => (None, None),
        };
        if kind != IntegrationType::Aws && integration.cluster.is_some() {
            return Err(ConfigError::new(
                format!("{path}.cluster"),
                "only AWS integrations name a service cluster (Envoy routes the others)",
            ));
        }
        for m in &request_mappings {
            if let Target::Path(name) = &m.target {
                let param = UriPart::Param(name.clone());
                let used = uri_path.as_ref().is_some_and(|parts| parts.contains(&param))
                    || aws.as_ref().is_some_and(|t| t.path.contains(&param));
                if !used {
                    return Err(ConfigError::new(
                        format!("{path}.request_parameters.integration.request.path.{name}"),
                        format!("the integration `uri` has no `{{{name}}}` to substitute"),
                    ));
                }
            }
        }
        // The other way round: every `{name}` of the URI is filled by a mapping, never left
        // empty (an unmapped `{petId}` would turn `/pets/{petId}` into `/pets/`, another
        // resource of the backend).
        let params = uri_path.iter().chain(aws.as_ref().map(|t| &t.path)).flatten();
        for part in params {
            let UriPart::Param(name) = part else { continue };
            let mapped =
                request_mappings.iter().any(|m| matches!(&m.target, Target::Path(n) if n == name));
            if !mapped {
                return Err(ConfigError::new(
                    format!("{path}.uri"),
                    format!(
                        "`{{{name}}}` is filled by no request parameter: map it with \
                         `integration.request.path.{name}` (for example from \
                         `method.request.path.{name}`)"
                    ),
                ));
            }
        }
        let request_templates =
            templates(&integration.request_templates, &format!("{path}.request_templates"))?;
        let mut responses = Vec::with_capacity(integration.responses.len());
        let mut default = None;
        for (pattern, response) in &integration.responses {
            let field = format!("{path}.responses.{pattern}");
            let plan = compile_response(pattern, response, &field)?;
            if plan.pattern.is_none() {
                default = Some(plan);
            } else {
                responses.push(plan);
            }
        }
        responses.extend(default);
        Ok(IntegrationPlan {
            kind,
            uri_path,
            uri_authority,
            uri_query,
            request_mappings,
            request_templates,
            passthrough: integration.passthrough_behavior,
            content_handling: integration.content_handling,
            responses,
            lambda,
            aws,
        })
    }

    /// The request template for this Content-Type (none: `application/json`, as on AWS), or
    /// what the passthrough behaviour says.
    pub fn request_body(&self, content_type: Option<&[u8]>) -> RequestBody<'_> {
        let media = media_type(content_type);
        if let Some((_, t)) = self.request_templates.iter().find(|(m, _)| *m == media) {
            return RequestBody::Template(t);
        }
        match self.passthrough {
            PassthroughBehavior::WhenNoMatch => RequestBody::Passthrough,
            PassthroughBehavior::WhenNoTemplates if self.request_templates.is_empty() => {
                RequestBody::Passthrough
            }
            PassthroughBehavior::WhenNoTemplates | PassthroughBehavior::Never => {
                RequestBody::Unsupported
            }
        }
    }

    /// The integration response for the backend's status (`selector`: its status code, or
    /// for a MOCK the `statusCode` its request template gave): the first pattern that matches
    /// all of it, else the default.
    pub fn select_response(&self, selector: &str) -> Option<&ResponsePlan> {
        self.responses.iter().find(|r| match &r.pattern {
            Some(re) => re.is_match(selector),
            None => true,
        })
    }

    /// The default integration response (the one without a selection pattern).
    pub fn default_response(&self) -> Option<&ResponsePlan> {
        self.responses.iter().find(|r| r.pattern.is_none())
    }

    /// An AWS integration that invokes a Lambda function (a Lambda custom integration), whose
    /// integration response is chosen by the function's error message.
    pub fn invokes_lambda(&self) -> bool {
        self.aws.as_ref().is_some_and(|t| t.authority.starts_with("lambda."))
    }

    /// Whether the request phase reads the body: templates, mappings into the body, or an
    /// integration the gateway calls itself (a Lambda proxy event carries the body; an AWS
    /// service or Lambda custom integration without a template for the body's type gets the
    /// body passed through, as on AWS).
    pub fn needs_body(&self) -> bool {
        let templates =
            self.kind != IntegrationType::HttpProxy && !self.request_templates.is_empty();
        matches!(self.kind, IntegrationType::AwsProxy | IntegrationType::Aws)
            || templates
            || (self.kind == IntegrationType::Http && self.content_handling.is_some())
            || self
                .request_mappings
                .iter()
                .any(|m| matches!(m.source, crate::transform::mapping::Source::Body(_)))
    }

    /// Whether anything of the integration reads `$context` (templates, integration responses,
    /// a `context.*` mapping, the Lambda proxy event, a MOCK): if not, the pipeline neither
    /// builds it nor reads the source address for it.
    pub fn reads_context(&self) -> bool {
        !matches!(self.kind, IntegrationType::Http | IntegrationType::HttpProxy)
            || !self.request_templates.is_empty()
            || self.maps_responses()
            || self.request_mappings.iter().any(|m| matches!(m.source, mapping::Source::Context(_)))
    }

    /// Whether the response phase has work: integration responses to apply.
    pub fn maps_responses(&self) -> bool {
        matches!(self.kind, IntegrationType::Http | IntegrationType::Aws)
            && !self.responses.is_empty()
    }
}

impl ResponsePlan {
    /// The response template for what the client accepts: an exact media type from `Accept`,
    /// else `application/json`, else the first one.
    pub fn template(&self, accept: Option<&[u8]>) -> Option<&(String, Template)> {
        let accepted = accept.map(String::from_utf8_lossy).unwrap_or_default();
        let wanted = accepted
            .split(',')
            .map(|m| media_type(Some(m.as_bytes())))
            .find(|m| self.templates.iter().any(|(t, _)| t == m));
        let by = |name: &str| self.templates.iter().find(|(m, _)| m == name);
        wanted.as_deref().and_then(by).or_else(|| by("application/json")).or(self.templates.first())
    }
}

fn lambda_target(
    f: &crate::config::LambdaFunction,
    stage_variables: &BTreeMap<String, String>,
    path: &str,
) -> Result<LambdaTarget, ConfigError> {
    let mut name = f.name.clone();
    for (var, value) in stage_variables {
        name = name.replace(&format!("${{stageVariables.{var}}}"), value);
    }
    let name_ok =
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_:.".contains(&b));
    if !name_ok || f.cluster.is_empty() || f.authority.is_empty() {
        return Err(ConfigError::new(
            path,
            format!(
                "needs a cluster, an authority and a function name (letters, digits, `-_:.`, \
                 `${{stageVariables.NAME}}` of a defined variable); the name is `{name}`"
            ),
        ));
    }
    check_timeout(f.timeout_ms, &format!("{path}.timeout_ms"))?;
    Ok(LambdaTarget {
        cluster: f.cluster.clone(),
        authority: f.authority.clone(),
        path: format!("/2015-03-31/functions/{name}/invocations"),
        timeout_ms: f.timeout_ms,
    })
}

fn compile_response(
    pattern: &str,
    response: &IntegrationResponse,
    path: &str,
) -> Result<ResponsePlan, ConfigError> {
    let pattern = if pattern == "default" {
        None
    } else {
        // A selection pattern matches the whole selector, as Java's `String.matches` does.
        let anchored = format!("^(?:{pattern})$");
        Some(regex_lite::Regex::new(&anchored).map_err(|e| {
            ConfigError::new(path, format!("selection pattern `{pattern}` is not a regex: {e}"))
        })?)
    };
    let status = match &response.status_code {
        None => None,
        Some(code) => match code.parse::<u16>() {
            Ok(s) if (100..=599).contains(&s) => Some(s),
            _ => {
                return Err(ConfigError::new(
                    format!("{path}.status_code"),
                    format!("`{code}` is not an HTTP status (100-599)"),
                ))
            }
        },
    };
    Ok(ResponsePlan {
        pattern,
        status,
        mappings: mapping::compile_response(
            &response.response_parameters,
            &format!("{path}.response_parameters"),
        )?,
        templates: templates(&response.response_templates, &format!("{path}.response_templates"))?,
        content_handling: response.content_handling,
    })
}

fn templates(
    map: &BTreeMap<String, String>,
    path: &str,
) -> Result<Vec<(String, Template)>, ConfigError> {
    let mut out = Vec::with_capacity(map.len());
    for (media, source) in map {
        let template = Template::parse(source)
            .map_err(|e| ConfigError::new(format!("{path}.{media}"), e.to_string()))?;
        out.push((media_type(Some(media.as_bytes())), template));
    }
    Ok(out)
}

/// `${stageVariables.name}` and `$stageVariables.name` replaced by the stage's values; an
/// undefined variable is an error.
pub fn substitute_stage_variables(
    text: &str,
    variables: &BTreeMap<String, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("$stageVariables.").or_else(|| rest.find("${stageVariables.")) {
        let at = rest.find("${stageVariables.").filter(|b| *b < at).unwrap_or(at);
        out.push_str(rest.get(..at).unwrap_or_default());
        let after = rest.get(at..).unwrap_or_default();
        let (braced, body) = match after.strip_prefix("${stageVariables.") {
            Some(body) => (true, body),
            None => (false, after.strip_prefix("$stageVariables.").unwrap_or_default()),
        };
        let len = body.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
        let name = body.get(..len).unwrap_or_default();
        let mut tail = body.get(len..).unwrap_or_default();
        if braced {
            tail = tail.strip_prefix('}').ok_or_else(|| format!("`{text}`: unclosed `${{`"))?;
        }
        let value = variables
            .get(name)
            .ok_or_else(|| format!("stage variable `{name}` is not defined for this stage"))?;
        out.push_str(value);
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

/// `http://orders-v2:8080/x` -> `orders-v2:8080`.
fn uri_host(uri: &str) -> String {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or_default().to_string()
}

/// `Application/JSON; charset=utf-8` -> `application/json`; none -> `application/json`.
pub fn media_type(content_type: Option<&[u8]>) -> String {
    let text = content_type.map(String::from_utf8_lossy).unwrap_or_default();
    let media = text.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if media.is_empty() {
        "application/json".to_string()
    } else {
        media
    }
}

/// The path of `http://host:port/a/{b}/c?x=1` split at its `{name}` parameters (the query is
/// left out: `integration.request.querystring.*` mappings build it).
fn parse_uri_path(uri: &str) -> Result<Vec<UriPart>, String> {
    let rest = uri
        .strip_prefix("http://")
        .or_else(|| uri.strip_prefix("https://"))
        .ok_or_else(|| format!("`{uri}` is not an http:// or https:// URI"))?;
    let path = rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("/");
    let path = path.split('?').next().unwrap_or("/");
    split_path_template(path).map_err(|why| format!("`{uri}` {why}"))
}

/// `/a/{b}/c` split at its `{name}` (or greedy `{name+}`) parameters.
pub(crate) fn split_path_template(path: &str) -> Result<Vec<UriPart>, String> {
    let mut parts = Vec::new();
    let mut remaining = path;
    while let Some(open) = remaining.find('{') {
        let close = remaining
            .get(open..)
            .and_then(|s| s.find('}'))
            .map(|c| c + open)
            .ok_or_else(|| "has an unclosed `{`".to_string())?;
        let text = remaining.get(..open).unwrap_or_default();
        let name = remaining.get(open + 1..close).unwrap_or_default();
        let name = name.strip_suffix('+').unwrap_or(name);
        if name.is_empty() {
            return Err("has an empty `{}`".to_string());
        }
        if !text.is_empty() {
            parts.push(UriPart::Text(text.to_string()));
        }
        parts.push(UriPart::Param(name.to_string()));
        remaining = remaining.get(close + 1..).unwrap_or_default();
    }
    if !remaining.is_empty() {
        parts.push(UriPart::Text(remaining.to_string()));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    fn plan(json: serde_json::Value) -> Result<IntegrationPlan, ConfigError> {
        let integration: Integration = serde_json::from_value(json).unwrap();
        let vars: BTreeMap<String, String> = [("fn".to_string(), "orders-v2".to_string())].into();
        IntegrationPlan::compile(&integration, &vars, "methods[0].integration")
    }

    #[test]
    fn responses_are_selected_by_whole_status_pattern_then_default() {
        let p = plan(serde_json::json!({
            "type": "HTTP",
            "responses": {
                "default": {"status_code": "200"},
                "4\\d{2}": {"status_code": "400"},
                "5\\d{2}": {"status_code": "502"},
            }
        }))
        .unwrap();
        let status = |s: &str| p.select_response(s).and_then(|r| r.status);
        assert_eq!(status("200"), Some(200));
        assert_eq!(status("404"), Some(400));
        assert_eq!(status("503"), Some(502));
        assert_eq!(status("4040"), Some(200), "a pattern matches the whole selector");
        let none = plan(serde_json::json!({"type": "HTTP", "responses": {"2\\d{2}": {}}})).unwrap();
        assert!(none.select_response("500").is_none());
    }

    #[test]
    fn passthrough_behaviours_follow_aws() {
        let with_json = |behavior: &str| {
            plan(serde_json::json!({
                "type": "HTTP",
                "passthrough_behavior": behavior,
                "request_templates": {"application/json": "{}"},
            }))
            .unwrap()
        };
        let none = |behavior: &str| {
            plan(serde_json::json!({"type": "HTTP", "passthrough_behavior": behavior})).unwrap()
        };
        let kind =
            |p: &IntegrationPlan, ct: Option<&str>| match p.request_body(ct.map(str::as_bytes)) {
                RequestBody::Template(_) => "template",
                RequestBody::Passthrough => "pass",
                RequestBody::Unsupported => "415",
            };
        for behavior in ["WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER"] {
            assert_eq!(
                kind(&with_json(behavior), Some("Application/JSON; charset=utf-8")),
                "template"
            );
            assert_eq!(kind(&with_json(behavior), None), "template", "no Content-Type is JSON");
        }
        assert_eq!(kind(&with_json("WHEN_NO_MATCH"), Some("text/plain")), "pass");
        assert_eq!(kind(&with_json("WHEN_NO_TEMPLATES"), Some("text/plain")), "415");
        assert_eq!(kind(&with_json("NEVER"), Some("text/plain")), "415");
        assert_eq!(kind(&none("WHEN_NO_TEMPLATES"), Some("text/plain")), "pass");
        assert_eq!(kind(&none("NEVER"), Some("text/plain")), "415");
    }

    #[test]
    fn response_template_follows_accept() {
        let p = plan(serde_json::json!({
            "type": "HTTP",
            "responses": {"default": {"response_templates": {
                "text/html": "<p>$input.body</p>",
                "application/json": "{}",
            }}}
        }))
        .unwrap();
        let r = p.select_response("200").unwrap();
        let media = |accept: Option<&str>| r.template(accept.map(str::as_bytes)).unwrap().0.clone();
        assert_eq!(media(Some("text/html")), "text/html");
        assert_eq!(media(Some("text/csv, text/html;q=0.9")), "text/html");
        assert_eq!(media(Some("*/*")), "application/json");
        assert_eq!(media(None), "application/json");
    }

    #[test]
    fn stage_variables_fill_uris() {
        let vars: BTreeMap<String, String> =
            [("host".to_string(), "orders-v2".to_string()), ("v".to_string(), "2".to_string())]
                .into();
        assert_eq!(
            substitute_stage_variables(
                "http://${stageVariables.host}:8080/v$stageVariables.v/x?a=$stageVariables.v",
                &vars
            )
            .unwrap(),
            "http://orders-v2:8080/v2/x?a=2"
        );
        assert!(substitute_stage_variables("http://${stageVariables.nope}/", &vars)
            .unwrap_err()
            .contains("nope"));
        assert!(substitute_stage_variables("http://${stageVariables.host/", &vars).is_err());
        assert_eq!(uri_host("http://orders-v2:8080/v2/x"), "orders-v2:8080");
        assert_eq!(uri_host("https://h"), "h");
    }

    #[test]
    fn uri_paths_split_at_parameters() {
        assert_eq!(
            parse_uri_path("http://orders:8080/v2/orders/{id}/items/{item}?x=1").unwrap(),
            vec![
                UriPart::Text("/v2/orders/".into()),
                UriPart::Param("id".into()),
                UriPart::Text("/items/".into()),
                UriPart::Param("item".into()),
            ]
        );
        assert_eq!(parse_uri_path("https://h").unwrap(), vec![UriPart::Text("/".into())]);
        assert!(parse_uri_path("ftp://h/x").is_err());
        assert!(parse_uri_path("http://h/{x").is_err());
    }

    /// Every integration type takes AWS's timeouts: 50 ms to 300 s.
    #[test]
    fn timeouts_up_to_300_s_for_every_integration_type() {
        let lambda = |ms: u32| {
            serde_json::json!({"type": "AWS_PROXY",
                "function": {"cluster": "l", "authority": "lambda", "name": "f", "timeout_ms": ms}})
        };
        let http = |ms: u32| serde_json::json!({"type": "HTTP_PROXY", "uri": "http://h:1/x", "timeout_ms": ms});
        for integration in [lambda(60_000), lambda(300_000), http(120_000), http(50)] {
            let config = serde_json::json!({"api": {"id": "a"}, "methods": [
                {"resource": "/a", "http_method": "GET", "integration": integration}]});
            assert!(
                crate::plan::Plan::from_json(config.to_string().as_bytes()).is_ok(),
                "{config}"
            );
        }
        for integration in [lambda(300_001), http(300_001), http(49)] {
            let config = serde_json::json!({"api": {"id": "a"}, "methods": [
                {"resource": "/a", "http_method": "GET", "integration": integration}]});
            let err = crate::plan::Plan::from_json(config.to_string().as_bytes()).unwrap_err();
            assert!(err.path.ends_with("timeout_ms"), "{err}");
        }
    }

    #[test]
    fn bad_integrations_are_config_errors_with_their_path() {
        let cases = [
            (
                serde_json::json!({"type": "HTTP_PROXY", "request_templates": {"application/json": "{}"}}),
                "methods[0].integration.request_templates",
            ),
            (
                serde_json::json!({"type": "HTTP", "responses": {"([": {}}}),
                "methods[0].integration.responses.([",
            ),
            (
                serde_json::json!({"type": "HTTP", "responses": {"default": {"status_code": "2000"}}}),
                "methods[0].integration.responses.default.status_code",
            ),
            (
                serde_json::json!({"type": "HTTP", "request_templates": {"application/json": "#if($a)"}}),
                "methods[0].integration.request_templates.application/json",
            ),
            (
                serde_json::json!({"type": "HTTP", "request_parameters": {"integration.request.path.id": "method.request.path.id"}}),
                "methods[0].integration.request_parameters.integration.request.path.id",
            ),
        ];
        for (json, path) in cases {
            let err = plan(json.clone()).unwrap_err();
            assert_eq!(err.path, path, "{json}: {err}");
        }
        let err = plan(serde_json::json!({"type": "HTTP", "request_templates": {"application/json": "a\n#foreach($x in $y)\nb"}}))
            .unwrap_err();
        assert!(err.reason.contains("line 2"), "{err}");
    }
}
