//! API keys: only SHA-256 hashes are configured; a presented key is hashed, looked up and compared
//! in constant time.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{ApiKey, ConfigError};

pub type KeyHash = [u8; 32];

/// SHA-256 of a key value.
pub fn hash_key(value: &[u8]) -> KeyHash {
    Sha256::digest(value).into()
}

/// Lowercase hex of a key's SHA-256, as written in configs.
pub fn hash_key_hex(value: &[u8]) -> String {
    crate::text::hex::hex(&hash_key(value))
}

pub(crate) fn parse_hex_hash(hex: &str) -> Option<KeyHash> {
    crate::text::hex::decode_hex32(hex.as_bytes())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEntry {
    pub id: String,
    pub hash: KeyHash,
    pub enabled: bool,
    pub usage_plan_ids: Vec<String>,
    /// The usage plan (index in the compiled limits) that covers this API stage for this key.
    pub plan: Option<usize>,
}

/// What a presented key turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLookup<'a> {
    Missing,
    Unknown,
    Disabled(&'a KeyEntry),
    Valid(&'a KeyEntry),
}

#[derive(Debug, Clone, Default)]
pub struct KeyIndex {
    entries: Vec<KeyEntry>,
    by_hash: HashMap<KeyHash, usize>,
}

impl KeyIndex {
    pub fn compile(keys: &[ApiKey]) -> Result<Self, ConfigError> {
        let mut index = KeyIndex::default();
        let mut ids = HashMap::new();
        for (i, key) in keys.iter().enumerate() {
            let path = format!("api_keys[{i}]");
            if !crate::text::is_id(&key.id) {
                return Err(ConfigError::new(format!("{path}.id"), crate::text::ID_RULE));
            }
            if let Some(first) = ids.insert(key.id.as_str(), i) {
                return Err(ConfigError::new(
                    format!("{path}.id"),
                    format!("`{}` is already the id of api_keys[{first}]", key.id),
                ));
            }
            let hash = parse_hex_hash(&key.value_sha256).ok_or_else(|| {
                ConfigError::new(
                    format!("{path}.value_sha256"),
                    "must be the 64 hex digits of the key's SHA-256 (`tollgate hash-key` prints it)",
                )
            })?;
            if let Some(first) = index.by_hash.insert(hash, i) {
                return Err(ConfigError::new(
                    format!("{path}.value_sha256"),
                    format!("the same key value as api_keys[{first}]"),
                ));
            }
            index.entries.push(KeyEntry {
                id: key.id.clone(),
                hash,
                enabled: key.enabled,
                usage_plan_ids: key.usage_plan_ids.clone(),
                plan: None,
            });
        }
        Ok(index)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[KeyEntry] {
        &self.entries
    }

    pub fn entries_mut(&mut self) -> &mut [KeyEntry] {
        &mut self.entries
    }

    /// Looks up a presented key value (`None` when the request carried none).
    pub fn lookup(&self, presented: Option<&[u8]>) -> KeyLookup<'_> {
        let Some(value) = presented else {
            return KeyLookup::Missing;
        };
        if value.is_empty() {
            return KeyLookup::Missing;
        }
        let hash = hash_key(value);
        let Some(entry) = self.by_hash.get(&hash).and_then(|&i| self.entries.get(i)) else {
            return KeyLookup::Unknown;
        };
        // The map found it by hash; the constant-time compare keeps the final check free of
        // early exits whatever the map implementation does.
        if !bool::from(entry.hash.ct_eq(&hash)) {
            return KeyLookup::Unknown;
        }
        if entry.enabled {
            KeyLookup::Valid(entry)
        } else {
            KeyLookup::Disabled(entry)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    fn key(id: &str, value: &str, enabled: bool) -> ApiKey {
        ApiKey {
            id: id.into(),
            name: String::new(),
            value_sha256: hash_key_hex(value.as_bytes()),
            enabled,
            usage_plan_ids: vec![],
        }
    }

    #[test]
    fn sha256_matches_known_vector() {
        assert_eq!(
            hash_key_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn lookup_outcomes() {
        let index = KeyIndex::compile(&[key("a", "alpha", true), key("b", "beta", false)]).unwrap();
        assert!(matches!(index.lookup(Some(b"alpha")), KeyLookup::Valid(e) if e.id == "a"));
        assert!(matches!(index.lookup(Some(b"beta")), KeyLookup::Disabled(e) if e.id == "b"));
        assert_eq!(index.lookup(Some(b"gamma")), KeyLookup::Unknown);
        assert_eq!(index.lookup(Some(b"\xff\x00")), KeyLookup::Unknown);
        assert_eq!(index.lookup(Some(b"")), KeyLookup::Missing);
        assert_eq!(index.lookup(None), KeyLookup::Missing);
    }

    #[test]
    fn uppercase_hex_is_accepted() {
        let mut k = key("a", "alpha", true);
        k.value_sha256 = k.value_sha256.to_uppercase();
        let index = KeyIndex::compile(&[k]).unwrap();
        assert!(matches!(index.lookup(Some(b"alpha")), KeyLookup::Valid(_)));
    }

    #[test]
    fn bad_keys_are_refused_with_their_path() {
        let mut bad_hash = key("a", "x", true);
        bad_hash.value_sha256 = "abc".into();
        let err = KeyIndex::compile(&[bad_hash]).unwrap_err();
        assert_eq!(err.path, "api_keys[0].value_sha256");

        let mut non_hex = key("a", "x", true);
        non_hex.value_sha256 = "zz".repeat(32);
        assert!(KeyIndex::compile(&[non_hex]).is_err());

        let err = KeyIndex::compile(&[key("a", "x", true), key("a", "y", true)]).unwrap_err();
        assert_eq!(err.path, "api_keys[1].id");

        let err = KeyIndex::compile(&[key("a", "x", true), key("b", "x", true)]).unwrap_err();
        assert_eq!(err.path, "api_keys[1].value_sha256");
        assert!(err.reason.contains("api_keys[0]"));
    }
}
