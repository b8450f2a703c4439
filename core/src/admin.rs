//! The management routes an operator calls on the admin listener (the Envoy route named
//! [`ROUTE_NAME`], bound to loopback by the rendered config), answered by the filter from shared
//! data, in the shape of the API Gateway operations they mirror:
//!
//! - `GET /usageplans/{planId}/usage[?keyId=ID]`: GetUsage for the current quota window.
//! - `DELETE /restapis/{apiId}/stages/{stage}/cache/data`: FlushStageCache.
//!
//! GetUsage of a global usage plan is asked of the rate-limit service ([`global_usage_call`]):
//! the fleet's count, kept in its store.
//!
//! Every call needs an admin key (`x-tollgate-admin-key`) of the config's `admin.keys`.

use serde_json::json;
use subtle::ConstantTimeEq;

use std::rc::Rc;

use crate::apikey::{hash_key, parse_hex_hash, KeyHash};
use crate::config::{Config, ConfigError, KeyTable, StageCache};
use crate::gateway_response::LocalReply;
use crate::host::Host;
use crate::throttle::global::{self, GlobalService};
use crate::throttle::quota::{civil_from_days, window, Counter, Period};

/// The Envoy route name under which requests are management calls.
pub const ROUTE_NAME: &str = "tollgate.admin";
/// The request header with the admin key.
pub const KEY_HEADER: &str = "x-tollgate-admin-key";

/// A stage cache's slot prefixes (the stage's, and a canary's own) and its capacity.
type CacheSlots = (Vec<String>, u32);

/// The management side of a config, compiled once.
#[derive(Debug, Clone)]
pub struct AdminPlan {
    api_id: String,
    keys: Vec<KeyHash>,
    plans: Vec<PlanUsage>,
    /// The config's API keys, which every stage's plan shares.
    api_keys: Rc<KeyTable>,
    /// Every API key's number, sorted by id (usage of a key that has left a plan is still its
    /// usage).
    key_ids: Vec<usize>,
    stages: Vec<(String, Option<CacheSlots>)>,
    service: Option<GlobalService>,
    /// Keys live in the key store: the filter knows none, so a usage read names its key.
    store: bool,
}

#[derive(Debug, Clone)]
struct PlanUsage {
    id: String,
    quota: Option<(u64, Period, u32)>,
    /// Numbers of the keys in the plan ([`KeyTable`]), in config order.
    keys: Vec<usize>,
    /// Counted by the rate-limit service.
    global: bool,
}

impl AdminPlan {
    /// `None` when the config has no `admin` section (no management routes at all). `keys`
    /// holds the config's API keys (`config.api_keys` is not read).
    pub fn compile<K>(
        config: &Config<K>,
        keys: &Rc<KeyTable>,
    ) -> Result<Option<AdminPlan>, ConfigError> {
        let Some(admin) = &config.admin else { return Ok(None) };
        let api_keys = Rc::clone(keys);
        let mut keys = Vec::with_capacity(admin.keys.len());
        for (i, k) in admin.keys.iter().enumerate() {
            if !crate::text::is_id(&k.id) {
                return Err(ConfigError::new(format!("admin.keys[{i}].id"), crate::text::ID_RULE));
            }
            let hash = parse_hex_hash(&k.value_sha256).ok_or_else(|| {
                ConfigError::new(
                    format!("admin.keys[{i}].value_sha256"),
                    "must be 64 hex digits (`tollgate hash-key VALUE` prints them)",
                )
            })?;
            keys.push(hash);
        }
        let plans = config
            .usage_plans
            .iter()
            .map(|p| {
                let number = api_keys.plan_number(&p.id);
                PlanUsage {
                    id: p.id.clone(),
                    quota: p.quota.map(|q| (q.limit, q.period, q.offset)),
                    keys: (0..api_keys.len())
                        .filter(|&n| number.is_some_and(|plan| api_keys.plans(n).contains(&plan)))
                        .collect(),
                    global: p.global,
                }
            })
            .collect();
        let key_ids = api_keys.by_id();
        let stages = if config.stages.is_empty() {
            vec![&config.stage]
        } else {
            config.stages.iter().collect()
        };
        let stages = stages
            .into_iter()
            .map(|s| {
                let slots = s.cache.as_ref().map(|c: &StageCache| {
                    let prefix = crate::cache::stage_prefix(&config.api.id, &s.name);
                    // A canary's own cache (`use_stage_cache: false`) goes with the stage's.
                    let canary = s.canary.as_ref().filter(|c| !c.use_stage_cache);
                    let own = canary.map(|_| crate::cache::separate_prefix(&prefix, "canary"));
                    (std::iter::once(prefix).chain(own).collect(), c.capacity)
                });
                (s.name.clone(), slots)
            })
            .collect();
        let service = match &config.rate_limit_service {
            Some(s) => Some(GlobalService::compile(s)?),
            None => None,
        };
        Ok(Some(AdminPlan {
            api_id: config.api.id.clone(),
            keys,
            plans,
            api_keys,
            key_ids,
            stages,
            service,
            store: config.api_key_store.is_some(),
        }))
    }

    fn authorized(&self, presented: Option<&[u8]>) -> bool {
        let Some(presented) = presented.filter(|p| !p.is_empty()) else { return false };
        let hash = hash_key(presented);
        // Every key is compared, in constant time, so timing tells nothing about which matched.
        self.keys.iter().fold(false, |found, k| found | bool::from(k.ct_eq(&hash)))
    }
}

fn reply(status: u16, body: serde_json::Value) -> LocalReply {
    LocalReply {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::to_vec(&body).unwrap_or_default(),
    }
}

fn message(status: u16, text: &str) -> LocalReply {
    reply(status, json!({ "message": text }))
}

/// Answers one management call.
pub fn handle<H: Host>(
    admin: &AdminPlan,
    host: &mut H,
    method: &str,
    target: &str,
    admin_key: Option<&[u8]>,
) -> LocalReply {
    if !admin.authorized(admin_key) {
        return message(403, "Forbidden");
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["usageplans", plan, "usage"]) => usage(admin, host, plan, query),
        ("DELETE", ["restapis", api, "stages", stage, "cache", "data"]) => {
            flush(admin, host, api, stage)
        }
        (_, ["usageplans", _, "usage"]) | (_, ["restapis", _, "stages", _, "cache", "data"]) => {
            message(405, "Method Not Allowed")
        }
        _ => message(404, "Not Found"),
    }
}

fn query_value<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').filter_map(|p| p.split_once('=')).find(|(n, _)| *n == name).map(|(_, v)| v)
}

fn date(secs: u64) -> String {
    let (y, m, d) = civil_from_days(secs / 86_400);
    format!("{y:04}-{m:02}-{d:02}")
}

/// What a GetUsage reads: the plan, its quota and the keys asked for.
struct UsageTarget<'a> {
    plan: &'a PlanUsage,
    quota: (u64, Period, u32),
    keys: Vec<&'a str>,
}

fn usage_target<'a>(
    admin: &'a AdminPlan,
    plan_id: &str,
    query: &'a str,
) -> Result<UsageTarget<'a>, LocalReply> {
    let Some(plan) = admin.plans.iter().find(|p| p.id == plan_id) else {
        return Err(message(404, "Invalid Usage Plan ID specified"));
    };
    let Some(quota) = plan.quota else {
        return Err(message(400, "The usage plan has no quota: usage is counted against a quota"));
    };
    let keys = match query_value(query, "keyId") {
        // The store's keys are not known here: any key id is counted as asked (a key that
        // never used the plan has used nothing of it).
        Some(id) if admin.store => {
            if !crate::text::is_id(id) {
                return Err(message(404, "Invalid API Key identifier specified"));
            }
            vec![id]
        }
        None if admin.store => {
            return Err(message(
                400,
                "API keys are in the key store: name one with ?keyId= (tollgate usage --key)",
            ))
        }
        // A key moved to another plan keeps what it used in this one.
        Some(id) => {
            let ids = &admin.api_keys;
            match admin.key_ids.binary_search_by(|&n| ids.id(n).unwrap_or_default().cmp(id)) {
                Ok(i) => admin.key_ids.get(i).and_then(|&n| ids.id(n)).into_iter().collect(),
                Err(_) => return Err(message(404, "Invalid API Key identifier specified")),
            }
        }
        None => plan.keys.iter().filter_map(|&n| admin.api_keys.id(n)).collect(),
    };
    Ok(UsageTarget { plan, quota, keys })
}

/// The GetUsage answer for `used` per key.
fn usage_reply_for(target: &UsageTarget<'_>, used: &[u64], start: u64, end: u64) -> LocalReply {
    let (limit, period, offset) = target.quota;
    let mut items = serde_json::Map::new();
    for (key, used) in target.keys.iter().zip(used) {
        items.insert((*key).to_string(), json!([[used, limit.saturating_sub(*used)]]));
    }
    reply(
        200,
        json!({
            "usagePlanId": target.plan.id,
            "startDate": date(start),
            "endDate": date(end.saturating_sub(1)),
            "quota": {"limit": limit, "period": period, "offset": offset},
            "items": items,
        }),
    )
}

/// GetUsage: `[[used, remaining]]` per key of the plan, for the quota window now running.
fn usage<H: Host>(admin: &AdminPlan, host: &H, plan_id: &str, query: &str) -> LocalReply {
    let target = match usage_target(admin, plan_id, query) {
        Ok(target) => target,
        Err(reply) => return reply,
    };
    let (_, period, offset) = target.quota;
    let now = host.now_nanos() / 1_000_000_000;
    let (start, end) = window(period, offset, now);
    let mut used = Vec::with_capacity(target.keys.len());
    for key in &target.keys {
        let slot = crate::throttle::quota_key(&target.plan.id, key);
        used.push(match host.shared_data(&slot) {
            Ok((Some(bytes), _)) => Counter::decode(&bytes).map_or(0, |c| c.in_window(start).used),
            Ok((None, _)) => 0,
            Err(_) => return message(500, "Internal server error"),
        });
    }
    usage_reply_for(&target, &used, start, end)
}

/// A GetUsage of a global plan, asked of the rate-limit service.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageCall {
    pub cluster: String,
    pub timeout_ms: u32,
    /// The encoded `RateLimitRequest` (counts nothing).
    pub body: Vec<u8>,
    plan: String,
    query: String,
    window: (u64, u64),
}

impl UsageCall {
    /// The call to the rate-limit service, as the filter sends every callout.
    pub fn callout(&self) -> crate::pipeline::Callout {
        let method = (crate::throttle::rls::SERVICE, crate::throttle::rls::METHOD);
        crate::pipeline::Callout::grpc(&self.cluster, method, self.body.clone(), self.timeout_ms)
    }
}

/// `Some` for an authorized GetUsage of a global plan that can be answered: send
/// [`UsageCall::body`] to the service and answer with [`global_usage_reply`]. Every other
/// call is answered by [`handle`].
pub fn global_usage_call(
    admin: &AdminPlan,
    method: &str,
    target: &str,
    admin_key: Option<&[u8]>,
    now_secs: u64,
) -> Option<UsageCall> {
    let service = admin.service.as_ref()?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let ("GET", ["usageplans", plan_id, "usage"]) = (method, segments.as_slice()) else {
        return None;
    };
    if !admin.plans.iter().any(|p| p.id == *plan_id && p.global) || !admin.authorized(admin_key) {
        return None;
    }
    let found = usage_target(admin, plan_id, query).ok()?;
    let (_, period, offset) = found.quota;
    let (start, end) = window(period, offset, now_secs);
    Some(UsageCall {
        cluster: service.cluster.clone(),
        timeout_ms: service.timeout_ms,
        body: global::usage_request(service, plan_id, &found.keys, start),
        plan: (*plan_id).to_string(),
        query: query.to_string(),
        window: (start, end),
    })
}

/// The GetUsage answer from the service's `response` (`None`: the call failed: 503).
pub fn global_usage_reply(
    admin: &AdminPlan,
    call: &UsageCall,
    response: Option<&[u8]>,
) -> LocalReply {
    let Ok(target) = usage_target(admin, &call.plan, &call.query) else {
        return message(500, "Internal server error");
    };
    let Some(remaining) = global::usage_answer(response, target.keys.len()) else {
        return message(503, "The rate-limit service did not answer");
    };
    let limit = target.quota.0;
    let used: Vec<u64> = remaining.iter().map(|r| limit.saturating_sub(*r)).collect();
    usage_reply_for(&target, &used, call.window.0, call.window.1)
}

/// FlushStageCache: empties every slot of the stage's cache (202, as API Gateway answers).
fn flush<H: Host>(admin: &AdminPlan, host: &mut H, api: &str, stage: &str) -> LocalReply {
    let found = admin.stages.iter().find(|(name, _)| name == stage);
    let Some((_, cache)) = found.filter(|_| api == admin.api_id) else {
        return message(404, "Invalid stage identifier specified");
    };
    let Some((prefixes, capacity)) = cache else {
        return message(400, "The stage has no cache to flush");
    };
    for prefix in prefixes {
        if crate::cache::flush(host, prefix, *capacity).is_err() {
            return message(500, "Internal server error");
        }
    }
    reply(202, json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apikey::hash_key_hex;
    use crate::host::memory::MemoryHost;
    use crate::test_support::test;

    fn admin(extra: serde_json::Value) -> AdminPlan {
        let mut config = json!({
            "api": {"id": "pets"},
            "stage": {"name": "prod", "cache": {"enabled": true, "capacity": 4}},
            "api_keys": [
                {"id": "a", "value_sha256": hash_key_hex(b"ka"), "usage_plan_ids": ["basic"]},
                {"id": "b", "value_sha256": hash_key_hex(b"kb"), "usage_plan_ids": ["basic"]},
                {"id": "c", "value_sha256": hash_key_hex(b"kc"), "usage_plan_ids": ["free"]}
            ],
            "usage_plans": [
                {"id": "basic", "quota": {"limit": 100, "period": "DAY"},
                 "api_stages": [{"api_id": "pets", "stage": "prod"}]},
                {"id": "free", "api_stages": [{"api_id": "pets", "stage": "prod"}]}
            ],
            "admin": {"keys": [{"id": "ops", "value_sha256": hash_key_hex(b"secret")}]}
        });
        if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        let config: Config = serde_json::from_value(config).unwrap();
        let keys = Rc::new(KeyTable::from_keys(&config.api_keys));
        AdminPlan::compile(&config, &keys).unwrap().unwrap()
    }

    fn body(reply: &LocalReply) -> serde_json::Value {
        serde_json::from_slice(&reply.body).unwrap()
    }

    #[test]
    fn every_call_needs_an_admin_key() {
        let admin = admin(json!({}));
        let mut host = MemoryHost::default();
        for key in [None, Some(&b""[..]), Some(&b"ka"[..]), Some(&b"secreT"[..])] {
            let r = handle(&admin, &mut host, "GET", "/usageplans/basic/usage", key);
            assert_eq!((r.status, body(&r)), (403, json!({"message": "Forbidden"})));
        }
        let r = handle(&admin, &mut host, "GET", "/usageplans/basic/usage", Some(b"secret"));
        assert_eq!(r.status, 200);
    }

    #[test]
    fn usage_reads_the_quota_counters_of_the_plan_keys() {
        let admin = admin(json!({}));
        let mut host = MemoryHost::default();
        let now = 20_000 * 86_400 + 3600;
        host.now_nanos = now * 1_000_000_000;
        let counter = Counter { window_start: 20_000 * 86_400, used: 7 };
        host.set_shared_data(&crate::throttle::quota_key("basic", "a"), &counter.encode(), None)
            .unwrap();
        // Yesterday's count is no usage today.
        let old = Counter { window_start: 19_999 * 86_400, used: 50 };
        host.set_shared_data(&crate::throttle::quota_key("basic", "b"), &old.encode(), None)
            .unwrap();
        let r = handle(&admin, &mut host, "GET", "/usageplans/basic/usage", Some(b"secret"));
        let b = body(&r);
        assert_eq!(b["items"], json!({"a": [[7, 93]], "b": [[0, 100]]}));
        assert_eq!(
            (b["startDate"].as_str(), b["endDate"].as_str()),
            (Some("2024-10-04"), Some("2024-10-04"))
        );
        let r =
            handle(&admin, &mut host, "GET", "/usageplans/basic/usage?keyId=a", Some(b"secret"));
        assert_eq!(body(&r)["items"], json!({"a": [[7, 93]]}));
        // A key outside the plan (moved out, or never in it) has its count in this plan.
        let r =
            handle(&admin, &mut host, "GET", "/usageplans/basic/usage?keyId=c", Some(b"secret"));
        assert_eq!((r.status, body(&r)["items"].clone()), (200, json!({"c": [[0, 100]]})));
        let r =
            handle(&admin, &mut host, "GET", "/usageplans/basic/usage?keyId=zz", Some(b"secret"));
        assert_eq!(r.status, 404);
        let r = handle(&admin, &mut host, "GET", "/usageplans/nope/usage", Some(b"secret"));
        assert_eq!(
            (r.status, body(&r)["message"].as_str()),
            (404, Some("Invalid Usage Plan ID specified"))
        );
        let r = handle(&admin, &mut host, "GET", "/usageplans/free/usage", Some(b"secret"));
        assert_eq!(r.status, 400);
    }

    #[test]
    fn with_a_key_store_usage_is_read_per_key() {
        let admin = admin(json!({"api_keys": [], "api_key_store": {"cluster": "keys"}}));
        let mut host = MemoryHost::default();
        let now = 20_000 * 86_400 + 3600;
        host.now_nanos = now * 1_000_000_000;
        let counter = Counter { window_start: 20_000 * 86_400, used: 7 };
        host.set_shared_data(&crate::throttle::quota_key("basic", "acme"), &counter.encode(), None)
            .unwrap();
        let get = |host: &mut MemoryHost, target: &str| {
            handle(&admin, host, "GET", target, Some(b"secret"))
        };
        let r = get(&mut host, "/usageplans/basic/usage?keyId=acme");
        assert_eq!((r.status, body(&r)["items"].clone()), (200, json!({"acme": [[7, 93]]})));
        let r = get(&mut host, "/usageplans/basic/usage?keyId=never-used");
        assert_eq!(body(&r)["items"], json!({"never-used": [[0, 100]]}));
        let r = get(&mut host, "/usageplans/basic/usage");
        assert_eq!(r.status, 400, "the filter cannot list the store's keys");
        assert!(body(&r)["message"].as_str().unwrap().contains("keyId"));
        let r = get(&mut host, "/usageplans/basic/usage?keyId=a%7Cb");
        assert_eq!(r.status, 404);
    }

    #[test]
    fn flush_empties_the_stage_cache() {
        let admin = admin(json!({}));
        let mut host = MemoryHost::default();
        let prefix = crate::cache::stage_prefix("pets", "prod");
        host.set_shared_data(&format!("{prefix}2"), b"entry", None).unwrap();
        let r = handle(
            &admin,
            &mut host,
            "DELETE",
            "/restapis/pets/stages/prod/cache/data",
            Some(b"secret"),
        );
        assert_eq!(r.status, 202);
        let (left, _) = host.shared_data(&format!("{prefix}2")).unwrap();
        assert!(left.unwrap_or_default().is_empty());
        for (target, status) in [
            ("/restapis/pets/stages/dev/cache/data", 404),
            ("/restapis/other/stages/prod/cache/data", 404),
        ] {
            assert_eq!(handle(&admin, &mut host, "DELETE", target, Some(b"secret")).status, status);
        }
        let r = handle(
            &admin,
            &mut host,
            "GET",
            "/restapis/pets/stages/prod/cache/data",
            Some(b"secret"),
        );
        assert_eq!(r.status, 405);
        assert_eq!(handle(&admin, &mut host, "GET", "/keys", Some(b"secret")).status, 404);
    }

    #[test]
    fn bad_admin_keys_name_their_field() {
        let config: Config = serde_json::from_value(json!({
            "api": {"id": "pets"},
            "admin": {"keys": [{"id": "ops", "value_sha256": "abc"}]}
        }))
        .unwrap();
        let err = AdminPlan::compile(&config, &Rc::default()).unwrap_err();
        assert!(err.to_string().contains("admin.keys[0].value_sha256"), "{err}");
    }
}
