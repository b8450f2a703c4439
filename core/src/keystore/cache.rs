//! One worker's cache of key-store records: what it looked up (known and unknown keys, each
//! with its own lifetime), the change feed's version, and when the store last answered, which
//! decides whether cached records may serve (see [`crate::config::KeyStoreFailureMode`]).

use std::collections::HashMap;
use std::rc::Rc;

use super::{ChangesResponse, StoredKey};
use crate::apikey::KeyHash;
use crate::config::{KeyStore, KeyStoreFailureMode};

const MILLI: u64 = 1_000_000;

#[derive(Debug, Clone)]
struct Entry {
    /// `None`: the store has no such key.
    record: Option<Rc<StoredKey>>,
    fetched_nanos: u64,
}

/// What the cache says about a presented key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cached {
    /// Known to the store (`Some`) or known not to be (`None`).
    Hit(Option<Rc<StoredKey>>),
    /// Ask the store.
    Miss,
}

#[derive(Debug, Default)]
pub struct StoreCache {
    entries: HashMap<KeyHash, Entry>,
    /// The change feed's version this worker has applied (0: none yet), in this epoch.
    version: u64,
    epoch: String,
    /// When the store last answered (a lookup or the change feed); 0: never.
    answered_nanos: u64,
    /// When the last change-feed call was sent, and whether it is still out.
    polled_nanos: u64,
    polling: bool,
}

impl StoreCache {
    /// The cached record of `hash`, if it may serve at `now`.
    pub fn get(&self, store: &KeyStore, hash: &KeyHash, now_nanos: u64) -> Cached {
        let Some(entry) = self.entries.get(hash) else { return Cached::Miss };
        let ttl = if entry.record.is_some() { store.ttl_ms } else { store.negative_ttl_ms };
        let age = now_nanos.saturating_sub(entry.fetched_nanos);
        let silent = now_nanos.saturating_sub(self.answered_nanos);
        let usable = match store.failure_mode {
            // The feed keeps the cache honest: once it has been silent for three polls, a
            // disabled key could still be cached, so every key goes back to the store.
            KeyStoreFailureMode::Closed => {
                age < ttl.saturating_mul(MILLI) && silent < feed_grace_nanos(store)
            }
            KeyStoreFailureMode::Stale => {
                let fresh = age < ttl.saturating_mul(MILLI) && silent < feed_grace_nanos(store);
                fresh || silent < store.stale_ms.saturating_mul(MILLI)
            }
        };
        if usable {
            Cached::Hit(entry.record.clone())
        } else {
            Cached::Miss
        }
    }

    /// The store answered a lookup of `hash`.
    pub fn insert(
        &mut self,
        store: &KeyStore,
        hash: KeyHash,
        record: Option<Rc<StoredKey>>,
        now_nanos: u64,
    ) {
        self.answered_nanos = now_nanos;
        if self.entries.len() >= store.max_cached && !self.entries.contains_key(&hash) {
            let (ttl, negative) = (store.ttl_ms * MILLI, store.negative_ttl_ms * MILLI);
            self.entries.retain(|_, e| {
                let lifetime = if e.record.is_some() { ttl } else { negative };
                now_nanos.saturating_sub(e.fetched_nanos) < lifetime
            });
            if self.entries.len() >= store.max_cached {
                // Still full of live records: drop an eighth (the map's order is arbitrary).
                let drop: Vec<KeyHash> =
                    self.entries.keys().take(store.max_cached / 8 + 1).copied().collect();
                for h in drop {
                    self.entries.remove(&h);
                }
            }
        }
        self.entries.insert(hash, Entry { record, fetched_nanos: now_nanos });
    }

    /// Whether a change-feed call is due at `now`; if so it counts as sent.
    pub fn poll_due(&mut self, store: &KeyStore, now_nanos: u64) -> Option<super::ChangesRequest> {
        let interval = store.poll_ms.saturating_mul(MILLI);
        // A call that never came back (lost) is given up after a timeout and a poll.
        let lost = interval + u64::from(store.timeout_ms) * MILLI;
        let waited = now_nanos.saturating_sub(self.polled_nanos);
        if (self.polling && waited < lost) || (!self.polling && waited < interval) {
            return None;
        }
        self.polling = true;
        self.polled_nanos = now_nanos;
        Some(super::ChangesRequest { since: self.version })
    }

    /// The change feed answered (`None`: the call failed).
    pub fn on_changes(&mut self, answer: Option<ChangesResponse>, now_nanos: u64) {
        self.polling = false;
        let Some(answer) = answer else { return };
        self.answered_nanos = now_nanos;
        let emptied = !self.epoch.is_empty() && answer.epoch != self.epoch;
        if answer.reset || emptied {
            self.entries.clear();
        } else {
            for hash in &answer.changed {
                if let Ok(hash) = <KeyHash>::try_from(hash.as_slice()) {
                    self.entries.remove(&hash);
                }
            }
        }
        self.version = answer.version;
        self.epoch = answer.epoch;
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The change feed's version applied.
    pub fn version(&self) -> u64 {
        self.version
    }
}

/// How long the change feed may stay silent before cached keys stop serving (`CLOSED`): three
/// polls, and at least two timeouts.
fn feed_grace_nanos(store: &KeyStore) -> u64 {
    let polls = store.poll_ms.saturating_mul(3);
    let timeouts = u64::from(store.timeout_ms).saturating_mul(2);
    polls.max(timeouts).saturating_mul(MILLI)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    fn store(mode: KeyStoreFailureMode) -> KeyStore {
        serde_json::from_value(serde_json::json!({
            "cluster": "keys", "ttl_ms": 60_000, "negative_ttl_ms": 1_000, "poll_ms": 500,
            "max_cached": 4, "failure_mode": mode, "stale_ms": 10_000,
        }))
        .unwrap()
    }

    fn key(id: &str) -> Option<Rc<StoredKey>> {
        Some(Rc::new(StoredKey { id: id.into(), enabled: true, usage_plan_ids: vec![] }))
    }

    const S: u64 = 1_000_000_000;

    #[test]
    fn known_and_unknown_keys_live_for_their_own_ttl() {
        let s = store(KeyStoreFailureMode::Closed);
        let mut c = StoreCache::default();
        c.insert(&s, [1; 32], key("a"), 100 * S);
        c.insert(&s, [2; 32], None, 100 * S);
        assert_eq!(c.get(&s, &[1; 32], 100 * S + S / 2), Cached::Hit(key("a")));
        assert_eq!(c.get(&s, &[2; 32], 100 * S + S / 2), Cached::Hit(None));
        assert_eq!(c.get(&s, &[2; 32], 101 * S), Cached::Miss, "unknown: 1 s");
        assert_eq!(c.get(&s, &[3; 32], 100 * S), Cached::Miss);
    }

    #[test]
    fn closed_stops_serving_when_the_feed_is_silent_and_stale_keeps_serving() {
        let closed = store(KeyStoreFailureMode::Closed);
        let stale = store(KeyStoreFailureMode::Stale);
        for (s, at_2s, at_9s, at_11s) in [
            (&closed, Cached::Miss, Cached::Miss, Cached::Miss),
            (&stale, Cached::Hit(key("a")), Cached::Hit(key("a")), Cached::Miss),
        ] {
            let mut c = StoreCache::default();
            c.insert(s, [1; 32], key("a"), 100 * S);
            assert_eq!(c.get(s, &[1; 32], 101 * S), Cached::Hit(key("a")), "within 3 polls");
            assert_eq!(c.get(s, &[1; 32], 102 * S), at_2s);
            assert_eq!(c.get(s, &[1; 32], 109 * S), at_9s);
            assert_eq!(c.get(s, &[1; 32], 111 * S), at_11s);
        }
    }

    #[test]
    fn the_feed_drops_changed_keys_and_a_reset_drops_all() {
        let s = store(KeyStoreFailureMode::Closed);
        let mut c = StoreCache::default();
        assert_eq!(c.poll_due(&s, 100 * S), Some(crate::keystore::ChangesRequest { since: 0 }));
        assert_eq!(c.poll_due(&s, 100 * S + S / 10), None, "one call at a time");
        c.insert(&s, [1; 32], key("a"), 100 * S);
        c.insert(&s, [2; 32], key("b"), 100 * S);
        let changes =
            ChangesResponse { version: 7, changed: vec![vec![1; 32]], ..Default::default() };
        c.on_changes(Some(changes), 100 * S + S / 5);
        assert_eq!(c.get(&s, &[1; 32], 100 * S + S / 5), Cached::Miss);
        assert_eq!(c.get(&s, &[2; 32], 100 * S + S / 5), Cached::Hit(key("b")));
        assert_eq!(c.poll_due(&s, 100 * S + S / 4), None, "not before the interval");
        let due = c.poll_due(&s, 100 * S + S * 6 / 10);
        assert_eq!(due, Some(crate::keystore::ChangesRequest { since: 7 }));
        c.on_changes(
            Some(ChangesResponse { version: 9, reset: true, ..Default::default() }),
            101 * S,
        );
        assert!(c.is_empty());
        assert_eq!(c.version(), 9);
        // Redis emptied and written again past version 9 before this worker asked: the epoch
        // tells.
        let epoch =
            |e: &str, version| ChangesResponse { version, epoch: e.into(), ..Default::default() };
        c.on_changes(Some(epoch("a", 9)), 101 * S);
        c.insert(&s, [3; 32], key("c"), 101 * S);
        c.on_changes(Some(epoch("a", 10)), 101 * S);
        assert_eq!(c.len(), 1, "same epoch");
        c.on_changes(Some(epoch("b", 12)), 101 * S);
        assert!(c.is_empty(), "another epoch");
    }

    #[test]
    fn a_lost_feed_call_is_given_up() {
        let s = store(KeyStoreFailureMode::Closed);
        let mut c = StoreCache::default();
        assert!(c.poll_due(&s, 100 * S).is_some());
        assert!(c.poll_due(&s, 100 * S + S / 2).is_none());
        assert!(c.poll_due(&s, 100 * S + S).is_some(), "after a poll and a timeout");
    }

    #[test]
    fn bounded() {
        let s = store(KeyStoreFailureMode::Closed);
        let mut c = StoreCache::default();
        for i in 0..20u8 {
            c.insert(&s, [i; 32], key("k"), 100 * S);
            assert!(c.len() <= 4);
        }
        assert_eq!(c.get(&s, &[19; 32], 100 * S), Cached::Hit(key("k")), "the newest stays");
    }
}
