//! Resource path templates (`/pets/{petId}`, `/{proxy+}`) and the index that matches a request
//! path and HTTP method to a configured method, preferring literals over parameters over greedy
//! parameters, as API Gateway does.

use std::collections::HashMap;

use crate::config::ConfigError;

pub const HTTP_METHODS: [&str; 7] = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];

/// Index of a method in the compiled plan.
pub type MethodId = usize;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

/// Parses a resource template; the error reason says what is wrong with it.
fn parse_template(template: &str) -> Result<Vec<Segment>, String> {
    let rest =
        template.strip_prefix('/').ok_or_else(|| format!("`{template}` must start with `/`"))?;
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = rest.split('/').collect();
    let last = parts.len() - 1;
    let mut segments = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            return Err(format!("`{template}` has an empty path segment"));
        }
        let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(inner) => match inner.strip_suffix('+') {
                Some(name) if i == last => Segment::Greedy(param_name(name, template)?),
                Some(_) => return Err(format!("`{template}`: a greedy `{{name+}}` must be last")),
                None => Segment::Param(param_name(inner, template)?),
            },
            None if part.contains(['{', '}']) => {
                return Err(format!("`{template}`: `{part}` mixes text and a parameter"))
            }
            None => Segment::Literal((*part).to_string()),
        };
        segments.push(segment);
    }
    Ok(segments)
}

fn param_name(name: &str, template: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if ok {
        Ok(name.to_string())
    } else {
        Err(format!("`{template}`: `{name}` is not a valid parameter name"))
    }
}

#[derive(Debug, Default)]
struct Node {
    literals: HashMap<String, Node>,
    param: Option<Box<Node>>,
    greedy: Option<Methods>,
    methods: Methods,
}

/// The methods configured on one resource: per HTTP method, and `ANY`.
#[derive(Debug, Default)]
struct Methods {
    by_verb: Vec<(String, MethodId)>,
    any: Option<MethodId>,
}

impl Methods {
    fn insert(&mut self, verb: &str, id: MethodId) -> bool {
        if verb == "ANY" {
            return self.any.replace(id).is_none();
        }
        if self.by_verb.iter().any(|(v, _)| v == verb) {
            return false;
        }
        self.by_verb.push((verb.to_string(), id));
        true
    }

    fn get(&self, verb: &[u8]) -> Option<MethodId> {
        self.by_verb.iter().find(|(v, _)| v.as_bytes() == verb).map(|(_, id)| *id).or(self.any)
    }
}

/// All resources of an API, compiled once.
#[derive(Debug, Default)]
pub struct Router {
    root: Node,
    /// Each method's template, parsed once: the names of the parameters it captures.
    templates: HashMap<MethodId, Vec<Segment>>,
}

impl Router {
    /// Adds `verb template` as method `id`; `path` names the config field for errors.
    pub fn insert(
        &mut self,
        template: &str,
        verb: &str,
        id: MethodId,
        path: &str,
    ) -> Result<(), ConfigError> {
        if verb != "ANY" && !HTTP_METHODS.contains(&verb) {
            return Err(ConfigError::new(
                format!("{path}.http_method"),
                format!("`{verb}` is not one of ANY, {}", HTTP_METHODS.join(", ")),
            ));
        }
        let segments = parse_template(template)
            .map_err(|r| ConfigError::new(format!("{path}.resource"), r))?;
        let mut node = &mut self.root;
        let mut greedy = false;
        for segment in segments.iter().cloned() {
            node = match segment {
                Segment::Literal(text) => node.literals.entry(text).or_default(),
                Segment::Param(_) => node.param.get_or_insert_with(Box::default),
                Segment::Greedy(_) => {
                    greedy = true;
                    break;
                }
            };
        }
        let methods = if greedy {
            node.greedy.get_or_insert_with(Methods::default)
        } else {
            &mut node.methods
        };
        if methods.insert(verb, id) {
            self.templates.insert(id, segments);
            Ok(())
        } else {
            Err(ConfigError::new(path, format!("{verb} {template} is configured twice")))
        }
    }

    /// The method for `verb` on `path` (query string ignored), if any. A path with a dot
    /// segment names no resource (see [`has_dot_segment`]).
    pub fn find(&self, verb: &[u8], path: &[u8]) -> Option<MethodId> {
        let path = match path.iter().position(|&b| b == b'?') {
            Some(end) => path.get(..end).unwrap_or(path),
            None => path,
        };
        if has_dot_segment(path) {
            return None;
        }
        let path = path.strip_prefix(b"/")?;
        let path = path.strip_suffix(b"/").unwrap_or(path);
        let segments: Vec<&[u8]> =
            if path.is_empty() { Vec::new() } else { path.split(|&b| b == b'/').collect() };
        find_in(&self.root, &segments, verb)
    }
}

impl Router {
    /// The path parameters of `path` as method `id` (which [`Router::find`] found for it)
    /// captures them, in template order: one segment per `{name}`, and for a trailing greedy
    /// `{name+}` the rest of the path (without its leading `/`). Values are percent-decoded
    /// (lossily to UTF-8). Computed from the template parsed when the method was inserted, and
    /// only for a request that needs them.
    pub fn params(&self, id: MethodId, path: &[u8]) -> Vec<(String, String)> {
        let Some(segments) = self.templates.get(&id) else { return Vec::new() };
        let path = match path.iter().position(|&b| b == b'?') {
            Some(end) => path.get(..end).unwrap_or(path),
            None => path,
        };
        let path = path.strip_prefix(b"/").unwrap_or(path);
        let mut rest = path.strip_suffix(b"/").unwrap_or(path);
        let decode = |bytes: &[u8]| {
            String::from_utf8_lossy(&crate::text::percent::percent_decode(bytes)).into_owned()
        };
        let mut out = Vec::new();
        for segment in segments {
            let (first, after) = match rest.iter().position(|&b| b == b'/') {
                Some(i) => {
                    (rest.get(..i).unwrap_or_default(), rest.get(i + 1..).unwrap_or_default())
                }
                None => (rest, &[][..]),
            };
            match segment {
                Segment::Literal(_) => {}
                Segment::Param(name) => out.push((name.clone(), decode(first))),
                Segment::Greedy(name) => {
                    out.push((name.clone(), decode(rest)));
                    break;
                }
            }
            rest = after;
        }
        out
    }

    /// The names of the parameters method `id`'s template captures, in order.
    pub fn param_names(&self, id: MethodId) -> Vec<&str> {
        let segments = self.templates.get(&id).map(Vec::as_slice).unwrap_or_default();
        segments
            .iter()
            .filter_map(|s| match s {
                Segment::Literal(_) => None,
                Segment::Param(name) | Segment::Greedy(name) => Some(name.as_str()),
            })
            .collect()
    }
}

/// Whether `path` has a `.` or `..` segment, literal or percent-encoded (`%2e%2e`, `..%2f`,
/// `%252e%252e`, with `/` or a backslash as separator): an upstream that decodes and
/// normalises such a path would serve another resource than the one matched (and authorised)
/// here, so such paths match no method.
pub(crate) fn has_dot_segment(path: &[u8]) -> bool {
    let dots = |p: &[u8]| {
        p.split(|&b| b == b'/' || b == b'\\').any(|segment| segment == b"." || segment == b"..")
    };
    // Most paths have no `%`: no allocation for them.
    if dots(path) {
        return true;
    }
    let decode = crate::text::percent::percent_decode;
    let mut path = path.to_vec();
    // A few rounds of decoding (double, triple encoding); each round only shrinks the path.
    for _ in 0..3 {
        if !path.contains(&b'%') {
            return false;
        }
        path = decode(&path);
        if dots(&path) {
            return true;
        }
    }
    false
}

fn find_in(node: &Node, segments: &[&[u8]], verb: &[u8]) -> Option<MethodId> {
    let Some((first, rest)) = segments.split_first() else {
        return node.methods.get(verb);
    };
    if first.is_empty() {
        return None;
    }
    let literal = std::str::from_utf8(first).ok().and_then(|s| node.literals.get(s));
    literal
        .and_then(|child| find_in(child, rest, verb))
        .or_else(|| node.param.as_ref().and_then(|child| find_in(child, rest, verb)))
        .or_else(|| node.greedy.as_ref().and_then(|m| m.get(verb)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    fn router(methods: &[(&str, &str)]) -> Router {
        let mut r = Router::default();
        for (id, (verb, template)) in methods.iter().enumerate() {
            r.insert(template, verb, id, &format!("methods[{id}]")).unwrap();
        }
        r
    }

    #[test]
    fn matches_like_api_gateway() {
        let r = router(&[
            ("GET", "/pets"),
            ("POST", "/pets"),
            ("GET", "/pets/{petId}"),
            ("GET", "/pets/mine"),
            ("ANY", "/files/{proxy+}"),
            ("GET", "/"),
            ("DELETE", "/pets/{petId}/toys/{toyId}"),
        ]);
        let cases: &[(&str, &str, Option<MethodId>)] = &[
            ("GET", "/pets", Some(0)),
            ("GET", "/pets/", Some(0)),
            ("GET", "/pets?limit=3", Some(0)),
            ("POST", "/pets", Some(1)),
            ("PUT", "/pets", None),
            ("GET", "/pets/42", Some(2)),
            ("GET", "/pets/mine", Some(3)),
            ("POST", "/pets/42", None),
            ("GET", "/pets/42/extra", None),
            ("PATCH", "/files/a/b/c.txt", Some(4)),
            ("GET", "/files", None),
            ("GET", "/", Some(5)),
            ("GET", "", None),
            ("GET", "/nothing", None),
            ("DELETE", "/pets/1/toys/2", Some(6)),
            ("GET", "/pets//", None),
            ("get", "/pets", None),
        ];
        for (verb, path, want) in cases {
            assert_eq!(r.find(verb.as_bytes(), path.as_bytes()), *want, "{verb} {path}");
        }
    }

    #[test]
    fn literal_beats_parameter_beats_greedy_with_backtracking() {
        let r = router(&[("GET", "/a/b/c"), ("GET", "/a/{x}/d"), ("GET", "/{proxy+}")]);
        assert_eq!(r.find(b"GET", b"/a/b/c"), Some(0));
        assert_eq!(r.find(b"GET", b"/a/b/d"), Some(1));
        assert_eq!(r.find(b"GET", b"/a/b/e"), Some(2));
        assert_eq!(r.find(b"GET", b"/a/\xff/d"), Some(1));
    }

    #[test]
    fn dot_segments_match_nothing() {
        let r = router(&[("GET", "/pets/{petId}"), ("GET", "/public/{proxy+}"), ("GET", "/admin")]);
        for path in [
            "/public/../admin",
            "/public/./x",
            "/public/%2e%2e/admin",
            "/public/%2E./admin",
            "/public/..%2fadmin",
            "/public/..%5cadmin",
            "/public/..\\admin",
            "/pets/..%2f..%2fadmin",
            "/public/%252e%252e/admin",
            "/%2e%2e/admin",
            "/public/x/..",
        ] {
            assert_eq!(r.find(b"GET", path.as_bytes()), None, "{path}");
        }
        for path in ["/public/a..b", "/public/.well-known/x", "/public/...", "/pets/%2e1", "/admin"]
        {
            assert!(r.find(b"GET", path.as_bytes()).is_some(), "{path}");
        }
    }

    #[test]
    fn specific_verb_beats_any() {
        let r = router(&[("ANY", "/x"), ("GET", "/x")]);
        assert_eq!(r.find(b"GET", b"/x"), Some(1));
        assert_eq!(r.find(b"POST", b"/x"), Some(0));
    }

    #[test]
    fn bad_templates_are_refused_with_a_reason() {
        let cases = [
            ("GET", "pets", "methods[0].resource", "must start with `/`"),
            ("GET", "/a//b", "methods[0].resource", "empty path segment"),
            ("GET", "/{p+}/x", "methods[0].resource", "must be last"),
            ("GET", "/a{b}", "methods[0].resource", "mixes text"),
            ("GET", "/{}", "methods[0].resource", "not a valid parameter name"),
            ("FETCH", "/a", "methods[0].http_method", "not one of"),
        ];
        for (verb, template, path, reason) in cases {
            let err = Router::default().insert(template, verb, 0, "methods[0]").unwrap_err();
            assert_eq!(err.path, path, "{template}");
            assert!(err.reason.contains(reason), "{template}: {}", err.reason);
        }
    }

    #[test]
    fn captured_parameters_follow_the_template() {
        type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);
        let cases: &[Case] = &[
            ("/pets/{petId}", "/pets/42", &[("petId", "42")]),
            ("/pets/{petId}", "/pets/42/", &[("petId", "42")]),
            ("/pets/{petId}", "/pets/42?x=1", &[("petId", "42")]),
            ("/pets/{petId}", "/pets/a%20b%2Fc", &[("petId", "a b/c")]),
            ("/pets/{petId}", "/pets/caf%C3%A9", &[("petId", "caf\u{e9}")]),
            ("/pets/{petId}", "/pets/%FF", &[("petId", "\u{fffd}")]),
            ("/pets/{petId}", "/pets/a+b%zz", &[("petId", "a+b%zz")]),
            ("/pets/{petId}/toys/{toyId}", "/pets/1/toys/2", &[("petId", "1"), ("toyId", "2")]),
            ("/{proxy+}", "/a/b/c.txt", &[("proxy", "a/b/c.txt")]),
            ("/{proxy+}", "/a", &[("proxy", "a")]),
            ("/files/{path+}", "/files/x/y%20z/", &[("path", "x/y z")]),
            ("/files/{path+}", "/files/x//y", &[("path", "x//y")]),
            ("/{a}/{rest+}", "/1/2/3", &[("a", "1"), ("rest", "2/3")]),
            ("/pets", "/pets", &[]),
            ("/", "/", &[]),
        ];
        for (template, path, want) in cases {
            let r = router(&[("GET", template)]);
            let id = r.find(b"GET", path.as_bytes());
            assert_eq!(id, Some(0), "{template} {path}");
            let got = r.params(0, path.as_bytes());
            let want: Vec<(String, String)> =
                want.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
            assert_eq!(got, want, "{template} {path}");
            let names: Vec<&str> = want.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(r.param_names(0), names, "{template}");
        }
        for (template, path) in [
            ("/pets/{petId}", "/pets"),
            ("/pets/{petId}", "/pets/"),
            ("/pets/{petId}", "/pets/1/2"),
            ("/pets/{petId}", "/pets//"),
            ("/files/{path+}", "/files"),
            ("/files/{path+}", "/files//x"),
            ("/pets", "/pets/1"),
            ("/", "/pets"),
        ] {
            assert_eq!(router(&[("GET", template)]).find(b"GET", path.as_bytes()), None, "{path}");
        }
    }

    #[test]
    fn duplicates_are_refused() {
        let mut r = Router::default();
        r.insert("/a/{x}", "GET", 0, "methods[0]").unwrap();
        let err = r.insert("/a/{y}", "GET", 1, "methods[1]").unwrap_err();
        assert_eq!(err.path, "methods[1]");
        assert!(err.reason.contains("twice"));
    }
}
