//! `tollgate render GATEWAY_FILE --out DIR`: several APIs behind one Envoy, on custom domain
//! names (a gateway file, `crate::gateway_file`).
//!
//! One connection manager per listener holds one Tollgate filter per API (`tollgate.<api id>`,
//! off by default, its config in `DIR/tollgate.<api id>.ecds.yaml`), all of one VM (same code,
//! same `vm_config`), so they share its data (a usage plan's quota spans APIs). Each domain is a
//! virtual host whose routes are, in order: the integration-URI route (the filter that named the
//! cluster already ran; the default host has it too, as the filter sets the URI's host), the
//! health checks, each base path (longest first: `/v1` and `/v1/...`,
//! removed by `prefix_rewrite`) turning on its API's filter, and AWS's 403 `Missing
//! Authentication Token` for any other path. The TLS listener picks the domain's certificate
//! by SNI.

use std::path::Path;

use serde_json::{json, Value};
use tollgate_core::config::Config;
use tollgate_core::transform::integration::CLUSTER_HEADER;

use super::clusters::{self, Cluster, UPSTREAM};
use super::remote::Code;
use super::routes::{self, Action, ADMIN_ROUTE, BY_URI_ROUTE, DEFAULT_TIMEOUT_MS};
use super::{
    access_log, ecds, hcm, listener, listener_of, local_reply, metrics, tls_socket, tracing,
    virtual_host, Addresses, Change, Edges, Trust, ADMIN_LISTENER, ADMIN_STAT_PREFIX, API_LISTENER,
    BOOTSTRAP_FILE, TLS_LISTENER,
};
use crate::gateway_file::{MultiSpec, RoutedDomain};
use crate::spec::write_atomically;

/// The route that answers a path no base path maps.
pub const MISSING_TOKEN_ROUTE: &str = "tollgate.missing_token";
/// The body of AWS's answer to a path of a custom domain that no base path maps.
pub const MISSING_TOKEN_BODY: &str = "{\"message\":\"Missing Authentication Token\"}";
/// The type of a route's `typed_per_filter_config` that turns a disabled filter on.
const FILTER_CONFIG: &str = "type.googleapis.com/envoy.config.route.v3.FilterConfig";
const COMPRESSOR: &str = "envoy.filters.http.compressor";
/// Stand for the API id and stage in the shared access log, metrics and spans, then become the
/// route's metadata.
const API_PLACEHOLDER: &str = "tollgate0api0placeholder";
const STAGE_PLACEHOLDER: &str = "tollgate0stage0placeholder";

/// What the rendering wrote.
#[derive(Debug)]
pub struct MultiWritten {
    pub dir: std::path::PathBuf,
    pub bootstrap: Change,
    /// Each API's ECDS file and what became of it.
    pub filters: Vec<(String, Change)>,
}

/// Writes each API's ECDS file whose content changed, then `dir/envoy.yaml` if it changed, each
/// atomically; every config is checked before anything is written. The filter is `code` (with
/// remote code, the bootstrap has the fetch cluster and the ECDS files are named by its hash).
pub fn write(multi: &MultiSpec, dir: &Path, code: impl Into<Code>) -> Result<MultiWritten, String> {
    let code = code.into();
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dir = super::absolute(dir)?;
    let mut value = bootstrap_value(multi, &dir)?;
    code.adapt_bootstrap(&mut value)?;
    let text = bootstrap_text(multi, &value, &code.bootstrap_note())?;
    let documents = ecds_documents(multi, &code)?;
    let mut filters = Vec::with_capacity(documents.len());
    for (file, document) in documents {
        let change = write_if_changed(&dir.join(&file), &document)?;
        filters.push((file, change));
    }
    let bootstrap = write_if_changed(&dir.join(BOOTSTRAP_FILE), &text)?;
    Ok(MultiWritten { dir, bootstrap, filters })
}

fn write_if_changed(path: &Path, text: &str) -> Result<Change, String> {
    let change = match std::fs::read_to_string(path) {
        Ok(old) if old == text => Change::Same,
        Ok(_) => Change::Changed,
        Err(_) => Change::New,
    };
    if change != Change::Same {
        write_atomically(path, text.as_bytes())?;
    }
    Ok(change)
}

/// Each API's ECDS file name and content: its config as the plugin `tollgate.<api id>` of the
/// one shared VM (every plugin passes the VM the environment variables any config reads).
pub fn ecds_documents(
    multi: &MultiSpec,
    code: impl Into<Code>,
) -> Result<Vec<(String, String)>, String> {
    let code = code.into();
    let mut keys: Vec<String> = Vec::new();
    for config in &multi.apis {
        for key in ecds::env_keys(config) {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    multi
        .apis
        .iter()
        .map(|config| {
            let id = &config.api.id;
            let name = ecds::api_filter_name(id);
            let typed = ecds::wasm_config_as(config, &code, (&name, &keys))
                .map_err(|e| format!("API `{id}`: {e}"))?;
            Ok((code.ecds_file(&ecds::api_ecds_file(id)), ecds::document(&name, typed)?))
        })
        .collect()
}

/// The bootstrap (`envoy.yaml`) of a gateway file from its value; `note` (comment lines) goes
/// under the header.
fn bootstrap_text(multi: &MultiSpec, value: &Value, note: &str) -> Result<String, String> {
    let yaml = serde_yaml_ng::to_string(value).map_err(|e| e.to_string())?;
    let ids: Vec<&str> = multi.apis.iter().map(|c| c.api.id.as_str()).collect();
    Ok(format!(
        "# Envoy bootstrap for the APIs {}, written by `tollgate render`: render again rather\n\
         # than edit. Each API's Tollgate filter config is in tollgate.<api id>.ecds.yaml next to\n\
         # this file.\n{note}{yaml}",
        ids.join(", ")
    ))
}

pub fn bootstrap_value(multi: &MultiSpec, dir: &Path) -> Result<Value, String> {
    let gateway = &multi.gateway;
    let first = multi.apis.first().ok_or("apis: name at least one spec")?;
    let mut clusters = union_of_clusters(multi)?;
    let has_upstream = clusters.iter().any(|c| c.name == UPSTREAM);
    let Addresses { listen, admin_listen, envoy_admin, tls_listen } = super::addresses(gateway)?;
    let log = access_log::access_log(
        gateway.access_log.as_deref(),
        gateway.access_log_format.as_deref(),
        (&placeholder_api(first), Some(STAGE_PLACEHOLDER)),
    )?;
    let mut api_log = vec![log.clone()];
    api_log.extend(metrics::loggers(
        API_PLACEHOLDER,
        Some(STAGE_PLACEHOLDER),
        (gateway.detailed_metrics, gateway.metrics_per_key),
    ));
    let api_log = from_route_metadata(Value::Array(api_log))?;
    let admin_log = from_route_metadata(Value::Array(vec![log]))?;
    let traces = match &gateway.tracing {
        Some(t) => {
            let (cluster, path) = tracing::cluster(t)?;
            if clusters.iter().any(|c| c.name == cluster.name) {
                return Err(format!(
                    "gateway.clusters.{}: the name is the trace collector's",
                    cluster.name
                ));
            }
            let mut shared = t.clone();
            shared.service_name.get_or_insert_with(|| ecds::FILTER_NAME.to_string());
            let traces = tracing::hcm_tracing(
                &shared,
                (&cluster.address, &path),
                (API_PLACEHOLDER, Some(STAGE_PLACEHOLDER)),
            );
            clusters.push(cluster);
            Some(from_route_metadata(traces)?)
        }
        None => None,
    };
    let compression = compression(&multi.apis)?;
    let mut local_reply = local_reply::local_reply_config(first)?;
    if let Some(mappers) = local_reply["mappers"].as_array_mut() {
        // The routes' own answers (health checks, unmapped paths) stay as written.
        mappers.insert(0, json!({"filter": local_reply::cel(DIRECT_RESPONSE)}));
    }
    let edges = Edges::Api(local_reply, compression, traces);
    let trust = Trust::api(gateway, &multi.apis);
    let hosts = virtual_hosts(multi, has_upstream, compression)?;
    let filters = || -> Vec<Value> {
        multi.apis.iter().map(|c| ecds::api_http_filter(dir, &c.api.id)).collect()
    };
    let api_hcm = hcm(API_LISTENER, hosts, (filters(), &api_log), &trust, &edges);
    let mut listeners = vec![listener(API_LISTENER, listen, api_hcm.clone(), None)];
    if let (Some(tls), Some(addr)) = (&gateway.tls, tls_listen) {
        let mut chains: Vec<Value> = multi
            .domains
            .iter()
            .filter_map(|d| d.tls.as_ref().map(|tls| (d, tls)))
            .map(|(domain, (cert, key))| {
                json!({
                    "filter_chain_match": {"server_names": [domain.name]},
                    "filters": [api_hcm.clone()],
                    "transport_socket": tls_socket(cert, key),
                })
            })
            .collect();
        chains.push(
            json!({"filters": [api_hcm], "transport_socket": tls_socket(&tls.cert, &tls.key)}),
        );
        let mut tls_listener = listener_of(TLS_LISTENER, addr, chains);
        tls_listener["listener_filters"] = json!([{
            "name": "envoy.filters.listener.tls_inspector",
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"},
        }]);
        listeners.push(tls_listener);
    }
    let admin = Trust { hops: gateway.trusted_hops, remove: Vec::new(), remove_prefixes: &[] };
    listeners.push(listener(
        ADMIN_LISTENER,
        admin_listen,
        hcm(
            ADMIN_STAT_PREFIX,
            vec![super::admin_host(admin_routes(&multi.apis))],
            (filters(), &admin_log),
            &admin,
            &Edges::Admin,
        ),
        None,
    ));
    let clusters: Vec<Value> =
        clusters.iter().map(clusters::envoy_cluster).collect::<Result<_, _>>()?;
    Ok(json!({
        // ECDS needs a node identity.
        "node": {"id": "tollgate-gateway", "cluster": "tollgate"},
        "admin": {"address": super::socket(envoy_admin)},
        "stats_config": {"stats_matcher": {"exclusion_list": {"patterns": [
            {"contains": format!("http.{ADMIN_STAT_PREFIX}.")},
        ]}}},
        "static_resources": {"listeners": listeners, "clusters": clusters},
    }))
}

/// Matches the answers routes give themselves (`direct_response`).
const DIRECT_RESPONSE: &str = "response.code_details == \"direct_response\"";

/// Every API's clusters, each once; a name two APIs need differently is an error.
fn union_of_clusters(multi: &MultiSpec) -> Result<Vec<Cluster>, String> {
    let mut out: Vec<(String, Cluster)> = Vec::new();
    for config in &multi.apis {
        let id = &config.api.id;
        let in_api = |e: String| format!("API `{id}`: {e}");
        let deployment = ecds::check(config).map_err(in_api)?;
        for cluster in clusters::collect(&multi.gateway, config, &deployment).map_err(in_api)? {
            match out.iter().find(|(_, seen)| seen.name == cluster.name) {
                None => out.push((id.clone(), cluster)),
                Some((other, seen)) => {
                    let same = seen.address == cluster.address
                        && seen.signing == cluster.signing
                        && seen.http2 == cluster.http2;
                    if !same {
                        return Err(format!(
                            "cluster `{}` is {} for API `{other}` ({}) but {} for API `{id}` \
                             ({}): the APIs share the gateway's clusters; give them different \
                             names, or one address as gateway.clusters.{}",
                            cluster.name,
                            seen.address.url(),
                            seen.origin,
                            cluster.address.url(),
                            cluster.origin,
                            cluster.name
                        ));
                    }
                }
            }
        }
    }
    Ok(out.into_iter().map(|(_, c)| c).collect())
}

/// The first API with [`API_PLACEHOLDER`] for its id.
fn placeholder_api(first: &Config) -> tollgate_core::config::Api {
    tollgate_core::config::Api { id: API_PLACEHOLDER.into(), ..first.api.clone() }
}

/// The API id and stage of the shared log, metrics and spans: the route's metadata (`-` on the
/// routes of no API).
fn from_route_metadata(value: Value) -> Result<Value, String> {
    let text = serde_json::to_string(&value).map_err(|e| e.to_string())?;
    let text = text
        .replace(API_PLACEHOLDER, "%METADATA(ROUTE:tollgate:api_id)%")
        .replace(STAGE_PLACEHOLDER, "%METADATA(ROUTE:tollgate:stage)%");
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// The one compressor's size: every API that compresses must say the same; the routes of the
/// others turn it off.
fn compression(apis: &[Config]) -> Result<Option<u32>, String> {
    let mut size: Option<(u32, &str)> = None;
    for config in apis {
        match (config.api.minimum_compression_size, size) {
            (Some(n), Some((m, other))) if n != m => {
                return Err(format!(
                    "api.minimum_compression_size: API `{other}` compresses from {m} bytes, API \
                     `{}` from {n}: a gateway has one compressor, give them the same size",
                    config.api.id
                ))
            }
            (Some(n), None) => size = Some((n, &config.api.id)),
            _ => {}
        }
    }
    Ok(size.map(|(n, _)| n))
}

/// One virtual host per domain, then the default one (integration URIs, health checks, 403).
fn virtual_hosts(
    multi: &MultiSpec,
    has_upstream: bool,
    compression: Option<u32>,
) -> Result<Vec<Value>, String> {
    let by_uri = multi
        .apis
        .iter()
        .flat_map(|c| &c.methods)
        .any(|m| matches!(routes::action(m), Action::ByUri { .. }));
    let health: Vec<Value> = multi
        .health_checks
        .iter()
        .map(|path| {
            json!({"name": format!("health {path}"), "match": {"path": path},
                   "direct_response": {"status": 200}})
        })
        .collect();
    // The filter that named the cluster already ran, and rewrote the path and the host (to the
    // integration URI's: so this route is the default host's too). A client's own
    // x-tollgate-cluster never gets this far.
    let by_uri_route = by_uri.then(|| {
        json!({
            "name": BY_URI_ROUTE,
            "match": {"prefix": "/", "headers": [{"name": CLUSTER_HEADER, "present_match": true}]},
            "route": routes::by_uri(DEFAULT_TIMEOUT_MS),
        })
    });
    let mut hosts = Vec::with_capacity(multi.domains.len() + 1);
    for domain in &multi.domains {
        let mut routes: Vec<Value> = by_uri_route.iter().cloned().collect();
        routes.extend(health.iter().cloned());
        routes.extend(mapping_routes(multi, domain, has_upstream, compression));
        routes.push(missing_token());
        let domains = json!([domain.name, format!("{}:*", domain.name)]);
        hosts.push(virtual_host(&domain.name, domains, routes));
    }
    let mut routes: Vec<Value> = by_uri_route.into_iter().collect();
    routes.extend(health);
    routes.push(missing_token());
    hosts.push(virtual_host(API_LISTENER, json!(["*"]), routes));
    Ok(hosts)
}

/// A domain's base paths, the longest first: `/v1` and `/v1/...` become `/` and `/...` for the
/// API; the root matches every path.
fn mapping_routes(
    multi: &MultiSpec,
    domain: &RoutedDomain,
    has_upstream: bool,
    compression: Option<u32>,
) -> Vec<Value> {
    let mut out = Vec::new();
    for mapping in &domain.mappings {
        let Some(config) = multi.apis.get(mapping.api) else { continue };
        let id = &config.api.id;
        let mut per_filter = serde_json::Map::new();
        per_filter.insert(ecds::api_filter_name(id), json!({"@type": FILTER_CONFIG, "config": {}}));
        if compression.is_some() && config.api.minimum_compression_size.is_none() {
            per_filter.insert(COMPRESSOR.into(), json!({
                "@type": "type.googleapis.com/envoy.extensions.filters.http.compressor.v3.CompressorPerRoute",
                "disabled": true,
            }));
        }
        let base = if mapping.prefix.is_empty() { "/" } else { &mapping.prefix };
        let route = |matcher: Value| {
            let mut route = json!({
                "name": format!("{id} {}{base}", domain.name),
                "match": matcher,
                "metadata": {"filter_metadata": {"tollgate": {"api_id": id, "stage": mapping.stage}}},
                "typed_per_filter_config": per_filter,
            });
            match upstream_timeout(config, has_upstream) {
                Some(timeout_ms) => {
                    let mut action = routes::to_upstream(timeout_ms);
                    if !mapping.prefix.is_empty() {
                        action["prefix_rewrite"] = json!("/");
                    }
                    route["route"] = action;
                }
                // The filter answers every request itself (or names an integration's cluster).
                None => route["direct_response"] = routes::should_not_happen(),
            }
            route
        };
        if mapping.prefix.is_empty() {
            out.push(route(json!({"prefix": "/"})));
        } else {
            out.push(route(json!({"path": mapping.prefix})));
            out.push(route(json!({"prefix": format!("{}/", mapping.prefix)})));
        }
    }
    out
}

/// With `gateway.upstream`, the API's unanswered requests go there, given the longest timeout
/// of its methods that go there.
fn upstream_timeout(config: &Config, has_upstream: bool) -> Option<u32> {
    has_upstream.then(|| {
        config
            .methods
            .iter()
            .filter_map(|m| match routes::action(m) {
                Action::Upstream { timeout_ms } => Some(timeout_ms),
                _ => None,
            })
            .max()
            .unwrap_or(DEFAULT_TIMEOUT_MS)
    })
}

/// AWS's answer on a custom domain to a path no base path maps.
fn missing_token() -> Value {
    let header = |key: &str, value: &str| json!({"header": {"key": key, "value": value}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"});
    json!({
        "name": MISSING_TOKEN_ROUTE,
        "match": {"prefix": "/"},
        "direct_response": {"status": 403, "body": {"inline_string": MISSING_TOKEN_BODY}},
        "response_headers_to_add": [
            header("content-type", "application/json"),
            header("x-amzn-errortype", "MissingAuthenticationTokenException"),
        ],
    })
}

/// The management listener's routes (all named `tollgate.admin`, which the filter answers):
/// `/restapis/{id}/...` by API `id`'s filter, `/usageplans/{plan}/...` by the first API that
/// defines the plan, anything else by the first API's.
fn admin_routes(apis: &[Config]) -> Vec<Value> {
    let route = |prefix: String, id: &str| {
        json!({
            "name": ADMIN_ROUTE,
            "match": {"prefix": prefix},
            "direct_response": {"status": 404},
            "typed_per_filter_config": {
                ecds::api_filter_name(id): {"@type": FILTER_CONFIG, "config": {}},
            },
        })
    };
    let mut out: Vec<Value> =
        apis.iter().map(|c| route(format!("/restapis/{}/", c.api.id), &c.api.id)).collect();
    let mut plans: Vec<&str> = Vec::new();
    for config in apis {
        for plan in &config.usage_plans {
            if !plans.contains(&plan.id.as_str()) {
                plans.push(&plan.id);
                out.push(route(format!("/usageplans/{}/", plan.id), &config.api.id));
            }
        }
    }
    if let Some(first) = apis.first() {
        out.push(route("/".into(), &first.api.id));
    }
    out
}

#[cfg(test)]
#[path = "multi_tests.rs"]
mod tests;
