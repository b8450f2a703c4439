//! Every rejection becomes an AWS gateway response here, and only here: status, JSON body
//! `{"message":"..."}`, `x-amzn-ErrorType` and `x-amzn-RequestId`, with per-type overrides.

use std::collections::BTreeMap;

pub use crate::config::ResponseType;
use crate::config::{ConfigError, GatewayResponseOverride, HeaderValue};
use crate::vtl::{Input, Template};

/// Why a request is refused: the response type and the message for `{"message": ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub kind: ResponseType,
    pub message: Option<String>,
    /// `x-amzn-ErrorType` when it is not the response type's own (AWS sends, for instance,
    /// `IncompleteSignatureException` under `INVALID_SIGNATURE`).
    pub error_type: Option<&'static str>,
    /// What the request validator found (`$context.error.validationErrorString`).
    pub validation_error: Option<String>,
    /// The status when it is not the response type's own (AWS answers a malformed Lambda
    /// proxy response with a 502 under `DEFAULT_5XX`).
    pub status: Option<u16>,
    /// Why, for logs, when the response type says too little (`missing_api_key` and
    /// `disabled_api_key` are both `INVALID_API_KEY`): see [`Rejection::reason`].
    pub detail: Option<&'static str>,
    /// Rate-limit fields on a 429 when the API asks for them: `Retry-After` and the IETF
    /// draft's `RateLimit-Policy`/`RateLimit`.
    pub limit_headers: Option<Box<LimitHeaders>>,
}

/// `retry-after`, `ratelimit-policy` and `ratelimit` with their values.
pub type LimitHeaders = [(&'static str, String); 3];

impl Rejection {
    pub const fn new(kind: ResponseType) -> Self {
        Rejection {
            kind,
            message: None,
            error_type: None,
            validation_error: None,
            status: None,
            detail: None,
            limit_headers: None,
        }
    }

    pub fn with_message(kind: ResponseType, message: impl Into<String>) -> Self {
        Rejection {
            kind,
            message: Some(message.into()),
            error_type: None,
            validation_error: None,
            status: None,
            detail: None,
            limit_headers: None,
        }
    }

    /// Names why, for logs (`missing_api_key`).
    pub const fn because(mut self, detail: &'static str) -> Self {
        self.detail = Some(detail);
        self
    }

    /// A machine-readable reason: the detail if there is one, else the response type
    /// (`throttled`, `access_denied`).
    pub fn reason(&self) -> String {
        match self.detail {
            Some(detail) => detail.to_string(),
            None => self.kind.name().to_ascii_lowercase(),
        }
    }

    /// Rate-limit fields on the reply (`retry-after`, `ratelimit-policy`, `ratelimit`).
    pub fn limit_headers(mut self, headers: LimitHeaders) -> Self {
        self.limit_headers = Some(Box::new(headers));
        self
    }

    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub fn validation_error(mut self, detail: impl Into<String>) -> Self {
        self.validation_error = Some(detail.into());
        self
    }

    pub fn error_type(mut self, error_type: &'static str) -> Self {
        self.error_type = Some(error_type);
        self
    }

    pub fn message(&self) -> &str {
        self.message.as_deref().unwrap_or(self.kind.default_message())
    }
}

/// A response the gateway sends itself instead of calling the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl LocalReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Adds `x-amzn-RequestId` and `x-amz-apigw-id`, which every API Gateway answer carries
    /// (unless the reply has them already).
    pub fn with_request_ids(mut self, request_id: &str) -> LocalReply {
        let ids = [
            (REQUEST_ID_HEADER, request_id),
            (EXTENDED_ID_HEADER, crate::text::extended_request_id(request_id)),
        ];
        for (name, value) in ids {
            if self.header(name).is_none() {
                self.headers.push((name.to_string(), value.to_string()));
            }
        }
        self
    }
}

/// The request id on every answer.
pub const REQUEST_ID_HEADER: &str = "x-amzn-requestid";
/// The extended request id on every answer.
pub const EXTENDED_ID_HEADER: &str = "x-amz-apigw-id";

/// The gateway responses of one API, overrides compiled in.
#[derive(Debug, Clone, Default)]
pub struct GatewayResponses {
    overrides: BTreeMap<ResponseType, GatewayResponseOverride>,
    /// Body templates of the overrides that have any, by media type (`application/json`, the
    /// `body`, first).
    templates: BTreeMap<ResponseType, Vec<(String, Template)>>,
    /// `$context` fields that are the same for every response of the API.
    context: serde_json::Map<String, serde_json::Value>,
    /// The stage's variables, for `$stageVariables` in body templates.
    stage_variables: BTreeMap<String, String>,
    /// The overrides' headers, lower-case names, their values compiled.
    headers: BTreeMap<ResponseType, Vec<(String, Source)>>,
}

/// Whether a gateway response header may take its value from `expression` (else why not).
pub fn check_header_source(expression: &str) -> Result<(), String> {
    Source::compile(&HeaderValue::From { from: expression.to_string() }).map(|_| ())
}

/// Where a header's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Text(String),
    /// A request header (lower case; `:authority` and `:method` for `context.domainName` and
    /// `context.httpMethod`).
    RequestHeader(String),
    StageVariable(String),
    RequestId,
    ExtendedRequestId,
    /// A `$context` field that is the API's (`apiId`, `stage`, `accountId`).
    Api(&'static str),
}

impl Source {
    fn compile(value: &HeaderValue) -> Result<Source, String> {
        let from = match value {
            HeaderValue::Static(text) => return Ok(Source::Text(text.clone())),
            HeaderValue::From { from } => from.trim(),
        };
        if let Some(name) = from.strip_prefix("method.request.header.") {
            if !crate::text::is_token(name) {
                return Err(format!("`{name}` is not a valid header name"));
            }
            return Ok(Source::RequestHeader(name.to_ascii_lowercase()));
        }
        if let Some(name) = from.strip_prefix("stageVariables.") {
            return Ok(Source::StageVariable(name.to_string()));
        }
        match from.strip_prefix("context.") {
            Some("requestId") => Ok(Source::RequestId),
            Some("extendedRequestId") => Ok(Source::ExtendedRequestId),
            Some("domainName") => Ok(Source::RequestHeader(":authority".into())),
            Some("httpMethod") => Ok(Source::RequestHeader(":method".into())),
            Some("apiId") => Ok(Source::Api("apiId")),
            Some("stage") => Ok(Source::Api("stage")),
            Some("accountId") => Ok(Source::Api("accountId")),
            _ => Err(format!(
                "`{from}` is not one of method.request.header.NAME, stageVariables.NAME, \
                 context.requestId, context.extendedRequestId, context.domainName, \
                 context.httpMethod, context.apiId, context.stage, context.accountId"
            )),
        }
    }
}

impl GatewayResponses {
    /// `api`: the API's `(apiId, stage, accountId)` for templates' `$context`.
    pub fn compile(
        overrides: &BTreeMap<ResponseType, GatewayResponseOverride>,
        (api_id, stage, account_id): (&str, &str, &str),
    ) -> Result<Self, ConfigError> {
        let mut templates = BTreeMap::new();
        let mut headers = BTreeMap::new();
        for (kind, o) in overrides {
            let path = format!("gateway_responses.{}", kind.name());
            if let Some(status) = o.status {
                if !(100..=599).contains(&status) {
                    return Err(ConfigError::new(
                        format!("{path}.status"),
                        format!("{status} is not an HTTP status (100-599)"),
                    ));
                }
            }
            let mut compiled = Vec::with_capacity(o.headers.len());
            for (name, value) in &o.headers {
                if !crate::text::is_token(name) {
                    return Err(ConfigError::new(
                        format!("{path}.headers"),
                        format!("`{name}` is not a valid header name"),
                    ));
                }
                let source = Source::compile(value)
                    .map_err(|why| ConfigError::new(format!("{path}.headers.{name}"), why))?;
                compiled.push((name.to_ascii_lowercase(), source));
            }
            headers.insert(*kind, compiled);
            let mut bodies = Vec::new();
            if let Some(body) = &o.body {
                let template = Template::parse(body)
                    .map_err(|e| ConfigError::new(format!("{path}.body"), e.to_string()))?;
                bodies.push((JSON.to_string(), template));
            }
            for (media, body) in &o.templates {
                let field = format!("{path}.templates.{media}");
                let media = media.trim().to_ascii_lowercase();
                if !media.contains('/') || !media.split('/').all(crate::text::is_token) {
                    return Err(ConfigError::new(
                        field,
                        "is not a media type like application/xml",
                    ));
                }
                if bodies.iter().any(|(m, _)| *m == media) {
                    return Err(ConfigError::new(
                        field,
                        "is given twice (`body` is application/json's)",
                    ));
                }
                let template =
                    Template::parse(body).map_err(|e| ConfigError::new(&field, e.to_string()))?;
                bodies.push((media, template));
            }
            if !bodies.is_empty() {
                templates.insert(*kind, bodies);
            }
        }
        let mut context = serde_json::Map::new();
        context.insert("apiId".into(), api_id.into());
        context.insert("stage".into(), stage.into());
        context.insert("accountId".into(), account_id.into());
        let stage_variables = BTreeMap::new();
        Ok(GatewayResponses {
            overrides: overrides.clone(),
            templates,
            context,
            stage_variables,
            headers,
        })
    }

    /// The stage's variables, which body templates read as `$stageVariables.NAME`.
    pub fn with_stage_variables(mut self, variables: &BTreeMap<String, String>) -> Self {
        self.stage_variables = variables.clone();
        self
    }

    /// The override that applies: the type's own, else `DEFAULT_4XX` / `DEFAULT_5XX` as on AWS.
    /// The response type whose override applies to `kind`: its own when it has one, else
    /// `DEFAULT_4XX` / `DEFAULT_5XX` (status, headers and templates all come from it).
    fn applying(&self, kind: ResponseType) -> ResponseType {
        if self.overrides.contains_key(&kind) {
            kind
        } else if kind.status() >= 500 {
            ResponseType::Default5xx
        } else {
            ResponseType::Default4xx
        }
    }

    pub fn render(&self, rejection: &Rejection, request_id: &str) -> LocalReply {
        self.render_for(rejection, request_id, &|_| None)
    }

    /// [`GatewayResponses::render`] for a request whose headers `header` looks up (lower-case
    /// names), which headers mapped from `method.request.header.*` read.
    pub fn render_for(
        &self,
        rejection: &Rejection,
        request_id: &str,
        header: &dyn Fn(&str) -> Option<String>,
    ) -> LocalReply {
        let kind = rejection.kind;
        let message = rejection.message();
        let applying = self.applying(kind);
        let custom = self.overrides.get(&applying);
        let status = custom.and_then(|o| o.status).or(rejection.status).unwrap_or(kind.status());
        let template = self.templates.get(&applying);
        // Only a choice between templates reads the request's Accept.
        let choice = template.filter(|t| t.iter().any(|(media, _)| media != JSON));
        let accept = choice.and_then(|_| header("accept"));
        let (media, body) = match template.and_then(|t| choose(t, accept.as_deref())) {
            Some((media, template)) => {
                (media.as_str(), self.render_body(template, rejection, request_id))
            }
            None => (JSON, default_body(message)),
        };
        let mut headers = vec![
            ("content-type".to_string(), media.to_string()),
            (
                "x-amzn-errortype".to_string(),
                rejection.error_type.unwrap_or(kind.error_type()).to_string(),
            ),
        ];
        for (name, value) in rejection.limit_headers.iter().flat_map(|h| h.iter()) {
            headers.push((name.to_string(), value.clone()));
        }
        for (name, source) in self.headers.get(&applying).into_iter().flatten() {
            let value = match source {
                Source::Text(text) => Some(text.clone()),
                Source::RequestHeader(h) => header(h),
                Source::StageVariable(v) => self.stage_variables.get(v).cloned(),
                Source::RequestId => Some(request_id.to_string()),
                Source::ExtendedRequestId => {
                    Some(crate::text::extended_request_id(request_id).to_string())
                }
                Source::Api(field) => {
                    self.context.get(*field).and_then(|v| v.as_str()).map(str::to_string)
                }
            };
            headers.retain(|(n, _)| n != name);
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                headers.push((name.clone(), value));
            }
        }
        LocalReply { status, headers, body: body.into_bytes() }.with_request_ids(request_id)
    }
}

const JSON: &str = "application/json";

/// The template for what the client accepts: the first media type of `Accept` that has one,
/// else `application/json`'s (`None`: the default JSON body).
fn choose<'t>(
    templates: &'t [(String, Template)],
    accept: Option<&str>,
) -> Option<&'t (String, Template)> {
    let accepted = accept.into_iter().flat_map(|a| a.split(','));
    let wanted =
        accepted.map(|m| m.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    let mut found = None;
    for media in wanted {
        if let Some(t) = templates.iter().find(|(m, _)| *m == media) {
            found = Some(t);
            break;
        }
    }
    found.or_else(|| templates.iter().find(|(m, _)| m == JSON))
}

fn default_body(message: &str) -> String {
    serde_json::json!({ "message": message }).to_string()
}

impl GatewayResponses {
    /// A body template over `$context.error.*` (`messageString` is the message as a JSON string,
    /// quotes included), `$context.requestId` and the API's ids. A template that cannot render
    /// falls back to the default body.
    fn render_body(&self, template: &Template, rejection: &Rejection, request_id: &str) -> String {
        let message = rejection.message();
        let mut context = self.context.clone();
        context.insert("requestId".into(), request_id.into());
        context.insert(
            "error".into(),
            serde_json::json!({
                "message": message,
                "messageString": serde_json::Value::from(message).to_string(),
                "responseType": rejection.kind.name(),
                "validationErrorString": rejection.validation_error.as_deref().unwrap_or_default(),
            }),
        );
        let context = serde_json::Value::Object(context);
        let input = Input {
            body: b"",
            path: &[],
            querystring: &[],
            header: &[],
            context: &context,
            stage_variables: &self.stage_variables,
            json: None,
        };
        template.render(&input).unwrap_or_else(|_| default_body(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    fn responses(json: &str) -> GatewayResponses {
        let overrides: BTreeMap<ResponseType, GatewayResponseOverride> =
            serde_json::from_str(json).unwrap();
        GatewayResponses::compile(&overrides, ("a", "prod", "000000000000")).unwrap()
    }

    #[test]
    fn body_templates_read_stage_variables() {
        let vars = BTreeMap::from([("a".to_string(), "alpha".to_string())]);
        let r = responses(
            r#"{"MISSING_AUTHENTICATION_TOKEN": {"status": 404,
                "body": "{\"stage\": \"$context.stage\", \"a\": \"$stageVariables.a\"}"}}"#,
        )
        .with_stage_variables(&vars);
        let reply = r.render(&Rejection::new(ResponseType::MissingAuthenticationToken), "id-1");
        assert_eq!(reply.status, 404);
        assert_eq!(reply.body, br#"{"stage": "prod", "a": "alpha"}"#);
    }

    /// Templates per media type, chosen by the request's Accept; headers from the request, the
    /// stage variables and the context.
    #[test]
    fn templates_by_accept_and_headers_from_the_request() {
        let vars = BTreeMap::from([("env".to_string(), "beta".to_string())]);
        let r = responses(
            r#"{"DEFAULT_4XX": {
                "headers": {"Access-Control-Allow-Origin": {"from": "method.request.header.Origin"},
                            "x-env": {"from": "stageVariables.env"},
                            "x-id": {"from": "context.requestId"},
                            "x-fixed": "1"},
                "body": "{\"m\": $context.error.messageString}",
                "templates": {"application/xml": "<m>$context.error.message</m>"}}}"#,
        )
        .with_stage_variables(&vars);
        let rejection = Rejection::new(ResponseType::InvalidApiKey);
        let request = |accept: Option<&'static str>| {
            move |name: &str| match name {
                "accept" => accept.map(str::to_string),
                "origin" => Some("https://app.example.com".to_string()),
                _ => None,
            }
        };
        let xml =
            r.render_for(&rejection, "id-1", &request(Some("text/html, application/xml;q=0.9")));
        assert_eq!(
            (xml.header("content-type"), xml.body.as_slice()),
            (Some("application/xml"), &b"<m>Forbidden</m>"[..])
        );
        assert_eq!(xml.header("access-control-allow-origin"), Some("https://app.example.com"));
        assert_eq!(xml.header("x-env"), Some("beta"));
        assert_eq!(xml.header("x-id"), Some("id-1"));
        assert_eq!(xml.header("x-fixed"), Some("1"));
        for accept in [None, Some("text/html"), Some("*/*")] {
            let json = r.render_for(&rejection, "id-1", &request(accept));
            assert_eq!(json.header("content-type"), Some("application/json"), "{accept:?}");
            assert_eq!(json.body, br#"{"m": "Forbidden"}"#);
        }
        // No Origin: the header is left out.
        let bare = r.render(&rejection, "id-2");
        assert_eq!(bare.header("access-control-allow-origin"), None);
        let err = GatewayResponses::compile(
            &serde_json::from_str(
                r#"{"THROTTLED": {"headers": {"x": {"from": "method.request.body.a"}}}}"#,
            )
            .unwrap(),
            ("a", "prod", "123456789012"),
        )
        .unwrap_err();
        assert_eq!(err.path, "gateway_responses.THROTTLED.headers.x");
    }

    #[test]
    fn default_forbidden_matches_aws() {
        let reply = GatewayResponses::default()
            .render(&Rejection::new(ResponseType::InvalidApiKey), "req-1");
        assert_eq!(reply.status, 403);
        assert_eq!(reply.body, br#"{"message":"Forbidden"}"#);
        assert_eq!(reply.header("x-amzn-ErrorType"), Some("ForbiddenException"));
        assert_eq!(reply.header("x-amzn-RequestId"), Some("req-1"));
        assert_eq!(reply.header("content-type"), Some("application/json"));
    }

    #[test]
    fn every_type_has_a_json_body_and_its_status() {
        for kind in ResponseType::ALL {
            let reply = GatewayResponses::default().render(&Rejection::new(kind), "r");
            let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
            assert_eq!(body["message"], kind.default_message());
            assert_eq!(reply.status, kind.status());
            let name: ResponseType =
                serde_json::from_value(serde_json::Value::from(kind.name())).unwrap();
            assert_eq!(name, kind);
        }
    }

    #[test]
    fn message_is_json_escaped() {
        let r = Rejection::with_message(ResponseType::BadRequestParameters, "a \"quoted\" [x]");
        let reply = GatewayResponses::default().render(&r, "r");
        let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(body["message"], "a \"quoted\" [x]");
    }

    #[test]
    fn override_changes_status_headers_and_body() {
        let g = responses(
            r#"{"MISSING_AUTHENTICATION_TOKEN": {"status": 404,
                "headers": {"X-Why": "nope", "Content-Type": "text/plain"},
                "body": "{\"error\": $context.error.messageString, \"id\": \"$context.requestId\", \"t\": \"$context.error.responseType\"}"}}"#,
        );
        let reply = g.render(&Rejection::new(ResponseType::MissingAuthenticationToken), "abc");
        assert_eq!(reply.status, 404);
        assert_eq!(reply.header("x-why"), Some("nope"));
        assert_eq!(reply.header("content-type"), Some("text/plain"));
        assert_eq!(
            String::from_utf8(reply.body).unwrap(),
            r#"{"error": "Missing Authentication Token", "id": "abc", "t": "MISSING_AUTHENTICATION_TOKEN"}"#
        );
    }

    #[test]
    fn default_4xx_applies_to_4xx_types_without_their_own_override() {
        let g = responses(
            r#"{"DEFAULT_4XX": {"headers": {"access-control-allow-origin": "*"}},
                "THROTTLED": {"status": 503}}"#,
        );
        let forbidden = g.render(&Rejection::new(ResponseType::InvalidApiKey), "r");
        assert_eq!(forbidden.header("access-control-allow-origin"), Some("*"));
        let throttled = g.render(&Rejection::new(ResponseType::Throttled), "r");
        assert_eq!(throttled.status, 503);
        assert_eq!(throttled.header("access-control-allow-origin"), None);
        let five = g.render(&Rejection::new(ResponseType::AuthorizerFailure), "r");
        assert_eq!(five.header("access-control-allow-origin"), None);
    }

    #[test]
    fn bad_overrides_are_refused_with_their_path() {
        let overrides: BTreeMap<ResponseType, GatewayResponseOverride> =
            serde_json::from_str(r#"{"THROTTLED": {"status": 42}}"#).unwrap();
        let err = GatewayResponses::compile(&overrides, ("a", "prod", "000000000000")).unwrap_err();
        assert_eq!(err.path, "gateway_responses.THROTTLED.status");
        let overrides: BTreeMap<ResponseType, GatewayResponseOverride> =
            serde_json::from_str(r#"{"THROTTLED": {"headers": {"bad name": "x"}}}"#).unwrap();
        let err = GatewayResponses::compile(&overrides, ("a", "prod", "000000000000")).unwrap_err();
        assert_eq!(err.path, "gateway_responses.THROTTLED.headers");
    }
}
