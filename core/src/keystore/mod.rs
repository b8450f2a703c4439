//! The key store: API keys kept in Redis for a fleet of Envoys instead of inside every filter
//! config. The management commands write the records; `tollgate-ratelimit` serves them over
//! gRPC ([`SERVICE`]); each filter worker keeps what it looked up in a bounded cache
//! ([`cache::KeyCache`]) and drops what the change feed names.
//!
//! # Records in Redis
//!
//! | key | type | what |
//! |---|---|---|
//! | `tollgate:key:{sha256 hex}` | hash | `id`, `enabled` (`true`/`false`), `plans` (usage plan ids, comma-separated), `name`, `description`, `created` (seconds since the epoch) |
//! | `tollgate:key-id:{id}` | string | the key's SHA-256 hex, to find it by id |
//! | `tollgate:keys:version` | integer | raised by every change to an existing key (update, disable, delete) |
//! | `tollgate:keys:changes` | sorted set | SHA-256 hex of changed keys, scored by the version of their last change; the newest [`MAX_CHANGES`] are kept |
//! | `tollgate:keys:floor` | integer | the highest version trimmed from the changes: a worker that last saw an older version empties its cache |
//! | `tollgate:keys:epoch` | string | set by the first change-feed read of an empty store: a worker that saw another epoch empties its cache |
//!
//! A new key does not enter the change feed: workers remember an unknown key for at most
//! [`crate::config::KeyStore::negative_ttl_ms`], so a created key opens within that time.

pub mod cache;

/// Prefix of a key record (`tollgate:key:{sha256 hex}`).
pub const RECORD_PREFIX: &str = "tollgate:key:";
/// Prefix of the id index (`tollgate:key-id:{id}`).
pub const ID_PREFIX: &str = "tollgate:key-id:";
pub const VERSION_KEY: &str = "tollgate:keys:version";
pub const CHANGES_KEY: &str = "tollgate:keys:changes";
pub const FLOOR_KEY: &str = "tollgate:keys:floor";
/// Set by the first change-feed read of an empty store: a new epoch means Redis was emptied.
pub const EPOCH_KEY: &str = "tollgate:keys:epoch";
/// Changes kept in the feed; older ones are trimmed (and [`FLOOR_KEY`] raised).
pub const MAX_CHANGES: u64 = 100_000;
/// Most changes one [`ChangesResponse`] carries; past it the answer says `reset`.
pub const MAX_CHANGES_PER_ANSWER: usize = 10_000;

/// The gRPC service `tollgate-ratelimit` serves beside the rate-limit one.
pub const SERVICE: &str = "tollgate.keystore.v1.KeyStore";
pub const LOOKUP: &str = "Lookup";
pub const CHANGES: &str = "Changes";

/// `Lookup`: the record of one presented key, by the SHA-256 of its value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LookupRequest {
    #[prost(bytes = "vec", tag = "1")]
    pub sha256: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LookupResponse {
    /// No key has this hash.
    #[prost(bool, tag = "1")]
    pub found: bool,
    #[prost(string, tag = "2")]
    pub id: String,
    #[prost(bool, tag = "3")]
    pub enabled: bool,
    #[prost(string, repeated, tag = "4")]
    pub usage_plan_ids: Vec<String>,
}

/// `Changes`: the keys changed after version `since` (0: the caller knows nothing yet).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ChangesRequest {
    #[prost(uint64, tag = "1")]
    pub since: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ChangesResponse {
    /// The store's version now: the caller's next `since`.
    #[prost(uint64, tag = "1")]
    pub version: u64,
    /// SHA-256 of each key changed after `since` (each once).
    #[prost(bytes = "vec", repeated, tag = "2")]
    pub changed: Vec<Vec<u8>>,
    /// The changes since `since` are no longer all known (trimmed, or too many): drop every
    /// cached record. Also set when `since` is 0 or newer than the store (Redis was emptied).
    #[prost(bool, tag = "3")]
    pub reset: bool,
    /// The store's epoch: when it differs from the one the caller saw, Redis was emptied
    /// meanwhile, whatever the versions say: drop every cached record.
    #[prost(string, tag = "4")]
    pub epoch: String,
}

/// A key record as the store keeps it (the fields of `tollgate:key:{hex}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub id: String,
    pub enabled: bool,
    pub usage_plan_ids: Vec<String>,
}

impl From<LookupResponse> for Option<StoredKey> {
    fn from(r: LookupResponse) -> Self {
        r.found.then_some(StoredKey {
            id: r.id,
            enabled: r.enabled,
            usage_plan_ids: r.usage_plan_ids,
        })
    }
}

/// The fields of a key record (`tollgate:key:{sha256 hex}`).
pub mod field {
    pub const ID: &str = "id";
    pub const ENABLED: &str = "enabled";
    pub const PLANS: &str = "plans";
    pub const NAME: &str = "name";
    pub const DESCRIPTION: &str = "description";
    pub const CREATED: &str = "created";
}

/// The record of the key whose SHA-256 is `sha256_hex` (lowercase, as
/// [`crate::apikey::hash_key_hex`] writes it).
pub fn record_key(sha256_hex: &str) -> String {
    format!("{RECORD_PREFIX}{sha256_hex}")
}

/// The id index entry of key `id`.
pub fn id_key(id: &str) -> String {
    format!("{ID_PREFIX}{id}")
}

/// A SHA-256 as the store writes it (64 hex digits) back to its bytes.
pub fn parse_sha256_hex(hex: &str) -> Option<crate::apikey::KeyHash> {
    crate::text::hex::decode_hex32(hex.as_bytes())
}

/// The `enabled` field's text.
pub fn format_enabled(enabled: bool) -> &'static str {
    if enabled {
        "true"
    } else {
        "false"
    }
}

/// The `plans` field's text: the ids comma-separated (a plan id has no comma).
pub fn format_plans(plans: &[String]) -> String {
    plans.join(",")
}

/// The `plans` field's ids (empty: none).
pub fn parse_plans(text: &str) -> Vec<String> {
    text.split(',').filter(|p| !p.is_empty()).map(str::to_string).collect()
}

impl StoredKey {
    /// A record from its fields (`HGETALL`); `None` without an `id` (no record: Redis answers
    /// no fields for a missing hash). Any `enabled` but `true` reads as disabled.
    pub fn from_fields<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<Self> {
        let (mut id, mut enabled, mut plans) = (None, false, Vec::new());
        for (name, value) in fields {
            match name {
                field::ID => id = Some(value.to_string()),
                field::ENABLED => enabled = value == format_enabled(true),
                field::PLANS => plans = parse_plans(value),
                _ => {}
            }
        }
        Some(StoredKey { id: id.filter(|i| !i.is_empty())?, enabled, usage_plan_ids: plans })
    }
}

impl From<Option<StoredKey>> for LookupResponse {
    fn from(key: Option<StoredKey>) -> Self {
        match key {
            Some(k) => LookupResponse {
                found: true,
                id: k.id,
                enabled: k.enabled,
                usage_plan_ids: k.usage_plan_ids,
            },
            None => LookupResponse::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    #[test]
    fn records_read_back_as_written() {
        let plans = vec!["basic".to_string(), "fleet".to_string()];
        let text = format_plans(&plans);
        assert_eq!(text, "basic,fleet");
        let fields = [
            (field::ID, "acme"),
            (field::ENABLED, format_enabled(true)),
            (field::PLANS, text.as_str()),
            (field::NAME, "Acme"),
            (field::CREATED, "1700000000"),
        ];
        let key = StoredKey::from_fields(fields).unwrap();
        assert_eq!(key, StoredKey { id: "acme".into(), enabled: true, usage_plan_ids: plans });
        let answer = LookupResponse::from(Some(key.clone()));
        assert_eq!(Option::<StoredKey>::from(answer), Some(key));
        // No record; a record with no plans; an `enabled` that is not `true`.
        assert_eq!(StoredKey::from_fields([]), None);
        assert_eq!(LookupResponse::from(None), LookupResponse::default());
        let bare = StoredKey::from_fields([(field::ID, "k"), (field::ENABLED, "yes")]).unwrap();
        assert!(!bare.enabled && bare.usage_plan_ids.is_empty());
        assert!(parse_plans("").is_empty());
    }

    #[test]
    fn keys_and_hashes_are_spelled_as_the_schema_says() {
        let hex = crate::apikey::hash_key_hex(b"0123456789abcdefghij");
        assert_eq!(record_key(&hex), format!("tollgate:key:{hex}"));
        assert_eq!(id_key("acme"), "tollgate:key-id:acme");
        let bytes = parse_sha256_hex(&hex).unwrap();
        assert_eq!(bytes, crate::apikey::hash_key(b"0123456789abcdefghij"));
        assert_eq!(parse_sha256_hex("abc"), None);
    }
}
