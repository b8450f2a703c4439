//! Request times: `X-Amz-Date` (ISO 8601 basic, `20150830T123600Z`) and the HTTP `Date` header
//! (IMF-fixdate, `Sun, 30 Aug 2015 12:36:00 GMT`, or the ISO 8601 basic form).

use crate::text::datetime::{digits, DateTime};

/// `YYYYMMDD'T'HHMMSS'Z'` as unix seconds.
pub(crate) fn parse_amz_date(text: &[u8]) -> Option<i64> {
    let [y0, y1, y2, y3, mo0, mo1, d0, d1, b'T', h0, h1, mi0, mi1, s0, s1, b'Z'] = *text else {
        return None;
    };
    let year = digits(&[y0, y1, y2, y3])?;
    DateTime::new(
        i64::from(year),
        digits(&[mo0, mo1])?,
        digits(&[d0, d1])?,
        digits(&[h0, h1])?,
        digits(&[mi0, mi1])?,
        digits(&[s0, s1])?,
    )
    .map(|t| t.unix())
}

/// Unix seconds as `YYYYMMDD'T'HHMMSS'Z'` (the form in the string to sign and in AWS's messages).
pub fn format_amz_date(unix: i64) -> String {
    let t = DateTime::from_unix(unix);
    format!("{:04}{:02}{:02}T{:02}{:02}{:02}Z", t.year, t.month, t.day, t.hour, t.minute, t.second)
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];
const WEEKDAYS: [&[u8; 3]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];

/// IMF-fixdate (RFC 9110 section 5.6.7): `Sun, 30 Aug 2015 12:36:00 GMT`. The weekday must be a
/// weekday name but is not cross-checked against the date, as HTTP recipients do.
fn parse_imf_fixdate(text: &[u8]) -> Option<i64> {
    let [w0, w1, w2, b',', b' ', d0, d1, b' ', m0, m1, m2, b' ', y0, y1, y2, y3, b' ', h0, h1, b':', mi0, mi1, b':', s0, s1, b' ', b'G', b'M', b'T'] =
        *text
    else {
        return None;
    };
    if !WEEKDAYS.contains(&&[w0, w1, w2]) {
        return None;
    }
    let month = MONTHS.iter().position(|m| **m == [m0, m1, m2])?;
    DateTime::new(
        i64::from(digits(&[y0, y1, y2, y3])?),
        u32::try_from(month + 1).ok()?,
        digits(&[d0, d1])?,
        digits(&[h0, h1])?,
        digits(&[mi0, mi1])?,
        digits(&[s0, s1])?,
    )
    .map(|t| t.unix())
}

/// The `Date` header as unix seconds: IMF-fixdate or ISO 8601 basic.
pub(crate) fn parse_http_date(text: &[u8]) -> Option<i64> {
    parse_imf_fixdate(text).or_else(|| parse_amz_date(text))
}

/// A time window as AWS writes it in `Signature expired` messages: `5 min`, `90 sec`.
pub(crate) fn format_window(seconds: u32) -> String {
    if seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} sec")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    #[test]
    fn amz_date_round_trips() {
        assert_eq!(parse_amz_date(b"20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(format_amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(format_amz_date(0), "19700101T000000Z");
    }

    #[test]
    fn malformed_amz_dates_are_refused() {
        for bad in [
            &b"20150830T123600"[..],
            b"20150830 123600Z",
            b"2015-08-30T12:36:00Z",
            b"20151330T123600Z",
            b"20150230T123600Z",
            b"20150830T246000Z",
            b"2015083OT123600Z",
            b"20150830T123600z",
            b"",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn http_dates() {
        assert_eq!(parse_http_date(b"Sun, 30 Aug 2015 12:36:00 GMT"), Some(1_440_938_160));
        assert_eq!(parse_http_date(b"20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(parse_http_date(b"Sun, 30 Aug 2015 12:36:00 UTC"), None);
        assert_eq!(parse_http_date(b"Xyz, 30 Aug 2015 12:36:00 GMT"), None);
        assert_eq!(parse_http_date(b"Sun, 30 Foo 2015 12:36:00 GMT"), None);
        assert_eq!(parse_http_date(b"Sunday, 30-Aug-15 12:36:00 GMT"), None);
    }

    #[test]
    fn windows() {
        assert_eq!(format_window(300), "5 min");
        assert_eq!(format_window(90), "90 sec");
        assert_eq!(format_window(604_800), "10080 min");
    }
}
