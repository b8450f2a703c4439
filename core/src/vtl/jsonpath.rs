//! A small JSONPath (Jayway flavour, as API Gateway uses): `$`, `$.a.b`, `$['a b']`, `$.a[0]`,
//! `$.a[-1]`, `$.a[*].b`, `$.*`, `$..x`, slices `$.a[1:3]`. A path without a leading `$` reads
//! as `$.` + path. Filters (`[?(...)]`) and unions are not supported.
//!
//! A definite path (names and indexes only) selects one value or nothing; any other path
//! selects an array of every match, in document order.

use super::value::{list_index, Value};

/// Most nodes one selection may visit (bounds `..` over large documents).
const MAX_VISITS: usize = 1_000_000;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Child(String),
    /// An array index; negative counts from the end.
    Index(i64),
    /// `*`: every member of an object or item of an array.
    Wildcard,
    /// `[start:end]` of an array.
    Slice(Option<i64>, Option<i64>),
    /// `..step`: the step applied to the node and all its descendants.
    Descend(Box<Segment>),
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    pub segments: Vec<Segment>,
}

impl JsonPath {
    /// Whether the path selects at most one value (no wildcard, slice or `..`).
    pub fn is_definite(&self) -> bool {
        self.segments.iter().all(|s| matches!(s, Segment::Child(_) | Segment::Index(_)))
    }
}

/// Parses a path, for checking paths at config time.
pub fn parse_path(path: &str) -> Result<JsonPath, String> {
    let path = path.trim();
    let chars: Vec<char> = match path.strip_prefix('$') {
        Some(rest) => rest.chars().collect(),
        None if path.is_empty() => return Err("empty path".to_string()),
        None => format!(".{path}").chars().collect(),
    };
    let mut segments = Vec::new();
    let mut pos = 0;
    while let Some(&c) = chars.get(pos) {
        let (segment, next) = match c {
            '.' if chars.get(pos + 1) == Some(&'.') => {
                let (inner, next) = match chars.get(pos + 2) {
                    Some('[') => bracket(&chars, pos + 2)?,
                    _ => dotted(&chars, pos + 2)?,
                };
                (Segment::Descend(Box::new(inner)), next)
            }
            '.' => dotted(&chars, pos + 1)?,
            '[' => bracket(&chars, pos)?,
            c => return Err(format!("unexpected `{c}` at offset {pos}")),
        };
        segments.push(segment);
        pos = next;
    }
    Ok(JsonPath { segments })
}

/// A name (or `*`) after a dot, up to the next `.` or `[`.
fn dotted(chars: &[char], start: usize) -> Result<(Segment, usize), String> {
    let mut end = start;
    while chars.get(end).is_some_and(|c| *c != '.' && *c != '[') {
        end += 1;
    }
    let name: String = chars.get(start..end).unwrap_or_default().iter().collect();
    let name = name.trim();
    match name {
        "" => Err(format!("missing name at offset {start}")),
        "*" => Ok((Segment::Wildcard, end)),
        name => Ok((Segment::Child(name.to_string()), end)),
    }
}

/// `[...]` starting at `start`.
fn bracket(chars: &[char], start: usize) -> Result<(Segment, usize), String> {
    let close = (start..chars.len())
        .find(|&i| chars.get(i) == Some(&']') && !in_quotes(chars, start, i))
        .ok_or_else(|| format!("`[` at offset {start} is not closed"))?;
    let inner: String = chars.get(start + 1..close).unwrap_or_default().iter().collect();
    let inner = inner.trim();
    let segment = if inner == "*" {
        Segment::Wildcard
    } else if let Some(name) = quoted(inner) {
        Segment::Child(name)
    } else if inner.starts_with('?') {
        return Err("filter expressions are not supported".to_string());
    } else if let Some((from, to)) = inner.split_once(':') {
        Segment::Slice(bound(from)?, bound(to)?)
    } else {
        Segment::Index(inner.parse().map_err(|_| format!("bad index `{inner}`"))?)
    };
    Ok((segment, close + 1))
}

/// Whether position `at` is inside a quoted name opened after `start`.
fn in_quotes(chars: &[char], start: usize, at: usize) -> bool {
    let mut quote = None;
    let mut escaped = false;
    for &c in chars.get(start + 1..at).unwrap_or_default() {
        match (quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            _ => {}
        }
    }
    quote.is_some()
}

/// `'name'` or `"name"`, with `\'` and `\\` escapes.
fn quoted(inner: &str) -> Option<String> {
    let q = inner.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let body = inner.strip_prefix(q)?.strip_suffix(q)?;
    let mut name = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            name.push(chars.next()?);
        } else {
            name.push(c);
        }
    }
    Some(name)
}

fn bound(s: &str) -> Result<Option<i64>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| format!("bad slice bound `{s}`"))
}

/// A JSON-like tree a path can walk.
pub(crate) trait Tree: Clone {
    fn member(&self, name: &str) -> Option<&Self>;
    fn items(&self) -> Option<&[Self]>;
    fn children(&self) -> Vec<&Self>;
    fn array(items: Vec<Self>) -> Self;
}

impl Tree for serde_json::Value {
    fn member(&self, name: &str) -> Option<&Self> {
        self.as_object()?.get(name)
    }
    fn items(&self) -> Option<&[Self]> {
        self.as_array().map(Vec::as_slice)
    }
    fn children(&self) -> Vec<&Self> {
        match self {
            serde_json::Value::Array(items) => items.iter().collect(),
            serde_json::Value::Object(members) => members.values().collect(),
            _ => Vec::new(),
        }
    }
    fn array(items: Vec<Self>) -> Self {
        serde_json::Value::Array(items)
    }
}

impl Tree for Value {
    fn member(&self, name: &str) -> Option<&Self> {
        match self {
            Value::Map(m) => m.get(name),
            _ => None,
        }
    }
    fn items(&self) -> Option<&[Self]> {
        match self {
            Value::List(l) => Some(&l.items),
            _ => None,
        }
    }
    fn children(&self) -> Vec<&Self> {
        match self {
            Value::List(l) => l.items.iter().collect(),
            Value::Map(m) => m.iter().map(|(_, v)| v).collect(),
            _ => Vec::new(),
        }
    }
    fn array(items: Vec<Self>) -> Self {
        // One level above values already within the cap; never refused in practice.
        Value::list(items, true).unwrap_or(Value::Null)
    }
}

/// Resolves an index (negative from the end) in an array of `len`.
fn resolve(len: usize, index: i64) -> Option<usize> {
    if index < 0 {
        let back = usize::try_from(index.unsigned_abs()).ok()?;
        len.checked_sub(back)
    } else {
        list_index(len, index)
    }
}

/// Applies one step to `node`, adding what it selects to `out`.
fn step<'v, T: Tree>(
    node: &'v T,
    segment: &Segment,
    out: &mut Vec<&'v T>,
    visits: &mut usize,
) -> Result<(), String> {
    *visits += 1;
    if *visits > MAX_VISITS {
        return Err("the path visits too many nodes".to_string());
    }
    match segment {
        Segment::Child(name) => out.extend(node.member(name)),
        Segment::Index(i) => {
            if let Some(items) = node.items() {
                out.extend(resolve(items.len(), *i).and_then(|i| items.get(i)));
            }
        }
        Segment::Wildcard => out.extend(node.children()),
        Segment::Slice(from, to) => {
            if let Some(items) = node.items() {
                let len = items.len();
                let clamp = |b: i64| resolve(len, b).unwrap_or(if b < 0 { 0 } else { len });
                let start = from.map_or(0, clamp);
                let end = to.map_or(len, clamp);
                out.extend(items.get(start..end.max(start)).unwrap_or_default());
            }
        }
        Segment::Descend(inner) => {
            let mut stack = vec![node];
            while let Some(current) = stack.pop() {
                step(current, inner, out, visits)?;
                stack.extend(current.children().into_iter().rev());
            }
        }
    }
    Ok(())
}

/// Evaluates a parsed path on any tree.
pub(crate) fn select_in<T: Tree>(root: &T, path: &JsonPath) -> Result<Option<T>, String> {
    let mut current = vec![root];
    let mut visits = 0;
    for segment in &path.segments {
        let mut next = Vec::new();
        for node in current {
            step(node, segment, &mut next, &mut visits)?;
        }
        current = next;
    }
    if path.is_definite() {
        Ok(current.first().map(|v| (*v).clone()))
    } else {
        Ok(Some(T::array(current.into_iter().cloned().collect())))
    }
}

/// Selects from a JSON value: `Ok(None)` when a definite path matches nothing, an array of the
/// matches for wildcard, slice and `..` paths, `Err` for a path that does not parse.
pub fn select(root: &serde_json::Value, path: &str) -> Result<Option<serde_json::Value>, String> {
    select_in(root, &parse_path(path)?)
}
