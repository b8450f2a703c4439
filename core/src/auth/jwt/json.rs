//! JSON objects that refuse duplicate members at any depth. Parsers disagree on which of two
//! `"alg"`s or `"exp"`s wins (serde_json keeps the last, others the first), so a token that says
//! one thing to us and another to the upstream is refused instead.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

const DUPLICATE: &str = "duplicate member";

/// Why a document is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON (or trailing bytes, or nested deeper than serde_json's limit of 128).
    Invalid,
    /// The same member twice in one object.
    Duplicate,
    /// JSON, but not an object.
    NotObject,
}

/// Parses a JSON object, refusing duplicate members in it and in every object it contains.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, JsonError> {
    match serde_json::from_slice::<Strict>(bytes) {
        Ok(Strict(Value::Object(map))) => Ok(map),
        Ok(Strict(_)) => Err(JsonError::NotObject),
        Err(e) if e.to_string().starts_with(DUPLICATE) => Err(JsonError::Duplicate),
        Err(_) => Err(JsonError::Invalid),
    }
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("not a finite number"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Strict::deserialize(deserializer).map(|s| s.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format_args!("{DUPLICATE} `{key}`")));
            }
            let Strict(value) = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    #[test]
    fn objects_parse_like_serde_json() {
        let text =
            r#"{"a": 1, "b": [true, null, "x", -2, 1.5, {"c": {}}], "d": 18446744073709551615}"#;
        let ours = Value::Object(parse_object(text.as_bytes()).unwrap());
        let theirs: Value = serde_json::from_str(text).unwrap();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn duplicates_are_refused_at_any_depth() {
        for text in [
            r#"{"exp": 1, "exp": 2}"#,
            r#"{"a": {"x": 1, "x": 1}}"#,
            r#"{"a": [{"y": 1, "y": 2}]}"#,
            // The same name spelled with an escape is the same member.
            r#"{"alg": "RS256", "\u0061lg": "none"}"#,
        ] {
            assert_eq!(parse_object(text.as_bytes()), Err(JsonError::Duplicate), "{text}");
        }
    }

    #[test]
    fn non_objects_and_non_json_are_refused() {
        assert_eq!(parse_object(b"[1]"), Err(JsonError::NotObject));
        assert_eq!(parse_object(b"\"x\""), Err(JsonError::NotObject));
        for text in [&b"{"[..], b"{\"a\":1} x", b"", b"\xff", b"{'a': 1}", b"{\"a\": NaN}"] {
            assert_eq!(parse_object(text), Err(JsonError::Invalid));
        }
        let deep = format!("{}1{}", "{\"a\":".repeat(200), "}".repeat(200));
        assert_eq!(parse_object(deep.as_bytes()), Err(JsonError::Invalid));
    }
}
