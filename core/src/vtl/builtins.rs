//! API Gateway's objects: `$input` (body, JSONPath selections, parameters), `$util`,
//! `$context` and `$stageVariables`, each built from the [`Input`] on first use in a render
//! and kept for the rest of it.

use super::ast::Accessor;
use super::convert::{from_serde, parse_json, to_json, to_text};
use super::escape;
use super::jsonpath::{parse_path, select_in};
use super::value::{Map, Value};
use super::{Input, RenderError, MAX_OUTPUT};

/// The request data of one render, converted lazily.
pub(crate) struct Sources<'i> {
    input: &'i Input<'i>,
    body: Option<Value>,
    context: Option<Value>,
    stage_variables: Option<Value>,
    params: Option<Value>,
}

impl<'i> Sources<'i> {
    pub(crate) fn new(input: &'i Input<'i>) -> Sources<'i> {
        Sources { input, body: None, context: None, stage_variables: None, params: None }
    }

    /// `$context`.
    pub(crate) fn context(&mut self) -> Value {
        let input = self.input;
        self.context.get_or_insert_with(|| from_serde(input.context, 0)).clone()
    }

    /// The value `$context` followed by `parts` reaches through its leading properties, and the
    /// accessors left to apply to it. Only the value reached is converted.
    pub(crate) fn context_at<'p>(&mut self, parts: &'p [Accessor]) -> (Value, &'p [Accessor]) {
        if let Some(context) = &self.context {
            return (context.clone(), parts);
        }
        let mut node = self.input.context;
        let mut rest = parts;
        while let Some((Accessor::Property(name), after)) = rest.split_first() {
            let serde_json::Value::Object(members) = node else { break };
            match members.get(name) {
                Some(member) => node = member,
                // A map's missing member is null, and so is everything read through it.
                None => return (Value::Null, &[]),
            }
            rest = after;
        }
        if rest.len() == parts.len() {
            return (self.context(), parts);
        }
        let depth = parts.len() - rest.len();
        (from_serde(node, depth), rest)
    }

    /// `$stageVariables`.
    pub(crate) fn stage_variables(&mut self) -> Result<Value, RenderError> {
        if let Some(v) = &self.stage_variables {
            return Ok(v.clone());
        }
        let mut map = Map::new(false);
        for (k, v) in self.input.stage_variables {
            map.insert(k.clone(), Value::str(v.as_str()))?;
        }
        let value = Value::map(map);
        self.stage_variables = Some(value.clone());
        Ok(value)
    }

    /// `$input.params()`: `path`, `querystring` and `header` maps (headers case-insensitive).
    fn params(&mut self) -> Result<Value, RenderError> {
        if let Some(v) = &self.params {
            return Ok(v.clone());
        }
        let groups = [
            ("path", self.input.path, false),
            ("querystring", self.input.querystring, false),
            ("header", self.input.header, true),
        ];
        let mut all = Map::new(false);
        for (name, pairs, case_insensitive) in groups {
            let mut map = Map::new(case_insensitive);
            for (k, v) in pairs {
                map.insert(k.clone(), Value::str(v.as_str()))?;
            }
            all.insert(name.to_string(), Value::map(map))?;
        }
        let value = Value::map(all);
        self.params = Some(value.clone());
        Ok(value)
    }

    /// `$input.params('name')`: path, then query string, then header; `""` when absent.
    fn param(&mut self, name: &str) -> Result<Value, RenderError> {
        if let Value::Map(all) = self.params()? {
            for group in ["path", "querystring", "header"] {
                if let Some(Value::Map(m)) = all.get(group) {
                    if let Some(v) = m.get(name) {
                        return Ok(v.clone());
                    }
                }
            }
        }
        Ok(Value::str(""))
    }

    /// The body parsed as JSON, once per render; an empty body reads as `{}`.
    fn body_json(&mut self) -> Result<&Value, RenderError> {
        if let Some(json) = self.input.json.filter(|j| j.parsed_from(self.input.body)) {
            return Ok(json.value());
        }
        if self.body.is_none() {
            let bytes = self.input.body;
            let value = if bytes.iter().all(u8::is_ascii_whitespace) {
                Value::map(Map::new(false))
            } else {
                parse_json(bytes).map_err(RenderError::InvalidJsonBody)?
            };
            self.body = Some(value);
        }
        self.body.as_ref().ok_or_else(|| RenderError::InvalidJsonBody(String::new()))
    }

    /// The selection of a JSONPath in the body; `None` when it selects nothing or does not
    /// parse.
    fn select(&mut self, path: &str) -> Result<Option<Value>, RenderError> {
        let Ok(path) = parse_path(path) else { return Ok(None) };
        let body = self.body_json()?;
        Ok(select_in(body, &path).ok().flatten())
    }

    /// `$input.body`.
    pub(crate) fn input_property(&self, name: &str) -> Value {
        match name {
            "body" if self.input.body.is_empty() => Value::str("{}"),
            "body" => Value::str(String::from_utf8_lossy(self.input.body).as_ref()),
            _ => Value::Null,
        }
    }

    /// `$input.json(p)`, `$input.path(p)`, `$input.params(..)`, `$input.body()`.
    pub(crate) fn input_method(
        &mut self,
        name: &str,
        args: &[Value],
    ) -> Result<Value, RenderError> {
        let arg = match args.first() {
            Some(Value::Null) => return Ok(Value::Null),
            Some(v) => Some(to_text(v)?),
            None => None,
        };
        match (name, arg) {
            ("json", arg) => {
                let path = arg.unwrap_or_else(|| "$".to_string());
                match self.select(&path)? {
                    Some(v) => Ok(Value::str(to_json(&v)?)),
                    None => Ok(Value::str("\"\"")),
                }
            }
            ("path", Some(path)) => Ok(self.select(&path)?.unwrap_or_else(|| Value::str(""))),
            ("params", None) => self.params(),
            ("params", Some(name)) => self.param(&name),
            ("getBody" | "body", None) => Ok(self.input_property("body")),
            _ => Ok(Value::Null),
        }
    }
}

/// `$util.name(args)`; a null argument gives null, as in Java.
pub(crate) fn util(name: &str, args: &[Value]) -> Result<Value, RenderError> {
    let s = match args {
        [Value::Null] | [] => return Ok(Value::Null),
        // Most text needs no escape: the same string, without copying it twice.
        [arg @ Value::Str(s)]
            if name == "escapeJavaScript" && !escape::needs_javascript_escape(s) =>
        {
            return Ok(arg.clone());
        }
        [arg] => to_text(arg)?,
        _ => return Ok(Value::Null),
    };
    let out = match name {
        "escapeJavaScript" => Some(escape::escape_javascript(&s)),
        "parseJson" => return Ok(parse_json(s.as_bytes()).unwrap_or(Value::Null)),
        "urlEncode" => Some(escape::url_encode(&s)),
        "urlDecode" => escape::url_decode(&s),
        "base64Encode" => Some(escape::base64_encode(&s)),
        "base64Decode" => escape::base64_decode(&s),
        _ => None,
    };
    match out {
        Some(text) if text.len() > MAX_OUTPUT => Err(RenderError::OutputTooLarge),
        Some(text) => Ok(Value::str(text)),
        None => Ok(Value::Null),
    }
}
