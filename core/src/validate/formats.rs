//! The `format` values asserted on strings: draft 4's (`date-time`, `email`, `hostname`, `ipv4`,
//! `ipv6`, `uri`) and `regex`, as AWS's validator asserts them, plus `date`, `time`, `uuid`,
//! `json-pointer` and `uri-reference`. Other format names are ignored, as draft 4 allows.

use std::net::{Ipv4Addr, Ipv6Addr};

use regex_lite::{Regex, RegexBuilder};

/// How large a compiled `pattern` may grow (regex-lite's own measure).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A schema's regular expression (`pattern`, `patternProperties`, `format: regex`): ECMA 262 as
/// far as regex-lite reads it (no look-around, no back-references). Unanchored, as in JSON Schema.
pub(super) fn regex(pattern: &str) -> Result<Regex, regex_lite::Error> {
    RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).build()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    DateTime,
    Date,
    Time,
    Email,
    Hostname,
    Ipv4,
    Ipv6,
    Uri,
    UriReference,
    Regex,
    Uuid,
    JsonPointer,
}

impl Format {
    /// The format a name asserts, if any.
    pub(super) fn named(name: &str) -> Option<Format> {
        Some(match name {
            "date-time" => Format::DateTime,
            "date" => Format::Date,
            "time" => Format::Time,
            "email" => Format::Email,
            "hostname" => Format::Hostname,
            "ipv4" => Format::Ipv4,
            "ipv6" => Format::Ipv6,
            "uri" => Format::Uri,
            "uri-reference" => Format::UriReference,
            "regex" => Format::Regex,
            "uuid" => Format::Uuid,
            "json-pointer" => Format::JsonPointer,
            _ => return None,
        })
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Format::DateTime => "date-time",
            Format::Date => "date",
            Format::Time => "time",
            Format::Email => "email",
            Format::Hostname => "hostname",
            Format::Ipv4 => "ipv4",
            Format::Ipv6 => "ipv6",
            Format::Uri => "uri",
            Format::UriReference => "uri-reference",
            Format::Regex => "regex",
            Format::Uuid => "uuid",
            Format::JsonPointer => "json-pointer",
        }
    }

    pub(super) fn accepts(self, s: &str) -> bool {
        match self {
            Format::DateTime => date_time(s),
            Format::Date => date(s),
            Format::Time => time(s),
            Format::Email => email(s),
            Format::Hostname => hostname(s),
            Format::Ipv4 => s.parse::<Ipv4Addr>().is_ok(),
            Format::Ipv6 => s.parse::<Ipv6Addr>().is_ok(),
            Format::Uri => uri(s, true),
            Format::UriReference => uri(s, false),
            Format::Regex => regex(s).is_ok(),
            Format::Uuid => uuid(s),
            Format::JsonPointer => json_pointer(s),
        }
    }
}

/// `n` ASCII digits at the start of `s`, as a number.
fn digits(s: &str, n: usize) -> Option<u32> {
    let head = s.get(..n)?;
    if head.len() == n && head.bytes().all(|b| b.is_ascii_digit()) {
        head.parse().ok()
    } else {
        None
    }
}

/// RFC 3339 `full-date`: `yyyy-mm-dd`, a real day.
fn date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return false;
    }
    let (Some(y), Some(m), Some(d)) = (
        digits(s, 4),
        s.get(5..).and_then(|r| digits(r, 2)),
        s.get(8..).and_then(|r| digits(r, 2)),
    ) else {
        return false;
    };
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// RFC 3339 `full-time`: `hh:mm:ss[.frac](Z|±hh:mm)`; a leap second only at 23:59 UTC.
fn time(s: &str) -> bool {
    let b = s.as_bytes();
    if b.get(2) != Some(&b':') || b.get(5) != Some(&b':') {
        return false;
    }
    let (Some(h), Some(m), Some(sec)) = (
        digits(s, 2),
        s.get(3..).and_then(|r| digits(r, 2)),
        s.get(6..).and_then(|r| digits(r, 2)),
    ) else {
        return false;
    };
    if h > 23 || m > 59 || sec > 60 {
        return false;
    }
    let Some(mut rest) = s.get(8..) else { return false };
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = frac.get(n..).unwrap_or_default();
    }
    // Minutes past midnight, UTC.
    let local = i64::from(h * 60 + m);
    let utc = if rest == "Z" || rest == "z" {
        local
    } else {
        let rb = rest.as_bytes();
        let sign = match rb.first() {
            Some(b'+') => -1,
            Some(b'-') => 1,
            _ => return false,
        };
        if rb.len() != 6 || rb.get(3) != Some(&b':') {
            return false;
        }
        let (Some(oh), Some(om)) =
            (rest.get(1..).and_then(|r| digits(r, 2)), rest.get(4..).and_then(|r| digits(r, 2)))
        else {
            return false;
        };
        if oh > 23 || om > 59 {
            return false;
        }
        (local + sign * i64::from(oh * 60 + om)).rem_euclid(24 * 60)
    };
    sec < 60 || utc == 23 * 60 + 59
}

/// RFC 3339 `date-time`.
fn date_time(s: &str) -> bool {
    match (s.get(..10), s.get(10..11), s.get(11..)) {
        (Some(d), Some("T" | "t"), Some(t)) => date(d) && time(t),
        _ => false,
    }
}

/// A host name: dot-separated labels of 1 to 63 letters, digits and hyphens, not starting or
/// ending with a hyphen; 253 characters at most (a trailing dot aside).
fn hostname(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    s.len() <= 253
        && s.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// An email address: a dot-atom or quoted local part, `@`, and a host name or an address in
/// brackets.
fn email(s: &str) -> bool {
    if s.len() > 254 {
        return false;
    }
    let Some((local, domain)) = s.rsplit_once('@') else { return false };
    if local.len() > 64 {
        return false;
    }
    let local_ok = match local.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
        Some(quoted) => !quoted.contains(['\\', '"']),
        None => {
            !local.is_empty()
                && !local.starts_with('.')
                && !local.ends_with('.')
                && !local.contains("..")
                && local
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".!#$%&'*+-/=?^_`{|}~".contains(&b))
        }
    };
    if !local_ok {
        return false;
    }
    match domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        Some(literal) => match literal.strip_prefix("IPv6:") {
            Some(v6) => v6.parse::<Ipv6Addr>().is_ok(),
            None => literal.parse::<Ipv4Addr>().is_ok(),
        },
        None => hostname(domain),
    }
}

/// `8-4-4-4-12` hex digits.
fn uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// RFC 6901: empty, or `/`-prefixed tokens where `~` is followed by `0` or `1`.
fn json_pointer(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let Some(rest) = s.strip_prefix('/') else { return false };
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return false;
        }
    }
    true
}

fn unreserved_or_sub_delim(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b)
}

/// Whether every byte is allowed by `allowed` or is part of a `%XX` escape.
fn chars_ok(s: &str, allowed: impl Fn(u8) -> bool) -> bool {
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = (bytes.next(), bytes.next());
            if !matches!(hex, (Some(h), Some(l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit())
            {
                return false;
            }
        } else if !allowed(b) {
            return false;
        }
    }
    true
}

fn pchar(b: u8) -> bool {
    unreserved_or_sub_delim(b) || b == b':' || b == b'@'
}

/// RFC 3986: a URI (`absolute`: with a scheme) or a URI reference.
fn uri(s: &str, absolute: bool) -> bool {
    let (rest, fragment) = s.split_once('#').unwrap_or((s, ""));
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let query_ok = |q: &str| chars_ok(q, |b| pchar(b) || b == b'/' || b == b'?');
    if !query_ok(fragment) || !query_ok(query) {
        return false;
    }
    let scheme_end = rest.find(':').filter(|&i| !rest.get(..i).unwrap_or_default().contains('/'));
    let hier = match scheme_end {
        Some(i) => {
            let scheme = rest.get(..i).unwrap_or_default();
            let mut bytes = scheme.bytes();
            if !bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
                || !bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            {
                return false;
            }
            rest.get(i + 1..).unwrap_or_default()
        }
        None if absolute => return false,
        None => rest,
    };
    let path = match hier.strip_prefix("//") {
        Some(after) => {
            let end = after.find('/').unwrap_or(after.len());
            let (authority, path) = after.split_at(end);
            if !authority_ok(authority) {
                return false;
            }
            path
        }
        None => hier,
    };
    chars_ok(path, |b| pchar(b) || b == b'/')
}

/// `[userinfo@]host[:port]`.
fn authority_ok(authority: &str) -> bool {
    let (userinfo, host_port) = authority.rsplit_once('@').unwrap_or(("", authority));
    if !chars_ok(userinfo, |b| unreserved_or_sub_delim(b) || b == b':') {
        return false;
    }
    let (host, port) = if let Some(literal) = host_port.strip_prefix('[') {
        let Some((inside, after)) = literal.split_once(']') else { return false };
        let ip_ok = inside.parse::<Ipv6Addr>().is_ok()
            || (inside.starts_with(['v', 'V'])
                && chars_ok(inside, |b| unreserved_or_sub_delim(b) || b == b':'));
        if !ip_ok {
            return false;
        }
        match after {
            "" => ("", ""),
            _ => match after.strip_prefix(':') {
                Some(port) => ("", port),
                None => return false,
            },
        }
    } else {
        host_port.rsplit_once(':').unwrap_or((host_port, ""))
    };
    chars_ok(host, unreserved_or_sub_delim) && port.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    #[test]
    fn dates_and_times() {
        assert!(date_time("2024-02-29T12:00:00Z"));
        assert!(date_time("2024-02-29t12:00:00.123+01:30"));
        assert!(date_time("1998-12-31T23:59:60Z"));
        assert!(date_time("1998-12-31T15:59:60-08:00"));
        assert!(!date_time("1998-12-31T22:59:60Z"));
        assert!(!date_time("2023-02-29T12:00:00Z"));
        assert!(!date_time("2024-02-29 12:00:00Z"));
        assert!(!date_time("2024-02-29T12:00:00"));
        assert!(!date_time("2024-02-29T12:00:00.Z"));
        assert!(!date_time("2024-02-29T24:00:00Z"));
        assert!(!date_time("2024-02-29T12:00:00+1:00"));
        assert!(!date_time("yesterday"));
        assert!(!date_time("2024-02-2éT12:00:00Z"));
        assert!(date("2000-02-29") && !date("1900-02-29") && !date("2024-13-01"));
        assert!(time("08:30:06Z") && !time("8:30:06Z"));
    }

    #[test]
    fn hosts_and_emails() {
        assert!(hostname("api.example.com") && hostname("example.com.") && hostname("a-1"));
        assert!(!hostname("-bad-.example") && !hostname("a..b") && !hostname("a_b"));
        assert!(!hostname(&"a".repeat(64)));
        assert!(email("rex@example.com") && email("\"rex smith\"@example.com"));
        assert!(email("rex@[192.0.2.1]") && email("rex@[IPv6:2001:db8::1]"));
        assert!(!email("rex.example.com") && !email(".rex@example.com"));
        assert!(!email("re..x@example.com") && !email("@example.com") && !email("rex@"));
    }

    #[test]
    fn uris() {
        for good in [
            "https://example.com/a?b",
            "urn:isbn:0451450523",
            "mailto:rex@example.com",
            "http://user:pw@[2001:db8::1]:8080/p%20q#frag",
            "file:///etc/hosts",
        ] {
            assert!(uri(good, true), "{good}");
        }
        for bad in ["not a uri", "/relative", "http://exa mple.com", "1http://x", "http://x/%G0"] {
            assert!(!uri(bad, true), "{bad}");
        }
        assert!(uri("/relative/path?q#f", false) && uri("", false) && !uri("a b", false));
    }

    #[test]
    fn other_formats() {
        assert!(Format::Uuid.accepts("123e4567-e89b-12d3-a456-426614174000"));
        assert!(!Format::Uuid.accepts("123e4567-e89b-12d3-a456-42661417400"));
        assert!(Format::JsonPointer.accepts("/a~1b/~0") && !Format::JsonPointer.accepts("a"));
        assert!(!Format::JsonPointer.accepts("/a~2"));
        assert!(Format::Regex.accepts("^[a-z]+$") && !Format::Regex.accepts("(unclosed"));
        assert!(Format::Ipv4.accepts("192.0.2.1") && !Format::Ipv4.accepts("192.0.2.256"));
        assert!(Format::Ipv6.accepts("::1") && !Format::Ipv6.accepts("2001:db8:::1"));
        assert_eq!(Format::named("pet-name"), None);
        assert_eq!(Format::named("uri").map(Format::name), Some("uri"));
    }
}
