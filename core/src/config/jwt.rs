//! The token authorizers as users write them: `"authorizers": [{"id": ..., "type":
//! "COGNITO_USER_POOLS" | "JWT", ...}]`. [`crate::auth::jwt::Validator::compile`] checks them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One Cognito user pool or JWT issuer that methods name by `id`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JwtAuthorizerConfig {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: JwtAuthorizerType,
    /// Request header with the token: `Bearer <token>` or the bare token.
    #[serde(default = "default_identity_source")]
    pub identity_source: String,
    /// Accepted `iss` values, exactly as the tokens carry them; at least one.
    #[serde(default)]
    pub issuers: Vec<String>,
    /// Accepted `aud` values (or `client_id` for tokens without `aud`, like Cognito access
    /// tokens); empty = not checked.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Cognito's `token_use` claim the token must carry; `null` = id or access.
    #[serde(default)]
    pub token_use: Option<TokenUse>,
    /// The keys inline, a JWK Set (`{"keys": [...]}`); shared secrets are `kty: "oct"` keys.
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
    /// Where to fetch the JWK Set, through an Envoy cluster.
    #[serde(default)]
    pub jwks_uri: Option<JwksUri>,
    /// An authorizer over several Cognito user pools (AWS's `providerARNs`): one JWK Set per
    /// issuer, in the order of `issuers` (instead of `jwks_uri`); a token is verified with the
    /// keys of the pool its `iss` names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jwks_uris: Vec<JwksUri>,
    /// Clock skew allowed for `exp`, `nbf` and `iat`, seconds (0-300).
    #[serde(default)]
    pub leeway_seconds: u32,
    /// Claims sent upstream: claim name -> request header name.
    #[serde(default)]
    pub claims_to_headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JwtAuthorizerType {
    /// An Amazon Cognito user pool: tokens carry `token_use` (`id` or `access`).
    CognitoUserPools,
    /// Any OIDC / OAuth 2.0 issuer.
    Jwt,
}

/// The kind of Cognito token (its `token_use` claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenUse {
    Id,
    Access,
}

impl TokenUse {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenUse::Id => "id",
            TokenUse::Access => "access",
        }
    }
}

/// A JWK Set fetched with `GET https://{authority}{path}` through Envoy cluster `cluster`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JwksUri {
    pub cluster: String,
    pub authority: String,
    pub path: String,
    /// How often the keys are fetched again, seconds (60-86400).
    #[serde(default = "default_refresh_seconds")]
    pub refresh_seconds: u32,
    /// How long a fetch may take, milliseconds (1-60000).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u32,
}

fn default_identity_source() -> String {
    "authorization".into()
}

fn default_refresh_seconds() -> u32 {
    600
}

fn default_timeout_ms() -> u32 {
    5000
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    #[test]
    fn defaults_are_written_once() {
        let cfg: JwtAuthorizerConfig = serde_json::from_str(
            r#"{"id": "pool", "type": "COGNITO_USER_POOLS", "issuers": ["https://x"],
                "jwks_uri": {"cluster": "cognito", "authority": "cognito-idp", "path": "/k"}}"#,
        )
        .unwrap();
        assert_eq!(cfg.kind, JwtAuthorizerType::CognitoUserPools);
        assert_eq!(cfg.identity_source, "authorization");
        assert_eq!(cfg.leeway_seconds, 0);
        assert_eq!(cfg.token_use, None);
        let uri = cfg.jwks_uri.unwrap();
        assert_eq!((uri.refresh_seconds, uri.timeout_ms), (600, 5000));
    }

    #[test]
    fn unknown_fields_and_types_are_refused() {
        for json in [
            r#"{"id": "a", "type": "JWT", "issuer": "x"}"#,
            r#"{"id": "a", "type": "OIDC"}"#,
            r#"{"id": "a", "type": "JWT", "token_use": "refresh"}"#,
            r#"{"id": "a", "type": "JWT", "jwks_uri": {"cluster": "c", "authority": "a", "path": "/", "url": "x"}}"#,
        ] {
            assert!(serde_json::from_str::<JwtAuthorizerConfig>(json).is_err(), "{json}");
        }
        let cfg: JwtAuthorizerConfig =
            serde_json::from_str(r#"{"id": "a", "type": "JWT", "token_use": "access"}"#).unwrap();
        assert_eq!(cfg.token_use, Some(TokenUse::Access));
    }
}
