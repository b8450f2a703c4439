//! Percent-encoding: as RFC 3986 and SigV4 define it (unreserved characters pass, every other
//! byte becomes `%XY` with upper-case hex), and as an HTML form (Java's `URLEncoder`: space is
//! `+`); percent-decoding, lenient (a broken escape stays literal, as SigV4 reads a query) or
//! strict.

use super::hex::{hex_digit, hex_value, UPPER_HEX};

/// RFC 3986 unreserved characters: the only ones SigV4 leaves unencoded.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Appends `bytes` URI-encoded; `/` stays as it is when `keep_slash` (paths), else it is encoded.
pub(crate) fn uri_encode_into(out: &mut String, bytes: &[u8], keep_slash: bool) {
    for &b in bytes {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(hex_digit(UPPER_HEX, b >> 4));
            out.push(hex_digit(UPPER_HEX, b));
        }
    }
}

/// `bytes` URI-encoded, `/` included (a path segment, a query key or value).
pub fn uri_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    uri_encode_into(&mut out, bytes, false);
    out
}

/// Decodes `%XY` escapes; a `%` not followed by two hex digits stays literal. `+` stays `+`
/// (SigV4 treats the query as RFC 3986, not as an HTML form).
pub(crate) fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            if let [hi, lo, after @ ..] = tail {
                if let (Some(hi), Some(lo)) = (hex_value(*hi), hex_value(*lo)) {
                    out.push(hi << 4 | lo);
                    rest = after;
                    continue;
                }
            }
        }
        out.push(b);
        rest = tail;
    }
    out
}

/// Decodes `%XY` escapes strictly: `None` for a `%` without two hex digits. With `plus_is_space`
/// (an HTML form), `+` is a space.
pub(crate) fn decode_strict(text: &[u8], plus_is_space: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some((&b, tail)) = rest.split_first() {
        match b {
            b'%' => {
                let [hi, lo, after @ ..] = tail else { return None };
                out.push(hex_value(*hi)? << 4 | hex_value(*lo)?);
                rest = after;
                continue;
            }
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        rest = tail;
    }
    Some(out)
}

/// Java `URLEncoder.encode(s, "UTF-8")`: space is `+`, `a-zA-Z0-9.-*_` stay, the rest `%XX`.
pub(crate) fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b' ' => out.push('+'),
            b if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'*' | b'_') => {
                out.push(char::from(b))
            }
            b => {
                out.push('%');
                out.push(hex_digit(UPPER_HEX, b >> 4));
                out.push(hex_digit(UPPER_HEX, b));
            }
        }
    }
    out
}

/// `name=value` pairs, each side URI-encoded.
pub(crate) fn encode_pairs(pairs: &[(String, String)]) -> Vec<String> {
    pairs
        .iter()
        .map(|(name, value)| {
            let mut pair = uri_encode(name.as_bytes());
            pair.push('=');
            uri_encode_into(&mut pair, value.as_bytes(), false);
            pair
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    #[test]
    fn encodes_everything_but_unreserved() {
        assert_eq!(uri_encode(b"AZaz09-._~"), "AZaz09-._~");
        assert_eq!(uri_encode(b"a b/c+d=e&f%"), "a%20b%2Fc%2Bd%3De%26f%25");
        assert_eq!(uri_encode("ሴ".as_bytes()), "%E1%88%B4");
        assert_eq!(uri_encode(&[0x00, 0xff]), "%00%FF");
        let mut path = String::new();
        uri_encode_into(&mut path, b"/a b/", true);
        assert_eq!(path, "/a%20b/");
    }

    #[test]
    fn decodes_valid_escapes_only() {
        assert_eq!(percent_decode(b"a%20b%2fc"), b"a b/c");
        assert_eq!(percent_decode(b"%E1%88%B4"), "ሴ".as_bytes());
        assert_eq!(percent_decode(b"100%"), b"100%");
        assert_eq!(percent_decode(b"%zz%4"), b"%zz%4");
        assert_eq!(percent_decode(b"a+b"), b"a+b");
    }

    #[test]
    fn strict_and_form_decoding() {
        assert_eq!(decode_strict(b"a%20b+c", false).unwrap(), b"a b+c");
        assert_eq!(decode_strict(b"a%20b+c", true).unwrap(), b"a b c");
        assert_eq!(decode_strict(b"bad%zz", true), None);
        assert_eq!(decode_strict(b"cut%4", true), None);
        assert_eq!(decode_strict(b"%+f", false), None, "a sign is no hex digit");
        assert_eq!(form_encode("a b&c=d/é*~"), "a+b%26c%3Dd%2F%C3%A9*%7E");
    }
}
