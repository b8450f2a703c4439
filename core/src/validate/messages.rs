//! Validation problems as AWS words them. API Gateway validates with a draft 4 validator whose
//! messages read like `instance type (string) does not match any allowed primitive type
//! (allowed: ["integer"])`; the messages here follow that wording, keyword by keyword.

use serde_json::Value;

use super::instance::quote;

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

/// A step of an instance location. Sorts in body order: array items by index, properties by
/// name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Step {
    Item(usize),
    Prop(String),
}

/// A problem found, with where it is.
#[derive(Debug)]
pub(super) struct Found {
    pub(super) steps: Vec<Step>,
    pub(super) issue: Issue,
}

/// The problems in body order (stable: problems at one place keep the order the keywords were
/// checked in), without duplicates, at most `limit` of them.
pub(super) fn issues_of(mut found: Vec<Found>, limit: usize) -> Vec<Issue> {
    found.sort_by(|a, b| a.steps.cmp(&b.steps));
    let mut issues: Vec<Issue> = Vec::new();
    for Found { issue, .. } in found {
        if issues.len() >= limit {
            break;
        }
        if !issues.contains(&issue) {
            issues.push(issue);
        }
    }
    issues
}

fn json_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s.as_ref())).collect();
    format!("[{}]", quoted.join(","))
}

pub(super) fn type_mismatch(got: &str, allowed: &[&str]) -> String {
    format!(
        "instance type ({got}) does not match any allowed primitive type (allowed: {})",
        json_list(allowed)
    )
}

pub(super) fn not_in_enum(got: &str, values: &[Value]) -> String {
    let values = serde_json::to_string(values).unwrap_or_default();
    format!("instance value ({got}) not found in enum (possible values: {values})")
}

pub(super) fn below_minimum(minimum: &str, got: &str) -> String {
    format!(
        "numeric instance is lower than the required minimum (minimum: {minimum}, found: {got})"
    )
}

pub(super) fn above_maximum(maximum: &str, got: &str) -> String {
    format!(
        "numeric instance is greater than the required maximum (maximum: {maximum}, found: {got})"
    )
}

pub(super) fn not_above_exclusive_minimum(minimum: &str) -> String {
    format!("numeric instance is not strictly greater than the required minimum {minimum}")
}

pub(super) fn not_below_exclusive_maximum(maximum: &str) -> String {
    format!("numeric instance is not strictly lower than the required maximum {maximum}")
}

pub(super) fn not_multiple(got: &str, divisor: &str) -> String {
    format!("remainder of division is not zero ({got} / {divisor})")
}

pub(super) fn too_short(got: &str, length: usize, minimum: usize) -> String {
    format!("string {} is too short (length: {length}, required minimum: {minimum})", quote(got))
}

pub(super) fn too_long(got: &str, length: usize, maximum: usize) -> String {
    format!("string {} is too long (length: {length}, maximum allowed: {maximum})", quote(got))
}

pub(super) fn pattern_mismatch(pattern: &str, got: &str) -> String {
    format!("ECMA 262 regex {} does not match input string {}", quote(pattern), quote(got))
}

/// Format failures as AWS's validator words them for the draft 4 formats.
pub(super) fn bad_format(got: &str, format: &str) -> String {
    let got = quote(got);
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

pub(super) fn too_few_items(got: usize, minimum: usize) -> String {
    format!(
        "array is too short: must have at least {minimum} elements but instance has {got} elements"
    )
}

pub(super) fn too_many_items(got: usize, maximum: usize) -> String {
    format!(
        "array is too long: must have at most {maximum} elements but instance has {got} elements"
    )
}

pub(super) fn duplicate_items() -> String {
    "array must not contain duplicate elements".to_owned()
}

pub(super) fn additional_items(extra: usize) -> String {
    format!("array instance has {extra} elements which are not allowed by the schema")
}

pub(super) fn too_few_properties(got: usize, minimum: usize) -> String {
    format!("object has too few properties (found {got} but schema requires at least {minimum})")
}

pub(super) fn too_many_properties(got: usize, maximum: usize) -> String {
    format!("object has too many properties (found {got} but schema requires at most {maximum})")
}

pub(super) fn missing_required<S: AsRef<str>>(missing: &[S]) -> String {
    format!("object has missing required properties ({})", json_list(missing))
}

pub(super) fn additional_properties<S: AsRef<str>>(names: &[S]) -> String {
    format!(
        "object instance has properties which are not allowed by the schema: {}",
        json_list(names)
    )
}

pub(super) fn missing_dependencies<S: AsRef<str>>(property: &str, missing: &[S]) -> String {
    format!(
        "property {} of object has missing property dependencies (missing: {})",
        quote(property),
        json_list(missing)
    )
}

pub(super) fn any_of_failed(count: usize) -> String {
    format!("instance failed to match at least one required schema among {count}")
}

pub(super) fn one_of_none(count: usize) -> String {
    format!("instance failed to match exactly one schema (matched 0 out of {count})")
}

pub(super) fn one_of_many() -> String {
    "instance failed to match exactly one schema (matched more than one)".to_owned()
}

pub(super) fn matched_not() -> String {
    "instance matched a schema which it should not have".to_owned()
}

/// The schema applies itself to the same value again and again (`{"allOf": [{"$ref": "#"}]}`),
/// or nests deeper than validation goes.
pub(super) fn endless() -> String {
    "validation stopped: the schema applies itself without end, or nests too deeply".to_owned()
}
