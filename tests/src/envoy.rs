//! Starts the pinned Envoy with a bootstrap built here: one listener on a free port, the Tollgate
//! filter (fail closed) in front of the router, an upstream cluster (plus any extra STATIC
//! clusters a test names, e.g. a JWKS server the filter calls out to), an access log with
//! Tollgate's filter state, and the admin interface on a free port.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{client, envoy_bin, scratch_dir, wasm_path, Process};

pub struct EnvoyOptions {
    /// The Tollgate filter configuration (the JSON document users write).
    pub tollgate: Value,
    /// Port of the upstream cluster every route goes to.
    pub upstream_port: u16,
    pub concurrency: u32,
    /// Extra environment variables for the Envoy process, each also listed in the wasm VM's
    /// `environment_variables.host_env_keys` so the filter can read it (config `{"env": NAME}`).
    pub env: Vec<(String, String)>,
    /// Extra STATIC clusters, each one loopback endpoint: (cluster name, port).
    pub clusters: Vec<(String, u16)>,
    /// Extra STATIC clusters speaking HTTP/2 (gRPC services, e.g. the rate-limit service):
    /// (cluster name, port).
    pub grpc_clusters: Vec<(String, u16)>,
    /// Extra clusters whose requests Envoy signs with `aws_request_signing` (an upstream HTTP
    /// filter): (cluster name, port, service, region).
    pub signed_clusters: Vec<(String, u16, String, String)>,
    /// Terminate TLS on the listener with this certificate chain and key (PEM files).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// A first route that sends requests carrying `x-tollgate-cluster` to that cluster
    /// (`cluster_header`), as integration URIs choose their upstream.
    pub cluster_header_routing: bool,
    /// A second listener whose one route is named `tollgate.admin`: the filter's management
    /// routes (the Envoy's `management_port`).
    pub management: bool,
    /// Envoy's log level (`-l`): `info` unless a test reads the debug or trace log.
    pub log_level: String,
    /// Per-component levels over `log_level` (`--component-log-level`, e.g. `http:info`).
    pub component_log_level: String,
    /// The filter module to load instead of the built one (a test's corrupt `.wasm`).
    pub wasm: Option<PathBuf>,
}

impl EnvoyOptions {
    pub fn new(tollgate: Value, upstream_port: u16) -> Self {
        EnvoyOptions {
            tollgate,
            upstream_port,
            concurrency: 2,
            env: Vec::new(),
            clusters: Vec::new(),
            grpc_clusters: Vec::new(),
            signed_clusters: Vec::new(),
            tls: None,
            cluster_header_routing: false,
            management: false,
            log_level: "info".to_string(),
            component_log_level: String::new(),
            wasm: None,
        }
    }

    /// Runs Envoy at this log level (`trace`, `debug`, `info`, ...).
    pub fn log_level(mut self, level: &str) -> Self {
        self.log_level = level.to_string();
        self
    }

    /// Sets some components' log levels apart (`http:info,router:info`).
    pub fn component_log_level(mut self, levels: &str) -> Self {
        self.component_log_level = levels.to_string();
        self
    }

    /// Loads this filter module rather than the built one.
    pub fn wasm(mut self, path: PathBuf) -> Self {
        self.wasm = Some(path);
        self
    }

    /// Adds a STATIC cluster `name` with the one endpoint `127.0.0.1:port` (for the filter's
    /// callouts: `dispatch_http_call` names a cluster).
    pub fn cluster(mut self, name: &str, port: u16) -> Self {
        self.clusters.push((name.to_string(), port));
        self
    }

    /// Adds an HTTP/2 cluster `name` with the one endpoint `127.0.0.1:port` (for the filter's
    /// `dispatch_grpc_call`).
    pub fn grpc_cluster(mut self, name: &str, port: u16) -> Self {
        self.grpc_clusters.push((name.to_string(), port));
        self
    }

    /// Adds a cluster like [`cluster`](Self::cluster) whose requests Envoy signs for `service`
    /// in `region` (credentials from Envoy's environment: set them with [`env`](Self::env)).
    pub fn signed_cluster(mut self, name: &str, port: u16, service: &str, region: &str) -> Self {
        self.signed_clusters.push((name.into(), port, service.into(), region.into()));
        self
    }

    /// Lets integration URIs choose the cluster (a `cluster_header` route first).
    pub fn cluster_header_routing(mut self) -> Self {
        self.cluster_header_routing = true;
        self
    }

    /// Adds the management listener (see [`EnvoyOptions::management`]).
    pub fn management(mut self) -> Self {
        self.management = true;
        self
    }

    /// Serves HTTPS (and `wss://`) only, with this certificate chain and key.
    pub fn tls(mut self, cert: PathBuf, key: PathBuf) -> Self {
        self.tls = Some((cert, key));
        self
    }

    /// Sets `name=value` in Envoy's environment and passes it into the wasm VM.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_string(), value.to_string()));
        self
    }
}

pub struct Envoy {
    pub port: u16,
    pub admin_port: u16,
    pub dir: PathBuf,
    /// The management listener's port (0 without one).
    pub management_port: u16,
    process: Process,
}

/// The Tollgate HTTP filter entry for a bootstrap. `allow_on_headers_stop_iteration` lets the
/// filter hold the headers while it reads the body (a SigV4 signature covers it): without it
/// Envoy turns the headers' StopIteration into StopAllIteration and never delivers the body.
pub fn tollgate_filter(config: &Value, wasm: &str) -> Value {
    json!({
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": "tollgate",
                "root_id": "tollgate",
                "failure_policy": "FAIL_CLOSED",
                "allow_on_headers_stop_iteration": true,
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": config.to_string(),
                },
                "vm_config": {
                    "vm_id": "tollgate",
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": wasm}},
                },
            },
        },
    })
}

/// 11 MiB: above the 10 MB payload limit the filter enforces with AWS's 413.
pub const BUFFER_LIMIT: u64 = 11 * 1024 * 1024;

pub fn bootstrap(opts: &EnvoyOptions, access_log: &str) -> Value {
    let wasm = opts.wasm.clone().unwrap_or_else(wasm_path);
    // This Envoy's access log reads who the caller is from the filter's state: ask for it,
    // unless the test says otherwise.
    let mut config = opts.tollgate.clone();
    if let Some(fields) = config.as_object_mut() {
        fields.entry("filter_state").or_insert(Value::Bool(true));
    }
    let mut tollgate = tollgate_filter(&config, &wasm.to_string_lossy());
    if !opts.env.is_empty() {
        let keys: Vec<&str> = opts.env.iter().map(|(name, _)| name.as_str()).collect();
        tollgate["typed_config"]["config"]["vm_config"]["environment_variables"] =
            json!({ "host_env_keys": keys });
    }
    let clusters: Vec<Value> = std::iter::once(static_cluster("upstream", opts.upstream_port))
        .chain(opts.clusters.iter().map(|(name, port)| static_cluster(name, *port)))
        .chain(opts.grpc_clusters.iter().map(|(name, port)| grpc_cluster(name, *port)))
        .chain(
            opts.signed_clusters
                .iter()
                .map(|(name, port, service, region)| signed_cluster(name, *port, service, region)),
        )
        .collect();
    let mut config = json!({
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [{
                "name": "gateway",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                // Room for AWS's 10 MB payload while the filter buffers a body (Envoy's default
                // is 1 MiB, past which Envoy answers 413 itself).
                "per_connection_buffer_limit_bytes": BUFFER_LIMIT,
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "gateway",
                        // As every rendered and shipped config: the caller is the TCP peer.
                        "use_remote_address": true,
                        "access_log": [{
                            "name": "envoy.access_loggers.file",
                            "typed_config": {
                                "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                                "path": access_log,
                                "log_format": {"text_format_source": {"inline_string":
                                    "%REQ(:PATH)% %RESPONSE_CODE% key=%FILTER_STATE(wasm.tollgate.api_key_id:PLAIN)% sub=%FILTER_STATE(wasm.tollgate.sub:PLAIN)% stage=%FILTER_STATE(wasm.tollgate.stage:PLAIN)% reason=%FILTER_STATE(wasm.tollgate.rejection:PLAIN)%\n"}},
                            },
                        }],
                        "route_config": {"virtual_hosts": [{
                            "name": "api",
                            "domains": ["*"],
                            "routes": [{"match": {"prefix": "/"}, "route": {
                                "cluster": "upstream",
                                "upgrade_configs": [{"upgrade_type": "websocket"}],
                            }}],
                        }]},
                        "http_filters": [
                            tollgate,
                            {"name": "envoy.filters.http.router", "typed_config": {
                                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
                        ],
                    },
                }]}],
            }],
            "clusters": clusters,
        },
    });
    if opts.cluster_header_routing {
        let routes = &mut config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"]
            [0]["typed_config"]["route_config"]["virtual_hosts"][0]["routes"];
        if let Some(list) = routes.as_array_mut() {
            list.insert(0, json!({
                "match": {"prefix": "/", "headers": [{"name": "x-tollgate-cluster", "present_match": true}]},
                "route": {"cluster_header": "x-tollgate-cluster",
                          "upgrade_configs": [{"upgrade_type": "websocket"}]},
            }));
        }
    }
    if opts.management {
        let mut admin = config["static_resources"]["listeners"][0].clone();
        admin["name"] = json!("management");
        let hcm = &mut admin["filter_chains"][0]["filters"][0]["typed_config"];
        hcm["stat_prefix"] = json!("management");
        hcm["route_config"] = json!({"virtual_hosts": [{"name": "management", "domains": ["*"],
            "routes": [{"name": "tollgate.admin", "match": {"prefix": "/"},
                        "direct_response": {"status": 404}}]}]});
        if let Some(list) = config["static_resources"]["listeners"].as_array_mut() {
            list.push(admin);
        }
    }
    if let Some((cert, key)) = &opts.tls {
        config["static_resources"]["listeners"][0]["filter_chains"][0]["transport_socket"] = json!({
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                "common_tls_context": {"tls_certificates": [{
                    "certificate_chain": {"filename": cert},
                    "private_key": {"filename": key},
                }]},
            },
        });
    }
    config
}

/// A STATIC cluster with one loopback endpoint.
fn static_cluster(name: &str, port: u16) -> Value {
    json!({
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "per_connection_buffer_limit_bytes": BUFFER_LIMIT,
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]},
    })
}

/// A STATIC cluster with one loopback endpoint that speaks HTTP/2 (gRPC).
fn grpc_cluster(name: &str, port: u16) -> Value {
    let mut cluster = static_cluster(name, port);
    cluster["typed_extension_protocol_options"] = json!({
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "explicit_http_config": {"http2_protocol_options": {}},
        },
    });
    cluster
}

/// A STATIC cluster whose requests Envoy signs with SigV4 (`aws_request_signing` as an upstream
/// HTTP filter), as Tollgate's AWS integrations reach real AWS services.
fn signed_cluster(name: &str, port: u16, service: &str, region: &str) -> Value {
    let mut cluster = static_cluster(name, port);
    cluster["typed_extension_protocol_options"] = json!({
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "explicit_http_config": {"http_protocol_options": {}},
            "http_filters": [
                {"name": "envoy.filters.http.aws_request_signing", "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.aws_request_signing.v3.AwsRequestSigning",
                    "service_name": service,
                    "region": region,
                    "use_unsigned_payload": false,
                    "credential_provider": {
                        "custom_credential_provider_chain": true,
                        "environment_credential_provider": {},
                    },
                }},
                {"name": "envoy.filters.http.upstream_codec", "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec"}},
            ],
        },
    });
    cluster
}

impl Envoy {
    /// Starts Envoy and waits until it is ready; `Err` carries Envoy's log if it refused to start.
    pub fn start(opts: &EnvoyOptions) -> Result<Envoy, String> {
        let dir = scratch_dir("envoy");
        let config = dir.join("envoy.json");
        let access_log = dir.join("access.log");
        let bootstrap = bootstrap(opts, &access_log.to_string_lossy());
        std::fs::write(&config, bootstrap.to_string()).map_err(|e| e.to_string())?;
        let management = opts.management.then_some("management");
        let run = Run {
            concurrency: opts.concurrency,
            env: &opts.env,
            log_level: &opts.log_level,
            component_log_level: &opts.component_log_level,
        };
        Envoy::launch(dir, &config, &run, ("gateway", management))
    }

    /// Starts Envoy on a bootstrap that `tollgate render` wrote: `port` is its `api` listener's,
    /// `management_port` its `admin` listener's.
    pub fn start_file(config: &Path, concurrency: u32) -> Result<Envoy, String> {
        Envoy::start_file_env(config, concurrency, &[])
    }

    /// [`Envoy::start_file`] with variables added to Envoy's environment (the credentials its
    /// `aws_request_signing` clusters sign with).
    pub fn start_file_env(
        config: &Path,
        concurrency: u32,
        env: &[(String, String)],
    ) -> Result<Envoy, String> {
        let run = Run { concurrency, env, log_level: "info", component_log_level: "" };
        Envoy::launch(scratch_dir("envoy"), config, &run, ("api", Some("admin")))
    }

    /// Starts Envoy on any bootstrap; `port` is the listener named `listener`'s.
    pub fn start_named(config: &Path, listener: &str) -> Result<Envoy, String> {
        let run = Run { concurrency: 1, env: &[], log_level: "info", component_log_level: "" };
        Envoy::launch(scratch_dir("envoy"), config, &run, (listener, None))
    }

    /// The port a listener of this Envoy is bound to (`None`: no such listener).
    pub fn listener_port(&self, name: &str) -> Option<u16> {
        let listeners = try_get(self.admin_port, "/listeners?format=json")?.json();
        listeners["listener_statuses"]
            .as_array()?
            .iter()
            .find(|l| l["name"] == name)
            .and_then(|l| l["local_address"]["socket_address"]["port_value"].as_u64())
            .and_then(|p| u16::try_from(p).ok())
    }

    /// Runs Envoy on `config` until it is ready and its listeners (API, management) are bound.
    fn launch(
        dir: PathBuf,
        config: &Path,
        run: &Run<'_>,
        (api, management): (&str, Option<&str>),
    ) -> Result<Envoy, String> {
        let admin_file = dir.join("admin.address");
        let log = dir.join("envoy.log");
        let components = match run.component_log_level {
            "" => Vec::new(),
            levels => vec!["--component-log-level", levels],
        };
        let child = Command::new(envoy_bin())
            .arg("-c")
            .arg(config)
            .args(["--concurrency", &run.concurrency.to_string()])
            .envs(run.env.iter().map(|(name, value)| (name, value)))
            .arg("--admin-address-path")
            .arg(&admin_file)
            .arg("--log-path")
            .arg(&log)
            // Tests read the access log: flush it every 100 ms rather than every 10 s.
            .args([
                "--disable-hot-restart",
                "-l",
                run.log_level,
                "--file-flush-interval-msec",
                "100",
            ])
            .args(components)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", envoy_bin().display()))?;
        let mut process = Process { child };
        let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = process.child.try_wait() {
                return Err(format!("envoy exited with {status}:\n{}", read_log()));
            }
            if Instant::now() > deadline {
                return Err(format!("envoy not ready after 60 s:\n{}", read_log()));
            }
            std::thread::sleep(Duration::from_millis(50));
            let Some(admin_port) = std::fs::read_to_string(&admin_file)
                .ok()
                .and_then(|a| a.trim().rsplit(':').next().and_then(|p| p.parse::<u16>().ok()))
            else {
                continue;
            };
            if try_get(admin_port, "/ready").is_none_or(|r| r.status != 200) {
                continue;
            }
            let listeners = try_get(admin_port, "/listeners?format=json").map(|r| r.json());
            let port_of = |name: &str| {
                listeners.as_ref().and_then(|v| {
                    v["listener_statuses"]
                        .as_array()?
                        .iter()
                        .find(|l| l["name"] == name)
                        .and_then(|l| l["local_address"]["socket_address"]["port_value"].as_u64())
                })
            };
            let port = port_of(api).and_then(|p| u16::try_from(p).ok());
            let management_port = management.and_then(port_of).and_then(|p| u16::try_from(p).ok());
            if let Some(port) = port {
                if management.is_some() && management_port.is_none() {
                    continue;
                }
                let management_port = management_port.unwrap_or(0);
                return Ok(Envoy { port, admin_port, dir, management_port, process });
            }
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("envoy.log")).unwrap_or_default()
    }

    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    /// The admin's `/stats/prometheus` page.
    pub fn prometheus(&self) -> String {
        client::get(self.admin_port, "/stats/prometheus", &[]).text()
    }

    /// A counter or gauge from the admin's `/stats` page (`cluster.jwks.upstream_rq_200`), 0
    /// when Envoy has not created it yet.
    pub fn stat(&self, name: &str) -> u64 {
        client::get(self.admin_port, "/stats", &[])
            .text()
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(": ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Envoy's resident memory (VmRSS), in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.process.child.try_wait(), Ok(None))
    }
}

/// How to run the Envoy process.
struct Run<'a> {
    concurrency: u32,
    env: &'a [(String, String)],
    log_level: &'a str,
    component_log_level: &'a str,
}

fn try_get(port: u16, path: &str) -> Option<client::Response> {
    client::try_request(port, "GET", path.as_bytes(), &[], b"").ok()
}

impl Drop for Envoy {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- envoy log ({}) ----\n{}", self.dir.display(), self.log());
        }
    }
}
