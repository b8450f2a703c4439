//! A Tollgate spec -> an OpenAPI 3.0 or Swagger 2.0 document, optionally with the API Gateway
//! extensions (then `tollgate import` reads it back to the same spec).

use serde_json::{json, Map, Value};
use tollgate_core::config::{Config, HeaderValue, Method};

use super::{integration, models, security, Version};
use crate::spec::Spec;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// OpenAPI 3.0.
    Oas30,
    /// Swagger 2.0.
    Swagger,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Extensions {
    /// The `x-amazon-apigateway-*` extensions.
    Apigateway,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub stage: Option<String>,
    pub format: Format,
    pub extensions: bool,
}

/// The spec's stage: `stage`, or the first of `stages`.
pub fn stage_name(spec: &Spec) -> String {
    spec.config.stages.first().map_or_else(|| spec.config.stage.name.clone(), |s| s.name.clone())
}

const VERBS: [&str; 7] = ["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH"];

pub fn export(spec: &Spec, options: &Options) -> Result<Value, String> {
    let config = &spec.config;
    let stage = options.stage.clone().unwrap_or_else(|| stage_name(spec));
    let known = if config.stages.is_empty() {
        config.stage.name == stage
    } else {
        config.stages.iter().any(|s| s.name == stage)
    };
    if !known {
        return Err(format!("the spec has no stage `{stage}`"));
    }
    let version = match options.format {
        Format::Oas30 => Version::OpenApi30,
        Format::Swagger => Version::Swagger2,
    };
    let host = format!("{}.execute-api.{}.amazonaws.com", config.api.id, config.api.region);
    let mut doc = Map::new();
    let info = json!({"title": config.api.id, "version": "1.0"});
    match version {
        Version::Swagger2 => {
            doc.insert("swagger".into(), json!("2.0"));
            doc.insert("info".into(), info);
            doc.insert("host".into(), json!(host));
            doc.insert("basePath".into(), json!(format!("/{stage}")));
            doc.insert("schemes".into(), json!(["https"]));
        }
        _ => {
            doc.insert("openapi".into(), json!("3.0.1"));
            doc.insert("info".into(), info);
            doc.insert(
                "servers".into(),
                json!([{"url": format!("https://{host}/{{basePath}}"),
                        "variables": {"basePath": {"default": format!("/{stage}")}}}]),
            );
        }
    }
    doc.insert("paths".into(), Value::Object(paths(config, version, options.extensions)));
    let schemas: Map<String, Value> = config
        .models
        .iter()
        .map(|(name, schema)| (name.clone(), models::export_schema(schema, version)))
        .collect();
    let schemes = security::export_schemes(config, version, options.extensions);
    match version {
        Version::Swagger2 => {
            doc.insert("definitions".into(), Value::Object(schemas));
            if !schemes.is_empty() {
                doc.insert("securityDefinitions".into(), Value::Object(schemes));
            }
        }
        _ => {
            let mut components = Map::new();
            components.insert("schemas".into(), Value::Object(schemas));
            if !schemes.is_empty() {
                components.insert("securitySchemes".into(), Value::Object(schemes));
            }
            doc.insert("components".into(), Value::Object(components));
        }
    }
    if options.extensions {
        extensions(config, &mut doc)?;
    }
    Ok(Value::Object(doc))
}

fn extensions(config: &Config, doc: &mut Map<String, Value>) -> Result<(), String> {
    doc.insert("x-amazon-apigateway-api-key-source".into(), to_value(&config.api_key_source)?);
    if !config.api.binary_media_types.is_empty() {
        doc.insert(
            "x-amazon-apigateway-binary-media-types".into(),
            json!(config.api.binary_media_types),
        );
    }
    if let Some(size) = config.api.minimum_compression_size {
        doc.insert("x-amazon-apigateway-minimum-compression-size".into(), json!(size));
    }
    if !config.request_validators.is_empty() {
        let validators: Map<String, Value> = config
            .request_validators
            .iter()
            .map(|(name, v)| {
                (
                    name.clone(),
                    json!({"validateRequestBody": v.validate_request_body,
                                      "validateRequestParameters": v.validate_request_parameters}),
                )
            })
            .collect();
        doc.insert("x-amazon-apigateway-request-validators".into(), Value::Object(validators));
    }
    if !config.gateway_responses.is_empty() {
        let mut responses = Map::new();
        for (kind, r) in &config.gateway_responses {
            let mut response = Map::new();
            if let Some(status) = r.status {
                response.insert("statusCode".into(), json!(status.to_string()));
            }
            if !r.headers.is_empty() {
                let params: Map<String, Value> = r
                    .headers
                    .iter()
                    .map(|(name, value)| {
                        let source = match value {
                            HeaderValue::Static(text) => format!("'{text}'"),
                            HeaderValue::From { from } => from.clone(),
                        };
                        (format!("gatewayresponse.header.{name}"), json!(source))
                    })
                    .collect();
                response.insert("responseParameters".into(), Value::Object(params));
            }
            let mut templates: Map<String, Value> =
                r.templates.iter().map(|(m, t)| (m.clone(), json!(t))).collect();
            if let Some(body) = &r.body {
                templates.insert("application/json".into(), json!(body));
            }
            if !templates.is_empty() {
                response.insert("responseTemplates".into(), Value::Object(templates));
            }
            let kind = to_value(kind)?;
            responses.insert(super::scalar(&kind), Value::Object(response));
        }
        doc.insert("x-amazon-apigateway-gateway-responses".into(), Value::Object(responses));
    }
    if let Some(policy) = &config.resource_policy {
        doc.insert("x-amazon-apigateway-policy".into(), to_value(policy)?);
    }
    Ok(())
}

fn to_value<T: serde::Serialize>(value: &T) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|e| e.to_string())
}

fn paths(config: &Config, version: Version, extensions: bool) -> Map<String, Value> {
    let mut out: Map<String, Value> = Map::new();
    for method in &config.methods {
        let item = out.entry(method.resource.clone()).or_insert_with(|| json!({}));
        let Value::Object(item) = item else { continue };
        if method.http_method == "ANY" && !extensions {
            // Plain OpenAPI has no "any method": every verb the resource does not name itself.
            for verb in VERBS {
                let named = config
                    .methods
                    .iter()
                    .any(|m| m.resource == method.resource && m.http_method == verb);
                let key = verb.to_ascii_lowercase();
                if !named && !item.contains_key(&key) {
                    let suffix: String = verb
                        .chars()
                        .enumerate()
                        .map(|(i, c)| if i == 0 { c } else { c.to_ascii_lowercase() })
                        .collect();
                    item.insert(key, operation(method, version, extensions, &suffix, config));
                }
            }
            continue;
        }
        let key = if method.http_method == "ANY" {
            "x-amazon-apigateway-any-method".to_string()
        } else {
            method.http_method.to_ascii_lowercase()
        };
        item.insert(key, operation(method, version, extensions, "", config));
    }
    out
}

fn operation(
    method: &Method,
    version: Version,
    extensions: bool,
    suffix: &str,
    config: &Config,
) -> Value {
    let mut op = Map::new();
    if let Some(name) = &method.operation_name {
        op.insert("operationId".into(), json!(format!("{name}{suffix}")));
    }
    let mut parameters = Vec::new();
    for (key, required) in &method.request_parameters {
        let Some(rest) = key.strip_prefix("method.request.") else { continue };
        let Some((place, name)) = rest.split_once('.') else { continue };
        let place = match place {
            "path" => "path",
            "querystring" | "multivaluequerystring" => "query",
            "header" | "multivalueheader" => "header",
            _ => continue,
        };
        let mut p = json!({"name": name, "in": place, "required": *required || place == "path"});
        match version {
            Version::Swagger2 => p["type"] = json!("string"),
            _ => p["schema"] = json!({"type": "string"}),
        }
        parameters.push(p);
    }
    let schema_ref = |model: &str| {
        let r = match version {
            Version::Swagger2 => "#/definitions/",
            _ => "#/components/schemas/",
        };
        json!({"$ref": format!("{r}{}", model.replace('~', "~0").replace('/', "~1"))})
    };
    if !method.request_models.is_empty() {
        match version {
            Version::Swagger2 => {
                let medias: Vec<&String> = method.request_models.keys().collect();
                op.insert("consumes".into(), json!(medias));
                if let Some(model) = method.request_models.values().next() {
                    parameters.push(json!({"name": model, "in": "body", "required": true,
                                           "schema": schema_ref(model)}));
                }
            }
            _ => {
                let content: Map<String, Value> = method
                    .request_models
                    .iter()
                    .map(|(media, model)| (media.clone(), json!({"schema": schema_ref(model)})))
                    .collect();
                op.insert("requestBody".into(), json!({"content": content, "required": true}));
            }
        }
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    let mut responses = Map::new();
    if let Some(integration) = &method.integration {
        for r in integration.responses.values() {
            if let Some(code) = &r.status_code {
                responses.insert(code.clone(), json!({"description": format!("{code} response")}));
            }
        }
    }
    if responses.is_empty() {
        responses.insert("200".into(), json!({"description": "200 response"}));
    }
    op.insert("responses".into(), Value::Object(responses));
    if let Some(requirement) = security::export_requirement(method) {
        op.insert("security".into(), requirement);
    }
    if extensions {
        if let Some(validator) = &method.request_validator {
            op.insert("x-amazon-apigateway-request-validator".into(), json!(validator));
        }
        if let Some(i) = &method.integration {
            op.insert(
                "x-amazon-apigateway-integration".into(),
                integration::export(method, i, &config.api.region),
            );
        }
    }
    Value::Object(op)
}

/// The field paths where two configs differ (at most 20), for what an export loses.
pub fn differences(a: &Config, b: &Config) -> Vec<String> {
    let (Ok(a), Ok(b)) = (serde_json::to_value(a), serde_json::to_value(b)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    diff(&a, &b, "", &mut out);
    out
}

fn diff(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
    if a == b || out.len() >= 20 {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let null = Value::Null;
                diff(
                    x.get(key).unwrap_or(&null),
                    y.get(key).unwrap_or(&null),
                    &super::join(at, key),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(p, q, &format!("{at}[{i}]"), out);
            }
        }
        _ => out.push(if at.is_empty() { ".".into() } else { at.to_string() }),
    }
}
