//! Every API key of a config in one compact table, built while the config is read: ids back to
//! back in one string, digests sorted for lookup, usage plans as small numbers. A key is never
//! held as an [`ApiKey`] longer than it takes to add it, and every stage's plan shares the table.
//!
//! A wasm VM's memory never shrinks, so what matters is the most the table ever takes: about
//! 50 bytes a key plus its id, with no per-key allocation.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};

use super::{ApiKey, ConfigError};

/// A key's SHA-256.
type Digest = [u8; 32];

/// What the table keeps of a key, in config order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Record {
    /// End of the key's id in [`KeyTable::ids`] (it starts where the previous key's ends).
    id_end: usize,
    /// End of the key's usage plans in [`KeyTable::memberships`].
    plans_end: usize,
    enabled: bool,
}

/// The API keys of a config, numbered in config order (`api_keys[n]` is key `n`).
#[derive(Clone, Default)]
pub struct KeyTable {
    records: Vec<Record>,
    ids: String,
    /// Each key's usage plans, as indexes in `plan_ids`.
    memberships: Vec<usize>,
    /// The usage plan ids keys name, each once, in order of first mention.
    plan_ids: Vec<String>,
    /// (digest, key number), sorted.
    by_digest: Vec<(Digest, usize)>,
    /// Per bucket `b`, where in `by_digest` the digests whose first `bucket_bits` bits are `b`
    /// start; then `by_digest`'s length. About two digests a bucket.
    buckets: Vec<usize>,
    bucket_bits: u32,
    /// Keys in the config, counting those after a refused one (which are not kept).
    count: usize,
    /// The first key, in config order, that cannot be used, and why.
    error: Option<ConfigError>,
}

impl fmt::Debug for KeyTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyTable")
            .field("keys", &self.count)
            .field("plan_ids", &self.plan_ids)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl KeyTable {
    pub fn from_keys(keys: &[ApiKey]) -> KeyTable {
        let mut builder = Builder::default();
        for key in keys {
            builder.push(key);
        }
        builder.finish()
    }

    /// Keys in the config.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The first key in config order that cannot be used (a bad id or digest, an id or a key
    /// value that an earlier key has), as a config error.
    pub fn check(&self) -> Result<(), ConfigError> {
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// The number of the key with this digest, and the digest as stored.
    pub fn find(&self, digest: &Digest) -> Option<(usize, &Digest)> {
        let bucket = bucket_of(digest, self.bucket_bits);
        let start = *self.buckets.get(bucket)?;
        let end = *self.buckets.get(bucket.checked_add(1)?)?;
        let candidates = self.by_digest.get(start..end)?;
        let at = candidates.binary_search_by(|(d, _)| d.cmp(digest)).ok()?;
        candidates.get(at).map(|(d, n)| (*n, d))
    }

    pub fn id(&self, n: usize) -> Option<&str> {
        let start = match n.checked_sub(1) {
            Some(previous) => self.records.get(previous)?.id_end,
            None => 0,
        };
        self.ids.get(start..self.records.get(n)?.id_end)
    }

    pub fn enabled(&self, n: usize) -> bool {
        self.records.get(n).is_some_and(|r| r.enabled)
    }

    /// Key `n`'s usage plans in its order, as indexes in [`KeyTable::plan_ids`].
    pub fn plans(&self, n: usize) -> &[usize] {
        let start = match n.checked_sub(1) {
            Some(previous) => self.records.get(previous).map_or(0, |r| r.plans_end),
            None => 0,
        };
        let end = self.records.get(n).map_or(start, |r| r.plans_end);
        self.memberships.get(start..end).unwrap_or_default()
    }

    /// Every usage plan id a key names.
    pub fn plan_ids(&self) -> &[String] {
        &self.plan_ids
    }

    /// The index in [`KeyTable::plan_ids`] of a usage plan id.
    pub fn plan_number(&self, id: &str) -> Option<usize> {
        self.plan_ids.iter().position(|p| p == id)
    }

    /// Key numbers sorted by id.
    pub fn by_id(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.records.len()).collect();
        order.sort_unstable_by(|&a, &b| self.id(a).cmp(&self.id(b)).then(a.cmp(&b)));
        order
    }
}

/// The bucket of a digest: its first `bits` bits (at most 32).
fn bucket_of(digest: &Digest, bits: u32) -> usize {
    let [a, b, c, d, ..] = *digest;
    let prefix = u32::from_be_bytes([a, b, c, d]);
    let bucket = prefix.checked_shr(32u32.saturating_sub(bits)).unwrap_or(0);
    usize::try_from(bucket).unwrap_or(0)
}

/// About two keys a bucket: `bits` for `n` keys.
fn bucket_bits(n: usize) -> u32 {
    n.checked_ilog2().map_or(0, |log| log.saturating_sub(1).min(24))
}

/// Why a key is refused, in the order the checks of one key run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Check {
    Id,
    IdTaken,
    Digest,
    DigestTaken,
}

/// Builds a [`KeyTable`] one key at a time.
#[derive(Default)]
pub(crate) struct Builder {
    table: KeyTable,
    plan_numbers: BTreeMap<String, usize>,
    /// The first key refused on its own (a bad id or digest): later keys are not kept, since
    /// none of them can be refused before it.
    refused: Option<(usize, Check, ConfigError)>,
}

impl Builder {
    pub(crate) fn push(&mut self, key: &ApiKey) {
        let n = self.table.count;
        self.table.count = n.saturating_add(1);
        if self.refused.is_some() {
            return;
        }
        if !crate::text::is_id(&key.id) {
            let error = ConfigError::new(format!("api_keys[{n}].id"), crate::text::ID_RULE);
            self.refused = Some((n, Check::Id, error));
            return;
        }
        // The id is kept even when the digest is refused: an earlier key with the same id is
        // what the config is told about first.
        let table = &mut self.table;
        table.ids.push_str(&key.id);
        for id in &key.usage_plan_ids {
            let number = match self.plan_numbers.get(id) {
                Some(&number) => number,
                None => {
                    let number = table.plan_ids.len();
                    self.plan_numbers.insert(id.clone(), number);
                    table.plan_ids.push(id.clone());
                    number
                }
            };
            table.memberships.push(number);
        }
        table.records.push(Record {
            id_end: table.ids.len(),
            plans_end: table.memberships.len(),
            enabled: key.enabled,
        });
        match crate::text::hex::decode_hex32(key.value_sha256.as_bytes()) {
            Some(digest) => table.by_digest.push((digest, n)),
            None => {
                let error = ConfigError::new(
                    format!("api_keys[{n}].value_sha256"),
                    "must be the 64 hex digits of the key's SHA-256 (`tollgate hash-key` prints it)",
                );
                self.refused = Some((n, Check::Digest, error));
            }
        }
    }

    pub(crate) fn finish(self) -> KeyTable {
        let Builder { mut table, refused, .. } = self;
        // By digest, then by number: a digest's keys in config order.
        table.by_digest.sort_unstable();
        let digest_taken = first_repeat(table.by_digest.iter().map(|(d, n)| (d, *n)));
        let by_id = table.by_id();
        let id_taken = first_repeat(by_id.iter().map(|&n| (table.id(n), n)));
        let mut problems: Vec<(usize, Check, ConfigError)> = refused.into_iter().collect();
        if let Some((n, first)) = id_taken {
            let id = table.id(n).unwrap_or_default();
            let reason = format!("`{id}` is already the id of api_keys[{first}]");
            problems.push((
                n,
                Check::IdTaken,
                ConfigError::new(format!("api_keys[{n}].id"), reason),
            ));
        }
        if let Some((n, first)) = digest_taken {
            let path = format!("api_keys[{n}].value_sha256");
            let reason = format!("the same key value as api_keys[{first}]");
            problems.push((n, Check::DigestTaken, ConfigError::new(path, reason)));
        }
        drop(by_id);
        table.error = problems.into_iter().min_by_key(|(n, check, _)| (*n, *check)).map(|p| p.2);
        table.bucket_bits = bucket_bits(table.by_digest.len());
        let buckets = 1usize << table.bucket_bits;
        let mut starts = Vec::with_capacity(buckets.saturating_add(1));
        let mut at = 0;
        for bucket in 0..buckets {
            while table
                .by_digest
                .get(at)
                .is_some_and(|(d, _)| bucket_of(d, table.bucket_bits) < bucket)
            {
                at += 1;
            }
            starts.push(at);
        }
        starts.push(table.by_digest.len());
        table.buckets = starts;
        table.records.shrink_to_fit();
        table.ids.shrink_to_fit();
        table.memberships.shrink_to_fit();
        table.plan_ids.shrink_to_fit();
        table.by_digest.shrink_to_fit();
        table
    }
}

/// In a sequence sorted by value then number, the first (lowest-numbered) repeat of a value
/// and the number that has it first: (repeat, first).
fn first_repeat<T: PartialEq>(sorted: impl Iterator<Item = (T, usize)>) -> Option<(usize, usize)> {
    let mut found: Option<(usize, usize)> = None;
    let mut previous: Option<(T, usize)> = None;
    for (value, n) in sorted {
        if let Some((p, first)) = &previous {
            if *p == value {
                // The second of a run is its lowest repeat; `first` is the run's first.
                if found.is_none_or(|(f, _)| n < f) {
                    found = Some((n, *first));
                }
                continue;
            }
        }
        previous = Some((value, n));
    }
    found
}

impl<'de> Deserialize<'de> for KeyTable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<KeyTable, D::Error> {
        deserializer.deserialize_seq(TableVisitor)
    }
}

struct TableVisitor;

impl<'de> Visitor<'de> for TableVisitor {
    type Value = KeyTable;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // What a `Vec<ApiKey>` says, so a config reads the same either way.
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyTable, A::Error> {
        let mut builder = Builder::default();
        while let Some(key) = seq.next_element::<ApiKey>()? {
            builder.push(&key);
        }
        Ok(builder.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apikey::{hash_key, hash_key_hex};
    use crate::test_support::test;

    fn key(id: &str, value: &str) -> ApiKey {
        ApiKey {
            id: id.into(),
            name: String::new(),
            value_sha256: hash_key_hex(value.as_bytes()),
            enabled: true,
            usage_plan_ids: vec![],
        }
    }

    fn error(keys: &[ApiKey]) -> ConfigError {
        KeyTable::from_keys(keys).check().unwrap_err()
    }

    #[test]
    fn finds_every_key_and_no_other() {
        for n in [0, 1, 2, 3, 7, 100, 1000] {
            let keys: Vec<ApiKey> =
                (0..n).map(|i| key(&format!("k{i}"), &format!("value-{i}"))).collect();
            let table = KeyTable::from_keys(&keys);
            assert_eq!(table.len(), n);
            table.check().unwrap();
            for i in 0..n {
                let digest = hash_key(format!("value-{i}").as_bytes());
                let (found, stored) = table.find(&digest).unwrap();
                assert_eq!((found, stored), (i, &digest));
                assert_eq!(table.id(found), Some(format!("k{i}").as_str()));
            }
            assert_eq!(table.find(&hash_key(b"value-x")), None);
            assert_eq!(table.find(&[0; 32]), None);
            assert_eq!(table.find(&[0xff; 32]), None);
            assert_eq!(table.id(n), None);
        }
    }

    #[test]
    fn finds_digests_that_share_a_bucket() {
        // Digests need not be uniform (a config names them): all in one bucket still works.
        let keys: Vec<ApiKey> = (0..50u8)
            .map(|i| {
                let mut k = key(&format!("k{i}"), "");
                k.value_sha256 = format!("{:064x}", u128::from(i) * 3);
                k
            })
            .collect();
        let table = KeyTable::from_keys(&keys);
        table.check().unwrap();
        for i in 0..50u8 {
            let mut digest = [0u8; 32];
            let value = u128::from(i) * 3;
            digest[16..].copy_from_slice(&value.to_be_bytes());
            assert_eq!(table.find(&digest).map(|f| f.0), Some(usize::from(i)));
            digest[31] ^= 1;
            assert_eq!(table.find(&digest), None);
        }
    }

    #[test]
    fn keeps_enabled_and_plans_per_key() {
        let mut a = key("a", "x");
        a.usage_plan_ids = vec!["gold".into(), "basic".into()];
        let mut b = key("b", "y");
        b.enabled = false;
        let mut c = key("c", "z");
        c.usage_plan_ids = vec!["basic".into()];
        let table = KeyTable::from_keys(&[a, b, c]);
        assert_eq!(table.plan_ids(), ["gold", "basic"]);
        assert_eq!(table.plans(0), [0, 1]);
        assert_eq!(table.plans(1), [] as [usize; 0]);
        assert_eq!(table.plans(2), [1]);
        assert_eq!(table.plans(3), [] as [usize; 0]);
        assert!(table.enabled(0) && !table.enabled(1) && table.enabled(2));
        assert_eq!(table.plan_number("basic"), Some(1));
        assert_eq!(table.plan_number("none"), None);
        assert_eq!(table.by_id(), [0, 1, 2]);
    }

    #[test]
    fn refused_keys_are_named_with_their_path() {
        let mut bad_hash = key("a", "x");
        bad_hash.value_sha256 = "abc".into();
        let err = error(&[bad_hash]);
        assert_eq!(err.path, "api_keys[0].value_sha256");
        assert!(err.reason.contains("64 hex digits"), "{err}");

        let mut non_hex = key("a", "x");
        non_hex.value_sha256 = "zz".repeat(32);
        assert_eq!(error(&[non_hex]).path, "api_keys[0].value_sha256");

        let err = error(&[key("a", "x"), key("a b", "y")]);
        assert_eq!(err.path, "api_keys[1].id");
        assert_eq!(err.reason, crate::text::ID_RULE);

        let err = error(&[key("a", "x"), key("a", "y")]);
        assert_eq!(
            (err.path.as_str(), err.reason.as_str()),
            ("api_keys[1].id", "`a` is already the id of api_keys[0]")
        );

        let err = error(&[key("a", "x"), key("b", "x")]);
        assert_eq!(err.path, "api_keys[1].value_sha256");
        assert_eq!(err.reason, "the same key value as api_keys[0]");
    }

    #[test]
    fn the_first_problem_in_config_order_is_reported() {
        let mut bad = key("d", "w");
        bad.value_sha256 = "no".into();
        // Key 2 repeats key 0's value and key 3 key 1's id, key 4 is bad: key 2 is reported.
        let keys = [key("a", "x"), key("b", "y"), key("c", "x"), key("b", "z"), bad.clone()];
        let err = error(&keys);
        assert_eq!(
            (err.path.as_str(), err.reason.as_str()),
            ("api_keys[2].value_sha256", "the same key value as api_keys[0]")
        );
        // The same key with a taken id and a bad digest: the id, as the checks run.
        let mut both = key("a", "q");
        both.value_sha256 = "no".into();
        assert_eq!(error(&[key("a", "x"), both]).path, "api_keys[1].id");
        // A taken id and a taken value: the id.
        assert_eq!(error(&[key("a", "x"), key("a", "x")]).path, "api_keys[1].id");
        // Three keys with one value: the second names the first.
        let err = error(&[key("a", "x"), key("b", "y"), key("c", "x"), key("d", "x")]);
        assert_eq!(
            (err.path.as_str(), err.reason.as_str()),
            ("api_keys[2].value_sha256", "the same key value as api_keys[0]")
        );
        // A bad key before any repeat wins, and keys after it do not count.
        let err = error(&[key("a", "x"), bad, key("a", "x")]);
        assert_eq!(err.path, "api_keys[1].value_sha256");
        let table = KeyTable::from_keys(&[key("", "x"), key("a", "y")]);
        assert_eq!(table.len(), 2);
        assert_eq!(table.check().unwrap_err().path, "api_keys[0].id");
    }

    #[test]
    fn reads_keys_from_a_document() {
        let json = format!(
            r#"[{{"id": "a", "value_sha256": "{}", "usage_plan_ids": ["p"]}}, {{"id": "b", "value_sha256": "{}", "enabled": false}}]"#,
            hash_key_hex(b"x"),
            hash_key_hex(b"y")
        );
        let table: KeyTable = serde_json::from_str(&json).unwrap();
        assert_eq!(table.len(), 2);
        assert_eq!(table.find(&hash_key(b"y")).map(|f| f.0), Some(1));
        assert!(!table.enabled(1));
        assert_eq!(table.plan_ids(), ["p"]);
        let err = serde_json::from_str::<KeyTable>("5").unwrap_err().to_string();
        let vec_err = serde_json::from_str::<Vec<ApiKey>>("5").unwrap_err().to_string();
        assert_eq!(err, vec_err);
        let err = serde_json::from_str::<KeyTable>(r#"[{"id": "a"}]"#).unwrap_err().to_string();
        assert!(err.contains("missing field `value_sha256`"), "{err}");
    }
}
