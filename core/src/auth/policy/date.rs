//! Values of the `Date*` condition operators, as milliseconds since the epoch: ISO 8601
//! (`2026-11-25T12:00:00Z`, `2026-11-25T12:00:00.250+01:00`, `2026-11-25` for midnight UTC) or
//! epoch seconds, as a JSON number or a string of digits.

use super::document::ConditionValue;
use crate::text::datetime::{digits, DateTime};

const EXPECTED: &str =
    "expected an ISO 8601 date (2026-11-25T12:00:00Z or 2026-11-25) or epoch seconds";

pub(crate) fn parse_time(value: &ConditionValue) -> Result<i64, String> {
    let seconds = match value {
        ConditionValue::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("`{n}`: epoch seconds must be a whole number in range"))?,
        ConditionValue::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().map_err(|_| format!("`{s}`: epoch seconds out of range"))?
        }
        ConditionValue::String(s) => {
            return parse_iso8601(s).ok_or_else(|| format!("`{s}`: {EXPECTED}"));
        }
        ConditionValue::Bool(b) => return Err(format!("`{b}`: {EXPECTED}")),
    };
    seconds.checked_mul(1000).ok_or_else(|| format!("`{value}`: epoch seconds out of range"))
}

/// `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, as epoch milliseconds. A time
/// without a zone is refused: guessing UTC could shift a deadline by hours.
fn parse_iso8601(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let [y0, y1, y2, y3, b'-', mo0, mo1, b'-', d0, d1, ref rest @ ..] = *bytes else {
        return None;
    };
    let year = i64::from(digits(&[y0, y1, y2, y3])?);
    let (month, day) = (digits(&[mo0, mo1])?, digits(&[d0, d1])?);
    if rest.is_empty() {
        return DateTime::new(year, month, day, 0, 0, 0).map(|t| t.unix() * 1000);
    }
    let [b'T', h0, h1, b':', mi0, mi1, b':', s0, s1, ref rest @ ..] = *rest else {
        return None;
    };
    let local = DateTime::new(
        year,
        month,
        day,
        digits(&[h0, h1])?,
        digits(&[mi0, mi1])?,
        digits(&[s0, s1])?,
    )?;
    let (millis, zone) = fraction(rest)?;
    let offset = match *zone {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h0, h1, b':', m0, m1] => {
            let (hours, minutes) = (digits(&[h0, h1])?, digits(&[m0, m1])?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = i64::from(hours * 3600 + minutes * 60);
            if sign == b'+' {
                offset
            } else {
                -offset
            }
        }
        _ => return None,
    };
    Some((local.unix() - offset) * 1000 + millis)
}

/// An optional `.digits` (one to nine; milliseconds kept, the rest dropped) and what follows.
fn fraction(text: &[u8]) -> Option<(i64, &[u8])> {
    let Some((b'.', after_dot)) = text.split_first() else {
        return Some((0, text));
    };
    let len = after_dot.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 || len > 9 {
        return None;
    }
    let (fraction, rest) = after_dot.split_at_checked(len)?;
    let millis = fraction.iter().chain(b"00").take(3).fold(0, |n, b| n * 10 + i64::from(b - b'0'));
    Some((millis, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    fn string(s: &str) -> ConditionValue {
        ConditionValue::String(s.to_owned())
    }

    #[test]
    fn accepted_forms() {
        // 2026-11-25T12:00:00Z
        let noon = 1_795_608_000_000;
        for (value, expected) in [
            (string("2026-11-25T12:00:00Z"), noon),
            (string("2026-11-25T13:30:00+01:30"), noon),
            (string("2026-11-25T07:00:00-05:00"), noon),
            (string("2026-11-25T12:00:00.250Z"), noon + 250),
            (string("2026-11-25T12:00:00.5Z"), noon + 500),
            (string("2026-11-25T12:00:00.123456789Z"), noon + 123),
            (string("2026-11-25"), noon - 12 * 3_600_000),
            (string("1795608000"), noon),
            (ConditionValue::Number(1_795_608_000.into()), noon),
            (string("0"), 0),
            (string("1970-01-01T00:00:00Z"), 0),
            (string("2024-02-29"), 1_709_164_800_000),
        ] {
            assert_eq!(parse_time(&value), Ok(expected), "{value}");
        }
    }

    #[test]
    fn refused_forms() {
        for value in [
            string(""),
            string("2026-11-25T12:00:00"),
            string("2026-11-25 12:00:00Z"),
            string("2026-11-25T12:00Z"),
            string("2026-13-01"),
            string("2025-02-29"),
            string("2026-11-25T24:00:00Z"),
            string("2026-11-25T12:00:60Z"),
            string("2026-11-25T12:00:00+24:00"),
            string("2026-11-25T12:00:00+0100"),
            string("2026-11-25T12:00:00.Z"),
            string("2026-11-25T12:00:00.1234567890Z"),
            string("2026-11-25TZ"),
            string("26-11-25"),
            string("-1"),
            string("1.5"),
            string("99999999999999999999"),
            string("9999999999999999"),
            string("tomorrow"),
            ConditionValue::Number(serde_json::Number::from_f64(1.5).unwrap()),
            ConditionValue::Number(u64::MAX.into()),
            ConditionValue::Number(i64::MAX.into()),
            ConditionValue::Bool(true),
        ] {
            assert!(parse_time(&value).is_err(), "{value} should be refused");
        }
    }
}
