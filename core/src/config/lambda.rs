//! Lambda authorizers (`authorization_type: CUSTOM`) as users write them, and where the API key
//! of a request comes from.

use serde::{Deserialize, Serialize};

/// AWS's authorizer types for Lambda authorizers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LambdaAuthorizerType {
    /// The function gets one token (a header).
    Token,
    /// The function gets the request's headers, query, path, stage variables and context.
    Request,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaAuthorizerConfig {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: LambdaAuthorizerType,
    pub function: LambdaFunction,
    /// AWS syntax: `method.request.header.Authorization`, or for REQUEST a comma-separated list
    /// of `method.request.header.X`, `method.request.querystring.Y`, `stageVariables.Z`,
    /// `context.W`.
    #[serde(default = "default_identity_source")]
    pub identity_source: String,
    /// TOKEN only: a regex the token must match, else 401 without calling the function.
    #[serde(default)]
    pub identity_validation_expression: Option<String>,
    /// How long a result is reused for the same identity (AWS: default 300, 0 disables, max 3600).
    #[serde(default = "default_ttl")]
    pub result_ttl_seconds: u32,
}

/// The function, invoked through an Envoy cluster with the Lambda Invoke API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaFunction {
    pub cluster: String,
    /// `:authority` of the call, e.g. `lambda.us-east-1.amazonaws.com`.
    pub authority: String,
    /// Function name, ARN or `name:alias`.
    pub name: String,
    /// AWS: at most 10 s.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u32,
}

/// Where a method's API key comes from (AWS `apiKeySource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApiKeySource {
    /// The `x-api-key` header.
    #[default]
    Header,
    /// The Lambda authorizer's `usageIdentifierKey`.
    Authorizer,
}

fn default_identity_source() -> String {
    "method.request.header.Authorization".into()
}

fn default_ttl() -> u32 {
    300
}

fn default_timeout() -> u32 {
    10_000
}
