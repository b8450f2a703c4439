//! `x-amazon-apigateway-integration` <-> a method's `integration`.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use tollgate_core::config::{Integration, IntegrationType, LambdaFunction, Method};

use super::import::Context;
use super::{aws_cluster, join, scalar};

/// What the extension holds besides the integration itself.
pub struct Imported {
    pub integration: Value,
    /// `cacheKeyParameters`, for the method's cache settings.
    pub cache_key_parameters: Vec<String>,
}

/// Reads one `x-amazon-apigateway-integration` (or the named one its `$ref` points at).
/// `verb` is the method's own (`GET`, `ANY`).
pub fn import(cx: &mut Context, raw: &Value, verb: &str, at: &str) -> Result<Imported, String> {
    let raw = super::deref(cx.doc, raw, at)?;
    let Value::Object(fields) = raw else { return Err(format!("{at}: not an object")) };
    let kind_text = fields
        .get("type")
        .map(scalar)
        .ok_or_else(|| format!("{at}: an integration has a `type`"))?;
    let kind = match kind_text.to_ascii_lowercase().as_str() {
        "http" => IntegrationType::Http,
        "http_proxy" => IntegrationType::HttpProxy,
        "aws" => IntegrationType::Aws,
        "aws_proxy" => IntegrationType::AwsProxy,
        "mock" => IntegrationType::Mock,
        other => {
            return Err(format!(
                "{at}.type: `{other}` is not one of http, http_proxy, aws, aws_proxy, mock"
            ))
        }
    };
    let proxy = matches!(kind, IntegrationType::HttpProxy | IntegrationType::AwsProxy);
    let mut out = Map::new();
    out.insert("type".into(), serde_json::to_value(kind).map_err(|e| e.to_string())?);
    let mut cache_key_parameters = Vec::new();
    let mut timeout = None;
    for (key, value) in fields {
        let here = join(at, key);
        match key.as_str() {
            "type" | "cacheNamespace" => {}
            "uri" => {
                out.insert("uri".into(), Value::String(scalar(value)));
            }
            "httpMethod" => {
                let method = scalar(value).to_ascii_uppercase();
                let http = matches!(kind, IntegrationType::Http | IntegrationType::HttpProxy);
                if http && method != verb && method != "ANY" && verb != "ANY" {
                    cx.notes.unhonoured(
                        &here,
                        format!("the request reaches the backend as {verb}, not {method}"),
                    );
                }
                out.insert("http_method".into(), Value::String(method));
            }
            "timeoutInMillis" => timeout = Some(value.clone()),
            "passthroughBehavior" => {
                let behaviour = scalar(value).to_ascii_uppercase();
                out.insert("passthrough_behavior".into(), Value::String(behaviour));
            }
            "requestParameters" if kind == IntegrationType::AwsProxy => {
                if value.as_object().is_some_and(|m| !m.is_empty()) {
                    cx.notes.unhonoured(
                        &here,
                        "a Lambda proxy integration gets the whole request in its event; nothing is mapped",
                    );
                }
            }
            "requestTemplates" | "responses" if proxy => {
                if value.as_object().is_some_and(|m| !m.is_empty()) {
                    cx.notes.unhonoured(
                        &here,
                        "a proxy integration passes the request and the response through unchanged",
                    );
                }
            }
            "requestParameters" => {
                out.insert("request_parameters".into(), string_map(value, &here)?);
            }
            "requestTemplates" => {
                out.insert("request_templates".into(), string_map(value, &here)?);
            }
            "responses" => {
                out.insert("responses".into(), responses(cx, value, &here)?);
            }
            "cacheKeyParameters" => {
                let keys: Vec<String> =
                    value.as_array().map(|a| a.iter().map(scalar).collect()).unwrap_or_default();
                if !keys.is_empty() && cx.stage_cache {
                    cache_key_parameters = keys;
                } else if !keys.is_empty() {
                    cx.notes.unhonoured(
                        &here,
                        "the document does not say whether the stage caches; set the spec's \
                         stage.cache, then methods[].cache.key_parameters",
                    );
                }
            }
            "connectionType" if scalar(value).eq_ignore_ascii_case("INTERNET") => {}
            "connectionType" | "connectionId" => cx.notes.unhonoured(
                &here,
                "VPC links are not used: Envoy reaches the integration URI's host as a cluster",
            ),
            "credentials" => cx.notes.unhonoured(
                &here,
                "no role is assumed: the Envoy cluster signs with its own AWS credentials",
            ),
            "contentHandling"
                if matches!(kind, IntegrationType::AwsProxy | IntegrationType::HttpProxy) =>
            {
                cx.notes.unhonoured(&here, "a proxy integration passes the body as it is")
            }
            "contentHandling" => {
                out.insert("content_handling".into(), Value::String(scalar(value)));
            }
            _ => cx.notes.unhonoured(&here, "not part of the integrations the gateway runs"),
        }
    }
    let uri = fields.get("uri").map(scalar);
    match kind {
        IntegrationType::AwsProxy => {
            let uri = uri.ok_or_else(|| {
                format!("{at}.uri: an aws_proxy integration names its Lambda function")
            })?;
            let (region, name) = lambda_of_uri(&uri).ok_or_else(|| {
                format!(
                    "{at}.uri: `{uri}` is not a Lambda invocation URI \
                     (arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION/invocations)"
                )
            })?;
            let timeout_ms = match &timeout {
                Some(t) => t.clone(),
                None => json!(29_000),
            };
            let function = json!({"cluster": cx.lambda_cluster(&region),
                                  "authority": format!("lambda.{region}.amazonaws.com"),
                                  "name": name, "timeout_ms": timeout_ms});
            out.insert("function".into(), function);
        }
        IntegrationType::Aws => {
            let uri = uri.unwrap_or_default();
            let (region, service) = aws_service_of_uri(&uri).ok_or_else(|| {
                format!(
                    "{at}.uri: `{uri}` is not an AWS service URI \
                     (arn:aws:apigateway:REGION:SERVICE:action/ACTION or ...:path/PATH)"
                )
            })?;
            let cluster = aws_cluster(&service, &region, &cx.region);
            cx.notes
                .clusters
                .insert(cluster.clone(), format!("https://{service}.{region}.amazonaws.com"));
            out.insert("cluster".into(), Value::String(cluster));
        }
        _ => {}
    }
    if let (Some(t), false) = (timeout, kind == IntegrationType::AwsProxy) {
        out.insert("timeout_ms".into(), t);
    }
    Ok(Imported { integration: Value::Object(out), cache_key_parameters })
}

fn string_map(value: &Value, at: &str) -> Result<Value, String> {
    let Value::Object(map) = value else { return Err(format!("{at}: not a map")) };
    Ok(Value::Object(map.iter().map(|(k, v)| (k.clone(), Value::String(scalar(v)))).collect()))
}

fn responses(cx: &mut Context, value: &Value, at: &str) -> Result<Value, String> {
    let Value::Object(map) = value else { return Err(format!("{at}: not a map")) };
    let mut out = Map::new();
    for (pattern, response) in map {
        let here = join(at, pattern);
        let Value::Object(fields) = response else { return Err(format!("{here}: not an object")) };
        let mut r = Map::new();
        for (key, value) in fields {
            match key.as_str() {
                "statusCode" => {
                    r.insert("status_code".into(), Value::String(scalar(value)));
                }
                "responseParameters" => {
                    r.insert("response_parameters".into(), string_map(value, &join(&here, key))?);
                }
                "responseTemplates" => {
                    r.insert("response_templates".into(), string_map(value, &join(&here, key))?);
                }
                "contentHandling" => {
                    r.insert("content_handling".into(), Value::String(scalar(value)));
                }
                _ => cx.notes.unhonoured(&join(&here, key), "not part of an integration response"),
            }
        }
        out.insert(pattern.clone(), Value::Object(r));
    }
    Ok(Value::Object(out))
}

/// `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/FUNCTION/invocations` ->
/// (`us-east-1`, `FUNCTION`).
pub fn lambda_of_uri(uri: &str) -> Option<(String, String)> {
    let rest = uri.strip_prefix("arn:aws:apigateway:")?;
    let (region, rest) = rest.split_once(':')?;
    let rest = rest.strip_prefix("lambda:path/")?;
    let (_, rest) = rest.split_once("/functions/")?;
    let name = rest.strip_suffix("/invocations")?;
    (!region.is_empty() && !name.is_empty()).then(|| (region.to_string(), name.to_string()))
}

/// The Lambda invocation URI of a function reached through `lambda.{region}.amazonaws.com`.
pub fn lambda_uri(function: &LambdaFunction, default_region: &str) -> String {
    let region = function
        .authority
        .strip_prefix("lambda.")
        .and_then(|r| r.strip_suffix(".amazonaws.com"))
        .unwrap_or(default_region);
    format!(
        "arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{}/invocations",
        function.name
    )
}

/// `arn:aws:apigateway:us-east-1:kinesis:action/PutRecord` -> (`us-east-1`, `kinesis`).
fn aws_service_of_uri(uri: &str) -> Option<(String, String)> {
    let rest = uri.strip_prefix("arn:aws:apigateway:")?;
    let mut parts = rest.splitn(3, ':');
    let region = parts.next().filter(|r| !r.is_empty())?;
    let service = parts.next().filter(|s| !s.is_empty())?;
    Some((region.to_string(), service.to_string()))
}

/// A method's integration as the extension.
pub fn export(method: &Method, integration: &Integration, region: &str) -> Value {
    let mut out = Map::new();
    let kind = serde_json::to_value(integration.kind).unwrap_or_default();
    out.insert("type".into(), Value::String(scalar(&kind).to_ascii_lowercase()));
    let uri = match (&integration.uri, &integration.function) {
        (Some(uri), _) => Some(uri.clone()),
        (None, Some(f)) => Some(lambda_uri(f, region)),
        (None, None) => None,
    };
    if let Some(uri) = uri {
        out.insert("uri".into(), Value::String(uri));
    }
    out.insert("httpMethod".into(), Value::String(integration.http_method.clone()));
    if !integration.request_parameters.is_empty() {
        out.insert("requestParameters".into(), strings(&integration.request_parameters));
    }
    if !integration.request_templates.is_empty() {
        out.insert("requestTemplates".into(), strings(&integration.request_templates));
    }
    let behaviour = serde_json::to_value(integration.passthrough_behavior).unwrap_or_default();
    out.insert(
        "passthroughBehavior".into(),
        Value::String(scalar(&behaviour).to_ascii_lowercase()),
    );
    let timeout = match (&integration.function, integration.kind) {
        (Some(f), IntegrationType::AwsProxy) => f.timeout_ms,
        _ => integration.timeout_ms,
    };
    out.insert("timeoutInMillis".into(), json!(timeout));
    if let Some(handling) = integration.content_handling {
        out.insert("contentHandling".into(), json!(handling));
    }
    if !integration.responses.is_empty() {
        let mut responses = Map::new();
        for (pattern, r) in &integration.responses {
            let mut response = Map::new();
            if let Some(code) = &r.status_code {
                response.insert("statusCode".into(), Value::String(code.clone()));
            }
            if !r.response_parameters.is_empty() {
                response.insert("responseParameters".into(), strings(&r.response_parameters));
            }
            if !r.response_templates.is_empty() {
                response.insert("responseTemplates".into(), strings(&r.response_templates));
            }
            if let Some(handling) = r.content_handling {
                response.insert("contentHandling".into(), json!(handling));
            }
            responses.insert(pattern.clone(), Value::Object(response));
        }
        out.insert("responses".into(), Value::Object(responses));
    }
    if let Some(cache) = &method.cache {
        if !cache.key_parameters.is_empty() {
            out.insert("cacheKeyParameters".into(), json!(cache.key_parameters));
        }
    }
    Value::Object(out)
}

fn strings(map: &BTreeMap<String, String>) -> Value {
    Value::Object(map.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_uris_read_both_ways() {
        let uri = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:pets/invocations";
        let (region, name) = lambda_of_uri(uri).unwrap();
        assert_eq!(region, "eu-west-1");
        assert_eq!(name, "arn:aws:lambda:eu-west-1:123456789012:function:pets");
        let f = LambdaFunction {
            cluster: "lambda".into(),
            authority: "lambda.eu-west-1.amazonaws.com".into(),
            name,
            timeout_ms: 29_000,
        };
        assert_eq!(lambda_uri(&f, "us-east-1"), uri);
        assert_eq!(lambda_of_uri("arn:aws:apigateway:x:s3:path/b"), None);
    }
}
