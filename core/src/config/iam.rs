//! The AWS_IAM part of the config: credentials callers sign with, the identity policies attached
//! to each principal, the API's resource policy and where a private API learns its VPC endpoint.

use serde::{Deserialize, Serialize};

use super::policy::PolicyDocument;

/// How a method authenticates its callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthorizationType {
    #[default]
    None,
    /// SigV4-signed requests, authorized by IAM-style policies.
    AwsIam,
    /// A Cognito user pool's JWT (the method names the authorizer).
    CognitoUserPools,
    /// Any OIDC/OAuth issuer's JWT (the method names the authorizer).
    Jwt,
    /// A Lambda authorizer (the method names it).
    Custom,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Iam {
    /// How far a request's signing time may be from now, seconds (AWS: 5 minutes).
    #[serde(default = "default_max_skew")]
    pub max_skew_seconds: u32,
    #[serde(default)]
    pub credentials: Vec<IamCredential>,
}

impl Default for Iam {
    fn default() -> Self {
        Iam { max_skew_seconds: default_max_skew(), credentials: Vec::new() }
    }
}

/// One access key: its secret, the principal it authenticates as and that principal's policies.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IamCredential {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    /// Temporary credentials: the session token callers must present (`X-Amz-Security-Token`).
    #[serde(default)]
    pub session_token: Option<Secret>,
    /// `arn:aws:iam::123456789012:user/alice`, `arn:aws:sts::123456789012:assumed-role/r/s`.
    pub principal_arn: String,
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Identity policies attached to the principal.
    #[serde(default)]
    pub policies: Vec<PolicyDocument>,
    /// The AWS Organizations id of the principal's account (`o-a1b2c3d4e5`), for
    /// `aws:PrincipalOrgID` and `$context.identity.principalOrgId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_org_id: Option<String>,
}

/// A secret written in the config, or the name of an environment variable of the Envoy process
/// that holds it (listed in the wasm VM's `environment_variables.host_env_keys`), resolved when
/// the filter is configured: `"secret"` or `{"env": "NAME"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Secret {
    Value(String),
    Env { env: String },
}

/// Request headers a trusted hop in front of the gateway sets (Envoy's listener or a load
/// balancer), for resource-policy conditions. The operator must make sure clients cannot send them
/// (`tollgate render` removes them from clients' requests unless `gateway.trusted_hops` says a
/// hop in front sets them).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedHeaders {
    /// Carries the VPC endpoint id (`aws:SourceVpce`), e.g. `x-amzn-vpce-id`.
    #[serde(default)]
    pub source_vpce: Option<String>,
    /// Carries the VPC id (`aws:SourceVpc`).
    #[serde(default)]
    pub source_vpc: Option<String>,
    /// Carries the scheme a TLS-terminating hop in front was called with (`x-forwarded-proto`):
    /// `https` there makes `aws:SecureTransport` true. Without it, only TLS on the connection
    /// to Envoy does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_proto: Option<String>,
}

fn default_max_skew() -> u32 {
    300
}

fn default_true() -> bool {
    true
}
