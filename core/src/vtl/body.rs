//! A request body read as JSON once, by the template engine's own reader (object members in
//! document order), so that the request validator and the templates share one parse.

use super::convert::parse_json;
use super::value::{Map, Value};

/// A body parsed as JSON, and which bytes it was parsed from.
#[derive(Debug)]
pub struct JsonBody {
    value: Value,
    /// Address and length of the bytes, to tell whether an [`super::Input`]'s body is still
    /// those bytes (a template of the backend's answer has another body).
    source: (usize, usize),
}

impl JsonBody {
    /// Parses `bytes`; an empty (or all-whitespace) body is `{}`, as templates read it. The
    /// error is the JSON reader's message.
    pub fn parse(bytes: &[u8]) -> Result<JsonBody, String> {
        let value = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::map(Map::new(false))
        } else {
            parse_json(bytes)?
        };
        Ok(JsonBody { value, source: (bytes.as_ptr() as usize, bytes.len()) })
    }

    /// Whether this is the parse of `bytes` (the same bytes in memory, not equal ones).
    pub(crate) fn parsed_from(&self, bytes: &[u8]) -> bool {
        self.source == (bytes.as_ptr() as usize, bytes.len())
    }

    /// The parsed value (the request validator reads it as a `validate::Instance`).
    pub(crate) fn value(&self) -> &Value {
        &self.value
    }
}
