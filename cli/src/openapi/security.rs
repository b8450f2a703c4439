//! Security schemes <-> API keys, SigV4, Lambda authorizers and token authorizers.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use tollgate_core::auth::jwt::{JwtAuthorizerConfig, JwtAuthorizerType};
use tollgate_core::config::{
    AuthorizationType, Config, LambdaAuthorizerConfig, LambdaAuthorizerType, Method,
};

use super::import::Context;
use super::{aws_cluster, deref, join, scalar, Version};

/// What a security scheme of the document means to the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// `x-api-key` header: the method requires an API key.
    ApiKey,
    /// `x-amazon-apigateway-authtype: awsSigv4`: AWS_IAM.
    Sigv4,
    /// A Lambda authorizer (its id is the scheme's name): CUSTOM.
    Lambda,
    /// A Cognito user pool or JWT authorizer (its id is the scheme's name).
    Token(AuthorizationType),
    /// Reported where it is defined; a method using it is reported too.
    Unsupported,
}

pub const API_KEY: &str = "api_key";
pub const SIGV4: &str = "sigv4";

/// Reads every security scheme; authorizers go into the context.
pub fn import_schemes(cx: &mut Context) -> Result<BTreeMap<String, Scheme>, String> {
    let (at, schemes) = match cx.version {
        Version::Swagger2 => ("securityDefinitions", cx.doc.get("securityDefinitions")),
        _ => ("components.securitySchemes", cx.doc.pointer("/components/securitySchemes")),
    };
    let mut out = BTreeMap::new();
    let Some(Value::Object(schemes)) = schemes else { return Ok(out) };
    for (name, raw) in schemes {
        let here = join(at, name);
        let scheme = deref(cx.doc, raw, &here)?;
        let kind = import_scheme(cx, name, scheme, &here)?;
        out.insert(name.clone(), kind);
    }
    Ok(out)
}

fn import_scheme(cx: &mut Context, name: &str, scheme: &Value, at: &str) -> Result<Scheme, String> {
    let text = |key: &str| scheme.get(key).map(scalar).unwrap_or_default();
    for key in scheme.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default()
    {
        if key.starts_with("x-amazon-apigateway-")
            && key != "x-amazon-apigateway-authtype"
            && key != "x-amazon-apigateway-authorizer"
        {
            cx.notes.unhonoured(&join(at, &key), "not an extension the gateway reads");
        }
    }
    if let Some(authorizer) = scheme.get("x-amazon-apigateway-authorizer") {
        let here = join(at, "x-amazon-apigateway-authorizer");
        let authorizer = deref(cx.doc, authorizer, &here)?;
        let kind = authorizer.get("type").map(scalar).unwrap_or_default().to_ascii_lowercase();
        let header = if text("in") == "header" && !text("name").is_empty() {
            text("name")
        } else {
            "Authorization".to_string()
        };
        return match kind.as_str() {
            "token" | "request" => {
                lambda_authorizer(cx, name, authorizer, &kind, &header, &here)?;
                Ok(Scheme::Lambda)
            }
            "cognito_user_pools" => {
                cognito_authorizer(cx, name, authorizer, &header, &here)?;
                Ok(Scheme::Token(AuthorizationType::CognitoUserPools))
            }
            "jwt" => {
                jwt_authorizer(cx, name, authorizer, &here)?;
                Ok(Scheme::Token(AuthorizationType::Jwt))
            }
            other => {
                cx.notes.unhonoured(
                    &join(&here, "type"),
                    format!("`{other}` is not an authorizer type (token, request, cognito_user_pools, jwt)"),
                );
                Ok(Scheme::Unsupported)
            }
        };
    }
    let authtype = text("x-amazon-apigateway-authtype").to_ascii_lowercase();
    if authtype == "awssigv4" {
        return Ok(Scheme::Sigv4);
    }
    if text("type") == "apiKey"
        && text("in") == "header"
        && text("name").eq_ignore_ascii_case("x-api-key")
    {
        return Ok(Scheme::ApiKey);
    }
    let why = if text("type") == "apiKey" {
        "API keys are read from the x-api-key header only".to_string()
    } else {
        format!(
            "a `{}` scheme is enforced only through an x-amazon-apigateway-authorizer",
            text("type")
        )
    };
    cx.notes.unhonoured(at, why);
    Ok(Scheme::Unsupported)
}

fn lambda_authorizer(
    cx: &mut Context,
    id: &str,
    authorizer: &Value,
    kind: &str,
    header: &str,
    at: &str,
) -> Result<(), String> {
    let uri = authorizer
        .get("authorizerUri")
        .map(scalar)
        .ok_or_else(|| format!("{at}: a Lambda authorizer has an `authorizerUri`"))?;
    let (region, name) = super::integration::lambda_of_uri(&uri)
        .ok_or_else(|| format!("{at}.authorizerUri: `{uri}` is not a Lambda invocation URI"))?;
    let mut out = Map::new();
    out.insert("id".into(), json!(id));
    out.insert("type".into(), json!(kind.to_ascii_uppercase()));
    out.insert(
        "function".into(),
        json!({"cluster": cx.lambda_cluster(&region),
               "authority": format!("lambda.{region}.amazonaws.com"), "name": name}),
    );
    // A TOKEN authorizer reads the scheme's header; a REQUEST authorizer reads only what its
    // `identitySource` lists (AWS exports one without any under the scheme name `Unused`).
    let identity =
        if kind == "token" { format!("method.request.header.{header}") } else { String::new() };
    out.insert("identity_source".into(), json!(identity));
    out.insert("result_ttl_seconds".into(), json!(300));
    for (key, value) in authorizer.as_object().into_iter().flatten() {
        let here = join(at, key);
        match key.as_str() {
            "type" | "authorizerUri" => {}
            "identitySource" => {
                out.insert("identity_source".into(), json!(identity_sources(&scalar(value))));
            }
            "authorizerResultTtlInSeconds" => {
                out.insert("result_ttl_seconds".into(), value.clone());
            }
            "identityValidationExpression" if kind == "token" => {
                out.insert("identity_validation_expression".into(), json!(scalar(value)));
            }
            "identityValidationExpression" => {
                cx.notes.unhonoured(&here, "only TOKEN authorizers validate the identity");
            }
            "authorizerCredentials" => cx.notes.unhonoured(
                &here,
                "no role is assumed: the Envoy cluster signs the call with its own AWS credentials",
            ),
            "authorizerPayloadFormatVersion" if scalar(value) == "1.0" => {}
            _ => cx.notes.unhonoured(&here, "not part of the Lambda authorizers the gateway runs"),
        }
    }
    cx.lambda_authorizers.push(Value::Object(out));
    Ok(())
}

/// `$request.header.X, $request.querystring.Y` (HTTP API style) -> `method.request.header.X,
/// method.request.querystring.Y`; REST style stays as it is.
fn identity_sources(text: &str) -> String {
    text.split(',')
        .map(|s| {
            let s = s.trim();
            if let Some(rest) = s.strip_prefix("$request.") {
                format!("method.request.{rest}")
            } else if let Some(rest) = s.strip_prefix('$') {
                rest.to_string()
            } else {
                s.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The header an identity source names (`method.request.header.X`, `$request.header.X`).
fn header_of(source: &str) -> Option<&str> {
    let source = source.trim();
    source
        .strip_prefix("method.request.header.")
        .or_else(|| source.strip_prefix("$request.header."))
}

fn cognito_authorizer(
    cx: &mut Context,
    id: &str,
    authorizer: &Value,
    header: &str,
    at: &str,
) -> Result<(), String> {
    let arns: Vec<String> = authorizer
        .get("providerARNs")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(scalar).collect())
        .unwrap_or_default();
    let mut issuers = Vec::new();
    let mut jwks_uris = Vec::new();
    for (i, arn) in arns.iter().enumerate() {
        let here = format!("{at}.providerARNs[{i}]");
        let (region, pool) = user_pool_of_arn(arn)
            .ok_or_else(|| format!("{here}: `{arn}` is not a Cognito user pool ARN"))?;
        let authority = format!("cognito-idp.{region}.amazonaws.com");
        issuers.push(format!("https://{authority}/{pool}"));
        let cluster = aws_cluster("cognito-idp", &region, &cx.region);
        cx.notes.clusters.insert(cluster.clone(), format!("https://{authority}"));
        jwks_uris.push(json!({"cluster": cluster, "authority": authority,
                              "path": format!("/{pool}/.well-known/jwks.json")}));
    }
    // One pool: `jwks_uri`; several: one key set per pool, in the order of the issuers.
    let (jwks_key, jwks) = match jwks_uris.len() {
        1 => ("jwks_uri", jwks_uris.pop().unwrap_or_default()),
        _ => ("jwks_uris", Value::Array(jwks_uris)),
    };
    if issuers.is_empty() {
        return Err(format!("{at}.providerARNs: a Cognito authorizer names its user pools"));
    }
    let mut identity = header.to_string();
    for (key, value) in authorizer.as_object().into_iter().flatten() {
        let here = join(at, key);
        match key.as_str() {
            "type" | "providerARNs" => {}
            "identitySource" => match header_of(&scalar(value)) {
                Some(h) => identity = h.to_string(),
                None => cx.notes.unhonoured(&here, "the token is read from one request header"),
            },
            _ => cx.notes.unhonoured(&here, "not part of the token authorizers the gateway runs"),
        }
    }
    let mut out = json!({"id": id, "type": "COGNITO_USER_POOLS", "identity_source": identity,
                         "issuers": issuers});
    out[jwks_key] = jwks;
    cx.authorizers.push(out);
    Ok(())
}

/// `arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbC` -> (region, pool id).
fn user_pool_of_arn(arn: &str) -> Option<(String, String)> {
    let rest = arn.strip_prefix("arn:aws:cognito-idp:")?;
    let (region, rest) = rest.split_once(':')?;
    let (_, pool) = rest.split_once(":userpool/")?;
    (!region.is_empty() && !pool.is_empty()).then(|| (region.to_string(), pool.to_string()))
}

fn jwt_authorizer(cx: &mut Context, id: &str, authorizer: &Value, at: &str) -> Result<(), String> {
    let config = authorizer.get("jwtConfiguration");
    let issuer = config.and_then(|c| c.get("issuer")).map(scalar).ok_or_else(|| {
        format!("{at}.jwtConfiguration.issuer: a JWT authorizer names its issuer")
    })?;
    let audiences: Vec<String> = config
        .and_then(|c| c.get("audience"))
        .and_then(Value::as_array)
        .map(|a| a.iter().map(scalar).collect())
        .unwrap_or_default();
    let rest = issuer.strip_prefix("https://").ok_or_else(|| {
        format!("{at}.jwtConfiguration.issuer: `{issuer}` is not an https:// URL")
    })?;
    let (authority, path) = match rest.split_once('/') {
        Some((a, p)) => (a.to_string(), format!("/{}", p.trim_end_matches('/'))),
        None => (rest.to_string(), String::new()),
    };
    let host = authority.split(':').next().unwrap_or_default().to_string();
    let cluster = match host
        .strip_prefix("cognito-idp.")
        .and_then(|r| r.strip_suffix(".amazonaws.com"))
    {
        Some(region) => aws_cluster("cognito-idp", region, &cx.region),
        None => {
            cx.notes.unhonoured(
                &join(at, "jwtConfiguration"),
                format!(
                    "the issuer's keys are fetched from https://{authority}{path}/.well-known/jwks.json \
                     (no OpenID discovery); set the authorizer's jwks_uri if they are elsewhere"
                ),
            );
            host.clone()
        }
    };
    cx.notes.clusters.insert(cluster.clone(), format!("https://{authority}"));
    let mut identity = "Authorization".to_string();
    for (key, value) in authorizer.as_object().into_iter().flatten() {
        let here = join(at, key);
        match key.as_str() {
            "type" | "jwtConfiguration" => {}
            "identitySource" => {
                let source = match value {
                    Value::Array(a) if a.len() == 1 => a.first().map(scalar).unwrap_or_default(),
                    other => scalar(other),
                };
                match header_of(&source) {
                    Some(h) => identity = h.to_string(),
                    None => cx.notes.unhonoured(&here, "the token is read from one request header"),
                }
            }
            _ => cx.notes.unhonoured(&here, "not part of the token authorizers the gateway runs"),
        }
    }
    cx.authorizers.push(json!({"id": id, "type": "JWT", "identity_source": identity,
                               "issuers": [issuer], "audiences": audiences,
                               "jwks_uri": {"cluster": cluster, "authority": authority,
                                            "path": format!("{path}/.well-known/jwks.json")}}));
    Ok(())
}

/// The document's security schemes for a config.
pub fn export_schemes(config: &Config, version: Version, extensions: bool) -> Map<String, Value> {
    let mut out = Map::new();
    let uses = |t: AuthorizationType| config.methods.iter().any(|m| m.authorization_type == t);
    if config.methods.iter().any(|m| m.api_key_required) {
        out.insert(API_KEY.into(), json!({"type": "apiKey", "name": "x-api-key", "in": "header"}));
    }
    if uses(AuthorizationType::AwsIam) {
        let mut scheme = json!({"type": "apiKey", "name": "Authorization", "in": "header"});
        if extensions {
            scheme["x-amazon-apigateway-authtype"] = json!("awsSigv4");
        }
        out.insert(SIGV4.into(), scheme);
    }
    for a in &config.lambda_authorizers {
        out.insert(a.id.clone(), export_lambda(a, &config.api.region, extensions));
    }
    for a in &config.authorizers {
        out.insert(a.id.clone(), export_token(a, config, version, extensions));
    }
    out
}

fn export_lambda(a: &LambdaAuthorizerConfig, region: &str, extensions: bool) -> Value {
    let header = match a.kind {
        LambdaAuthorizerType::Token => header_of(&a.identity_source).unwrap_or("Authorization"),
        LambdaAuthorizerType::Request => "Unused",
    };
    let mut scheme = json!({"type": "apiKey", "name": header, "in": "header"});
    if extensions {
        let kind = match a.kind {
            LambdaAuthorizerType::Token => "token",
            LambdaAuthorizerType::Request => "request",
        };
        let mut authorizer = json!({"type": kind,
            "authorizerUri": super::integration::lambda_uri(&a.function, region),
            "identitySource": a.identity_source,
            "authorizerResultTtlInSeconds": a.result_ttl_seconds});
        if let Some(expression) = &a.identity_validation_expression {
            authorizer["identityValidationExpression"] = json!(expression);
        }
        scheme["x-amazon-apigateway-authtype"] = json!("custom");
        scheme["x-amazon-apigateway-authorizer"] = authorizer;
    }
    scheme
}

fn export_token(
    a: &JwtAuthorizerConfig,
    config: &Config,
    version: Version,
    extensions: bool,
) -> Value {
    let header = a.identity_source.as_str();
    if !extensions {
        return match version {
            Version::Swagger2 => json!({"type": "apiKey", "name": header, "in": "header"}),
            _ => json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}),
        };
    }
    match a.kind {
        JwtAuthorizerType::CognitoUserPools => {
            let arns: Vec<String> = a
                .issuers
                .iter()
                .map(|issuer| {
                    let rest = issuer.strip_prefix("https://cognito-idp.").unwrap_or(issuer);
                    let (region, pool) = rest.split_once(".amazonaws.com/").unwrap_or((rest, ""));
                    format!(
                        "arn:aws:cognito-idp:{region}:{}:userpool/{pool}",
                        config.api.account_id
                    )
                })
                .collect();
            json!({"type": "apiKey", "name": header, "in": "header",
                   "x-amazon-apigateway-authtype": "cognito_user_pools",
                   "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools", "providerARNs": arns,
                       "identitySource": format!("method.request.header.{header}")}})
        }
        JwtAuthorizerType::Jwt => {
            let authorizer = json!({"type": "jwt",
                "jwtConfiguration": {"issuer": a.issuers.first(), "audience": a.audiences},
                "identitySource": format!("$request.header.{header}")});
            match version {
                Version::Swagger2 => json!({"type": "apiKey", "name": header, "in": "header",
                                            "x-amazon-apigateway-authorizer": authorizer}),
                _ => {
                    json!({"type": "oauth2", "flows": {}, "x-amazon-apigateway-authorizer": authorizer})
                }
            }
        }
    }
}

/// A method's security requirement, or `None` for an open method.
pub fn export_requirement(method: &Method) -> Option<Value> {
    let mut requirement = Map::new();
    if method.api_key_required {
        requirement.insert(API_KEY.into(), json!([]));
    }
    match (method.authorization_type, &method.authorizer_id) {
        (AuthorizationType::AwsIam, _) => {
            requirement.insert(SIGV4.into(), json!([]));
        }
        (AuthorizationType::None, _) | (_, None) => {}
        (_, Some(id)) => {
            requirement.insert(id.clone(), json!(method.authorization_scopes));
        }
    }
    (!requirement.is_empty()).then(|| json!([requirement]))
}
