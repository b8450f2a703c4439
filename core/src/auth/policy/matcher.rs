//! IAM wildcard patterns: `*` matches any run of characters (`/` and `:` included), `?` exactly
//! one character. Matching is iterative, two pointers with one backtrack point (the last `*`), so
//! it takes at most O(pattern × text) steps and never recurses.

/// One element of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    Literal(char),
    /// `*`: any run of characters, the empty one included.
    Any,
    /// `?`: exactly one character.
    One,
}

/// Splits `text` into tokens. With `variables` (policy version 2012-10-17) `${*}`, `${?}` and
/// `${$}` are the literal characters; any other `${...}` is a policy variable, which Tollgate does
/// not substitute, so it is refused rather than compared as text.
pub(crate) fn tokenize(text: &str, variables: bool) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        let token = match c {
            '*' => Token::Any,
            '?' => Token::One,
            '$' if variables && chars.as_str().starts_with('{') => {
                let rest = chars.as_str();
                let Some(end) = rest.find('}') else {
                    return Err(format!(
                        "`{text}`: `${{` opens a policy variable that is not closed"
                    ));
                };
                let literal = match rest.get(1..end).unwrap_or_default() {
                    "*" => '*',
                    "?" => '?',
                    "$" => '$',
                    name => {
                        return Err(format!(
                            "`{text}`: the policy variable `${{{name}}}` is not supported \
                             (only the escapes ${{*}}, ${{?}} and ${{$}} are)"
                        ))
                    }
                };
                chars = rest.get(end + 1..).unwrap_or_default().chars();
                Token::Literal(literal)
            }
            c => Token::Literal(c),
        };
        // `**` matches what `*` matches; one backtrack point is enough.
        if !(token == Token::Any && tokens.last() == Some(&Token::Any)) {
            tokens.push(token);
        }
    }
    Ok(tokens)
}

/// The text the tokens stand for when wildcards are not special (`StringEquals`).
pub(crate) fn literal_text(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(|t| match t {
            Token::Literal(c) => *c,
            Token::Any => '*',
            Token::One => '?',
        })
        .collect()
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    form: Form,
    /// ASCII case-insensitive (actions); everything else is case-sensitive.
    fold_case: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Form {
    /// `*`.
    Anything,
    /// No wildcards: a plain comparison.
    Exact(String),
    Glob(Vec<Token>),
}

impl Pattern {
    pub fn parse(text: &str, variables: bool, fold_case: bool) -> Result<Pattern, String> {
        tokenize(text, variables).map(|tokens| Pattern::from_tokens(tokens, fold_case))
    }

    pub fn from_tokens(tokens: Vec<Token>, fold_case: bool) -> Pattern {
        let form = if tokens == [Token::Any] {
            Form::Anything
        } else if tokens.iter().all(|t| matches!(t, Token::Literal(_))) {
            Form::Exact(literal_text(&tokens))
        } else {
            Form::Glob(tokens)
        };
        Pattern { form, fold_case }
    }

    pub fn matches(&self, text: &str) -> bool {
        match &self.form {
            Form::Anything => true,
            Form::Exact(exact) if self.fold_case => exact.eq_ignore_ascii_case(text),
            Form::Exact(exact) => exact == text,
            Form::Glob(tokens) => glob(tokens, text, self.fold_case),
        }
    }
}

fn char_at(text: &str, at: usize) -> Option<char> {
    text.get(at..).and_then(|rest| rest.chars().next())
}

/// The classic wildcard match: advance through pattern and text together; at a `*` remember
/// where it stood; on a mismatch go back to just after that `*` and let it swallow one more
/// character. Positions are byte offsets, always on character boundaries.
fn glob(tokens: &[Token], text: &str, fold_case: bool) -> bool {
    let same = |a: char, b: char| if fold_case { a.eq_ignore_ascii_case(&b) } else { a == b };
    let mut p = 0;
    let mut t = 0;
    // (pattern position after the last `*`, text position that `*` has swallowed up to)
    let mut star: Option<(usize, usize)> = None;
    loop {
        let c = char_at(text, t);
        match (tokens.get(p), c) {
            (Some(Token::Any), _) => {
                p += 1;
                if p == tokens.len() {
                    return true;
                }
                star = Some((p, t));
            }
            (Some(Token::One), Some(c)) => {
                p += 1;
                t += c.len_utf8();
            }
            (Some(Token::Literal(l)), Some(c)) if same(*l, c) => {
                p += 1;
                t += c.len_utf8();
            }
            (None, None) => return true,
            _ => {
                let Some((after_star, swallowed)) = star else { return false };
                let Some(next) = char_at(text, swallowed) else { return false };
                let swallowed = swallowed + next.len_utf8();
                star = Some((after_star, swallowed));
                p = after_star;
                t = swallowed;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    const ARN: &str = "arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/GET/pets/1";

    #[test]
    fn wildcards_case_sensitive() {
        for (pattern, text, expected) in [
            ("*", ARN, true),
            ("*", "", true),
            (ARN, ARN, true),
            ("arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/GET/pets/2", ARN, false),
            ("arn:aws:execute-api:eu-west-1:123456789012:petstore/*", ARN, true),
            ("arn:aws:execute-api:*:123456789012:petstore/prod/*", ARN, true),
            ("*/GET/pets/*", ARN, true),
            ("*/POST/pets/*", ARN, false),
            ("arn:aws:execute-api:eu-west-1:123456789012:petstore/*/GET/*", ARN, true),
            ("arn:aws:execute-api:eu-west-1:*:*/prod/*/pets/?", ARN, true),
            ("arn:aws:execute-api:eu-west-1:*:*/prod/*/pets/??", ARN, false),
            ("arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/GET/pets/*", ARN, true),
            ("arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/GET/pets/1*", ARN, true),
            ("arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/GET/pets/1?", ARN, false),
            ("*:petstore/prod/get/*", ARN, false),
            ("a*b*c", "abc", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbYcZ", false),
            ("a**c", "abbbc", true),
            ("*c", "abc", true),
            ("*c", "abd", false),
            ("?", "", false),
            ("?", "é", true),
            ("??", "é", false),
            ("caf?", "café", true),
            ("*é*", "café au lait", true),
            ("*ab", "aab", true),
            ("*aab", "aaab", true),
            ("a*", "", false),
            ("", "", true),
            ("", "a", false),
        ] {
            let p = Pattern::parse(pattern, false, false).unwrap();
            assert_eq!(p.matches(text), expected, "{pattern} vs {text}");
        }
    }

    #[test]
    fn fold_case_is_ascii_case_insensitive() {
        for (pattern, text, expected) in [
            ("execute-api:Invoke", "execute-api:invoke", true),
            ("EXECUTE-API:*", "execute-api:InvalidateCache", true),
            ("execute-api:Inv*", "execute-api:InvalidateCache", true),
            ("execute-api:Inv?ke", "execute-api:INVOKE", true),
            ("execute-api:Invoke", "execute-api:InvalidateCache", false),
            ("*", "anything", true),
        ] {
            let p = Pattern::parse(pattern, false, true).unwrap();
            assert_eq!(p.matches(text), expected, "{pattern} vs {text}");
        }
    }

    #[test]
    fn pathological_patterns_stay_linear_ish() {
        let long = "a".repeat(200_000);
        let p = Pattern::parse("a*a*a*a*b", false, false).unwrap();
        assert!(!p.matches(&long));
        let p = Pattern::parse("*a*a*a*a*a*a*a*a*a*a*", false, false).unwrap();
        assert!(p.matches(&long));
        let mut with_b = long.clone();
        with_b.push('b');
        assert!(Pattern::parse("a*a*a*a*b", false, false).unwrap().matches(&with_b));
        let stars = "*".repeat(10_000) + "b";
        assert!(!Pattern::parse(&stars, false, false).unwrap().matches(&long));
    }

    #[test]
    fn policy_variable_escapes() {
        let p = Pattern::parse("arn:aws:execute-api:*:*:api/prod/GET/${*}", true, false).unwrap();
        assert!(p.matches("arn:aws:execute-api:eu-west-1:123456789012:api/prod/GET/*"));
        assert!(!p.matches("arn:aws:execute-api:eu-west-1:123456789012:api/prod/GET/x"));
        let p = Pattern::parse("a${?}b${$}", true, false).unwrap();
        assert!(p.matches("a?b$"));
        assert!(!p.matches("axb$"));
        // Without variables (2008-10-17) `${...}` is text and `*` inside it a wildcard.
        let p = Pattern::parse("${aws:username}", false, false).unwrap();
        assert!(p.matches("${aws:username}"));
        assert!(Pattern::parse("$5", true, false).unwrap().matches("$5"));

        for text in ["home/${aws:username}/*", "${aws:username", "${}"] {
            let err = Pattern::parse(text, true, false).unwrap_err();
            assert!(err.contains("policy variable"), "{err}");
        }
        assert_eq!(literal_text(&tokenize("a*${*}?", true).unwrap()), "a**?");
    }
}
