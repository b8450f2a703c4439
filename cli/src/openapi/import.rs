//! An OpenAPI / Swagger document -> a Tollgate spec, checked by the filter's own validation.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use tollgate_core::auth::policy::PolicyDocument;
use tollgate_core::config::Config;
use tollgate_core::deployment::Deployment;
use tollgate_core::gateway_response::check_header_source;
use tollgate_core::gateway_response::ResponseType;

use super::identity::identity;
use super::security::{self, Scheme};
use super::{aws_cluster, deref, integration, join, models, scalar, Notes, Unhonoured, Version};
use crate::spec::{Gateway, Spec};

#[derive(Debug, Default, Clone)]
pub struct Options {
    /// The stage name; by default the document's base path (`/prod`), else `prod`.
    pub stage: Option<String>,
    /// The AWS region (`${AWS::Region}`, ARNs); by default the document's, else `us-east-1`.
    pub region: Option<String>,
    /// The 12-digit AWS account (`${AWS::AccountId}`, ARNs); by default the document's, else
    /// `000000000000`.
    pub account_id: Option<String>,
    /// The stage's variables (an export has none; its URIs and templates may use them).
    pub stage_variables: std::collections::BTreeMap<String, String>,
    /// Whether a stage caches (an account's stage says; a document alone never does): method
    /// cache keys are kept.
    pub stage_cache: bool,
}

pub struct Imported {
    pub spec: Spec,
    /// What the gateway does not do, in document order.
    pub report: Vec<Unhonoured>,
}

/// What the walk over one document shares.
pub struct Context<'a> {
    pub doc: &'a Value,
    pub version: Version,
    pub api_id: String,
    pub region: String,
    pub notes: Notes,
    pub authorizers: Vec<Value>,
    pub lambda_authorizers: Vec<Value>,
    /// Whether the stage caches (never, from a document alone): method cache keys need it.
    pub stage_cache: bool,
    models: Map<String, Value>,
}

impl Context<'_> {
    /// The cluster that reaches Lambda in `region`, noted with its address.
    pub fn lambda_cluster(&mut self, region: &str) -> String {
        let cluster = aws_cluster("lambda", region, &self.region);
        self.notes
            .clusters
            .insert(cluster.clone(), format!("https://lambda.{region}.amazonaws.com"));
        cluster
    }
}

const VERBS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];
const ANY_METHOD: &str = "x-amazon-apigateway-any-method";

pub fn import(doc: &Value, options: &Options) -> Result<Imported, String> {
    let version = Version::of(doc)?;
    if let Some(at) = http_api_mark(doc) {
        return Err(format!(
            "{at}: this is an HTTP API (API Gateway v2) export; Tollgate serves REST APIs (v1), \
             whose events, mappings and CORS differ: export a REST API, or rebuild this API as \
             one"
        ));
    }
    let mut notes = Notes::default();
    let id = identity(doc, version, options, &mut notes);
    // What CloudFormation substitutes when it deploys the document (a SAM or CloudFormation
    // template's `Fn::Sub`), substituted here with the API's region and account.
    let substituted = pseudo_parameters(doc, &id.region, &id.account_id);
    let doc = &substituted;
    let Value::Object(top) = doc else { return Err("the document is not a map".into()) };
    let mut cx = Context {
        doc,
        version,
        api_id: id.api_id.clone(),
        region: id.region.clone(),
        notes,
        authorizers: Vec::new(),
        lambda_authorizers: Vec::new(),
        stage_cache: options.stage_cache,
        models: Map::new(),
    };
    let schemas = match version {
        Version::Swagger2 => doc.get("definitions"),
        _ => doc.pointer("/components/schemas"),
    };
    if let Some(Value::Object(schemas)) = schemas {
        for (name, schema) in schemas {
            let model = models::import_schema(schema, &cx.api_id, version);
            cx.models.insert(name.clone(), model);
        }
    }
    let schemes = security::import_schemes(&mut cx)?;
    let mut config = Map::new();
    config.insert(
        "api".into(),
        json!({"id": id.api_id, "region": id.region, "account_id": id.account_id}),
    );
    let mut stage = json!({"name": id.stage});
    if !options.stage_variables.is_empty() {
        stage["variables"] = json!(options.stage_variables);
    }
    if options.stage_cache {
        stage["cache"] = json!({});
    }
    config.insert("stage".into(), stage);
    let mut default_validator = None;
    for (key, value) in top {
        let at = key.as_str();
        match at {
            "x-amazon-apigateway-api-key-source" => {
                let source = scalar(value).to_ascii_uppercase();
                config.insert("api_key_source".into(), Value::String(source));
            }
            "x-amazon-apigateway-request-validators" => {
                config.insert("request_validators".into(), validators(&mut cx, value, at)?);
            }
            "x-amazon-apigateway-request-validator" => default_validator = Some(scalar(value)),
            "x-amazon-apigateway-gateway-responses" => {
                config.insert("gateway_responses".into(), gateway_responses(&mut cx, value, at)?);
            }
            "x-amazon-apigateway-policy" => {
                let policy = match value {
                    Value::String(text) => serde_json::from_str(text)
                        .map_err(|e| format!("{at}: not a policy document: {e}"))?,
                    other => other.clone(),
                };
                let bytes = serde_json::to_vec(&policy).map_err(|e| e.to_string())?;
                PolicyDocument::from_json(&bytes).map_err(|e| format!("{at}: {e}"))?;
                config.insert("resource_policy".into(), policy);
            }
            "x-amazon-apigateway-binary-media-types" => match value.as_array() {
                Some(types) => {
                    if let Some(api) = config.get_mut("api") {
                        // AWS escapes `/` as `~1` in the console's exports.
                        let types: Vec<String> =
                            types.iter().map(|t| scalar(t).replace("~1", "/")).collect();
                        api["binary_media_types"] = json!(types);
                    }
                }
                None => cx.notes.unhonoured(at, "not a list of media types"),
            },
            "x-amazon-apigateway-endpoint-configuration" => cx.notes.unhonoured(
                at,
                "the gateway listens where its Envoy listener does; endpoint types and VPC \
                 endpoint ids are not used (a resource policy can check aws:SourceVpce)",
            ),
            "x-amazon-apigateway-minimum-compression-size" => match value.as_u64() {
                Some(size) => {
                    if let Some(api) = config.get_mut("api") {
                        api["minimum_compression_size"] = json!(size);
                    }
                }
                None => cx.notes.unhonoured(at, "not a number of bytes"),
            },
            "x-amazon-apigateway-documentation" => {
                cx.notes.unhonoured(at, "documentation parts are not kept")
            }
            _ if at.starts_with("x-amazon-apigateway-") => {
                cx.notes.unhonoured(at, "not an extension the gateway reads")
            }
            _ => {}
        }
    }
    let methods = paths(&mut cx, &schemes, default_validator.as_deref())?;
    config.insert("methods".into(), Value::Array(methods));
    config.insert("models".into(), Value::Object(std::mem::take(&mut cx.models)));
    config.insert("authorizers".into(), Value::Array(std::mem::take(&mut cx.authorizers)));
    config.insert(
        "lambda_authorizers".into(),
        Value::Array(std::mem::take(&mut cx.lambda_authorizers)),
    );
    let bytes = serde_json::to_vec(&Value::Object(config)).map_err(|e| e.to_string())?;
    let config = Config::from_json(&bytes)
        .map_err(|e| format!("the imported spec is not a valid config: {e}"))?;
    let bytes = serde_json::to_vec(&config).map_err(|e| e.to_string())?;
    Deployment::from_json(&bytes).map_err(|e| {
        let hint = if e.to_string().contains("stage variable") {
            " (an export carries no stage variables: give them with --stage-variable NAME=VALUE)"
        } else {
            ""
        };
        format!("the imported spec does not pass validation: {e}{hint}")
    })?;
    let gateway = Gateway { clusters: cx.notes.clusters, ..Gateway::default() };
    Ok(Imported { spec: Spec { gateway, config }, report: cx.notes.report })
}

/// Where a document shows it is an HTTP API (API Gateway v2) export: its import-export version,
/// its CORS extension, or an integration with payload format 2.0.
fn http_api_mark(doc: &Value) -> Option<String> {
    for key in ["x-amazon-apigateway-importexport-version", "x-amazon-apigateway-cors"] {
        if doc.get(key).is_some() {
            return Some(key.to_string());
        }
    }
    let paths = doc.get("paths")?.as_object()?;
    for (path, item) in paths {
        for (verb, operation) in item.as_object().into_iter().flatten() {
            let integration = operation.get("x-amazon-apigateway-integration");
            let format = integration.and_then(|i| i.get("payloadFormatVersion")).map(scalar);
            if format.as_deref() == Some("2.0") {
                return Some(format!(
                    "paths.{path}.{verb}.x-amazon-apigateway-integration.payloadFormatVersion"
                ));
            }
        }
    }
    None
}

/// `${AWS::Region}`, `${AWS::AccountId}`, `${AWS::Partition}`, `${AWS::URLSuffix}` in every
/// string of the document.
fn pseudo_parameters(value: &Value, region: &str, account: &str) -> Value {
    match value {
        Value::String(s) if s.contains("${AWS::") => Value::String(
            s.replace("${AWS::Region}", region)
                .replace("${AWS::AccountId}", account)
                .replace("${AWS::Partition}", "aws")
                .replace("${AWS::URLSuffix}", "amazonaws.com"),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| pseudo_parameters(v, region, account)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter().map(|(k, v)| (k.clone(), pseudo_parameters(v, region, account))).collect(),
        ),
        other => other.clone(),
    }
}

fn validators(cx: &mut Context, value: &Value, at: &str) -> Result<Value, String> {
    let Value::Object(map) = value else { return Err(format!("{at}: not a map")) };
    let mut out = Map::new();
    for (name, v) in map {
        let flag = |key: &str| v.get(key).and_then(Value::as_bool).unwrap_or(false);
        for key in v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default()
        {
            if key != "validateRequestBody" && key != "validateRequestParameters" {
                cx.notes
                    .unhonoured(&join(&join(at, name), &key), "not part of a request validator");
            }
        }
        out.insert(
            name.clone(),
            json!({"validate_request_body": flag("validateRequestBody"),
                   "validate_request_parameters": flag("validateRequestParameters")}),
        );
    }
    Ok(Value::Object(out))
}

fn gateway_responses(cx: &mut Context, value: &Value, at: &str) -> Result<Value, String> {
    let Value::Object(map) = value else { return Err(format!("{at}: not a map")) };
    let mut out = Map::new();
    for (kind, response) in map {
        let here = join(at, kind);
        if serde_json::from_value::<ResponseType>(json!(kind)).is_err() {
            cx.notes.unhonoured(&here, "not a gateway response type the gateway sends");
            continue;
        }
        let mut r = Map::new();
        for (key, v) in response.as_object().into_iter().flatten() {
            let field = join(&here, key);
            match key.as_str() {
                "statusCode" => {
                    let status = scalar(v)
                        .parse::<u16>()
                        .map_err(|_| format!("{field}: `{}` is not an HTTP status", scalar(v)))?;
                    r.insert("status".into(), json!(status));
                }
                "responseParameters" => {
                    let mut headers = Map::new();
                    for (param, source) in v.as_object().into_iter().flatten() {
                        let source = scalar(source);
                        let Some(name) = param.strip_prefix("gatewayresponse.header.") else {
                            cx.notes.unhonoured(&join(&field, param), "only headers are set");
                            continue;
                        };
                        match source.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
                            Some(text) => {
                                headers.insert(name.to_string(), json!(text));
                            }
                            None => match check_header_source(source.trim()) {
                                Ok(()) => {
                                    headers
                                        .insert(name.to_string(), json!({"from": source.trim()}));
                                }
                                Err(why) => cx.notes.unhonoured(&join(&field, param), &why),
                            },
                        }
                    }
                    r.insert("headers".into(), Value::Object(headers));
                }
                "responseTemplates" => {
                    let mut others = Map::new();
                    for (media, template) in v.as_object().into_iter().flatten() {
                        if media == "application/json" {
                            r.insert("body".into(), json!(scalar(template)));
                        } else {
                            others.insert(media.clone(), json!(scalar(template)));
                        }
                    }
                    if !others.is_empty() {
                        r.insert("templates".into(), Value::Object(others));
                    }
                }
                _ => cx.notes.unhonoured(&field, "not part of a gateway response"),
            }
        }
        out.insert(kind.clone(), Value::Object(r));
    }
    Ok(Value::Object(out))
}

fn paths(
    cx: &mut Context,
    schemes: &BTreeMap<String, Scheme>,
    default_validator: Option<&str>,
) -> Result<Vec<Value>, String> {
    let mut methods = Vec::new();
    let Some(Value::Object(paths)) = cx.doc.get("paths") else { return Ok(methods) };
    for (resource, item) in paths {
        let at = join("paths", resource);
        if !resource.starts_with('/') {
            if resource.starts_with("x-amazon-apigateway-") {
                cx.notes.unhonoured(&at, "not an extension the gateway reads");
            }
            continue;
        }
        let item = deref(cx.doc, item, &at)?;
        let shared = item.get("parameters");
        for (key, op) in item.as_object().into_iter().flatten() {
            let here = join(&at, key);
            let verb = if key == ANY_METHOD {
                "ANY".to_string()
            } else if VERBS.contains(&key.as_str()) {
                key.to_ascii_uppercase()
            } else {
                if key == "trace" {
                    cx.notes.unhonoured(&here, "TRACE is not a method the gateway routes");
                } else if key.starts_with("x-amazon-apigateway-") {
                    cx.notes.unhonoured(&here, "not an extension the gateway reads");
                }
                continue;
            };
            let op = deref(cx.doc, op, &here)?;
            let method = Operation { resource, verb: &verb, op, at: &here };
            methods.push(method.import(cx, shared, schemes, default_validator)?);
        }
    }
    Ok(methods)
}

struct Operation<'a> {
    resource: &'a str,
    verb: &'a str,
    op: &'a Value,
    at: &'a str,
}

impl Operation<'_> {
    fn import(
        &self,
        cx: &mut Context,
        shared: Option<&Value>,
        schemes: &BTreeMap<String, Scheme>,
        default_validator: Option<&str>,
    ) -> Result<Value, String> {
        let mut m = Map::new();
        m.insert("resource".into(), json!(self.resource));
        m.insert("http_method".into(), json!(self.verb));
        if let Some(id) = self.op.get("operationId") {
            m.insert("operation_name".into(), json!(scalar(id)));
        }
        let (parameters, body) = self.parameters(cx, shared)?;
        let models = self.request_models(cx, body.as_ref())?;
        m.insert("request_parameters".into(), json!(parameters));
        m.insert("request_models".into(), json!(models));
        let requirement = self.op.get("security").or_else(|| cx.doc.get("security"));
        self.security(cx, requirement, schemes, &mut m);
        if let Some(name) = default_validator {
            m.insert("request_validator".into(), json!(name));
        }
        for (key, value) in self.op.as_object().into_iter().flatten() {
            let here = join(self.at, key);
            match key.as_str() {
                "x-amazon-apigateway-integration" => {
                    let imported = integration::import(cx, value, self.verb, &here)?;
                    m.insert("integration".into(), imported.integration);
                    if !imported.cache_key_parameters.is_empty() {
                        m.insert(
                            "cache".into(),
                            json!({"key_parameters": imported.cache_key_parameters}),
                        );
                    }
                }
                "x-amazon-apigateway-request-validator" => {
                    m.insert("request_validator".into(), json!(scalar(value)));
                }
                "x-amazon-apigateway-auth" => {
                    let kind = value.get("type").map(scalar).unwrap_or_default();
                    match kind.to_ascii_uppercase().as_str() {
                        "AWS_IAM" => {
                            m.insert("authorization_type".into(), json!("AWS_IAM"));
                        }
                        "NONE" => {}
                        other => {
                            cx.notes.unhonoured(&here, format!("`{other}` is not AWS_IAM or NONE"))
                        }
                    }
                }
                _ if key.starts_with("x-amazon-apigateway-") => {
                    cx.notes.unhonoured(&here, "not an extension the gateway reads")
                }
                _ => {}
            }
        }
        Ok(Value::Object(m))
    }

    /// `method.request.{path|querystring|header}.NAME` -> required, and a Swagger body
    /// parameter's schema.
    fn parameters(
        &self,
        cx: &mut Context,
        shared: Option<&Value>,
    ) -> Result<(BTreeMap<String, bool>, Option<Value>), String> {
        let mut out = BTreeMap::new();
        let mut body = None;
        let doc = cx.doc;
        let lists = [
            (shared, "parameters".to_string()),
            (self.op.get("parameters"), join(self.at, "parameters")),
        ];
        for (list, at) in lists {
            for (i, p) in list.and_then(Value::as_array).into_iter().flatten().enumerate() {
                let here = format!("{at}[{i}]");
                let p = deref(doc, p, &here)?;
                let name = p.get("name").map(scalar).unwrap_or_default();
                let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
                let place = p.get("in").map(scalar).unwrap_or_default();
                let key = match place.as_str() {
                    "path" => format!("method.request.path.{name}"),
                    "query" => format!("method.request.querystring.{name}"),
                    "header" => format!("method.request.header.{name}"),
                    "body" => {
                        body = p.get("schema").cloned();
                        continue;
                    }
                    other => {
                        cx.notes
                            .unhonoured(&here, format!("`in: {other}` parameters are not read"));
                        continue;
                    }
                };
                out.insert(key, required || place == "path");
            }
        }
        for name in template_parameters(self.resource) {
            out.entry(format!("method.request.path.{name}")).or_insert(true);
        }
        Ok((out, body))
    }

    /// Content-Type -> model name, from `requestBody` (OpenAPI 3) or the body parameter.
    fn request_models(
        &self,
        cx: &mut Context,
        swagger_body: Option<&Value>,
    ) -> Result<BTreeMap<String, String>, String> {
        let mut out = BTreeMap::new();
        let doc = cx.doc;
        if let Some(schema) = swagger_body {
            let consumes = self.op.get("consumes").or_else(|| doc.get("consumes"));
            let medias: Vec<String> = consumes
                .and_then(Value::as_array)
                .map(|a| a.iter().map(scalar).collect())
                .unwrap_or_else(|| vec!["application/json".to_string()]);
            let model = self.model_for(cx, schema);
            for media in medias {
                out.insert(media, model.clone());
            }
        }
        if let Some(body) = self.op.get("requestBody") {
            let here = join(self.at, "requestBody");
            let body = deref(doc, body, &here)?;
            for (media, content) in
                body.get("content").and_then(Value::as_object).into_iter().flatten()
            {
                if let Some(schema) = content.get("schema") {
                    let model = self.model_for(cx, schema);
                    out.insert(media.clone(), model);
                }
            }
        }
        Ok(out)
    }

    /// The model a schema names, or a new model for an inline schema.
    fn model_for(&self, cx: &mut Context, schema: &Value) -> String {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            if let Some((name, inner)) = models::model_of_ref(r, cx.version) {
                if inner.is_empty() && schema.as_object().is_some_and(|o| o.len() == 1) {
                    return name;
                }
            }
        }
        let hint = match self.op.get("operationId") {
            Some(id) => scalar(id),
            None => format!("{}{}", self.verb.to_ascii_lowercase(), self.resource),
        };
        let mut base: String =
            hint.split(|c: char| !c.is_ascii_alphanumeric()).map(capitalised).collect();
        base.push_str("Body");
        let model = models::import_schema(schema, &cx.api_id, cx.version);
        let mut name = base.clone();
        let mut n = 1;
        while cx.models.get(&name).is_some_and(|existing| *existing != model) {
            n += 1;
            name = format!("{base}{n}");
        }
        cx.models.insert(name.clone(), model);
        name
    }

    fn security(
        &self,
        cx: &mut Context,
        requirement: Option<&Value>,
        schemes: &BTreeMap<String, Scheme>,
        m: &mut Map<String, Value>,
    ) {
        let at = join(self.at, "security");
        let Some(Value::Array(alternatives)) = requirement else { return };
        let Some(Value::Object(first)) = alternatives.first() else { return };
        if alternatives.len() > 1 {
            cx.notes.unhonoured(
                &at,
                "one way to authenticate per method: only the first alternative is enforced",
            );
        }
        let mut authorizer: Option<String> = None;
        for (name, scopes) in first {
            let scopes: Vec<String> =
                scopes.as_array().map(|a| a.iter().map(scalar).collect()).unwrap_or_default();
            let (kind, id, scopes) = match schemes.get(name) {
                // SAM writes `NONE: []` for a method without authorization, naming no scheme.
                None if name == "NONE" => continue,
                None => {
                    cx.notes
                        .unhonoured(&join(&at, name), "there is no security scheme of that name");
                    continue;
                }
                Some(Scheme::ApiKey) => {
                    m.insert("api_key_required".into(), json!(true));
                    continue;
                }
                Some(Scheme::Unsupported) => {
                    cx.notes.unhonoured(
                        &join(&at, name),
                        "the scheme cannot be enforced: callers reach the method without it",
                    );
                    continue;
                }
                Some(Scheme::Sigv4) => ("AWS_IAM", None, Vec::new()),
                Some(Scheme::Lambda) => {
                    if !scopes.is_empty() {
                        cx.notes
                            .unhonoured(&join(&at, name), "only token authorizers check scopes");
                    }
                    ("CUSTOM", Some(name.clone()), Vec::new())
                }
                Some(Scheme::Token(kind)) => {
                    let kind = serde_json::to_value(kind).map(|v| scalar(&v)).unwrap_or_default();
                    let kind = if kind == "JWT" { "JWT" } else { "COGNITO_USER_POOLS" };
                    (kind, Some(name.clone()), scopes)
                }
            };
            if let Some(first) = &authorizer {
                cx.notes.unhonoured(
                    &join(&at, name),
                    format!("one authorizer per method: `{first}` is enforced, this one is not"),
                );
                continue;
            }
            authorizer = Some(name.clone());
            m.insert("authorization_type".into(), json!(kind));
            if let Some(id) = id {
                m.insert("authorizer_id".into(), json!(id));
            }
            m.insert("authorization_scopes".into(), json!(scopes));
        }
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// `/pets/{petId}/{proxy+}` -> `petId`, `proxy`.
fn template_parameters(resource: &str) -> Vec<String> {
    resource
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|s| s.trim_end_matches('+').to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parameters_are_read() {
        assert_eq!(template_parameters("/a/{b}/c/{d+}"), ["b", "d"]);
    }

    #[test]
    fn http_api_exports_are_refused_with_the_reason() {
        let doc = serde_json::json!({
            "openapi": "3.0.1", "info": {"title": "pets", "version": "1"},
            "paths": {"/pets/{petId}": {"get": {"x-amazon-apigateway-integration": {
                "type": "http_proxy", "httpMethod": "GET", "payloadFormatVersion": "2.0",
                "uri": "https://petstore.example.com/pets/{petId}"}}}},
        });
        let err = import(&doc, &Options::default()).map(|_| ()).unwrap_err();
        assert!(err.contains("payloadFormatVersion") && err.contains("HTTP API"), "{err}");
        let doc = serde_json::json!({"openapi": "3.0.1", "info": {"title": "pets", "version": "1"},
            "x-amazon-apigateway-importexport-version": "1.0", "paths": {}});
        let err = import(&doc, &Options::default()).map(|_| ()).unwrap_err();
        assert!(err.starts_with("x-amazon-apigateway-importexport-version"), "{err}");
    }

    /// A SAM/CloudFormation-style document: pseudo parameters in the integration URI, and a
    /// server host with placeholders for the API id and region.
    #[test]
    fn pseudo_parameters_and_placeholder_hosts() {
        let doc = serde_json::json!({
            "openapi": "3.0.1", "info": {"title": "Greeter", "version": "1"},
            "servers": [{"url": "https://{restApiId}.execute-api.{region}.amazonaws.com/{basePath}",
                         "variables": {"basePath": {"default": "/dev"}}}],
            "paths": {"/hello": {"get": {"x-amazon-apigateway-integration": {
                "type": "aws_proxy", "httpMethod": "POST",
                "uri": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:hello/invocations"}}}},
        });
        let options = Options {
            region: Some("eu-west-1".into()),
            account_id: Some("123456789012".into()),
            ..Options::default()
        };
        let imported = import(&doc, &options).unwrap();
        let config = &imported.spec.config;
        assert_eq!(
            (config.api.id.as_str(), config.api.region.as_str(), config.api.account_id.as_str()),
            ("Greeter", "eu-west-1", "123456789012")
        );
        assert_eq!(config.stage.name, "dev");
        let function = config.methods[0].integration.as_ref().unwrap().function.as_ref().unwrap();
        assert_eq!(function.name, "arn:aws:lambda:eu-west-1:123456789012:function:hello");
        assert_eq!(function.authority, "lambda.eu-west-1.amazonaws.com");
        // Without --region: the placeholder is no region, and the report says so.
        let imported = import(&doc, &Options::default()).unwrap();
        assert_eq!(imported.spec.config.api.region, "us-east-1");
        assert!(
            imported.report.iter().any(|r| format!("{r:?}").contains("names no region")),
            "{:?}",
            imported.report
        );
    }
}
