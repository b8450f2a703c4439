//! Token-bucket maths: a bucket holds up to `burst` tokens and refills at `rate` tokens per second.
//! Tokens are counted in millionths so that fractional rates refill exactly; the state is two
//! integers, stored in shared data as 16 bytes.

const MICRO: u128 = 1_000_000;
const NANOS_PER_SEC: u128 = 1_000_000_000;

/// A bucket's limits: `rate` in millionths of a token per second, `burst` in whole tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub rate_micro: u64,
    pub burst: u64,
}

impl Limit {
    /// From a config's `rate` (requests per second, may be fractional) and `burst`.
    pub fn new(rate: f64, burst: u64) -> Self {
        let micro = (rate * 1e6).round();
        let rate_micro =
            if micro.is_finite() && micro > 0.0 { micro.min(u64::MAX as f64) as u64 } else { 0 };
        Limit { rate_micro, burst }
    }

    fn capacity(self) -> u128 {
        u128::from(self.burst) * MICRO
    }
}

/// A bucket's state: tokens (millionths) as of `at` (nanoseconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub tokens_micro: u64,
    pub at_nanos: u64,
}

impl Bucket {
    /// A new bucket starts full.
    pub fn full(limit: Limit, now: u64) -> Self {
        Bucket { tokens_micro: saturate(limit.capacity()), at_nanos: now }
    }

    /// The bucket at `now`, refilled and capped at `burst`. A clock that went backwards refills
    /// nothing and keeps the later time, so no token is minted twice.
    pub fn refilled(self, limit: Limit, now: u64) -> Self {
        if now <= self.at_nanos {
            let capped = u128::from(self.tokens_micro).min(limit.capacity());
            return Bucket { tokens_micro: saturate(capped), at_nanos: self.at_nanos };
        }
        let elapsed = u128::from(now - self.at_nanos);
        let added = elapsed * u128::from(limit.rate_micro) / NANOS_PER_SEC;
        let tokens = (u128::from(self.tokens_micro) + added).min(limit.capacity());
        Bucket { tokens_micro: saturate(tokens), at_nanos: now }
    }

    /// Takes one token at `now` if there is one.
    pub fn take(self, limit: Limit, now: u64) -> Option<Self> {
        self.take_up_to(limit, now, 1).map(|(b, _)| b)
    }

    /// Takes as many whole tokens as there are at `now`, at most `max`, at least one; returns the
    /// bucket after and how many were taken.
    pub fn take_up_to(self, limit: Limit, now: u64, max: u64) -> Option<(Self, u64)> {
        let b = self.refilled(limit, now);
        let n = b.whole_tokens().min(max);
        (n > 0).then(|| {
            let tokens = u128::from(b.tokens_micro) - u128::from(n) * MICRO;
            (Bucket { tokens_micro: saturate(tokens), ..b }, n)
        })
    }

    /// Gives `n` tokens back (taken for a request refused further on), capped at `burst`.
    pub fn give_back(self, limit: Limit, n: u64) -> Self {
        let tokens = (u128::from(self.tokens_micro) + u128::from(n) * MICRO).min(limit.capacity());
        Bucket { tokens_micro: saturate(tokens), ..self }
    }

    /// Whole tokens left.
    pub fn whole_tokens(self) -> u64 {
        self.tokens_micro / 1_000_000
    }

    /// Seconds until the bucket is full again at `rate` (rounded up).
    pub fn seconds_to_full(self, limit: Limit) -> u64 {
        let missing = limit.capacity().saturating_sub(u128::from(self.tokens_micro));
        if missing == 0 || limit.rate_micro == 0 {
            return 0;
        }
        saturate(missing.div_ceil(u128::from(limit.rate_micro)))
    }

    pub fn encode(self) -> [u8; 16] {
        super::pack(self.tokens_micro, self.at_nanos)
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (tokens_micro, at_nanos) = super::unpack(bytes)?;
        Some(Bucket { tokens_micro, at_nanos })
    }
}

fn saturate(v: u128) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    const SEC: u64 = 1_000_000_000;

    /// A small deterministic generator, so the property tests need no extra crate.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            self.0 >> 33
        }
    }

    #[test]
    fn starts_full_and_refills_at_rate() {
        let limit = Limit::new(2.0, 5);
        let mut b = Bucket::full(limit, 0);
        for _ in 0..5 {
            b = b.take(limit, 0).unwrap();
        }
        assert!(b.take(limit, 0).is_none());
        assert!(b.take(limit, SEC / 2 - 1).is_none());
        let b = b.take(limit, SEC / 2).unwrap();
        assert!(b.take(limit, SEC / 2).is_none());
        // Long idle: capped at burst.
        assert_eq!(b.refilled(limit, 100 * SEC).whole_tokens(), 5);
    }

    #[test]
    fn fractional_rate() {
        let limit = Limit::new(0.5, 1);
        let b = Bucket::full(limit, 0).take(limit, 0).unwrap();
        assert!(b.take(limit, SEC).is_none());
        assert!(b.take(limit, 2 * SEC - 1).is_none());
        assert!(b.take(limit, 2 * SEC).is_some());
    }

    #[test]
    fn clock_going_backwards_mints_nothing() {
        let limit = Limit::new(10.0, 1);
        let b = Bucket::full(limit, 10 * SEC).take(limit, 10 * SEC).unwrap();
        let back = b.refilled(limit, 5 * SEC);
        assert_eq!(back.whole_tokens(), 0);
        assert_eq!(back.at_nanos, 10 * SEC);
        assert!(b.take(limit, 10 * SEC + SEC / 10).is_some());
    }

    #[test]
    fn zero_limits_admit_nothing_and_give_back_caps() {
        let limit = Limit::new(0.0, 0);
        assert!(Bucket::full(limit, 0).take(limit, SEC).is_none());
        let limit = Limit::new(1.0, 2);
        let full = Bucket::full(limit, 0);
        assert_eq!(full.give_back(limit, 1), full);
        let (after, n) = full.take_up_to(limit, 0, 5).unwrap();
        assert_eq!((after.whole_tokens(), n), (0, 2));
        assert_eq!(after.give_back(limit, 1).whole_tokens(), 1);
        assert_eq!(Limit::new(f64::NAN, 1).rate_micro, 0);
        assert_eq!(Limit::new(-3.0, 1).rate_micro, 0);
    }

    #[test]
    fn encoding_round_trips_and_rejects_garbage() {
        let b = Bucket { tokens_micro: 123_456_789, at_nanos: u64::MAX - 7 };
        assert_eq!(Bucket::decode(&b.encode()), Some(b));
        assert_eq!(Bucket::decode(b"short"), None);
        assert_eq!(Bucket::decode(&[0u8; 17]), None);
    }

    #[test]
    fn seconds_to_full() {
        let limit = Limit::new(2.0, 10);
        let b = Bucket::full(limit, 0)
            .take(limit, 0)
            .unwrap()
            .take(limit, 0)
            .unwrap()
            .take(limit, 0)
            .unwrap();
        assert_eq!(b.seconds_to_full(limit), 2); // 3 tokens at 2/s: 1.5 s, rounded up
    }

    /// For random arrival times, admitted requests in any window [s, e] never exceed
    /// `burst + rate * (e - s)`, and with demand always there, never fall short of it by more
    /// than one token (checked from the start, when the bucket is full).
    #[test]
    fn admissions_stay_within_burst_plus_rate_times_t() {
        let mut rng = Lcg(7);
        for case in 0..60 {
            let rate = [0.5, 1.0, 3.0, 10.0, 250.0, 1000.0][case % 6];
            let burst = 1 + rng.next() % 50;
            let limit = Limit::new(rate, burst);
            let mut bucket = Bucket::full(limit, 0);
            let mut now = 0u64;
            let mut admitted = Vec::new();
            for _ in 0..3000 {
                now += rng.next() % (SEC / 200);
                if let Some(b) = bucket.take(limit, now) {
                    bucket = b;
                    admitted.push(now);
                }
            }
            let upper = |s: u64, e: u64| burst as f64 + rate * (e - s) as f64 / SEC as f64;
            let step = (admitted.len() / 40).max(1);
            for i in (0..admitted.len()).step_by(step) {
                for j in (i..admitted.len()).step_by(step) {
                    let count = (j - i + 1) as f64;
                    assert!(
                        count <= upper(admitted[i], admitted[j]) + 1e-6,
                        "case {case}: {count} in window"
                    );
                }
            }
            assert!(admitted.len() as f64 <= upper(0, now) + 1e-6, "case {case}");
        }
    }

    /// With demand always there (arrivals far denser than the rate), admissions from the start
    /// fall short of `burst + rate * t` by at most one token. (Burst >= 2: with burst 1 a full
    /// bucket caps the refill between two discrete arrivals, which is demand not being there.)
    #[test]
    fn admissions_keep_up_with_dense_demand() {
        let mut rng = Lcg(11);
        for case in 0..60 {
            let rate = [0.5, 1.0, 3.0, 10.0, 250.0, 1000.0][case % 6];
            let burst = 2 + rng.next() % 50;
            let limit = Limit::new(rate, burst);
            let max_gap = ((SEC as f64 / rate) / 20.0) as u64;
            let mut bucket = Bucket::full(limit, 0);
            let (mut now, mut admitted) = (0u64, 0u64);
            let first = 1 + rng.next() % max_gap.max(2);
            now += first;
            let mut last = now;
            while now < 20 * SEC {
                last = now;
                if let Some(b) = bucket.take(limit, now) {
                    bucket = b;
                    admitted += 1;
                }
                now += rng.next() % max_gap.max(2);
            }
            // Demand is there from the first arrival on, when the bucket is still full.
            let expected = burst as f64 + rate * (last - first) as f64 / SEC as f64;
            assert!(admitted as f64 >= expected - 1.0, "case {case}: {admitted} vs {expected}");
            assert!(admitted as f64 <= expected + 1e-6, "case {case}: {admitted} vs {expected}");
        }
    }
}
