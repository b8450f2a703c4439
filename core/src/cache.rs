//! The response cache: which methods cache, under which key, for how long, and the entries
//! themselves, kept in Envoy's shared data so that every worker sees them. The store is
//! bounded: each API stage has `capacity` slots (a key's slot is a hash of it), an entry holds
//! at most `max_entry_bytes` of body, and a newer entry takes its slot's place.

use sha2::{Digest, Sha256};

use crate::config::{ConfigError, Method, StageCache, UnauthorizedStrategy};
use crate::host::{Host, HostError};

const MAX_TTL: u32 = 3600;

/// How a method caches, compiled once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachePlan {
    pub ttl_seconds: u32,
    pub key_parameters: Vec<KeyParameter>,
    /// Shared-data key prefix of the stage's slots: `tollgate.cache.{api}.{stage}.`.
    prefix: String,
    capacity: u32,
    pub max_entry_bytes: u32,
    pub require_authorization: bool,
    pub unauthorized: UnauthorizedStrategy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyParameter {
    Query(String),
    Header(String),
    Path(String),
}

impl CachePlan {
    /// The method's cache, or `None` when it does not cache.
    pub fn compile(
        stage: Option<&StageCache>,
        method: &Method,
        (api, stage_name): (&str, &str),
        path: &str,
    ) -> Result<Option<CachePlan>, ConfigError> {
        let own = method.cache.as_ref();
        if stage.is_none() && own.is_some() {
            return Err(ConfigError::new(
                format!("{path}.cache"),
                "the stage has no cache: set the stage's `cache` first",
            ));
        }
        let Some(stage) = stage else { return Ok(None) };
        let enabled =
            own.and_then(|m| m.enabled).unwrap_or(stage.enabled && method.http_method == "GET");
        let ttl = own.and_then(|m| m.ttl_seconds).unwrap_or(stage.ttl_seconds);
        if ttl > MAX_TTL {
            return Err(ConfigError::new(
                format!("{path}.cache.ttl_seconds"),
                format!("{ttl} is over {MAX_TTL}"),
            ));
        }
        if stage.capacity == 0 || stage.capacity > 65_536 {
            return Err(ConfigError::new("stage.cache.capacity", "must be 1-65536"));
        }
        let mut key_parameters = Vec::new();
        for (i, p) in
            own.map(|m| m.key_parameters.as_slice()).unwrap_or_default().iter().enumerate()
        {
            let parse = || {
                let rest = p.strip_prefix("method.request.")?;
                let (kind, name) = rest.split_once('.').filter(|(_, n)| !n.is_empty())?;
                match kind {
                    "querystring" => Some(KeyParameter::Query(name.to_string())),
                    "header" => Some(KeyParameter::Header(name.to_ascii_lowercase())),
                    "path" => Some(KeyParameter::Path(name.to_string())),
                    _ => None,
                }
            };
            key_parameters.push(parse().ok_or_else(|| {
                ConfigError::new(
                    format!("{path}.cache.key_parameters[{i}]"),
                    format!("`{p}` is not method.request.{{querystring|header|path}}.NAME"),
                )
            })?);
        }
        if !enabled || ttl == 0 {
            return Ok(None);
        }
        Ok(Some(CachePlan {
            ttl_seconds: ttl,
            key_parameters,
            prefix: stage_prefix(api, stage_name),
            capacity: stage.capacity,
            max_entry_bytes: stage.max_entry_bytes,
            require_authorization: stage.require_authorization_for_cache_control,
            unauthorized: stage.unauthorized_cache_control_header_strategy,
        }))
    }

    /// The entry key of a request: the method and resource, and the key parameters' values.
    pub fn key(
        &self,
        verb: &str,
        resource: &str,
        (path, query, headers): (Pairs<'_>, Pairs<'_>, Pairs<'_>),
    ) -> EntryKey {
        let mut hash = Sha256::new();
        for part in [verb, resource] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        for p in &self.key_parameters {
            let (kind, name, values): (u8, &str, Vec<&str>) = match p {
                KeyParameter::Query(n) => (b'q', n, values(query, n, false)),
                KeyParameter::Header(n) => (b'h', n, values(headers, n, true)),
                KeyParameter::Path(n) => (b'p', n, values(path, n, false)),
            };
            hash.update([kind]);
            hash.update(name.as_bytes());
            for v in values {
                hash.update([1]);
                hash.update(v.as_bytes());
            }
            hash.update([0]);
        }
        let digest: [u8; 32] = hash.finalize().into();
        let slot = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % self.capacity;
        EntryKey { shared: format!("{}{slot}", self.prefix), digest }
    }

    /// The same cache under slots of its own (a canary that does not use the stage cache).
    pub fn separate(&mut self, suffix: &str) {
        self.prefix = separate_prefix(&self.prefix, suffix);
    }
}

/// The prefix of a cache's slots kept apart under `prefix` (a canary's own cache).
pub fn separate_prefix(prefix: &str, suffix: &str) -> String {
    format!("{prefix}{suffix}.")
}

/// Shared-data key prefix of a stage's cache slots.
pub fn stage_prefix(api: &str, stage: &str) -> String {
    format!("tollgate.cache.{api}.{stage}.")
}

/// Empties every slot of a stage's cache (API Gateway's FlushStageCache); the number emptied.
pub fn flush<H: Host>(host: &mut H, prefix: &str, capacity: u32) -> Result<u32, HostError> {
    let mut emptied = 0;
    for slot in 0..capacity {
        let key = format!("{prefix}{slot}");
        if let (Some(bytes), _) = host.shared_data(&key)? {
            if !bytes.is_empty() {
                host.set_shared_data(&key, &[], None)?;
                emptied += 1;
            }
        }
    }
    Ok(emptied)
}

fn values<'a>(pairs: &'a [(String, String)], name: &str, fold: bool) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(n, _)| if fold { n.eq_ignore_ascii_case(name) } else { n == name })
        .map(|(_, v)| v.as_str())
        .collect()
}

/// A request's path parameters, query parameters or headers, in order.
pub type Pairs<'a> = &'a [(String, String)];

/// Where an entry lives and which request it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryKey {
    pub shared: String,
    pub digest: [u8; 32],
}

/// A cached response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Headers that describe one transfer, not the response: never stored.
fn storable(name: &str) -> bool {
    !name.starts_with(':')
        && !matches!(
            name,
            "content-length"
                | "transfer-encoding"
                | "connection"
                | "date"
                | "x-tollgate-cache"
                | "x-amzn-requestid"
                | "x-envoy-upstream-service-time"
        )
}

/// The live entry for `key`, if any (an expired one, or another key's in the slot, is none).
pub fn lookup<H: Host>(host: &H, key: &EntryKey, now_ms: u64) -> Result<Option<Entry>, HostError> {
    let (Some(bytes), _) = host.shared_data(&key.shared)? else { return Ok(None) };
    Ok(decode(&bytes, key, now_ms))
}

/// Stores a response for `ttl_seconds`; `false` when it is not stored (too large).
pub fn store<H: Host>(
    host: &mut H,
    key: &EntryKey,
    entry: &Entry,
    ttl_seconds: u32,
    max_body: u32,
    now_ms: u64,
) -> Result<bool, HostError> {
    if entry.body.len() > max_body as usize {
        return Ok(false);
    }
    let expires = now_ms.saturating_add(u64::from(ttl_seconds) * 1000);
    let headers: Vec<(&str, &str)> = entry
        .headers
        .iter()
        .filter(|(n, _)| storable(n))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let head = serde_json::to_vec(&headers).unwrap_or_default();
    let mut bytes = Vec::with_capacity(32 + 8 + 2 + 4 + head.len() + entry.body.len());
    bytes.extend_from_slice(&key.digest);
    bytes.extend_from_slice(&expires.to_be_bytes());
    bytes.extend_from_slice(&entry.status.to_be_bytes());
    bytes.extend_from_slice(&u32::try_from(head.len()).unwrap_or(u32::MAX).to_be_bytes());
    bytes.extend_from_slice(&head);
    bytes.extend_from_slice(&entry.body);
    // Last writer wins: an entry is a whole response, never merged.
    host.set_shared_data(&key.shared, &bytes, None)?;
    Ok(true)
}

fn decode(bytes: &[u8], key: &EntryKey, now_ms: u64) -> Option<Entry> {
    let digest = bytes.get(..32)?;
    if digest != key.digest {
        return None;
    }
    let expires = u64::from_be_bytes(bytes.get(32..40)?.try_into().ok()?);
    if expires <= now_ms {
        return None;
    }
    let status = u16::from_be_bytes(bytes.get(40..42)?.try_into().ok()?);
    let head_len = u32::from_be_bytes(bytes.get(42..46)?.try_into().ok()?) as usize;
    let head = bytes.get(46..46usize.checked_add(head_len)?)?;
    let headers: Vec<(String, String)> = serde_json::from_slice(head).ok()?;
    let body = bytes.get(46 + head_len..)?.to_vec();
    Some(Entry { status, headers, body })
}

/// Whether a request's `Cache-Control` asks for a fresh answer (`max-age=0`).
pub fn wants_refresh(cache_control: Option<&[u8]>) -> bool {
    cache_control
        .map(String::from_utf8_lossy)
        .is_some_and(|v| v.split(',').any(|d| d.trim().eq_ignore_ascii_case("max-age=0")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::memory::MemoryHost;
    use crate::test_support::test;

    fn plan(params: &[&str]) -> CachePlan {
        let method: Method = serde_json::from_value(serde_json::json!({
            "resource": "/pets", "http_method": "GET",
            "cache": {"key_parameters": params},
        }))
        .unwrap();
        let stage = StageCache { enabled: true, capacity: 64, ..StageCache::default() };
        CachePlan::compile(Some(&stage), &method, ("api", "prod"), "methods[0]").unwrap().unwrap()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn keys_vary_with_key_parameters_only() {
        let p = plan(&["method.request.querystring.type", "method.request.header.X-Tenant"]);
        let key = |query: &[(&str, &str)], headers: &[(&str, &str)]| {
            p.key("GET", "/pets", (&[], &pairs(query), &pairs(headers)))
        };
        let base = key(&[("type", "dog")], &[("x-tenant", "a")]);
        assert_eq!(
            base,
            key(&[("type", "dog"), ("page", "2")], &[("X-Tenant", "a"), ("x-other", "1")])
        );
        assert_ne!(base, key(&[("type", "cat")], &[("x-tenant", "a")]));
        assert_ne!(base, key(&[("type", "dog")], &[("x-tenant", "b")]));
        assert_ne!(base, key(&[], &[("x-tenant", "a")]));
        assert_ne!(
            base.digest,
            p.key("HEAD", "/pets", (&[], &pairs(&[("type", "dog")]), &pairs(&[("x-tenant", "a")])))
                .digest
        );
        assert!(base.shared.starts_with("tollgate.cache.api.prod."));
    }

    #[test]
    fn entries_live_for_their_ttl_and_only_for_their_key() {
        let p = plan(&["method.request.querystring.type"]);
        let mut host = MemoryHost::default();
        let dog = p.key("GET", "/pets", (&[], &pairs(&[("type", "dog")]), &[]));
        let entry = Entry {
            status: 200,
            headers: pairs(&[
                ("content-type", "application/json"),
                ("content-length", "2"),
                ("x-a", "1"),
            ]),
            body: b"[]".to_vec(),
        };
        assert!(store(&mut host, &dog, &entry, 10, 1024, 1_000).unwrap());
        let got = lookup(&host, &dog, 5_000).unwrap().unwrap();
        assert_eq!(got.body, b"[]");
        assert_eq!(got.headers, pairs(&[("content-type", "application/json"), ("x-a", "1")]));
        assert_eq!(lookup(&host, &dog, 11_000).unwrap(), None, "expired");
        let mut other = dog.clone();
        other.digest[0] ^= 1;
        assert_eq!(lookup(&host, &other, 5_000).unwrap(), None, "another key in the slot");
        let big = Entry { body: vec![0; 2048], ..entry };
        assert!(!store(&mut host, &dog, &big, 10, 1024, 1_000).unwrap());
    }

    #[test]
    fn settings_follow_aws() {
        let method = |verb: &str, cache: serde_json::Value| -> Method {
            serde_json::from_value(
                serde_json::json!({"resource": "/a", "http_method": verb, "cache": cache}),
            )
            .unwrap()
        };
        let stage = StageCache { enabled: true, ..StageCache::default() };
        let compiled = |m: &Method| CachePlan::compile(Some(&stage), m, ("a", "s"), "m").unwrap();
        assert!(compiled(&method("GET", serde_json::json!({}))).is_some());
        assert!(compiled(&method("POST", serde_json::json!({}))).is_none(), "GET only by default");
        assert!(compiled(&method("POST", serde_json::json!({"enabled": true}))).is_some());
        assert!(compiled(&method("GET", serde_json::json!({"ttl_seconds": 0}))).is_none());
        let err = CachePlan::compile(
            Some(&stage),
            &method("GET", serde_json::json!({"ttl_seconds": 4000})),
            ("a", "s"),
            "m",
        )
        .unwrap_err();
        assert_eq!(err.path, "m.cache.ttl_seconds");
        let err = CachePlan::compile(
            Some(&stage),
            &method("GET", serde_json::json!({"key_parameters": ["q"]})),
            ("a", "s"),
            "m",
        )
        .unwrap_err();
        assert_eq!(err.path, "m.cache.key_parameters[0]");
        let err = CachePlan::compile(None, &method("GET", serde_json::json!({})), ("a", "s"), "m")
            .unwrap_err();
        assert_eq!(err.path, "m.cache");
        assert!(wants_refresh(Some(b"no-store, Max-Age=0")));
        assert!(!wants_refresh(Some(b"max-age=10")));
    }
}
