//! Identifiers for generated code: words out of model names, operation names, resource paths and
//! parameter names, put back together as each language spells them, unique within their scope.

use std::collections::BTreeSet;

/// The words of `text`: runs of letters and digits, split at case changes (`petId` -> pet, Id;
/// `HTTPServer` -> HTTP, Server) and at everything else (`x-trace_id` -> x, trace, id).
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        let boundary = match prev {
            Some(p) if c.is_ascii_uppercase() => {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
            }
            _ => false,
        };
        if boundary && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn capitalized(word: &str) -> String {
    let lower = word.to_ascii_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// A name never starts with a digit: `2fa` -> `_2fa`.
fn no_leading_digit(name: String, fallback: &str) -> String {
    match name.chars().next() {
        None => fallback.to_string(),
        Some(c) if c.is_ascii_digit() => format!("_{name}"),
        Some(_) => name,
    }
}

/// `PetOwner`.
pub fn pascal(words: &[String]) -> String {
    no_leading_digit(words.iter().map(|w| capitalized(w)).collect(), "Value")
}

/// `petOwner`.
pub fn camel(words: &[String]) -> String {
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i == 0 {
            out.push_str(&w.to_ascii_lowercase());
        } else {
            out.push_str(&capitalized(w));
        }
    }
    no_leading_digit(out, "value")
}

/// `pet_owner`.
pub fn snake(words: &[String]) -> String {
    let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
    no_leading_digit(lower.join("_"), "value")
}

/// Whether `name` can be written bare as an identifier (or a property name) in both languages.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The names already taken in one scope; [`Scope::claim`] hands out the next free variant.
#[derive(Debug, Default)]
pub struct Scope {
    taken: BTreeSet<String>,
}

impl Scope {
    pub fn with(reserved: &[&str]) -> Scope {
        Scope { taken: reserved.iter().map(|s| s.to_string()).collect() }
    }

    /// `name`, or `name` + `suffix` when taken, or `name` + a number.
    pub fn claim(&mut self, name: &str, suffix: &str) -> String {
        let mut candidate = name.to_string();
        if self.taken.contains(&candidate) && !suffix.is_empty() {
            candidate = format!("{name}{suffix}");
        }
        let mut n = 2;
        while self.taken.contains(&candidate) {
            candidate = format!("{name}{n}");
            n += 1;
        }
        self.taken.insert(candidate.clone());
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(text: &str) -> Vec<String> {
        words(text)
    }

    #[test]
    fn words_split_at_case_changes_and_punctuation() {
        assert_eq!(w("petId"), ["pet", "Id"]);
        assert_eq!(w("HTTPServer"), ["HTTP", "Server"]);
        assert_eq!(w("x-trace_id"), ["x", "trace", "id"]);
        assert_eq!(w("/pets/{petId}"), ["pets", "pet", "Id"]);
        assert_eq!(w("{proxy+}"), ["proxy"]);
        assert_eq!(w("v2Items"), ["v2", "Items"]);
        assert_eq!(w("--"), Vec::<String>::new());
    }

    #[test]
    fn case_styles() {
        assert_eq!(pascal(&w("pet owner")), "PetOwner");
        assert_eq!(camel(&w("GET /pets/{petId}")), "getPetsPetId");
        assert_eq!(snake(&w("listPets")), "list_pets");
        assert_eq!(snake(&w("X-Trace-ID")), "x_trace_id");
        assert_eq!(camel(&w("2fa")), "_2fa");
        assert_eq!(pascal(&[]), "Value");
    }

    #[test]
    fn scopes_hand_out_free_names() {
        let mut scope = Scope::with(&["body"]);
        assert_eq!(scope.claim("petId", "Path"), "petId");
        assert_eq!(scope.claim("petId", "Query"), "petIdQuery");
        assert_eq!(scope.claim("petId", "Query"), "petId2");
        assert_eq!(scope.claim("body", ""), "body2");
        assert!(is_identifier("_a1") && !is_identifier("first-name") && !is_identifier("1a"));
    }
}
