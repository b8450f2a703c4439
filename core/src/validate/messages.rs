//! boon's validation errors as AWS words them. API Gateway validates with a draft 4 validator
//! whose messages read like `instance type (string) does not match any allowed primitive type
//! (allowed: ["integer"])`; the messages here follow that wording, keyword by keyword.

use std::borrow::Cow;

use boon::{ErrorKind, InstanceToken, ValidationError};
use serde::Serialize;
use serde_json::Value;

/// How many messages a [`super::BodyError`] keeps.
pub const MAX_MESSAGES: usize = 5;

/// One problem with a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Where in the body, as a JSON pointer (`""` for the whole body, `/items/0/price`).
    pub pointer: String,
    /// AWS-style message, without the location.
    pub message: String,
}

impl Issue {
    pub(super) fn new(pointer: String, message: String) -> Issue {
        Issue { pointer, message }
    }
}

/// The leaf problems of `err`, in body order (boon checks an object's properties in hash order;
/// sorting keeps the list the same from one request to the next), without duplicates, at most
/// `limit` of them.
pub(super) fn issues_of(
    err: &ValidationError<'_, '_>,
    instance: &Value,
    limit: usize,
) -> Vec<Issue> {
    let mut found = Vec::new();
    collect(err, instance, &mut found);
    found.sort_by(|(a, _), (b, _)| a.cmp(b));
    let mut issues: Vec<Issue> = Vec::new();
    for (_, issue) in found {
        if issues.len() >= limit {
            break;
        }
        if !issues.contains(&issue) {
            issues.push(issue);
        }
    }
    issues
}

/// An instance location that sorts in body order: array items by index, properties by name (the
/// order in which serde_json keeps them).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Item(usize),
    Prop(String),
}

fn collect(err: &ValidationError<'_, '_>, instance: &Value, out: &mut Vec<(Vec<Step>, Issue)>) {
    if descends(&err.kind) && !err.causes.is_empty() {
        for cause in &err.causes {
            collect(cause, instance, out);
        }
        return;
    }
    let steps = err
        .instance_location
        .tokens
        .iter()
        .map(|token| match token {
            InstanceToken::Prop(name) => Step::Prop(name.to_string()),
            InstanceToken::Item(index) => Step::Item(*index),
        })
        .collect();
    let value = value_at(instance, err);
    out.push((steps, Issue::new(err.instance_location.to_string(), message(err, value))));
}

/// Errors that only group others: the messages are their causes'. (`allOf` too: AWS's validator
/// reports the failing subschemas' problems rather than the count.)
fn descends(kind: &ErrorKind<'_, '_>) -> bool {
    matches!(
        kind,
        ErrorKind::Group
            | ErrorKind::Schema { .. }
            | ErrorKind::Reference { .. }
            | ErrorKind::AllOf
            | ErrorKind::PropertyName { .. }
            | ErrorKind::ContentSchema
            | ErrorKind::Dependency { .. }
    )
}

/// The instance value that `err` is about, when the instance is at hand.
fn value_at<'v>(instance: &'v Value, err: &ValidationError<'_, '_>) -> Option<&'v Value> {
    err.instance_location.tokens.iter().try_fold(instance, |v, token| match token {
        InstanceToken::Prop(name) => v.get(name.as_ref()),
        InstanceToken::Item(index) => v.get(*index),
    })
}

fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// A JSON type name as draft 4 counts them: a whole number is an `integer`.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn message(err: &ValidationError<'_, '_>, value: Option<&Value>) -> String {
    let quoted = || value.map(json).unwrap_or_else(|| "?".to_owned());
    match &err.kind {
        ErrorKind::Type { got, want } => {
            let got = value.map_or_else(|| Cow::Owned(got.to_string()), |v| type_name(v).into());
            let allowed: Vec<String> = want.iter().map(|t| t.to_string()).collect();
            format!(
                "instance type ({got}) does not match any allowed primitive type (allowed: {})",
                json(&allowed)
            )
        }
        ErrorKind::Required { want } => {
            format!("object has missing required properties ({})", json(want))
        }
        ErrorKind::AdditionalProperties { got } => format!(
            "object instance has properties which are not allowed by the schema: {}",
            json(got)
        ),
        ErrorKind::Enum { want } => format!(
            "instance value ({}) not found in enum (possible values: {})",
            quoted(),
            json(want)
        ),
        ErrorKind::Const { want } => {
            format!("instance value ({}) does not match constant value {}", quoted(), json(want))
        }
        ErrorKind::Minimum { got, want } => format!(
            "numeric instance is lower than the required minimum (minimum: {want}, found: {got})"
        ),
        ErrorKind::Maximum { got, want } => format!(
            "numeric instance is greater than the required maximum (maximum: {want}, found: {got})"
        ),
        ErrorKind::ExclusiveMinimum { want, .. } => {
            format!("numeric instance is not strictly greater than the required minimum {want}")
        }
        ErrorKind::ExclusiveMaximum { want, .. } => {
            format!("numeric instance is not strictly lower than the required maximum {want}")
        }
        ErrorKind::MultipleOf { got, want } => {
            format!("remainder of division is not zero ({got} / {want})")
        }
        ErrorKind::MinLength { got, want } => {
            format!("string {} is too short (length: {got}, required minimum: {want})", quoted())
        }
        ErrorKind::MaxLength { got, want } => {
            format!("string {} is too long (length: {got}, maximum allowed: {want})", quoted())
        }
        ErrorKind::Pattern { got, want } => {
            format!("ECMA 262 regex {} does not match input string {}", json(want), json(got))
        }
        ErrorKind::Format { got, want, .. } => format_message(&json(got), want),
        ErrorKind::MinItems { got, want } => format!(
            "array is too short: must have at least {want} elements but instance has {got} elements"
        ),
        ErrorKind::MaxItems { got, want } => format!(
            "array is too long: must have at most {want} elements but instance has {got} elements"
        ),
        ErrorKind::UniqueItems { .. } => "array must not contain duplicate elements".to_owned(),
        ErrorKind::AdditionalItems { got } => {
            format!("array instance has {got} elements which are not allowed by the schema")
        }
        ErrorKind::MinProperties { got, want } => format!(
            "object has too few properties (found {got} but schema requires at least {want})"
        ),
        ErrorKind::MaxProperties { got, want } => format!(
            "object has too many properties (found {got} but schema requires at most {want})"
        ),
        ErrorKind::Dependency { prop, missing } => format!(
            "property {} of object has missing property dependencies (missing: {})",
            json(prop),
            json(missing)
        ),
        ErrorKind::AnyOf => format!(
            "instance failed to match at least one required schema among {}",
            err.causes.len()
        ),
        ErrorKind::OneOf(None) => format!(
            "instance failed to match exactly one schema (matched 0 out of {})",
            err.causes.len()
        ),
        ErrorKind::OneOf(Some(_)) => {
            "instance failed to match exactly one schema (matched more than one)".to_owned()
        }
        ErrorKind::Not => "instance matched a schema which it should not have".to_owned(),
        ErrorKind::FalseSchema => "instance is not allowed by the schema".to_owned(),
        other => other.to_string(),
    }
}

/// Format failures as AWS's validator words them for the draft 4 formats.
fn format_message(got: &str, format: &str) -> String {
    match format {
        "email" => format!("string {got} is not a valid email address"),
        "hostname" => format!("string {got} is not a valid hostname"),
        "ipv4" => format!("string {got} is not a valid IPv4 address"),
        "ipv6" => format!("string {got} is not a valid IPv6 address"),
        "uri" => format!("string {got} is not a valid URI"),
        "regex" => format!("string {got} is not a valid ECMA 262 regular expression"),
        "date-time" => format!("string {got} is invalid against requested date format(s) [yyyy-MM-dd'T'HH:mm:ssZ, yyyy-MM-dd'T'HH:mm:ss.[0-9]{{1,12}}Z]"),
        other => format!("string {got} is not a valid {other}"),
    }
}
