//! Values to text (Java `toString`), values to JSON text, and JSON text to values (keeping the
//! order of object members). Every writer stops at [`MAX_OUTPUT`] bytes.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::value::{Map, Value};
use super::{RenderError, MAX_OUTPUT, MAX_VALUE_DEPTH};

/// Appends `s`, refusing to grow `out` past [`MAX_OUTPUT`].
pub(crate) fn push(out: &mut String, s: &str) -> Result<(), RenderError> {
    if out.len().saturating_add(s.len()) > MAX_OUTPUT {
        return Err(RenderError::OutputTooLarge);
    }
    out.push_str(s);
    Ok(())
}

/// A value as Java's `toString` prints it.
pub(crate) fn to_text(value: &Value) -> Result<String, RenderError> {
    let mut out = String::new();
    write_text(&mut out, value)?;
    Ok(out)
}

/// Prints a value as Java would: maps as `{k=v, k2=v2}`, lists as `[a, b]`, lists read from
/// JSON as JSON text.
pub(crate) fn write_text(out: &mut String, value: &Value) -> Result<(), RenderError> {
    match value {
        Value::Null => push(out, "null"),
        Value::Bool(b) => push(out, if *b { "true" } else { "false" }),
        Value::Int(i) => push(out, &i.to_string()),
        Value::Float(f) => push(out, &java_double(*f)),
        Value::Str(s) => push(out, s),
        Value::List(l) if l.json => write_json(out, value),
        Value::List(l) => {
            push(out, "[")?;
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    push(out, ", ")?;
                }
                write_text(out, item)?;
            }
            push(out, "]")
        }
        Value::Map(m) => {
            push(out, "{")?;
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    push(out, ", ")?;
                }
                push(out, k)?;
                push(out, "=")?;
                write_text(out, v)?;
            }
            push(out, "}")
        }
        Value::Input | Value::Util | Value::Loop(_) => Ok(()),
    }
}

/// A value as compact JSON text.
pub(crate) fn to_json(value: &Value) -> Result<String, RenderError> {
    let mut out = String::new();
    write_json(&mut out, value)?;
    Ok(out)
}

pub(crate) fn write_json(out: &mut String, value: &Value) -> Result<(), RenderError> {
    match value {
        Value::Null | Value::Input | Value::Util | Value::Loop(_) => push(out, "null"),
        Value::Float(f) if !f.is_finite() => push(out, "null"),
        Value::Bool(_) | Value::Int(_) | Value::Float(_) => write_text(out, value),
        Value::Str(s) => write_json_string(out, s),
        Value::List(l) => {
            push(out, "[")?;
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    push(out, ",")?;
                }
                write_json(out, item)?;
            }
            push(out, "]")
        }
        Value::Map(m) => {
            push(out, "{")?;
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    push(out, ",")?;
                }
                write_json_string(out, k)?;
                push(out, ":")?;
                write_json(out, v)?;
            }
            push(out, "}")
        }
    }
}

fn write_json_string(out: &mut String, s: &str) -> Result<(), RenderError> {
    let mut quoted = String::with_capacity(s.len() + 2);
    quoted.push('"');
    for c in s.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            '\u{8}' => quoted.push_str("\\b"),
            '\u{c}' => quoted.push_str("\\f"),
            c if u32::from(c) < 0x20 => quoted.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    push(out, &quoted)
}

/// Java's `Double.toString`: `1.0`, `0.001`, `1.0E7`, `1.5E-4`.
pub(crate) fn java_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".to_string();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0" } else { "0.0" }.to_string();
    }
    let sign = if d < 0.0 { "-" } else { "" };
    let abs = d.abs();
    // Shortest round-trip digits, e.g. "1.2345e6".
    let sci = format!("{abs:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut chars = digits.chars();
    let first = chars.next().unwrap_or('0');
    let rest: String = chars.collect();
    if (1e-3..1e7).contains(&abs) {
        if exp >= 0 {
            let int_len = usize::try_from(exp).unwrap_or(0) + 1;
            let padded = format!("{digits:0<int_len$}");
            let (int_part, frac) = padded.split_at(int_len.min(padded.len()));
            let frac = if frac.is_empty() { "0" } else { frac };
            format!("{sign}{int_part}.{frac}")
        } else {
            let zeros = "0".repeat(usize::try_from(-exp - 1).unwrap_or(0));
            format!("{sign}0.{zeros}{digits}")
        }
    } else {
        let rest = if rest.is_empty() { "0".to_string() } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    }
}

/// Parses JSON text into a value, keeping object members in document order. JSON arrays are
/// marked to print as JSON.
pub(crate) fn parse_json(bytes: &[u8]) -> Result<Value, String> {
    serde_json::from_slice::<JsonValue>(bytes).map(|v| v.0).map_err(|e| e.to_string())
}

/// A `serde_json::Value` (the `$context` tree) as a value; nesting past the cap reads as null.
pub(crate) fn from_serde(value: &serde_json::Value, depth: usize) -> Value {
    if depth >= MAX_VALUE_DEPTH {
        return Value::Null;
    }
    match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Value::str(s.as_str()),
        serde_json::Value::Array(items) => {
            let items = items.iter().map(|v| from_serde(v, depth + 1)).collect();
            Value::list(items, true).unwrap_or(Value::Null)
        }
        serde_json::Value::Object(members) => {
            let mut map = Map::new(false);
            for (k, v) in members {
                if map.insert(k.clone(), from_serde(v, depth + 1)).is_err() {
                    return Value::Null;
                }
            }
            Value::map(map)
        }
    }
}

struct JsonValue(Value);

impl<'de> Deserialize<'de> for JsonValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = JsonValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<JsonValue, E> {
        Ok(JsonValue(Value::Null))
    }

    fn visit_bool<E>(self, b: bool) -> Result<JsonValue, E> {
        Ok(JsonValue(Value::Bool(b)))
    }

    fn visit_i64<E>(self, i: i64) -> Result<JsonValue, E> {
        Ok(JsonValue(Value::Int(i)))
    }

    fn visit_u64<E>(self, u: u64) -> Result<JsonValue, E> {
        Ok(JsonValue(i64::try_from(u).map(Value::Int).unwrap_or(Value::Float(u as f64))))
    }

    fn visit_f64<E>(self, f: f64) -> Result<JsonValue, E> {
        Ok(JsonValue(Value::Float(f)))
    }

    fn visit_str<E>(self, s: &str) -> Result<JsonValue, E> {
        Ok(JsonValue(Value::str(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonValue, A::Error> {
        let mut items = Vec::new();
        while let Some(JsonValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Value::list(items, true).map(JsonValue).map_err(de::Error::custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<JsonValue, A::Error> {
        let mut map = Map::new(false);
        while let Some((key, JsonValue(value))) = access.next_entry::<String, JsonValue>()? {
            map.insert(key, value).map_err(de::Error::custom)?;
        }
        Ok(JsonValue(Value::map(map)))
    }
}
