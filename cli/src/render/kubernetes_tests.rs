//! The Kubernetes targets: flags, names, what is rendered for which spec. The objects are
//! checked against the CRDs of Istio and Envoy Gateway in `tests/tests/kubernetes.rs`.

use std::path::{Path, PathBuf};

use super::*;
use crate::render::RenderArgs;

const DIGEST: &str = "3f9a1e1c0c54a1f7e7f0d1b0c3a5e6f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4";

fn args(target: Target) -> RenderArgs {
    RenderArgs {
        spec: PathBuf::from("s.yaml"),
        out: PathBuf::from("out"),
        wasm: None,
        target,
        wasm_url: None,
        sha256: None,
        image: Some("registry.example.com/tollgate-filter:0.1.0".into()),
        selector: Vec::new(),
        target_ref: Vec::new(),
        gateway: None,
        namespace: None,
        ratelimit_image: None,
        redis_image: None,
    }
}

fn spec(yaml: &str) -> Spec {
    Spec::parse(Path::new("s.yaml"), yaml).unwrap()
}

const KEYED: &str = "api: {id: Pet_Store}\nmethods: [{resource: /pets, http_method: GET, api_key_required: true}]\n";

const CALLOUTS: &str = "
api: {id: pets, region: eu-west-1}
authorizers:
  - {id: pool, type: COGNITO_USER_POOLS, issuers: ['https://cognito-idp.eu-west-1.amazonaws.com/p'],
     jwks_uri: {cluster: jwks, authority: cognito-idp.eu-west-1.amazonaws.com, path: /p/.well-known/jwks.json}}
methods:
  - {resource: /me, http_method: GET, authorization_type: COGNITO_USER_POOLS, authorizer_id: pool}
  - {resource: /pets, http_method: POST, authorization_type: AWS_IAM}
  - resource: /orders/{id}
    http_method: GET
    integration:
      type: HTTP_PROXY
      uri: 'http://orders:8080/orders/{id}'
      request_parameters: {integration.request.path.id: method.request.path.id}
";

#[test]
fn the_module_is_named_once_and_checked() {
    let mut a = args(Target::Istio);
    a.sha256 = Some(DIGEST.to_uppercase());
    assert_eq!(
        Module::from_args(&a).unwrap(),
        Module::Image {
            reference: "registry.example.com/tollgate-filter:0.1.0".into(),
            sha256: DIGEST.into()
        }
    );
    a.image = Some(format!("oci://registry.example.com/tollgate-filter@sha256:{DIGEST}"));
    a.sha256 = None;
    assert_eq!(Module::from_args(&a).unwrap().sha256(), DIGEST);
    type Change = Box<dyn Fn(&mut RenderArgs)>;
    let cases: Vec<(Change, &str)> = vec![
        (Box::new(|a| a.sha256 = None), "--image needs --sha256, the image's manifest digest"),
        (Box::new(|a| a.image = None), "name the filter's OCI image with --image"),
        (Box::new(|a| a.wasm = Some("/f.wasm".into())), "--wasm names a file on this machine"),
        (Box::new(|a| a.wasm_url = Some("https://h/f.wasm".into())), "give one"),
        (Box::new(|a| a.image = Some("https://registry/x:1".into())), "is not an image reference"),
        (Box::new(|a| a.sha256 = Some("12".into())), "64 hex digits"),
        (
            Box::new(|a| a.image = Some(format!("r/x@sha256:{}", "0".repeat(64)))),
            "is not the digest",
        ),
        (
            Box::new(|a| {
                a.image = None;
                a.wasm_url = Some("https://h/f.wasm".into());
                a.sha256 = None;
            }),
            "--wasm-url needs --sha256",
        ),
    ];
    for (change, says) in cases {
        let mut a = args(Target::Istio);
        a.sha256 = Some(DIGEST.into());
        change(&mut a);
        let err = Module::from_args(&a).unwrap_err();
        assert!(err.contains(says), "{says}: {err}");
    }
    let mut envoy = args(Target::Envoy);
    envoy.image = None;
    envoy.selector = vec!["app=x".into()];
    assert!(refuse_kubernetes_flags(&envoy).unwrap_err().contains("--selector goes with --target"));
}

#[test]
fn names_fit_kubernetes() {
    assert_eq!(object_name(&["tollgate", "Pet_Store"]), "tollgate-pet-store");
    assert_eq!(object_name(&["tollgate", "--a..b--"]), "tollgate-a-b");
    let long = object_name(&["tollgate", &"x".repeat(100)]);
    assert_eq!(long.len(), 63);
    let meta = metadata("n", Some("edge"), "Pet_Store");
    assert_eq!(meta["namespace"], "edge");
    assert_eq!(meta["labels"]["tollgate.dev/api"], "pet-store");
}

#[test]
fn headers_wrap() {
    let lines = header_lines(
        &["a ".repeat(80), String::new(), "b".into()],
        &[format!("{} end", "word ".repeat(30))],
    );
    assert!(lines.iter().all(|l| l.len() <= 94), "{lines:#?}");
    assert_eq!(lines[2], "");
    assert!(lines.iter().any(|l| l.starts_with("- word")));
    assert!(lines.iter().any(|l| l.starts_with("  word")));
    assert!(lines.last().unwrap().ends_with("end"));
}

#[test]
fn istio_gets_a_wasm_plugin_unless_a_method_reads_the_body() {
    let mut a = args(Target::Istio);
    a.sha256 = Some(DIGEST.into());
    let module = Module::from_args(&a).unwrap();
    let m = manifest(&spec(KEYED), &module, &a).unwrap();
    let kinds: Vec<&str> = m.objects.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["WasmPlugin"]);
    let plugin = &m.objects[0];
    assert_eq!(plugin["metadata"]["name"], "tollgate-pet-store");
    assert_eq!(plugin["spec"]["selector"]["matchLabels"]["istio"], "ingressgateway");
    assert_eq!(plugin["spec"]["pluginConfig"]["api"]["id"], "Pet_Store");
    let text = manifest_text(&m).unwrap();
    assert!(text.starts_with("# Tollgate on Istio's ingress gateway"), "{text}");

    let m = manifest(&spec(CALLOUTS), &module, &a).unwrap();
    let kinds: Vec<&str> = m.objects.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ServiceEntry", "DestinationRule", "EnvoyFilter"]);
    let notes = m.notes.join("\n");
    assert!(notes.contains("POST /pets") && notes.contains("allow_on_headers_stop_iteration"));
    assert!(notes.contains("GET /orders/{id}") && notes.contains("x-tollgate-cluster"), "{notes}");
    let mut bad = args(Target::Istio);
    bad.sha256 = Some(DIGEST.into());
    bad.selector = vec!["istio".into()];
    assert!(manifest(&spec(KEYED), &module, &bad).unwrap_err().contains("key=value"));
}

#[test]
fn envoy_gateway_needs_a_target_and_a_gateway_for_its_clusters() {
    let mut a = args(Target::EnvoyGateway);
    a.sha256 = Some(DIGEST.into());
    let module = Module::from_args(&a).unwrap();
    assert!(manifest(&spec(KEYED), &module, &a).unwrap_err().contains("--target-ref Gateway/NAME"));
    a.target_ref = vec!["Service/x".into()];
    assert!(manifest(&spec(KEYED), &module, &a).unwrap_err().contains("is not Gateway/NAME"));
    a.target_ref = vec!["HTTPRoute/pets".into()];
    let m = manifest(&spec(KEYED), &module, &a).unwrap();
    assert_eq!(m.objects.len(), 1);
    assert_eq!(m.objects[0]["spec"]["wasm"][0]["failOpen"], false);
    let err = manifest(&spec(CALLOUTS), &module, &a).unwrap_err();
    assert!(err.contains("jwks") && err.contains("--gateway NAME"), "{err}");
    a.target_ref.push("gateway/eg".into());
    let m = manifest(&spec(CALLOUTS), &module, &a).unwrap();
    assert_eq!(m.objects[1]["kind"], "EnvoyPatchPolicy");
    assert_eq!(m.objects[1]["spec"]["targetRef"]["name"], "eg");
    let cluster = &m.objects[1]["spec"]["jsonPatches"][0]["operation"]["value"];
    let ca = &cluster["transport_socket"]["typed_config"]["common_tls_context"]
        ["validation_context"]["trusted_ca"]["filename"];
    assert_eq!(ca, "/etc/ssl/certs/ca-certificates.crt");
    assert!(m.notes.join("\n").contains("DOES NOT WORK HERE TODAY"));
}

#[test]
fn objects_past_a_megabyte_are_refused() {
    let config = spec(KEYED).config;
    let small = json!({"kind": "WasmPlugin", "metadata": {"name": "t"}, "spec": {}});
    assert!(check_size(&small, &config).is_ok());
    let big = json!({"kind": "WasmPlugin", "metadata": {"name": "t"},
                     "spec": {"pluginConfig": "x".repeat(MAX_OBJECT_BYTES)}});
    let err = check_size(&big, &config).unwrap_err();
    assert!(err.contains("WasmPlugin `t` would be 1.0 MiB") && err.contains("key store"), "{err}");
}

#[test]
fn clusters_are_renamed_everywhere_and_checked_again() {
    let config = spec(CALLOUTS).config;
    let renamed =
        config_with_clusters(&config, &|n| (n == "jwks").then(|| "outbound|443||h".into()))
            .unwrap();
    assert_eq!(renamed["authorizers"][0]["jwks_uri"]["cluster"], "outbound|443||h");
    assert_eq!(renamed["methods"][0]["resource"], "/me");
}
