//! Usage-plan throttles and quotas through the pipeline, on the in-memory host.

use super::*;
use crate::apikey::hash_key_hex;
use crate::host::memory::{MemoryHost, SharedStore};
use crate::test_support::test;

fn limited_plan(rate_limit_headers: bool) -> Plan {
    let config = serde_json::json!({
        "api": {"id": "petstore"},
        "methods": [{"resource": "/pets", "http_method": "GET", "api_key_required": true}],
        "usage_plans": [
            {"id": "basic", "throttle": {"rate": 0.001, "burst": 2}, "quota": {"limit": 3, "period": "DAY"},
             "api_stages": [{"api_id": "petstore", "stage": "prod"}]},
            {"id": "premium", "quota": {"limit": 3, "period": "MONTH"},
             "api_stages": [{"api_id": "petstore", "stage": "prod"}]},
        ],
        "api_keys": [
            {"id": "b", "value_sha256": hash_key_hex(b"basic-key"), "usage_plan_ids": ["basic"]},
            {"id": "p", "value_sha256": hash_key_hex(b"premium-key"), "usage_plan_ids": ["premium"]},
        ],
        "rate_limit_headers": rate_limit_headers,
    });
    Plan::from_json(config.to_string().as_bytes()).unwrap()
}

fn call(plan: &Plan, store: &SharedStore, key: &str) -> (MemoryHost, Exchange) {
    let mut host = MemoryHost::request("GET", "/pets").with_header("x-api-key", key);
    host.shared = store.clone();
    host.now_nanos = 1_000_000_000_000;
    let mut exchange = Exchange::default();
    on_request_headers(plan, &mut Worker::default(), &mut host, &mut exchange, true);
    (host, exchange)
}

fn status(host: &MemoryHost) -> (u16, String) {
    match &host.reply {
        None => (200, String::new()),
        Some(r) => (r.status, String::from_utf8_lossy(&r.body).into_owned()),
    }
}

#[test]
fn throttle_then_quota_per_key() {
    let plan = limited_plan(false);
    let store = SharedStore::default();
    assert_eq!(status(&call(&plan, &store, "basic-key").0).0, 200);
    assert_eq!(status(&call(&plan, &store, "basic-key").0).0, 200);
    let (host, _) = call(&plan, &store, "basic-key");
    assert_eq!(status(&host), (429, r#"{"message":"Too Many Requests"}"#.into()));
    assert_eq!(host.reply.unwrap().header("x-amzn-errortype"), Some("TooManyRequestsException"));
    // The premium key has its own counters: three, then the quota.
    for _ in 0..3 {
        assert_eq!(status(&call(&plan, &store, "premium-key").0).0, 200);
    }
    let (host, _) = call(&plan, &store, "premium-key");
    assert_eq!(status(&host), (429, r#"{"message":"Limit Exceeded"}"#.into()));
    assert_eq!(host.counts.get(&Outcome::Rejected(ResponseType::QuotaExceeded)), Some(&1));
}

#[test]
fn rate_limit_headers_report_the_quota() {
    let plan = limited_plan(true);
    let store = SharedStore::default();
    let (mut host, mut exchange) = call(&plan, &store, "premium-key");
    assert_eq!(on_response_headers(&plan, &mut host, &mut exchange, true), ResponseFlow::Continue);
    let h = |n: &str| {
        host.response_headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(h("ratelimit-limit").as_deref(), Some("3"));
    assert_eq!(h("ratelimit-remaining").as_deref(), Some("2"));
    let reset = h("ratelimit-reset").unwrap();
    assert!(reset.parse::<u64>().unwrap() > 0);
    // The IETF draft's fields: the policies (here the account's bucket, burst 5,000, and the
    // plan's quota), and the quota's state.
    assert_eq!(h("ratelimit-policy").as_deref(), Some("\"throttle\";q=5000, \"quota\";q=3"));
    assert_eq!(h("ratelimit"), Some(format!("\"quota\";r=2;t={reset}")));
    let (_, exchange) = call(&limited_plan(false), &store, "premium-key");
    assert!(exchange.response_headers.is_empty());
}

/// With rate-limit headers on, a 429 says when to retry: the time one token takes (rate 0.001/s:
/// 1,000 s), or the time until the quota's period starts again; AWS's default (off) sends none.
#[test]
fn refusals_carry_retry_after_when_asked() {
    for (headers, want) in [(true, true), (false, false)] {
        let plan = limited_plan(headers);
        let store = SharedStore::default();
        call(&plan, &store, "basic-key");
        call(&plan, &store, "basic-key");
        let (host, _) = call(&plan, &store, "basic-key");
        let reply = host.reply.unwrap();
        assert_eq!(reply.status, 429);
        assert_eq!(reply.header("retry-after"), want.then_some("1000"), "{headers}");
        // The draft's fields name the plan's policies and the exhausted one.
        let policy = "\"throttle\";q=2, \"quota\";q=3";
        assert_eq!(reply.header("ratelimit-policy"), want.then_some(policy));
        assert_eq!(reply.header("ratelimit"), want.then_some("\"throttle\";r=0;t=1000"));
        for _ in 0..3 {
            call(&plan, &store, "premium-key");
        }
        let (host, _) = call(&plan, &store, "premium-key");
        let reply = host.reply.unwrap();
        assert_eq!(reply.body, br#"{"message":"Limit Exceeded"}"#);
        // 1,000,000,000,000 ns is 1970-01-12 13:46:40: the month ends 1970-02-01 00:00:00.
        let to_february = 2_678_400 - 1_000;
        assert_eq!(reply.header("retry-after"), want.then(|| to_february.to_string()).as_deref());
        let exhausted = format!("\"quota\";r=0;t={to_february}");
        assert_eq!(reply.header("ratelimit"), want.then_some(exhausted.as_str()));
    }
}
