//! Throttling and quotas as on AWS: usage-plan per-method, usage plan, stage per-method, stage and
//! account token buckets, then the usage plan's quota. [`Limits`] is the compiled form; it names
//! the shared-data key of every bucket: one per (plan, key, method override), per stage method,
//! per stage and per account, never one per window.

pub mod admit;
pub mod bucket;
pub mod global;
pub mod lease;
pub mod quota;
pub mod rls;

use std::collections::BTreeMap;

use crate::config::{Config, ConfigError, Stage, Throttle};
use crate::routes::MethodId;
use admit::{BucketSlot, QuotaSlot};
use bucket::Limit;
use global::{GlobalService, GlobalSlot, LocalTwin};
use quota::Period;

const ACCOUNT_KEY: &str = "tg|account";

#[derive(Debug, Clone, PartialEq)]
pub struct PlanLimits {
    pub id: String,
    /// Whether the plan covers this config's API stage.
    pub covers_stage: bool,
    throttle: Option<Limit>,
    quota: Option<(u64, Period, u32)>,
    /// Per-method overrides for this stage, by [`MethodId`].
    methods: Vec<Option<Limit>>,
    /// Counted by the rate-limit service for the whole fleet.
    pub global: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Limits {
    account: Option<BucketSlot>,
    stage: Option<BucketSlot>,
    stage_methods: Vec<Option<BucketSlot>>,
    /// `{api}|{stage}|{resource}/{METHOD}` by [`MethodId`].
    method_keys: Vec<String>,
    /// `{resource}/{METHOD}` by [`MethodId`].
    method_names: Vec<String>,
    pub plans: Vec<PlanLimits>,
    /// The rate-limit service of global plans.
    pub service: Option<GlobalService>,
    api_id: String,
    stage_name: String,
}

/// Buckets and quota one request must fit in, in AWS order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Slots {
    pub buckets: Vec<BucketSlot>,
    pub quota: Option<QuotaSlot>,
    /// A global plan's slots, counted by the rate-limit service (before `buckets`).
    pub global: Vec<GlobalSlot>,
}

fn limit(t: &Throttle, path: &str) -> Result<Limit, ConfigError> {
    if !t.rate.is_finite() || t.rate < 0.0 {
        return Err(ConfigError::new(
            format!("{path}.rate"),
            "must be a number of requests per second >= 0",
        ));
    }
    if t.burst > 1_000_000_000 {
        return Err(ConfigError::new(format!("{path}.burst"), "must be at most 1,000,000,000"));
    }
    Ok(Limit::new(t.rate, t.burst))
}

/// `{resource}/{METHOD}` as AWS names a method in throttle settings.
pub fn method_key(m: &crate::config::Method) -> String {
    format!("{}/{}", m.resource, m.http_method)
}

/// Resolves AWS-style per-method keys (`/pets/GET`, `/pets/{petId}/*`) to one limit per method;
/// a key that names no configured method is an error (a typo would silently do nothing).
fn per_method(
    overrides: &BTreeMap<String, Throttle>,
    methods: &[crate::config::Method],
    path: &str,
) -> Result<Vec<Option<Limit>>, ConfigError> {
    let mut out = vec![None; methods.len()];
    for (key, throttle) in overrides {
        let field = format!("{path}.{key}");
        let lim = limit(throttle, &field)?;
        let (resource, verb) = key.rsplit_once('/').ok_or_else(|| {
            ConfigError::new(&field, "a method key is `/resource/METHOD` or `/resource/*`")
        })?;
        let resource = if resource.is_empty() { "/" } else { resource };
        let mut matched = false;
        for (slot, m) in out.iter_mut().zip(methods) {
            if m.resource != resource {
                continue;
            }
            if m.http_method == verb {
                *slot = Some(lim);
                matched = true;
            } else if verb == "*" {
                slot.get_or_insert(lim);
                matched = true;
            }
        }
        if !matched {
            return Err(ConfigError::new(field, "names no configured method"));
        }
    }
    Ok(out)
}

impl Limits {
    /// The limits of `config` served as `stage` (one of its stages), one per method in the
    /// order of `config.methods`.
    pub fn compile<K>(config: &Config<K>, stage: &Stage) -> Result<Limits, ConfigError> {
        let methods = &config.methods;
        let api = &config.api.id;
        let stage_config = stage;
        let stage = &stage_config.name;
        let account = match &config.account_throttle {
            Some(t) => Some(BucketSlot::new(ACCOUNT_KEY.into(), limit(t, "account_throttle")?)),
            None => None,
        };
        let stage_bucket = match &stage_config.throttle {
            Some(t) => {
                Some(BucketSlot::new(format!("tg|s|{api}|{stage}"), limit(t, "stage.throttle")?))
            }
            None => None,
        };
        let method_names: Vec<String> = methods.iter().map(method_key).collect();
        let method_keys: Vec<String> =
            method_names.iter().map(|m| format!("{api}|{stage}|{m}")).collect();
        let service = match &config.rate_limit_service {
            Some(s) => Some(GlobalService::compile(s)?),
            None => None,
        };
        let stage_methods =
            per_method(&stage_config.method_throttles, methods, "stage.method_throttles")?
                .into_iter()
                .zip(&method_keys)
                .map(|(lim, mk)| lim.map(|limit| BucketSlot::new(format!("tg|sm|{mk}"), limit)))
                .collect();
        let mut plans: Vec<PlanLimits> = Vec::with_capacity(config.usage_plans.len());
        for (i, p) in config.usage_plans.iter().enumerate() {
            let path = format!("usage_plans[{i}]");
            if !crate::text::is_id(&p.id) {
                return Err(ConfigError::new(format!("{path}.id"), crate::text::ID_RULE));
            }
            if let Some(first) = plans.iter().position(|q| q.id == p.id) {
                return Err(ConfigError::new(
                    format!("{path}.id"),
                    format!("`{}` is already the id of usage_plans[{first}]", p.id),
                ));
            }
            let throttle = match &p.throttle {
                Some(t) => Some(limit(t, &format!("{path}.throttle"))?),
                None => None,
            };
            let quota = match p.quota {
                Some(q) if q.offset > q.period.max_offset() => {
                    return Err(ConfigError::new(
                        format!("{path}.quota.offset"),
                        format!("{:?} allows an offset of 0-{}", q.period, q.period.max_offset()),
                    ))
                }
                Some(q) => Some((q.limit, q.period, q.offset)),
                None => None,
            };
            if p.global && service.is_none() {
                return Err(ConfigError::new(
                    format!("{path}.global"),
                    "a global usage plan needs `rate_limit_service`",
                ));
            }
            let mut covers_stage = false;
            let mut plan_methods = vec![None; methods.len()];
            for (j, s) in p.api_stages.iter().enumerate() {
                let stage_path = format!("{path}.api_stages[{j}]");
                if s.api_id == *api && s.stage == *stage {
                    if covers_stage {
                        return Err(ConfigError::new(stage_path, "lists this API stage twice"));
                    }
                    covers_stage = true;
                    plan_methods = per_method(
                        &s.method_throttles,
                        methods,
                        &format!("{stage_path}.method_throttles"),
                    )?;
                }
            }
            plans.push(PlanLimits {
                id: p.id.clone(),
                covers_stage,
                throttle,
                quota,
                methods: plan_methods,
                global: p.global,
            });
        }
        Ok(Limits {
            account,
            stage: stage_bucket,
            stage_methods,
            method_keys,
            method_names,
            plans,
            service,
            api_id: api.clone(),
            stage_name: stage.clone(),
        })
    }

    pub fn plan_index(&self, id: &str) -> Option<usize> {
        self.plans.iter().position(|p| p.id == id)
    }

    /// The buckets and quota for `method`, called with `key` = (key id, its plan for this stage).
    pub fn slots(&self, method: MethodId, key: Option<(&str, usize)>) -> Slots {
        let mut slots = Slots::default();
        let plan = key.and_then(|(id, p)| self.plans.get(p).map(|plan| (id, plan)));
        if let Some((key_id, plan)) = plan {
            let global = self.service.as_ref().filter(|_| plan.global);
            let name = self.method_names.get(method).map_or("", String::as_str);
            let who = [
                (global::ENTRY_API, self.api_id.as_str()),
                (global::ENTRY_STAGE, self.stage_name.as_str()),
                (global::ENTRY_PLAN, plan.id.as_str()),
                (global::ENTRY_KEY, key_id),
                (global::ENTRY_METHOD, name),
            ];
            if let Some(limit) = plan.methods.get(method).copied().flatten() {
                let mk = self.method_keys.get(method).map_or("", String::as_str);
                let b = BucketSlot::new(slot_key(&["tg|pm", &plan.id, key_id, mk]), limit);
                match global {
                    Some(service) => slots.global.push(GlobalSlot::new(
                        LocalTwin::Bucket(b),
                        global::KIND_METHOD_THROTTLE,
                        &who,
                        service,
                    )),
                    None => slots.buckets.push(b),
                }
            }
            if let Some(limit) = plan.throttle {
                let b = BucketSlot::new(slot_key(&["tg|p", &plan.id, key_id]), limit);
                match global {
                    Some(service) => slots.global.push(GlobalSlot::new(
                        LocalTwin::Bucket(b),
                        global::KIND_THROTTLE,
                        &who,
                        service,
                    )),
                    None => slots.buckets.push(b),
                }
            }
            if let Some((limit, period, offset)) = plan.quota {
                let q = QuotaSlot::new(quota_key(&plan.id, key_id), limit, period, offset);
                match global {
                    Some(service) => slots.global.push(GlobalSlot::new(
                        LocalTwin::Quota(q),
                        global::KIND_QUOTA,
                        &who,
                        service,
                    )),
                    None => slots.quota = Some(q),
                }
            }
        }
        // Stage and account buckets: per Envoy, or counted by the service (`global_throttles`).
        let service = self.service.as_ref().filter(|s| s.throttles);
        let name = self.method_names.get(method).map_or("", String::as_str);
        let stage = [
            (global::ENTRY_API, self.api_id.as_str()),
            (global::ENTRY_STAGE, self.stage_name.as_str()),
        ];
        let stage_method = [stage[0], stage[1], (global::ENTRY_METHOD, name)];
        let buckets = [
            (
                self.stage_methods.get(method).cloned().flatten(),
                global::KIND_STAGE_METHOD_THROTTLE,
                &stage_method[..],
            ),
            (self.stage.clone(), global::KIND_STAGE_THROTTLE, &stage[..]),
            (self.account.clone(), global::KIND_ACCOUNT_THROTTLE, &[][..]),
        ];
        for (bucket, kind, who) in buckets {
            match (bucket, service) {
                (Some(b), Some(service)) => {
                    slots.global.push(GlobalSlot::new(LocalTwin::Bucket(b), kind, who, service))
                }
                (Some(b), None) => slots.buckets.push(b),
                (None, _) => {}
            }
        }
        slots
    }
}

/// The shared-data key of a key's quota counter in a usage plan (every stage of the plan).
pub fn quota_key(plan_id: &str, key_id: &str) -> String {
    slot_key(&["tg|q", plan_id, key_id])
}

/// `parts` joined by `|`: a per-request key built without the formatting machinery.
fn slot_key(parts: &[&str]) -> String {
    let mut key = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            key.push('|');
        }
        key.push_str(part);
    }
    key
}

/// Two integers as the 16 bytes stored in shared data (little endian).
fn pack(a: u64, b: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    let (first, second) = out.split_at_mut(8);
    first.copy_from_slice(&a.to_le_bytes());
    second.copy_from_slice(&b.to_le_bytes());
    out
}

/// The two integers of [`pack`]; `None` unless exactly 16 bytes.
fn unpack(bytes: &[u8]) -> Option<(u64, u64)> {
    let (a, b) = <&[u8; 16]>::try_from(bytes).ok()?.split_at(8);
    Some((u64::from_le_bytes(a.try_into().ok()?), u64::from_le_bytes(b.try_into().ok()?)))
}

#[cfg(test)]
mod tests {
    use crate::plan::Plan;
    use crate::test_support::test;

    fn plan(extra: serde_json::Value) -> Result<Plan, crate::config::ConfigError> {
        let mut config = serde_json::json!({
            "api": {"id": "petstore"},
            "stage": {"name": "prod"},
            "methods": [
                {"resource": "/pets", "http_method": "GET", "api_key_required": true},
                {"resource": "/pets", "http_method": "POST", "api_key_required": true},
                {"resource": "/pets/{petId}", "http_method": "GET", "api_key_required": true},
            ],
        });
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        Plan::from_json(config.to_string().as_bytes())
    }

    #[test]
    fn slots_follow_aws_order_with_bounded_keys() {
        let p = plan(serde_json::json!({
            "stage": {"name": "prod", "throttle": {"rate": 100, "burst": 200},
                      "method_throttles": {"/pets/POST": {"rate": 5, "burst": 5}}},
            "usage_plans": [{"id": "basic", "throttle": {"rate": 1.5, "burst": 3},
                "quota": {"limit": 5, "period": "DAY"},
                "api_stages": [{"api_id": "petstore", "stage": "prod",
                                "method_throttles": {"/pets/*": {"rate": 1, "burst": 1}}}]}],
        }))
        .unwrap();
        let keys: Vec<String> =
            p.limits.slots(1, Some(("k1", 0))).buckets.into_iter().map(|b| b.key).collect();
        assert_eq!(
            keys,
            [
                "tg|pm|basic|k1|petstore|prod|/pets/POST",
                "tg|p|basic|k1",
                "tg|sm|petstore|prod|/pets/POST",
                "tg|s|petstore|prod",
                "tg|account",
            ]
        );
        let slots = p.limits.slots(2, Some(("k1", 0)));
        assert_eq!(slots.buckets.len(), 3, "no per-method override for /pets/{{petId}}");
        assert_eq!(slots.quota.unwrap().key, "tg|q|basic|k1");
        assert_eq!(p.limits.slots(2, None).buckets.len(), 2, "no key: stage and account only");
    }

    #[test]
    fn account_throttle_can_be_turned_off() {
        let p = plan(serde_json::json!({"account_throttle": null})).unwrap();
        assert!(p.limits.slots(0, None).buckets.is_empty());
    }

    #[test]
    fn bad_limits_name_their_field() {
        let cases = [
            (
                serde_json::json!({"account_throttle": {"rate": -1, "burst": 1}}),
                "account_throttle.rate",
            ),
            (
                serde_json::json!({"stage": {"name": "prod", "method_throttles": {"/cats/GET": {"rate": 1, "burst": 1}}}}),
                "stage.method_throttles./cats/GET",
            ),
            (
                serde_json::json!({"stage": {"name": "prod", "method_throttles": {"GET": {"rate": 1, "burst": 1}}}}),
                "stage.method_throttles.GET",
            ),
            (
                serde_json::json!({"usage_plans": [{"id": "a", "quota": {"limit": 1, "period": "WEEK", "offset": 7}}]}),
                "usage_plans[0].quota.offset",
            ),
            (serde_json::json!({"usage_plans": [{"id": "a"}, {"id": "a"}]}), "usage_plans[1].id"),
            (serde_json::json!({"usage_plans": [{"id": "a|b"}]}), "usage_plans[0].id"),
            (
                serde_json::json!({"usage_plans": [{"id": "a", "quota": {"limit": 1, "period": "YEAR"}}]}),
                "usage_plans[0].quota.period",
            ),
            (
                serde_json::json!({"usage_plans": [{"id": "a", "api_stages": [
                {"api_id": "petstore", "stage": "prod"}, {"api_id": "petstore", "stage": "prod"}]}]}),
                "usage_plans[0].api_stages[1]",
            ),
            (
                serde_json::json!({"api_keys": [{"id": "k", "value_sha256": "0".repeat(64), "usage_plan_ids": ["nope"]}]}),
                "api_keys[0].usage_plan_ids[0]",
            ),
            (
                serde_json::json!({
                "usage_plans": [{"id": "a", "api_stages": [{"api_id": "petstore", "stage": "prod"}]},
                                {"id": "b", "api_stages": [{"api_id": "petstore", "stage": "prod"}]}],
                "api_keys": [{"id": "k", "value_sha256": "0".repeat(64), "usage_plan_ids": ["a", "b"]}]}),
                "api_keys[0].usage_plan_ids[1]",
            ),
        ];
        for (extra, path) in cases {
            let err = plan(extra.clone()).unwrap_err();
            assert_eq!(err.path, path, "{extra}: {err}");
        }
    }

    #[test]
    fn a_key_may_be_in_plans_for_other_stages() {
        let p = plan(serde_json::json!({
            "usage_plans": [{"id": "dev", "api_stages": [{"api_id": "petstore", "stage": "dev"}]},
                            {"id": "prod", "api_stages": [{"api_id": "petstore", "stage": "prod"}]}],
            "api_keys": [{"id": "k", "value_sha256": "0".repeat(64), "usage_plan_ids": ["dev", "prod"]}],
        }))
        .unwrap();
        assert_eq!(p.keys.key(0).unwrap().plan, Some(1));
    }
}
