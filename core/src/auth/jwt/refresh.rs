//! When a worker fetches an authorizer's JWK Set: at first, every `refresh_seconds` after a
//! success, after a backoff following failures, and on demand for an unknown `kid` at most once
//! per [`FORCE_INTERVAL`]. Pure state over a clock in Unix seconds; the filter does the fetch.

use std::rc::Rc;

use super::KeySet;

/// A fetch still unanswered after this long is taken as lost, and may be started again.
pub const IN_FLIGHT_TIMEOUT: i64 = 30;
/// At most one fetch forced by an unknown `kid` per this many seconds.
pub const FORCE_INTERVAL: i64 = 30;
/// The longest wait after failures, seconds.
pub const MAX_BACKOFF: i64 = 60;

#[derive(Debug, Default)]
pub struct JwksState {
    keys: Option<Rc<KeySet>>,
    fetched_at: Option<i64>,
    in_flight_since: Option<i64>,
    last_forced: Option<i64>,
    failures: u32,
    failed_at: Option<i64>,
}

impl JwksState {
    /// The last keys fetched, if any (kept through failed refreshes: served stale).
    pub fn keys(&self) -> Option<Rc<KeySet>> {
        self.keys.clone()
    }

    /// Whether a background fetch should start now: none is in flight (or it timed out), the
    /// backoff after failures is over, and there are no keys yet or they are `refresh_seconds`
    /// old.
    pub fn due(&self, now: i64, refresh_seconds: i64) -> bool {
        if self.in_flight(now) || self.backing_off(now) {
            return false;
        }
        match (&self.keys, self.fetched_at) {
            (Some(_), Some(at)) => elapsed(at, now) >= refresh_seconds,
            _ => true,
        }
    }

    /// A fetch started.
    pub fn start(&mut self, now: i64) {
        self.in_flight_since = Some(now);
    }

    pub fn finish_ok(&mut self, keys: KeySet, now: i64) {
        self.keys = Some(Rc::new(keys));
        self.fetched_at = Some(now);
        self.in_flight_since = None;
        self.failures = 0;
        self.failed_at = None;
    }

    /// A fetch failed: the old keys stay; the next try waits `min(2^failures, 60)` seconds.
    pub fn finish_err(&mut self, now: i64) {
        self.in_flight_since = None;
        self.failures = self.failures.saturating_add(1);
        self.failed_at = Some(now);
    }

    /// Whether a token with an unknown `kid` may fetch the keys now: no fetch in flight and
    /// none forced in the last [`FORCE_INTERVAL`] seconds (so bogus `kid`s cannot make a worker
    /// hammer the issuer).
    pub fn may_force_refetch(&self, now: i64) -> bool {
        !self.in_flight(now) && self.last_forced.is_none_or(|at| elapsed(at, now) >= FORCE_INTERVAL)
    }

    /// A fetch forced by an unknown `kid` started.
    pub fn force(&mut self, now: i64) {
        self.last_forced = Some(now);
        self.start(now);
    }

    /// Consecutive failed fetches.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    fn in_flight(&self, now: i64) -> bool {
        self.in_flight_since.is_some_and(|at| elapsed(at, now) < IN_FLIGHT_TIMEOUT)
    }

    fn backing_off(&self, now: i64) -> bool {
        match self.failed_at {
            Some(at) if self.failures > 0 => elapsed(at, now) < backoff(self.failures),
            _ => false,
        }
    }
}

/// Seconds to wait after `failures` failed fetches: 2, 4, 8, ... up to [`MAX_BACKOFF`].
pub fn backoff(failures: u32) -> i64 {
    1i64.checked_shl(failures).map_or(MAX_BACKOFF, |b| b.min(MAX_BACKOFF))
}

/// Seconds from `since` to `now`; a clock that went back counts as no time.
fn elapsed(since: i64, now: i64) -> i64 {
    now.saturating_sub(since).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    fn keys() -> KeySet {
        KeySet::from_jwks_json(
            br#"{"keys":[{"kty":"oct","alg":"HS256","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn first_fetch_then_every_refresh_interval() {
        let mut s = JwksState::default();
        assert!(s.keys().is_none());
        assert!(s.due(1_000, 600));
        s.start(1_000);
        assert!(!s.due(1_001, 600), "in flight");
        s.finish_ok(keys(), 1_002);
        assert_eq!(s.keys().map(|k| k.len()), Some(1));
        assert!(!s.due(1_601, 600));
        assert!(s.due(1_602, 600));
    }

    #[test]
    fn a_lost_fetch_times_out() {
        let mut s = JwksState::default();
        s.start(1_000);
        assert!(!s.due(1_029, 600));
        assert!(s.due(1_030, 600));
        assert!(!s.may_force_refetch(1_029));
        assert!(s.may_force_refetch(1_030));
    }

    #[test]
    fn failures_keep_old_keys_and_back_off() {
        let mut s = JwksState::default();
        s.start(0);
        s.finish_ok(keys(), 0);
        let mut now = 600;
        for (failures, wait) in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 60), (7, 60)] {
            assert!(s.due(now, 600));
            s.start(now);
            s.finish_err(now);
            assert_eq!(s.failures(), failures);
            assert!(s.keys().is_some(), "stale keys still serve");
            assert!(!s.due(now + wait - 1, 600), "{failures} failures wait {wait}s");
            assert!(s.due(now + wait, 600));
            now += wait;
        }
        s.start(now);
        s.finish_ok(keys(), now);
        assert_eq!(s.failures(), 0);
        assert!(!s.due(now + 1, 600));
    }

    #[test]
    fn backoff_without_keys_too() {
        let mut s = JwksState::default();
        s.start(0);
        s.finish_err(0);
        assert!(!s.due(1, 600));
        assert!(s.due(2, 600));
        assert_eq!(backoff(0), 1);
        assert_eq!(backoff(40), 60);
        assert_eq!(backoff(u32::MAX), 60);
    }

    #[test]
    fn forced_refetch_is_rate_limited() {
        let mut s = JwksState::default();
        s.start(0);
        s.finish_ok(keys(), 0);
        assert!(s.may_force_refetch(100));
        s.force(100);
        assert!(!s.may_force_refetch(101), "in flight");
        s.finish_ok(keys(), 101);
        assert!(!s.may_force_refetch(129), "once per 30 s");
        assert!(s.may_force_refetch(130));
        // A forced fetch also counts as the refresh.
        assert!(!s.due(200, 600));
    }

    #[test]
    fn a_clock_going_back_is_no_time() {
        let mut s = JwksState::default();
        s.start(1_000);
        s.finish_ok(keys(), 1_000);
        assert!(!s.due(500, 600));
        s.force(1_000);
        s.finish_ok(keys(), 1_000);
        assert!(!s.may_force_refetch(900));
    }
}
