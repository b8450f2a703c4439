//! The response cache through a real Envoy: hits do not reach the upstream, entries expire,
//! key parameters separate entries and others do not, POST is not cached, large answers are not
//! stored, `Cache-Control: max-age=0` needs `execute-api:InvalidateCache`, and cached answers
//! still count against the key's quota.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use serde_json::{json, Value};
use tollgate_e2e::sha256_hex as sha;
use tollgate_e2e::sigv4::{Job, Key};
use tollgate_e2e::{get, request, Envoy, EnvoyOptions, Response, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");
const REGION: &str = "us-east-1";
const ADMIN: Key = Key { access_key: "AKIDCACHEADMIN", secret_key: "admin-secret", token: None };
const READER: Key = Key { access_key: "AKIDREADER", secret_key: "reader-secret", token: None };

fn config() -> Value {
    let arn = "arn:aws:execute-api:us-east-1:123456789012:cached/prod";
    json!({
        "api": {"id": "cached", "region": REGION, "account_id": "123456789012"},
        "stage": {"name": "prod", "cache": {"enabled": true, "ttl_seconds": 300, "max_entry_bytes": 4096}},
        "methods": [
            {"resource": "/pets", "http_method": "GET", "api_key_required": true,
             "cache": {"key_parameters": ["method.request.querystring.type"]}},
            {"resource": "/pets", "http_method": "POST", "api_key_required": true},
            {"resource": "/short", "http_method": "GET", "api_key_required": true, "cache": {"ttl_seconds": 1}},
            {"resource": "/big", "http_method": "GET", "api_key_required": true},
            {"resource": "/admin/pets", "http_method": "GET", "authorization_type": "AWS_IAM"},
        ],
        "api_keys": [{"id": "k-1", "value_sha256": sha("cache-key"), "usage_plan_ids": ["small"]}],
        "usage_plans": [{"id": "small", "quota": {"limit": 16, "period": "DAY"},
                         "api_stages": [{"api_id": "cached", "stage": "prod"}]}],
        "iam": {"credentials": [
            {"access_key_id": ADMIN.access_key, "secret_access_key": ADMIN.secret_key,
             "principal_arn": "arn:aws:iam::123456789012:user/admin",
             "policies": [{"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["execute-api:Invoke", "execute-api:InvalidateCache"], "Resource": format!("{arn}/*")}]}]},
            {"access_key_id": READER.access_key, "secret_access_key": READER.secret_key,
             "principal_arn": "arn:aws:iam::123456789012:user/reader",
             "policies": [{"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": format!("{arn}/*")}]}]},
        ]},
    })
}

fn upstream_requests(envoy: &Envoy) -> u64 {
    envoy.stat("cluster.upstream.upstream_rq_total")
}

fn signed(port: u16, key: Key, headers: &[(&str, &str)]) -> Response {
    let mut job = Job::new("GET", &format!("http://127.0.0.1:{port}/admin/pets"), key, REGION);
    for (name, value) in headers {
        job = job.header(name, value);
    }
    job.sign().send(port)
}

#[test]
fn responses_are_cached_as_configured() {
    let upstream = Upstream::start(UPSTREAM, "echo");
    let envoy =
        Envoy::start(&EnvoyOptions::new(config(), upstream.port)).unwrap_or_else(|l| panic!("{l}"));
    let port = envoy.port;
    let key = ("x-api-key", "cache-key");

    // A miss then a hit: the second answer is the first one, and the upstream saw one request.
    let before = upstream_requests(&envoy);
    let first = get(port, "/pets?type=dog&page=1", &[key]);
    assert_eq!((first.status, first.header("x-tollgate-cache")), (200, Some("miss")));
    let second = get(port, "/pets?type=dog&page=2", &[key]);
    assert_eq!(second.header("x-tollgate-cache"), Some("hit"), "page is not a key parameter");
    assert_eq!(second.json(), first.json(), "the cached answer");
    assert_eq!(upstream_requests(&envoy), before + 1);
    // Another value of the key parameter is another entry.
    let cat = get(port, "/pets?type=cat", &[key]);
    assert_eq!(cat.header("x-tollgate-cache"), Some("miss"));
    assert_eq!(get(port, "/pets?type=cat", &[key]).header("x-tollgate-cache"), Some("hit"));
    assert_eq!(upstream_requests(&envoy), before + 2);

    // POST is not cached; a cached GET still needs a key.
    let post = request(port, "POST", b"/pets", &[("x-api-key", b"cache-key")], b"{}");
    assert_eq!((post.status, post.header("x-tollgate-cache")), (200, None));
    assert_eq!(get(port, "/pets?type=dog", &[]).status, 403);

    // TTL: a 1-second entry is gone after a second.
    assert_eq!(get(port, "/short", &[key]).header("x-tollgate-cache"), Some("miss"));
    assert_eq!(get(port, "/short", &[key]).header("x-tollgate-cache"), Some("hit"));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(get(port, "/short", &[key]).header("x-tollgate-cache"), Some("miss"));

    // An answer over the entry size (4 KB here) is served and not stored.
    let padding = "p".repeat(5000);
    let big = get(port, "/big", &[key, ("x-padding", &padding)]);
    assert_eq!((big.status, big.header("x-tollgate-cache")), (200, Some("miss")));
    assert_eq!(get(port, "/big", &[key]).header("x-tollgate-cache"), Some("miss"));

    // max-age=0 from a caller without execute-api:InvalidateCache: 403 (the default strategy),
    // from one with it: refreshed from the upstream.
    let r = get(port, "/pets?type=dog", &[key, ("cache-control", "max-age=0")]);
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(signed(port, ADMIN, &[]).header("x-tollgate-cache"), Some("miss"));
    assert_eq!(signed(port, READER, &[]).header("x-tollgate-cache"), Some("hit"));
    let r = signed(port, READER, &[("cache-control", "max-age=0")]);
    assert_eq!(r.status, 403, "{}", r.text());
    let before = upstream_requests(&envoy);
    let r = signed(port, ADMIN, &[("cache-control", "max-age=0")]);
    assert_eq!((r.status, r.header("x-tollgate-cache")), (200, Some("miss")));
    assert_eq!(upstream_requests(&envoy), before + 1, "refreshed from the upstream");
    assert_eq!(signed(port, READER, &[]).header("x-tollgate-cache"), Some("hit"));

    // Cached answers count against the quota (16 a day): the key has used 11 by now (the refused max-age=0 counted too).
    let used = 11;
    for _ in used..16 {
        assert_eq!(get(port, "/pets?type=dog", &[key]).header("x-tollgate-cache"), Some("hit"));
    }
    let r = get(port, "/pets?type=dog", &[key]);
    assert_eq!((r.status, r.json()), (429, json!({"message": "Limit Exceeded"})));

    // Hit and miss counters.
    let stats = envoy.prometheus();
    let counter = |name: &str| -> u64 {
        stats
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {stats}"))
    };
    assert_eq!((counter("tollgate_cache_hit"), counter("tollgate_cache_miss")), (10, 8));
}

#[test]
fn an_operator_flushes_a_stage_cache_through_the_management_listener() {
    let mut config = config();
    config["admin"] =
        json!({"keys": [{"id": "ops", "value_sha256": sha("ops-admin-key-0123456789")}]});
    let upstream = Upstream::start(UPSTREAM, "echo");
    let envoy = Envoy::start(&EnvoyOptions::new(config, upstream.port).management())
        .unwrap_or_else(|l| panic!("{l}"));
    let key = ("x-api-key", "cache-key");
    assert_eq!(get(envoy.port, "/pets?type=dog", &[key]).header("x-tollgate-cache"), Some("miss"));
    assert_eq!(get(envoy.port, "/pets?type=dog", &[key]).header("x-tollgate-cache"), Some("hit"));

    let admin = format!("http://127.0.0.1:{}", envoy.management_port);
    let flush = |admin_key: &str| {
        tollgate_e2e::run_cli(&[
            "flush-cache",
            "--admin",
            &admin,
            "--api",
            "cached",
            "--stage",
            "prod",
            "--admin-key",
            admin_key,
        ])
    };
    // A wrong admin key is refused, and the entry stays.
    let (ok, _, err) = flush("not-the-admin-key");
    assert!(!ok && err.contains("403") && err.contains("Forbidden"), "{err}");
    assert_eq!(get(envoy.port, "/pets?type=dog", &[key]).header("x-tollgate-cache"), Some("hit"));
    // The operator's flush empties the stage: the next request goes upstream again.
    let (ok, _, err) = flush("ops-admin-key-0123456789");
    assert!(ok, "{err}");
    let before = upstream_requests(&envoy);
    assert_eq!(get(envoy.port, "/pets?type=dog", &[key]).header("x-tollgate-cache"), Some("miss"));
    assert_eq!(upstream_requests(&envoy), before + 1);

    // The management routes are not on the API's listener, even with the admin key.
    let r = request(
        envoy.port,
        "DELETE",
        b"/restapis/cached/stages/prod/cache/data",
        &[("x-tollgate-admin-key", b"ops-admin-key-0123456789")],
        b"",
    );
    assert_eq!((r.status, r.json()), (403, json!({"message": "Missing Authentication Token"})));
    assert_eq!(get(envoy.port, "/pets?type=dog", &[key]).header("x-tollgate-cache"), Some("hit"));
}
