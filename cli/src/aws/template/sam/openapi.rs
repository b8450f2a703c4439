//! Reading and editing an OpenAPI document as SAM does.

use serde_json::{json, Map, Value};

use crate::aws::template::intrinsics::intrinsic;
use crate::aws::template::load::single;
use crate::openapi::scalar;

pub(super) const ANY_METHOD: &str = "x-amazon-apigateway-any-method";
pub(super) const INTEGRATION: &str = "x-amazon-apigateway-integration";

/// SAM's `\A3(\.\d)(\.\d)?$`.
pub(super) fn is_openapi3(version: &str) -> bool {
    let mut parts = version.split('.');
    let digit = |p: &str| p.len() == 1 && p.bytes().all(|b| b.is_ascii_digit());
    parts.next() == Some("3")
        && parts.next().is_some_and(digit)
        && parts.next().is_none_or(digit)
        && parts.next().is_none()
}

/// An inline OpenAPI map SAM can edit: `paths` a map, and `swagger`, or `openapi` 3.
pub(super) fn is_openapi(doc: &Value) -> bool {
    let Some(map) = doc.as_object().filter(|m| intrinsic(m).is_none()) else { return false };
    map.get("paths").is_some_and(Value::is_object)
        && (map.get("swagger").is_some_and(truthy)
            || map.get("openapi").map(scalar).is_some_and(|v| is_openapi3(&v)))
}

/// Python's truth of a JSON value, as SAM tests its inputs.
pub(super) fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

pub(super) fn object_mut<'a>(doc: &'a mut Value, key: &str) -> Option<&'a mut Map<String, Value>> {
    let slot = doc.as_object_mut()?.entry(key).or_insert_with(|| json!({}));
    if slot.is_null() {
        *slot = json!({});
    }
    slot.as_object_mut()
}

pub(super) fn list_mut<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> Option<&'a mut Vec<Value>> {
    map.entry(key).or_insert_with(|| json!([])).as_array_mut()
}

/// The maps an `Fn::If` chooses between, or the map itself (SAM edits both branches).
pub(super) fn branches_mut(value: &mut Value) -> Vec<&mut Map<String, Value>> {
    let conditional = value.as_object().is_some_and(|m| m.len() == 1 && m.contains_key("Fn::If"));
    if conditional {
        return value
            .get_mut("Fn::If")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flat_map(|branches| branches.iter_mut().skip(1))
            .filter_map(Value::as_object_mut)
            .filter(|m| intrinsic(m).is_none())
            .collect();
    }
    value.as_object_mut().into_iter().collect()
}

/// The operation at `paths.{path}.{method}`, if the document has it.
pub(super) fn operation<'a>(doc: &'a Value, path: &str, method: &str) -> Option<&'a Value> {
    doc.get("paths")?.get(path)?.get(method)
}

pub(super) fn operation_mut<'a>(
    doc: &'a mut Value,
    path: &str,
    method: &str,
) -> Option<&'a mut Map<String, Value>> {
    let item = doc.get_mut("paths")?.as_object_mut()?.entry(path).or_insert_with(|| json!({}));
    item.as_object_mut()?.entry(method).or_insert_with(|| json!({})).as_object_mut()
}

/// The operations of a path item that have an integration (SAM applies defaults only there).
pub(super) fn integrated_operations(
    item: &mut Map<String, Value>,
) -> Vec<(String, &mut Map<String, Value>)> {
    item.iter_mut()
        .filter(|(name, _)| !["summary", "description", "parameters"].contains(&name.as_str()))
        .filter_map(|(name, op)| op.as_object_mut().map(|op| (name.clone(), op)))
        .filter(|(_, op)| op.get(INTEGRATION).is_some_and(truthy))
        .collect()
}

pub(super) fn push_security(operation: &mut Map<String, Value>, name: &str, scopes: Value) {
    if let Some(list) = list_mut(operation, "security") {
        list.push(single(name, scopes));
    }
}

pub(super) fn first_security_has(operation: &Map<String, Value>, name: &str) -> bool {
    operation.get("security").and_then(|s| s.get(0)).and_then(|s| s.get(name)).is_some()
}

pub(super) fn aws_iam_definition() -> Value {
    json!({
        "x-amazon-apigateway-authtype": "awsSigv4",
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
    })
}

pub(super) fn api_key_definition() -> Value {
    json!({"type": "apiKey", "name": "x-api-key", "in": "header"})
}

/// Adds a security definition unless one of that name is there.
pub(super) fn add_security_definition(doc: &mut Value, name: &str, definition: Value) {
    if let Some(definitions) = object_mut(doc, "securityDefinitions") {
        definitions.entry(name).or_insert(definition);
    }
}

pub(super) fn set_security_definition(doc: &mut Value, name: &str, definition: Value) {
    if let Some(definitions) = object_mut(doc, "securityDefinitions") {
        definitions.insert(name.into(), definition);
    }
}

pub(super) fn add_request_validator(doc: &mut Value, name: &str, body: bool, parameters: bool) {
    if let Some(validators) = object_mut(doc, "x-amazon-apigateway-request-validators") {
        validators.entry(name).or_insert_with(
            || json!({"validateRequestBody": body, "validateRequestParameters": parameters}),
        );
    }
}
