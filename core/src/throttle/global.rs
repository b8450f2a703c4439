//! Global usage plans: a plan marked `global` is counted by a rate-limit service (Envoy's
//! `ShouldRateLimit` protocol) for the whole Envoy fleet instead of in one Envoy's shared data.
//!
//! Per request: the plan's slots (per-method throttle, throttle, quota) are spent from the
//! worker's [`Leases`] as in local mode; a slot whose lease is empty is asked for, all empty
//! slots in one call, with `hits_addend` = the lease size (a batch of units the worker then
//! spends locally). The service counts all descriptors of a call or none. A refused batch is
//! asked again with 1 unit, so the last units of a limit are not lost to the batching.
//!
//! Precision: a quota never admits more than its limit across the fleet; units leased and
//! unspent at the end of a window are not used (about `batch − 1` per worker; more when several
//! requests of one worker find its lease empty at once, as each asks for a batch). A throttle is
//! a fixed window of `burst` requests per `burst / rate` seconds in the service.

use prost::Message;

use super::admit::{BucketSlot, QuotaSlot, Usage};
use super::bucket::Limit;
use super::lease::{Lease, Leases, BUCKET_LEASE_NANOS};
use super::quota::{self, Period};
use super::rls::{self, RateLimitDescriptor, RateLimitRequest, RateLimitResponse};
use crate::config::{Config, FailureMode, RateLimitService, Throttle};
use crate::gateway_response::{Rejection, ResponseType};

/// Calls to the service one request may make before it is refused (a batch, then one unit,
/// then once more when another request spent the leases meanwhile).
pub const MAX_ASKS: u8 = 4;
/// Largest batch a config may ask for.
pub const MAX_BATCH: u64 = 10_000;

/// Descriptor entry names; the service's limits match on them.
pub const ENTRY_API: &str = "api";
pub const ENTRY_STAGE: &str = "stage";
pub const ENTRY_PLAN: &str = "plan";
pub const ENTRY_KEY: &str = "key";
pub const ENTRY_METHOD: &str = "method";
pub const ENTRY_KIND: &str = "kind";
/// Start (seconds since the epoch) of the quota window a quota descriptor counts in.
pub const ENTRY_WINDOW: &str = "window";

/// `kind` values.
pub const KIND_QUOTA: &str = "quota";
pub const KIND_THROTTLE: &str = "throttle";
pub const KIND_METHOD_THROTTLE: &str = "method_throttle";
/// With `global_throttles`: a stage's throttle, a stage's per-method throttle, the account's.
pub const KIND_STAGE_THROTTLE: &str = "stage_throttle";
pub const KIND_STAGE_METHOD_THROTTLE: &str = "stage_method_throttle";
pub const KIND_ACCOUNT_THROTTLE: &str = "account_throttle";

/// Prefix of the lease keys of global slots (never shared data keys).
const LEASE_PREFIX: &str = "g|";
/// Marks a quota the service refused a single unit of: refused here until its window ends.
const EXHAUSTED_PREFIX: &str = "gx|";
/// Marks a slot the service refused a batch of: asked for single units until it resets.
const SINGLE_PREFIX: &str = "g1|";

/// The compiled `rate_limit_service`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalService {
    pub cluster: String,
    pub domain: String,
    pub timeout_ms: u32,
    pub failure_mode: FailureMode,
    pub batch: Option<u64>,
    /// Stage, stage-method and account throttles are counted here too.
    pub throttles: bool,
}

impl GlobalService {
    pub fn compile(s: &RateLimitService) -> Result<GlobalService, crate::config::ConfigError> {
        use crate::config::ConfigError;
        if s.cluster.is_empty() {
            return Err(ConfigError::new(
                "rate_limit_service.cluster",
                "must name an Envoy cluster",
            ));
        }
        if s.domain.is_empty() || s.domain.len() > 256 {
            return Err(ConfigError::new("rate_limit_service.domain", "must be 1-256 characters"));
        }
        if s.timeout_ms == 0 || s.timeout_ms > 60_000 {
            return Err(ConfigError::new(
                "rate_limit_service.timeout_ms",
                "must be 1-60000 milliseconds",
            ));
        }
        if let Some(b) = s.batch.filter(|b| *b == 0 || *b > MAX_BATCH) {
            return Err(ConfigError::new(
                "rate_limit_service.batch",
                format!("must be 1-{MAX_BATCH}, not {b}"),
            ));
        }
        Ok(GlobalService {
            cluster: s.cluster.clone(),
            domain: s.domain.clone(),
            timeout_ms: s.timeout_ms,
            failure_mode: s.failure_mode,
            batch: s.batch,
            throttles: s.global_throttles,
        })
    }
}

/// What a global slot is counted as when the service cannot answer and the failure mode is
/// `LOCAL`: the local mode's bucket or quota.
#[derive(Debug, Clone, PartialEq)]
pub enum LocalTwin {
    Bucket(BucketSlot),
    Quota(QuotaSlot),
}

/// One limit of a global plan a request must fit in.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalSlot {
    pub local: LocalTwin,
    /// Units leased per call.
    pub lease: u64,
    /// `kind` and the identifying entries (api, stage, plan, key, method).
    pub entries: Vec<(&'static str, String)>,
}

impl GlobalSlot {
    /// A slot with the batch of `service` (or the local mode's lease size).
    pub fn new(
        local: LocalTwin,
        kind: &'static str,
        who: &[(&'static str, &str)],
        service: &GlobalService,
    ) -> Self {
        let auto = match &local {
            LocalTwin::Bucket(b) => b.lease,
            LocalTwin::Quota(q) => q.lease,
        };
        let mut entries: Vec<(&'static str, String)> =
            who.iter().map(|(k, v)| (*k, (*v).to_string())).collect();
        entries.push((ENTRY_KIND, kind.to_string()));
        GlobalSlot { local, lease: service.batch.unwrap_or(auto).max(1), entries }
    }

    fn lease_key(&self) -> String {
        self.marked(LEASE_PREFIX)
    }

    /// The key of a per-worker marker about this slot (`prefix` says which).
    fn marked(&self, prefix: &str) -> String {
        let key = match &self.local {
            LocalTwin::Bucket(b) => &b.key,
            LocalTwin::Quota(q) => &q.key,
        };
        format!("{prefix}{key}")
    }

    fn quota(&self) -> Option<&QuotaSlot> {
        match &self.local {
            LocalTwin::Quota(q) => Some(q),
            LocalTwin::Bucket(_) => None,
        }
    }

    /// (window start, lease end in nanoseconds) at `now`.
    fn window(&self, now_nanos: u64) -> (u64, u64) {
        match self.quota() {
            Some(q) => {
                let (start, end) = quota::window(q.period, q.offset, now_nanos / 1_000_000_000);
                (start, end.saturating_mul(1_000_000_000))
            }
            None => (0, now_nanos.saturating_add(BUCKET_LEASE_NANOS)),
        }
    }

    fn descriptor(&self, window_start: u64, hits: Option<u64>) -> RateLimitDescriptor {
        let mut entries: Vec<rls::Entry> = self
            .entries
            .iter()
            .map(|(k, v)| rls::Entry { key: (*k).to_string(), value: v.clone() })
            .collect();
        if self.quota().is_some() {
            entries.push(rls::Entry { key: ENTRY_WINDOW.into(), value: window_start.to_string() });
        }
        RateLimitDescriptor { entries, hits_addend: hits.map(|value| rls::UInt64Value { value }) }
    }
}

/// A call to the service in flight: what was asked, to read the answer against.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PendingCall {
    pub cluster: String,
    pub timeout_ms: u32,
    /// The encoded `RateLimitRequest`.
    pub body: Vec<u8>,
    /// (slot index, window start, lease end) of each descriptor, in order.
    asked: Vec<(usize, u64, u64)>,
    hits: u64,
}

/// The service's answer to a [`PendingCall`].
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Every asked descriptor took `hits`; (remaining, seconds to reset) of each.
    Granted { asked: Vec<(usize, u64, u64)>, hits: u64, status: Vec<(u64, u64)> },
    /// Slot `slot` had not `hits` left in the window (start, lease end); nothing was counted.
    OverLimit { slot: usize, hits: u64, window: u64, until: u64 },
    /// No answer (down, timed out, unreadable).
    Failed,
}

/// Per-request state of the global admission, kept in the exchange across the call.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GlobalState {
    pub call: Option<PendingCall>,
    pub answer: Option<Answer>,
    asks: u8,
    /// A batch was refused: ask for single units.
    single: bool,
}

/// What the global admission decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Admitted(Usage),
    /// Send [`GlobalState::call`], then report the answer.
    Ask,
    Reject(Rejection),
    /// The service failed and the failure mode is `LOCAL`: count the slots' local twins.
    Local,
}

/// The refusal for a slot: QUOTA_EXCEEDED for a quota, THROTTLED for a throttle.
fn refusal(slot: Option<&GlobalSlot>) -> Rejection {
    match slot.map(|s| &s.local) {
        Some(LocalTwin::Quota(_)) => Rejection::new(ResponseType::QuotaExceeded),
        _ => Rejection::new(ResponseType::Throttled),
    }
}

/// Admits a request against its global slots from the worker's leases, or asks the service.
pub fn admit(
    service: &GlobalService,
    leases: &mut Leases,
    slots: &[GlobalSlot],
    state: &mut GlobalState,
    now_nanos: u64,
) -> Decision {
    match state.answer.take() {
        Some(Answer::Granted { asked, hits, status }) => {
            for (&(i, window, until), (remaining, reset)) in asked.iter().zip(status) {
                let Some(slot) = slots.get(i) else { continue };
                // A quota resets when its calendar window ends, whatever the counter's TTL.
                let reset = match slot.quota() {
                    Some(_) => (until / 1_000_000_000).saturating_sub(now_nanos / 1_000_000_000),
                    None => reset,
                };
                let lease = Lease {
                    units: hits,
                    until_nanos: until,
                    window,
                    shared_left: remaining,
                    reset_secs: reset,
                };
                leases.add(&slot.lease_key(), lease, now_nanos);
            }
        }
        Some(Answer::OverLimit { slot, hits, window, until }) => {
            let marker =
                || Lease { units: 1, until_nanos: until, window, shared_left: 0, reset_secs: 0 };
            let Some(s) = slots.get(slot) else {
                return Decision::Reject(refusal(None));
            };
            if hits <= 1 {
                if s.quota().is_some() {
                    leases.add(&s.marked(EXHAUSTED_PREFIX), marker(), now_nanos);
                }
                return Decision::Reject(refusal(Some(s)));
            }
            leases.add(&s.marked(SINGLE_PREFIX), marker(), now_nanos);
            state.single = true;
        }
        Some(Answer::Failed) => {
            return match service.failure_mode {
                FailureMode::Closed => Decision::Reject(refusal(
                    slots.iter().find(|s| s.quota().is_some()).or(slots.first()),
                )),
                FailureMode::Local => Decision::Local,
            };
        }
        None => {}
    }
    let mut asked = Vec::new();
    for (i, slot) in slots.iter().enumerate() {
        let (window, until) = slot.window(now_nanos);
        if leases.units(&slot.lease_key(), now_nanos, window) == 0 {
            if leases.units(&slot.marked(EXHAUSTED_PREFIX), now_nanos, window) > 0 {
                return Decision::Reject(refusal(Some(slot)));
            }
            if leases.units(&slot.marked(SINGLE_PREFIX), now_nanos, window) > 0 {
                state.single = true;
            }
            asked.push((i, window, until));
        }
    }
    if asked.is_empty() {
        return Decision::Admitted(spend(leases, slots));
    }
    if state.asks >= MAX_ASKS {
        return Decision::Reject(Rejection::new(ResponseType::Throttled));
    }
    state.asks += 1;
    let hits = if state.single {
        1
    } else {
        asked.iter().filter_map(|(i, _, _)| slots.get(*i)).map(|s| s.lease).min().unwrap_or(1)
    };
    let request = RateLimitRequest {
        domain: service.domain.clone(),
        descriptors: asked
            .iter()
            .filter_map(|(i, window, _)| slots.get(*i).map(|s| s.descriptor(*window, None)))
            .collect(),
        hits_addend: u32::try_from(hits).unwrap_or(u32::MAX),
    };
    state.call = Some(PendingCall {
        cluster: service.cluster.clone(),
        timeout_ms: service.timeout_ms,
        body: request.encode_to_vec(),
        asked,
        hits,
    });
    Decision::Ask
}

/// Spends one unit of every slot's lease; the usage for `RateLimit-*`.
fn spend(leases: &mut Leases, slots: &[GlobalSlot]) -> Usage {
    let mut usage = Usage::default();
    for slot in slots {
        let key = slot.lease_key();
        leases.spend(&key);
        let Some(l) = leases.get(&key) else { continue };
        match &slot.local {
            LocalTwin::Quota(q) => {
                usage.quota = Some((q.limit, l.shared_left + l.units, l.reset_secs));
            }
            LocalTwin::Bucket(b) if usage.bucket.is_none() => {
                usage.bucket = Some((b.limit.burst, l.shared_left + l.units, l.reset_secs));
            }
            LocalTwin::Bucket(_) => {}
        }
    }
    usage
}

/// Reads the service's answer (`None`: the call failed) to `call`.
pub fn read_answer(call: &PendingCall, body: Option<&[u8]>) -> Answer {
    let Some(response) = body.and_then(|b| RateLimitResponse::decode(b).ok()) else {
        return Answer::Failed;
    };
    match response.overall_code {
        rls::CODE_OK => {
            let status = (0..call.asked.len())
                .map(|i| match response.statuses.get(i) {
                    Some(s) => (
                        u64::from(s.limit_remaining),
                        s.duration_until_reset.map_or(0, |d| u64::try_from(d.seconds).unwrap_or(0)),
                    ),
                    None => (0, 0),
                })
                .collect();
            Answer::Granted { asked: call.asked.clone(), hits: call.hits, status }
        }
        rls::CODE_OVER_LIMIT => {
            let pos =
                response.statuses.iter().position(|s| s.code == rls::CODE_OVER_LIMIT).unwrap_or(0);
            let (slot, window, until) =
                call.asked.get(pos).or(call.asked.first()).copied().unwrap_or_default();
            Answer::OverLimit { slot, hits: call.hits, window, until }
        }
        _ => Answer::Failed,
    }
}

/// One limit the service enforces, generated from a config: descriptors whose entries match
/// `conditions` are counted per distinct value of the `variables` entries, `max` per window
/// of `seconds`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLimit {
    pub domain: String,
    pub name: String,
    pub max: u64,
    pub seconds: u64,
    pub conditions: Vec<(&'static str, String)>,
    pub variables: Vec<&'static str>,
}

/// Seconds a quota counter lives: the longest window of its period (a new window is a new
/// counter, by its `window` entry).
pub fn period_seconds(period: Period) -> u64 {
    match period {
        Period::Day => 86_400,
        Period::Week => 7 * 86_400,
        Period::Month => 31 * 86_400,
    }
}

/// A throttle as a fixed window: `burst` requests per `burst / rate` seconds (at least 1; a
/// year when the rate is 0).
pub fn throttle_window(t: &Throttle) -> (u64, u64) {
    let limit = Limit::new(t.rate, t.burst);
    if limit.rate_micro == 0 {
        return (t.burst, 365 * 86_400);
    }
    let secs = (t.burst as f64 / t.rate).ceil();
    let secs = if secs.is_finite() && secs >= 1.0 { secs.min(365.0 * 86_400.0) as u64 } else { 1 };
    (t.burst, secs)
}

/// The limits the rate-limit service enforces for a config's global plans (none without
/// `rate_limit_service`).
pub fn service_limits(config: &Config) -> Vec<ServiceLimit> {
    let Some(service) = &config.rate_limit_service else { return Vec::new() };
    let mut out = Vec::new();
    let domain = &service.domain;
    let stages: Vec<&str> = if config.stages.is_empty() {
        vec![config.stage.name.as_str()]
    } else {
        config.stages.iter().map(|s| s.name.as_str()).collect()
    };
    for p in config.usage_plans.iter().filter(|p| p.global) {
        let plan = (ENTRY_PLAN, p.id.clone());
        if let Some(q) = &p.quota {
            out.push(ServiceLimit {
                domain: domain.clone(),
                name: format!("{}:quota", p.id),
                max: q.limit,
                seconds: period_seconds(q.period),
                conditions: vec![(ENTRY_KIND, KIND_QUOTA.into()), plan.clone()],
                variables: vec![ENTRY_KEY, ENTRY_WINDOW],
            });
        }
        if let Some(t) = &p.throttle {
            let (max, seconds) = throttle_window(t);
            out.push(ServiceLimit {
                domain: domain.clone(),
                name: format!("{}:throttle", p.id),
                max,
                seconds,
                conditions: vec![(ENTRY_KIND, KIND_THROTTLE.into()), plan.clone()],
                variables: vec![ENTRY_KEY],
            });
        }
        for s in p.api_stages.iter().filter(|s| s.api_id == config.api.id) {
            if !stages.contains(&s.stage.as_str()) {
                continue;
            }
            for (name, t) in method_throttles(&s.method_throttles, &config.methods) {
                let (max, seconds) = throttle_window(t);
                out.push(ServiceLimit {
                    domain: domain.clone(),
                    name: format!("{}:{}/{}{}", p.id, s.api_id, s.stage, name),
                    max,
                    seconds,
                    conditions: vec![
                        (ENTRY_KIND, KIND_METHOD_THROTTLE.into()),
                        plan.clone(),
                        (ENTRY_API, s.api_id.clone()),
                        (ENTRY_STAGE, s.stage.clone()),
                        (ENTRY_METHOD, name),
                    ],
                    variables: vec![ENTRY_KEY],
                });
            }
        }
    }
    if service.global_throttles {
        throttle_limits(config, domain, &mut out);
    }
    out
}

/// With `global_throttles`: the account's throttle, and each stage's throttle and per-method
/// throttles.
fn throttle_limits(config: &Config, domain: &str, out: &mut Vec<ServiceLimit>) {
    let mut push =
        |name: String, t: &Throttle, kind: &str, conditions: Vec<(&'static str, String)>| {
            let (max, seconds) = throttle_window(t);
            let mut all = vec![(ENTRY_KIND, kind.to_string())];
            all.extend(conditions);
            out.push(ServiceLimit {
                domain: domain.to_string(),
                name,
                max,
                seconds,
                conditions: all,
                variables: Vec::new(),
            });
        };
    if let Some(t) = &config.account_throttle {
        push("account".into(), t, KIND_ACCOUNT_THROTTLE, Vec::new());
    }
    let stages = if config.stages.is_empty() {
        std::slice::from_ref(&config.stage)
    } else {
        config.stages.as_slice()
    };
    let api = &config.api.id;
    for stage in stages {
        let who = || vec![(ENTRY_API, api.clone()), (ENTRY_STAGE, stage.name.clone())];
        if let Some(t) = &stage.throttle {
            push(format!("{api}/{}", stage.name), t, KIND_STAGE_THROTTLE, who());
        }
        for (name, t) in method_throttles(&stage.method_throttles, &config.methods) {
            let mut conditions = who();
            conditions.push((ENTRY_METHOD, name.clone()));
            push(format!("{api}/{}{name}", stage.name), t, KIND_STAGE_METHOD_THROTTLE, conditions);
        }
    }
}

/// Per-method throttle keys (`/pets/GET`, `/pets/*`) resolved to the configured methods
/// (`/pets/GET`), an exact key before a wildcard, as the filter resolves them.
fn method_throttles<'a>(
    overrides: &'a std::collections::BTreeMap<String, Throttle>,
    methods: &[crate::config::Method],
) -> Vec<(String, &'a Throttle)> {
    let mut out: Vec<(String, &Throttle)> = Vec::new();
    for m in methods {
        // The root resource is `/GET` (or `//GET`) in a key.
        let resource = if m.resource == "/" { "" } else { m.resource.as_str() };
        let exact = overrides
            .get(&format!("{resource}/{}", m.http_method))
            .or_else(|| overrides.get(&format!("{}/{}", m.resource, m.http_method)));
        let any = || overrides.get(&format!("{resource}/*"));
        if let Some(t) = exact.or_else(any) {
            out.push((format!("{}/{}", m.resource, m.http_method), t));
        }
    }
    out
}

/// A GetUsage read for global plans: one descriptor per key with `hits_addend` 0 (counts
/// nothing), answered with each key's remaining quota.
pub fn usage_request(
    service: &GlobalService,
    plan: &str,
    keys: &[&str],
    window_start: u64,
) -> Vec<u8> {
    let descriptors = keys
        .iter()
        .map(|key| RateLimitDescriptor {
            entries: [
                (ENTRY_PLAN, plan.to_string()),
                (ENTRY_KEY, (*key).to_string()),
                (ENTRY_KIND, KIND_QUOTA.to_string()),
                (ENTRY_WINDOW, window_start.to_string()),
            ]
            .into_iter()
            .map(|(k, value)| rls::Entry { key: k.into(), value })
            .collect(),
            hits_addend: Some(rls::UInt64Value { value: 0 }),
        })
        .collect();
    RateLimitRequest { domain: service.domain.clone(), descriptors, hits_addend: 0 }.encode_to_vec()
}

/// The remaining quota of each key of a [`usage_request`], in order; `None` when the answer
/// is missing or unreadable.
pub fn usage_answer(body: Option<&[u8]>, keys: usize) -> Option<Vec<u64>> {
    let response = RateLimitResponse::decode(body?).ok()?;
    if response.overall_code == rls::CODE_UNKNOWN || response.statuses.len() != keys {
        return None;
    }
    Some(response.statuses.iter().map(|s| u64::from(s.limit_remaining)).collect())
}

#[cfg(test)]
#[path = "global_tests.rs"]
mod tests;
