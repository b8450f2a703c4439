//! How a method reaches its backend and how requests and responses are checked and reshaped on
//! the way: request validators, models, parameter mappings, mapping templates and integration
//! responses, named as the `x-amazon-apigateway-*` extensions name them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `x-amazon-apigateway-request-validators.{name}`: what a method's validator checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RequestValidator {
    #[serde(default)]
    pub validate_request_body: bool,
    #[serde(default)]
    pub validate_request_parameters: bool,
}

/// The integration types; without an `integration` a method is `HTTP_PROXY` to the upstream
/// Envoy routes it to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IntegrationType {
    /// Passes the request through (parameter mappings apply, templates do not).
    #[default]
    HttpProxy,
    /// Request and response mapping templates and parameter mappings apply.
    Http,
    /// No backend: the integration response templates answer.
    Mock,
    /// Lambda proxy: the request as API Gateway's proxy event v1.0 to a Lambda function, whose
    /// `{statusCode, headers, multiValueHeaders, body, isBase64Encoded}` is the response.
    AwsProxy,
    /// An AWS service action (`arn:aws:apigateway:{region}:{service}:action/{Action}` or
    /// `...:path/{path}`): the request template builds the service request, sent through an
    /// Envoy cluster that signs it (`aws_request_signing`); integration responses shape the
    /// answer.
    Aws,
}

/// What happens to a request body whose Content-Type has no request template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PassthroughBehavior {
    /// Passed through unchanged.
    #[default]
    WhenNoMatch,
    /// Passed through only when the integration has no request templates at all, else 415.
    WhenNoTemplates,
    /// Refused with 415.
    Never,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Integration {
    #[serde(rename = "type", default)]
    pub kind: IntegrationType,
    /// The backend URI, e.g. `http://orders.internal/orders/{id}`: its path (with
    /// `integration.request.path.*` substituted) replaces the request path; Envoy's route still
    /// picks the upstream cluster.
    #[serde(default)]
    pub uri: Option<String>,
    /// `integration.request.{header|querystring|path}.NAME` -> a source expression
    /// (`method.request.querystring.limit`, `'static'`, `context.requestId`, ...).
    #[serde(default)]
    pub request_parameters: BTreeMap<String, String>,
    /// Content-Type -> VTL template.
    #[serde(default)]
    pub request_templates: BTreeMap<String, String>,
    #[serde(default)]
    pub passthrough_behavior: PassthroughBehavior,
    /// Selection pattern (`default`, or a regex over the backend's status code) -> response.
    #[serde(default)]
    pub responses: BTreeMap<String, IntegrationResponse>,
    /// AWS_PROXY: the Lambda function (its name may use `${stageVariables.NAME}`).
    #[serde(default)]
    pub function: Option<super::LambdaFunction>,
    /// AWS: the Envoy cluster that reaches (and signs for) the service.
    #[serde(default)]
    pub cluster: Option<String>,
    /// AWS: the HTTP method of the service request.
    #[serde(default = "default_integration_method")]
    pub http_method: String,
    /// AWS: the integration timeout (50 ms to 29 s).
    #[serde(default = "default_integration_timeout")]
    pub timeout_ms: u32,
    /// `contentHandling` of the integration request: a binary body (one whose Content-Type is
    /// among the API's `binary_media_types`) to base64 text, or base64 text to binary; unset,
    /// the body passes as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_handling: Option<ContentHandling>,
}

/// AWS's `contentHandling`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContentHandling {
    ConvertToText,
    ConvertToBinary,
}

fn default_integration_method() -> String {
    "POST".into()
}

fn default_integration_timeout() -> u32 {
    29_000
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationResponse {
    /// The method response status sent to the client (`"200"`); the backend's when absent.
    #[serde(default)]
    pub status_code: Option<String>,
    /// `method.response.header.NAME` -> `integration.response.header.X`,
    /// `integration.response.body[.JSONPath]`, `'static'`, `context.X`, `stageVariables.X`.
    #[serde(default)]
    pub response_parameters: BTreeMap<String, String>,
    /// Content-Type -> VTL template over the backend's body.
    #[serde(default)]
    pub response_templates: BTreeMap<String, String>,
    /// `contentHandling` of the integration response (see [`Integration::content_handling`];
    /// binary is the backend's Content-Type among the API's `binary_media_types`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_handling: Option<ContentHandling>,
}
