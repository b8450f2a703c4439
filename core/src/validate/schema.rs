//! API Gateway models: JSON Schema (draft 4) documents by name, compiled once at config time and
//! then used to validate request bodies as AWS's request validators do.
//!
//! A model may reference a part of itself (`#/definitions/Pet`) or another model of the same API
//! by its API Gateway address, `https://apigateway.amazonaws.com/restapis/{api}/models/{Name}`
//! (optionally with a fragment). Any `{api}` means this API: a config holds one API. No other
//! remote reference resolves, and nothing is ever fetched: such a model is a config error.
//!
//! Schemas without `$schema` are read as draft 4, as AWS reads them; a `$schema` naming another
//! draft is a config error. `format` is asserted for `date-time`, `email`, `hostname`, `ipv4`,
//! `ipv6`, `uri` and `regex` (as AWS does), and `date`, `time`, `uuid`, `json-pointer`,
//! `uri-reference`; other format names are ignored, as draft 4 allows.
//!
//! The validator is this crate's own (`compile.rs`, `draft4.rs`): models compile to a flat list of
//! nodes, and any JSON value type implementing [`Instance`] can be validated.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use super::draft4::Validator;
use super::instance::Instance;
use super::messages::{issues_of, Issue, MAX_MESSAGES};
use super::node::Node;

/// Where API Gateway says a REST API's models live.
pub(super) const MODELS_PREFIX: &str = "https://apigateway.amazonaws.com/restapis/";
/// The `{api}` of the addresses under which this config's models are compiled.
pub(super) const THIS_API: &str = "tollgate";

/// A config's models, compiled.
pub struct Models {
    nodes: Vec<Node>,
    by_name: BTreeMap<String, ModelId>,
}

/// One compiled model of a [`Models`]; valid only with the [`Models`] that gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModelId(u32);

/// A model that does not compile: not a valid draft 4 schema, or a `$ref` that cannot resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("model {model}: {reason}")]
pub struct ModelError {
    pub model: String,
    pub reason: String,
}

/// Why a body failed its model: AWS's "Invalid request body" (`BAD_REQUEST_BODY`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    /// At most [`MAX_MESSAGES`] problems, in the order found.
    pub issues: Vec<Issue>,
}

impl BodyError {
    /// AWS's `$context.error.validationErrorString`: the messages as a bracketed list, e.g.
    /// `[object has missing required properties (["name"])]`.
    pub fn validation_error_string(&self) -> String {
        let messages: Vec<&str> = self.issues.iter().map(|i| i.message.as_str()).collect();
        format!("[{}]", messages.join(", "))
    }

    fn invalid_json(err: &serde_json::Error) -> BodyError {
        BodyError::not_json(&err.to_string())
    }

    /// A body that is not JSON: `Invalid JSON: {why}`, `why` being the JSON reader's message.
    pub fn not_json(why: &str) -> BodyError {
        BodyError { issues: vec![Issue::new(String::new(), format!("Invalid JSON: {why}"))] }
    }

    /// The error for a body nested deeper than [`MAX_DEPTH`], if it is: checked before any
    /// reader parses it.
    pub fn too_deep(body: &[u8]) -> Option<BodyError> {
        nested_deeper_than(body, MAX_DEPTH)
            .then(|| BodyError::not_json(&format!("nested deeper than {MAX_DEPTH} levels")))
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.validation_error_string())
    }
}

impl std::error::Error for BodyError {}

impl Models {
    /// Compiles every model (name -> schema). The first model that does not compile is the error.
    pub fn compile(models: &BTreeMap<String, Value>) -> Result<Models, ModelError> {
        let compiled = super::compile::compile(models)?;
        let by_name =
            compiled.roots.into_iter().map(|(name, root)| (name, ModelId(root))).collect();
        Ok(Models { nodes: compiled.nodes, by_name })
    }

    /// The compiled model named `name`, if the config has it.
    pub fn id(&self, name: &str) -> Option<ModelId> {
        self.by_name.get(name).copied()
    }

    /// The models' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// Validates a request body against a model. An empty (or all-whitespace) body is read as
    /// `{}`, as AWS does; a body that is not JSON fails with `Invalid JSON: ...`.
    pub fn validate(&self, model: ModelId, body: &[u8]) -> Result<(), BodyError> {
        let instance = parse_body(body)?;
        self.validate_value(model, &instance)
    }

    /// Validates an already parsed body.
    pub fn validate_value(&self, model: ModelId, instance: &Value) -> Result<(), BodyError> {
        self.validate_instance(model, instance)
    }

    /// Validates any JSON value: a request body, or the template engine's own values.
    pub fn validate_instance<I: Instance + ?Sized>(
        &self,
        model: ModelId,
        instance: &I,
    ) -> Result<(), BodyError> {
        if model.0 as usize >= self.nodes.len() {
            // A ModelId of another Models: a caller's bug, reported rather than panicking.
            let issue = Issue::new(String::new(), "unknown model".to_owned());
            return Err(BodyError { issues: vec![issue] });
        }
        // First without collecting anything: a valid body costs no allocation.
        if let Ok(true) = Validator::new(&self.nodes, false).run(model.0, instance) {
            return Ok(());
        }
        let mut validator = Validator::new(&self.nodes, true);
        let valid = validator.run(model.0, instance);
        let mut issues = issues_of(validator.found, MAX_MESSAGES);
        if issues.is_empty() {
            // Not reached: a failing run reports why. Never let a failure pass unexplained.
            let message = match valid {
                Ok(_) => "instance is not valid against the model".to_owned(),
                Err(_) => super::messages::endless(),
            };
            issues.push(Issue::new(String::new(), message));
        }
        Err(BodyError { issues })
    }
}

impl fmt::Debug for Models {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Models").field("names", &self.by_name.keys().collect::<Vec<_>>()).finish()
    }
}

/// An empty body is `{}` (AWS validates an empty body as an empty object: a model that requires
/// properties rejects it, the `Empty` model accepts it); anything else must be JSON, nested at
/// most [`MAX_DEPTH`] deep.
fn parse_body(body: &[u8]) -> Result<Value, BodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    if let Some(error) = BodyError::too_deep(body) {
        return Err(error);
    }
    serde_json::from_slice(body).map_err(|err| BodyError::invalid_json(&err))
}

/// How deeply a body's arrays and objects may nest. Parsing and validation recurse per level: a
/// deeper body could exhaust the filter's stack, which would trap the VM. AWS has no such limit
/// that real payloads reach.
pub const MAX_DEPTH: usize = 64;

/// Whether `[`/`{` nest deeper than `limit` outside strings. Not a JSON check: the parser is.
fn nested_deeper_than(body: &[u8], limit: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &byte in body {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// `https://apigateway.amazonaws.com/restapis/{api}/models/{name}`, the name percent-encoded.
pub fn model_url(api: &str, name: &str) -> String {
    let mut url = format!("{MODELS_PREFIX}{api}/models/");
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// The model name in an API Gateway model address (any `{api}`, `http` or `https`), if it is one.
pub fn model_name_of(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix(MODELS_PREFIX)
        .or_else(|| url.strip_prefix("http://apigateway.amazonaws.com/restapis/"))?;
    let rest = rest.split(['#', '?']).next()?;
    let (api, name) = rest.split_once("/models/")?;
    if api.is_empty() || api.contains('/') || name.is_empty() || name.contains('/') {
        return None;
    }
    percent_decode(name)
}

fn percent_decode(s: &str) -> Option<String> {
    String::from_utf8(crate::text::percent::decode_strict(s.as_bytes(), false)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    #[test]
    fn model_addresses_round_trip() {
        let url = model_url("abc123", "Pet Store/1");
        assert_eq!(url, "https://apigateway.amazonaws.com/restapis/abc123/models/Pet%20Store%2F1");
        assert_eq!(model_name_of(&url).as_deref(), Some("Pet Store/1"));
        assert_eq!(
            model_name_of("http://apigateway.amazonaws.com/restapis/x/models/Pet#/definitions/a")
                .as_deref(),
            Some("Pet")
        );
        assert_eq!(model_name_of("https://example.com/restapis/x/models/Pet"), None);
        assert_eq!(model_name_of("https://apigateway.amazonaws.com/restapis//models/Pet"), None);
        assert_eq!(model_name_of("https://apigateway.amazonaws.com/restapis/x/models/"), None);
        assert_eq!(model_name_of("https://apigateway.amazonaws.com/restapis/x/models/%G1"), None);
    }

    #[test]
    fn blank_bodies_are_empty_objects() {
        assert_eq!(parse_body(b"").unwrap(), Value::Object(Map::new()));
        assert_eq!(parse_body(b" \r\n\t").unwrap(), Value::Object(Map::new()));
        assert_eq!(parse_body(b"null").unwrap(), Value::Null);
        let err = parse_body(b"{\"a\":").unwrap_err();
        assert!(err.validation_error_string().starts_with("[Invalid JSON: "), "{err}");
    }

    #[test]
    fn nesting_depth_counts_brackets_outside_strings() {
        assert!(!nested_deeper_than(b"[[1]]", 2));
        assert!(nested_deeper_than(b"[[[1]]]", 2));
        assert!(!nested_deeper_than(br#"{"a": "[[[[", "b": {"c": []}}"#, 3));
        assert!(!nested_deeper_than(br#"["\"[[[", 1]"#, 1));
        assert!(nested_deeper_than(br#"["\\", [[1]]]"#, 2));
        assert!(!nested_deeper_than(b"[][][][]", 1));
    }
}
