//! `tollgate render SPEC --out DIR`: the Envoy bootstrap for a spec (`DIR/envoy.yaml`) and the
//! filter's config (`DIR/tollgate.ecds.yaml`, which a running Envoy reloads).
//!
//! The bootstrap has the API listener (routes per method, then catch-alls, all through the
//! Tollgate filter and the router), an HTTPS listener when `gateway.tls` is set, the admin
//! listener (route `tollgate.admin`, answered by the filter), Envoy's admin page, and the
//! clusters the config names. The filter itself is not inline: both listeners take it from the
//! ECDS file, so changing keys, plans or methods needs no restart; listeners, routes and
//! clusters do.
//!
//! With `--wasm-url URL --sha256 HEX` Envoy fetches the filter instead of reading a file, and the
//! ECDS file is named by the module's hash, so that a new build takes a restart (`remote`);
//! `--target istio|envoy-gateway` writes Kubernetes objects for those gateways instead of an
//! Envoy config (`kubernetes`).

mod access_log;
mod clusters;
pub mod ecds;
mod envoy_gateway;
mod istio;
mod kubernetes;
mod kubernetes_ratelimit;
mod local_reply;
mod metrics;
pub mod multi;
pub mod remote;
pub mod routes;
mod tracing;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tollgate_core::pipeline::GATEWAY_HEADER_PREFIX;
use tollgate_core::transform::integration::CLUSTER_HEADER;

use crate::spec::{write_atomically, Spec, Tls};

pub use clusters::UPSTREAM;
pub use ecds::{write_ecds, ECDS_FILE};
pub use kubernetes::Target;
pub use remote::Code;

/// The bootstrap file in the rendered directory.
pub const BOOTSTRAP_FILE: &str = "envoy.yaml";
/// Names of the listeners.
pub const API_LISTENER: &str = "api";
pub const TLS_LISTENER: &str = "api_tls";
pub const ADMIN_LISTENER: &str = "admin";
/// The management listener's connection manager (its stats are left out).
const ADMIN_STAT_PREFIX: &str = "tollgate_admin";

/// 11 MiB: room for the 10 MB payload limit while the filter buffers a body (Envoy's default
/// is 1 MiB, past which Envoy answers 413 itself).
pub const BUFFER_LIMIT: u64 = 11 * 1024 * 1024;

/// Where the filter is when `--wasm` and `TOLLGATE_WASM` do not say (`make filter` builds it).
const DEFAULT_WASM: &str = "target/wasm32-wasip1/release/tollgate_filter.wasm";

#[derive(clap::Args)]
pub struct RenderArgs {
    /// The spec, or a gateway file of several specs (YAML or JSON; a gateway file has `apis`).
    pub spec: PathBuf,
    /// The directory to write envoy.yaml and tollgate.ecds.yaml (a gateway file:
    /// tollgate.<api id>.ecds.yaml per API) to (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// The built filter (default: $TOLLGATE_WASM, else ./target/wasm32-wasip1/release/tollgate_filter.wasm).
    #[arg(long)]
    pub wasm: Option<PathBuf>,
    /// What to write: an Envoy config (`envoy`), or Kubernetes objects for Istio's ingress
    /// gateway (`istio`) or Envoy Gateway (`envoy-gateway`).
    #[arg(long, value_enum, default_value_t = Target::Envoy)]
    pub target: Target,
    /// Where Envoy (or the Kubernetes gateway) fetches the filter, instead of a local file:
    /// `https://host/path/tollgate_filter.wasm` (http also works). Needs --sha256.
    #[arg(long, value_name = "URL")]
    pub wasm_url: Option<String>,
    /// With --wasm-url: the module's SHA-256 (`sha256sum tollgate_filter.wasm`), which Envoy
    /// checks the fetched module against. With --image: the image's manifest digest
    /// (`crane digest`, `skopeo inspect`), which Istio and Envoy Gateway check.
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    /// istio, envoy-gateway: the OCI image of the filter, `REGISTRY/tollgate-filter:VERSION`
    /// (or `...@sha256:DIGEST`).
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// istio: the gateway pods the filter runs in, `key=value` (repeatable; default
    /// `istio=ingressgateway`).
    #[arg(long, value_name = "KEY=VALUE")]
    pub selector: Vec<String>,
    /// envoy-gateway: what the filter attaches to, `Gateway/NAME` or `HTTPRoute/NAME`
    /// (repeatable).
    #[arg(long, value_name = "KIND/NAME")]
    pub target_ref: Vec<String>,
    /// envoy-gateway: the Gateway whose Envoy gets the clusters the filter calls (JWKS,
    /// Lambda, rate-limit service); default: the Gateway among --target-ref.
    #[arg(long, value_name = "NAME")]
    pub gateway: Option<String>,
    /// istio, envoy-gateway: the namespace of the objects (default: kubectl's).
    #[arg(long)]
    pub namespace: Option<String>,
    /// istio, envoy-gateway, with global usage plans: the image of the rate-limit service
    /// rendered beside the gateway (default `tollgate-ratelimit:VERSION`, `make dist` builds it).
    #[arg(long, value_name = "REF")]
    pub ratelimit_image: Option<String>,
    /// istio, envoy-gateway, with global usage plans: the Redis image (default `redis:7`).
    #[arg(long, value_name = "REF")]
    pub redis_image: Option<String>,
}

pub fn command(args: RenderArgs) -> Result<(), String> {
    if args.target != Target::Envoy {
        return kubernetes::command(&args);
    }
    kubernetes::refuse_kubernetes_flags(&args)?;
    let code =
        Code::from_args(args.wasm.as_deref(), args.wasm_url.as_deref(), args.sha256.as_deref())?;
    if is_gateway_path(&args.spec)? {
        return multi_command(&args, &code);
    }
    let spec = load(&args.spec)?;
    let running = remote::rendered_code(&args.out).ok();
    let written = write(&spec, &args.out, &code)?;
    let bootstrap = written.dir.join(BOOTSTRAP_FILE);
    let ecds = written.dir.join(code.ecds_file(ECDS_FILE));
    println!("wrote {} and {}", bootstrap.display(), ecds.display());
    match written.bootstrap {
        Change::New => println!("start Envoy with: envoy -c {}", bootstrap.display()),
        _ if needs_restart(running.as_ref(), &code) => println!("{RESTART}"),
        Change::Same => println!("a running Envoy applies the new filter config now"),
        Change::Changed => println!(
            "{BOOTSTRAP_FILE} changed (listeners, routes or clusters): restart Envoy for it; \
             a running Envoy applies the new filter config now"
        ),
    }
    Ok(())
}

/// Whether the file is a gateway file (several APIs) rather than a spec.
pub fn is_gateway_path(path: &Path) -> Result<bool, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(crate::gateway_file::is_gateway_file(path, &text))
}

/// What a running Envoy does with new remote code: it never fetches it on a live update.
const RESTART: &str = "the filter's code changed (--wasm-url/--sha256): restart Envoy to run \
                       it. A running Envoy cannot take new remote code live (it would not fetch \
                       it), so the new build has its own config file, which only the new \
                       envoy.yaml reads: until it restarts, a running Envoy keeps the filter, \
                       keys and plans it has";

/// Whether the Envoy running `running` (the code of the ECDS file there before) must restart.
fn needs_restart(running: Option<&Code>, code: &Code) -> bool {
    running.is_some_and(|running| code.needs_restart_after(running))
}

/// `tollgate render GATEWAY_FILE`.
fn multi_command(args: &RenderArgs, code: &Code) -> Result<(), String> {
    let multi = crate::gateway_file::load(&args.spec)?;
    let running = remote::rendered_code(&args.out).ok();
    let written = multi::write(&multi, &args.out, code)?;
    let bootstrap = written.dir.join(BOOTSTRAP_FILE);
    let files: Vec<String> = written
        .filters
        .iter()
        .map(|(file, change)| match change {
            Change::New => format!("{file} (new)"),
            Change::Same => format!("{file} (unchanged)"),
            Change::Changed => format!("{file} (changed)"),
        })
        .collect();
    println!(
        "wrote {} and, in {}: {}",
        bootstrap.display(),
        written.dir.display(),
        files.join(", ")
    );
    for (i, config) in multi.apis.iter().enumerate() {
        if !multi.domains.iter().flat_map(|d| &d.mappings).any(|m| m.api == i) {
            println!("note: no base path maps API `{}`: no request reaches it", config.api.id);
        }
    }
    match written.bootstrap {
        Change::New => println!("start Envoy with: envoy -c {}", bootstrap.display()),
        _ if needs_restart(running.as_ref(), code) => println!("{RESTART}"),
        Change::Same => println!("a running Envoy applies the changed filter configs now"),
        Change::Changed => println!(
            "{BOOTSTRAP_FILE} changed (listeners, routes, domains or clusters): restart Envoy \
             for it; a running Envoy applies the changed filter configs now"
        ),
    }
    Ok(())
}

/// Loads a spec; relative TLS file names are taken from the spec's directory.
pub fn load(path: &Path) -> Result<Spec, String> {
    let mut spec = Spec::load(path)?;
    let base = path.parent().unwrap_or(Path::new(""));
    if let Some(log) = &mut spec.gateway.access_log {
        if log.is_relative() {
            *log = absolute(&base.join(&*log))?;
        }
    }
    if let Some(tls) = &mut spec.gateway.tls {
        for file in [&mut tls.cert, &mut tls.key] {
            if file.is_relative() {
                *file = absolute(&base.join(&*file))?;
            }
        }
    }
    Ok(spec)
}

fn absolute(path: &Path) -> Result<PathBuf, String> {
    std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The filter: `explicit`, else `$TOLLGATE_WASM`, else the `make filter` output under the
/// current directory; absolute.
pub fn wasm_path(explicit: Option<&Path>) -> Result<PathBuf, String> {
    let (path, from) = match (explicit, std::env::var_os("TOLLGATE_WASM")) {
        (Some(p), _) => (p.to_path_buf(), "--wasm"),
        (None, Some(p)) => (PathBuf::from(p), "TOLLGATE_WASM"),
        (None, None) => (PathBuf::from(DEFAULT_WASM), "the default"),
    };
    let path = absolute(&path)?;
    if !path.is_file() {
        return Err(format!(
            "the Tollgate filter is not at {} ({from}): build it with `make filter`, or name it \
             with --wasm or TOLLGATE_WASM",
            path.display()
        ));
    }
    Ok(path)
}

/// What became of `envoy.yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    New,
    Same,
    Changed,
}

#[derive(Debug)]
pub struct Written {
    /// The directory, absolute.
    pub dir: PathBuf,
    pub bootstrap: Change,
}

/// Writes `dir/tollgate.ecds.yaml`, then `dir/envoy.yaml`, each atomically; the filter is
/// `code` (a module file, or one Envoy fetches: then the bootstrap has the fetch cluster).
pub fn write(spec: &Spec, dir: &Path, code: impl Into<Code>) -> Result<Written, String> {
    let code = code.into();
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dir = absolute(dir)?;
    let mut value = bootstrap_value(spec, &dir)?;
    code.adapt_bootstrap(&mut value)?;
    let text = bootstrap_text(spec, &value, &code.bootstrap_note())?;
    write_ecds(&dir, &spec.config, &code)?;
    let path = dir.join(BOOTSTRAP_FILE);
    let bootstrap = match std::fs::read_to_string(&path) {
        Ok(old) if old == text => Change::Same,
        Ok(_) => Change::Changed,
        Err(_) => Change::New,
    };
    if bootstrap != Change::Same {
        write_atomically(&path, text.as_bytes())?;
    }
    Ok(Written { dir, bootstrap })
}

/// The bootstrap (`envoy.yaml`) for `spec` from its value, its filter config in
/// `tollgate.ecds.yaml` next to it; `note` (comment lines) goes under the header.
fn bootstrap_text(spec: &Spec, value: &Value, note: &str) -> Result<String, String> {
    let yaml = serde_yaml_ng::to_string(value).map_err(|e| e.to_string())?;
    Ok(format!(
        "# Envoy bootstrap for API `{}`, written by `tollgate render`: render again rather than\n\
         # edit. The Tollgate filter's config is in {ECDS_FILE} next to this file.\n{note}{yaml}",
        spec.config.api.id
    ))
}

pub fn bootstrap_value(spec: &Spec, dir: &Path) -> Result<Value, String> {
    let gateway = &spec.gateway;
    let config = &spec.config;
    let deployment = ecds::check(config)?;
    let mut clusters = clusters::collect(gateway, config, &deployment)?;
    let has_upstream = clusters.iter().any(|c| c.name == UPSTREAM);
    let Addresses { listen, admin_listen, envoy_admin, tls_listen } = addresses(gateway)?;
    let api_routes = routes::api_routes(config, has_upstream);
    let api = Trust::api(gateway, std::slice::from_ref(config));
    let single = config.stages.is_empty().then_some(config.stage.name.as_str());
    let log = access_log::access_log(
        gateway.access_log.as_deref(),
        gateway.access_log_format.as_deref(),
        (&config.api, single),
    )?;
    let mut api_log = vec![log.clone()];
    api_log.extend(metrics::loggers(
        &config.api.id,
        single,
        (gateway.detailed_metrics, gateway.metrics_per_key),
    ));
    let api_log = Value::Array(api_log);
    let traces = match &gateway.tracing {
        Some(t) => {
            let (cluster, path) = tracing::cluster(t)?;
            if clusters.iter().any(|c| c.name == cluster.name) {
                return Err(format!(
                    "gateway.clusters.{}: the name is the trace collector's",
                    cluster.name
                ));
            }
            let traces =
                tracing::hcm_tracing(t, (&cluster.address, &path), (&config.api.id, single));
            clusters.push(cluster);
            Some(traces)
        }
        None => None,
    };
    let api_edges = Edges::Api(
        local_reply::local_reply_config(config)?,
        config.api.minimum_compression_size,
        traces,
    );
    let admin = Trust { hops: gateway.trusted_hops, remove: Vec::new(), remove_prefixes: &[] };
    let api_hosts = vec![virtual_host(API_LISTENER, json!(["*"]), api_routes)];
    let tollgate = || vec![ecds::http_filter(dir)];
    let mut listeners = vec![listener(
        API_LISTENER,
        listen,
        hcm(API_LISTENER, api_hosts.clone(), (tollgate(), &api_log), &api, &api_edges),
        None,
    )];
    if let (Some(tls), Some(addr)) = (&gateway.tls, tls_listen) {
        listeners.push(listener(
            TLS_LISTENER,
            addr,
            hcm(API_LISTENER, api_hosts, (tollgate(), &api_log), &api, &api_edges),
            Some(tls),
        ));
    }
    listeners.push(listener(
        ADMIN_LISTENER,
        admin_listen,
        hcm(
            ADMIN_STAT_PREFIX,
            vec![admin_host(routes::admin_routes())],
            (tollgate(), &Value::Array(vec![log])),
            &admin,
            &Edges::Admin,
        ),
        None,
    ));
    let clusters: Vec<Value> =
        clusters.iter().map(clusters::envoy_cluster).collect::<Result<_, _>>()?;
    Ok(json!({
        // ECDS needs a node identity.
        "node": {"id": format!("tollgate-{}", config.api.id), "cluster": "tollgate"},
        "admin": {"address": socket(envoy_admin)},
        // The management listener's connection manager keeps no stats: its series would sit
        // beside the API's on every Prometheus page.
        "stats_config": {"stats_matcher": {"exclusion_list": {"patterns": [
            {"contains": "http.tollgate_admin."},
        ]}}},
        "static_resources": {"listeners": listeners, "clusters": clusters},
    }))
}

/// The gateway's listening addresses, checked: each `IP:PORT`, no two on the same port.
struct Addresses {
    listen: SocketAddr,
    admin_listen: SocketAddr,
    envoy_admin: SocketAddr,
    tls_listen: Option<SocketAddr>,
}

fn addresses(gateway: &crate::spec::Gateway) -> Result<Addresses, String> {
    let listen = socket_address("gateway.listen", &gateway.listen)?;
    let admin_listen = socket_address("gateway.admin_listen", &gateway.admin_listen)?;
    let envoy_admin = socket_address("gateway.envoy_admin", &gateway.envoy_admin)?;
    let tls_listen = match &gateway.tls {
        Some(tls) => Some(socket_address("gateway.tls.listen", &tls.listen)?),
        None => None,
    };
    let mut taken: Vec<(&str, SocketAddr)> = vec![
        ("gateway.listen", listen),
        ("gateway.admin_listen", admin_listen),
        ("gateway.envoy_admin", envoy_admin),
    ];
    taken.extend(tls_listen.map(|a| ("gateway.tls.listen", a)));
    for (i, (name, addr)) in taken.iter().enumerate() {
        if let Some((other, _)) = taken[..i].iter().find(|(_, a)| {
            // A wildcard address takes the port on every address.
            let overlap =
                a.ip() == addr.ip() || a.ip().is_unspecified() || addr.ip().is_unspecified();
            a.port() != 0 && a.port() == addr.port() && overlap
        }) {
            return Err(format!("{name} and {other} are both {addr}"));
        }
    }
    Ok(Addresses { listen, admin_listen, envoy_admin, tls_listen })
}

fn socket_address(field: &str, text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| {
        format!("{field}: `{text}` is not IP:PORT (for example 0.0.0.0:10000 or [::]:10000)")
    })
}

/// The management listener's one virtual host.
fn admin_host(routes: Vec<Value>) -> Value {
    virtual_host(ADMIN_STAT_PREFIX, json!(["*"]), routes)
}

fn socket(addr: SocketAddr) -> Value {
    json!({"socket_address": {"address": addr.ip().to_string(), "port_value": addr.port()}})
}

/// What a listener believes about its callers (README, Trust boundaries).
struct Trust {
    /// Proxies in front whose `X-Forwarded-For`/`X-Forwarded-Proto` Envoy believes.
    hops: u32,
    /// Request headers no client may send: removed before Envoy or Tollgate reads anything.
    remove: Vec<String>,
    remove_prefixes: &'static [&'static str],
}

impl Trust {
    /// The API listeners: `x-tollgate-*` is Tollgate's own (it tells the upstream who the caller
    /// is); with no trusted hop in front, the trusted headers of resource policies
    /// (`trusted_headers`) and `X-Forwarded-Port` can only be a client's, so they go too (Envoy
    /// sets `X-Forwarded-Port` itself).
    /// `configs`: the APIs the listener serves.
    fn api(gateway: &crate::spec::Gateway, configs: &[tollgate_core::config::Config]) -> Trust {
        let mut remove = Vec::new();
        if gateway.trusted_hops == 0 {
            for config in configs {
                let trusted = &config.trusted_headers;
                let named = [&trusted.source_vpce, &trusted.source_vpc, &trusted.forwarded_proto];
                remove.extend(named.into_iter().flatten().map(|h| h.to_ascii_lowercase()));
            }
            remove.push("x-forwarded-port".into());
            remove.sort();
            remove.dedup();
        }
        Trust { hops: gateway.trusted_hops, remove, remove_prefixes: &[GATEWAY_HEADER_PREFIX] }
    }

    /// The connection manager's fields: the caller is the TCP peer (`use_remote_address`), or
    /// what the `hops` proxies in front report; Envoy appends the peer to `X-Forwarded-For` and
    /// sets `X-Forwarded-Proto` (from the connection's TLS unless a hop is trusted) and
    /// `X-Forwarded-Port`.
    fn apply(&self, hcm: &mut Value) {
        hcm["use_remote_address"] = json!(true);
        hcm["append_x_forwarded_port"] = json!(true);
        if self.hops > 0 {
            hcm["xff_num_trusted_hops"] = json!(self.hops);
        }
        let mut mutations: Vec<Value> =
            self.remove.iter().map(|name| json!({"remove": name})).collect();
        mutations.extend(
            self.remove_prefixes
                .iter()
                .map(|prefix| json!({"remove_on_match": {"key_matcher": {"prefix": prefix}}})),
        );
        if !mutations.is_empty() {
            hcm["early_header_mutation_extensions"] = json!([{
                "name": "envoy.http.early_header_mutation.header_mutation",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.http.early_header_mutation.header_mutation.v3.HeaderMutation",
                    "mutations": mutations,
                },
            }]);
        }
    }
}

/// What a listener's clients see at the edges.
enum Edges {
    /// API Gateway's: Envoy's own replies are gateway responses (this `local_reply_config`),
    /// and requests are held to API Gateway's 10,240 bytes of headers; answers are compressed
    /// from this size on, if set; the connection manager's `tracing`, if any.
    Api(Value, Option<u32>, Option<Value>),
    Admin,
}

/// AWS's limit on a request's headers, 10,240 bytes (Envoy counts in KiB).
const MAX_REQUEST_HEADERS_KB: u32 = 10;

/// The HTTP connection manager: access log to stdout, the Tollgate filter then the router.
fn hcm(
    stat_prefix: &str,
    virtual_hosts: Vec<Value>,
    (tollgate, log): (Vec<Value>, &Value),
    trust: &Trust,
    edges: &Edges,
) -> Value {
    let mut http_filters = tollgate;
    http_filters.push(json!({"name": "envoy.filters.http.router", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
        // No x-envoy-upstream-service-time to the client, no
        // x-envoy-expected-rq-timeout-ms to the upstream.
        "suppress_envoy_headers": true}}));
    let mut out = json!({
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": stat_prefix,
            "access_log": log,
            "route_config": {"name": stat_prefix, "virtual_hosts": virtual_hosts},
            // API Gateway sends no `Server` header of its own (an upstream's passes through).
            "server_header_transformation": "PASS_THROUGH",
            "http_filters": http_filters,
        },
    });
    trust.apply(&mut out["typed_config"]);
    if let Edges::Api(local_reply, compression, tracing) = edges {
        let manager = &mut out["typed_config"];
        if let Some(tracing) = tracing {
            manager["tracing"] = tracing.clone();
        }
        manager["local_reply_config"] = local_reply.clone();
        manager["max_request_headers_kb"] = json!(MAX_REQUEST_HEADERS_KB);
        if let (Some(size), Some(filters)) = (compression, manager["http_filters"].as_array_mut()) {
            // First in the chain, so last on the way out: it compresses what the filter answers.
            filters.insert(0, compressor(*size));
        }
    }
    out
}

/// A virtual host of the API listeners: `routes` for `domains`.
fn virtual_host(name: &str, domains: Value, routes: Vec<Value>) -> Value {
    json!({
        "name": name,
        "domains": domains,
        "routes": routes,
        // The filter's routing header stays between the filter and the router.
        "request_headers_to_remove": [CLUSTER_HEADER],
        "response_headers_to_add": request_id_headers(),
    })
}

/// Envoy's gzip compressor for answers of at least `min_bytes` (AWS's `minimumCompressionSize`)
/// to clients that accept gzip, whatever their type.
fn compressor(min_bytes: u32) -> Value {
    json!({
        "name": "envoy.filters.http.compressor",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor",
            "response_direction_config": {"common_config": {
                "min_content_length": min_bytes,
                "content_type": COMPRESSED_TYPES,
            }},
            "compressor_library": {
                "name": "gzip",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.compression.gzip.compressor.v3.Gzip",
                },
            },
        },
    })
}

/// The media types compressed (Envoy needs a list; AWS compresses any text payload).
const COMPRESSED_TYPES: [&str; 12] = [
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
    "application/xhtml+xml",
    "application/problem+json",
    "text/html",
    "text/plain",
    "text/css",
    "text/csv",
    "text/xml",
    "text/javascript",
];

/// `x-amzn-RequestId` and `x-amz-apigw-id` on every answer Envoy proxies, as the filter writes
/// them on the answers it sends itself (`text::extended_request_id`: the first 16 characters).
pub fn request_id_headers() -> Value {
    let header = |key: &str, value: &str| json!({"header": {"key": key, "value": value}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"});
    json!([
        header("x-amzn-RequestId", "%REQ(x-request-id)%"),
        header("x-amz-apigw-id", "%REQ(x-request-id):16%"),
    ])
}

fn listener(name: &str, addr: SocketAddr, hcm: Value, tls: Option<&Tls>) -> Value {
    let mut chain = json!({"filters": [hcm]});
    if let Some(tls) = tls {
        chain["transport_socket"] = tls_socket(&tls.cert, &tls.key);
    }
    listener_of(name, addr, vec![chain])
}

fn listener_of(name: &str, addr: SocketAddr, chains: Vec<Value>) -> Value {
    json!({
        "name": name,
        "address": socket(addr),
        "per_connection_buffer_limit_bytes": BUFFER_LIMIT,
        "filter_chains": chains,
    })
}

/// A filter chain's TLS: the certificate chain and key (PEM files).
fn tls_socket(cert: &Path, key: &Path) -> Value {
    json!({
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
            "common_tls_context": {"tls_certificates": [{
                "certificate_chain": {"filename": cert},
                "private_key": {"filename": key},
            }]},
        },
    })
}

#[cfg(test)]
mod tests;
