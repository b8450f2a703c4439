//! Where in a JSON or YAML file a problem is: `spec.yaml:12:7: methods[2].http_method: ...`.
//!
//! Syntax errors carry their position from the parsers. Errors found later name a field path
//! (`methods[2].http_method`, `models.Pet`, `gateway_responses.THROTTLED.headers`); the path is
//! first resolved against the parsed document (map keys may hold dots, as
//! `integration.request.path.id` does), then the file is read again by the same parser with a
//! visitor that walks down that path and stops there with an error, which the parser stamps with
//! its position.

use std::fmt;
use std::path::Path;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use tollgate_core::config::Config;
use tollgate_core::deployment::Deployment;

use crate::spec::{Gateway, Spec};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A line and a column, both from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Parses a JSON (`json`) or YAML document; a syntax error reads `file:line:column: why`.
pub fn parse(path: &Path, text: &str, json: bool) -> Result<Value, String> {
    let file = path.display();
    if json {
        serde_json::from_str(text).map_err(|e| {
            let why = strip_location(&e.to_string());
            format!("{file}:{}:{}: {why}", e.line(), e.column().max(1))
        })
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| match e.location() {
            Some(at) => {
                format!("{file}:{}:{}: {}", at.line(), at.column(), strip_location(&e.to_string()))
            }
            None => format!("{file}: {e}"),
        })
    }
}

/// `why at line 3 column 7, while ...` -> `why, while ...`: the position is said once, first.
fn strip_location(message: &str) -> String {
    let Some(at) = message.find(" at line ") else { return message.to_string() };
    let (why, rest) = message.split_at(at);
    let rest =
        rest.trim_start_matches(" at line ").trim_start_matches(|c: char| c.is_ascii_digit());
    let Some(rest) = rest.strip_prefix(" column ") else { return message.to_string() };
    format!("{why}{}", rest.trim_start_matches(|c: char| c.is_ascii_digit()))
}

/// `file:line:column: path: reason` when the path can be found in the file, else `file: path:
/// reason`. An `unknown field` reason points at that field.
pub fn error_at(
    file: &Path,
    text: &str,
    json: bool,
    doc: &Value,
    path: &str,
    reason: &str,
) -> String {
    let mut steps = resolve(doc, path);
    if let Some(field) = unknown_field(reason) {
        if let Some(Value::Object(map)) = walk(doc, &steps) {
            if map.contains_key(field) {
                steps.push(Step::Key(field.to_string()));
            }
        }
    }
    let shown = if path.is_empty() { String::new() } else { format!("{path}: ") };
    // A reason from re-reading the document as JSON has that copy's position: not the file's.
    let reason = strip_location(reason);
    match position(text, json, &steps) {
        Some(at) => format!("{}:{at}: {shown}{reason}", file.display()),
        None => format!("{}: {shown}{reason}", file.display()),
    }
}

fn unknown_field(reason: &str) -> Option<&str> {
    let rest = reason.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

fn walk<'a>(doc: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    steps.iter().try_fold(doc, |v, step| match step {
        Step::Key(k) => v.get(k),
        Step::Index(i) => v.get(i),
    })
}

/// The steps of `path` that exist in `doc`: all of them, or the longest prefix that does.
pub fn resolve(doc: &Value, path: &str) -> Vec<Step> {
    let path = path.strip_prefix('.').unwrap_or(path);
    let (steps, _) = resolve_from(doc, path);
    steps
}

/// (steps, whether the whole path resolved).
fn resolve_from(value: &Value, rest: &str) -> (Vec<Step>, bool) {
    if rest.is_empty() {
        return (Vec::new(), true);
    }
    if let Some(inner) = rest.strip_prefix('[') {
        let Some((digits, after)) = inner.split_once(']') else { return (Vec::new(), false) };
        let Some(element) = digits.parse::<usize>().ok().and_then(|i| value.get(i)) else {
            return (Vec::new(), false);
        };
        let after = after.strip_prefix('.').unwrap_or(after);
        let (mut steps, whole) = resolve_from(element, after);
        steps.insert(0, Step::Index(digits.parse().unwrap_or_default()));
        return (steps, whole);
    }
    let Value::Object(map) = value else { return (Vec::new(), false) };
    let mut keys: Vec<&String> = map
        .keys()
        .filter(|k| {
            rest.strip_prefix(k.as_str())
                .is_some_and(|after| after.is_empty() || after.starts_with(['.', '[']))
        })
        .collect();
    keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
    let mut best: (Vec<Step>, bool) = (Vec::new(), false);
    for key in keys {
        let after = rest.get(key.len()..).unwrap_or_default();
        let after = after.strip_prefix('.').unwrap_or(after);
        let Some(child) = map.get(key) else { continue };
        let (mut steps, whole) = resolve_from(child, after);
        steps.insert(0, Step::Key(key.clone()));
        if whole {
            return (steps, true);
        }
        if steps.len() > best.0.len() {
            best = (steps, false);
        }
    }
    best
}

/// Where `steps` lead in the file: the key of the last step when it is a key, else the value.
pub fn position(text: &str, json: bool, steps: &[Step]) -> Option<Position> {
    if steps.is_empty() {
        return first_token(text);
    }
    let found = Find { steps, json };
    let (line, column) = if json {
        let mut de = serde_json::Deserializer::from_str(text);
        let err = found.deserialize(&mut de).err()?;
        if !err.to_string().contains(FOUND) {
            return None;
        }
        (err.line(), err.column())
    } else {
        let err = found.deserialize(serde_yaml_ng::Deserializer::from_str(text)).err()?;
        if !err.to_string().contains(FOUND) {
            return None;
        }
        let at = err.location()?;
        (at.line(), at.column())
    };
    let at = Position { line, column };
    match steps.last() {
        Some(Step::Key(key)) => Some(key_before(text, at, key, json).unwrap_or(at)),
        _ => Some(at),
    }
}

fn first_token(text: &str) -> Option<Position> {
    let offset = text.find(|c: char| !c.is_whitespace())?;
    Some(position_of(text, offset))
}

/// The key that ends at (JSON) or precedes (YAML) `at`.
fn key_before(text: &str, at: Position, key: &str, json: bool) -> Option<Position> {
    let offset = offset_of(text, at)?;
    let needle = if json { serde_json::to_string(key).ok()? } else { key.to_string() };
    let mut end = (offset + needle.len()).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let start = text.get(..end)?.rfind(&needle)?;
    Some(position_of(text, start))
}

fn offset_of(text: &str, at: Position) -> Option<usize> {
    let mut offset = 0;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        if n + 1 == at.line {
            let column: usize =
                line.chars().take(at.column.saturating_sub(1)).map(char::len_utf8).sum();
            return Some(offset + column);
        }
        offset += line.len();
    }
    None
}

fn position_of(text: &str, offset: usize) -> Position {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Position { line, column }
}

/// Reads a spec (`gateway` plus the filter config) and compiles it as the filter would; every
/// error carries the file, line and column.
pub fn check_spec(file: &Path, text: &str) -> Result<(Spec, Deployment), String> {
    let json = crate::spec::is_json(file, text);
    let doc = parse(file, text, json)?;
    let at = |path: &str, reason: &str| error_at(file, text, json, &doc, path, reason);
    let mut rest = doc.clone();
    let gateway = match rest.as_object_mut().and_then(|o| o.remove("gateway")) {
        Some(g) => serde_path_to_error::deserialize(g).map_err(|e| {
            let inner = e.path().to_string();
            let path =
                if inner == "." { "gateway".to_string() } else { format!("gateway.{inner}") };
            at(&path, &e.into_inner().to_string())
        })?,
        None => Gateway::default(),
    };
    let bytes = serde_json::to_vec(&rest).map_err(|e| e.to_string())?;
    let config = Config::from_json(&bytes).map_err(|e| at(&e.path, &e.reason))?;
    let deployment = Deployment::from_json(&bytes).map_err(|e| at(&e.path, &e.reason))?;
    Ok((Spec { gateway, config }, deployment))
}

const FOUND: &str = "tollgate-locate: found";

/// Walks a document along `steps` and fails where they end, so the parser says where that is.
#[derive(Clone, Copy)]
struct Find<'a> {
    steps: &'a [Step],
    json: bool,
}

impl<'de> DeserializeSeed<'de> for Find<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Find<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(FOUND))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Step::Key(want), rest)) = self.steps.split_first() else {
            return Err(de::Error::custom(FOUND));
        };
        while let Some(key) = map.next_key::<String>()? {
            if &key == want {
                // JSON stops right after the key; YAML at the value (the key is found before it).
                if rest.is_empty() && self.json {
                    return Err(de::Error::custom(FOUND));
                }
                return map.next_value_seed(Find { steps: rest, json: self.json });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Err(de::Error::custom("not found"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Step::Index(want), rest)) = self.steps.split_first() else {
            return Err(de::Error::custom(FOUND));
        };
        for _ in 0..*want {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Err(de::Error::custom("not found"));
            }
        }
        seq.next_element_seed(Find { steps: rest, json: self.json })?;
        Err(de::Error::custom("not found"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "api: {id: x}\nmethods:\n  - resource: /a\n    http_method: GET\n  - resource: /b\n    http_method: FOO\n    integration:\n      request_parameters:\n        integration.request.path.id: x\n";
    const JSON: &str = "{\n  \"api\": {\"id\": \"x\"},\n  \"methods\": [\n    {\"resource\": \"/a\", \"http_method\": \"GET\"},\n    {\"resource\": \"/b\",\n     \"http_method\": \"FOO\"}\n  ]\n}\n";

    fn at(text: &str, json: bool, path: &str) -> Option<Position> {
        let doc: Value = if json {
            serde_json::from_str(text).unwrap()
        } else {
            serde_yaml_ng::from_str(text).unwrap()
        };
        position(text, json, &resolve(&doc, path))
    }

    #[test]
    fn paths_are_found_in_yaml() {
        let p = |line, column| Some(Position { line, column });
        assert_eq!(at(YAML, false, "methods[1].http_method"), p(6, 5));
        assert_eq!(at(YAML, false, "methods[1]"), p(5, 5));
        assert_eq!(at(YAML, false, "api.id"), p(1, 7));
        let deep = "methods[1].integration.request_parameters.integration.request.path.id";
        assert_eq!(at(YAML, false, deep), p(9, 9));
        // A path that goes further than the file: its longest existing prefix.
        assert_eq!(at(YAML, false, "methods[1].cache.ttl_seconds"), p(5, 5));
    }

    #[test]
    fn paths_are_found_in_json() {
        let p = |line, column| Some(Position { line, column });
        assert_eq!(at(JSON, true, "methods[1].http_method"), p(6, 6));
        assert_eq!(at(JSON, true, "methods[1]"), p(5, 5));
        assert_eq!(at(JSON, true, "methods[0].http_method"), p(4, 24));
        assert_eq!(at(JSON, true, ""), p(1, 1));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse(Path::new("a.yaml"), "a: [1, 2\nb: c\n", false).unwrap_err();
        assert!(err.starts_with("a.yaml:"), "{err}");
        let err = parse(Path::new("a.json"), "{\n  \"a\": [1,,2]\n}", true).unwrap_err();
        assert!(err.starts_with("a.json:2:11: expected value"), "{err}");
    }
}
