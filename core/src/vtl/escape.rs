//! The text codecs behind `$util`: JavaScript string escaping (Commons Lang
//! `StringEscapeUtils.escapeJavaScript`), `application/x-www-form-urlencoded` (Java
//! `URLEncoder`/`URLDecoder` with UTF-8), and standard Base64.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// Escapes like Commons Lang `escapeJavaScript`: `'` `"` `\` `/` get a backslash, control
/// characters their short escape or `\u00XX`, and every non-ASCII UTF-16 unit `\uXXXX`.
/// Whether [`escape_javascript`] changes `s`.
pub(crate) fn needs_javascript_escape(s: &str) -> bool {
    s.bytes().any(|b| !(0x20..0x80).contains(&b) || matches!(b, b'\'' | b'"' | b'\\' | b'/'))
}

pub(crate) fn escape_javascript(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for unit in s.encode_utf16() {
        match unit {
            0x08 => out.push_str("\\b"),
            0x09 => out.push_str("\\t"),
            0x0a => out.push_str("\\n"),
            0x0c => out.push_str("\\f"),
            0x0d => out.push_str("\\r"),
            0x27 => out.push_str("\\'"),
            0x22 => out.push_str("\\\""),
            0x5c => out.push_str("\\\\"),
            0x2f => out.push_str("\\/"),
            u if !(0x20..0x80).contains(&u) => out.push_str(&format!("\\u{u:04X}")),
            u => out.push(char::from(u8::try_from(u).unwrap_or(b'?'))),
        }
    }
    out
}

/// Java `URLEncoder.encode(s, "UTF-8")`: space is `+`, `a-zA-Z0-9.-*_` stay, the rest `%XX`.
pub(crate) fn url_encode(s: &str) -> String {
    crate::text::percent::form_encode(s)
}

/// Java `URLDecoder.decode(s, "UTF-8")`: `+` is space, `%XX` a byte; `None` for a malformed
/// escape. Bytes that are not UTF-8 become U+FFFD.
pub(crate) fn url_decode(s: &str) -> Option<String> {
    let bytes = crate::text::percent::decode_strict(s.as_bytes(), true)?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

pub(crate) fn base64_encode(s: &str) -> String {
    STANDARD.encode(s.as_bytes())
}

/// Decodes standard Base64 (padding optional, whitespace ignored); `None` if it is not Base64.
pub(crate) fn base64_decode(s: &str) -> Option<String> {
    let lenient = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = lenient.decode(compact.as_bytes()).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    #[test]
    fn text_is_left_as_it_is_exactly_when_escaping_would_not_change_it() {
        let mut samples: Vec<String> =
            (0u8..0x80).map(|b| format!("a{}b", char::from(b))).collect();
        samples
            .extend(["", "plain text", "é", "日本", "tab\there", "😀", "\u{7f}"].map(String::from));
        for s in samples {
            assert_eq!(needs_javascript_escape(&s), escape_javascript(&s) != s, "{s:?}");
        }
    }

    #[test]
    fn escape_javascript_matches_commons_lang() {
        assert_eq!(escape_javascript(r#"He said "it's" a\b/c"#), r#"He said \"it\'s\" a\\b\/c"#);
        assert_eq!(escape_javascript("a\nb\rc\td\u{1}"), "a\\nb\\rc\\td\\u0001");
        assert_eq!(escape_javascript("é€"), "\\u00E9\\u20AC");
        assert_eq!(escape_javascript("😀"), "\\uD83D\\uDE00");
    }

    #[test]
    fn url_codec_is_form_encoding() {
        assert_eq!(url_encode("a b&c=d/é*~"), "a+b%26c%3Dd%2F%C3%A9*%7E");
        assert_eq!(url_decode("a+b%26c%3Dd%2F%C3%A9").as_deref(), Some("a b&c=d/é"));
        assert_eq!(url_decode("bad%zz"), None);
        assert_eq!(url_decode("cut%4"), None);
    }

    #[test]
    fn base64_round_trips() {
        assert_eq!(base64_encode("hello world"), "aGVsbG8gd29ybGQ=");
        assert_eq!(base64_decode("aGVsbG8gd29ybGQ=").as_deref(), Some("hello world"));
        assert_eq!(base64_decode("aGVsbG8gd29ybGQ").as_deref(), Some("hello world"));
        assert_eq!(base64_decode("not base64!"), None);
    }
}
