//! SAM's other edits of an API's document: `Cors`, `GatewayResponses`, `BinaryMediaTypes`,
//! `Models`, and its OpenAPI 3 tidying.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::openapi::{branches_mut, is_openapi3, object_mut, truthy, ANY_METHOD, INTEGRATION};
use super::SamApi;
use crate::aws::template::intrinsics::{flag, intrinsic};
use crate::aws::template::Template;
use crate::openapi::{join, scalar};

impl SamApi {
    /// `Cors`: an `OPTIONS` method with a mock integration on every path that has none.
    pub(super) fn add_cors(&mut self, t: &Template) -> Result<(), String> {
        let Some(cors) = self.prop("Cors").cloned() else { return Ok(()) };
        self.require_editable("Cors")?;
        let at = join(&self.at, "Cors");
        let mut settings = Map::new();
        match &cors {
            Value::Object(map) if intrinsic(map).is_none() => {
                for (key, value) in map {
                    if ![
                        "AllowMethods",
                        "AllowHeaders",
                        "AllowOrigin",
                        "MaxAge",
                        "AllowCredentials",
                    ]
                    .contains(&key.as_str())
                    {
                        return Err(format!("{at}.{key}: not a Cors property"));
                    }
                    settings.insert(key.clone(), value.clone());
                }
            }
            origin => {
                settings.insert("AllowOrigin".into(), origin.clone());
            }
        }
        let origin = settings.get("AllowOrigin").cloned().unwrap_or_else(|| json!("'*'"));
        let credentials = match settings.get("AllowCredentials") {
            Some(value) => {
                t.resolve(value, &join(&at, "AllowCredentials"))?.and_then(|v| flag(&v))
                    == Some(true)
            }
            None => false,
        };
        if credentials && origin == "'*'" {
            return Err(format!(
                "{at}: AllowCredentials cannot be true when AllowOrigin is \"'*'\" or not set"
            ));
        }
        let Some(paths) = self.body.get_mut("paths").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        for item in paths.values_mut() {
            for item in branches_mut(item) {
                if item.contains_key("options") {
                    continue;
                }
                let methods = match settings.get("AllowMethods") {
                    Some(methods) => methods.clone(),
                    None => json!(format!("'{}'", cors_methods(item))),
                };
                let options = cors_options(
                    &origin,
                    settings.get("AllowHeaders"),
                    &methods,
                    settings.get("MaxAge"),
                    credentials,
                );
                item.insert("options".into(), options);
            }
        }
        Ok(())
    }

    pub(super) fn add_gateway_responses(&mut self) -> Result<(), String> {
        let Some(responses) = self.prop("GatewayResponses").cloned() else { return Ok(()) };
        self.require_editable("GatewayResponses")?;
        let at = join(&self.at, "GatewayResponses");
        let responses = responses.as_object().cloned().ok_or_else(|| format!("{at}: not a map"))?;
        let mut out = Map::new();
        for (kind, response) in responses {
            let here = join(&at, &kind);
            let response = response
                .as_object()
                .filter(|r| intrinsic(r).is_none())
                .ok_or_else(|| format!("{here}: not a map"))?;
            if let Some(key) = response.keys().find(|k| {
                !["ResponseParameters", "ResponseTemplates", "StatusCode"].contains(&k.as_str())
            }) {
                return Err(format!("{here}.{key}: not a GatewayResponse property"));
            }
            let mut parameters = Map::new();
            let given = response.get("ResponseParameters").and_then(Value::as_object);
            for (group, prefix) in
                [("Headers", "header."), ("Paths", "path."), ("QueryStrings", "querystring.")]
            {
                for (name, value) in given
                    .and_then(|g| g.get(group))
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    parameters.insert(format!("gatewayresponse.{prefix}{name}"), value.clone());
                }
            }
            let templates = response.get("ResponseTemplates").cloned().unwrap_or_else(|| json!({}));
            let mut swagger =
                json!({"responseParameters": parameters, "responseTemplates": templates});
            if let (Some(status), Some(map)) = (response.get("StatusCode"), swagger.as_object_mut())
            {
                map.insert("statusCode".into(), json!(scalar(status)));
            }
            out.insert(kind, swagger);
        }
        if let Some(existing) = object_mut(&mut self.body, "x-amazon-apigateway-gateway-responses")
        {
            existing.extend(out);
        }
        Ok(())
    }

    pub(super) fn add_binary_media_types(&mut self) -> Result<(), String> {
        let Some(Value::Array(types)) = self.prop("BinaryMediaTypes").cloned() else {
            return Ok(());
        };
        if self.from_file {
            return Ok(());
        }
        self.require_editable("BinaryMediaTypes")?;
        let types: Vec<Value> = types
            .iter()
            .map(|t| match t {
                Value::String(s) => json!(s.replace("~1", "/")),
                other => other.clone(),
            })
            .collect();
        if let Some(body) = self.body.as_object_mut() {
            body.insert("x-amazon-apigateway-binary-media-types".into(), Value::Array(types));
        }
        Ok(())
    }

    pub(super) fn add_models(&mut self) -> Result<(), String> {
        let Some(models) = self.prop("Models").cloned() else { return Ok(()) };
        self.require_editable("Models")?;
        let at = join(&self.at, "Models");
        let models = models.as_object().cloned().ok_or_else(|| format!("{at}: not a map"))?;
        for (name, schema) in models {
            if schema.get("type").is_none() {
                return Err(format!("{at}.{name}: the schema has no `type`"));
            }
            if let Some(definitions) = object_mut(&mut self.body, "definitions") {
                definitions.insert(name.to_ascii_lowercase(), schema);
            }
        }
        self.openapi_postprocess();
        Ok(())
    }

    /// SAM's OpenAPI 3 tidying: `securityDefinitions` and `definitions` replace the
    /// components' `securitySchemes` and `schemas`; the CORS methods' headers get a schema.
    pub(super) fn openapi_postprocess(&mut self) {
        if self.body.get("swagger").is_some() {
            return;
        }
        let version = match (self.body.get("openapi"), self.prop("OpenApiVersion")) {
            (Some(v), None) => scalar(v),
            (_, Some(v)) => scalar(v),
            (None, None) => return,
        };
        if !is_openapi3(&version) {
            return;
        }
        let Some(doc) = self.body.as_object_mut() else { return };
        for (old, new) in [("securityDefinitions", "securitySchemes"), ("definitions", "schemas")] {
            let moved = doc.get(old).filter(|v| truthy(v)).cloned();
            if let Some(moved) = moved {
                doc.remove(old);
                let components = doc.entry("components").or_insert_with(|| json!({}));
                if !truthy(components) {
                    *components = json!({});
                }
                if let Some(components) = components.as_object_mut() {
                    components.insert(new.into(), moved);
                }
            }
        }
        for item in doc
            .get_mut("paths")
            .and_then(Value::as_object_mut)
            .into_iter()
            .flat_map(|p| p.values_mut())
        {
            let Some(options) = item.get_mut("options").and_then(Value::as_object_mut) else {
                continue;
            };
            options.remove("produces");
            options.remove("consumes");
            let headers = options
                .get_mut("responses")
                .and_then(|r| r.get_mut("200"))
                .and_then(|r| r.get_mut("headers"))
                .and_then(Value::as_object_mut);
            for header in headers.into_iter().flat_map(|h| h.values_mut()) {
                *header = json!({"schema": header.take()});
            }
        }
    }
}

/// `Access-Control-Allow-Methods` for a path: its methods and OPTIONS (all for ANY).
fn cors_methods(item: &Map<String, Value>) -> String {
    let mut methods: BTreeSet<String> = if item.contains_key(ANY_METHOD) {
        ["OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]
            .iter()
            .map(|m| m.to_string())
            .collect()
    } else {
        item.keys().map(|k| k.to_ascii_uppercase()).collect()
    };
    methods.insert("OPTIONS".into());
    methods.into_iter().collect::<Vec<_>>().join(",")
}

/// SAM's CORS preflight method: a mock integration answering the CORS headers.
fn cors_options(
    origin: &Value,
    headers: Option<&Value>,
    methods: &Value,
    max_age: Option<&Value>,
    credentials: bool,
) -> Value {
    let mut parameters = Map::new();
    let mut response_headers = Map::new();
    let mut set = |name: &str, value: Value, kind: &str| {
        parameters.insert(format!("method.response.header.{name}"), value);
        response_headers.insert(name.to_string(), json!({"type": kind}));
    };
    set("Access-Control-Allow-Origin", origin.clone(), "string");
    if let Some(headers) = headers.filter(|h| truthy(h)) {
        set("Access-Control-Allow-Headers", headers.clone(), "string");
    }
    if truthy(methods) {
        set("Access-Control-Allow-Methods", methods.clone(), "string");
    }
    if let Some(max_age) = max_age.filter(|m| !m.is_null()) {
        set("Access-Control-Max-Age", max_age.clone(), "integer");
    }
    if credentials {
        set("Access-Control-Allow-Credentials", json!("'true'"), "string");
    }
    json!({
        "summary": "CORS support",
        "consumes": ["application/json"],
        "produces": ["application/json"],
        INTEGRATION: {
            "type": "mock",
            "requestTemplates": {"application/json": "{\n  \"statusCode\" : 200\n}\n"},
            "responses": {"default": {
                "statusCode": "200",
                "responseParameters": parameters,
                "responseTemplates": {"application/json": "{}\n"},
            }},
        },
        "responses": {"200": {
            "description": "Default response for CORS method",
            "headers": response_headers,
        }},
    })
}
