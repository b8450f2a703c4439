//! Hex digits: lower-case hex out (hashes, signatures, key hashes), either case in, and nothing
//! else (no sign, no space: `u8::from_str_radix` would take `+f`).

pub(crate) const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";
const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";

pub(crate) fn hex_digit(table: &[u8; 16], nibble: u8) -> char {
    char::from(table.get(usize::from(nibble & 0x0f)).copied().unwrap_or(b'0'))
}

pub(crate) fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Lower-case hex, as SigV4 writes hashes and signatures and configs write key hashes.
pub fn hex(bytes: &[u8]) -> String {
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
    fn hex_round_trip() {
        let bytes: Vec<u8> = (0..32).map(|i| i * 7).collect();
        let text = hex(&bytes);
        assert_eq!(text.len(), 64);
        assert_eq!(decode_hex32(text.as_bytes()).unwrap().as_slice(), bytes.as_slice());
        assert_eq!(decode_hex32(text.to_uppercase().as_bytes()).unwrap().as_slice(), &bytes[..]);
        assert_eq!(decode_hex32(&text.as_bytes()[..62]), None);
        assert_eq!(decode_hex32(&[b'g'; 64]), None);
        let signed = format!("+f{}", &text[2..]);
        assert_eq!(decode_hex32(signed.as_bytes()), None, "a sign is no hex digit");
    }
}
