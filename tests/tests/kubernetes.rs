//! `tollgate render SPEC --target istio|envoy-gateway`: the Kubernetes objects fit the CRD
//! schemas of Istio 1.30.3 and Envoy Gateway 1.9.0 (vendored under `tests/crds`, see the
//! READMEs there), and the Envoy config inside them (the Wasm filter, the clusters) passes
//! `envoy --mode validate`.
//!
//! Kubernetes itself cannot run here (no cluster, no registry to pull from), so no object is
//! applied: each is checked against the `openAPIV3Schema` of its kind and version with a JSON
//! Schema validator, made as strict as the API server with strict field validation (the
//! default of `kubectl apply`): an unknown field is an error unless the schema keeps unknown
//! fields (`x-kubernetes-preserve-unknown-fields`). A validator does not run the schemas' CEL
//! rules (`x-kubernetes-validations`); the ones that concern what Tollgate writes are checked
//! by hand below. A deliberately broken object must fail, so these checks can.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};
use tollgate_e2e::sha256_hex as sha;
use tollgate_e2e::{envoy_bin, root, run_cli, scratch_dir, wasm_path};

const IMAGE: &str = "registry.example.com/tollgate-filter:0.1.0";

/// The image's manifest digest (made up: nothing is pulled here).
fn digest() -> String {
    sha("the image's manifest")
}

/// Every kind of callout: a Cognito JWKS (HTTPS, not signed), a Lambda authorizer (signed), a
/// global plan counted by the rate-limit service (a Kubernetes Service, gRPC), a JWKS at an IP
/// address; and, with `body`, a method that reads the body before deciding (AWS_IAM).
fn spec(body: bool) -> Value {
    let mut methods = vec![
        json!({"resource": "/pets", "http_method": "GET", "api_key_required": true}),
        json!({"resource": "/me", "http_method": "GET", "authorization_type": "COGNITO_USER_POOLS", "authorizer_id": "pool"}),
        json!({"resource": "/local", "http_method": "GET", "authorization_type": "JWT", "authorizer_id": "local"}),
        json!({"resource": "/orders", "http_method": "GET", "authorization_type": "CUSTOM", "authorizer_id": "tok"}),
    ];
    if body {
        methods.push(
            json!({"resource": "/pets", "http_method": "POST", "authorization_type": "AWS_IAM"}),
        );
    }
    json!({
        "gateway": {"clusters": {
            "ratelimit": "http://ratelimit.tollgate.svc.cluster.local:8081",
            "local-jwks": "http://10.1.2.3:8080",
        }},
        "api": {"id": "petstore", "region": "eu-west-1", "account_id": "123456789012"},
        "authorizers": [
            {"id": "pool", "type": "COGNITO_USER_POOLS",
             "issuers": ["https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Test"],
             "jwks_uri": {"cluster": "jwks", "authority": "cognito-idp.eu-west-1.amazonaws.com",
                          "path": "/eu-west-1_Test/.well-known/jwks.json"}},
            {"id": "local", "type": "JWT", "issuers": ["https://issuer.example"],
             "jwks_uri": {"cluster": "local-jwks", "authority": "issuer.example", "path": "/jwks.json"}},
        ],
        "lambda_authorizers": [{"id": "tok", "type": "TOKEN",
            "function": {"cluster": "lambda", "authority": "lambda.eu-west-1.amazonaws.com", "name": "authz"},
            "identity_source": "method.request.header.Authorization"}],
        "methods": methods,
        "api_keys": [{"id": "alice", "value_sha256": sha("alice-key"), "usage_plan_ids": ["basic"]}],
        "usage_plans": [{"id": "basic", "global": true,
                         "api_stages": [{"api_id": "petstore", "stage": "prod"}]}],
        "rate_limit_service": {"cluster": "ratelimit"},
    })
}

/// Renders `spec` with `args`; (what the CLI printed, the file, its objects).
fn render(spec: &Value, file: &str, args: &[&str]) -> (String, String, Vec<Value>) {
    let work = scratch_dir("kubernetes");
    let path = work.join("petstore.yaml");
    std::fs::write(&path, serde_json::to_string_pretty(spec).unwrap()).unwrap();
    let out = work.join("out");
    let mut argv = vec!["render", path.to_str().unwrap(), "--out", out.to_str().unwrap()];
    argv.extend(args);
    let (ok, stdout, stderr) = run_cli(&argv);
    assert!(ok, "tollgate render {args:?}: {stderr}");
    let text = std::fs::read_to_string(out.join(file)).unwrap();
    let objects = documents(&text);
    (stdout, text, objects)
}

/// The YAML documents of a file.
fn documents(text: &str) -> Vec<Value> {
    text.split("\n---\n")
        .skip(usize::from(!text.starts_with("---\n")))
        .map(|doc| doc.strip_prefix("---\n").unwrap_or(doc))
        .filter(|doc| doc.lines().any(|l| !l.trim().is_empty() && !l.starts_with('#')))
        .map(|doc| serde_yaml_ng::from_str(doc).unwrap_or_else(|e| panic!("{e}:\n{doc}")))
        .collect()
}

/// The served versions of the vendored CRDs: (apiVersion, kind) -> schema, made strict.
fn schemas() -> HashMap<(String, String), Value> {
    let crds = root().join("tests/crds");
    let mut texts = vec![std::fs::read_to_string(crds.join("istio/crds.yaml")).unwrap()];
    for file in ["envoyextensionpolicies", "envoypatchpolicies"] {
        let path = crds.join(format!("envoy-gateway/gateway.envoyproxy.io_{file}.yaml"));
        texts.push(std::fs::read_to_string(path).unwrap());
    }
    let mut out = HashMap::new();
    for crd in texts.iter().flat_map(|t| documents(t)) {
        assert_eq!(crd["kind"], "CustomResourceDefinition");
        let group = crd["spec"]["group"].as_str().unwrap();
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap();
        for version in crd["spec"]["versions"].as_array().unwrap() {
            if version["served"] != true {
                continue;
            }
            let mut schema = version["schema"]["openAPIV3Schema"].clone();
            // Every object has these, whether its schema says so or not (Istio's do not).
            let fields = schema["properties"].as_object_mut().unwrap();
            fields.entry("apiVersion").or_insert(json!({"type": "string"}));
            fields.entry("kind").or_insert(json!({"type": "string"}));
            fields.entry("metadata").or_insert(json!({"type": "object"}));
            strict(&mut schema);
            let api = format!("{group}/{}", version["name"].as_str().unwrap());
            out.insert((api, kind.to_string()), schema);
        }
    }
    out
}

/// As the API server with strict field validation: no field the schema does not name, unless
/// it keeps unknown fields.
fn strict(schema: &mut Value) {
    let Some(fields) = schema.as_object_mut() else { return };
    let keeps = fields.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if fields.contains_key("properties") && !keeps && !fields.contains_key("additionalProperties") {
        fields.insert("additionalProperties".into(), Value::Bool(false));
    }
    for (key, value) in fields.iter_mut() {
        match key.as_str() {
            "properties" => {
                value.as_object_mut().into_iter().flat_map(|p| p.values_mut()).for_each(strict)
            }
            "items" | "additionalProperties" | "not" => strict(value),
            "anyOf" | "allOf" | "oneOf" => {
                value.as_array_mut().into_iter().flatten().for_each(strict)
            }
            _ => {}
        }
    }
}

/// The schema's complaints about `object` (none: it fits).
fn complaints(schemas: &HashMap<(String, String), Value>, object: &Value) -> Vec<String> {
    let key = (
        object["apiVersion"].as_str().unwrap().to_string(),
        object["kind"].as_str().unwrap().to_string(),
    );
    let schema = schemas.get(&key).unwrap_or_else(|| panic!("no CRD for {key:?}"));
    let validator = jsonschema::draft4::new(schema).unwrap();
    let mut out: Vec<String> =
        validator.iter_errors(object).map(|e| format!("{}: {e}", e.instance_path())).collect();
    // The API server's own checks of metadata: a DNS-1123 name.
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let dns = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !dns {
        out.push(format!("metadata.name `{name}` is not a DNS-1123 label"));
    }
    out
}

fn assert_fit(schemas: &HashMap<(String, String), Value>, objects: &[Value]) {
    for object in objects {
        let complaints = complaints(schemas, object);
        assert!(
            complaints.is_empty(),
            "{}/{}: {complaints:#?}",
            object["kind"],
            object["metadata"]["name"]
        );
    }
}

fn kinds(objects: &[Value]) -> Vec<&str> {
    objects.iter().map(|o| o["kind"].as_str().unwrap()).collect()
}

/// `envoy --mode validate` on a bootstrap with the Wasm filter configs `filters` (their code
/// swapped for the built module: the remote code is the gateway's to fetch) and `clusters`.
fn assert_envoy_accepts(filters: &[Value], clusters: &[Value]) {
    let mut http_filters: Vec<Value> = filters
        .iter()
        .map(|wasm| {
            let mut wasm = wasm.clone();
            wasm["config"]["vm_config"]["code"] = json!({"local": {"filename": wasm_path()}});
            json!({"name": "tollgate", "typed_config": wasm})
        })
        .collect();
    http_filters.push(json!({"name": "envoy.filters.http.router", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}));
    let bootstrap = json!({"static_resources": {
        "listeners": [{"name": "l", "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
            "filter_chains": [{"filters": [{"name": "hcm", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": "l",
                "route_config": {"virtual_hosts": [{"name": "v", "domains": ["*"], "routes": []}]},
                "http_filters": http_filters}}]}]}],
        "clusters": clusters,
    }});
    let path = scratch_dir("kubernetes-envoy").join("envoy.json");
    std::fs::write(&path, bootstrap.to_string()).unwrap();
    let out =
        Command::new(envoy_bin()).args(["--mode", "validate", "-c"]).arg(&path).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("OK"), "{text}");
}

/// The Tollgate config inside the Wasm filter config of an ECDS resource.
fn filter_config(wasm: &Value) -> Value {
    serde_json::from_str(wasm["config"]["configuration"]["value"].as_str().unwrap()).unwrap()
}

#[test]
fn istio_objects_fit_istios_schemas() {
    let schemas = schemas();
    let digest = digest();
    let args = [
        "--target",
        "istio",
        "--image",
        IMAGE,
        "--sha256",
        &digest,
        "--selector",
        "app=edge",
        "--namespace",
        "edge",
    ];
    let (said, text, objects) = render(&spec(false), "tollgate.istio.yaml", &args);
    assert!(said.contains("kubectl apply -f"), "{said}");
    // The Kubernetes Service of the rate-limit service is Istio's already: no ServiceEntry.
    assert_eq!(
        kinds(&objects),
        ["WasmPlugin", "ServiceEntry", "DestinationRule", "ServiceEntry", "EnvoyFilter"],
        "{text}"
    );
    assert_fit(&schemas, &objects);
    let plugin = &objects[0]["spec"];
    assert_eq!(plugin["url"], format!("oci://{IMAGE}"));
    assert_eq!(plugin["sha256"], digest);
    assert_eq!(
        (plugin["phase"].as_str(), plugin["failStrategy"].as_str()),
        (Some("AUTHN"), Some("FAIL_CLOSE"))
    );
    assert_eq!(plugin["selector"]["matchLabels"], json!({"app": "edge"}));
    // CEL rules of the CRD: one of selector, targetRef, targetRefs; a URL scheme Istio takes.
    assert!(plugin.get("targetRef").is_none() && plugin.get("targetRefs").is_none());
    assert!(objects.iter().all(|o| o["metadata"]["namespace"] == "edge"));
    // The config names Istio's clusters for the hosts it calls; the signed Lambda cluster is
    // added whole by the EnvoyFilter, under the config's name.
    let config = &plugin["pluginConfig"];
    assert_eq!(
        config["authorizers"][0]["jwks_uri"]["cluster"],
        "outbound|443||cognito-idp.eu-west-1.amazonaws.com"
    );
    assert_eq!(
        config["authorizers"][1]["jwks_uri"]["cluster"],
        "outbound|8080||local-jwks.tollgate.internal"
    );
    assert_eq!(
        config["rate_limit_service"]["cluster"],
        "outbound|8081||ratelimit.tollgate.svc.cluster.local"
    );
    assert_eq!(config["lambda_authorizers"][0]["function"]["cluster"], "lambda");
    assert_eq!(objects[1]["spec"]["hosts"], json!(["cognito-idp.eu-west-1.amazonaws.com"]));
    // CEL rules of ServiceEntry: ports 1-65535, port names of letters, digits and `-`.
    for entry in objects.iter().filter(|o| o["kind"] == "ServiceEntry") {
        for port in entry["spec"]["ports"].as_array().unwrap() {
            assert!((1..=65535).contains(&port["number"].as_u64().unwrap()), "{port}");
            let name = port["name"].as_str().unwrap();
            assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'), "{name}");
        }
    }
    assert_eq!(
        objects[2]["spec"]["trafficPolicy"]["portLevelSettings"][0]["tls"]["mode"],
        "SIMPLE"
    );
    assert_eq!(objects[3]["spec"]["endpoints"], json!([{"address": "10.1.2.3"}]));
    let patches = objects[4]["spec"]["configPatches"].as_array().unwrap();
    assert_eq!(patches.len(), 1);
    let lambda = &patches[0]["patch"]["value"];
    assert_eq!(
        (patches[0]["applyTo"].as_str(), lambda["name"].as_str()),
        (Some("CLUSTER"), Some("lambda"))
    );
    assert!(text.contains("FAIL_CLOSE") && text.contains("RBAC: access denied"), "{text}");

    // A method that reads the body: the filter comes from an EnvoyFilter (a WasmPlugin cannot
    // set allow_on_headers_stop_iteration), the agent pulling the same image.
    let (said, text, objects) = render(&spec(true), "tollgate.istio.yaml", &args);
    assert!(
        said.contains("allow_on_headers_stop_iteration") && said.contains("POST /pets"),
        "{said}"
    );
    assert!(text.contains("the EnvoyFilter `tollgate-petstore`"), "{text}");
    assert_eq!(kinds(&objects), ["ServiceEntry", "DestinationRule", "ServiceEntry", "EnvoyFilter"]);
    assert_fit(&schemas, &objects);
    let patches = objects[3]["spec"]["configPatches"].as_array().unwrap();
    let applied: Vec<&str> = patches.iter().map(|p| p["applyTo"].as_str().unwrap()).collect();
    assert_eq!(applied, ["EXTENSION_CONFIG", "HTTP_FILTER", "CLUSTER"]);
    let resource = &patches[0]["patch"]["value"];
    assert_eq!(patches[1]["patch"]["value"]["name"], resource["name"]);
    let wasm = &resource["typed_config"];
    assert_eq!(wasm["config"]["allow_on_headers_stop_iteration"], true);
    assert_eq!(wasm["config"]["failure_policy"], "FAIL_CLOSED");
    let remote = &wasm["config"]["vm_config"]["code"]["remote"];
    assert_eq!(
        (remote["http_uri"]["uri"].as_str(), remote["sha256"].as_str()),
        (Some(&*format!("oci://{IMAGE}")), Some(&*digest))
    );
    assert_eq!(
        filter_config(wasm)["authorizers"][0]["jwks_uri"]["cluster"],
        "outbound|443||cognito-idp.eu-west-1.amazonaws.com"
    );
    assert_envoy_accepts(std::slice::from_ref(wasm), &[patches[2]["patch"]["value"].clone()]);
}

#[test]
fn envoy_gateway_objects_fit_envoy_gateways_schemas() {
    let schemas = schemas();
    let digest = digest();
    let pinned = format!("{IMAGE}@sha256:{digest}");
    let args = [
        "--target",
        "envoy-gateway",
        "--image",
        &pinned,
        "--target-ref",
        "HTTPRoute/petstore",
        "--gateway",
        "eg",
    ];
    let (said, text, objects) = render(&spec(false), "tollgate.envoy-gateway.yaml", &args);
    assert!(said.contains("enableEnvoyPatchPolicy"), "{said}");
    assert_eq!(kinds(&objects), ["EnvoyExtensionPolicy", "EnvoyPatchPolicy"], "{text}");
    assert_fit(&schemas, &objects);
    let policy = &objects[0]["spec"];
    assert_eq!(
        policy["targetRefs"],
        json!([{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "petstore"}])
    );
    let wasm = &policy["wasm"][0];
    // CEL rules of the CRD: the code's type names the field that is set.
    assert_eq!(wasm["code"], json!({"type": "Image", "image": {"url": pinned, "sha256": digest}}));
    assert_eq!(
        (wasm["failOpen"].as_bool(), wasm["rootID"].as_str()),
        (Some(false), Some("tollgate"))
    );
    // The clusters keep the config's names: the EnvoyPatchPolicy adds them so, on the Gateway.
    assert_eq!(wasm["config"]["authorizers"][0]["jwks_uri"]["cluster"], "jwks");
    let patch = &objects[1]["spec"];
    assert_eq!(patch["targetRef"]["name"], "eg");
    let clusters: Vec<Value> = patch["jsonPatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["operation"]["value"].clone())
        .collect();
    let mut names: Vec<&str> = clusters.iter().map(|c| c["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["jwks", "lambda", "local-jwks", "ratelimit"]);
    let filter = json!({"@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm", "config": {
        "root_id": "tollgate", "vm_config": {"runtime": "envoy.wasm.runtime.v8"},
        "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": wasm["config"].to_string()}}});
    assert_envoy_accepts(&[filter], &clusters);

    // A method that reads the body: said plainly, in the file and on the terminal.
    let (said, text, objects) = render(&spec(true), "tollgate.envoy-gateway.yaml", &args);
    assert_fit(&schemas, &objects);
    for words in [&said, &text] {
        assert!(
            words.contains("DOES NOT WORK HERE TODAY") && words.contains("POST /pets"),
            "{words}"
        );
    }
    // A module by URL: the HTTP code source, checked against the module's own SHA-256.
    let module = sha("the module");
    let args = [
        "--target",
        "envoy-gateway",
        "--wasm-url",
        "https://cdn.example.com/tollgate_filter.wasm",
        "--sha256",
        &module,
        "--target-ref",
        "Gateway/eg",
    ];
    let (_, _, objects) = render(&spec(false), "tollgate.envoy-gateway.yaml", &args);
    assert_fit(&schemas, &objects);
    assert_eq!(objects[0]["spec"]["wasm"][0]["code"]["type"], "HTTP");
    assert_eq!(objects[1]["spec"]["targetRef"]["name"], "eg");
}

#[test]
fn a_broken_object_fails_its_schema() {
    let schemas = schemas();
    let digest = digest();
    let (_, _, istio) = render(
        &spec(false),
        "tollgate.istio.yaml",
        &["--target", "istio", "--image", IMAGE, "--sha256", &digest],
    );
    let eg_args = [
        "--target",
        "envoy-gateway",
        "--image",
        IMAGE,
        "--sha256",
        &digest,
        "--target-ref",
        "Gateway/eg",
    ];
    let (_, _, eg) = render(&spec(false), "tollgate.envoy-gateway.yaml", &eg_args);
    assert_fit(&schemas, &istio);
    assert_fit(&schemas, &eg);
    let broken: Vec<(&Value, &str, Value)> = vec![
        (&istio[0], "/spec/failStrategy", json!("FAIL_CLOSED")),
        (&istio[0], "/spec/failstrategy", json!("FAIL_CLOSE")),
        (&istio[0], "/spec/sha256", json!("sha256:abc")),
        (&istio[0], "/metadata/name", json!("Tollgate_Petstore")),
        (&istio[1], "/spec/resolution", json!("DNS_NAME")),
        (&istio[1], "/spec/ports/0/number", json!(-1)),
        (&istio[4], "/spec/configPatches/0/applyTo", json!("CLUSTERS")),
        (&eg[0], "/spec/wasm/0/code/type", json!("OCI")),
        (&eg[0], "/spec/wasm/0/failopen", json!(false)),
        (&eg[1], "/spec/jsonPatches/0/operation/op", json!("merge")),
    ];
    for (object, pointer, value) in broken {
        let mut object = object.clone();
        let (parent, field) = pointer.rsplit_once('/').unwrap();
        match object.pointer_mut(parent).unwrap() {
            Value::Array(items) => items[field.parse::<usize>().unwrap()] = value,
            Value::Object(fields) => {
                fields.insert(field.to_string(), value);
            }
            other => panic!("{other}"),
        }
        assert!(!complaints(&schemas, &object).is_empty(), "{pointer} broken, yet it fits");
    }
}

#[test]
fn configs_past_a_megabyte_are_refused() {
    let mut spec = spec(false);
    let keys: Vec<Value> = (0..9000)
        .map(|i| json!({"id": format!("key-{i:05}"), "value_sha256": sha(&format!("key {i}")), "usage_plan_ids": ["basic"]}))
        .collect();
    spec["api_keys"] = Value::Array(keys);
    let work = scratch_dir("kubernetes-big");
    let path = work.join("big.json");
    std::fs::write(&path, spec.to_string()).unwrap();
    let out = work.join("out");
    let digest = digest();
    for target in
        [&["--target", "istio"][..], &["--target", "envoy-gateway", "--target-ref", "Gateway/eg"]]
    {
        let mut argv = vec![
            "render",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--image",
            IMAGE,
            "--sha256",
            &digest,
        ];
        argv.extend(target);
        let (ok, _, stderr) = run_cli(&argv);
        assert!(!ok, "{target:?}: a 1.3 MiB object written");
        for words in ["MiB", "9000 API keys", "api_key_store", "key store", "--target envoy"] {
            assert!(stderr.contains(words), "{target:?}: no `{words}` in: {stderr}");
        }
    }
    assert!(!Path::new(&out).exists() || std::fs::read_dir(&out).unwrap().next().is_none());
}

/// The objects that are not custom resources, checked against Kubernetes' own models
/// (`tests/k8s/check_core.py`, PyPI `kubernetes`): the problems it prints.
fn core_complaints(objects: &[Value]) -> Vec<String> {
    let mut child = Command::new(root().join(".venv/bin/python"))
        .arg(root().join("tests/k8s/check_core.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run tests/k8s/check_core.py (make test installs the kubernetes client)");
    let input = serde_json::to_vec(objects).unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &input).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.success(), text.is_empty(), "{text}");
    text.lines().map(str::to_string).collect()
}

/// Global usage plans without an address for the rate-limit service: the service and Redis
/// are rendered beside the gateway (ConfigMap with the API's config, Deployment and Service of
/// tollgate-ratelimit, Redis as a StatefulSet with an append-only file on a volume and its
/// Service), and the filter's cluster names that Service.
#[test]
fn global_plans_bring_their_rate_limit_service_and_redis() {
    let mut global = spec(false);
    global["gateway"]["clusters"].as_object_mut().unwrap().remove("ratelimit");
    let digest = digest();
    let service_host = "tollgate-ratelimit-petstore.shop.svc.cluster.local";
    for (target, file, extra) in [
        ("istio", "tollgate.istio.yaml", vec![]),
        (
            "envoy-gateway",
            "tollgate.envoy-gateway.yaml",
            vec!["--target-ref", "HTTPRoute/pets", "--gateway", "eg"],
        ),
    ] {
        let mut args = vec!["--target", target, "--image", IMAGE, "--sha256", &digest];
        args.extend([
            "--namespace",
            "shop",
            "--ratelimit-image",
            "registry.example.com/tollgate-ratelimit:0.1.0",
        ]);
        args.extend(extra);
        let (_, text, objects) = render(&global, file, &args);
        let core: Vec<Value> = objects
            .iter()
            .filter(|o| {
                ["ConfigMap", "Deployment", "Service", "StatefulSet"]
                    .contains(&o["kind"].as_str().unwrap())
            })
            .cloned()
            .collect();
        assert_eq!(
            kinds(&core),
            ["ConfigMap", "Deployment", "Service", "StatefulSet", "Service"],
            "{target}"
        );
        assert_eq!(core_complaints(&core), Vec::<String>::new(), "{target}");
        let (config_map, deployment, service, redis, redis_service) =
            (&core[0], &core[1], &core[2], &core[3], &core[4]);
        // The service reads the API's own config from the ConfigMap it mounts.
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        let args: Vec<&str> =
            container["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        assert_eq!(container["image"], "registry.example.com/tollgate-ratelimit:0.1.0");
        let file = args[1].strip_prefix("/etc/tollgate/").unwrap();
        let config: Value =
            serde_json::from_str(config_map["data"][file].as_str().unwrap()).unwrap();
        assert_eq!(config["usage_plans"][0]["global"], true, "{target}");
        assert_eq!(args[3], "redis://tollgate-redis-petstore:6379");
        assert_eq!(redis_service["metadata"]["name"], "tollgate-redis-petstore");
        assert_eq!(
            deployment["spec"]["template"]["metadata"]["labels"], service["spec"]["selector"],
            "the Service selects the Deployment's pods"
        );
        assert_eq!(service["spec"]["ports"][0]["appProtocol"], "grpc");
        assert!(redis["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .unwrap()
            .contains(&json!("--appendonly")));
        assert_eq!(redis["spec"]["volumeClaimTemplates"][0]["metadata"]["name"], "data");
        assert!(core.iter().all(|o| o["metadata"]["namespace"] == "shop"), "{target}");
        // The filter's rate-limit cluster is that Service.
        assert!(text.contains(service_host), "{target}: {text}");
    }
    // The same checker refuses a broken object, so the check above can fail.
    let broken = json!([{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
        "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "a", "ports": [{"containerPort": "80"}]}]}}, "replica": 2}}]);
    let complaints = core_complaints(broken.as_array().unwrap());
    assert!(complaints.iter().any(|c| c.contains("replica: unknown field")), "{complaints:?}");
    assert!(complaints.iter().any(|c| c.contains("'80' is not int")), "{complaints:?}");
    // A spec that names its rate-limit service gets none rendered.
    let (_, _, objects) = render(
        &spec(false),
        "tollgate.istio.yaml",
        &["--target", "istio", "--image", IMAGE, "--sha256", &digest],
    );
    assert!(!kinds(&objects).contains(&"Deployment"));
}
