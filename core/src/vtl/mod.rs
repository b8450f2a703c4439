//! Velocity (VTL) mapping templates as API Gateway REST APIs evaluate them: Apache Velocity 1.7
//! plus API Gateway's `$input`, `$util`, `$context` and `$stageVariables`.
//!
//! [`Template::parse`] runs once, at config time, and reports the line and column of a mistake;
//! [`Template::render`] runs per request over an [`Input`] and never re-parses. The JSON body is
//! parsed at most once per render, and only when `$input.json(..)` or `$input.path(..)` runs.
//!
//! # Language
//!
//! - Text passes through. References `$x`, `${x}`, `$x.y.z`, `$x.m(args)`, `$x[0]`, `$x['k']`;
//!   quiet `$!x`, `$!{x}`. A `$` not starting a reference (`cost $5`) is text. Identifiers may
//!   hold `-` between letters, as in Velocity 1.7 (`$a-b` is one name; write `$a - $b`).
//! - A null or undefined reference, or a call of an unknown method, renders its own source text
//!   (`$foo` stays `$foo`); a quiet one renders nothing.
//! - Escapes follow Velocity: `\$x` renders `$x` when `$x` is defined; for an undefined `$x` the
//!   text stays as written (`\$x`). `\#if` renders `#if`.
//! - Directives `#set`, `#if`/`#elseif`/`#else`/`#end`, `#foreach`, `#break`, `#stop`, braced
//!   `#{if}`; comments `## ...` (the newline included) and `#* ... *#`; unparsed `#[[ ... ]]#`.
//!   A `#word` that is not a directive stays text (`"#fff"`), unless followed by `(`: then it is
//!   an error, as are `#macro(`, `#parse(`, `#include(`, `#evaluate(`, `#define(`.
//! - `#set($x = null-valued)` leaves `$x` unchanged (Velocity 1.7 default). `#set($m.k = v)`
//!   puts into a map. Values are copied on assignment (no aliasing between variables).
//! - `#foreach` iterates lists, a map's values, and ranges `[a..b]`; it stops silently after
//!   [`MAX_FOREACH`] iterations (API Gateway's cap), and `$foreach.hasNext` is false on the last
//!   iteration run, so truncated JSON stays well formed. `$foreach.index`/`count`/`first`/`last`,
//!   `$velocityCount` and `$velocityHasNext` are set. `#break` leaves the innermost loop (outside
//!   any loop it ends the render, like `#stop`).
//! - Truthiness: null and false are false, everything else (empty string included) is true.
//! - String literals: `'...'` is plain, `"..."` interpolates; a quote is written doubled, and a
//!   backslash stays in the value (Velocity has no `\n` escapes).
//! - Java methods on strings (`length`, `substring`, `replace`, `replaceAll`, `split`, ...; indexes
//!   count characters), lists (`size`, `get`, `contains`, `add`, ...) and maps (`get`, `keySet`,
//!   `values`, `entrySet`, `put`, ...). Mutators change a `#set` variable in place and return
//!   what Java returns (`$list.add(x)` prints `true`; `$map.put(k, v)` is usually null).
//!   Regex methods use `regex-lite` (linear time; Java syntax for common patterns).
//!
//! # Whitespace ("lines" gobbling)
//!
//! A line holding only whitespace, one directive (`#set`, `#if`, `#elseif`, `#else`, `#end`,
//! `#foreach`, `#break`, `#stop`) and optionally comments produces no output: its indentation and
//! its line break are removed. So is a line holding only whitespace and comments.
//!
//! # API Gateway objects
//!
//! - `$input.body`: the body as text (`{}` when the body is empty). `$input.json(p)`: JSON text
//!   of the selection (compact); a path that selects nothing gives `""`, a JSON empty string.
//!   `$input.path(p)`: the selection as a value; nothing selected gives an empty string. An empty
//!   body reads as `{}`; a body that is not JSON fails the render with
//!   [`RenderError::InvalidJsonBody`] (API Gateway answers 400). JSON arrays render as JSON text,
//!   JSON objects as Java maps (`{a=1, b=x}`), as on API Gateway.
//! - `$input.params()`: map of `path`, `querystring`, `header` maps; `$input.params('x')` looks in
//!   that order (headers case-insensitively) and gives `""` when absent.
//! - `$util.escapeJavaScript`, `parseJson`, `urlEncode`, `urlDecode`, `base64Encode`,
//!   `base64Decode` (an argument they cannot take, such as invalid JSON, gives null).
//!   `$context` navigates the JSON tree given; `$stageVariables` the map given; `#set` on them
//!   changes this render's copy only.
//! - A literal JSONPath (`$input.json('$.a')`) is checked when the template is parsed; a path
//!   computed at render time that does not parse selects nothing. See [`jsonpath`].
//!
//! # Limits
//!
//! Parse nesting and evaluation depth are capped at [`MAX_DEPTH`], output and any string at
//! [`MAX_OUTPUT`] bytes, values at [`MAX_VALUE_DEPTH`] levels, loop iterations per render at
//! [`MAX_TOTAL_ITERATIONS`]; going over is a [`RenderError`], never a panic or a stack overflow.

mod ast;
mod body;
mod builtins;
#[cfg(test)]
mod conformance_fixture;
#[cfg(test)]
mod conformance_tests;
mod convert;
#[cfg(test)]
mod error_tests;
mod escape;
mod eval;
mod expr;
pub mod jsonpath;
#[cfg(test)]
mod jsonpath_tests;
mod lex;
mod methods;
mod ops;
mod parse;
mod value;

use std::collections::BTreeMap;

pub use body::JsonBody;
pub use jsonpath::select as json_path;
pub(crate) use value::Value;

/// The text of a member path (`["errorMessage", "trace"]`) in a JSON document, going on into a
/// string member that holds JSON (as API Gateway reads a Lambda function's serialized
/// `errorMessage`): strings as they are, anything else as JSON with its members in their
/// order. `None` when nothing (or `null`) is there.
pub fn member_text(json: &[u8], path: &[&str]) -> Option<String> {
    let mut current = convert::parse_json(json).ok()?;
    for name in path {
        if let value::Value::Str(text) = &current {
            current = convert::parse_json(text.as_bytes()).ok()?;
        }
        let next = match &current {
            value::Value::Map(members) => members.get(name)?.clone(),
            _ => return None,
        };
        current = next;
    }
    match current {
        value::Value::Null => None,
        value::Value::Str(text) => Some(text.to_string()),
        other => convert::to_json(&other).ok(),
    }
}

/// Deepest nesting of blocks and expressions the parser accepts, and of evaluation.
pub const MAX_DEPTH: usize = 64;
/// Largest output, and largest string a template may build, in bytes.
pub const MAX_OUTPUT: usize = 10 * 1024 * 1024;
/// Iterations of one `#foreach` before it stops (API Gateway's cap).
pub const MAX_FOREACH: usize = 1000;
/// Loop iterations in one render, all loops together.
pub const MAX_TOTAL_ITERATIONS: usize = 100_000;
/// Deepest nesting of lists and maps in a value.
pub const MAX_VALUE_DEPTH: usize = 200;
/// Most elements a range outside `#foreach` may hold.
pub const MAX_RANGE: usize = 10_000;

/// A parsed mapping template: immutable, rendered once per request.
#[derive(Debug, Clone)]
pub struct Template {
    source: String,
    nodes: Vec<ast::Node>,
}

/// Why a template does not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct TemplateError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Why a render failed: only limits and an unreadable JSON body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the template output exceeds {MAX_OUTPUT} bytes")]
    OutputTooLarge,
    #[error("the template nests deeper than allowed")]
    TooDeep,
    #[error("the template runs more than {MAX_TOTAL_ITERATIONS} loop iterations")]
    TooManyIterations,
    #[error("a range holds more than {MAX_RANGE} elements")]
    RangeTooLarge,
    /// `$input.json`/`$input.path` on a body that is not JSON.
    #[error("Could not parse request body into json: {0}")]
    InvalidJsonBody(String),
}

/// What a template overrode through `$context.requestOverride.{header,querystring,path}.NAME`
/// and `$context.responseOverride.{status,header.NAME}` (AWS's parameter and status code
/// overrides): values as text, in the order the template set them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub request_headers: Vec<(String, String)>,
    pub request_query: Vec<(String, String)>,
    pub request_path: Vec<(String, String)>,
    pub response_status: Option<String>,
    pub response_headers: Vec<(String, String)>,
}

impl Overrides {
    fn read(context: &value::Value) -> Overrides {
        let member = |v: &value::Value, name: &str| match v {
            value::Value::Map(m) => m.get(name).cloned(),
            _ => None,
        };
        let pairs = |v: Option<value::Value>| -> Vec<(String, String)> {
            match v {
                Some(value::Value::Map(m)) => m
                    .iter()
                    .filter(|(_, v)| !matches!(v, value::Value::Null))
                    .filter_map(|(k, v)| Some((k.clone(), convert::to_text(v).ok()?)))
                    .collect(),
                _ => Vec::new(),
            }
        };
        let request = member(context, "requestOverride").unwrap_or(value::Value::Null);
        let response = member(context, "responseOverride").unwrap_or(value::Value::Null);
        Overrides {
            request_headers: pairs(member(&request, "header")),
            request_query: pairs(member(&request, "querystring")),
            request_path: pairs(member(&request, "path")),
            response_status: member(&response, "status")
                .filter(|v| !matches!(v, value::Value::Null))
                .and_then(|v| convert::to_text(&v).ok()),
            response_headers: pairs(member(&response, "header")),
        }
    }
}

/// What a template sees. Built per request by the caller.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The raw request (or response) body: `$input.body`; `$input.json(..)`/`$input.path(..)`
    /// parse it as JSON lazily (once per render, only if used).
    pub body: &'a [u8],
    /// `$input.params()`: path, querystring, header maps, in that lookup order for
    /// `$input.params('x')`.
    pub path: &'a [(String, String)],
    pub querystring: &'a [(String, String)],
    /// Header names as sent; looked up case-insensitively.
    pub header: &'a [(String, String)],
    /// `$context`: a JSON object tree navigated by `$context.identity.sourceIp`.
    pub context: &'a serde_json::Value,
    /// `$stageVariables.name`, `${stageVariables.name}`, `$stageVariables['name']`.
    pub stage_variables: &'a BTreeMap<String, String>,
    /// The body already read as JSON (by the request validator); used while `body` is the
    /// bytes it was read from, so a copy with another body never reads it.
    pub json: Option<&'a JsonBody>,
}

impl Template {
    /// Parses a template; the error names the line and column of the mistake.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let nodes = parse::parse_template(source)?;
        Ok(Template { source: source.to_string(), nodes })
    }

    /// Renders the template for one request.
    pub fn render(&self, input: &Input<'_>) -> Result<String, RenderError> {
        eval::render(&self.nodes, input)
    }

    /// Renders the template, with what it set in `$context.requestOverride` and
    /// `$context.responseOverride` (given `$context` has both objects, as the pipeline's has).
    pub fn render_overrides(&self, input: &Input<'_>) -> Result<(String, Overrides), RenderError> {
        let (out, context) = eval::render_with_context(&self.nodes, input)?;
        Ok((out, context.map(|c| Overrides::read(&c)).unwrap_or_default()))
    }

    /// The text the template was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }
}
