//! The Java methods and properties templates call on values: `String`, `List` and `Map`
//! methods, `$map.key`, `$list[0]`, `$foreach.hasNext`. An unknown method or property gives
//! null, which renders the reference as written.

use std::rc::Rc;

use super::convert::to_text;
use super::ops::equal;
use super::value::{key_string, list_index, Value};
use super::{RenderError, MAX_OUTPUT};

/// `$value.name`.
pub(crate) fn property(value: &Value, name: &str) -> Value {
    match value {
        Value::Map(m) => m.get(name).cloned().unwrap_or(Value::Null),
        Value::Loop(l) => match name {
            "index" => Value::Int(i64::try_from(l.index).unwrap_or(i64::MAX)),
            "count" => Value::Int(i64::try_from(l.index).unwrap_or(i64::MAX).saturating_add(1)),
            "hasNext" => Value::Bool(l.has_next),
            "first" => Value::Bool(l.index == 0),
            "last" => Value::Bool(!l.has_next),
            _ => Value::Null,
        },
        // Velocity tries `isEmpty()` for `.empty`.
        Value::Str(s) if name == "empty" => Value::Bool(s.is_empty()),
        Value::List(l) if name == "empty" => Value::Bool(l.items.is_empty()),
        _ => Value::Null,
    }
}

/// `$value[index]`.
pub(crate) fn index(value: &Value, index: &Value) -> Value {
    match (value, index) {
        (Value::List(l), Value::Int(i)) => list_index(l.items.len(), *i)
            .and_then(|i| l.items.get(i))
            .cloned()
            .unwrap_or(Value::Null),
        (Value::Map(m), key) => m.get(&key_string(key)).cloned().unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// Whether a method changes its receiver.
pub(crate) fn is_mutator(name: &str) -> bool {
    matches!(name, "add" | "addAll" | "put" | "putAll" | "remove" | "set" | "clear")
}

/// `$value.name(args)`, for values other than `$input` and `$util`.
pub(crate) fn call(value: &Value, name: &str, args: &[Value]) -> Result<Value, RenderError> {
    if is_mutator(name) {
        // On a value that is not a variable: change a copy, keep the result.
        let mut copy = value.clone();
        return mutate(&mut copy, name, args).unwrap_or(Ok(Value::Null));
    }
    match (value, name, args) {
        (_, "toString", []) => Ok(Value::str(to_text(value)?)),
        (_, "equals", [other]) => Ok(Value::Bool(equal(value, other))),
        (Value::Str(s), ..) => string_method(s, name, args),
        (Value::List(l), "size", []) => Ok(int(l.items.len())),
        (Value::List(l), "isEmpty", []) => Ok(Value::Bool(l.items.is_empty())),
        (Value::List(_), "get", [i @ Value::Int(_)]) => Ok(index(value, i)),
        (Value::List(l), "contains", [x]) => Ok(Value::Bool(l.items.iter().any(|y| equal(x, y)))),
        (Value::List(l), "indexOf", [x]) => {
            Ok(l.items.iter().position(|y| equal(x, y)).map_or(Value::Int(-1), int))
        }
        (Value::Map(m), "size", []) => Ok(int(m.len())),
        (Value::Map(m), "isEmpty", []) => Ok(Value::Bool(m.len() == 0)),
        (Value::Map(m), "get", [key]) => {
            Ok(m.get(&key_string(key)).cloned().unwrap_or(Value::Null))
        }
        (Value::Map(m), "containsKey", [key]) => Ok(Value::Bool(m.get(&key_string(key)).is_some())),
        (Value::Map(m), "containsValue", [x]) => {
            Ok(Value::Bool(m.iter().any(|(_, y)| equal(x, y))))
        }
        (Value::Map(m), "keySet", []) => Value::list(m.keys(), false),
        (Value::Map(m), "values", []) => Value::list(m.values(), false),
        (Value::Map(m), "entrySet", []) => {
            let mut entries = Vec::with_capacity(m.len());
            for (k, v) in m.iter() {
                let mut entry = super::value::Map::new(false);
                entry.insert("key".to_string(), Value::str(k.as_str()))?;
                entry.insert("value".to_string(), v.clone())?;
                entries.push(Value::map(entry));
            }
            Value::list(entries, false)
        }
        (Value::Loop(_), "hasNext" | "getHasNext", []) => Ok(property(value, "hasNext")),
        (Value::Loop(_), "getIndex", []) => Ok(property(value, "index")),
        (Value::Loop(_), "getCount", []) => Ok(property(value, "count")),
        (Value::Int(i), "intValue" | "longValue", []) => Ok(Value::Int(*i)),
        (Value::Int(i), "doubleValue" | "floatValue", []) => Ok(Value::Float(*i as f64)),
        (Value::Float(f), "intValue" | "longValue", []) => Ok(Value::Int(*f as i64)),
        (Value::Float(f), "doubleValue" | "floatValue", []) => Ok(Value::Float(*f)),
        _ => Ok(Value::Null),
    }
}

fn int(n: usize) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn arg_str(args: &[Value], i: usize) -> Option<String> {
    match args.get(i)? {
        Value::Null => None,
        v => to_text(v).ok(),
    }
}

/// Char index of a byte offset.
fn char_index(s: &str, byte: usize) -> Value {
    int(s.get(..byte).map_or(0, |p| p.chars().count()))
}

fn string_method(s: &str, name: &str, args: &[Value]) -> Result<Value, RenderError> {
    let a0 = arg_str(args, 0);
    let a1 = arg_str(args, 1);
    let bool_of =
        |f: &dyn Fn(&str) -> bool| a0.as_deref().map_or(Value::Null, |a| Value::Bool(f(a)));
    Ok(match (name, args.len()) {
        ("length", 0) => int(s.chars().count()),
        ("isEmpty", 0) => Value::Bool(s.is_empty()),
        ("toLowerCase", 0) => Value::str(s.to_lowercase()),
        ("toUpperCase", 0) => Value::str(s.to_uppercase()),
        ("trim", 0) => Value::str(s.trim_matches(|c: char| c <= ' ')),
        ("contains", 1) => bool_of(&|a| s.contains(a)),
        ("startsWith", 1) => bool_of(&|a| s.starts_with(a)),
        ("endsWith", 1) => bool_of(&|a| s.ends_with(a)),
        ("equalsIgnoreCase", 1) => bool_of(&|a| a.to_lowercase() == s.to_lowercase()),
        ("indexOf", 1) => a0.map_or(Value::Null, |a| {
            s.find(a.as_str()).map_or(Value::Int(-1), |b| char_index(s, b))
        }),
        ("lastIndexOf", 1) => a0.map_or(Value::Null, |a| {
            s.rfind(a.as_str()).map_or(Value::Int(-1), |b| char_index(s, b))
        }),
        ("charAt", 1) => match args.first() {
            Some(Value::Int(i)) => usize::try_from(*i)
                .ok()
                .and_then(|i| s.chars().nth(i))
                .map_or(Value::Null, |c| Value::str(c.to_string())),
            _ => Value::Null,
        },
        ("substring", 1 | 2) => substring(s, args),
        ("concat", 1) => a0.map_or(Value::Null, |a| {
            let mut out = s.to_string();
            out.push_str(&a);
            Value::str(out)
        }),
        ("replace" | "replaceAll", 2) => match (a0, a1) {
            (Some(from), Some(to)) => replace(s, &from, &to, name == "replaceAll")?,
            _ => Value::Null,
        },
        ("replaceFirst", 2) => match (a0, a1) {
            (Some(from), Some(to)) => regex(&from)
                .map_or(Value::Null, |re| Value::str(re.replace(s, java_replacement(&to)))),
            _ => Value::Null,
        },
        ("matches", 1) => a0
            .and_then(|a| regex(&format!("^(?:{a})$")))
            .map_or(Value::Null, |re| Value::Bool(re.is_match(s))),
        ("split", 1) => match a0.and_then(|a| regex(&a)) {
            Some(re) => {
                let mut parts: Vec<&str> = re.split(s).collect();
                while parts.len() > 1 && parts.last() == Some(&"") {
                    parts.pop();
                }
                Value::list(parts.into_iter().map(Value::str).collect(), false)?
            }
            None => Value::Null,
        },
        _ => Value::Null,
    })
}

/// `substring(begin[, end])` in characters; out of range gives null.
fn substring(s: &str, args: &[Value]) -> Value {
    let len = s.chars().count();
    let begin = args.first().and_then(Value::as_int).and_then(|i| usize::try_from(i).ok());
    let end = match args.get(1) {
        None => Some(len),
        Some(v) => v.as_int().and_then(|i| usize::try_from(i).ok()),
    };
    match (begin, end) {
        (Some(b), Some(e)) if b <= e && e <= len => {
            Value::str(s.chars().skip(b).take(e - b).collect::<String>())
        }
        _ => Value::Null,
    }
}

fn regex(pattern: &str) -> Option<regex_lite::Regex> {
    regex_lite::RegexBuilder::new(pattern).size_limit(1 << 20).build().ok()
}

/// Java's replacement syntax (`$1`, `\$`) in the regex crate's (`${1}`, `$$`).
fn java_replacement(to: &str) -> String {
    let mut out = String::with_capacity(to.len());
    let mut chars = to.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            '$' => {
                out.push_str("${");
                while let Some(d) = chars.next_if(char::is_ascii_digit) {
                    out.push(d);
                }
                out.push('}');
            }
            c => out.push(c),
        }
    }
    out
}

/// `replace` (literal) and `replaceAll` (Java regex); results past the size cap are refused.
fn replace(s: &str, from: &str, to: &str, is_regex: bool) -> Result<Value, RenderError> {
    let replaced = if is_regex {
        match regex(from) {
            Some(re) => re.replace_all(s, java_replacement(to)).into_owned(),
            None => return Ok(Value::Null),
        }
    } else {
        s.replace(from, to)
    };
    if replaced.len() > MAX_OUTPUT {
        return Err(RenderError::OutputTooLarge);
    }
    Ok(Value::str(replaced))
}

/// A method that changes its receiver, applied in place; `None` when `name` is not one for this
/// kind of value.
pub(crate) fn mutate(
    target: &mut Value,
    name: &str,
    args: &[Value],
) -> Option<Result<Value, RenderError>> {
    Some(match (target, name, args) {
        (Value::List(l), "add", [item]) => {
            Rc::make_mut(l).push(item.clone()).map(|()| Value::Bool(true))
        }
        (Value::List(l), "add", [Value::Int(i), item]) => {
            let index = usize::try_from(*i).unwrap_or(usize::MAX);
            Rc::make_mut(l).insert(index, item.clone()).map(|_| Value::Null)
        }
        (Value::List(l), "addAll", [Value::List(more)]) => {
            let l = Rc::make_mut(l);
            more.items.iter().try_for_each(|item| l.push(item.clone())).map(|()| Value::Bool(true))
        }
        (Value::List(l), "set", [Value::Int(i), item]) => {
            let index = usize::try_from(*i).unwrap_or(usize::MAX);
            Rc::make_mut(l).set(index, item.clone()).map(|old| old.unwrap_or(Value::Null))
        }
        (Value::List(l), "remove", [Value::Int(i)]) => {
            let l = Rc::make_mut(l);
            Ok(list_index(l.items.len(), *i).map_or(Value::Null, |i| l.items.remove(i)))
        }
        (Value::List(l), "clear", []) => {
            Rc::make_mut(l).items.clear();
            Ok(Value::Null)
        }
        (Value::Map(m), "put", [key, value]) => Rc::make_mut(m)
            .insert(key_string(key), value.clone())
            .map(|old| old.unwrap_or(Value::Null)),
        (Value::Map(m), "putAll", [Value::Map(more)]) => {
            let m = Rc::make_mut(m);
            more.iter()
                .try_for_each(|(k, v)| m.insert(k.clone(), v.clone()).map(|_| ()))
                .map(|()| Value::Null)
        }
        (Value::Map(m), "remove", [key]) => {
            Ok(Rc::make_mut(m).remove(&key_string(key)).unwrap_or(Value::Null))
        }
        (Value::Map(m), "clear", []) => {
            Rc::make_mut(m).clear();
            Ok(Value::Null)
        }
        _ => return None,
    })
}
