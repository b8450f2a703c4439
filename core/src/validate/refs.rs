//! Where a `$ref` points: a model (this one, or another by its API Gateway address, absolute or
//! relative to this model's) and a JSON pointer inside it. Nothing else resolves: draft 4's `id`
//! does not move the base address, and there are no anchors.

use super::schema::{model_name_of, model_url, MODELS_PREFIX, THIS_API};

/// A resolved `$ref`: the model's name and the pointer's tokens, unescaped.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Target {
    pub(super) model: String,
    pub(super) tokens: Vec<String>,
}

/// Resolves `reference`, found in model `model`.
pub(super) fn resolve(model: &str, reference: &str) -> Result<Target, String> {
    let (address, fragment) = reference.split_once('#').unwrap_or((reference, ""));
    let model = if address.is_empty() {
        model.to_owned()
    } else {
        let absolute = absolute(&model_url(THIS_API, model), address);
        model_name_of(&absolute).ok_or_else(|| {
            format!(
                "only other models can be referenced, as {MODELS_PREFIX}{{api}}/models/{{Name}}"
            )
        })?
    };
    Ok(Target { model, tokens: pointer_tokens(fragment)? })
}

/// The tokens of a fragment that is a JSON pointer (percent-decoded first, as a URI fragment).
fn pointer_tokens(fragment: &str) -> Result<Vec<String>, String> {
    let decoded = crate::text::percent::decode_strict(fragment.as_bytes(), false)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| fragment.to_owned());
    if decoded.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = decoded.strip_prefix('/') else {
        return Err(format!(
            "the fragment #{fragment} is not a JSON pointer (#/definitions/Name); there are no anchors"
        ));
    };
    rest.split('/').map(unescape).collect()
}

/// A JSON pointer token: `~1` is `/`, `~0` is `~`.
fn unescape(token: &str) -> Result<String, String> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        match (c, c == '~') {
            (_, false) => out.push(c),
            _ => match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return Err(format!("{token:?}: in a JSON pointer, ~ is ~0 or ~1")),
            },
        }
    }
    Ok(out)
}

/// A JSON pointer token, escaped.
pub(super) fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// `reference` resolved against `base` (RFC 3986, section 5.2, for the cases models meet).
fn absolute(base: &str, reference: &str) -> String {
    let has_scheme = reference.find(':').is_some_and(|i| {
        let scheme = reference.get(..i).unwrap_or_default();
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if has_scheme {
        return reference.to_owned();
    }
    let Some((scheme, rest)) = base.split_once("://") else { return reference.to_owned() };
    if let Some(authority_path) = reference.strip_prefix("//") {
        return format!("{scheme}://{authority_path}");
    }
    let (authority, base_path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if reference.starts_with('/') {
        reference.to_owned()
    } else {
        let dir = base_path.rsplit_once('/').map_or("", |(dir, _)| dir);
        format!("{dir}/{reference}")
    };
    format!("{scheme}://{authority}{}", remove_dot_segments(&path))
}

fn remove_dot_segments(path: &str) -> String {
    let (path, query) = path.split_at(path.find('?').unwrap_or(path.len()));
    let mut out: Vec<&str> = Vec::new();
    for segment in path.split('/').skip(1) {
        match segment {
            "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    format!("/{}{query}", out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    fn target(model: &str, tokens: &[&str]) -> Result<Target, String> {
        Ok(Target {
            model: model.to_owned(),
            tokens: tokens.iter().map(|t| t.to_string()).collect(),
        })
    }

    #[test]
    fn local_pointers() {
        assert_eq!(resolve("M", "#"), target("M", &[]));
        assert_eq!(resolve("M", ""), target("M", &[]));
        assert_eq!(resolve("M", "#/definitions/a~1b~0c"), target("M", &["definitions", "a/b~c"]));
        assert_eq!(resolve("M", "#/definitions/a%20b"), target("M", &["definitions", "a b"]));
        assert_eq!(resolve("M", "#/items/0"), target("M", &["items", "0"]));
        assert!(resolve("M", "#pet").unwrap_err().contains("not a JSON pointer"));
        assert!(resolve("M", "#/a~2").unwrap_err().contains("~0 or ~1"));
    }

    #[test]
    fn other_models() {
        let api = "https://apigateway.amazonaws.com/restapis/abc/models";
        assert_eq!(resolve("M", &format!("{api}/Pet")), target("Pet", &[]));
        assert_eq!(
            resolve("M", &format!("{api}/Pet%20Type#/definitions/x")),
            target("Pet Type", &["definitions", "x"])
        );
        assert_eq!(resolve("M", "Pet"), target("Pet", &[]));
        assert_eq!(resolve("M", "./Pet#/a"), target("Pet", &["a"]));
        assert_eq!(resolve("M", "../../other/models/Pet"), target("Pet", &[]));
        assert_eq!(resolve("M", "/restapis/x/models/Pet"), target("Pet", &[]));
        assert_eq!(
            resolve("M", "//apigateway.amazonaws.com/restapis/x/models/Pet"),
            target("Pet", &[])
        );
        for remote in [
            "https://example.com/schema.json",
            "file:///etc/passwd",
            "urn:pets:pet",
            "../Pet",
            "/x",
        ] {
            assert!(resolve("M", remote).unwrap_err().contains("only other models"), "{remote}");
        }
    }
}
