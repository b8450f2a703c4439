//! The Tollgate filter as an Envoy extension config served from a file (ECDS): the listeners
//! name the filter `tollgate` and find its config in `tollgate.ecds.yaml`, which Envoy reads
//! again whenever a file is moved into its directory. Rewriting that file (atomically) changes
//! the filter config of a running Envoy: new requests see the new config, requests in flight
//! finish with the old one, shared data (usage counters) stays.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tollgate_core::config::{Config, Secret};
use tollgate_core::deployment::Deployment;

use super::remote::Code;
use crate::spec::write_atomically;

/// The ECDS resource name, the HTTP filter's name and the plugin's root id.
pub const FILTER_NAME: &str = "tollgate";
/// The file (in the rendered directory) that holds the filter's config.
pub const ECDS_FILE: &str = "tollgate.ecds.yaml";

pub const WASM_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";

/// The HCM's entry for the filter: its config comes from `dir/tollgate.ecds.yaml`.
pub fn http_filter(dir: &Path) -> Value {
    discovered(dir, FILTER_NAME, ECDS_FILE)
}

/// In a gateway of several APIs, the filter (and ECDS resource) of API `api_id`.
pub fn api_filter_name(api_id: &str) -> String {
    format!("{FILTER_NAME}.{api_id}")
}

/// In a gateway of several APIs, the file of API `api_id`'s filter config.
pub fn api_ecds_file(api_id: &str) -> String {
    format!("{FILTER_NAME}.{api_id}.ecds.yaml")
}

/// The HCM's entry for API `api_id`'s filter in a gateway of several: from its own ECDS file,
/// and off unless a route turns it on (`typed_per_filter_config`).
pub fn api_http_filter(dir: &Path, api_id: &str) -> Value {
    let mut filter = discovered(dir, &api_filter_name(api_id), &api_ecds_file(api_id));
    filter["disabled"] = json!(true);
    filter
}

/// A filter `name` whose config Envoy reads from `dir/file` (and again when it is replaced).
fn discovered(dir: &Path, name: &str, file: &str) -> Value {
    json!({
        "name": name,
        "config_discovery": {
            "config_source": {
                "resource_api_version": "V3",
                "path_config_source": {
                    "path": dir.join(file),
                    "watched_directory": {"path": dir},
                },
            },
            "type_urls": [WASM_TYPE],
        },
    })
}

/// Names of the environment variables the config reads secrets from (`{"env": NAME}`), which
/// Envoy must pass into the wasm VM.
pub fn env_keys(config: &Config) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for credential in &config.iam.credentials {
        for secret in
            std::iter::once(&credential.secret_access_key).chain(credential.session_token.as_ref())
        {
            if let Secret::Env { env } = secret {
                if !keys.contains(env) {
                    keys.push(env.clone());
                }
            }
        }
    }
    keys
}

/// Checks `config` as the filter will (secrets from the environment that Envoy will have are
/// not required here), so a config Envoy would refuse is never written.
pub fn check(config: &Config) -> Result<Deployment, String> {
    Deployment::compile(config, &|name| {
        Some(std::env::var(name).unwrap_or_else(|_| "not-set-when-rendered".into()))
    })
    .map_err(|e| e.to_string())
}

/// The `envoy.extensions.filters.http.wasm.v3.Wasm` config of the filter: fail closed, the
/// config JSON as the plugin configuration, the V8 VM `tollgate` running `code` (a module file,
/// or one Envoy fetches and checks). The filter publishes the caller's identity as filter
/// state, which the rendered access log, metrics and spans read.
pub fn wasm_config(config: &Config, code: &Code) -> Result<Value, String> {
    wasm_config_as(config, code, (FILTER_NAME, &env_keys(config)))
}

/// [`wasm_config`] under the plugin name `name`, the VM passed the environment variables
/// `keys`: plugins of the same code and `keys` share one VM (per worker), and its shared data.
pub fn wasm_config_as(
    config: &Config,
    code: &Code,
    (name, keys): (&str, &[String]),
) -> Result<Value, String> {
    check(config)?;
    let published;
    let config = if config.filter_state {
        config
    } else {
        published = Config { filter_state: true, ..config.clone() };
        &published
    };
    let json = serde_json::to_string_pretty(config).map_err(|e| e.to_string())?;
    let mut vm = json!({
        "vm_id": FILTER_NAME,
        "runtime": "envoy.wasm.runtime.v8",
        "code": code.vm_code(),
    });
    if !keys.is_empty() {
        vm["environment_variables"] = json!({ "host_env_keys": keys });
    }
    Ok(json!({
        "@type": WASM_TYPE,
        "config": {
            "name": name,
            "root_id": FILTER_NAME,
            // Auth must fail closed: if the plugin cannot load, requests are refused.
            "failure_policy": "FAIL_CLOSED",
            // Lets the filter hold the headers while it reads a body (a SigV4 signature covers
            // it): without it Envoy never delivers the body to a paused filter.
            "allow_on_headers_stop_iteration": true,
            "vm_config": vm,
            "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": json},
        },
    }))
}

/// The ECDS file: a DiscoveryResponse with one `TypedExtensionConfig` named `tollgate`.
pub fn ecds_document(config: &Config, code: impl Into<Code>) -> Result<String, String> {
    document(FILTER_NAME, wasm_config(config, &code.into())?)
}

/// An ECDS file: a DiscoveryResponse with one `TypedExtensionConfig`, `name`.
pub fn document(name: &str, typed_config: Value) -> Result<String, String> {
    let document = json!({
        "resources": [{
            "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
            "name": name,
            "typed_config": typed_config,
        }],
    });
    let yaml = serde_yaml_ng::to_string(&document).map_err(|e| e.to_string())?;
    Ok(format!(
        "# The Tollgate filter's config, written by `tollgate render`. A running Envoy applies\n\
         # a new version of this file (replaced atomically) to new requests.\n{yaml}"
    ))
}

/// Writes `dir/tollgate.ecds.yaml` (for remote code `tollgate.<hash>.ecds.yaml`) atomically (a
/// running Envoy watching `dir` picks it up); returns its path. `config` is checked first, so a
/// bad config never replaces a good one.
pub fn write_ecds(dir: &Path, config: &Config, code: impl Into<Code>) -> Result<PathBuf, String> {
    let code = code.into();
    let text = ecds_document(config, &code)?;
    // Remote code: the file named by its hash (see `remote`).
    let path = dir.join(code.ecds_file(ECDS_FILE));
    write_atomically(&path, text.as_bytes())?;
    Ok(path)
}
