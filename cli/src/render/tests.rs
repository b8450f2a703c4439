//! The shape of rendered configs.

use std::path::Path;

use serde_json::Value;

use super::ecds::{ecds_document, FILTER_NAME};
use super::routes::{ADMIN_ROUTE, BY_URI_ROUTE, UNMATCHED_ROUTE};
use super::*;
use crate::spec::Spec;

fn spec(yaml: &str) -> Spec {
    Spec::parse(Path::new("s.yaml"), yaml).unwrap()
}

fn render(yaml: &str) -> Value {
    bootstrap_value(&spec(yaml), Path::new("/srv/gw")).unwrap()
}

fn error(yaml: &str) -> String {
    bootstrap_value(&spec(yaml), Path::new("/srv/gw")).unwrap_err()
}

fn listener<'a>(bootstrap: &'a Value, name: &str) -> &'a Value {
    bootstrap["static_resources"]["listeners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no listener {name}"))
}

fn hcm(listener: &Value) -> &Value {
    &listener["filter_chains"][0]["filters"][0]["typed_config"]
}

fn routes<'a>(bootstrap: &'a Value, name: &str) -> &'a Vec<Value> {
    hcm(listener(bootstrap, name))["route_config"]["virtual_hosts"][0]["routes"].as_array().unwrap()
}

fn cluster<'a>(bootstrap: &'a Value, name: &str) -> &'a Value {
    bootstrap["static_resources"]["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no cluster {name}"))
}

fn endpoint(cluster: &Value) -> (String, u64) {
    let a = &cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
        ["socket_address"];
    (a["address"].as_str().unwrap().to_string(), a["port_value"].as_u64().unwrap())
}

const PETS: &str = "
gateway: {listen: '0.0.0.0:8000', upstream: 'http://127.0.0.1:8080'}
api: {id: pets}
methods:
- {resource: /pets, http_method: GET, api_key_required: true}
- {resource: '/{proxy+}', http_method: ANY,
   integration: {type: HTTP_PROXY, uri: 'http://files.internal:9000/{proxy}',
                 request_parameters: {integration.request.path.proxy: method.request.path.proxy}}}
- {resource: '/pets/{petId}', http_method: GET}
- {resource: /pets/mine, http_method: GET}
- {resource: /health, http_method: GET,
   integration: {type: MOCK, responses: {default: {status_code: '200'}}}}
";

#[test]
fn listeners_filters_and_admin() {
    let b = render(PETS);
    assert_eq!(b["admin"]["address"]["socket_address"]["port_value"], 9901);
    assert!(b["node"]["id"].is_string() && b["node"]["cluster"].is_string());
    let api = listener(&b, API_LISTENER);
    assert_eq!(api["address"]["socket_address"]["address"], "0.0.0.0");
    assert_eq!(api["address"]["socket_address"]["port_value"], 8000);
    assert_eq!(api["per_connection_buffer_limit_bytes"], BUFFER_LIMIT);
    let filters = hcm(api)["http_filters"].as_array().unwrap();
    assert_eq!(filters.len(), 2);
    assert_eq!(filters[0]["name"], FILTER_NAME);
    let source = &filters[0]["config_discovery"]["config_source"]["path_config_source"];
    assert_eq!(source["path"], "/srv/gw/tollgate.ecds.yaml");
    assert_eq!(source["watched_directory"]["path"], "/srv/gw");
    assert_eq!(filters[1]["name"], "envoy.filters.http.router");
    assert!(hcm(api)["access_log"][0]["name"].as_str().unwrap().contains("stdout"));

    let admin = listener(&b, ADMIN_LISTENER);
    assert_eq!(admin["address"]["socket_address"]["address"], "127.0.0.1");
    assert_eq!(hcm(admin)["http_filters"][0]["name"], FILTER_NAME);
    let admin_routes = routes(&b, ADMIN_LISTENER);
    assert_eq!(admin_routes.len(), 1);
    assert_eq!(admin_routes[0]["name"], ADMIN_ROUTE);
    assert_eq!(admin_routes[0]["direct_response"]["status"], 404);
    assert!(b["static_resources"]["listeners"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["name"] != TLS_LISTENER));
}

#[test]
fn routes_per_method_most_specific_first_then_catch_alls() {
    let b = render(PETS);
    let routes = routes(&b, API_LISTENER);
    let names: Vec<&str> = routes.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "GET /pets",
            "GET /health",
            "GET /pets/mine",
            "GET /pets/{petId}",
            "ANY /{proxy+}",
            BY_URI_ROUTE,
            UNMATCHED_ROUTE
        ]
    );
    let by_name = |n: &str| routes.iter().find(|r| r["name"] == n).unwrap();
    let pet = by_name("GET /pets/{petId}");
    // The execute-api form `/prod/pets/7` routes like `/pets/7` (the one stage is `prod`).
    assert_eq!(pet["match"]["safe_regex"]["regex"], "(?:/(?:prod))?/pets/[^/]+/?");
    assert_eq!(pet["match"]["headers"][0]["name"], ":method");
    assert_eq!(pet["match"]["headers"][0]["string_match"]["exact"], "GET");
    assert_eq!(pet["metadata"]["filter_metadata"]["tollgate"]["resource"], "/pets/{petId}");
    assert_eq!(pet["metadata"]["filter_metadata"]["tollgate"]["http_method"], "GET");
    assert_eq!(pet["route"]["cluster"], UPSTREAM);
    assert_eq!(pet["route"]["upgrade_configs"][0]["upgrade_type"], "websocket");
    let proxy = by_name("ANY /{proxy+}");
    assert!(proxy["match"].get("headers").is_none(), "ANY matches every verb");
    assert_eq!(proxy["route"]["cluster_header"], "x-tollgate-cluster");
    assert_eq!(proxy["route"]["timeout"], "29s");
    assert_eq!(by_name("GET /health")["direct_response"]["status"], 500);
    let by_uri = by_name(BY_URI_ROUTE);
    assert_eq!(by_uri["match"]["headers"][0]["name"], "x-tollgate-cluster");
    let last = routes.last().unwrap();
    assert_eq!(last["match"]["prefix"], "/");
    assert_eq!(last["route"]["cluster"], UPSTREAM);
}

#[test]
fn clusters_from_upstream_and_integration_hosts() {
    let b = render(PETS);
    let upstream = cluster(&b, UPSTREAM);
    assert_eq!(upstream["type"], "STATIC");
    assert_eq!(endpoint(upstream), ("127.0.0.1".into(), 8080));
    // The filter names the cluster by the URI's host.
    let files = cluster(&b, "files.internal");
    assert_eq!(files["type"], "STRICT_DNS");
    assert_eq!(endpoint(files), ("files.internal".into(), 9000));
    assert!(files.get("transport_socket").is_none());
    assert_eq!(b["static_resources"]["clusters"].as_array().unwrap().len(), 2);
}

#[test]
fn stage_prefixes_and_stage_variables() {
    let b = render(
        "
gateway: {clusters: {orders-v2: 'http://10.0.0.2:80'}}
api: {id: shop}
stages:
- {name: dev, variables: {orders: orders-dev}}
- {name: prod, variables: {orders: orders-v2}}
methods:
- {resource: '/orders/{id}', http_method: GET,
   integration: {type: HTTP_PROXY, uri: 'http://${stageVariables.orders}:8081/orders/{id}',
                 request_parameters: {integration.request.path.id: method.request.path.id}}}
",
    );
    let list = routes(&b, API_LISTENER);
    assert_eq!(list[0]["match"]["safe_regex"]["regex"], "(?:/(?:dev|prod))?/orders/[^/]+/?");
    // No upstream: the last route answers itself.
    assert_eq!(list.last().unwrap()["direct_response"]["status"], 500);
    assert_eq!(endpoint(cluster(&b, "orders-dev")), ("orders-dev".into(), 8081));
    // gateway.clusters overrides the address the URI gives.
    assert_eq!(endpoint(cluster(&b, "orders-v2")), ("10.0.0.2".into(), 80));

    let b = render(
        "
gateway: {upstream: 'http://127.0.0.1:1'}
api: {id: shop}
stages: [{name: dev}, {name: prod}]
stage_selection: {path_prefix: false, header: accept-version}
methods: [{resource: /a, http_method: GET}]
",
    );
    assert_eq!(routes(&b, API_LISTENER)[0]["match"]["safe_regex"]["regex"], "/a/?");
}

#[test]
fn aws_lambda_and_jwks_clusters() {
    let b = render(
        "
gateway:
  clusters: {lambda: 'http://127.0.0.1:9001'}
api: {id: shop, region: eu-west-1}
authorizers:
- {id: pool, type: COGNITO_USER_POOLS, issuers: ['https://cognito-idp.eu-west-1.amazonaws.com/p'],
   jwks_uri: {cluster: cognito, authority: cognito-idp.eu-west-1.amazonaws.com, path: /p/.well-known/jwks.json}}
lambda_authorizers:
- {id: auth, type: TOKEN, function: {cluster: lambda, authority: lambda.eu-west-1.amazonaws.com, name: authz}}
methods:
- {resource: /items, http_method: POST,
   integration: {type: AWS, uri: 'arn:aws:apigateway:eu-west-1:dynamodb:action/PutItem', cluster: dynamodb,
                 request_templates: {application/json: '{}'}}}
- {resource: /fn, http_method: POST,
   integration: {type: AWS_PROXY, function: {cluster: lambda, authority: lambda.eu-west-1.amazonaws.com, name: fn}}}
",
    );
    let signing = |c: &Value| {
        let f = &c["typed_extension_protocol_options"]
            ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]["http_filters"];
        assert_eq!(f[0]["name"], "envoy.filters.http.aws_request_signing");
        assert_eq!(f[1]["name"], "envoy.filters.http.upstream_codec");
        let t = &f[0]["typed_config"];
        (t["service_name"].as_str().unwrap().to_string(), t["region"].as_str().unwrap().to_string())
    };
    let dynamodb = cluster(&b, "dynamodb");
    assert_eq!(endpoint(dynamodb), ("dynamodb.eu-west-1.amazonaws.com".into(), 443));
    assert_eq!(
        dynamodb["transport_socket"]["typed_config"]["sni"],
        "dynamodb.eu-west-1.amazonaws.com"
    );
    assert_eq!(signing(dynamodb), ("dynamodb".into(), "eu-west-1".into()));
    let lambda = cluster(&b, "lambda");
    assert_eq!(endpoint(lambda), ("127.0.0.1".into(), 9001));
    assert!(lambda.get("transport_socket").is_none());
    // A local stand-in is not given the credentials of Envoy's environment...
    assert!(lambda.get("typed_extension_protocol_options").is_none(), "{lambda}");
    let cognito = cluster(&b, "cognito");
    assert_eq!(endpoint(cognito).1, 443);
    assert!(cognito.get("typed_extension_protocol_options").is_none());
    // No method needs the upstream: there is none.
    assert!(b["static_resources"]["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["name"] != UPSTREAM));
}

#[test]
fn local_stand_ins_are_signed_only_when_the_spec_says() {
    let yaml = |signed: &str| {
        format!(
            "
gateway:
  clusters: {{lambda: 'http://127.0.0.1:9001'}}
  signed_clusters: [{signed}]
api: {{id: shop, region: eu-west-1}}
methods:
- {{resource: /fn, http_method: POST,
   integration: {{type: AWS_PROXY, function: {{cluster: lambda, authority: lambda.eu-west-1.amazonaws.com, name: fn}}}}}}
"
        )
    };
    let b = render(&yaml("lambda"));
    let filters = &cluster(&b, "lambda")["typed_extension_protocol_options"]
        ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]["http_filters"];
    assert_eq!(filters[0]["name"], "envoy.filters.http.aws_request_signing");
    assert!(!render(&yaml("")).to_string().contains("aws_request_signing"));
    let err = error(&yaml("upstream"));
    assert!(err.contains("gateway.signed_clusters") && err.contains("upstream"), "{err}");
}

/// Every connection manager takes the caller from the TCP peer (or the trusted hops in front),
/// and the API listeners drop what only the gateway or a trusted hop may say.
#[test]
fn listeners_trust_the_peer_not_the_client() {
    let with = |gateway: &str| {
        let pets = PETS.replace("upstream: 'http://127.0.0.1:8080'", gateway);
        render(&format!("{pets}trusted_headers: {{source_vpce: X-Amzn-Vpce-Id}}\n"))
    };
    let b = with(
        "upstream: 'http://127.0.0.1:8080', tls: {listen: '127.0.0.1:8443', cert: /c.pem, key: /k.pem}",
    );
    for name in [API_LISTENER, TLS_LISTENER, ADMIN_LISTENER] {
        let h = hcm(listener(&b, name));
        assert_eq!(h["use_remote_address"], true, "{name}");
        assert_eq!(h["append_x_forwarded_port"], true, "{name}");
        assert!(h.get("xff_num_trusted_hops").is_none(), "{name}");
    }
    let early = &hcm(listener(&b, API_LISTENER))["early_header_mutation_extensions"][0];
    let mutations = early["typed_config"]["mutations"].to_string();
    for removed in [
        r#"{"remove":"x-amzn-vpce-id"}"#,
        r#"{"remove":"x-forwarded-port"}"#,
        r#"{"remove_on_match":{"key_matcher":{"prefix":"x-tollgate-"}}}"#,
    ] {
        assert!(mutations.contains(removed), "{removed} in {mutations}");
    }
    // The admin listener keeps `x-tollgate-admin-key`, its credential.
    assert!(hcm(listener(&b, ADMIN_LISTENER)).get("early_header_mutation_extensions").is_none());

    // Behind a trusted load balancer: Envoy believes one hop, which sets the trusted headers.
    let b = with("upstream: 'http://127.0.0.1:8080', trusted_hops: 1");
    let h = hcm(listener(&b, API_LISTENER));
    assert_eq!(h["xff_num_trusted_hops"], 1);
    let mutations =
        h["early_header_mutation_extensions"][0]["typed_config"]["mutations"].to_string();
    assert!(!mutations.contains("vpce") && !mutations.contains("x-forwarded-port"), "{mutations}");
    assert!(mutations.contains("x-tollgate-"), "{mutations}");
}

#[test]
fn tls_listener() {
    let b = render(
        "
gateway: {upstream: 'http://127.0.0.1:1', tls: {listen: '0.0.0.0:8443', cert: /c.pem, key: /k.pem}}
api: {id: a}
methods: [{resource: /a, http_method: GET}]
",
    );
    let tls = listener(&b, TLS_LISTENER);
    assert_eq!(tls["address"]["socket_address"]["port_value"], 8443);
    let ctx = &tls["filter_chains"][0]["transport_socket"]["typed_config"]["common_tls_context"];
    assert_eq!(ctx["tls_certificates"][0]["certificate_chain"]["filename"], "/c.pem");
    assert_eq!(hcm(tls)["http_filters"][0]["name"], FILTER_NAME);
}

#[test]
fn clear_errors() {
    let cases = [
        ("api: {id: a}\nmethods: [{resource: /a, http_method: GET}]\n", "gateway.upstream"),
        (
            "gateway: {upstream: 'http://x:1', listen: 'localhost:80'}\napi: {id: a}\n",
            "gateway.listen",
        ),
        ("gateway: {upstream: 'tcp://x'}\napi: {id: a}\n", "gateway.upstream"),
        (
            "gateway: {upstream: 'http://x:1', admin_listen: '0.0.0.0:10000'}\napi: {id: a}\n",
            "both",
        ),
        (
            "api: {id: a}
authorizers: [{id: p, type: JWT, issuers: [i], jwks_uri: {cluster: jwks, authority: jwks, path: /k}}]\n",
            "gateway.clusters.jwks",
        ),
        (
            "gateway: {upstream: 'http://x:1'}
api: {id: a}
methods:
- {resource: /a, http_method: GET, integration: {uri: 'http://svc:1/a'}}
- {resource: /b, http_method: GET, integration: {uri: 'http://svc:2/b'}}\n",
            "cluster `svc`",
        ),
        (
            "gateway: {upstream: 'http://x:1'}\napi: {id: a}\nmethods: [{resource: a, http_method: GET}]\n",
            "methods[0].resource",
        ),
    ];
    for (yaml, want) in cases {
        let err = error(yaml);
        assert!(err.contains(want), "{yaml}\n=> {err}");
    }
}

#[test]
fn ecds_document_holds_the_filter_config() {
    let s = spec(
        "
api: {id: a}
iam:
  credentials:
  - {access_key_id: AKIDEXAMPLE, secret_access_key: {env: ALICE_SECRET}, principal_arn: 'arn:aws:iam::123456789012:user/alice'}
methods: [{resource: /a, http_method: GET, authorization_type: AWS_IAM}]
",
    );
    let text = ecds_document(&s.config, Path::new("/w/tollgate_filter.wasm")).unwrap();
    let doc: Value = serde_yaml_ng::from_str(&text).unwrap();
    let resources = doc["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 1);
    assert_eq!(
        resources[0]["@type"],
        "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig"
    );
    assert_eq!(resources[0]["name"], FILTER_NAME);
    let wasm = &resources[0]["typed_config"];
    assert_eq!(wasm["@type"], "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm");
    let c = &wasm["config"];
    assert_eq!(c["failure_policy"], "FAIL_CLOSED");
    assert_eq!(c["allow_on_headers_stop_iteration"], true);
    assert_eq!(c["vm_config"]["vm_id"], "tollgate");
    assert_eq!(c["vm_config"]["runtime"], "envoy.wasm.runtime.v8");
    assert_eq!(c["vm_config"]["code"]["local"]["filename"], "/w/tollgate_filter.wasm");
    assert_eq!(c["vm_config"]["environment_variables"]["host_env_keys"][0], "ALICE_SECRET");
    let json = c["configuration"]["value"].as_str().unwrap();
    let back = tollgate_core::config::Config::from_json(json.as_bytes()).unwrap();
    // The spec as written, with the filter state its access line reads turned on.
    assert!(!s.config.filter_state && back.filter_state);
    assert_eq!(back, tollgate_core::config::Config { filter_state: true, ..s.config.clone() });

    // A config the filter would refuse is not written.
    let mut bad = s.config.clone();
    bad.methods[0].http_method = "FETCH".into();
    let err = ecds_document(&bad, Path::new("/w/f.wasm")).unwrap_err();
    assert!(err.contains("methods[0].http_method"), "{err}");
}

#[test]
fn write_reports_what_changed() {
    let dir = std::env::temp_dir().join(format!("tollgate-render-unit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let wasm = dir.join("f.wasm");
    let mut s = spec(PETS);
    assert_eq!(write(&s, &dir, &wasm).unwrap().bootstrap, Change::New);
    let ecds = std::fs::read_to_string(dir.join(ECDS_FILE)).unwrap();
    s.config.methods[0].api_key_required = false;
    assert_eq!(write(&s, &dir, &wasm).unwrap().bootstrap, Change::Same);
    assert_ne!(std::fs::read_to_string(dir.join(ECDS_FILE)).unwrap(), ecds);
    s.gateway.listen = "0.0.0.0:8001".into();
    assert_eq!(write(&s, &dir, &wasm).unwrap().bootstrap, Change::Changed);
    let text = std::fs::read_to_string(dir.join(BOOTSTRAP_FILE)).unwrap();
    assert!(text.starts_with("# Envoy bootstrap"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_rate_limit_service_of_global_plans_is_an_http2_cluster() {
    let yaml = "
gateway: {listen: '0.0.0.0:8000', upstream: 'http://127.0.0.1:8080',
          clusters: {ratelimit: 'http://127.0.0.1:8081'}}
api: {id: pets}
methods: [{resource: /pets, http_method: GET, api_key_required: true}]
rate_limit_service: {cluster: ratelimit}
usage_plans: [{id: fleet, global: true, quota: {limit: 100, period: DAY},
               api_stages: [{api_id: pets, stage: prod}]}]
";
    let bootstrap = render(yaml);
    let c = cluster(&bootstrap, "ratelimit");
    assert_eq!(endpoint(c), ("127.0.0.1".to_string(), 8081));
    let options = &c["typed_extension_protocol_options"]
        ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]["explicit_http_config"];
    assert!(options.get("http2_protocol_options").is_some(), "{c}");
    let without = yaml.replace("clusters: {ratelimit: 'http://127.0.0.1:8081'}", "clusters: {}");
    assert!(error(&without).contains("gateway.clusters.ratelimit"), "{}", error(&without));
}

#[test]
fn the_key_store_is_an_http2_cluster_shared_with_the_rate_limit_service() {
    let yaml = "
gateway: {listen: '0.0.0.0:8000', upstream: 'http://127.0.0.1:8080',
          clusters: {ratelimit: 'http://127.0.0.1:8081'}}
api: {id: pets}
methods: [{resource: /pets, http_method: GET, api_key_required: true}]
rate_limit_service: {cluster: ratelimit}
api_key_store: {cluster: ratelimit}
usage_plans: [{id: fleet, global: true, quota: {limit: 100, period: DAY},
               api_stages: [{api_id: pets, stage: prod}]}]
";
    let bootstrap = render(yaml);
    let clusters = bootstrap["static_resources"]["clusters"].as_array().unwrap();
    assert_eq!(clusters.iter().filter(|c| c["name"] == "ratelimit").count(), 1);
    // The key store alone, under its own name.
    let alone = yaml
        .replace("rate_limit_service: {cluster: ratelimit}\n", "")
        .replace("global: true, ", "")
        .replace("api_key_store: {cluster: ratelimit}", "api_key_store: {cluster: keys}")
        .replace("ratelimit: 'http", "keys: 'http");
    let bootstrap = render(&alone);
    let c = cluster(&bootstrap, "keys");
    assert_eq!(endpoint(c), ("127.0.0.1".to_string(), 8081));
    let options = &c["typed_extension_protocol_options"]
        ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]["explicit_http_config"];
    assert!(options.get("http2_protocol_options").is_some(), "{c}");
    let without = alone.replace("clusters: {keys: 'http://127.0.0.1:8081'}", "clusters: {}");
    assert!(error(&without).contains("api_key_store.cluster"), "{}", error(&without));
}

#[test]
fn traces_go_to_the_collector_only_when_asked() {
    let plain = render(PETS);
    assert!(hcm(listener(&plain, API_LISTENER)).get("tracing").is_none());
    let with = |tracing: &str| {
        PETS.replace(
            "upstream: 'http://127.0.0.1:8080'}",
            &format!("upstream: 'http://127.0.0.1:8080', tracing: {tracing}}}"),
        )
    };
    let b = render(&with("{collector: 'http://otel.internal:4318'}"));
    let tracing = &hcm(listener(&b, API_LISTENER))["tracing"];
    let provider = &tracing["provider"]["typed_config"];
    assert_eq!(provider["service_name"], "tollgate-pets");
    assert_eq!(provider["http_service"]["http_uri"]["uri"], "http://otel.internal:4318/v1/traces");
    assert_eq!(provider["http_service"]["http_uri"]["cluster"], "tollgate_otlp");
    assert_eq!(tracing["random_sampling"]["value"], 100.0);
    assert_eq!(endpoint(cluster(&b, "tollgate_otlp")), ("otel.internal".to_string(), 4318));
    assert!(hcm(listener(&b, ADMIN_LISTENER)).get("tracing").is_none(), "management is not traced");
    // Span names are the routes'.
    let route = routes(&b, API_LISTENER).iter().find(|r| r["name"] == "GET /pets").unwrap();
    assert_eq!(route["decorator"]["operation"], "GET /pets");

    let b = render(&with(
        "{collector: 'http://otel:4317', protocol: grpc, sampling_percent: 5, service_name: edge}",
    ));
    let tracing = &hcm(listener(&b, API_LISTENER))["tracing"];
    let provider = &tracing["provider"]["typed_config"];
    assert_eq!(provider["grpc_service"]["envoy_grpc"]["cluster_name"], "tollgate_otlp");
    assert_eq!(provider["service_name"], "edge");
    assert_eq!(tracing["random_sampling"]["value"], 5.0);
    let options = &cluster(&b, "tollgate_otlp")["typed_extension_protocol_options"];
    assert!(options.to_string().contains("http2_protocol_options"), "{options}");

    let e = error(&with("{collector: 'http://otel:4317/v1/traces', protocol: grpc}"));
    assert!(e.contains("gateway.tracing.collector"), "{e}");
    let e = error(&with("{collector: 'http://otel:4318', sampling_percent: 150}"));
    assert!(e.contains("gateway.tracing.sampling_percent"), "{e}");
    let e = error(&with("{collector: 'otel:4318'}"));
    assert!(e.contains("gateway.tracing.collector"), "{e}");
}

#[test]
fn json_lines_and_per_method_metrics_only_when_asked() {
    let with = |settings: &str| {
        PETS.replace(
            "upstream: 'http://127.0.0.1:8080'}",
            &format!("upstream: 'http://127.0.0.1:8080', {settings}}}"),
        )
    };
    let loggers =
        |b: &Value| hcm(listener(b, API_LISTENER))["access_log"].as_array().unwrap().clone();
    let format = |l: &Value| l["typed_config"]["log_format"].clone();
    // By default: one text line, AWS's CLF with the key id and the response type.
    let plain = loggers(&render(PETS));
    assert_eq!(plain.len(), 1);
    let text =
        format(&plain[0])["text_format_source"]["inline_string"].as_str().unwrap().to_string();
    assert!(text.starts_with("%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% "), "{text}");
    assert!(
        text.ends_with(" %FILTER_STATE(wasm.tollgate.api_key_id:PLAIN)% %FILTER_STATE(wasm.tollgate.response_type:PLAIN)%\n"),
        "{text}"
    );
    let json = loggers(&render(&with("access_log_format: json")));
    assert_eq!(json.len(), 1);
    assert_eq!(
        format(&json[0])["json_format"]["identity"]["apiKeyId"],
        "%FILTER_STATE(wasm.tollgate.api_key_id:PLAIN)%"
    );
    // Per key only: one stats logger, with one counter.
    let per_key = loggers(&render(&with("metrics_per_key: true")));
    assert_eq!(per_key.len(), 2);
    assert_eq!(per_key[1]["typed_config"]["counters"][0]["stat"]["name"], "key_requests");
    assert!(per_key[1]["typed_config"].get("histograms").is_none());
    // Detailed: the per-method counter and latency, and integration latency behind a filter.
    let detailed = loggers(&render(&with("detailed_metrics: true")));
    assert_eq!(detailed.len(), 3);
    assert_eq!(detailed[1]["typed_config"]["counters"][0]["stat"]["name"], "requests");
    assert_eq!(detailed[1]["typed_config"]["histograms"][0]["stat"]["name"], "latency");
    assert_eq!(detailed[2]["typed_config"]["histograms"][0]["stat"]["name"], "integration_latency");
    assert!(detailed[2].get("filter").is_some());
}
