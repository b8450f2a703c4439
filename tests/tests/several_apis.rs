//! Several APIs on one gateway, as AWS serves them behind custom domain names: one Tollgate filter
//! per API in one Envoy (disabled in the connection manager, enabled route by route with
//! `envoy.config.route.v3.FilterConfig`), each with its own config file (ECDS) and its own base
//! path mappings, all in one VM per worker, so a usage plan spanning two APIs has one quota. The
//! bootstrap is written here by hand, as an Envoy operator writes one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tollgate_e2e::envoy::tollgate_filter;
use tollgate_e2e::sha256_hex as sha;
use tollgate_e2e::{get, scratch_dir, wasm_path, Envoy, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");
const API: &str = "api.example.com";
const PARTNERS: &str = "partners.example.com";

/// Keys and plans are the same in every API's config, as one key store would give them: `gold`
/// spans orders-v1 and billing with one quota of 4 a day; `load` opens both without a quota;
/// `v2` opens orders-v2 only.
fn api_config(id: &str, methods: Value, mappings: Value) -> Value {
    let stage = |api: &str| json!({"api_id": api, "stage": "prod"});
    json!({
        "api": {"id": id, "region": "eu-west-1", "account_id": "123456789012"},
        "stage": {"name": "prod"},
        "methods": methods,
        "base_path_mappings": mappings,
        "api_keys": [
            {"id": "k-gold", "value_sha256": sha("gold-key"), "usage_plan_ids": ["gold"]},
            {"id": "k-load", "value_sha256": sha("load-key"), "usage_plan_ids": ["load"]},
            {"id": "k-v2", "value_sha256": sha("v2-key"), "usage_plan_ids": ["v2"]},
        ],
        "usage_plans": [
            {"id": "gold", "api_stages": [stage("orders-v1"), stage("billing")],
             "quota": {"limit": 4, "period": "DAY"}},
            {"id": "load", "api_stages": [stage("orders-v1"), stage("billing")]},
            {"id": "v2", "api_stages": [stage("orders-v2")]},
        ],
    })
}

fn keyed(resource: &str) -> Value {
    json!({"resource": resource, "http_method": "GET", "api_key_required": true})
}

fn orders_v1() -> Value {
    api_config(
        "orders-v1",
        json!([keyed("/orders")]),
        json!([{"domain_name": API, "base_path": "v1", "stage": "prod"}]),
    )
}

fn orders_v2(methods: Value) -> Value {
    api_config(
        "orders-v2",
        methods,
        json!([
            {"domain_name": API, "base_path": "v2", "stage": "prod"},
            {"domain_name": PARTNERS, "base_path": "(none)", "stage": "prod"},
        ]),
    )
}

fn billing() -> Value {
    api_config(
        "billing",
        json!([keyed("/invoices")]),
        json!([{"domain_name": API, "base_path": "billing/v1", "stage": "prod"}]),
    )
}

/// The filter's config as Envoy reads it from a file (ECDS): same VM (`vm_id`, code) for every
/// API, so their counters are shared.
fn ecds(id: &str, config: &Value) -> Value {
    let mut filter = tollgate_filter(config, &wasm_path().to_string_lossy());
    filter["typed_config"]["config"]["name"] = json!(format!("tollgate.{id}"));
    json!({"resources": [{
        "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
        "name": format!("tollgate.{id}"),
        "typed_config": filter["typed_config"],
    }]})
}

/// Writes a file the way a deploy should: whole, then renamed over the old one.
fn write_atomically(path: &Path, value: &Value) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, value.to_string()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The filter of API `id`, off unless a route turns it on.
fn api_filter(dir: &Path, id: &str) -> Value {
    json!({
        "name": format!("tollgate.{id}"),
        "disabled": true,
        "config_discovery": {
            "config_source": {
                "path_config_source": {"path": dir.join(format!("tollgate.{id}.ecds.json"))},
                "initial_fetch_timeout": "30s",
            },
            "type_urls": ["type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"],
        },
    })
}

/// A base path of a custom domain: the route turns its API's filter on and removes the base
/// path on the way upstream (the filter leaves `:path` as it came).
fn mapped(base: &str, api: &str) -> Vec<Value> {
    let enable = json!({format!("tollgate.{api}"): {
        "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig", "config": {}}});
    if base.is_empty() {
        return vec![json!({"match": {"prefix": "/"}, "route": {"cluster": "backend"},
                           "typed_per_filter_config": enable})];
    }
    vec![
        json!({"match": {"path": base}, "route": {"cluster": "backend", "prefix_rewrite": "/"},
               "typed_per_filter_config": enable}),
        json!({"match": {"prefix": format!("{base}/")},
               "route": {"cluster": "backend", "prefix_rewrite": "/"},
               "typed_per_filter_config": enable}),
    ]
}

/// What AWS answers for a path no base path mapping covers.
fn missing_token() -> Value {
    json!({"match": {"prefix": "/"}, "direct_response": {"status": 403,
        "body": {"inline_string": "{\"message\":\"Missing Authentication Token\"}"}},
        "response_headers_to_add": [
            {"header": {"key": "content-type", "value": "application/json"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
            {"header": {"key": "x-amzn-errortype", "value": "MissingAuthenticationTokenException"}}]})
}

fn health() -> Value {
    json!({"match": {"path": "/healthz"},
           "direct_response": {"status": 200, "body": {"inline_string": "ok"}}})
}

fn connection_manager(dir: &Path) -> Value {
    let host = |domain: &str, mut routes: Vec<Value>| {
        routes.insert(0, health());
        routes.push(missing_token());
        json!({"name": domain, "domains": [domain, format!("{domain}:*")], "routes": routes})
    };
    let api_routes: Vec<Value> =
        [("/billing/v1", "billing"), ("/v1", "orders-v1"), ("/v2", "orders-v2")]
            .iter()
            .flat_map(|(base, api)| mapped(base, api))
            .collect();
    json!({
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": "api",
            "http_filters": [
                api_filter(dir, "orders-v1"), api_filter(dir, "orders-v2"), api_filter(dir, "billing"),
                {"name": "envoy.filters.http.router", "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
            ],
            "route_config": {"virtual_hosts": [
                host(API, api_routes),
                host(PARTNERS, mapped("", "orders-v2")),
                {"name": "other", "domains": ["*"], "routes": [health(), missing_token()]},
            ]},
        },
    })
}

fn tls_chain(dir: &Path, domain: &str, (cert, key): &(PathBuf, PathBuf)) -> Value {
    json!({
        "filter_chain_match": {"server_names": [domain]},
        "transport_socket": {"name": "envoy.transport_sockets.tls", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
            "common_tls_context": {"tls_certificates": [{
                "certificate_chain": {"filename": cert}, "private_key": {"filename": key}}]}}},
        "filters": [connection_manager(dir)],
    })
}

fn bootstrap(dir: &Path, backend: u16, certs: &[(PathBuf, PathBuf); 2]) -> Value {
    let listener = |name: &str| {
        json!({"name": name,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}})
    };
    let mut plain = listener("api");
    plain["filter_chains"] = json!([{"filters": [connection_manager(dir)]}]);
    let mut tls = listener("tls");
    tls["listener_filters"] = json!([{"name": "envoy.filters.listener.tls_inspector", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"}}]);
    tls["filter_chains"] =
        json!([tls_chain(dir, API, &certs[0]), tls_chain(dir, PARTNERS, &certs[1])]);
    json!({
        // ECDS needs a node.
        "node": {"id": "several-apis", "cluster": "tollgate"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [plain, tls],
            "clusters": [{"name": "backend", "type": "STATIC", "connect_timeout": "1s",
                "load_assignment": {"cluster_name": "backend", "endpoints": [{"lb_endpoints": [
                    {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": backend}}}}]}]}}],
        },
    })
}

/// A self-signed server certificate for `domain` only, and its key.
fn certificate(dir: &Path, domain: &str) -> (PathBuf, PathBuf) {
    tollgate_e2e::ws::server_certificate(dir, domain, &format!("DNS:{domain}"))
}

/// `curl https://{domain}:{port}{path}` to this Envoy, trusting only `ca`: (curl's exit code,
/// status, body). Exit code 60 is a certificate that does not verify.
fn curl_tls(port: u16, domain: &str, path: &str, key: &str, ca: &Path) -> (i32, String, String) {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10", "--resolve", &format!("{domain}:{port}:127.0.0.1")])
        .arg("--cacert")
        .arg(ca)
        .args(["-H", &format!("x-api-key: {key}"), "-w", "\n%{http_code}"])
        .arg(format!("https://{domain}:{port}{path}"))
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    (out.status.code().unwrap_or(-1), status.to_string(), body.to_string())
}

fn on(port: u16, domain: &str, path: &str, key: &str) -> tollgate_e2e::Response {
    get(port, path, &[("host", domain), ("x-api-key", key)])
}

#[test]
fn three_apis_on_two_domains_share_one_envoy() {
    let backend = Upstream::start(UPSTREAM, "echo");
    let dir = scratch_dir("several-apis");
    write_atomically(&dir.join("tollgate.orders-v1.ecds.json"), &ecds("orders-v1", &orders_v1()));
    let v2 = |methods: Value| ecds("orders-v2", &orders_v2(methods));
    write_atomically(&dir.join("tollgate.orders-v2.ecds.json"), &v2(json!([keyed("/orders")])));
    write_atomically(&dir.join("tollgate.billing.ecds.json"), &ecds("billing", &billing()));
    let certs = [certificate(&dir, API), certificate(&dir, PARTNERS)];
    let config = dir.join("envoy.json");
    std::fs::write(&config, bootstrap(&dir, backend.port, &certs).to_string()).unwrap();
    let envoy = Envoy::start_named(&config, "api").unwrap_or_else(|log| panic!("{log}"));
    let port = envoy.port;
    let tls_port = envoy.listener_port("tls").expect("the TLS listener");

    // Each base path reaches its API, without the base path, with that API's keys.
    let r = on(port, API, "/v1/orders?page=2", "load-key");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["path"], "/orders?page=2");
    let r = on(port, API, "/billing/v1/invoices", "load-key");
    assert_eq!((r.status, r.json()["path"].clone()), (200, json!("/invoices")), "{}", r.text());
    let r = on(port, API, "/v2/orders", "v2-key");
    assert_eq!((r.status, r.json()["path"].clone()), (200, json!("/orders")), "{}", r.text());
    // A key of another API's plan opens nothing here; the same path on the other domain is
    // another API's root mapping.
    let r = on(port, API, "/v2/orders", "load-key");
    assert_eq!((r.status, r.json()), (403, json!({"message": "Forbidden"})));
    let r = on(port, PARTNERS, "/orders", "v2-key");
    assert_eq!((r.status, r.json()["path"].clone()), (200, json!("/orders")), "{}", r.text());
    // A resource the API does not have, and a base path no API is mapped at.
    let r = on(port, API, "/v1/invoices", "load-key");
    assert_eq!((r.status, r.json()), (403, json!({"message": "Missing Authentication Token"})));
    let r = on(port, API, "/v3/orders", "load-key");
    assert_eq!((r.status, r.json()), (403, json!({"message": "Missing Authentication Token"})));
    assert_eq!(r.header("x-amzn-errortype"), Some("MissingAuthenticationTokenException"));
    let r = on(port, "elsewhere.example.com", "/v1/orders", "load-key");
    assert_eq!(r.status, 403, "{}", r.text());
    // A route outside every API: Envoy answers, no key asked.
    let r = get(port, "/healthz", &[("host", API)]);
    assert_eq!((r.status, r.text()), (200, "ok".to_string()));

    // TLS: the SNI picks each domain's certificate (curl checks it against the name it asked).
    let (code, status, body) = curl_tls(tls_port, PARTNERS, "/orders", "v2-key", &certs[1].0);
    assert_eq!((code, status.as_str()), (0, "200"), "{body}");
    let (code, status, body) =
        curl_tls(tls_port, API, "/billing/v1/invoices", "load-key", &certs[0].0);
    assert_eq!((code, status.as_str()), (0, "200"), "{body}");
    let (code, _, _) = curl_tls(tls_port, API, "/v1/orders", "load-key", &certs[1].0);
    assert_eq!(code, 60, "api.example.com must not be served with partners' certificate");

    // One quota for a plan spanning two APIs: 4 a day, whichever API counts.
    for (path, i) in [
        ("/v1/orders", 1),
        ("/billing/v1/invoices", 2),
        ("/v1/orders", 3),
        ("/billing/v1/invoices", 4),
    ] {
        let r = on(port, API, path, "gold-key");
        assert_eq!(r.status, 200, "request {i} on {path}: {}", r.text());
    }
    for path in ["/v1/orders", "/billing/v1/invoices"] {
        let r = on(port, API, path, "gold-key");
        assert_eq!((r.status, r.json()), (429, json!({"message": "Limit Exceeded"})), "{path}");
    }

    // One API's config replaced live: the others serve every request meanwhile.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut answers = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                for path in ["/v1/orders", "/billing/v1/invoices"] {
                    answers.push((path, on(port, API, path, "load-key").status));
                }
            }
            answers
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let before = on(port, API, "/v2/orders/7", "v2-key");
    assert_eq!(before.status, 403, "{}", before.text());
    write_atomically(
        &dir.join("tollgate.orders-v2.ecds.json"),
        &v2(json!([keyed("/orders"), keyed("/orders/{id}")])),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = on(port, API, "/v2/orders/7", "v2-key");
        if r.status == 200 {
            assert_eq!(r.json()["path"], "/orders/7");
            break;
        }
        assert!(Instant::now() < deadline, "the new orders-v2 config never served: {}", r.text());
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let answers = load.join().unwrap();
    assert!(answers.len() >= 10, "too little load to say anything: {answers:?}");
    let failed: Vec<_> = answers.iter().filter(|(_, status)| *status != 200).collect();
    assert!(failed.is_empty(), "{} of {} failed: {failed:?}", failed.len(), answers.len());
    // The replaced API kept its other keys' answers: the gold quota is still spent.
    let r = on(port, API, "/v1/orders", "gold-key");
    assert_eq!(r.status, 429, "{}", r.text());
}

/// The same shape from `tollgate render` of a gateway file: each spec's API at its base paths,
/// the gateway's keys and plans shared by the APIs they name, a changed spec rendered again
/// reloads that API alone, and a key created in the gateway file opens both APIs.
#[test]
fn a_rendered_gateway_file_serves_each_api_at_its_base_paths() {
    let backend = Upstream::start(UPSTREAM, "echo");
    let dir = scratch_dir("gateway-file");
    let spec = |id: &str, resources: &[&str]| {
        let methods: Vec<Value> = resources.iter().map(|r| keyed(r)).collect();
        let mut config = api_config(id, json!(methods), json!([]));
        let fields = config.as_object_mut().unwrap();
        for shared in ["base_path_mappings", "api_keys", "usage_plans"] {
            fields.remove(shared);
        }
        config
    };
    // The gateway's keys and plans: those of orders-v1 and billing (orders-v2 is not served).
    let shared = api_config("any", json!([]), json!([]));
    let keys: Vec<&Value> =
        shared["api_keys"].as_array().unwrap().iter().filter(|k| k["id"] != "k-v2").collect();
    let plans: Vec<&Value> =
        shared["usage_plans"].as_array().unwrap().iter().filter(|p| p["id"] != "v2").collect();
    let write = |name: &str, value: &Value| {
        std::fs::write(dir.join(name), serde_json::to_string_pretty(value).unwrap()).unwrap()
    };
    write("orders-v1.json", &spec("orders-v1", &["/orders"]));
    write("billing.json", &spec("billing", &["/invoices"]));
    write(
        "gateway.json",
        &json!({
            "gateway": {"listen": "127.0.0.1:0", "admin_listen": "127.0.0.1:0",
                        "envoy_admin": "127.0.0.1:0",
                        "upstream": format!("http://127.0.0.1:{}", backend.port)},
            "apis": [{"spec": "orders-v1.json"}, {"spec": "billing.json"}],
            "domains": [{"domain_name": API, "base_path_mappings": [
                {"base_path": "v1", "api": "orders-v1", "stage": "prod"},
                {"base_path": "billing/v1", "api": "billing"},
            ]}],
            "health_checks": ["/healthz"],
            "api_keys": keys,
            "usage_plans": plans,
        }),
    );
    let out = dir.join("rendered");
    tollgate_e2e::render(&dir.join("gateway.json"), &out);
    let envoy = Envoy::start_file(&out.join("envoy.yaml"), 2).unwrap_or_else(|log| panic!("{log}"));
    let port = envoy.port;

    let r = on(port, API, "/v1/orders?page=2", "gold-key");
    assert_eq!(
        (r.status, r.json()["path"].clone()),
        (200, json!("/orders?page=2")),
        "{}",
        r.text()
    );
    let r = on(port, API, "/billing/v1/invoices", "gold-key");
    assert_eq!((r.status, r.json()["path"].clone()), (200, json!("/invoices")), "{}", r.text());
    let r = on(port, API, "/v1/orders", "v2-key");
    assert_eq!((r.status, r.json()), (403, json!({"message": "Forbidden"})));
    let r = on(port, API, "/v9/orders", "gold-key");
    assert_eq!((r.status, r.json()), (403, json!({"message": "Missing Authentication Token"})));
    let r = get(port, "/healthz", &[("host", API)]);
    assert_eq!(r.status, 200, "{}", r.text());
    // One quota of 4 across both APIs: two used, two left, then none.
    for path in ["/v1/orders", "/billing/v1/invoices"] {
        assert_eq!(on(port, API, path, "gold-key").status, 200, "{path}");
    }
    let r = on(port, API, "/v1/orders", "gold-key");
    assert_eq!((r.status, r.json()), (429, json!({"message": "Limit Exceeded"})));

    // billing gets a method: deploying the gateway file rewrites billing's file alone.
    let v1_file = std::fs::read_to_string(out.join("tollgate.orders-v1.ecds.yaml")).unwrap();
    write("billing.json", &spec("billing", &["/invoices", "/invoices/{id}"]));
    let (ok, _, stderr) = tollgate_e2e::run_cli(&[
        "deploy",
        &dir.join("gateway.json").to_string_lossy(),
        "--to",
        &out.to_string_lossy(),
    ]);
    assert!(ok, "tollgate deploy: {stderr}");
    assert_eq!(std::fs::read_to_string(out.join("tollgate.orders-v1.ecds.yaml")).unwrap(), v1_file);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = on(port, API, "/billing/v1/invoices/7", "load-key");
        if r.status == 200 {
            assert_eq!(r.json()["path"], "/invoices/7");
            break;
        }
        assert!(Instant::now() < deadline, "billing's new method never served: {}", r.text());
        std::thread::sleep(Duration::from_millis(100));
    }
    // The quota survived the reload: counts live in the VM, not in a config.
    assert_eq!(on(port, API, "/billing/v1/invoices", "gold-key").status, 429);

    // A key created in the gateway file (its plan spans both APIs) opens both once deployed.
    let gateway = dir.join("gateway.json").to_string_lossy().into_owned();
    let (ok, value, stderr) = tollgate_e2e::run_cli(&[
        "keys",
        "create",
        &gateway,
        "--id",
        "k-new",
        "--plan",
        "load",
        "--deploy",
        &out.to_string_lossy(),
    ]);
    assert!(ok, "{stderr}");
    let value = value.trim().to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    for path in ["/v1/orders", "/billing/v1/invoices"] {
        loop {
            let r = on(port, API, path, &value);
            if r.status == 200 {
                break;
            }
            assert!(Instant::now() < deadline, "the new key never opened {path}: {}", r.text());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let (ok, _, stderr) = tollgate_e2e::run_cli(&["plans", "create", &gateway, "--id", "nowhere"]);
    assert!(!ok && stderr.contains("--stage API:STAGE"), "{stderr}");
}
