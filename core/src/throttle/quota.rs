//! Quota windows (DAY, WEEK, MONTH with AWS's offset, in UTC) and the counter kept per
//! (usage plan, API key): the window it counts and the requests used in it. One shared-data key
//! per counter, whatever the window: a new window resets the count in place.

const DAY: u64 = 86_400;

pub use crate::config::Period;

/// Start of the window containing `now`, and the start of the next one (seconds since epoch).
pub fn window(period: Period, offset: u32, now_secs: u64) -> (u64, u64) {
    let day = now_secs / DAY;
    let offset = u64::from(offset.min(period.max_offset()));
    match period {
        Period::Day => (day * DAY, (day + 1) * DAY),
        Period::Week => {
            // 1970-01-01 was a Thursday: weekday 4 with Sunday as 0.
            let weekday = (day + 4) % 7;
            let back = (weekday + 7 - offset) % 7;
            let start = day.saturating_sub(back);
            (start * DAY, (start + 7) * DAY)
        }
        Period::Month => {
            let (y, m, d) = civil_from_days(day);
            let (sy, sm) = if d > offset { (y, m) } else { previous_month(y, m) };
            let start = days_from_civil(sy, sm, 1 + offset);
            let (ny, nm) = next_month(sy, sm);
            (start * DAY, days_from_civil(ny, nm, 1 + offset) * DAY)
        }
    }
}

fn previous_month(y: i64, m: u64) -> (i64, u64) {
    if m == 1 {
        (y - 1, 12)
    } else {
        (y, m - 1)
    }
}

fn next_month(y: i64, m: u64) -> (i64, u64) {
    if m == 12 {
        (y + 1, 1)
    } else {
        (y, m + 1)
    }
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), proleptic Gregorian (the calendar of
/// [`crate::text::datetime`], in the unsigned days quotas count).
pub(crate) fn civil_from_days(days: u64) -> (i64, u64, u64) {
    let days = i64::try_from(days).unwrap_or(i64::MAX);
    let (y, m, d) = crate::text::datetime::civil_from_days(days);
    (y, u64::from(m), u64::from(d))
}

fn days_from_civil(y: i64, m: u64, d: u64) -> u64 {
    let (m, d) = (u32::try_from(m).unwrap_or(12), u32::try_from(d).unwrap_or(31));
    u64::try_from(crate::text::datetime::days_from_civil(y, m, d)).unwrap_or(0)
}

/// Requests used in the window that starts at `window_start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub window_start: u64,
    pub used: u64,
}

impl Counter {
    /// The counter as seen at `window_start` (a new window starts from zero).
    pub fn in_window(self, window_start: u64) -> Self {
        if self.window_start == window_start {
            self
        } else {
            Counter { window_start, used: 0 }
        }
    }

    pub fn encode(self) -> [u8; 16] {
        super::pack(self.window_start, self.used)
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (window_start, used) = super::unpack(bytes)?;
        Some(Counter { window_start, used })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    /// Seconds since the epoch for a UTC date and time.
    fn at(y: i64, m: u64, d: u64, hh: u64, mm: u64) -> u64 {
        days_from_civil(y, m, d) * DAY + hh * 3600 + mm * 60
    }

    #[test]
    fn civil_conversions_round_trip() {
        for day in (0..200_000).step_by(13) {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
    }

    #[test]
    fn day_windows_roll_at_utc_midnight() {
        let (s, e) = window(Period::Day, 0, at(2026, 11, 25, 23, 59));
        assert_eq!((s, e), (at(2026, 11, 25, 0, 0), at(2026, 11, 26, 0, 0)));
        assert_eq!(window(Period::Day, 0, e).0, e);
    }

    #[test]
    fn week_windows_honour_the_offset() {
        // 2026-11-25 is a Wednesday.
        let now = at(2026, 11, 25, 12, 0);
        assert_eq!(window(Period::Week, 0, now).0, at(2026, 11, 22, 0, 0)); // Sunday
        assert_eq!(window(Period::Week, 1, now).0, at(2026, 11, 23, 0, 0)); // Monday
        assert_eq!(window(Period::Week, 3, now).0, at(2026, 11, 25, 0, 0)); // Wednesday: today
        assert_eq!(window(Period::Week, 4, now).0, at(2026, 11, 19, 0, 0)); // Thursday: last week
        let (s, e) = window(Period::Week, 1, at(2026, 11, 30, 0, 0));
        assert_eq!((s, e), (at(2026, 11, 30, 0, 0), at(2026, 12, 7, 0, 0)));
        assert_eq!(window(Period::Week, 1, at(2026, 11, 29, 23, 59)).0, at(2026, 11, 23, 0, 0));
    }

    #[test]
    fn month_windows_honour_offset_and_month_lengths() {
        assert_eq!(
            window(Period::Month, 0, at(2026, 2, 28, 23, 0)),
            (at(2026, 2, 1, 0, 0), at(2026, 3, 1, 0, 0))
        );
        assert_eq!(
            window(Period::Month, 0, at(2024, 2, 29, 12, 0)),
            (at(2024, 2, 1, 0, 0), at(2024, 3, 1, 0, 0))
        );
        // Offset 14: windows start on the 15th.
        assert_eq!(
            window(Period::Month, 14, at(2026, 1, 14, 23, 59)),
            (at(2025, 12, 15, 0, 0), at(2026, 1, 15, 0, 0))
        );
        assert_eq!(window(Period::Month, 14, at(2026, 1, 15, 0, 0)).0, at(2026, 1, 15, 0, 0));
        // Offset 27 (the 28th) exists in every month, February of a leap year included.
        assert_eq!(
            window(Period::Month, 27, at(2024, 3, 1, 0, 0)),
            (at(2024, 2, 28, 0, 0), at(2024, 3, 28, 0, 0))
        );
        assert_eq!(window(Period::Month, 0, at(2026, 12, 31, 23, 59)).1, at(2027, 1, 1, 0, 0));
    }

    #[test]
    fn counter_resets_in_a_new_window_and_round_trips() {
        let c = Counter { window_start: 100, used: 5 };
        assert_eq!(c.in_window(100), c);
        assert_eq!(c.in_window(200), Counter { window_start: 200, used: 0 });
        assert_eq!(Counter::decode(&c.encode()), Some(c));
        assert_eq!(Counter::decode(b"x"), None);
    }
}
