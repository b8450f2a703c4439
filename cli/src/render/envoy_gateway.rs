//! `--target envoy-gateway`: the filter on Envoy Gateway (checked against Envoy Gateway
//! 1.9's source and CRDs, `tests/crds/envoy-gateway`).
//!
//! - The filter is an `EnvoyExtensionPolicy` (gateway.envoyproxy.io/v1alpha1) attached to the
//!   Gateway or HTTPRoutes of `--target-ref`, `failOpen: false`. Envoy Gateway pulls the image
//!   (or module) and checks `sha256` (an image's manifest digest: `internal/wasm/cache.go`),
//!   then serves it to Envoy from its own cache with Envoy's remote code and the module's hash
//!   (`internal/xds/translator/wasm.go`): Envoy refuses it when the hash does not match, and a
//!   filter that cannot load fails closed (5xx). One VM per policy (`vm_id` is the policy's),
//!   so one policy for the whole API keeps its usage counters in one place.
//! - Envoy Gateway names no cluster a Wasm filter could call: a `Backend` becomes a cluster only
//!   as the `backendRef` of a route, under a name of its own making
//!   (`httproute/NS/NAME/rule/N`, changed by `XDSNameSchemeV2`), and the route would expose the
//!   callout to clients. The clusters the filter calls (JWKS, Lambda, AWS services, the
//!   rate-limit service) are therefore added whole, under the config's names, by an
//!   `EnvoyPatchPolicy` on the Gateway, which Envoy Gateway applies only with
//!   `extensionApis.enableEnvoyPatchPolicy: true` in its own configuration.
//! - The Wasm filter Envoy Gateway writes has no `allow_on_headers_stop_iteration` and the API
//!   has no field for it: a method that reads the body before deciding (SigV4, body validation,
//!   templates, Lambda and AWS integrations) never gets the body and waits until Envoy's
//!   timeouts end the request (nothing reaches the backend). Such methods do not work there
//!   today; the file says which.

use serde_json::{json, Value};

use super::ecds::FILTER_NAME;
use super::kubernetes::{
    config_with_clusters, gateway_cluster, header_lines, metadata, object_name, Facts, Manifest,
    Module,
};
use super::RenderArgs;
use crate::spec::Spec;

pub const FILE: &str = "tollgate.envoy-gateway.yaml";
const API: &str = "gateway.envoyproxy.io/v1alpha1";
const GATEWAY_API_GROUP: &str = "gateway.networking.k8s.io";
const CLUSTER_TYPE: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

/// The objects for Envoy Gateway.
pub fn manifest(
    spec: &Spec,
    module: &Module,
    facts: &Facts,
    args: &RenderArgs,
) -> Result<Manifest, String> {
    let config = &spec.config;
    let api = &config.api.id;
    let ns = args.namespace.as_deref();
    let targets = target_refs(&args.target_ref)?;
    let code = match module {
        Module::Image { reference, sha256 } => {
            json!({"type": "Image", "image": {"url": reference, "sha256": sha256}})
        }
        Module::Url { url, sha256 } => {
            json!({"type": "HTTP", "http": {"url": url, "sha256": sha256}})
        }
    };
    let mut wasm = json!({
        "name": FILTER_NAME,
        "rootID": FILTER_NAME,
        "code": code,
        // The clusters keep the config's names (the EnvoyPatchPolicy adds them so).
        "config": config_with_clusters(config, &|_| None)?,
        "failOpen": false,
    });
    if !facts.env_keys.is_empty() {
        wasm["env"] = json!({"hostKeys": facts.env_keys});
    }
    let name = object_name(&["tollgate", api]);
    let target_list: Vec<Value> = targets
        .iter()
        .map(|(kind, target)| json!({"group": GATEWAY_API_GROUP, "kind": kind, "name": target}))
        .collect();
    let mut objects = vec![json!({
        "apiVersion": API,
        "kind": "EnvoyExtensionPolicy",
        "metadata": metadata(&name, ns, api),
        "spec": {"targetRefs": target_list, "wasm": [wasm]},
    })];
    if !facts.callouts.is_empty() {
        let gateway = match (&args.gateway, targets.iter().find(|(kind, _)| *kind == "Gateway")) {
            (Some(gateway), _) => gateway.clone(),
            (None, Some((_, gateway))) => gateway.clone(),
            (None, None) => {
                let names: Vec<&str> = facts.callouts.iter().map(|c| c.name.as_str()).collect();
                return Err(format!(
                    "the filter calls clusters ({}), which Envoy Gateway gets from an \
                     EnvoyPatchPolicy on a Gateway: name the Gateway of the routes with \
                     --gateway NAME",
                    names.join(", ")
                ));
            }
        };
        let patches: Vec<Value> = facts
            .callouts
            .iter()
            .map(|cluster| {
                Ok(json!({
                    "type": CLUSTER_TYPE,
                    "name": cluster.name,
                    "operation": {"op": "add", "path": "", "value": gateway_cluster(cluster)?},
                }))
            })
            .collect::<Result<_, String>>()?;
        objects.push(json!({
            "apiVersion": API,
            "kind": "EnvoyPatchPolicy",
            "metadata": metadata(&name, ns, api),
            "spec": {
                "type": "JSONPatch",
                "targetRef": {"group": GATEWAY_API_GROUP, "kind": "Gateway", "name": gateway},
                "jsonPatches": patches,
            },
        }));
    }
    let mut notes = Vec::new();
    if !facts.body_methods.is_empty() {
        notes.push(format!(
            "DOES NOT WORK HERE TODAY: methods that read the body before deciding ({}). Envoy \
             Gateway's Wasm filter has no allow_on_headers_stop_iteration, so Envoy never hands \
             the body to the paused filter and the request waits until Envoy's timeouts end it \
             (nothing reaches the backend). Serve those methods with --target envoy or istio.",
            facts.body_methods.join(", ")
        ));
    }
    if !facts.callouts.is_empty() {
        notes.push(
            "The callout clusters are added by the EnvoyPatchPolicy, which Envoy Gateway \
             ignores unless its configuration has extensionApis.enableEnvoyPatchPolicy: true; \
             without it the filter's calls fail and the methods that need them are refused."
                .into(),
        );
    }
    notes.extend(facts.notes(config));
    let header = header(&name, &targets, module, &notes);
    Ok(Manifest { file: FILE, header, objects, notes })
}

/// `--target-ref KIND/NAME`: a Gateway or an HTTPRoute, at least one.
fn target_refs(given: &[String]) -> Result<Vec<(&'static str, String)>, String> {
    if given.is_empty() {
        return Err("--target envoy-gateway: attach the filter with --target-ref Gateway/NAME \
                    or --target-ref HTTPRoute/NAME"
            .into());
    }
    given
        .iter()
        .map(|text| {
            let bad = || format!("--target-ref: `{text}` is not Gateway/NAME or HTTPRoute/NAME");
            let (kind, name) = text.split_once('/').ok_or_else(bad)?;
            let kind = match kind.to_ascii_lowercase().as_str() {
                "gateway" => "Gateway",
                "httproute" => "HTTPRoute",
                _ => return Err(bad()),
            };
            let ok = !name.is_empty()
                && name.len() <= 253
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                });
            if ok {
                Ok((kind, name.to_string()))
            } else {
                Err(bad())
            }
        })
        .collect()
}

fn header(
    name: &str,
    targets: &[(&str, String)],
    module: &Module,
    notes: &[String],
) -> Vec<String> {
    let attached: Vec<String> = targets.iter().map(|(k, n)| format!("{k}/{n}")).collect();
    let (what, checked) = match module {
        Module::Image { reference, .. } => (reference.as_str(), "its manifest digest"),
        Module::Url { url, .. } => (url.as_str(), "the module's SHA-256"),
    };
    let paragraphs = vec![
        format!(
            "Tollgate on Envoy Gateway, written by `tollgate render --target envoy-gateway`: \
             render again rather than edit. Apply with `kubectl apply -f {FILE}`."
        ),
        String::new(),
        format!(
            "The filter: the EnvoyExtensionPolicy `{name}` on {}, failing closed. Envoy Gateway \
             pulls {what} and checks {checked}; Envoy then fetches the module from Envoy \
             Gateway and checks its hash. A filter that cannot load answers 5xx: no request \
             reaches the backend without it.",
            attached.join(", ")
        ),
    ];
    header_lines(&paragraphs, notes)
}
