//! Percent-encoding as SigV4 defines it (RFC 3986 unreserved characters pass, every other byte
//! becomes `%XY` with upper-case hex), percent-decoding, and hex.

/// RFC 3986 unreserved characters: the only ones SigV4 leaves unencoded.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";
const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_digit(table: &[u8; 16], nibble: u8) -> char {
    char::from(table.get(usize::from(nibble & 0x0f)).copied().unwrap_or(b'0'))
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

pub(crate) fn uri_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    uri_encode_into(&mut out, bytes, false);
    out
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
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

/// Lower-case hex, as SigV4 writes hashes and signatures.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(hex_digit(LOWER_HEX, b >> 4));
        out.push(hex_digit(LOWER_HEX, b));
    }
    out
}

/// 64 hex digits (either case) as 32 bytes.
pub(crate) fn decode_hex32(text: &[u8]) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let [hi, lo] = pair else { return None };
        *byte = hex_value(*hi)? << 4 | hex_value(*lo)?;
    }
    Some(out)
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
    fn hex_round_trip() {
        let bytes: Vec<u8> = (0..32).map(|i| i * 7).collect();
        let text = hex(&bytes);
        assert_eq!(text.len(), 64);
        assert_eq!(decode_hex32(text.as_bytes()).unwrap().as_slice(), bytes.as_slice());
        assert_eq!(decode_hex32(text.to_uppercase().as_bytes()).unwrap().as_slice(), &bytes[..]);
        assert_eq!(decode_hex32(&text.as_bytes()[..62]), None);
        assert_eq!(decode_hex32(&[b'g'; 64]), None);
    }
}
