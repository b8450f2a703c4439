//! Verified tokens, per worker: a token seen again before its `exp` skips the signature check.
//! Bounded (the oldest entry goes first); failures are never cached.

use std::collections::{HashMap, VecDeque};

use sha2::{Digest, Sha256};

use super::VerifiedToken;

/// How many tokens one worker remembers.
pub const TOKEN_CACHE_ENTRIES: usize = 1024;

type CacheKey = [u8; 32];

#[derive(Debug, Default)]
pub struct TokenCache {
    entries: HashMap<CacheKey, VerifiedToken>,
    /// Keys in insertion order, for eviction.
    order: VecDeque<CacheKey>,
}

impl TokenCache {
    /// The token as verified earlier for this authorizer, while `now` is before its `exp`.
    /// (The leeway is not applied here: past `exp` the token is verified again, with it.)
    pub fn get(&self, authorizer: usize, token: &[u8], now: i64) -> Option<&VerifiedToken> {
        self.entries.get(&key(authorizer, token)).filter(|t| t.exp.is_some_and(|exp| now < exp))
    }

    /// Remembers a verified token; one without `exp` is not cached.
    pub fn insert(&mut self, authorizer: usize, token: &[u8], verified: VerifiedToken) {
        if verified.exp.is_none() {
            return;
        }
        let k = key(authorizer, token);
        if self.entries.insert(k, verified).is_some() {
            return;
        }
        self.order.push_back(k);
        while self.order.len() > TOKEN_CACHE_ENTRIES {
            if let Some(oldest) = self.order.pop_front() {
                self.entries.remove(&oldest);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets every token (new keys or a new config).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
    }
}

/// SHA-256 over the authorizer index and the token: the cache never holds a token itself.
fn key(authorizer: usize, token: &[u8]) -> CacheKey {
    let mut hash = Sha256::new();
    hash.update((authorizer as u64).to_le_bytes());
    hash.update(token);
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    fn verified(exp: Option<i64>) -> VerifiedToken {
        VerifiedToken { claims: serde_json::Map::new(), sub: Some("u".into()), exp, scopes: vec![] }
    }

    #[test]
    fn hit_until_exp() {
        let mut cache = TokenCache::default();
        cache.insert(0, b"t", verified(Some(100)));
        assert_eq!(cache.get(0, b"t", 99).and_then(|t| t.sub.as_deref()), Some("u"));
        assert!(cache.get(0, b"t", 100).is_none());
        assert!(cache.get(0, b"t", 1_000).is_none());
    }

    #[test]
    fn keyed_by_authorizer_and_token() {
        let mut cache = TokenCache::default();
        cache.insert(0, b"t", verified(Some(100)));
        assert!(cache.get(1, b"t", 0).is_none());
        assert!(cache.get(0, b"t2", 0).is_none());
        assert!(cache.get(0, b"", 0).is_none());
    }

    #[test]
    fn tokens_without_exp_are_not_cached() {
        let mut cache = TokenCache::default();
        cache.insert(0, b"t", verified(None));
        assert!(cache.is_empty());
    }

    #[test]
    fn bounded_oldest_out() {
        let mut cache = TokenCache::default();
        for i in 0..TOKEN_CACHE_ENTRIES + 10 {
            cache.insert(0, i.to_string().as_bytes(), verified(Some(100)));
        }
        assert_eq!(cache.len(), TOKEN_CACHE_ENTRIES);
        assert!(cache.get(0, b"0", 0).is_none());
        assert!(cache.get(0, b"9", 0).is_none());
        assert!(cache.get(0, b"10", 0).is_some());
        // Inserting a cached token again does not grow the cache.
        cache.insert(0, b"10", verified(Some(200)));
        assert_eq!(cache.len(), TOKEN_CACHE_ENTRIES);
        assert_eq!(cache.get(0, b"10", 150).and_then(|t| t.exp), Some(200));
        cache.clear();
        assert!(cache.is_empty());
    }
}
