//! Loading: JSON or YAML, short-form tags in their long form, local includes inlined.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::openapi::{join, scalar};

/// A template file, or an included snippet, as JSON.
pub(super) fn load(path: &Path, depth: usize) -> Result<Value, String> {
    let in_file = |e: String| format!("{}: {e}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| in_file(e.to_string()))?;
    let doc = if crate::spec::is_json(path, &text) {
        crate::locate::parse(path, &text, true)?
    } else {
        let mut yaml: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&text).map_err(|e| in_file(e.to_string()))?;
        yaml.apply_merge().map_err(|e| in_file(e.to_string()))?;
        long_form(yaml, "").map_err(in_file)?
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    inline_includes(doc, dir, "", depth).map_err(in_file)
}

/// The functions with a short form (`!Sub`) besides `!Ref`, `!Condition` and `!GetAtt`.
const SHORT_FORMS: [&str; 17] = [
    "And",
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Length",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
    "ToJsonString",
    "Transform",
];

/// YAML -> JSON, with `!Sub x` as `{"Fn::Sub": x}` and `!GetAtt A.B` as
/// `{"Fn::GetAtt": ["A", "B"]}`; map keys as text (`200:` is `"200"`).
fn long_form(yaml: serde_yaml_ng::Value, at: &str) -> Result<Value, String> {
    use serde_yaml_ng::Value as Yaml;
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => {
            let number = if let Some(i) = n.as_i64() {
                Some(json!(i))
            } else if let Some(u) = n.as_u64() {
                Some(json!(u))
            } else {
                n.as_f64().and_then(serde_json::Number::from_f64).map(Value::Number)
            };
            number.ok_or_else(|| format!("{at}: the number {n} has no JSON form"))?
        }
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| long_form(v, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                let key = match key {
                    Yaml::String(s) => s,
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    other => return Err(format!("{at}: a map key must be a text, not {other:?}")),
                };
                let value = long_form(value, &join(at, &key))?;
                out.insert(key, value);
            }
            Value::Object(out)
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let value = long_form(tagged.value, at)?;
            function_of_tag(name, value, at)?
        }
    })
}

fn function_of_tag(name: &str, value: Value, at: &str) -> Result<Value, String> {
    let (key, value) = match name {
        "Ref" | "Condition" => (name.to_string(), value),
        "GetAtt" => match value {
            Value::String(dotted) => match dotted.split_once('.') {
                Some((resource, attribute)) => {
                    ("Fn::GetAtt".to_string(), json!([resource, attribute]))
                }
                None => return Err(format!("{at}: `!GetAtt {dotted}` is not RESOURCE.ATTRIBUTE")),
            },
            other => ("Fn::GetAtt".to_string(), other),
        },
        _ if SHORT_FORMS.contains(&name) => (format!("Fn::{name}"), value),
        _ => return Err(format!("{at}: `!{name}` is not a CloudFormation function")),
    };
    Ok(single(&key, value))
}

/// `{key: value}`.
pub(super) fn single(key: &str, value: Value) -> Value {
    let mut map = Map::new();
    map.insert(key.to_string(), value);
    Value::Object(map)
}

/// `Fn::Transform: {Name: AWS::Include, Parameters: {Location: ./api.yaml}}` replaced by the
/// file's content (or merged into the map it sits in), as CloudFormation does before anything
/// else, SAM included.
fn inline_includes(value: Value, dir: &Path, at: &str, depth: usize) -> Result<Value, String> {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            let mut snippet = None;
            for (key, value) in map {
                let here = join(at, &key);
                if key == "Fn::Transform" {
                    snippet = Some(included(&value, dir, &here, depth)?);
                } else {
                    out.insert(key, inline_includes(value, dir, &here, depth)?);
                }
            }
            match snippet {
                None => Ok(Value::Object(out)),
                Some(snippet) if out.is_empty() => Ok(snippet),
                Some(Value::Object(more)) => {
                    for (key, value) in more {
                        out.entry(key).or_insert(value);
                    }
                    Ok(Value::Object(out))
                }
                Some(_) => Err(format!(
                    "{at}.Fn::Transform: the included snippet is not a map, and it sits in a map \
                     with other keys"
                )),
            }
        }
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| inline_includes(v, dir, &format!("{at}[{i}]"), depth))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other),
    }
}

fn included(transform: &Value, dir: &Path, at: &str, depth: usize) -> Result<Value, String> {
    let name = transform.get("Name").map(scalar).unwrap_or_default();
    if name != "AWS::Include" {
        return Err(format!("{at}: {}", macro_runs_in_the_account(&name)));
    }
    let location = transform
        .pointer("/Parameters/Location")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{at}.Parameters.Location: missing (the snippet's path)"))?;
    if location.contains("://") {
        return Err(format!(
            "{at}.Parameters.Location: `{location}` is in S3: put the snippet next to the \
             template and give its path"
        ));
    }
    if depth >= 8 {
        return Err(format!("{at}: includes nested too deep"));
    }
    load(&dir.join(location), depth + 1)
}

pub(super) fn macro_runs_in_the_account(name: &str) -> String {
    format!(
        "the macro `{name}` runs in the account when the stack is deployed: give the processed \
         template (`aws cloudformation get-template --template-stage Processed`)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms_become_long_forms() {
        let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(
            "a: !Sub 'x-${AWS::Region}'\nb: !GetAtt Fn.Arn\nc: !If [C, !Ref P, !Join ['', [a, b]]]\n200: ok",
        )
        .unwrap();
        let value = long_form(yaml, "").unwrap();
        assert_eq!(
            value,
            json!({"a": {"Fn::Sub": "x-${AWS::Region}"}, "b": {"Fn::GetAtt": ["Fn", "Arn"]},
                   "c": {"Fn::If": ["C", {"Ref": "P"}, {"Fn::Join": ["", ["a", "b"]]}]}, "200": "ok"})
        );
        let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str("x: {y: !Frobnicate 1}").unwrap();
        assert_eq!(
            long_form(yaml, "").unwrap_err(),
            "x.y: `!Frobnicate` is not a CloudFormation function"
        );
    }
}
