//! `--target istio`: the filter on Istio's ingress gateway (checked against Istio 1.30's source
//! and CRDs, `tests/crds/istio`).
//!
//! - The filter is a `WasmPlugin` (extensions.istio.io/v1alpha1) in phase `AUTHN`, so it
//!   decides before Istio's own authentication and authorization filters, as API Gateway checks
//!   keys, tokens, policies and limits before anything else (an `AuthorizationPolicy` still
//!   applies after it, and sees the `x-tollgate-*` headers the filter sets), with
//!   `failStrategy: FAIL_CLOSE`. The Istio agent in the gateway pod pulls the module and checks
//!   `sha256` (an OCI image's manifest digest, an http(s) module's own hash:
//!   `pkg/wasm/cache.go`); when it cannot, it installs a deny-all RBAC filter instead
//!   (`pkg/wasm/convert.go`): 403 `RBAC: access denied`, and no request reaches the backend.
//! - A `WasmPlugin` cannot set the Wasm filter's `allow_on_headers_stop_iteration`
//!   (`pilot/pkg/model/extensions.go` builds the config without it), without which Envoy never
//!   hands the body to a filter that paused on the headers: a method that reads the body before
//!   deciding (SigV4, body validation, templates, Lambda and AWS integrations) would wait until
//!   Envoy's timeouts. An `EnvoyFilter` cannot add the field to a WasmPlugin's config either
//!   (its EXTENSION_CONFIG patches only ADD: `envoyfilter/extension_configuration_patch.go`). So
//!   when a method reads the body, the filter is installed by an `EnvoyFilter` instead: an ECDS
//!   resource of the whole Wasm config, fetched by the same agent the same way, and the HTTP
//!   filter first in the gateway's chain that names it (Istio's documented way before
//!   WasmPlugin).
//! - The clusters the filter calls: Istio's own for a Kubernetes Service, else a `ServiceEntry`
//!   (+ `DestinationRule` for TLS) per host, the config naming Istio's cluster
//!   `outbound|PORT||HOST`; clusters Envoy signs with SigV4
//!   (Lambda, AWS services) are added whole by the `EnvoyFilter` (Istio cannot put the
//!   `aws_request_signing` upstream filter on its own clusters), under the config's names.

use serde_json::{json, Value};

use super::clusters::Cluster;
use super::ecds::{self, FILTER_NAME, WASM_TYPE};
use super::kubernetes::{
    config_with_clusters, gateway_cluster, header_lines, metadata, object_name, Facts, Manifest,
    Module,
};
use super::RenderArgs;
use crate::spec::Spec;

pub const FILE: &str = "tollgate.istio.yaml";
const WASM_PLUGIN_API: &str = "extensions.istio.io/v1alpha1";
const NETWORKING_API: &str = "networking.istio.io/v1";
const ENVOY_FILTER_API: &str = "networking.istio.io/v1alpha3";

/// The objects for Istio.
pub fn manifest(
    spec: &Spec,
    module: &Module,
    facts: &Facts,
    args: &RenderArgs,
) -> Result<Manifest, String> {
    let config = &spec.config;
    let api = &config.api.id;
    let ns = args.namespace.as_deref();
    let labels = selector(&args.selector)?;
    let url = match module {
        Module::Image { reference, .. } => format!("oci://{reference}"),
        Module::Url { url, .. } => url.clone(),
    };
    let (meshed, signed): (Vec<&Cluster>, Vec<&Cluster>) =
        facts.callouts.iter().partition(|c| c.signing.is_none());
    let rename = |name: &str| meshed.iter().find(|c| c.name == name).map(|c| istio_cluster(c));
    let plugin_config = config_with_clusters(config, &rename)?;
    let name = object_name(&["tollgate", api]);
    let mut objects = Vec::new();
    let mut patches: Vec<Value> = Vec::new();
    let installed_by = if facts.body_methods.is_empty() {
        let mut spec = json!({
            "selector": {"matchLabels": labels},
            "url": url,
            "sha256": module.sha256(),
            "imagePullPolicy": "IfNotPresent",
            "pluginName": FILTER_NAME,
            "phase": "AUTHN",
            "failStrategy": "FAIL_CLOSE",
            "type": "HTTP",
            "pluginConfig": plugin_config,
        });
        if !facts.env_keys.is_empty() {
            let env: Vec<Value> =
                facts.env_keys.iter().map(|k| json!({"name": k, "valueFrom": "HOST"})).collect();
            spec["vmConfig"] = json!({"env": env});
        }
        objects.push(json!({
            "apiVersion": WASM_PLUGIN_API,
            "kind": "WasmPlugin",
            "metadata": metadata(&name, ns, api),
            "spec": spec,
        }));
        format!("the WasmPlugin `{name}`")
    } else {
        patches.extend(filter_patches(&name, &plugin_config, (&url, module.sha256()), facts)?);
        format!("the EnvoyFilter `{name}` (a WasmPlugin cannot, see below)")
    };
    for cluster in meshed.iter().filter(|c| !in_mesh(c)) {
        objects.extend(service_entry(cluster, ns, api));
    }
    for cluster in &signed {
        patches.push(json!({
            "applyTo": "CLUSTER",
            "match": {"context": "GATEWAY"},
            "patch": {"operation": "ADD", "value": gateway_cluster(cluster)?},
        }));
    }
    if !patches.is_empty() {
        objects.push(json!({
            "apiVersion": ENVOY_FILTER_API,
            "kind": "EnvoyFilter",
            "metadata": metadata(&name, ns, api),
            "spec": {"workloadSelector": {"labels": labels}, "configPatches": patches},
        }));
    }
    let mut notes = Vec::new();
    if !facts.body_methods.is_empty() {
        notes.push(format!(
            "Methods that read the body before deciding ({}) need the Wasm filter's \
             allow_on_headers_stop_iteration, which a WasmPlugin cannot set: the filter is \
             installed by an EnvoyFilter (EXTENSION_CONFIG + HTTP_FILTER) instead. If you \
             applied a WasmPlugin `{name}` before, delete it.",
            facts.body_methods.join(", ")
        ));
    }
    if !meshed.is_empty() {
        let names: Vec<String> =
            meshed.iter().map(|c| format!("{} ({})", c.name, istio_cluster(c))).collect();
        notes.push(format!(
            "The filter calls Istio's clusters {} (Kubernetes Services as they are, other \
             hosts through a ServiceEntry): istiod must not run with \
             PILOT_FILTER_GATEWAY_CLUSTER_CONFIG=true, which keeps from a gateway the clusters \
             its routes do not name.",
            names.join(", ")
        ));
    }
    notes.extend(facts.notes(config));
    let header = header(&installed_by, (&url, &labels), &notes, &signed);
    Ok(Manifest { file: FILE, header, objects, notes })
}

/// `--selector key=value` (repeatable) as match labels; `istio: ingressgateway` by default.
fn selector(given: &[String]) -> Result<Value, String> {
    let mut labels = serde_json::Map::new();
    for pair in given {
        let (key, value) = pair
            .split_once('=')
            .filter(|(k, v)| !k.is_empty() && !v.contains('*') && !k.contains('*'))
            .ok_or_else(|| format!("--selector: `{pair}` is not key=value (no wildcards)"))?;
        labels.insert(key.to_string(), Value::String(value.to_string()));
    }
    if labels.is_empty() {
        labels.insert("istio".into(), json!("ingressgateway"));
    }
    Ok(Value::Object(labels))
}

/// Istio's name of the cluster of a ServiceEntry host and port.
fn istio_cluster(cluster: &Cluster) -> String {
    format!("outbound|{}||{}", cluster.address.port, entry_host(cluster))
}

/// A Kubernetes Service (`NAME.NAMESPACE.svc.cluster.local`): Istio has its cluster already,
/// and a ServiceEntry of the same host would clash with it.
fn in_mesh(cluster: &Cluster) -> bool {
    cluster.address.host.ends_with(".svc.cluster.local")
}

/// The ServiceEntry's host: the cluster's host, or for an IP address a name of Tollgate's.
fn entry_host(cluster: &Cluster) -> String {
    if cluster.address.host.parse::<std::net::IpAddr>().is_ok() {
        format!("{}.tollgate.internal", object_name(&[&cluster.name]))
    } else {
        cluster.address.host.clone()
    }
}

/// A ServiceEntry for a callout cluster, and a DestinationRule that speaks TLS to it (the
/// filter's calls are plain HTTP to the cluster; Envoy originates TLS).
fn service_entry(cluster: &Cluster, ns: Option<&str>, api: &str) -> Vec<Value> {
    let host = entry_host(cluster);
    let ip = host != cluster.address.host;
    let name = object_name(&["tollgate", api, &cluster.name]);
    let protocol = if cluster.http2 { "GRPC" } else { "HTTP" };
    let mut spec = json!({
        "hosts": [host],
        "location": "MESH_EXTERNAL",
        "ports": [{
            "number": cluster.address.port,
            "name": format!("{}-tollgate", protocol.to_ascii_lowercase()),
            "protocol": protocol,
        }],
        "resolution": if ip { "STATIC" } else { "DNS" },
    });
    if ip {
        spec["endpoints"] = json!([{"address": cluster.address.host}]);
    }
    let mut out = vec![json!({
        "apiVersion": NETWORKING_API,
        "kind": "ServiceEntry",
        "metadata": metadata(&name, ns, api),
        "spec": spec,
    })];
    if cluster.address.tls {
        out.push(json!({
            "apiVersion": NETWORKING_API,
            "kind": "DestinationRule",
            "metadata": metadata(&name, ns, api),
            "spec": {
                "host": host,
                "trafficPolicy": {"portLevelSettings": [{
                    "port": {"number": cluster.address.port},
                    "tls": {"mode": "SIMPLE", "sni": cluster.address.host},
                }]},
            },
        }));
    }
    out
}

/// The EnvoyFilter patches that install the filter with `allow_on_headers_stop_iteration`: its
/// whole config as an ECDS resource (the agent fetches `url` and checks `sha256` as for a
/// WasmPlugin), and an HTTP filter first in each gateway connection manager that names it.
fn filter_patches(
    name: &str,
    plugin_config: &Value,
    (url, sha256): (&str, &str),
    facts: &Facts,
) -> Result<Vec<Value>, String> {
    let resource = format!("{FILTER_NAME}.{name}");
    let json = serde_json::to_string(plugin_config).map_err(|e| e.to_string())?;
    let mut vm = json!({
        "vm_id": FILTER_NAME,
        "runtime": "envoy.wasm.runtime.v8",
        // The agent fetches it (the cluster is never used: Istio writes `_` too).
        "code": {"remote": {
            "http_uri": {"uri": url, "cluster": "_", "timeout": "30s"},
            "sha256": sha256,
        }},
    });
    if !facts.env_keys.is_empty() {
        vm["environment_variables"] = json!({"host_env_keys": facts.env_keys});
    }
    let wasm = json!({
        "@type": WASM_TYPE,
        "config": {
            "name": resource,
            "root_id": FILTER_NAME,
            "failure_policy": "FAIL_CLOSED",
            "allow_on_headers_stop_iteration": true,
            "vm_config": vm,
            "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": json},
        },
    });
    Ok(vec![
        json!({
            "applyTo": "EXTENSION_CONFIG",
            "patch": {"operation": "ADD", "value": {"name": resource, "typed_config": wasm}},
        }),
        json!({
            "applyTo": "HTTP_FILTER",
            "match": {"context": "GATEWAY", "listener": {"filterChain": {"filter": {
                "name": "envoy.filters.network.http_connection_manager",
            }}}},
            "patch": {"operation": "INSERT_FIRST", "value": {
                "name": resource,
                "config_discovery": {
                    // No request is served before the filter is there.
                    "config_source": {"ads": {}, "initial_fetch_timeout": "0s"},
                    "type_urls": [ecds::WASM_TYPE],
                },
            }},
        }),
    ])
}

fn header(
    installed_by: &str,
    (url, labels): (&str, &Value),
    notes: &[String],
    signed: &[&Cluster],
) -> Vec<String> {
    let pods: Vec<String> = labels
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect())
        .unwrap_or_default();
    let mut paragraphs = vec![
        format!(
            "Tollgate on Istio's ingress gateway, written by `tollgate render --target istio`: \
             render again rather than edit. Apply with `kubectl apply -f {FILE}`."
        ),
        String::new(),
        format!(
            "The filter: {installed_by}, on the pods labelled {}, first in the chain (phase \
             AUTHN), failing closed. The Istio agent in the pod pulls {url} and checks its \
             sha256 (an oci:// image's manifest digest, an http(s) module's own hash); if it \
             cannot, it installs a deny-all filter instead: 403 `RBAC: access denied`, and no \
             request reaches the backend.",
            pods.join(", ")
        ),
    ];
    if !signed.is_empty() {
        let names: Vec<&str> = signed.iter().map(|c| c.name.as_str()).collect();
        paragraphs.push(format!(
            "Envoy signs the calls to {} with SigV4, with the credentials of the gateway pod \
             (environment, IRSA web identity, instance metadata).",
            names.join(", ")
        ));
    }
    header_lines(&paragraphs, notes)
}
