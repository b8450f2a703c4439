//! API keys: only SHA-256 hashes are configured; a presented key is hashed, looked up and compared
//! in constant time.

use std::rc::Rc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{ConfigError, KeyTable};
use crate::throttle::Limits;

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

/// A configured key, as one stage's plan sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key<'a> {
    pub id: &'a str,
    /// The usage plan (index in the compiled limits) that covers this API stage for this key.
    pub plan: Option<usize>,
}

/// What a presented key turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLookup<'a> {
    Missing,
    Unknown,
    Disabled(Key<'a>),
    Valid(Key<'a>),
}

/// The keys as one stage sees them: the config's [`KeyTable`] (shared by every stage) and, for
/// each usage plan the keys name, whether it covers this stage.
#[derive(Debug, Clone, Default)]
pub struct KeyIndex {
    table: Rc<KeyTable>,
    /// Per [`KeyTable::plan_ids`] entry: its index in the stage's limits when it covers the stage.
    covering: Vec<Option<usize>>,
}

impl KeyIndex {
    /// Checks the keys and gives each the usage plan that covers this API stage (`api`/`stage`,
    /// for messages); as on AWS a key may be in several plans, but in only one per API stage.
    pub fn compile(
        table: Rc<KeyTable>,
        limits: &Limits,
        (api, stage): (&str, &str),
    ) -> Result<KeyIndex, ConfigError> {
        table.check()?;
        let resolved: Vec<Option<usize>> =
            table.plan_ids().iter().map(|id| limits.plan_index(id)).collect();
        let covers = |p: usize| limits.plans.get(p).is_some_and(|plan| plan.covers_stage);
        let covering: Vec<Option<usize>> =
            resolved.iter().map(|p| p.filter(|&p| covers(p))).collect();
        for n in 0..table.len() {
            let mut found: Option<usize> = None;
            for (j, &number) in table.plans(n).iter().enumerate() {
                let path = || format!("api_keys[{n}].usage_plan_ids[{j}]");
                let id = table.plan_ids().get(number).map_or("", String::as_str);
                let Some(p) = resolved.get(number).copied().flatten() else {
                    return Err(ConfigError::new(path(), format!("no usage plan `{id}`")));
                };
                if !covers(p) {
                    continue;
                }
                if let Some(other) = found.and_then(|o| limits.plans.get(o)) {
                    return Err(ConfigError::new(
                        path(),
                        format!(
                            "usage plans `{}` and `{id}` both cover {api}/{stage}; a key may be in one plan per API stage",
                            other.id
                        ),
                    ));
                }
                found = Some(p);
            }
        }
        Ok(KeyIndex { table, covering })
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The table every stage shares.
    pub fn table(&self) -> &Rc<KeyTable> {
        &self.table
    }

    /// Key `n` in config order (`api_keys[n]`).
    pub fn key(&self, n: usize) -> Option<Key<'_>> {
        let id = self.table.id(n)?;
        let plan =
            self.table.plans(n).iter().find_map(|&p| self.covering.get(p).copied().flatten());
        Some(Key { id, plan })
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
        let Some((n, stored)) = self.table.find(&hash) else {
            return KeyLookup::Unknown;
        };
        // The search found it by comparing digests; the constant-time compare keeps the final
        // check free of early exits whatever the search does.
        if !bool::from(stored.ct_eq(&hash)) {
            return KeyLookup::Unknown;
        }
        let Some(key) = self.key(n) else {
            return KeyLookup::Unknown;
        };
        if self.table.enabled(n) {
            KeyLookup::Valid(key)
        } else {
            KeyLookup::Disabled(key)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Plan;
    use crate::test_support::test;
    use serde_json::json;

    fn plan(extra: serde_json::Value) -> Result<Plan, ConfigError> {
        let mut config = json!({
            "api": {"id": "shop"},
            "stage": {"name": "prod"},
            "usage_plans": [
                {"id": "basic", "api_stages": [{"api_id": "shop", "stage": "prod"}]},
                {"id": "gold", "api_stages": [{"api_id": "shop", "stage": "prod"}]},
                {"id": "dev", "api_stages": [{"api_id": "shop", "stage": "dev"}]}
            ]
        });
        if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        Plan::from_json(config.to_string().as_bytes())
    }

    fn key(id: &str, value: &str, enabled: bool, plans: &[&str]) -> serde_json::Value {
        json!({"id": id, "value_sha256": hash_key_hex(value.as_bytes()), "enabled": enabled,
               "usage_plan_ids": plans})
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
        let keys = json!({"api_keys": [
            key("a", "alpha", true, &["dev", "basic"]),
            key("b", "beta", false, &["gold"]),
            key("c", "gamma", true, &["dev"])
        ]});
        let plan = plan(keys).unwrap();
        let index = &plan.keys;
        assert_eq!(index.len(), 3);
        assert_eq!(index.lookup(Some(b"alpha")), KeyLookup::Valid(Key { id: "a", plan: Some(0) }));
        assert_eq!(
            index.lookup(Some(b"beta")),
            KeyLookup::Disabled(Key { id: "b", plan: Some(1) })
        );
        assert_eq!(index.lookup(Some(b"gamma")), KeyLookup::Valid(Key { id: "c", plan: None }));
        assert_eq!(index.lookup(Some(b"delta")), KeyLookup::Unknown);
        assert_eq!(index.lookup(Some(b"\xff\x00")), KeyLookup::Unknown);
        assert_eq!(index.lookup(Some(b"")), KeyLookup::Missing);
        assert_eq!(index.lookup(None), KeyLookup::Missing);
        assert_eq!(index.key(1), Some(Key { id: "b", plan: Some(1) }));
        assert_eq!(index.key(3), None);
    }

    #[test]
    fn uppercase_hex_is_accepted() {
        let mut k = key("a", "alpha", true, &[]);
        k["value_sha256"] = json!(hash_key_hex(b"alpha").to_uppercase());
        let plan = plan(json!({"api_keys": [k]})).unwrap();
        assert!(matches!(plan.keys.lookup(Some(b"alpha")), KeyLookup::Valid(_)));
    }

    #[test]
    fn bad_keys_are_refused_with_their_path() {
        let mut bad_hash = key("a", "x", true, &[]);
        bad_hash["value_sha256"] = json!("abc");
        let err = plan(json!({"api_keys": [bad_hash]})).unwrap_err();
        assert_eq!(err.path, "api_keys[0].value_sha256");

        let err = plan(json!({"api_keys": [key("a", "x", true, &[]), key("a", "y", true, &[])]}))
            .unwrap_err();
        assert_eq!(err.path, "api_keys[1].id");

        let err = plan(json!({"api_keys": [key("a", "x", true, &[]), key("b", "x", true, &[])]}))
            .unwrap_err();
        assert_eq!(err.path, "api_keys[1].value_sha256");
        assert!(err.reason.contains("api_keys[0]"));
    }

    #[test]
    fn usage_plans_of_keys_are_checked_per_stage() {
        let err = plan(json!({"api_keys": [key("a", "x", true, &["dev", "nope"])]})).unwrap_err();
        assert_eq!(
            (err.path.as_str(), err.reason.as_str()),
            ("api_keys[0].usage_plan_ids[1]", "no usage plan `nope`")
        );
        let keys = json!({"api_keys": [
            key("a", "x", true, &["basic"]),
            key("b", "y", true, &["basic", "dev", "gold", "nope"])
        ]});
        let err = plan(keys).unwrap_err();
        assert_eq!(err.path, "api_keys[1].usage_plan_ids[2]");
        assert_eq!(
            err.reason,
            "usage plans `basic` and `gold` both cover shop/prod; a key may be in one plan per API stage"
        );
    }
}
