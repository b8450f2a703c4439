//! `tollgate render SPEC --target istio|envoy-gateway --out DIR`: the filter as Kubernetes
//! objects of a gateway that already runs Envoy, instead of an Envoy config. The gateway pulls
//! the filter (an OCI image, `--image`, or a URL, `--wasm-url`) and checks it (`--sha256`); the
//! filter config is the spec's `Config`, the same JSON the ECDS file carries; the clusters the
//! filter calls out to (JWKS, Lambda, AWS services, the rate-limit service) become the
//! gateway's own objects. What Tollgate's Envoy config does around the filter (listeners, TLS,
//! routes, access log, metrics) is the gateway's business there: the spec's `gateway` section
//! is not used, except its cluster addresses.
//!
//! One API per file (a gateway file of several APIs renders for `--target envoy` only). Each
//! object is refused past 1 MiB: the API server stores an object in etcd, whose requests are
//! limited to about 1.5 MiB.

use serde_json::{json, Value};
use tollgate_core::config::Config;
use tollgate_core::deployment::Deployment;

use super::clusters::{self, Cluster, UPSTREAM};
use super::remote::{self, Remote};
use super::routes::{self, Action};
use super::{ecds, envoy_gateway, istio, kubernetes_ratelimit, RenderArgs};
use crate::spec::{write_atomically, Spec};

/// What `tollgate render` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// An Envoy bootstrap and the filter's ECDS file.
    Envoy,
    /// Istio's ingress gateway: WasmPlugin (or EnvoyFilter), ServiceEntry, DestinationRule.
    Istio,
    /// Envoy Gateway: EnvoyExtensionPolicy, EnvoyPatchPolicy.
    EnvoyGateway,
}

/// The largest object written: etcd takes requests of about 1.5 MiB.
pub const MAX_OBJECT_BYTES: usize = 1024 * 1024;

/// The flags of the Kubernetes targets, refused for `--target envoy`.
pub fn refuse_kubernetes_flags(args: &RenderArgs) -> Result<(), String> {
    let given = [
        ("--image", args.image.is_some()),
        ("--selector", !args.selector.is_empty()),
        ("--target-ref", !args.target_ref.is_empty()),
        ("--gateway", args.gateway.is_some()),
        ("--namespace", args.namespace.is_some()),
        ("--ratelimit-image", args.ratelimit_image.is_some()),
        ("--redis-image", args.redis_image.is_some()),
    ];
    match given.iter().find(|(_, set)| *set) {
        Some((flag, _)) => {
            Err(format!("{flag} goes with --target istio or --target envoy-gateway"))
        }
        None => Ok(()),
    }
}

/// Where the gateway gets the filter, checked against `sha256`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Module {
    /// An OCI image `reference` (no scheme), `sha256` its manifest digest.
    Image { reference: String, sha256: String },
    /// A module at `url`, `sha256` the module's.
    Url { url: String, sha256: String },
}

impl Module {
    /// `--image` or `--wasm-url`, with `--sha256` (an image may pin its digest instead).
    pub fn from_args(args: &RenderArgs) -> Result<Module, String> {
        if args.wasm.is_some() {
            return Err("--wasm names a file on this machine: a Kubernetes gateway pulls the \
                        filter, name it with --image (or --wasm-url)"
                .into());
        }
        match (&args.image, &args.wasm_url) {
            (Some(_), Some(_)) => {
                Err("--image and --wasm-url both name the filter: give one".into())
            }
            (None, None) => Err(format!(
                "--target {}: name the filter's OCI image with --image \
                 REGISTRY/tollgate-filter:VERSION (or a URL with --wasm-url)",
                target_name(args.target)
            )),
            (None, Some(url)) => {
                let sha = args.sha256.as_deref().ok_or(
                    "--wasm-url needs --sha256 (the module's SHA-256, as `sha256sum` prints): \
                     the gateway refuses a module that does not match it",
                )?;
                let remote = Remote::parse(url, sha)?;
                Ok(Module::Url { url: remote.url, sha256: remote.sha256 })
            }
            (Some(image), None) => Module::image(image, args.sha256.as_deref()),
        }
    }

    fn image(image: &str, sha256: Option<&str>) -> Result<Module, String> {
        let reference = image.strip_prefix("oci://").unwrap_or(image);
        let repository = reference.split(['@', ':']).next().unwrap_or_default();
        let bad = reference.is_empty()
            || repository.is_empty()
            || reference.contains("://")
            || reference.chars().any(|c| c.is_whitespace() || c.is_control());
        if bad {
            return Err(format!(
                "--image: `{image}` is not an image reference (REGISTRY/NAME:TAG)"
            ));
        }
        let pinned = match reference.split_once("@sha256:") {
            Some((_, digest)) => Some(remote::sha256_hex(digest).map_err(|e| {
                format!("--image: `{image}` pins a digest that is not a SHA-256 ({e})")
            })?),
            None => None,
        };
        let given = sha256.map(remote::sha256_hex).transpose()?;
        let sha256 = match (pinned, given) {
            (Some(pinned), Some(given)) if pinned != given => {
                return Err(format!(
                    "--sha256 {given} is not the digest `{image}` pins: give one of them"
                ))
            }
            (Some(digest), _) | (None, Some(digest)) => digest,
            (None, None) => {
                return Err(format!(
                "--image needs --sha256, the image's manifest digest (`crane digest {reference}` \
                     or `skopeo inspect docker://{reference}` prints it), or a reference by digest \
                     (NAME@sha256:...): the gateway refuses an image that does not match it"
            ))
            }
        };
        Ok(Module::Image { reference: reference.to_string(), sha256 })
    }

    pub fn sha256(&self) -> &str {
        match self {
            Module::Image { sha256, .. } | Module::Url { sha256, .. } => sha256,
        }
    }
}

fn target_name(target: Target) -> &'static str {
    match target {
        Target::Envoy => "envoy",
        Target::Istio => "istio",
        Target::EnvoyGateway => "envoy-gateway",
    }
}

/// What the targets need to know about a spec beyond its config.
pub struct Facts {
    /// The clusters the filter calls (JWKS, Lambda, AWS services, the rate-limit service).
    pub callouts: Vec<Cluster>,
    /// `GET /pets`-style names of the methods whose decision reads the body (SigV4, body
    /// validation, templates, Lambda and AWS integrations).
    pub body_methods: Vec<String>,
    /// The methods Tollgate's Envoy config routes by their integration URI's host.
    pub uri_methods: Vec<String>,
    /// Environment variables the filter reads secrets from.
    pub env_keys: Vec<String>,
}

impl Facts {
    pub fn of(spec: &Spec, deployment: &Deployment) -> Result<Facts, String> {
        let config = &spec.config;
        // The routes' backend is the gateway's business: a stand-in keeps `collect` from
        // asking for gateway.upstream.
        let mut gateway = spec.gateway.clone();
        if gateway.upstream.is_none() && !gateway.clusters.contains_key(UPSTREAM) {
            gateway.upstream = Some("http://127.0.0.1:9".into());
        }
        let names = callout_names(config, deployment);
        let callouts = clusters::collect(&gateway, config, deployment)?
            .into_iter()
            .filter(|c| names.contains(&c.name))
            .collect();
        let describe =
            |m: &tollgate_core::config::Method| format!("{} {}", m.http_method, m.resource);
        let mut body_methods = Vec::new();
        for (i, method) in config.methods.iter().enumerate() {
            let reads = deployment.stages.iter().any(|s| {
                let plans = std::iter::once(&s.plan).chain(s.canary.iter().map(|c| &c.plan));
                plans.into_iter().any(|p| p.methods.get(i).is_some_and(|m| m.needs_body))
            });
            if reads {
                body_methods.push(describe(method));
            }
        }
        let uri_methods = config
            .methods
            .iter()
            .filter(|m| matches!(routes::action(m), Action::ByUri { .. }))
            .map(describe)
            .collect();
        Ok(Facts { callouts, body_methods, uri_methods, env_keys: ecds::env_keys(config) })
    }

    /// What does not carry over from Tollgate's Envoy config, in words for the file's header
    /// and the terminal.
    pub fn notes(&self, config: &Config) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.uri_methods.is_empty() {
            notes.push(format!(
                "Methods routed by their integration URI ({}) go where the gateway's own routes \
                 send them: Tollgate's Envoy config routes them to the URI's host \
                 (x-tollgate-cluster), which a route of this gateway does not do; route those \
                 paths to those hosts there.",
                self.uri_methods.join(", ")
            ));
        }
        if !self.body_methods.is_empty() {
            notes.push(format!(
                "Methods that read the body before deciding ({}) take bodies up to the gateway's \
                 buffer limit (Envoy's default is 1 MiB; Tollgate's Envoy config sets 11 MiB for \
                 AWS's 10 MB payloads); past it Envoy answers 413.",
                self.body_methods.join(", ")
            ));
        }
        if !self.env_keys.is_empty() {
            notes.push(format!(
                "The filter reads {} from the gateway's environment: set them on its pods.",
                self.env_keys.join(", ")
            ));
        }
        if config.admin.is_some() {
            notes.push(
                "The management routes (config `admin`) need Tollgate's own admin listener, \
                 which only --target envoy renders."
                    .into(),
            );
        }
        notes.push(
            "The spec's gateway section (listeners, TLS, access log, metrics, tracing, AWS-shaped \
             replies for Envoy's own errors) is for --target envoy: set those on the gateway."
                .into(),
        );
        notes
    }
}

/// The clusters the filter itself calls, by name.
fn callout_names(config: &Config, deployment: &Deployment) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for authorizer in &config.authorizers {
        names.extend(authorizer.jwks_uri.iter().map(|u| u.cluster.clone()));
        names.extend(authorizer.jwks_uris.iter().map(|u| u.cluster.clone()));
    }
    names.extend(config.rate_limit_service.iter().map(|s| s.cluster.clone()));
    names.extend(config.api_key_store.iter().map(|s| s.cluster.clone()));
    for stage in &deployment.stages {
        for plan in std::iter::once(&stage.plan).chain(stage.canary.iter().map(|c| &c.plan)) {
            for integration in plan.methods.iter().filter_map(|m| m.integration.as_ref()) {
                names.extend(integration.lambda.iter().map(|l| l.cluster.clone()));
                names.extend(integration.aws.iter().map(|a| a.cluster.clone()));
            }
            names.extend(plan.lambda_authorizers.iter().map(|a| a.cluster.clone()));
        }
    }
    names.sort();
    names.dedup();
    names
}

/// A cluster as the gateway's Envoy gets it: the system CA bundle of the Envoy images, and
/// SigV4 credentials from the default chain (environment, web identity as on EKS with IRSA,
/// container and instance metadata), not only from the environment.
pub fn gateway_cluster(cluster: &Cluster) -> Result<Value, String> {
    let mut out = clusters::envoy_cluster(cluster)?;
    if let Some(ca) = out.pointer_mut(
        "/transport_socket/typed_config/common_tls_context/validation_context/trusted_ca",
    ) {
        *ca = json!({"filename": "/etc/ssl/certs/ca-certificates.crt"});
    }
    let options = "/typed_extension_protocol_options/envoy.extensions.upstreams.http.v3.HttpProtocolOptions/http_filters/0/typed_config";
    if let Some(signing) = out.pointer_mut(options).and_then(Value::as_object_mut) {
        signing.remove("credential_provider");
    }
    Ok(out)
}

/// A name Kubernetes takes (DNS-1123 label): lowercase letters, digits and `-`, at most 63.
pub fn object_name(parts: &[&str]) -> String {
    let joined = parts.join("-").to_ascii_lowercase();
    let mut name: String =
        joined.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    let name: String = name.trim_matches('-').chars().take(63).collect();
    name.trim_end_matches('-').to_string()
}

/// An object's metadata: `name`, the namespace if given, Tollgate's labels.
pub fn metadata(name: &str, namespace: Option<&str>, api_id: &str) -> Value {
    let mut meta = json!({
        "name": name,
        "labels": {
            "app.kubernetes.io/name": "tollgate",
            "app.kubernetes.io/managed-by": "tollgate",
            "tollgate.dev/api": object_name(&[api_id]),
        },
    });
    if let Some(ns) = namespace {
        meta["namespace"] = json!(ns);
    }
    meta
}

/// The objects of one target and what the file says about them.
#[derive(Debug)]
pub struct Manifest {
    /// The file name in the output directory.
    pub file: &'static str,
    /// The header comment's lines (without `# `).
    pub header: Vec<String>,
    pub objects: Vec<Value>,
    /// What does not work on that gateway, also printed.
    pub notes: Vec<String>,
}

/// Refuses an object past [`MAX_OBJECT_BYTES`], pointing at what makes it big.
pub fn check_size(object: &Value, config: &Config) -> Result<(), String> {
    let bytes = serde_json::to_vec(object).map_err(|e| e.to_string())?.len();
    if bytes <= MAX_OBJECT_BYTES {
        return Ok(());
    }
    Err(format!(
        "the {} `{}` would be {:.1} MiB, its filter config carrying {} API keys: Kubernetes \
         stores an object in etcd, which takes about 1.5 MiB at most, and Tollgate stops at 1 MiB. \
         Move the keys to the key store (`api_key_store`: Redis through tollgate-ratelimit, \
         `tollgate keys import --store`), or use --target envoy, whose config file has no such \
         limit",
        object["kind"].as_str().unwrap_or("object"),
        object["metadata"]["name"].as_str().unwrap_or_default(),
        bytes as f64 / (1024.0 * 1024.0),
        config.api_keys.len()
    ))
}

/// `tollgate render SPEC --target istio|envoy-gateway`.
pub fn command(args: &RenderArgs) -> Result<(), String> {
    if super::is_gateway_path(&args.spec)? {
        return Err(format!(
            "{} is a gateway file of several APIs, which renders for --target envoy only: \
             render each API's spec for --target {}",
            args.spec.display(),
            target_name(args.target)
        ));
    }
    let spec = super::load(&args.spec)?;
    let module = Module::from_args(args)?;
    let manifest = manifest(&spec, &module, args)?;
    for object in &manifest.objects {
        check_size(object, &spec.config)?;
    }
    let text = manifest_text(&manifest)?;
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let path = args.out.join(manifest.file);
    write_atomically(&path, text.as_bytes())?;
    println!("wrote {}: apply it with kubectl apply -f {}", path.display(), path.display());
    for note in &manifest.notes {
        println!("note: {note}");
    }
    Ok(())
}

/// The objects for `args.target`.
pub fn manifest(spec: &Spec, module: &Module, args: &RenderArgs) -> Result<Manifest, String> {
    let deployment = ecds::check(&spec.config)?;
    // Global usage plans: the rate-limit service and Redis run beside the gateway unless the
    // spec names where its service is.
    let mut spec = spec.clone();
    let own_service = kubernetes_ratelimit::adopt_cluster(&mut spec, args.namespace.as_deref());
    let facts = Facts::of(&spec, &deployment)?;
    let mut manifest = match args.target {
        Target::Istio => istio::manifest(&spec, module, &facts, args),
        Target::EnvoyGateway => envoy_gateway::manifest(&spec, module, &facts, args),
        Target::Envoy => Err("--target envoy writes an Envoy config".into()),
    }?;
    if own_service {
        manifest.objects.extend(kubernetes_ratelimit::objects(&spec, args)?);
    }
    Ok(manifest)
}

/// The file: the header, then each object as a YAML document.
pub fn manifest_text(manifest: &Manifest) -> Result<String, String> {
    let mut out = String::new();
    for line in &manifest.header {
        out.push_str(if line.is_empty() { "#" } else { "# " });
        out.push_str(line);
        out.push('\n');
    }
    for object in &manifest.objects {
        out.push_str("---\n");
        out.push_str(&serde_yaml_ng::to_string(object).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// A header: paragraphs wrapped to 96 columns with the `# ` (an empty one is an empty line), then what
/// differs from Tollgate's Envoy config as a list.
pub fn header_lines(paragraphs: &[String], notes: &[String]) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in paragraphs {
        if paragraph.is_empty() {
            lines.push(String::new());
        } else {
            lines.extend(wrap(paragraph, "", ""));
        }
    }
    lines.push(String::new());
    lines.push("What differs from Tollgate's own Envoy config:".into());
    for note in notes {
        lines.extend(wrap(note, "- ", "  "));
    }
    lines
}

fn wrap(text: &str, first: &str, rest: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut words = 0;
    for word in text.split_whitespace() {
        if words > 0 && line.len() + 1 + word.len() > 94 {
            lines.push(std::mem::replace(&mut line, rest.to_string()));
            words = 0;
        }
        if words > 0 {
            line.push(' ');
        }
        line.push_str(word);
        words += 1;
    }
    lines.push(line);
    lines
}

/// The config as JSON with the clusters renamed by `rename` (every `cluster` member names a
/// cluster), checked again as the filter will.
pub fn config_with_clusters(
    config: &Config,
    rename: &dyn Fn(&str) -> Option<String>,
) -> Result<Value, String> {
    fn walk(value: &mut Value, rename: &dyn Fn(&str) -> Option<String>) {
        match value {
            Value::Object(fields) => {
                for (key, field) in fields.iter_mut() {
                    match field.as_str().and_then(|name| (key == "cluster").then(|| rename(name))) {
                        Some(Some(new)) => *field = Value::String(new),
                        _ => walk(field, rename),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, rename)),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(config).map_err(|e| e.to_string())?;
    walk(&mut value, rename);
    let renamed: Config = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    ecds::check(&renamed)?;
    Ok(value)
}

#[cfg(test)]
#[path = "kubernetes_tests.rs"]
mod tests;
