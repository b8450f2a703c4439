//! The shape of a rendered gateway file, and its errors.

use std::path::Path;

use serde_json::Value;

use super::*;
use crate::gateway_file::{resolve, spec_config, GatewayFile};

const ORDERS_V1: &str = "api: {id: orders-v1}\nstage: {name: prod}\n\
    methods: [{resource: /orders, http_method: GET}]\n";
const ORDERS_V2: &str = "api: {id: orders-v2}\nstages: [{name: prod}, {name: beta}]\n\
    methods: [{resource: /orders, http_method: ANY}]\n";
const BILLING: &str = "api: {id: billing}\nstage: {name: prod}\n\
    methods: [{resource: /invoices, http_method: GET,
               integration: {type: HTTP_PROXY, uri: 'http://billing.internal:9000/invoices'}}]\n";

const GATEWAY: &str = "
gateway: {listen: '127.0.0.1:10000', upstream: 'http://127.0.0.1:8080',
          tls: {listen: '127.0.0.1:10443', cert: /certs/default.crt, key: /certs/default.key}}
apis: [{spec: orders-v1.yaml}, {spec: orders-v2.yaml}, {spec: billing.yaml}]
domains:
  - domain_name: api.example.com
    certificate: /certs/api.crt
    key: /certs/api.key
    base_path_mappings:
      - {base_path: v1, api: orders-v1, stage: prod}
      - {base_path: v2, api: orders-v2, stage: prod}
      - {base_path: billing/v1, api: billing}
  - domain_name: partners.example.com
    certificate: /certs/partners.crt
    key: /certs/partners.key
    base_path_mappings:
      - {base_path: (none), api: orders-v2, stage: beta}
health_checks: [/healthz]
";

fn multi(gateway: &str, specs: &[&str]) -> Result<MultiSpec, String> {
    let file = GatewayFile::parse(Path::new("gateway.yaml"), gateway)?;
    let configs = specs
        .iter()
        .map(|s| spec_config(Path::new("s.yaml"), s, Path::new("gateway.yaml")))
        .collect::<Result<Vec<_>, _>>()?;
    resolve(file, configs)
}

fn three() -> MultiSpec {
    multi(GATEWAY, &[ORDERS_V1, ORDERS_V2, BILLING]).unwrap()
}

fn error(gateway: &str) -> String {
    multi(gateway, &[ORDERS_V1, ORDERS_V2, BILLING]).unwrap_err()
}

fn listener<'a>(bootstrap: &'a Value, name: &str) -> &'a Value {
    let listeners = bootstrap["static_resources"]["listeners"].as_array().unwrap();
    listeners.iter().find(|l| l["name"] == name).unwrap()
}

fn enabled(route: &Value) -> Vec<String> {
    route["typed_per_filter_config"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn three_apis_on_two_domains() {
    let multi = three();
    let b = bootstrap_value(&multi, Path::new("/srv/gw")).unwrap();
    let api = listener(&b, API_LISTENER);
    let hcm = &api["filter_chains"][0]["filters"][0]["typed_config"];
    let filters = hcm["http_filters"].as_array().unwrap();
    let names: Vec<&str> = filters.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "tollgate.orders-v1",
            "tollgate.orders-v2",
            "tollgate.billing",
            "envoy.filters.http.router"
        ]
    );
    for filter in &filters[..3] {
        assert_eq!(filter["disabled"], true);
        let name = filter["name"].as_str().unwrap();
        let source = &filter["config_discovery"]["config_source"]["path_config_source"];
        assert_eq!(source["path"], format!("/srv/gw/{name}.ecds.yaml"));
    }

    let hosts = hcm["route_config"]["virtual_hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 3);
    assert_eq!(hosts[0]["domains"], serde_json::json!(["api.example.com", "api.example.com:*"]));
    let routes = hosts[0]["routes"].as_array().unwrap();
    let shape: Vec<(Value, Value, Vec<String>)> = routes
        .iter()
        .map(|r| (r["match"].clone(), r["route"]["prefix_rewrite"].clone(), enabled(r)))
        .collect();
    let m = |key: &str, value: &str| serde_json::json!({ key: value });
    let on = |id: &str| vec![format!("tollgate.{id}")];
    let rewrite = Value::from("/");
    assert_eq!(routes[0]["name"], routes::BY_URI_ROUTE);
    assert_eq!(routes[0]["route"]["cluster_header"], CLUSTER_HEADER);
    assert_eq!(shape[0].2, Vec::<String>::new());
    assert_eq!(shape[1], (m("path", "/healthz"), Value::Null, vec![]));
    assert_eq!(routes[1]["direct_response"]["status"], 200);
    assert_eq!(shape[2], (m("path", "/billing/v1"), rewrite.clone(), on("billing")));
    assert_eq!(shape[3], (m("prefix", "/billing/v1/"), rewrite.clone(), on("billing")));
    assert_eq!(shape[4], (m("path", "/v1"), rewrite.clone(), on("orders-v1")));
    assert_eq!(shape[5], (m("prefix", "/v1/"), rewrite.clone(), on("orders-v1")));
    assert_eq!(shape[6], (m("path", "/v2"), rewrite.clone(), on("orders-v2")));
    assert_eq!(shape[7], (m("prefix", "/v2/"), rewrite, on("orders-v2")));
    assert_eq!(routes[4]["route"]["cluster"], UPSTREAM);
    assert_eq!(
        routes[4]["typed_per_filter_config"]["tollgate.orders-v1"]["@type"],
        "type.googleapis.com/envoy.config.route.v3.FilterConfig"
    );
    assert_eq!(routes[4]["metadata"]["filter_metadata"]["tollgate"]["stage"], "prod");
    let last = routes.last().unwrap();
    assert_eq!(last["match"], m("prefix", "/"));
    assert_eq!(last["direct_response"]["status"], 403);
    assert_eq!(last["direct_response"]["body"]["inline_string"], MISSING_TOKEN_BODY);
    assert_eq!(routes.len(), 9);

    // The root mapping: every path, no rewrite.
    let partners = hosts[1]["routes"].as_array().unwrap();
    assert_eq!(partners[2]["match"], m("prefix", "/"));
    assert_eq!(partners[2]["route"].get("prefix_rewrite"), None);
    assert_eq!(enabled(&partners[2]), on("orders-v2"));
    // The default host: integration URIs, health checks, 403.
    assert_eq!(hosts[2]["domains"], serde_json::json!(["*"]));
    let names: Vec<&str> = hosts[2]["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [routes::BY_URI_ROUTE, "health /healthz", MISSING_TOKEN_ROUTE]);

    // TLS: a chain per domain by SNI, then the default certificate.
    let tls = listener(&b, TLS_LISTENER);
    assert_eq!(tls["listener_filters"][0]["name"], "envoy.filters.listener.tls_inspector");
    let chains = tls["filter_chains"].as_array().unwrap();
    assert_eq!(chains.len(), 3);
    let cert = |chain: &Value| {
        chain["transport_socket"]["typed_config"]["common_tls_context"]["tls_certificates"][0]
            ["certificate_chain"]["filename"]
            .clone()
    };
    assert_eq!(
        chains[0]["filter_chain_match"]["server_names"],
        serde_json::json!(["api.example.com"])
    );
    assert_eq!(cert(&chains[0]), "/certs/api.crt");
    assert_eq!(
        chains[1]["filter_chain_match"]["server_names"],
        serde_json::json!(["partners.example.com"])
    );
    assert_eq!(chains[2].get("filter_chain_match"), None);
    assert_eq!(cert(&chains[2]), "/certs/default.crt");

    // The clusters of every API, once each.
    let clusters: Vec<&str> = b["static_resources"]["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(clusters, [UPSTREAM, "billing.internal"]);
    assert!(b["node"]["id"].is_string() && b["node"]["cluster"].is_string());
    // The admin listener: each API's own management paths.
    let admin = &listener(&b, ADMIN_LISTENER)["filter_chains"][0]["filters"][0]["typed_config"];
    let admin_routes = admin["route_config"]["virtual_hosts"][0]["routes"].as_array().unwrap();
    assert!(admin_routes.iter().all(|r| r["name"] == ADMIN_ROUTE));
    assert_eq!(admin_routes[2]["match"]["prefix"], "/restapis/billing/");
    assert_eq!(enabled(&admin_routes[2]), on("billing"));
}

#[test]
fn each_api_config_has_its_mappings_and_the_shared_vm() {
    let multi = three();
    let mappings = |i: usize| -> Vec<(Option<String>, String, String)> {
        multi.apis[i]
            .base_path_mappings
            .iter()
            .map(|m| (m.domain_name.clone(), m.base_path.clone(), m.stage.clone()))
            .collect()
    };
    let api = Some("api.example.com".to_string());
    let partners = Some("partners.example.com".to_string());
    assert_eq!(mappings(0), [(api.clone(), "v1".into(), "prod".into())]);
    assert_eq!(
        mappings(1),
        [(api.clone(), "v2".into(), "prod".into()), (partners, "(none)".into(), "beta".into())]
    );
    // The stage defaults to the spec's one stage.
    assert_eq!(mappings(2), [(api, "billing/v1".into(), "prod".into())]);

    let documents = ecds_documents(&multi, Path::new("/wasm/tollgate.wasm")).unwrap();
    let files: Vec<&str> = documents.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        files,
        [
            "tollgate.orders-v1.ecds.yaml",
            "tollgate.orders-v2.ecds.yaml",
            "tollgate.billing.ecds.yaml"
        ]
    );
    let mut vms = Vec::new();
    for (i, (_, text)) in documents.iter().enumerate() {
        let doc: Value = serde_yaml_ng::from_str(text).unwrap();
        let resource = &doc["resources"][0];
        let id = &multi.apis[i].api.id;
        assert_eq!(resource["name"], format!("tollgate.{id}"));
        let config = &resource["typed_config"]["config"];
        assert_eq!(config["root_id"], "tollgate");
        let plugin: Value =
            serde_json::from_str(config["configuration"]["value"].as_str().unwrap()).unwrap();
        assert_eq!(plugin["api"]["id"], id.as_str());
        assert_eq!(
            plugin["base_path_mappings"],
            serde_json::to_value(&multi.apis[i].base_path_mappings).unwrap()
        );
        vms.push(config["vm_config"].clone());
    }
    assert_eq!(vms[0]["vm_id"], "tollgate");
    assert!(vms.iter().all(|vm| *vm == vms[0]), "one VM for every API: {vms:?}");
}

#[test]
fn rendering_again_rewrites_only_what_changed() {
    let dir = std::env::temp_dir().join(format!("tollgate-multi-{}", std::process::id()));
    let wasm = Path::new("/wasm/tollgate.wasm");
    let first = write(&three(), &dir, wasm).unwrap();
    assert_eq!(first.bootstrap, Change::New);
    assert!(first.filters.iter().all(|(_, c)| *c == Change::New));
    let billing = BILLING.replace("/invoices, http_method: GET", "/invoices, http_method: POST");
    let changed = multi(GATEWAY, &[ORDERS_V1, ORDERS_V2, &billing]).unwrap();
    let second = write(&changed, &dir, wasm).unwrap();
    assert_eq!(second.bootstrap, Change::Same);
    let changes: Vec<Change> = second.filters.iter().map(|(_, c)| *c).collect();
    assert_eq!(changes, [Change::Same, Change::Same, Change::Changed]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gateway_files_are_told_from_specs() {
    use crate::gateway_file::is_gateway_file;
    assert!(is_gateway_file(Path::new("g.yaml"), GATEWAY));
    assert!(is_gateway_file(Path::new("g.json"), r#"{"apis": []}"#));
    assert!(!is_gateway_file(Path::new("s.yaml"), ORDERS_V1));
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (
            GATEWAY.replace("api: orders-v1, stage", "api: orders-v9, stage"),
            "domains[0].base_path_mappings[0].api: no API `orders-v9`",
        ),
        (
            GATEWAY.replace("api: orders-v1, stage: prod", "api: orders-v1, stage: dev"),
            "domains[0].base_path_mappings[0].stage: API `orders-v1` has no stage `dev`",
        ),
        (
            GATEWAY.replace("api: orders-v2, stage: prod", "api: orders-v2"),
            "domains[0].base_path_mappings[1].stage: API `orders-v2` has several stages",
        ),
        (
            GATEWAY.replace("base_path: v2", "base_path: /v1/"),
            "domains[0].base_path_mappings[1].base_path: `/v1/` is mapped twice on api.example.com",
        ),
        (
            GATEWAY.replace("base_path: v2", "base_path: 'v 2'"),
            "domains[0].base_path_mappings[1].base_path: `v 2` is not a base path",
        ),
        (
            GATEWAY.replace(
                "domain_name: partners.example.com",
                "domain_name: 'partners_.example.com'",
            ),
            "domains[1].domain_name: `partners_.example.com` is not a host name",
        ),
        (
            GATEWAY.replace("    key: /certs/partners.key\n", ""),
            "domains[1].certificate: has no key",
        ),
        (
            GATEWAY.replace("domain_name: api", "domain_nme: api"),
            "domains[0]: unknown field `domain_nme`",
        ),
        (
            GATEWAY.replace("health_checks: [/healthz]", "health_checks: [healthz]"),
            "health_checks[0]",
        ),
    ];
    for (gateway, expected) in cases {
        let err = error(&gateway);
        assert!(err.contains(expected), "{expected}\n  in: {err}");
    }
    let err = multi(GATEWAY, &[ORDERS_V1, ORDERS_V1, BILLING]).unwrap_err();
    assert!(err.contains("apis[1].spec (orders-v2.yaml): API id `orders-v1`"), "{err}");
    let spec = format!("gateway: {{upstream: 'http://127.0.0.1:1'}}\n{ORDERS_V1}");
    let err = multi(GATEWAY, &[&spec, ORDERS_V2, BILLING]).unwrap_err();
    assert!(err.contains("gateway") && err.contains("put it in the gateway file"), "{err}");
    let no_tls = GATEWAY.replace(
        "\n          tls: {listen: '127.0.0.1:10443', cert: /certs/default.crt, key: /certs/default.key}",
        "",
    );
    assert!(error(&no_tls).contains("domains[0].certificate: there is no TLS listener"));
}

#[test]
fn a_cluster_two_apis_define_differently_is_an_error() {
    let other = BILLING.replace("id: billing", "id: billing2").replace(":9000", ":9001");
    let gateway =
        GATEWAY.replace("{spec: billing.yaml}]", "{spec: billing.yaml}, {spec: b2.yaml}]");
    let multi = multi(&gateway, &[ORDERS_V1, ORDERS_V2, BILLING, &other]).unwrap();
    let err = bootstrap_value(&multi, Path::new("/srv/gw")).unwrap_err();
    assert!(err.contains("cluster `billing.internal`") && err.contains("billing2"), "{err}");
}

const SHARED: &str = "
api_keys:
  - {id: k-gold, value_sha256: 0000000000000000000000000000000000000000000000000000000000000001,
     usage_plan_ids: [gold, v2only]}
  - {id: k-billing, value_sha256: 0000000000000000000000000000000000000000000000000000000000000002,
     usage_plan_ids: [billing-only]}
usage_plans:
  - id: gold
    quota: {limit: 4, period: DAY}
    api_stages: [{api_id: orders-v1, stage: prod}, {api_id: billing, stage: prod}]
  - id: v2only
    api_stages: [{api_id: orders-v2, stage: prod}]
  - id: billing-only
    api_stages: [{api_id: billing, stage: prod}]
";

#[test]
fn the_gateway_keys_and_plans_go_to_the_apis_they_name() {
    let multi = multi(&format!("{GATEWAY}{SHARED}"), &[ORDERS_V1, ORDERS_V2, BILLING]).unwrap();
    let view = |i: usize| {
        let c = &multi.apis[i];
        let plans: Vec<&str> = c.usage_plans.iter().map(|p| p.id.as_str()).collect();
        let keys: Vec<(&str, Vec<&str>)> = c
            .api_keys
            .iter()
            .map(|k| (k.id.as_str(), k.usage_plan_ids.iter().map(String::as_str).collect()))
            .collect();
        (plans, keys)
    };
    // orders-v1: gold only, and the gold key with only the plans orders-v1 knows.
    assert_eq!(view(0), (vec!["gold"], vec![("k-gold", vec!["gold"])]));
    assert_eq!(view(1), (vec!["v2only"], vec![("k-gold", vec!["v2only"])]));
    assert_eq!(
        view(2),
        (
            vec!["gold", "billing-only"],
            vec![("k-gold", vec!["gold"]), ("k-billing", vec!["billing-only"])]
        )
    );
    // Every API's config compiles as the filter will.
    for config in &multi.apis {
        ecds::check(config).unwrap();
    }
}

#[test]
fn gateway_keys_and_plans_errors_name_the_field() {
    let with = |shared: &str| error(&format!("{GATEWAY}{shared}"));
    let err = with(&SHARED.replace("api_id: orders-v2", "api_id: orders-v9"));
    assert!(err.contains("usage_plans[1].api_stages[0].api_id: no API `orders-v9`"), "{err}");
    let err = with(&SHARED.replace("[billing-only]}", "[platinum]}"));
    assert!(err.contains("api_keys[1].usage_plan_ids: no usage plan `platinum`"), "{err}");
    let in_spec = "api: {id: orders-v1}\nstage: {name: prod}\n\
        methods: [{resource: /orders, http_method: GET}]\n\
        usage_plans: [{id: gold, api_stages: [{api_id: orders-v1, stage: prod}]}]\n";
    let err = multi(&format!("{GATEWAY}{SHARED}"), &[in_spec, ORDERS_V2, BILLING]).unwrap_err();
    assert!(err.contains("usage_plans: `gold` is also defined in apis[0].spec"), "{err}");
}
