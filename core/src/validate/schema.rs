//! API Gateway models: JSON Schema (draft 4) documents by name, compiled once at config time and
//! then used to validate request bodies as AWS's request validators do.
//!
//! A model may reference a part of itself (`#/definitions/Pet`) or another model of the same API
//! by its API Gateway address, `https://apigateway.amazonaws.com/restapis/{api}/models/{Name}`
//! (optionally with a fragment). Any `{api}` means this API: a config holds one API. No other
//! remote reference resolves, and nothing is ever fetched: such a model is a config error.
//!
//! Schemas without `$schema` are read as draft 4, as AWS reads them. `format` is asserted for the
//! formats boon knows (`date-time`, `date`, `time`, `email`, `hostname`, `ipv4`, `ipv6`, `uri`,
//! `uri-reference`, `uri-template`, `regex`, `uuid`, `json-pointer`, and a few more); other
//! format names are ignored, as draft 4 allows.

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt;

use serde_json::{Map, Value};

use super::messages::{issues_of, Issue, MAX_MESSAGES};

/// Where API Gateway says a REST API's models live.
const MODELS_PREFIX: &str = "https://apigateway.amazonaws.com/restapis/";
/// The `{api}` of the addresses under which this config's models are compiled.
const THIS_API: &str = "tollgate";

/// A config's models, compiled.
pub struct Models {
    schemas: boon::Schemas,
    by_name: BTreeMap<String, ModelId>,
}

/// One compiled model of a [`Models`]; valid only with the [`Models`] that gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModelId(boon::SchemaIndex);

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
        BodyError { issues: vec![Issue::new(String::new(), format!("Invalid JSON: {err}"))] }
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
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V4);
        // Replaces boon's default loader, which would read `file:` URLs: only models resolve.
        compiler.use_loader(Box::new(ModelLoader { models: models.clone() }));
        let mut schemas = boon::Schemas::new();
        let mut by_name = BTreeMap::new();
        for name in models.keys() {
            let index =
                compiler.compile(&model_url(THIS_API, name), &mut schemas).map_err(|err| {
                    ModelError { model: name.clone(), reason: reason_of(&err, models) }
                })?;
            by_name.insert(name.clone(), ModelId(index));
        }
        Ok(Models { schemas, by_name })
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
        if !self.schemas.contains(model.0) {
            // A ModelId of another Models: a caller's bug, reported rather than panicking.
            let issue = Issue::new(String::new(), "unknown model".to_owned());
            return Err(BodyError { issues: vec![issue] });
        }
        match self.schemas.validate(instance, model.0) {
            Ok(()) => Ok(()),
            Err(err) => Err(BodyError { issues: issues_of(&err, instance, MAX_MESSAGES) }),
        }
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
    if nested_deeper_than(body, MAX_DEPTH) {
        let message = format!("Invalid JSON: nested deeper than {MAX_DEPTH} levels");
        return Err(BodyError { issues: vec![Issue::new(String::new(), message)] });
    }
    serde_json::from_slice(body).map_err(|err| BodyError::invalid_json(&err))
}

/// How deeply a body's arrays and objects may nest. Validation recurses per level and boon's
/// frames are large (several KB a level natively, more with `$ref`/`allOf` chains): a deeper
/// body could exhaust the filter's stack, which would trap the VM. AWS has no such limit that
/// real payloads reach.
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

/// Serves the models to boon by their API Gateway addresses, whatever the `{api}`.
struct ModelLoader {
    models: BTreeMap<String, Value>,
}

impl boon::UrlLoader for ModelLoader {
    fn load(&self, url: &str) -> Result<Value, Box<dyn Error>> {
        let Some(name) = model_name_of(url) else {
            return Err(format!(
                "only other models can be referenced, as {MODELS_PREFIX}{{api}}/models/{{Name}}"
            )
            .into());
        };
        match self.models.get(&name) {
            Some(schema) => Ok(schema.clone()),
            None => Err(format!("there is no model named {name:?}").into()),
        }
    }
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

/// Why a model does not compile, in one line.
fn reason_of(err: &boon::CompileError, models: &BTreeMap<String, Value>) -> String {
    match err {
        boon::CompileError::ValidationError { url, src } => {
            // The schema breaks the draft's metaschema: say where, in the schema's terms.
            let schema = model_name_of(url).and_then(|name| models.get(&name));
            let issues = issues_of(src, schema.unwrap_or(&Value::Null), MAX_MESSAGES);
            let list: Vec<String> = issues
                .iter()
                .map(|i| {
                    if i.pointer.is_empty() {
                        i.message.clone()
                    } else {
                        format!("{}: {}", i.pointer, i.message)
                    }
                })
                .collect();
            format!("invalid schema: [{}]", list.join(", "))
        }
        boon::CompileError::LoadUrlError { url, src } => {
            format!("cannot load {url}: {src}")
        }
        other => format!("{other:#}").replace('\n', " "),
    }
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
