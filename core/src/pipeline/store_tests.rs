//! API keys from the key store, driven as the filter drives them: a key's first request waits
//! for one lookup, later ones are answered from the worker's cache, the change feed drops a
//! changed key, and a store that does not answer refuses (`CLOSED`) or keeps cached keys
//! serving (`STALE`).

use std::collections::HashMap;

use prost::Message;

use super::*;
use crate::apikey::{hash_key, KeyHash};
use crate::host::memory::MemoryHost;
use crate::keystore::{ChangesRequest, LookupRequest};
use crate::test_support::test;

const S: u64 = 1_000_000_000;
const T0: u64 = 1_764_072_000 * S;

fn plan(mode: &str) -> Plan {
    let config = serde_json::json!({
        "api": {"id": "shop"},
        "stage": {"name": "prod"},
        "methods": [{"resource": "/pets", "http_method": "GET", "api_key_required": true}],
        "usage_plans": [
            {"id": "basic", "api_stages": [{"api_id": "shop", "stage": "prod"}]},
            {"id": "other", "api_stages": [{"api_id": "shop", "stage": "dev"}]},
        ],
        "api_key_store": {"cluster": "keys", "poll_ms": 500, "failure_mode": mode,
                          "stale_ms": 10_000},
        "filter_state": true,
    });
    Plan::from_json(config.to_string().as_bytes()).unwrap()
}

/// The store: records by hash, and how often it was asked.
#[derive(Default)]
struct Store {
    records: HashMap<KeyHash, LookupResponse>,
    lookups: usize,
    down: bool,
}

impl Store {
    fn put(&mut self, value: &str, id: &str, enabled: bool, plans: &[&str]) {
        let plans = plans.iter().map(|p| p.to_string()).collect();
        let record = LookupResponse { found: true, id: id.into(), enabled, usage_plan_ids: plans };
        self.records.insert(hash_key(value.as_bytes()), record);
    }

    fn answer(&mut self, call: &Callout) -> CalloutResponse {
        let CalloutRequest::Grpc { service, method, message } = &call.request else {
            panic!("not gRPC: {call:?}")
        };
        assert_eq!(
            (call.cluster.as_str(), *service, *method),
            ("keys", keystore::SERVICE, "Lookup")
        );
        self.lookups += 1;
        if self.down {
            return CalloutResponse::grpc(14, Vec::new());
        }
        let hash = LookupRequest::decode(message.as_slice()).unwrap().sha256;
        let hash = KeyHash::try_from(hash.as_slice()).unwrap();
        let answer = self.records.get(&hash).cloned().unwrap_or_default();
        CalloutResponse::grpc(0, answer.encode_to_vec())
    }
}

/// One request with `key` at `now`; its status (200: sent upstream) and the host.
fn call(
    plan: &Plan,
    worker: &mut Worker,
    store: &mut Store,
    key: &str,
    now: u64,
) -> (u16, MemoryHost) {
    let mut host = MemoryHost::request("GET", "/pets").with_header("x-api-key", key);
    host.now_nanos = now;
    let mut exchange = Exchange::default();
    let mut flow = on_request_headers(plan, worker, &mut host, &mut exchange, true);
    for _ in 0..4 {
        flow = match flow {
            Flow::Call(c) => {
                let answer = store.answer(&c);
                on_callout_response(plan, worker, &mut host, &mut exchange, answer)
            }
            Flow::Continue => return (200, host),
            Flow::Replied => return (host.reply.as_ref().map_or(0, |r| r.status), host),
            other => panic!("{other:?}"),
        };
    }
    panic!("the request did not finish");
}

fn reason(host: &MemoryHost) -> String {
    String::from_utf8_lossy(host.filter_state.get(REJECTION_STATE).map_or(&[][..], Vec::as_slice))
        .into_owned()
}

#[test]
fn a_key_is_looked_up_once_and_then_served_from_the_cache() {
    let plan = plan("CLOSED");
    let mut store = Store::default();
    store.put("alpha-key-0123456789", "alpha", true, &["other", "basic"]);
    store.put("beta-key-0123456789x", "beta", false, &["basic"]);
    store.put("gamma-key-0123456789", "gamma", true, &["other"]);
    let mut worker = Worker::default();
    let (status, host) = call(&plan, &mut worker, &mut store, "alpha-key-0123456789", T0);
    assert_eq!(status, 200);
    assert_eq!(host.filter_state.get(API_KEY_ID_STATE).map(Vec::as_slice), Some(&b"alpha"[..]));
    assert_eq!(store.lookups, 1);
    let (status, _) = call(&plan, &mut worker, &mut store, "alpha-key-0123456789", T0 + S / 10);
    assert_eq!((status, store.lookups), (200, 1), "from the cache");

    let (status, host) = call(&plan, &mut worker, &mut store, "beta-key-0123456789x", T0);
    assert_eq!((status, reason(&host).as_str()), (403, "disabled_api_key"));
    let (status, host) = call(&plan, &mut worker, &mut store, "gamma-key-0123456789", T0);
    assert_eq!((status, reason(&host).as_str()), (403, "key_in_no_plan"));
    let (status, host) = call(&plan, &mut worker, &mut store, "nobody-key-012345678", T0);
    assert_eq!((status, reason(&host).as_str()), (403, "unknown_api_key"));
    assert_eq!(store.lookups, 4);
    // An unknown key is remembered for a second, then asked again (it may have been created).
    let (status, _) = call(&plan, &mut worker, &mut store, "nobody-key-012345678", T0 + S / 2);
    assert_eq!((status, store.lookups), (403, 4));
    store.put("nobody-key-012345678", "late", true, &["basic"]);
    let (status, _) = call(&plan, &mut worker, &mut store, "nobody-key-012345678", T0 + S);
    assert_eq!((status, store.lookups), (200, 5));
    // No key: no lookup.
    let mut host = MemoryHost::request("GET", "/pets");
    host.now_nanos = T0;
    let flow = on_request_headers(&plan, &mut worker, &mut host, &mut Exchange::default(), true);
    assert_eq!((flow, host.reply.as_ref().map(|r| r.status)), (Flow::Replied, Some(403)));
}

#[test]
fn the_change_feed_drops_a_changed_key() {
    let plan = plan("CLOSED");
    let mut store = Store::default();
    store.put("alpha-key-0123456789", "alpha", true, &["basic"]);
    let mut worker = Worker::default();
    let feed = key_changes_due(&plan, &mut worker, T0).unwrap();
    assert_eq!(ChangesRequest::decode(feed.body()).unwrap(), ChangesRequest { since: 0 });
    let answer = |version, changed: Vec<Vec<u8>>, reset| {
        CalloutResponse::grpc(
            0,
            ChangesResponse { version, changed, reset, ..Default::default() }.encode_to_vec(),
        )
    };
    let mut host = MemoryHost { now_nanos: T0, ..MemoryHost::default() };
    on_key_changes(&mut worker, &mut host, &answer(3, vec![], true));
    assert_eq!(call(&plan, &mut worker, &mut store, "alpha-key-0123456789", T0).0, 200);
    store.put("alpha-key-0123456789", "alpha", false, &["basic"]);
    assert_eq!(call(&plan, &mut worker, &mut store, "alpha-key-0123456789", T0 + S / 4).0, 200);
    let feed = key_changes_due(&plan, &mut worker, T0 + S / 2).unwrap();
    assert_eq!(ChangesRequest::decode(feed.body()).unwrap(), ChangesRequest { since: 3 });
    host.now_nanos = T0 + S / 2;
    let changed = vec![hash_key(b"alpha-key-0123456789").to_vec()];
    on_key_changes(&mut worker, &mut host, &answer(4, changed, false));
    assert_eq!(call(&plan, &mut worker, &mut store, "alpha-key-0123456789", T0 + S / 2).0, 403);
    assert_eq!(store.lookups, 2);
}

#[test]
fn a_silent_store_refuses_when_closed_and_serves_cached_keys_when_stale() {
    for (mode, cached_later) in [("CLOSED", 500), ("STALE", 200)] {
        let plan = plan(mode);
        let mut store = Store::default();
        store.put("alpha-key-0123456789", "alpha", true, &["basic"]);
        let mut worker = Worker::default();
        assert_eq!(call(&plan, &mut worker, &mut store, "alpha-key-0123456789", T0).0, 200);
        store.down = true;
        // Not cached: the store must answer, and cannot (AWS's 500).
        let (status, host) = call(&plan, &mut worker, &mut store, "beta-key-0123456789x", T0);
        assert_eq!((status, reason(&host).as_str()), (500, "key_store_unavailable"), "{mode}");
        let body = String::from_utf8_lossy(&host.reply.as_ref().unwrap().body).into_owned();
        assert!(body.contains("Internal server error"), "{body}");
        // Cached, the feed silent for 5 s (more than three polls).
        let later = T0 + 5 * S;
        let (status, _) = call(&plan, &mut worker, &mut store, "alpha-key-0123456789", later);
        assert_eq!(status, cached_later, "{mode}");
        // Past `stale_ms`, STALE refuses too.
        let (status, _) = call(&plan, &mut worker, &mut store, "alpha-key-0123456789", T0 + 11 * S);
        assert_eq!(status, 500, "{mode}");
    }
}

#[test]
fn inline_keys_and_a_store_do_not_mix() {
    let config = serde_json::json!({
        "api": {"id": "shop"},
        "usage_plans": [{"id": "basic", "api_stages": [{"api_id": "shop", "stage": "prod"}]}],
        "api_keys": [{"id": "k", "value_sha256": "0".repeat(64), "usage_plan_ids": ["basic"]}],
        "api_key_store": {"cluster": "keys"},
    });
    let e = Plan::from_json(config.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.path, "api_keys", "{e}");
    let config = serde_json::json!({"api": {"id": "shop"}, "api_key_store": {"cluster": "keys", "poll_ms": 5}});
    let e = Plan::from_json(config.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.path, "api_key_store.poll_ms", "{e}");
}
