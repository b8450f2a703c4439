//! An API's OpenAPI 3 document with the API Gateway extensions, rebuilt from what the control
//! plane holds (`GetResources` with its methods, `GetModels`, `GetRequestValidators`,
//! `GetAuthorizers`, `GetGatewayResponses`): the document `GetExport` would give, for sources
//! that have no export (an emulator, a folder without `get-export` files).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{text, RestApi};
use crate::openapi::scalar;

/// The integration fields an export carries as they are (the rest of `methodIntegration` is
/// either turned into the export's form below or is the control plane's bookkeeping).
const INTEGRATION_FIELDS: [&str; 11] = [
    "httpMethod",
    "uri",
    "credentials",
    "requestParameters",
    "requestTemplates",
    "contentHandling",
    "timeoutInMillis",
    "cacheNamespace",
    "cacheKeyParameters",
    "connectionType",
    "connectionId",
];

/// The document of `api` as served on `stage` in `region`.
pub fn openapi(api: &RestApi, region: &str, stage: &str) -> Value {
    let id = text(&api.api, "id");
    let authorizers: BTreeMap<&str, &Value> =
        api.authorizers.iter().map(|a| (text(a, "id"), a)).collect();
    let validators: BTreeMap<&str, &str> =
        api.request_validators.iter().map(|v| (text(v, "id"), text(v, "name"))).collect();
    let mut paths = Map::new();
    let mut resources: Vec<&Value> = api.resources.iter().collect();
    resources.sort_by_key(|r| text(r, "path"));
    for resource in resources {
        let Some(Value::Object(methods)) = resource.get("resourceMethods") else { continue };
        let mut item = Map::new();
        for (verb, method) in methods {
            let key = if verb == "ANY" {
                "x-amazon-apigateway-any-method".to_string()
            } else {
                verb.to_ascii_lowercase()
            };
            item.insert(key, operation(method, &authorizers, &validators));
        }
        if !item.is_empty() {
            paths.insert(text(resource, "path").to_string(), Value::Object(item));
        }
    }
    let mut schemes = Map::new();
    schemes
        .insert("api_key".into(), json!({"type": "apiKey", "name": "x-api-key", "in": "header"}));
    schemes.insert(
        "sigv4".into(),
        json!({"type": "apiKey", "name": "Authorization", "in": "header",
               "x-amazon-apigateway-authtype": "awsSigv4"}),
    );
    for authorizer in &api.authorizers {
        schemes.insert(text(authorizer, "name").to_string(), security_scheme(authorizer));
    }
    let mut schemas = Map::new();
    for model in &api.models {
        schemas.insert(text(model, "name").to_string(), model_schema(model));
    }
    let mut doc = json!({
        "openapi": "3.0.1",
        "info": {"title": text(&api.api, "name"), "version": text(&api.api, "version")},
        "servers": [{
            "url": format!("https://{id}.execute-api.{region}.amazonaws.com/{{basePath}}"),
            "variables": {"basePath": {"default": stage}},
        }],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": schemes},
    });
    if let Some(description) = api.api.get("description") {
        doc["info"]["description"] = description.clone();
    }
    if !api.request_validators.is_empty() {
        let validators: Map<String, Value> = api
            .request_validators
            .iter()
            .map(|v| {
                let flag = |name: &str| v.get(name).and_then(Value::as_bool).unwrap_or(false);
                let value = json!({
                    "validateRequestBody": flag("validateRequestBody"),
                    "validateRequestParameters": flag("validateRequestParameters"),
                });
                (text(v, "name").to_string(), value)
            })
            .collect();
        doc["x-amazon-apigateway-request-validators"] = Value::Object(validators);
    }
    let responses = gateway_responses(&api.gateway_responses);
    if !responses.is_empty() {
        doc["x-amazon-apigateway-gateway-responses"] = Value::Object(responses);
    }
    for (field, extension) in [
        ("apiKeySource", "x-amazon-apigateway-api-key-source"),
        ("binaryMediaTypes", "x-amazon-apigateway-binary-media-types"),
        ("minimumCompressionSize", "x-amazon-apigateway-minimum-compression-size"),
        ("policy", "x-amazon-apigateway-policy"),
    ] {
        match api.api.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) if list.is_empty() => {}
            Some(Value::String(policy)) if field == "policy" => {
                // The control plane keeps the policy as JSON text, escaped once more (`\"`).
                let parsed = serde_json::from_str::<Value>(policy)
                    .or_else(|_| serde_json::from_str::<Value>(&policy.replace("\\\"", "\"")));
                doc[extension] = parsed.unwrap_or_else(|_| Value::String(policy.clone()));
            }
            Some(value) => doc[extension] = value.clone(),
        }
    }
    doc
}

/// One method: parameters, body models, responses, security, validator and integration.
fn operation(
    method: &Value,
    authorizers: &BTreeMap<&str, &Value>,
    validators: &BTreeMap<&str, &str>,
) -> Value {
    let mut op = Map::new();
    if let Some(name) = method.get("operationName").and_then(Value::as_str) {
        op.insert("operationId".into(), json!(name));
    }
    let mut parameters = Vec::new();
    if let Some(Value::Object(requested)) = method.get("requestParameters") {
        for (key, required) in requested {
            let Some(rest) = key.strip_prefix("method.request.") else { continue };
            let Some((place, name)) = rest.split_once('.') else { continue };
            let place = match place {
                "path" => "path",
                "querystring" => "query",
                "header" => "header",
                _ => continue,
            };
            let required = place == "path" || required.as_bool().unwrap_or(false);
            parameters.push(json!({"name": name, "in": place, "required": required,
                                   "schema": {"type": "string"}}));
        }
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(Value::Object(models)) = method.get("requestModels") {
        let content = model_content(models);
        op.insert("requestBody".into(), json!({"content": content, "required": true}));
    }
    op.insert("responses".into(), method_responses(method));
    let mut requirement = Map::new();
    if method.get("apiKeyRequired").and_then(Value::as_bool) == Some(true) {
        requirement.insert("api_key".into(), json!([]));
    }
    match text(method, "authorizationType") {
        "AWS_IAM" => {
            requirement.insert("sigv4".into(), json!([]));
        }
        "CUSTOM" | "COGNITO_USER_POOLS" => {
            if let Some(authorizer) = authorizers.get(text(method, "authorizerId")) {
                let scopes = method.get("authorizationScopes").cloned().unwrap_or(json!([]));
                requirement.insert(text(authorizer, "name").to_string(), scopes);
            }
        }
        _ => {}
    }
    if !requirement.is_empty() {
        op.insert("security".into(), json!([requirement]));
    }
    if let Some(name) = validators.get(text(method, "requestValidatorId")) {
        op.insert("x-amazon-apigateway-request-validator".into(), json!(name));
    }
    if let Some(integration) = method.get("methodIntegration") {
        op.insert("x-amazon-apigateway-integration".into(), integration_of(integration));
    }
    Value::Object(op)
}

/// `methodResponses` as OpenAPI responses (headers from `method.response.header.*`, content
/// from `responseModels`); a method with none answers what its integration says.
fn method_responses(method: &Value) -> Value {
    let mut out = Map::new();
    let Some(Value::Object(responses)) = method.get("methodResponses") else {
        return json!({"200": {"description": "200 response"}});
    };
    for (status, response) in responses {
        let mut entry = json!({"description": format!("{status} response")});
        if let Some(Value::Object(parameters)) = response.get("responseParameters") {
            let headers: Map<String, Value> = parameters
                .keys()
                .filter_map(|k| k.strip_prefix("method.response.header."))
                .map(|h| (h.to_string(), json!({"schema": {"type": "string"}})))
                .collect();
            if !headers.is_empty() {
                entry["headers"] = Value::Object(headers);
            }
        }
        if let Some(Value::Object(models)) = response.get("responseModels") {
            entry["content"] = Value::Object(model_content(models));
        }
        out.insert(status.clone(), entry);
    }
    if out.is_empty() {
        out.insert("200".into(), json!({"description": "200 response"}));
    }
    Value::Object(out)
}

/// `{media type: model name}` as OpenAPI content referencing the models' schemas.
fn model_content(models: &Map<String, Value>) -> Map<String, Value> {
    models
        .iter()
        .map(|(media, model)| {
            let reference = format!("#/components/schemas/{}", scalar(model));
            (media.clone(), json!({"schema": {"$ref": reference}}))
        })
        .collect()
}

/// `methodIntegration` in the export's form: `type` and `passthroughBehavior` in lower case,
/// `integrationResponses` keyed by their selection pattern (`default` for none).
fn integration_of(integration: &Value) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), json!(text(integration, "type").to_ascii_lowercase()));
    for field in INTEGRATION_FIELDS {
        match integration.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) if map.is_empty() => {}
            Some(Value::Array(list)) if list.is_empty() => {}
            Some(value) => {
                out.insert(field.into(), value.clone());
            }
        }
    }
    if let Some(Value::String(behaviour)) = integration.get("passthroughBehavior") {
        out.insert("passthroughBehavior".into(), json!(behaviour.to_ascii_lowercase()));
    }
    if let Some(Value::Object(responses)) = integration.get("integrationResponses") {
        let mut mapped = Map::new();
        for response in responses.values() {
            let pattern = match text(response, "selectionPattern") {
                "" => "default",
                pattern => pattern,
            };
            let mut entry = Map::new();
            for field in
                ["statusCode", "responseParameters", "responseTemplates", "contentHandling"]
            {
                if let Some(value) = response.get(field).filter(|v| !v.is_null()) {
                    entry.insert(field.into(), value.clone());
                }
            }
            mapped.insert(pattern.to_string(), Value::Object(entry));
        }
        if !mapped.is_empty() {
            out.insert("responses".into(), Value::Object(mapped));
        }
    }
    Value::Object(out)
}

/// An authorizer as the export writes it: a security scheme reading the identity header, with
/// the authorizer under `x-amazon-apigateway-authorizer`.
fn security_scheme(authorizer: &Value) -> Value {
    let kind = text(authorizer, "type").to_ascii_lowercase();
    let header = text(authorizer, "identitySource")
        .split(',')
        .map(str::trim)
        .find_map(|s| s.strip_prefix("method.request.header."))
        .unwrap_or("Authorization");
    let mut inner = Map::new();
    inner.insert("type".into(), json!(kind));
    for field in [
        "authorizerUri",
        "authorizerCredentials",
        "identitySource",
        "identityValidationExpression",
        "authorizerResultTtlInSeconds",
        "providerARNs",
    ] {
        if let Some(value) = authorizer.get(field).filter(|v| !v.is_null()) {
            inner.insert(field.into(), value.clone());
        }
    }
    let authtype = if kind == "cognito_user_pools" { "cognito_user_pools" } else { "custom" };
    json!({"type": "apiKey", "name": header, "in": "header",
           "x-amazon-apigateway-authtype": authtype,
           "x-amazon-apigateway-authorizer": inner})
}

/// A model's schema: the control plane keeps it as JSON text.
fn model_schema(model: &Value) -> Value {
    match model.get("schema") {
        Some(Value::String(schema)) => {
            serde_json::from_str(schema).unwrap_or_else(|_| json!({"type": "object"}))
        }
        Some(schema @ Value::Object(_)) => schema.clone(),
        _ => json!({"type": "object"}),
    }
}

/// The gateway responses set on the API (`defaultResponse: false`); the defaults are the
/// gateway's own.
fn gateway_responses(items: &[Value]) -> Map<String, Value> {
    let mut out = Map::new();
    for response in items {
        if response.get("defaultResponse").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let mut entry = Map::new();
        if let Some(status) = response.get("statusCode").filter(|v| !v.is_null()) {
            entry.insert("statusCode".into(), status.clone());
        }
        for field in ["responseParameters", "responseTemplates"] {
            if let Some(Value::Object(map)) = response.get(field) {
                if !map.is_empty() {
                    entry.insert(field.into(), Value::Object(map.clone()));
                }
            }
        }
        out.insert(text(response, "responseType").to_string(), Value::Object(entry));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn petstore() -> RestApi {
        RestApi {
            api: json!({"id": "a1b2c3d4e5", "name": "PetStore", "apiKeySource": "HEADER",
                        "policy": r#"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"execute-api:Invoke\",\"Resource\":\"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*\"}]}"#}),
            resources: vec![
                json!({"id": "r0", "path": "/"}),
                json!({"id": "r1", "path": "/pets", "resourceMethods": {
                    "GET": {"httpMethod": "GET", "authorizationType": "NONE", "apiKeyRequired": true,
                            "requestParameters": {"method.request.querystring.type": false},
                            "methodResponses": {"200": {"statusCode": "200",
                                "responseModels": {"application/json": "Pets"}}},
                            "methodIntegration": {"type": "HTTP", "httpMethod": "GET",
                                "uri": "http://petstore.example.com/pets",
                                "passthroughBehavior": "WHEN_NO_MATCH",
                                "requestParameters": {"integration.request.querystring.type": "method.request.querystring.type"},
                                "integrationResponses": {"200": {"statusCode": "200"}}}},
                    "POST": {"httpMethod": "POST", "authorizationType": "CUSTOM", "authorizerId": "au1",
                             "requestValidatorId": "v1",
                             "requestModels": {"application/json": "Pet"},
                             "methodIntegration": {"type": "MOCK",
                                "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                                "integrationResponses": {
                                    "200": {"statusCode": "200"},
                                    "400": {"statusCode": "400", "selectionPattern": "4\\d{2}"}}}}}}),
            ],
            models: vec![
                json!({"name": "Pet", "contentType": "application/json",
                       "schema": "{\"type\":\"object\",\"required\":[\"name\"],\"properties\":{\"name\":{\"type\":\"string\"}}}"}),
                json!({"name": "Pets", "contentType": "application/json", "schema": "{\"type\":\"array\"}"}),
            ],
            request_validators: vec![
                json!({"id": "v1", "name": "body", "validateRequestBody": true, "validateRequestParameters": false}),
            ],
            authorizers: vec![json!({"id": "au1", "name": "tokens", "type": "TOKEN",
                "authorizerUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:auth/invocations",
                "identitySource": "method.request.header.Authorization",
                "authorizerResultTtlInSeconds": 300})],
            gateway_responses: vec![
                json!({"responseType": "DEFAULT_4XX", "defaultResponse": true, "statusCode": null}),
                json!({"responseType": "QUOTA_EXCEEDED", "defaultResponse": false, "statusCode": "429",
                       "responseTemplates": {"application/json": "{\"message\":\"slow down\"}"}}),
            ],
            ..RestApi::default()
        }
    }

    #[test]
    fn resources_become_the_document_an_export_would_give() {
        let doc = openapi(&petstore(), "us-east-1", "prod");
        let get = &doc["paths"]["/pets"]["get"];
        assert_eq!(get["security"], json!([{"api_key": []}]));
        assert_eq!(get["parameters"][0]["in"], "query");
        assert_eq!(get["x-amazon-apigateway-integration"]["type"], "http");
        assert_eq!(get["x-amazon-apigateway-integration"]["passthroughBehavior"], "when_no_match");
        assert_eq!(
            get["x-amazon-apigateway-integration"]["responses"]["default"]["statusCode"],
            "200"
        );
        let post = &doc["paths"]["/pets"]["post"];
        assert_eq!(post["security"], json!([{"tokens": []}]));
        assert_eq!(post["x-amazon-apigateway-request-validator"], "body");
        assert_eq!(
            post["x-amazon-apigateway-integration"]["responses"]["4\\d{2}"]["statusCode"],
            "400"
        );
        assert_eq!(doc["components"]["schemas"]["Pet"]["required"], json!(["name"]));
        assert_eq!(doc["x-amazon-apigateway-policy"]["Version"], "2012-10-17");
        let responses = &doc["x-amazon-apigateway-gateway-responses"];
        assert_eq!(responses.as_object().map(Map::len), Some(1));
        assert_eq!(responses["QUOTA_EXCEEDED"]["statusCode"], "429");
        assert!(doc["paths"].get("/").is_none(), "a resource without methods is no path");
    }

    #[test]
    fn the_rebuilt_document_imports_with_its_api_id_stage_and_methods() {
        let doc = openapi(&petstore(), "eu-west-1", "live");
        let imported = crate::openapi::import::import(&doc, &Default::default()).unwrap();
        let config = &imported.spec.config;
        assert_eq!(config.api.id, "a1b2c3d4e5");
        assert_eq!(config.api.region, "eu-west-1");
        assert_eq!(config.stage.name, "live");
        assert_eq!(config.methods.len(), 2);
        let get = config.methods.iter().find(|m| m.http_method == "GET").unwrap();
        assert!(get.api_key_required);
        let post = config.methods.iter().find(|m| m.http_method == "POST").unwrap();
        assert_eq!(post.authorizer_id.as_deref(), Some("tokens"));
        assert_eq!(post.request_validator.as_deref(), Some("body"));
        assert_eq!(config.lambda_authorizers.len(), 1);
        assert!(config.models.contains_key("Pet"));
    }
}
