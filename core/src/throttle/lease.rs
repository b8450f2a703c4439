//! Per-worker leases of tokens and quota units. A worker takes a small batch from a shared bucket
//! or quota counter in one compare-and-swap and spends it locally, so busy keys do not pay a
//! shared-data round trip per request. Leased units are already taken from the shared state, so
//! admissions never exceed the limits; what a worker holds unspent (at most one lease per bucket
//! per worker) is what the others may miss. Lease sizes are chosen in [`super::Limits`] so that
//! this stays within 1% of a limit, and is 1 (no batching) for small limits.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use rustc_hash::FxHasher;

/// How long leased bucket tokens stay usable: a worker cannot sit on tokens and spend them later
/// as an extra burst.
pub const BUCKET_LEASE_NANOS: u64 = 1_000_000_000;
/// Bound on leases one worker holds; past it the expired ones go, then all.
pub const MAX_LEASES: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// Units left to spend locally.
    pub units: u64,
    /// Usable until then (nanoseconds since the epoch).
    pub until_nanos: u64,
    /// The quota window the units belong to (0 for buckets).
    pub window: u64,
    /// What the shared state had left right after the lease was taken, for `RateLimit-*`.
    pub shared_left: u64,
    /// Seconds until reset as seen when the lease was taken.
    pub reset_secs: u64,
}

/// One worker's leases, kept by the filter across requests (never in a static).
#[derive(Debug, Default)]
pub struct Leases {
    held: HashMap<String, Lease, BuildHasherDefault<FxHasher>>,
}

impl Leases {
    /// Units usable for `key` at `now` in `window`.
    pub fn units(&self, key: &str, now_nanos: u64, window: u64) -> u64 {
        match self.held.get(key) {
            Some(l) if l.until_nanos > now_nanos && l.window == window => l.units,
            _ => 0,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Lease> {
        self.held.get(key)
    }

    /// Adds freshly leased units (what was left of an old lease is spent first, then dropped).
    pub fn add(&mut self, key: &str, lease: Lease, now_nanos: u64) {
        if self.held.len() >= MAX_LEASES && !self.held.contains_key(key) {
            self.held.retain(|_, l| l.until_nanos > now_nanos && l.units > 0);
            if self.held.len() >= MAX_LEASES {
                self.held.clear();
            }
        }
        let units = lease.units + self.units(key, now_nanos, lease.window);
        self.held.insert(key.to_string(), Lease { units, ..lease });
    }

    /// Spends one unit of `key` (the caller checked [`Leases::units`]).
    pub fn spend(&mut self, key: &str) {
        if let Some(l) = self.held.get_mut(key) {
            l.units = l.units.saturating_sub(1);
        }
    }

    pub fn clear(&mut self) {
        self.held.clear();
    }

    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    fn lease(units: u64, until_nanos: u64, window: u64) -> Lease {
        Lease { units, until_nanos, window, shared_left: 0, reset_secs: 0 }
    }

    #[test]
    fn units_expire_and_belong_to_their_window() {
        let mut l = Leases::default();
        l.add("k", lease(3, 100, 7), 0);
        assert_eq!(l.units("k", 99, 7), 3);
        assert_eq!(l.units("k", 100, 7), 0, "expired");
        assert_eq!(l.units("k", 50, 8), 0, "other window");
        l.spend("k");
        assert_eq!(l.units("k", 0, 7), 2);
        l.add("k", lease(2, 200, 7), 60);
        assert_eq!(l.units("k", 150, 7), 4, "unspent units carry over");
        l.add("k", lease(1, 300, 8), 160);
        assert_eq!(l.units("k", 160, 8), 1, "a new window drops the old units");
    }

    #[test]
    fn bounded() {
        let mut l = Leases::default();
        for i in 0..MAX_LEASES + 5 {
            l.add(&format!("k{i}"), lease(1, 10, 0), 0);
        }
        assert!(l.len() <= MAX_LEASES);
    }
}
