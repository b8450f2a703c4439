//! Prometheus scrapes a gateway `tollgate render` wrote, after known traffic: PromQL gives the
//! per-method counts (CloudWatch's Count, 4XXError, 5XXError), the latency histograms and who
//! was throttled; every query of the shipped Grafana dashboard runs and the API's panels have
//! data; the shipped alert rules load and evaluate against the real series, and pass their
//! promtool unit tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use serde_json::{json, Value};
use tollgate_e2e::prometheus::{promtool, Prometheus, Target};
use tollgate_e2e::{get, render, root, scratch_dir, sha256_hex, Envoy, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");

/// The alert rules and their unit tests are valid for Prometheus's own tools.
#[test]
fn the_alert_rules_pass_promtool() {
    let dir = root().join("observability");
    for args in [
        &["check", "rules", "alerts.yaml"][..],
        &["test", "rules", "alerts_test.yaml"],
        &["check", "config", "prometheus.yaml"],
    ] {
        let (ok, out) = promtool(args, &dir);
        assert!(ok, "promtool {args:?}:\n{out}");
    }
}

#[test]
fn prometheus_sees_api_gateway_metrics_per_method() {
    let upstream = Upstream::start_with(UPSTREAM, &["--mode", "echo", "--name", "backend"]);
    let dir = scratch_dir("prometheus-gw");
    let spec = json!({
        "gateway": {"listen": "127.0.0.1:0", "admin_listen": "127.0.0.1:0", "envoy_admin": "127.0.0.1:0",
                    "upstream": format!("http://127.0.0.1:{}", upstream.port),
                    "access_log": dir.join("access.log"), "detailed_metrics": true,
                    "metrics_per_key": true},
        "api": {"id": "shop", "region": "us-east-1", "account_id": "123456789012"},
        "stage": {"name": "prod"},
        "methods": [
            {"resource": "/pets/{id}", "http_method": "GET", "api_key_required": true},
            {"resource": "/broken", "http_method": "GET",
             "integration": {"type": "MOCK", "request_templates": {"application/json": "{\"statusCode\": 500}"},
                             "responses": {"default": {"status_code": "500"}}}},
        ],
        "api_keys": [{"id": "k-1", "value_sha256": sha256_hex("the-key"), "usage_plan_ids": ["one"]}],
        "usage_plans": [{"id": "one", "throttle": {"rate": 0.01, "burst": 4},
                         "api_stages": [{"api_id": "shop", "stage": "prod"}]}],
    });
    let path = dir.join("spec.json");
    std::fs::write(&path, spec.to_string()).unwrap();
    render(&path, &dir.join("gw"));
    let envoy = Envoy::start_file(&dir.join("gw/envoy.yaml"), 1).unwrap_or_else(|l| panic!("{l}"));
    let rules = root().join("observability/alerts.yaml");
    let prometheus = Prometheus::start(
        &[Target { job: "tollgate-envoy", port: envoy.admin_port, path: "/stats/prometheus" }],
        &[&rules],
    );

    // Known traffic: 4 admitted and 1 throttled with the key, 1 without a key, 2 failures.
    let key = [("x-api-key", "the-key")];
    let statuses: Vec<u16> = (0..5).map(|_| get(envoy.port, "/pets/7", &key).status).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 429]);
    assert_eq!(get(envoy.port, "/pets/7", &[]).status, 403);
    for _ in 0..2 {
        assert_eq!(get(envoy.port, "/broken", &[]).status, 500);
    }

    // CloudWatch's Count, 4XXError and 5XXError per resource and method.
    let by_status = r#"sum by (resource, method, status) (envoy_tollgate_api_requests{api="shop", stage="prod"})"#;
    let want: &[(&[&str], f64)] = &[
        (&["/broken", "GET", "500"], 2.0),
        (&["/pets/{id}", "GET", "200"], 4.0),
        (&["/pets/{id}", "GET", "403"], 1.0),
        (&["/pets/{id}", "GET", "429"], 1.0),
    ];
    let got = prometheus.wait_for(by_status, &["resource", "method", "status"], want);
    assert_eq!(got.len(), want.len(), "{got:?}\n{}", prometheus.log());
    let errors = |class: &str| {
        let q = format!(
            r#"sum by (resource) (envoy_tollgate_api_requests{{api="shop", status=~"{class}.."}})"#
        );
        let mut v = prometheus.values(&q, &["resource"]);
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(errors("4"), [(vec!["/pets/{id}".to_string()], 2.0)]);
    assert_eq!(errors("5"), [(vec!["/broken".to_string()], 2.0)]);

    // Latency: every answer timed (histograms reach Envoy's page at its 5 s stats flush);
    // integration latency only for the 4 that reached the backend.
    let count = |metric: &str| {
        let q = format!(
            r#"sum by (resource) ({metric}_bucket{{api="shop", method="GET", le="+Inf"}})"#
        );
        q
    };
    let latency = prometheus.wait_for(
        &count("envoy_tollgate_api_latency"),
        &["resource"],
        &[(&["/broken"], 2.0), (&["/pets/{id}"], 6.0)],
    );
    assert_eq!(latency.len(), 2, "{latency:?}");
    let integration =
        prometheus.values(&count("envoy_tollgate_api_integration_latency"), &["resource"]);
    assert_eq!(integration, [(vec!["/pets/{id}".to_string()], 4.0)]);
    let buckets = prometheus.query(r#"envoy_tollgate_api_latency_bucket{resource="/pets/{id}"}"#);
    assert!(buckets["result"].as_array().unwrap().len() > 5, "a histogram has buckets: {buckets}");

    // Who was throttled (per key, opt-in).
    let throttled = prometheus.values(
        r#"envoy_tollgate_api_key_requests{key="k-1", response_type="THROTTLED"}"#,
        &["key"],
    );
    assert_eq!(throttled, [(vec!["k-1".to_string()], 1.0)]);

    // The dashboard: its variables find the API and stage, and every panel's query runs; the
    // API's panels (not the rate-limit service's, which is not scraped here) have data once
    // every series has the two samples a rate needs.
    for metric in ["requests", "key_requests", "latency_count", "integration_latency_count"] {
        let samples = format!("min(count_over_time(envoy_tollgate_api_{metric}[1m])) >= bool 2");
        let two = prometheus.wait_for(&samples, &[], &[(&[], 1.0)]);
        assert_eq!(two, [(vec![], 1.0)], "{samples}");
    }
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("observability/grafana-dashboard.json")).unwrap(),
    )
    .unwrap();
    let apis = prometheus.query(r#"group by (api) (envoy_tollgate_api_requests)"#);
    assert_eq!(apis["result"][0]["metric"]["api"], "shop");
    let mut panels = Vec::new();
    let mut stack: Vec<Value> = dashboard["panels"].as_array().cloned().unwrap_or_default();
    while let Some(panel) = stack.pop() {
        stack.extend(panel["panels"].as_array().cloned().unwrap_or_default());
        for target in panel["targets"].as_array().cloned().unwrap_or_default() {
            panels.push((
                panel["title"].as_str().unwrap_or_default().to_string(),
                target["expr"].clone(),
            ));
        }
    }
    assert!(panels.len() >= 10, "{panels:?}");
    for (title, expr) in &panels {
        let promql = expr
            .as_str()
            .unwrap()
            .replace("$__rate_interval", "1m")
            .replace("$api", "shop")
            .replace("$stage", "prod");
        let data = prometheus.query(&promql);
        let rows = data["result"].as_array().map_or(0, Vec::len);
        let of_the_api = promql.contains("envoy_tollgate_api_") && !title.contains("Cache");
        assert!(!of_the_api || rows > 0, "{title}: `{promql}` gave nothing");
    }

    // The alert rules load and evaluate against the real series without error.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let rules = get(prometheus.port, "/api/v1/rules", &[]).json();
        let all: Vec<Value> = rules["data"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        assert!(all.len() >= 9, "{rules}");
        let evaluated = all
            .iter()
            .all(|r| r["lastEvaluation"].as_str().is_some_and(|t| !t.starts_with("0001")));
        if evaluated {
            for rule in &all {
                assert_eq!(rule["health"], "ok", "{rule}");
            }
            break;
        }
        assert!(std::time::Instant::now() < deadline, "rules never evaluated: {rules}");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}
