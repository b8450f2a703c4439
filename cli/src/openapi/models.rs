//! Schemas <-> models. A document's schemas reference each other as `#/components/schemas/X`
//! (OpenAPI 3) or `#/definitions/X` (Swagger 2); models reference each other by their API
//! Gateway address, `https://apigateway.amazonaws.com/restapis/{api}/models/X`, which is what
//! the filter's validator resolves.

use serde_json::{Map, Value};

use super::Version;

use tollgate_core::validate::schema;

/// Where a version keeps its schemas, as a `$ref` prefix.
fn schemas_ref(version: Version) -> &'static str {
    match version {
        Version::Swagger2 => "#/definitions/",
        Version::OpenApi30 | Version::OpenApi31 => "#/components/schemas/",
    }
}

/// The model a `$ref` names, when it names a schema of the document: (name, pointer inside).
pub fn model_of_ref(reference: &str, version: Version) -> Option<(String, String)> {
    let rest = reference.strip_prefix(schemas_ref(version))?;
    let (name, inner) = match rest.split_once('/') {
        Some((name, inner)) => (name, format!("/{inner}")),
        None => (rest, String::new()),
    };
    Some((name.replace("~1", "/").replace("~0", "~"), inner))
}

/// A document schema as a model of API `api`.
pub fn import_schema(schema: &Value, api: &str, version: Version) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                let value = match (key.as_str(), value) {
                    ("$ref", Value::String(r)) => match model_of_ref(r, version) {
                        Some((name, inner)) => Value::String(model_url(api, &name, &inner)),
                        None => value.clone(),
                    },
                    _ => import_schema(value, api, version),
                };
                out.insert(key.clone(), value);
            }
            if version == Version::OpenApi31 {
                draft4_exclusive_bounds(&mut out);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| import_schema(v, api, version)).collect())
        }
        other => other.clone(),
    }
}

/// 3.1 (JSON Schema 2020-12) writes `exclusiveMinimum: 5`; draft 4 writes `minimum: 5,
/// exclusiveMinimum: true`.
fn draft4_exclusive_bounds(map: &mut Map<String, Value>) {
    for (exclusive, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        if let Some(n) = map.get(exclusive).filter(|v| v.is_number()).cloned() {
            map.insert(bound.to_string(), n);
            map.insert(exclusive.to_string(), Value::Bool(true));
        }
    }
}

/// A model as a document schema.
pub fn export_schema(schema: &Value, version: Version) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                let value = match (key.as_str(), value) {
                    ("$ref", Value::String(r)) => match model_name_of(r) {
                        Some((name, inner)) => Value::String(format!(
                            "{}{}{inner}",
                            schemas_ref(version),
                            name.replace('~', "~0").replace('/', "~1")
                        )),
                        None => value.clone(),
                    },
                    _ => export_schema(value, version),
                };
                out.insert(key.clone(), value);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| export_schema(v, version)).collect())
        }
        other => other.clone(),
    }
}

/// `https://apigateway.amazonaws.com/restapis/{api}/models/{name}[#inner]`, the name
/// percent-encoded (the address the filter's validator gives each model).
fn model_url(api: &str, name: &str, inner: &str) -> String {
    let url = schema::model_url(api, name);
    if inner.is_empty() {
        url
    } else {
        format!("{url}#{inner}")
    }
}

/// (model name, pointer inside) of a model address.
fn model_name_of(url: &str) -> Option<(String, String)> {
    let (base, inner) = url.split_once('#').unwrap_or((url, ""));
    Some((schema::model_name_of(base)?, inner.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_become_model_addresses_and_back() {
        let schema = json!({"type": "array", "items": {"$ref": "#/components/schemas/Pet"},
                            "x": {"$ref": "#/components/schemas/A~1B/properties/id"}});
        let model = import_schema(&schema, "pets", Version::OpenApi30);
        assert_eq!(
            model["items"]["$ref"],
            "https://apigateway.amazonaws.com/restapis/pets/models/Pet"
        );
        assert_eq!(
            model["x"]["$ref"],
            "https://apigateway.amazonaws.com/restapis/pets/models/A%2FB#/properties/id"
        );
        assert_eq!(export_schema(&model, Version::OpenApi30), schema);
        let swagger = export_schema(&model, Version::Swagger2);
        assert_eq!(swagger["items"]["$ref"], "#/definitions/Pet");
    }

    #[test]
    fn exclusive_bounds_of_3_1_become_draft_4() {
        let model = import_schema(&json!({"exclusiveMinimum": 0}), "a", Version::OpenApi31);
        assert_eq!(model, json!({"minimum": 0, "exclusiveMinimum": true}));
    }
}
