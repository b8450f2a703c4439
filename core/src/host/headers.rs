//! A request's headers as the host hands them over: proxy-wasm's serialized header map, read in
//! place. Copying every name and value into its own allocation (what the SDK's `get_map_bytes`
//! does) costs about as much as a second host call, on every request, for headers the pipeline
//! mostly never looks at.
//!
//! The serialized form: the number of pairs (u32, little-endian); for each pair the name's and
//! the value's lengths (u32 each); then each name and each value followed by a NUL byte.

/// Where one pair's name and value lie in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    name: (usize, usize),
    value: (usize, usize),
}

/// Every request header in order (names lowercase, pseudo-headers included), repeated headers
/// as separate entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderList {
    buf: Vec<u8>,
    spans: Vec<Span>,
}

fn read_u32(buf: &[u8], at: usize) -> Option<usize> {
    let bytes: [u8; 4] = buf.get(at..at.checked_add(4)?)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(bytes)).ok()
}

impl HeaderList {
    /// Reads a serialized header map; `None` when it is malformed (lengths past its end, a
    /// missing NUL). A pair whose name is not UTF-8 is left out: no name Tollgate looks up can
    /// match it, and what is signed or passed on then lacks it (which fails closed).
    pub fn from_serialized(buf: Vec<u8>) -> Option<HeaderList> {
        if buf.is_empty() {
            return Some(HeaderList::default());
        }
        let count = read_u32(&buf, 0)?;
        // Each pair takes at least 10 bytes (two lengths, two NULs): a count past that is a lie.
        if count > buf.len() / 10 {
            return None;
        }
        let mut spans = Vec::with_capacity(count);
        let mut data = 4usize.checked_add(count.checked_mul(8)?)?;
        for i in 0..count {
            let name_len = read_u32(&buf, 4 + i * 8)?;
            let value_len = read_u32(&buf, 8 + i * 8)?;
            let name = (data, data.checked_add(name_len)?);
            let value_start = name.1.checked_add(1)?;
            let value = (value_start, value_start.checked_add(value_len)?);
            if buf.get(name.1) != Some(&0) || buf.get(value.1) != Some(&0) {
                return None;
            }
            data = value.1 + 1;
            let name_ok = buf.get(name.0..name.1).is_some_and(|n| std::str::from_utf8(n).is_ok());
            if name_ok {
                spans.push(Span { name, value });
            }
        }
        Some(HeaderList { buf, spans })
    }

    /// The serialized form of `pairs` (for hosts that hold headers as pairs, and tests).
    pub fn from_pairs<N: AsRef<str>, V: AsRef<[u8]>>(pairs: &[(N, V)]) -> HeaderList {
        let mut buf = Vec::new();
        buf.extend_from_slice(&u32_le(pairs.len()));
        for (n, v) in pairs {
            buf.extend_from_slice(&u32_le(n.as_ref().len()));
            buf.extend_from_slice(&u32_le(v.as_ref().len()));
        }
        for (n, v) in pairs {
            buf.extend_from_slice(n.as_ref().as_bytes());
            buf.push(0);
            buf.extend_from_slice(v.as_ref());
            buf.push(0);
        }
        HeaderList::from_serialized(buf).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.spans.iter().filter_map(|s| {
            let name = std::str::from_utf8(self.buf.get(s.name.0..s.name.1)?).ok()?;
            Some((name, self.buf.get(s.value.0..s.value.1)?))
        })
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.spans.iter().find(|s| self.is(s, name)).and_then(|s| self.value(s))
    }

    /// The value of `name` when the request carries it exactly once.
    pub fn single(&self, name: &str) -> Option<&[u8]> {
        let mut found = self.spans.iter().filter(|s| self.is(s, name));
        match (found.next(), found.next()) {
            (Some(s), None) => self.value(s),
            _ => None,
        }
    }

    /// Whether the pair is named `name` (compared as bytes: no UTF-8 check per lookup).
    fn is(&self, s: &Span, name: &str) -> bool {
        self.buf.get(s.name.0..s.name.1) == Some(name.as_bytes())
    }

    fn value(&self, s: &Span) -> Option<&[u8]> {
        self.buf.get(s.value.0..s.value.1)
    }

    /// Owned copies of the pairs, for the steps that keep or sign them.
    pub fn to_pairs(&self) -> Vec<(String, Vec<u8>)> {
        self.iter().map(|(n, v)| (n.to_owned(), v.to_vec())).collect()
    }
}

fn u32_le(n: usize) -> [u8; 4] {
    u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::HeaderList;
    use crate::test_support::test;

    #[test]
    fn reads_pairs_in_order_with_repeats_and_empty_values() {
        let pairs =
            [(":path", &b"/pets"[..]), ("x-api-key", b"a"), ("x-api-key", b"b"), ("e", b"")];
        let list = HeaderList::from_pairs(&pairs);
        let read: Vec<(&str, &[u8])> = list.iter().collect();
        assert_eq!(read, pairs.to_vec());
        assert_eq!(list.get("x-api-key"), Some(&b"a"[..]));
        assert_eq!(list.get("e"), Some(&b""[..]));
        assert_eq!(list.get("missing"), None);
        assert_eq!(list.single("x-api-key"), None, "repeated");
        assert_eq!(list.single(":path"), Some(&b"/pets"[..]));
        assert_eq!(list.single("missing"), None);
        assert_eq!(list.len(), 4);
        assert_eq!(list.to_pairs()[1], ("x-api-key".to_owned(), b"a".to_vec()));
    }

    #[test]
    fn an_empty_buffer_is_no_headers() {
        assert!(HeaderList::from_serialized(Vec::new()).is_some_and(|l| l.is_empty()));
        assert!(HeaderList::from_pairs::<&str, &[u8]>(&[]).is_empty());
    }

    #[test]
    fn a_non_utf8_name_is_left_out() {
        let mut buf = HeaderList::from_pairs(&[("ab", &b"1"[..]), ("ok", b"2")]).buf;
        // The first name's bytes start after the count and two length pairs.
        buf[4 + 16] = 0xff;
        let list = HeaderList::from_serialized(buf).expect("well-formed");
        assert_eq!(list.iter().collect::<Vec<_>>(), vec![("ok", &b"2"[..])]);
    }

    #[test]
    fn malformed_buffers_are_refused_not_read_past() {
        let good = HeaderList::from_pairs(&[("name", &b"value"[..])]).buf;
        for cut in 1..good.len() {
            assert_eq!(HeaderList::from_serialized(good[..cut].to_vec()), None, "cut at {cut}");
        }
        let mut no_nul = good.clone();
        let last = no_nul.len() - 1;
        no_nul[last] = b'x';
        assert_eq!(HeaderList::from_serialized(no_nul), None);
        let mut huge = good.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(HeaderList::from_serialized(huge), None);
        let mut long_name = good;
        long_name[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(HeaderList::from_serialized(long_name), None);
    }
}
