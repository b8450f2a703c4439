//! The access log of a gateway `tollgate render` wrote, read back from `gateway.access_log`: by
//! default AWS's CLF line with the key id and response type, with `access_log_format: json` one
//! JSON line per request in API Gateway's `$context` vocabulary (a keyed 200, a throttled 429 with
//! the key still named, a refused 403), or an AWS format as given; and the opt-in rate-limit
//! headers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tollgate_e2e::{get, render, scratch_dir, sha256_hex, Envoy, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");

/// The log's lines once it has `count` of them (Envoy flushes every 100 ms in the harness).
fn lines(path: &std::path::Path, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        if lines.len() >= count || Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A keyed API (`GET /pets/{id}`, key `the-key` with id k-1, burst 1 and almost no rate) behind
/// a rendered gateway whose log is `gateway.access_log`, with `gateway` settings added and the
/// spec's top-level `extra`: the upstream, Envoy and the log's path.
fn keyed_gateway(
    name: &str,
    gateway: Value,
    extra: Value,
) -> (Upstream, Envoy, std::path::PathBuf) {
    let upstream = Upstream::start_with(UPSTREAM, &["--mode", "echo", "--name", "backend"]);
    let dir = scratch_dir(name);
    let log = dir.join("access.log");
    let mut spec = json!({
        "gateway": {"listen": "127.0.0.1:0", "admin_listen": "127.0.0.1:0", "envoy_admin": "127.0.0.1:0",
                    "upstream": format!("http://127.0.0.1:{}", upstream.port), "access_log": log},
        "api": {"id": "shop", "region": "us-east-1", "account_id": "123456789012"},
        "stage": {"name": "prod"},
        "methods": [{"resource": "/pets/{id}", "http_method": "GET", "api_key_required": true}],
        "api_keys": [{"id": "k-1", "value_sha256": sha256_hex("the-key"), "usage_plan_ids": ["one"]}],
        "usage_plans": [{"id": "one", "throttle": {"rate": 0.01, "burst": 1},
                         "api_stages": [{"api_id": "shop", "stage": "prod"}]}],
    });
    for (k, v) in gateway.as_object().unwrap() {
        spec["gateway"][k] = v.clone();
    }
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    let path = dir.join("spec.json");
    std::fs::write(&path, spec.to_string()).unwrap();
    render(&path, &dir.join("gw"));
    let envoy = Envoy::start_file(&dir.join("gw/envoy.yaml"), 1).unwrap_or_else(|l| panic!("{l}"));
    (upstream, envoy, log)
}

#[test]
fn access_log_lines_speak_api_gateway() {
    // JSON lines and per-method metrics are asked for; per-key counts and rate-limit headers too.
    let (_upstream, envoy, log) = keyed_gateway(
        "access-log",
        json!({"access_log_format": "json", "detailed_metrics": true, "metrics_per_key": true}),
        json!({"rate_limit_headers": true}),
    );
    let port = envoy.port;

    let key = [("x-api-key", "the-key"), ("user-agent", "tollgate-e2e")];
    let ok = get(port, "/pets/7", &key);
    assert_eq!(ok.status, 200, "{}", ok.text());
    let throttled = get(port, "/pets/7", &key);
    assert_eq!(throttled.status, 429, "{}", throttled.text());
    let refused = get(port, "/pets/7", &[]);
    assert_eq!(refused.status, 403);
    // Rate-limit headers (opt-in): the admitted answer reports the bucket, the 429 says when
    // a token is back (rate 0.01/s: 100 s).
    assert_eq!(ok.header("ratelimit-limit"), Some("1"));
    assert_eq!(ok.header("ratelimit-remaining"), Some("0"));
    assert_eq!(ok.header("ratelimit-policy"), Some("\"throttle\";q=1"));
    let state = ok.header("ratelimit").unwrap_or_default();
    assert!(state.starts_with("\"throttle\";r=0;t="), "{state}");
    assert_eq!(throttled.header("retry-after"), Some("100"));
    // The IETF draft's fields on the 429 too: the policy, and nothing left until the retry.
    assert_eq!(throttled.header("ratelimit-policy"), Some("\"throttle\";q=1"));
    assert_eq!(throttled.header("ratelimit"), Some("\"throttle\";r=0;t=100"));
    assert_eq!(refused.header("retry-after"), None);

    let logged = lines(&log, 3);
    assert_eq!(logged.len(), 3, "{logged:?}");
    for (line, r) in logged.iter().zip([&ok, &throttled, &refused]) {
        let id = r.header("x-amzn-requestid").unwrap();
        assert_eq!(line["requestId"], id, "{line}");
        assert_eq!(line["extendedRequestId"], id[..16], "{line}");
        assert_eq!(line["status"], r.status, "{line}");
        assert_eq!(line["httpMethod"], "GET");
        assert_eq!(line["resourcePath"], "/pets/{id}");
        assert_eq!(line["path"], "/pets/7");
        assert_eq!(line["stage"], "prod");
        assert_eq!(line["protocol"], "HTTP/1.1");
        assert_eq!(line["ip"], "127.0.0.1");
        assert!(line["requestTime"].as_str().is_some_and(|t| t.ends_with(" +0000")), "{line}");
        assert!(line["responseLength"].as_u64().is_some_and(|n| n > 0), "{line}");
    }
    let [ok, throttled, refused] = [&logged[0], &logged[1], &logged[2]];
    assert_eq!(ok["identity"]["apiKeyId"], "k-1");
    assert_eq!(ok["identity"]["userAgent"], "tollgate-e2e");
    assert_eq!(ok["error"]["responseType"], Value::Null);
    assert!(ok["integrationLatency"].as_u64().is_some(), "{ok}");
    assert_eq!(ok["integrationStatus"], "200", "{ok}");
    // The throttled request still names its key, and why it was refused.
    assert_eq!(throttled["identity"]["apiKeyId"], "k-1");
    assert_eq!(throttled["error"]["responseType"], "THROTTLED");
    assert_eq!(throttled["error"]["message"], "Too Many Requests");
    assert_eq!(throttled["integrationLatency"], Value::Null, "never reached the backend");
    assert_eq!(throttled["integrationStatus"], Value::Null, "{throttled}");
    assert_eq!(refused["identity"]["apiKeyId"], Value::Null);
    assert_eq!(refused["error"]["responseType"], "INVALID_API_KEY");
    assert_eq!(refused["error"]["message"], "Forbidden");

    // Metrics with API Gateway's dimensions, counted by Envoy for every answer (the backend's,
    // the filter's refusals alike), on Envoy's Prometheus page.
    let method = r#"api="shop",stage="prod",resource="/pets/{id}",method="GET""#;
    // Histograms reach the page when Envoy flushes its stats (every 5 s).
    let latency = format!("envoy_tollgate_api_latency_count{{{method}}} 3");
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut page = envoy.prometheus();
    while !page.lines().any(|l| l == latency) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        page = envoy.prometheus();
    }
    let series = |name: &str, labels: &str| {
        let prefix = format!("{name}{{{labels}}} ");
        page.lines().find_map(|l| l.strip_prefix(&prefix)).map(|v| v.trim().to_string())
    };
    for status in ["200", "429", "403"] {
        let labels = format!(r#"{method},status="{status}",cache="""#);
        assert_eq!(
            series("envoy_tollgate_api_requests", &labels).as_deref(),
            Some("1"),
            "{status}: {page}"
        );
    }
    assert_eq!(series("envoy_tollgate_api_latency_count", method).as_deref(), Some("3"), "{page}");
    // Only the admitted request reached the backend.
    assert_eq!(
        series("envoy_tollgate_api_integration_latency_count", method).as_deref(),
        Some("1")
    );
    assert!(!page.contains("tollgate_admin"), "the management listener's series: {page}");
    // Per key (opt-in): who was throttled.
    let key = |t: &str| format!(r#"api="shop",stage="prod",key="k-1",response_type="{t}""#);
    assert_eq!(series("envoy_tollgate_api_key_requests", &key("THROTTLED")).as_deref(), Some("1"));
    assert_eq!(series("envoy_tollgate_api_key_requests", &key("")).as_deref(), Some("1"));
}

/// The access log's first line, once Envoy has written it.
fn first_line(path: &std::path::Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(line) = text.lines().next() {
            return line.to_string();
        }
        assert!(Instant::now() < deadline, "no access log line");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// With no format given, the line is the CLF AWS's console offers, then the key id and the
/// error's response type: a throttled request names its key and THROTTLED.
#[test]
fn the_default_line_is_aws_clf_with_the_key_and_the_error() {
    let (_upstream, envoy, log) = keyed_gateway("access-log-default", json!({}), json!({}));
    let key = [("x-api-key", "the-key")];
    let ok = get(envoy.port, "/pets/7", &key);
    assert_eq!(ok.status, 200, "{}", ok.text());
    let throttled = get(envoy.port, "/pets/7", &key);
    assert_eq!(throttled.status, 429, "{}", throttled.text());
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.lines().count() >= 2 || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (line, (r, tail)) in lines.iter().zip([(&ok, "k-1 -"), (&throttled, "k-1 THROTTLED")]) {
        // ip caller user [time] "method resource protocol" status length requestId
        // extendedRequestId keyId responseType
        let (start, rest) = line.split_once(" [").unwrap();
        assert_eq!(start, "127.0.0.1 - -", "{line}");
        let (time, rest) = rest.split_once("] ").unwrap();
        assert!(time.ends_with(" +0000"), "{line}");
        let id = r.header("x-amzn-requestid").unwrap();
        let rest = rest.strip_prefix(&format!("\"GET /pets/{{id}} HTTP/1.1\" {} ", r.status));
        let (length, rest) = rest.unwrap_or_else(|| panic!("{line}")).split_once(' ').unwrap();
        assert!(length.parse::<u64>().is_ok_and(|n| n > 0), "{line}");
        assert_eq!(rest, format!("{id} {} {tail}", &id[..16]), "{line}");
    }
    // No stats logger unless asked for: Envoy's own counts of the listener are there.
    let page = envoy.prometheus();
    assert!(!page.contains("envoy_tollgate_api_requests"), "{page}");
    let class = |c: &str| {
        let labels = [&format!("envoy_response_code_class=\"{c}\""), "prefix=\"api\""];
        page.lines()
            .find(|l| {
                l.starts_with("envoy_http_downstream_rq_xx{")
                    && labels.iter().all(|t| l.contains(*t))
            })
            .and_then(|l| l.rsplit(' ').next())
            .map(str::to_string)
    };
    assert_eq!((class("2").as_deref(), class("4").as_deref()), (Some("1"), Some("1")), "{page}");
}

/// An AWS `accessLogSettings.format` (the console's CLF) in the spec: Envoy writes the same
/// line AWS would, variable for variable.
#[test]
fn an_aws_access_log_format_is_written_as_aws_writes_it() {
    let upstream = Upstream::start_with(UPSTREAM, &["--mode", "echo", "--name", "backend"]);
    let dir = scratch_dir("access-log-clf");
    let log = dir.join("access.log");
    let clf = "$context.identity.sourceIp - - [$context.requestTime] \"$context.httpMethod $context.resourcePath $context.protocol\" $context.status $context.responseLength $context.requestId $context.identity.apiKeyId";
    let spec = json!({
        "gateway": {"listen": "127.0.0.1:0", "admin_listen": "127.0.0.1:0", "envoy_admin": "127.0.0.1:0",
                    "upstream": format!("http://127.0.0.1:{}", upstream.port),
                    "access_log": log, "access_log_format": clf},
        "api": {"id": "shop", "region": "us-east-1", "account_id": "123456789012"},
        "stage": {"name": "prod"},
        "methods": [{"resource": "/pets/{id}", "http_method": "GET"}],
    });
    let path = dir.join("spec.json");
    std::fs::write(&path, spec.to_string()).unwrap();
    render(&path, &dir.join("gw"));
    let envoy = Envoy::start_file(&dir.join("gw/envoy.yaml"), 1).unwrap_or_else(|l| panic!("{l}"));
    let r = get(envoy.port, "/pets/7", &[]);
    assert_eq!(r.status, 200);
    let id = r.header("x-amzn-requestid").unwrap();
    let line = first_line(&log);
    let (start, rest) = line.split_once(" - - [").unwrap();
    assert_eq!(start, "127.0.0.1");
    let (time, rest) = rest.split_once("] ").unwrap();
    assert!(time.ends_with(" +0000"), "{line}");
    assert!(
        rest.starts_with("\"GET /pets/{id} HTTP/1.1\" 200 ") && rest.ends_with(&format!(" {id} -")),
        "{line}"
    );
}
