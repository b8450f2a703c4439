//! Global usage plans through the pipeline on the in-memory host, against an in-test service
//! that counts as the rate-limit service does (all descriptors of a call or none).

use std::collections::HashMap;

use prost::Message;

use super::*;
use crate::apikey::hash_key_hex;
use crate::config::Config;
use crate::host::memory::{MemoryHost, SharedStore};
use crate::host::Outcome;
use crate::pipeline::{
    on_callout_response, on_request_headers, CalloutRequest, CalloutResponse, Exchange, Flow,
    Worker,
};
use crate::plan::Plan;
use crate::test_support::test;

fn config(service: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "api": {"id": "petstore"},
        "methods": [
            {"resource": "/pets", "http_method": "GET", "api_key_required": true},
            {"resource": "/pets", "http_method": "POST", "api_key_required": true},
        ],
        "usage_plans": [
            {"id": "fleet", "global": true, "quota": {"limit": 100, "period": "DAY"},
             "api_stages": [{"api_id": "petstore", "stage": "prod",
                             "method_throttles": {"/pets/*": {"rate": 10, "burst": 20}}}]},
            {"id": "big", "global": true, "quota": {"limit": 100000, "period": "MONTH"},
             "throttle": {"rate": 1000, "burst": 2000},
             "api_stages": [{"api_id": "petstore", "stage": "prod"}]},
        ],
        "api_keys": [
            {"id": "k", "value_sha256": hash_key_hex(b"key"), "usage_plan_ids": ["fleet"]},
            {"id": "b", "value_sha256": hash_key_hex(b"big-key"), "usage_plan_ids": ["big"]},
        ],
        "rate_limit_service": service,
    })
}

fn plan(service: serde_json::Value) -> Plan {
    Plan::from_json(config(service).to_string().as_bytes()).unwrap()
}

/// The service: counters by descriptor (its entries but `api`, `stage`, `method` unless it is
/// a per-method throttle) with the limits [`service_limits`] generates.
#[derive(Default)]
struct Service {
    used: HashMap<String, u64>,
    calls: usize,
    limits: Vec<ServiceLimit>,
    /// Seconds since the epoch: fixed windows start at multiples of a limit's `seconds`.
    now: u64,
}

impl Service {
    fn new(config: &serde_json::Value) -> Self {
        let config: Config = serde_json::from_value(config.clone()).unwrap();
        Service { limits: service_limits(&config), ..Service::default() }
    }

    fn limit(&self, d: &RateLimitDescriptor) -> (String, u64) {
        let l = self
            .limits
            .iter()
            .find(|l| l.conditions.iter().all(|(k, v)| d.get(k) == Some(v.as_str())))
            .unwrap_or_else(|| panic!("no limit for {d:?}"));
        let vars: Vec<&str> = l.variables.iter().map(|v| d.get(v).unwrap()).collect();
        let window = if l.variables.contains(&ENTRY_WINDOW) { 0 } else { self.now / l.seconds };
        (format!("{}|{}|{window}", l.name, vars.join("|")), l.max)
    }

    fn answer(&mut self, body: &[u8]) -> Vec<u8> {
        self.calls += 1;
        let req = RateLimitRequest::decode(body).unwrap();
        let hits = u64::from(req.hits_addend.max(1));
        let counters: Vec<(String, u64, u64)> = req
            .descriptors
            .iter()
            .map(|d| {
                let (key, max) = self.limit(d);
                let hits = d.hits_addend.map_or(hits, |h| h.value);
                (key, max, hits)
            })
            .collect();
        let over = counters.iter().any(|(k, max, h)| self.used.get(k).unwrap_or(&0) + h > *max);
        let mut statuses = Vec::new();
        for (k, max, h) in &counters {
            let used = self.used.entry(k.clone()).or_default();
            if !over {
                *used += h;
            }
            statuses.push(rls::DescriptorStatus {
                code: if *used + if over { *h } else { 0 } > *max {
                    rls::CODE_OVER_LIMIT
                } else {
                    rls::CODE_OK
                },
                current_limit: None,
                limit_remaining: u32::try_from(max.saturating_sub(*used)).unwrap(),
                duration_until_reset: Some(rls::Duration { seconds: 60, nanos: 0 }),
            });
        }
        let overall_code = if over { rls::CODE_OVER_LIMIT } else { rls::CODE_OK };
        RateLimitResponse { overall_code, statuses }.encode_to_vec()
    }
}

/// One request on `worker`, the service answering every call; the final status.
fn request(
    plan: &Plan,
    worker: &mut Worker,
    service: Option<&mut Service>,
    key: &str,
    verb: &str,
) -> (u16, MemoryHost) {
    let mut host = MemoryHost::request(verb, "/pets").with_header("x-api-key", key);
    host.now_nanos = 1_000_000 * 1_000_000_000;
    request_on(plan, worker, service, &mut host)
}

/// The `ShouldRateLimit` message of a gRPC callout to the service.
fn rate_limit_message(call: &crate::pipeline::Callout) -> Vec<u8> {
    match &call.request {
        CalloutRequest::Grpc { service, method, message } => {
            assert_eq!(
                (*service, *method),
                (crate::throttle::rls::SERVICE, crate::throttle::rls::METHOD)
            );
            message.clone()
        }
        other => panic!("expected a gRPC call: {other:?}"),
    }
}

fn request_on(
    plan: &Plan,
    worker: &mut Worker,
    mut service: Option<&mut Service>,
    host: &mut MemoryHost,
) -> (u16, MemoryHost) {
    let mut exchange = Exchange::default();
    let mut flow = on_request_headers(plan, worker, host, &mut exchange, true);
    while let Flow::Call(call) = flow {
        let body = rate_limit_message(&call);
        let answer = match service.as_deref_mut() {
            Some(s) => CalloutResponse::grpc(0, s.answer(&body)),
            None => CalloutResponse::failed(),
        };
        flow = on_callout_response(plan, worker, host, &mut exchange, answer);
    }
    let status = host.reply.as_ref().map_or(200, |r| r.status);
    (status, std::mem::take(host))
}

#[test]
fn configs_without_global_plans_are_unchanged_and_global_needs_a_service() {
    let mut c = config(serde_json::json!(null));
    c.as_object_mut().unwrap().remove("rate_limit_service");
    let err = Plan::from_json(c.to_string().as_bytes()).unwrap_err();
    assert_eq!(err.path, "usage_plans[0].global");
    let parsed: Config = serde_json::from_value(serde_json::json!({"api": {"id": "a"}})).unwrap();
    let out = serde_json::to_value(&parsed).unwrap();
    assert!(out.get("rate_limit_service").is_none());
    for (service, path) in [
        (serde_json::json!({"cluster": ""}), "rate_limit_service.cluster"),
        (serde_json::json!({"cluster": "rl", "timeout_ms": 0}), "rate_limit_service.timeout_ms"),
        (serde_json::json!({"cluster": "rl", "batch": 0}), "rate_limit_service.batch"),
    ] {
        let err = Plan::from_json(config(service).to_string().as_bytes()).unwrap_err();
        assert_eq!(err.path, path);
    }
    let err = Config::from_json(
        config(serde_json::json!({"cluster": "rl", "mode": "x"})).to_string().as_bytes(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("mode"), "{err}");
}

#[test]
fn descriptors_identify_api_stage_plan_key_and_method() {
    let plan = plan(serde_json::json!({"cluster": "rl", "domain": "fleet"}));
    let mut host = MemoryHost::request("POST", "/pets").with_header("x-api-key", "key");
    host.now_nanos = 86_400 * 3 * 1_000_000_000 + 5;
    let mut exchange = Exchange::default();
    let flow = on_request_headers(&plan, &mut Worker::default(), &mut host, &mut exchange, true);
    let Flow::Call(call) = flow else { panic!("expected the rate-limit call: {flow:?}") };
    assert!(exchange.is_waiting());
    assert_eq!((call.cluster.as_str(), call.timeout_ms), ("rl", 200));
    let req = RateLimitRequest::decode(rate_limit_message(&call).as_slice()).unwrap();
    assert_eq!((req.domain.as_str(), req.hits_addend), ("fleet", 1));
    let entries: Vec<Vec<(&str, &str)>> = req
        .descriptors
        .iter()
        .map(|d| d.entries.iter().map(|e| (e.key.as_str(), e.value.as_str())).collect())
        .collect();
    let who = [
        ("api", "petstore"),
        ("stage", "prod"),
        ("plan", "fleet"),
        ("key", "k"),
        ("method", "/pets/POST"),
    ];
    let mut throttle = who.to_vec();
    throttle.push(("kind", "method_throttle"));
    let mut quota = who.to_vec();
    quota.extend([("kind", "quota"), ("window", "259200")]);
    assert_eq!(entries, [throttle, quota]);
    assert!(host.reply.is_none(), "nothing answered while the service is asked");
}

/// Two Envoys with two workers each, batches of 10: the fleet admits the quota, not more.
#[test]
fn a_fleet_admits_the_quota_once() {
    let service_config = serde_json::json!({"cluster": "rl", "batch": 10});
    let plan = plan(service_config.clone());
    let mut service = Service::new(&config(service_config));
    let mut workers: Vec<Worker> = (0..4).map(|_| Worker::default()).collect();
    let mut admitted = 0;
    let mut calls_when_spent = None;
    for i in 0..400 {
        let worker = &mut workers[i % 4];
        // A burst of 20 per 2 s window for the per-method throttle: spread over time.
        let mut host = MemoryHost::request("GET", "/pets").with_header("x-api-key", "key");
        host.now_nanos = (1_000_000 + i as u64) * 1_000_000_000;
        service.now = 1_000_000 + i as u64;
        let (status, host) = request_on(&plan, worker, Some(&mut service), &mut host);
        if status == 200 {
            admitted += 1;
        } else {
            let body = String::from_utf8_lossy(&host.reply.unwrap().body).into_owned();
            assert_eq!((status, body.as_str()), (429, r#"{"message":"Limit Exceeded"}"#));
            if i == 200 {
                calls_when_spent = Some(service.calls);
            }
        }
    }
    assert_eq!(admitted, 100, "the last units came one by one after the batches ran out");
    // Once refused a single unit, a worker refuses the key until the window ends, unasked.
    assert_eq!(Some(service.calls), calls_when_spent, "no calls for an exhausted key");
}

#[test]
fn leases_spend_locally_between_calls() {
    let service_config = serde_json::json!({"cluster": "rl"});
    let plan = plan(service_config.clone());
    let mut service = Service::new(&config(service_config));
    let mut worker = Worker::default();
    // Quota 100,000: leases of 64; throttle burst 2,000: leases of 15.
    for _ in 0..30 {
        assert_eq!(request(&plan, &mut worker, Some(&mut service), "big-key", "GET").0, 200);
    }
    assert_eq!(service.calls, 2, "one call per 15 requests");
}

#[test]
fn failure_mode_closed_answers_as_aws_and_local_counts_here() {
    let plan_closed = plan(serde_json::json!({"cluster": "rl"}));
    let (status, host) = request(&plan_closed, &mut Worker::default(), None, "key", "GET");
    let reply = host.reply.unwrap();
    assert_eq!((status, reply.body.as_slice()), (429, &br#"{"message":"Limit Exceeded"}"#[..]));
    assert_eq!(reply.header("x-amzn-errortype"), Some("LimitExceededException"));
    assert_eq!(host.counts.get(&Outcome::Rejected(ResponseType::QuotaExceeded)), Some(&1));

    let plan_local = plan(serde_json::json!({"cluster": "rl", "failure_mode": "LOCAL"}));
    let store = SharedStore::default();
    let mut admitted = 0;
    for _ in 0..150 {
        let mut host = MemoryHost::request("GET", "/pets").with_header("x-api-key", "key");
        host.shared = store.clone();
        host.now_nanos = 1_000_000 * 1_000_000_000;
        if request_on(&plan_local, &mut Worker::default(), None, &mut host).0 == 200 {
            admitted += 1;
        }
    }
    // The per-method throttle (burst 20) counts locally now.
    assert_eq!(admitted, 20);
    assert!(store.get("tg|q|fleet|k").unwrap().0.is_some(), "quota counted in shared data");
}

#[test]
fn service_limits_come_from_the_config() {
    let c: Config = serde_json::from_value(config(serde_json::json!({"cluster": "rl"}))).unwrap();
    let limits = service_limits(&c);
    let summary: Vec<(&str, u64, u64)> =
        limits.iter().map(|l| (l.name.as_str(), l.max, l.seconds)).collect();
    assert_eq!(
        summary,
        [
            ("fleet:quota", 100, 86_400),
            ("fleet:petstore/prod/pets/GET", 20, 2),
            ("fleet:petstore/prod/pets/POST", 20, 2),
            ("big:quota", 100_000, 31 * 86_400),
            ("big:throttle", 2000, 2),
        ]
    );
    assert_eq!(limits[0].variables, ["key", "window"]);
    assert_eq!(throttle_window(&Throttle { rate: 0.0, burst: 5 }), (5, 365 * 86_400));
    assert_eq!(throttle_window(&Throttle { rate: 100.0, burst: 1 }), (1, 1));
}

#[test]
fn usage_is_read_without_counting() {
    let service = GlobalService::compile(&RateLimitService {
        cluster: "rl".into(),
        domain: "d".into(),
        timeout_ms: 100,
        failure_mode: FailureMode::Closed,
        batch: None,
        global_throttles: false,
    })
    .unwrap();
    let body = usage_request(&service, "fleet", &["k", "j"], 86_400);
    let req = RateLimitRequest::decode(body.as_slice()).unwrap();
    assert!(req.descriptors.iter().all(|d| d.hits_addend == Some(rls::UInt64Value { value: 0 })));
    let mut svc = Service::new(&config(serde_json::json!({"cluster": "rl"})));
    svc.used.insert("fleet:quota|k|86400|0".into(), 7);
    assert_eq!(usage_answer(Some(&svc.answer(&body)), 2), Some(vec![93, 100]));
    assert_eq!(svc.used["fleet:quota|k|86400|0"], 7);
    assert_eq!(usage_answer(None, 2), None);
    assert_eq!(usage_answer(Some(b"\xff"), 2), None);
}

#[test]
fn global_throttles_count_stage_and_account_for_the_fleet() {
    let mut c = config(serde_json::json!({"cluster": "rl", "global_throttles": true}));
    c["stage"] = serde_json::json!({"name": "prod", "throttle": {"rate": 1, "burst": 3},
                                    "method_throttles": {"/pets/POST": {"rate": 1, "burst": 2}}});
    c["account_throttle"] = serde_json::json!({"rate": 100, "burst": 50});
    let typed: Config = serde_json::from_value(c.clone()).unwrap();
    let names: Vec<String> = service_limits(&typed).into_iter().map(|l| l.name).collect();
    assert_eq!(
        &names[names.len() - 3..],
        ["account", "petstore/prod", "petstore/prod/pets/POST"],
        "{names:?}"
    );
    let plan = Plan::from_json(c.to_string().as_bytes()).unwrap();
    let slots = plan.limits.slots(1, Some(("k", 0)));
    assert!(slots.buckets.is_empty(), "every bucket is the service's: {slots:?}");
    let kinds: Vec<&str> = slots
        .global
        .iter()
        .filter_map(|g| g.entries.iter().find(|(k, _)| *k == ENTRY_KIND).map(|(_, v)| v.as_str()))
        .collect();
    assert_eq!(
        kinds,
        ["method_throttle", "quota", "stage_method_throttle", "stage_throttle", "account_throttle"]
    );

    // Two Envoys (own shared data, own workers), one service: the stage's burst of 3 is the
    // fleet's, where each Envoy alone would admit 3.
    let mut service = Service::new(&c);
    service.now = 1_000_000;
    let (mut a, mut b) = (Worker::default(), Worker::default());
    let mut admitted = 0;
    for n in 0..8 {
        let worker = if n % 2 == 0 { &mut a } else { &mut b };
        let (status, host) = request(&plan, worker, Some(&mut service), "key", "GET");
        match status {
            200 => admitted += 1,
            _ => {
                let body = host.reply.map(|r| String::from_utf8(r.body).unwrap());
                assert_eq!(
                    (status, body.as_deref()),
                    (429, Some(r#"{"message":"Too Many Requests"}"#))
                );
            }
        }
    }
    assert_eq!(admitted, 3);
    // Without the flag each Envoy keeps its own stage bucket (no call for it).
    let mut local = c.clone();
    local["rate_limit_service"] = serde_json::json!({"cluster": "rl"});
    let plan = Plan::from_json(local.to_string().as_bytes()).unwrap();
    let slots = plan.limits.slots(1, Some(("k", 0)));
    assert_eq!(slots.buckets.len(), 3);
}
