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
        Value::Int(i) => push(out, Small::of(format_args!("{i}")).as_str()),
        Value::Float(f) => write_java_double(out, *f),
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
    if out.len().saturating_add(s.len()).saturating_add(2) > MAX_OUTPUT {
        return Err(RenderError::OutputTooLarge);
    }
    out.push('"');
    let mut plain = 0;
    for (at, c) in s.char_indices() {
        let escaped = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            c if u32::from(c) < 0x20 => "",
            _ => continue,
        };
        push(out, s.get(plain..at).unwrap_or_default())?;
        if escaped.is_empty() {
            push(out, Small::of(format_args!("\\u{:04x}", u32::from(c))).as_str())?;
        } else {
            push(out, escaped)?;
        }
        plain = at + c.len_utf8();
    }
    push(out, s.get(plain..).unwrap_or_default())?;
    push(out, "\"")
}

/// A short text formatted on the stack (numbers), so printing one allocates nothing.
struct Small {
    bytes: [u8; 48],
    len: usize,
}

impl Small {
    fn of(args: fmt::Arguments<'_>) -> Small {
        let mut small = Small { bytes: [0; 48], len: 0 };
        // A number's text fits; were it not to, the text is cut, never overrun.
        let _ = fmt::Write::write_fmt(&mut small, args);
        small
    }

    fn as_str(&self) -> &str {
        self.bytes.get(..self.len).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or_default()
    }
}

impl fmt::Write for Small {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let slot = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Appends Java's `Double.toString` of `d`: `1.0`, `0.001`, `1.0E7`, `1.5E-4`.
fn write_java_double(out: &mut String, d: f64) -> Result<(), RenderError> {
    if d.is_nan() {
        return push(out, "NaN");
    }
    if d.is_infinite() {
        return push(out, if d > 0.0 { "Infinity" } else { "-Infinity" });
    }
    if d == 0.0 {
        return push(out, if d.is_sign_negative() { "-0.0" } else { "0.0" });
    }
    if d < 0.0 {
        push(out, "-")?;
    }
    let abs = d.abs();
    // Shortest round-trip digits, e.g. "1.2345e6".
    let sci = Small::of(format_args!("{abs:e}"));
    let sci = sci.as_str();
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let (first, rest) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (1e-3..1e7).contains(&abs) {
        if exp >= 0 {
            // `first` is one digit; the point goes `exp` digits into `rest`, zeros padding.
            let int_from_rest = usize::try_from(exp).unwrap_or(0);
            push(out, first)?;
            push(out, rest.get(..int_from_rest.min(rest.len())).unwrap_or_default())?;
            for _ in rest.len()..int_from_rest {
                push(out, "0")?;
            }
            push(out, ".")?;
            let frac = rest.get(int_from_rest.min(rest.len())..).unwrap_or_default();
            push(out, if frac.is_empty() { "0" } else { frac })
        } else {
            push(out, "0.")?;
            for _ in 0..(-exp - 1) {
                push(out, "0")?;
            }
            push(out, first)?;
            push(out, rest)
        }
    } else {
        push(out, first)?;
        push(out, ".")?;
        push(out, if rest.is_empty() { "0" } else { rest })?;
        push(out, "E")?;
        push(out, Small::of(format_args!("{exp}")).as_str())
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
