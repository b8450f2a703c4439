//! The claims of a signed token against the authorizer's rules: issuer, time (with leeway),
//! Cognito's `token_use`, audience or `client_id`, and the method's scopes.

use serde_json::{Map, Value};

use super::config::{JwtAuthorizerConfig, JwtAuthorizerType, TokenUse};
use super::JwtError;
use crate::config::ConfigError;

const MAX_LEEWAY: u32 = 300;
const REFRESH_SECONDS: std::ops::RangeInclusive<u32> = 60..=86_400;
const TIMEOUT_MS: std::ops::RangeInclusive<u32> = 1..=60_000;

/// An authorizer's claim rules, compiled once.
#[derive(Debug, Clone)]
pub struct Validator {
    kind: JwtAuthorizerType,
    issuers: Vec<String>,
    audiences: Vec<String>,
    token_use: Option<TokenUse>,
    leeway: i64,
}

/// A token whose signature and claims passed.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    pub claims: Map<String, Value>,
    pub sub: Option<String>,
    pub exp: Option<i64>,
    /// From `scope` (space-separated) or `scp` (an array, or space-separated).
    pub scopes: Vec<String>,
}

impl Validator {
    /// Checks the authorizer's claim rules and key sources; errors name the field under `path`
    /// (`authorizers[0]`).
    pub fn compile(cfg: &JwtAuthorizerConfig, path: &str) -> Result<Validator, ConfigError> {
        if cfg.issuers.is_empty() {
            return Err(ConfigError::new(
                format!("{path}.issuers"),
                "lists no issuer: name at least one `iss` value",
            ));
        }
        for (list, name) in [(&cfg.issuers, "issuers"), (&cfg.audiences, "audiences")] {
            if let Some(i) = list.iter().position(String::is_empty) {
                return Err(ConfigError::new(format!("{path}.{name}[{i}]"), "is empty"));
            }
        }
        if cfg.leeway_seconds > MAX_LEEWAY {
            return Err(ConfigError::new(
                format!("{path}.leeway_seconds"),
                format!("{} is not in 0-{MAX_LEEWAY}", cfg.leeway_seconds),
            ));
        }
        if cfg.jwks.is_none() && cfg.jwks_uri.is_none() && cfg.jwks_uris.is_empty() {
            return Err(ConfigError::new(path, "needs `jwks` (inline keys) or `jwks_uri`"));
        }
        if let Some(uri) = &cfg.jwks_uri {
            if !REFRESH_SECONDS.contains(&uri.refresh_seconds) {
                return Err(ConfigError::new(
                    format!("{path}.jwks_uri.refresh_seconds"),
                    format!("{} is not in 60-86400", uri.refresh_seconds),
                ));
            }
            if !TIMEOUT_MS.contains(&uri.timeout_ms) {
                return Err(ConfigError::new(
                    format!("{path}.jwks_uri.timeout_ms"),
                    format!("{} is not in 1-60000", uri.timeout_ms),
                ));
            }
        }
        Ok(Validator {
            kind: cfg.kind,
            issuers: cfg.issuers.clone(),
            audiences: cfg.audiences.clone(),
            token_use: cfg.token_use,
            leeway: i64::from(cfg.leeway_seconds),
        })
    }

    /// Checks the claims of a token whose signature is good, at `now` (Unix seconds).
    pub fn validate(
        &self,
        claims: Map<String, Value>,
        now: i64,
    ) -> Result<VerifiedToken, JwtError> {
        let exp =
            numeric_date(&claims, "exp", Round::Down)?.ok_or(JwtError::Malformed("no exp"))?;
        if now >= exp.saturating_add(self.leeway) {
            return Err(JwtError::Expired);
        }
        if let Some(nbf) = numeric_date(&claims, "nbf", Round::Up)? {
            if nbf > now.saturating_add(self.leeway) {
                return Err(JwtError::NotYetValid);
            }
        }
        if let Some(iat) = numeric_date(&claims, "iat", Round::Up)? {
            if iat > now.saturating_add(self.leeway) {
                return Err(JwtError::IssuedInFuture);
            }
        }
        match claims.get("iss") {
            Some(Value::String(iss)) if self.issuers.iter().any(|i| i == iss) => {}
            _ => return Err(JwtError::Issuer),
        }
        self.check_token_use(&claims)?;
        self.check_audience(&claims)?;
        let sub = match claims.get("sub") {
            None => None,
            Some(Value::String(sub)) => Some(sub.clone()),
            Some(_) => return Err(JwtError::Malformed("sub is not a string")),
        };
        let scopes = scopes(&claims)?;
        Ok(VerifiedToken { claims, sub, exp: Some(exp), scopes })
    }

    fn check_token_use(&self, claims: &Map<String, Value>) -> Result<(), JwtError> {
        if self.kind != JwtAuthorizerType::CognitoUserPools && self.token_use.is_none() {
            return Ok(());
        }
        let Some(Value::String(used)) = claims.get("token_use") else {
            return Err(JwtError::TokenUse);
        };
        let ok = match self.token_use {
            Some(wanted) => used == wanted.as_str(),
            None => used == "id" || used == "access",
        };
        if ok {
            Ok(())
        } else {
            Err(JwtError::TokenUse)
        }
    }

    /// A method's scopes for a token this validator verified: [`check_scopes`], and for a
    /// Cognito user pool, a method without scopes takes ID tokens only (AWS: "if the OAuth
    /// Scopes option isn't specified, API Gateway treats the supplied token as an identity
    /// token"), so an access token there is 401.
    pub fn check_method_scopes(
        &self,
        token: &VerifiedToken,
        required: &[String],
    ) -> Result<(), JwtError> {
        let access =
            matches!(token.claims.get("token_use"), Some(Value::String(u)) if u == "access");
        if required.is_empty() && self.kind == JwtAuthorizerType::CognitoUserPools && access {
            return Err(JwtError::TokenUse);
        }
        check_scopes(token, required)
    }

    /// `aud` when the token has one, else `client_id` (Cognito access tokens), like AWS.
    fn check_audience(&self, claims: &Map<String, Value>) -> Result<(), JwtError> {
        if self.audiences.is_empty() {
            return Ok(());
        }
        let allowed = |v: &Value| matches!(v, Value::String(s) if self.audiences.contains(s));
        let ok = match (claims.get("aud"), claims.get("client_id")) {
            (Some(Value::Array(auds)), _) => auds.iter().any(allowed),
            (Some(aud), _) => allowed(aud),
            (None, Some(client_id)) => allowed(client_id),
            (None, None) => false,
        };
        if ok {
            Ok(())
        } else {
            Err(JwtError::Audience)
        }
    }
}

/// AWS: with scopes on the method, the token must carry at least one of them. A Cognito id
/// token can carry none (it is refused as the wrong kind of token, 401); any other token
/// without one of them is refused with 403.
pub fn check_scopes(token: &VerifiedToken, required: &[String]) -> Result<(), JwtError> {
    if required.is_empty() || token.scopes.iter().any(|s| required.contains(s)) {
        return Ok(());
    }
    match token.claims.get("token_use") {
        Some(Value::String(used)) if used == "id" => Err(JwtError::TokenUse),
        _ => Err(JwtError::Scope),
    }
}

#[derive(Clone, Copy)]
enum Round {
    /// For `exp`: a fractional second ends the token earlier.
    Down,
    /// For `nbf` and `iat`: a fractional second starts it later.
    Up,
}

/// A NumericDate (RFC 7519 2): a non-negative JSON number of seconds, possibly fractional.
fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
    round: Round,
) -> Result<Option<i64>, JwtError> {
    let Some(value) = claims.get(name) else { return Ok(None) };
    let Value::Number(n) = value else {
        return Err(JwtError::Malformed("a time claim is not a number"));
    };
    let seconds = if let Some(i) = n.as_i64() {
        i
    } else if n.as_u64().is_some() {
        i64::MAX
    } else {
        let f = n.as_f64().ok_or(JwtError::Malformed("a time claim is not a number"))?;
        let f = match round {
            Round::Down => f.floor(),
            Round::Up => f.ceil(),
        };
        // `as` saturates; NaN cannot come from JSON.
        f as i64
    };
    if seconds < 0 {
        return Err(JwtError::Malformed("a time claim is negative"));
    }
    Ok(Some(seconds))
}

fn scopes(claims: &Map<String, Value>) -> Result<Vec<String>, JwtError> {
    let mut out = Vec::new();
    for name in ["scope", "scp"] {
        match claims.get(name) {
            None => {}
            Some(Value::String(s)) => out.extend(s.split_whitespace().map(str::to_owned)),
            Some(Value::Array(items)) => {
                for item in items {
                    let Value::String(s) = item else {
                        return Err(JwtError::Malformed("a scope is not a string"));
                    };
                    out.push(s.clone());
                }
            }
            Some(_) => return Err(JwtError::Malformed("scope is not a string or an array")),
        }
    }
    Ok(out)
}
