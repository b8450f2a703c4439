//! Where the filter's code comes from: a local file (`--wasm`), or a URL Envoy fetches the
//! module from and checks against a SHA-256 (`--wasm-url URL --sha256 HEX`), so a fleet pulls
//! one published build instead of each host carrying the file.
//!
//! What Envoy (1.40) does with remote code, found in its source
//! (`source/extensions/common/wasm/wasm.cc`, `remote_async_datasource.h`,
//! `source/common/config/remote_data_fetcher.cc`) and checked by `tests/tests/remote_wasm.rs`:
//!
//! - At startup the listeners wait (not bound: connections are refused) until the module is
//!   fetched through the fetch cluster; then Envoy compares the body's SHA-256 with `sha256`.
//! - A mismatch or a failed fetch is retried (`retry_policy`); after the last try the plugin
//!   has no VM and, failing closed, Envoy answers 503 to every request (the log says `Retry
//!   limit exceeded` and `Plugin configured to fail closed failed to load`; a mismatch itself is
//!   logged only at debug, component `config`: `data is invalid`; the admin stat
//!   `wasm.remote_load_fetch_failures` counts it).
//! - Fetched modules are kept in a process-wide cache keyed by the SHA-256: a live config update
//!   (a new ECDS file) with the same `sha256` applies at once. One naming a `sha256` Envoy has
//!   not fetched yet is never fetched on a live update (the fetch waits for an init manager that
//!   has already finished), and the plugin has no VM: Envoy then either answers 503 or, worse,
//!   runs the request without the filter at all (seen here: requests without an API key reached
//!   the upstream), whichever of the plugin's two instances the workers got. So a running Envoy
//!   must never see new remote code: the ECDS file of remote code is named by its hash
//!   (`tollgate.<hash>.ecds.yaml`), a new build is a new file that only a new `envoy.yaml`
//!   names, and a running Envoy keeps the filter it has until it restarts.
//! - `nack_on_code_cache_miss` stays off: on, the first config at startup is refused (no module
//!   in the cache yet) and the filter has no config at all (500s) until the file changes again.
//! - The VM is keyed by `vm_id`, the VM configuration and the module's hash: the APIs of a
//!   gateway file, which name the same code, share one VM (and its shared data) as with a local
//!   file.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::clusters::{self, Address, Cluster};

/// The cluster Envoy fetches the module through.
pub const FETCH_CLUSTER: &str = "tollgate_wasm";
/// How the names of ECDS files end.
const ECDS_SUFFIX: &str = ".ecds.yaml";
/// How long one fetch may take (a release build is a few MB).
const FETCH_TIMEOUT: &str = "30s";
/// Tries after the first, with jittered exponential backoff from 0.5 s (at most 5 s apart):
/// a few seconds of an unreachable server at startup are ridden out.
const FETCH_RETRIES: u32 = 4;

/// The filter's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// A file on Envoy's host (absolute).
    Local(PathBuf),
    /// A URL Envoy fetches.
    Remote(Remote),
}

impl From<&Path> for Code {
    fn from(path: &Path) -> Code {
        Code::Local(path.to_path_buf())
    }
}

impl From<&PathBuf> for Code {
    fn from(path: &PathBuf) -> Code {
        Code::Local(path.clone())
    }
}

impl From<&Code> for Code {
    fn from(code: &Code) -> Code {
        code.clone()
    }
}

/// A module at `url` whose SHA-256 is `sha256` (64 lowercase hex digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub url: String,
    pub sha256: String,
    address: Address,
}

impl Remote {
    /// Checks `url` (`http(s)://host[:port]/path[?query]`) and `sha256` (64 hex digits; a
    /// `sha256:` prefix is taken off).
    pub fn parse(url: &str, sha256: &str) -> Result<Remote, String> {
        let (address, path) =
            Address::split(url).map_err(|e| format!("--wasm-url: {e}, with the module's path"))?;
        if path.len() < 2 || !path.starts_with('/') {
            return Err(format!(
                "--wasm-url: `{url}` names no file: give the module's path, e.g. \
                 https://artifacts.example.com/tollgate/0.1.0/tollgate_filter.wasm"
            ));
        }
        if let Some(bad) = path.chars().find(|c| c.is_whitespace() || c.is_control() || *c == '#') {
            return Err(format!("--wasm-url: `{url}` has `{}` in its path", bad.escape_default()));
        }
        Ok(Remote { url: url.to_string(), sha256: sha256_hex(sha256)?, address })
    }

    /// The fetch cluster: `FETCH_CLUSTER` at the URL's host (TLS with the host as SNI and name
    /// to verify for `https`).
    pub fn cluster(&self) -> Cluster {
        Cluster {
            name: FETCH_CLUSTER.into(),
            address: self.address.clone(),
            signing: None,
            http2: false,
            origin: "--wasm-url".into(),
        }
    }
}

/// `sha256` as 64 lowercase hex digits (`sha256:` prefix and case forgiven), or why not.
pub fn sha256_hex(sha256: &str) -> Result<String, String> {
    let hex = sha256.trim();
    let hex = hex.strip_prefix("sha256:").unwrap_or(hex);
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "--sha256: `{sha256}` is not a SHA-256 (64 hex digits, as `sha256sum` prints)"
        ));
    }
    Ok(hex.to_ascii_lowercase())
}

impl Code {
    /// The code from the command line: `--wasm-url` with `--sha256`, else the local module.
    pub fn from_args(
        wasm: Option<&Path>,
        url: Option<&str>,
        sha256: Option<&str>,
    ) -> Result<Code, String> {
        match (url, sha256) {
            (Some(_), _) if wasm.is_some() => {
                Err("--wasm and --wasm-url both name the filter: give one".into())
            }
            (Some(url), Some(sha)) => Ok(Code::Remote(Remote::parse(url, sha)?)),
            (Some(_), None) => Err("--wasm-url needs --sha256 (the module's SHA-256, as \
                                    `sha256sum tollgate_filter.wasm` prints): Envoy refuses a \
                                    module that does not match it"
                .into()),
            (None, Some(_)) => Err("--sha256 goes with --wasm-url".into()),
            (None, None) => Ok(Code::Local(super::wasm_path(wasm)?)),
        }
    }

    /// `vm_config.code`.
    pub fn vm_code(&self) -> Value {
        match self {
            Code::Local(path) => json!({"local": {"filename": path}}),
            Code::Remote(remote) => json!({"remote": {
                "http_uri": {"uri": remote.url, "cluster": FETCH_CLUSTER, "timeout": FETCH_TIMEOUT},
                "sha256": remote.sha256,
                "retry_policy": {
                    "num_retries": FETCH_RETRIES,
                    "retry_back_off": {"base_interval": "0.5s", "max_interval": "5s"},
                },
            }}),
        }
    }

    /// The ECDS file of a filter named `file` (`tollgate.ecds.yaml`) that runs this code: for
    /// remote code, the hash is in the name (`tollgate.<16 hex digits>.ecds.yaml`), so a new
    /// build never replaces the file a running Envoy watches.
    pub fn ecds_file(&self, file: &str) -> String {
        match (self, file.strip_suffix(ECDS_SUFFIX)) {
            (Code::Remote(remote), Some(stem)) => {
                let short: String = remote.sha256.chars().take(16).collect();
                format!("{stem}.{short}{ECDS_SUFFIX}")
            }
            _ => file.to_string(),
        }
    }

    /// Makes a bootstrap run this code: for remote code, the fetch cluster in its static
    /// clusters, and its filters reading the ECDS files named by the hash.
    pub fn adapt_bootstrap(&self, bootstrap: &mut Value) -> Result<(), String> {
        if let Code::Local(_) = self {
            return Ok(());
        }
        fn rename(value: &mut Value, code: &Code) {
            match value {
                Value::Object(fields) => {
                    if let Some(path) = fields
                        .get_mut("path_config_source")
                        .and_then(|s| s.get_mut("path"))
                        .filter(|p| p.is_string())
                    {
                        let old = PathBuf::from(path.as_str().unwrap_or_default());
                        if let Some(name) = old.file_name().and_then(|n| n.to_str()) {
                            *path = json!(old.with_file_name(code.ecds_file(name)));
                        }
                    }
                    fields.values_mut().for_each(|v| rename(v, code));
                }
                Value::Array(items) => items.iter_mut().for_each(|v| rename(v, code)),
                _ => {}
            }
        }
        rename(bootstrap, self);
        self.add_fetch_cluster(bootstrap)
    }

    /// Adds the fetch cluster (remote code) to a bootstrap's static clusters.
    fn add_fetch_cluster(&self, bootstrap: &mut Value) -> Result<(), String> {
        let Code::Remote(remote) = self else { return Ok(()) };
        let Some(list) =
            bootstrap.pointer_mut("/static_resources/clusters").and_then(Value::as_array_mut)
        else {
            return Err("the bootstrap has no clusters".into());
        };
        if list.iter().any(|c| c["name"] == FETCH_CLUSTER) {
            return Err(format!(
                "gateway.clusters.{FETCH_CLUSTER}: the name is the cluster Envoy fetches the \
                 filter through (--wasm-url); rename it"
            ));
        }
        list.push(clusters::envoy_cluster(&remote.cluster())?);
        Ok(())
    }

    /// The bootstrap header's line about remote code (empty for a file).
    pub fn bootstrap_note(&self) -> String {
        match self {
            Code::Local(_) => String::new(),
            Code::Remote(remote) => format!(
                "# The filter: fetched by Envoy from {}\n\
                 # through cluster {FETCH_CLUSTER}, refused unless its SHA-256 is\n\
                 # {}.\n\
                 # A new build needs an Envoy restart, not only a new config file.\n",
                remote.url, remote.sha256
            ),
        }
    }

    /// Whether a running Envoy that has `running` must restart to run `self`: remote code it
    /// has not fetched is never fetched on a live update (its ECDS file is another one).
    pub fn needs_restart_after(&self, running: &Code) -> bool {
        match (self, running) {
            (Code::Remote(new), Code::Remote(old)) => new.sha256 != old.sha256,
            (Code::Remote(_), Code::Local(_)) => true,
            (Code::Local(_), _) => false,
        }
    }
}

/// The code of the gateway rendered into `dir`: what the first ECDS file its `envoy.yaml`
/// reads names.
pub fn rendered_code(dir: &Path) -> Result<Code, String> {
    let bootstrap = dir.join(super::BOOTSTRAP_FILE);
    let text =
        std::fs::read_to_string(&bootstrap).map_err(|e| format!("{}: {e}", bootstrap.display()))?;
    let doc: Value =
        serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", bootstrap.display()))?;
    fn first_path(value: &Value) -> Option<&str> {
        match value {
            Value::Object(fields) => fields
                .get("path_config_source")
                .and_then(|s| s.get("path"))
                .and_then(Value::as_str)
                .or_else(|| fields.values().find_map(first_path)),
            Value::Array(items) => items.iter().find_map(first_path),
            _ => None,
        }
    }
    let ecds = first_path(&doc).ok_or_else(|| format!("{}: no ECDS file", bootstrap.display()))?;
    running_code(Path::new(ecds))
}

/// The code an ECDS file the gateway was rendered with names.
pub fn running_code(ecds: &Path) -> Result<Code, String> {
    let text = std::fs::read_to_string(ecds).map_err(|e| format!("{}: {e}", ecds.display()))?;
    let doc: Value =
        serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", ecds.display()))?;
    let code = doc.pointer("/resources/0/typed_config/config/vm_config/code");
    if let Some(file) = code.and_then(|c| c.pointer("/local/filename")).and_then(Value::as_str) {
        return Ok(Code::Local(PathBuf::from(file)));
    }
    let remote = code.and_then(|c| c.get("remote"));
    let url = remote.and_then(|r| r.pointer("/http_uri/uri")).and_then(Value::as_str);
    let sha = remote.and_then(|r| r.get("sha256")).and_then(Value::as_str);
    match (url, sha) {
        (Some(url), Some(sha)) => Ok(Code::Remote(Remote::parse(url, sha)?)),
        _ => Err(format!("{}: no wasm module named in it", ecds.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "b88058de14919a5f6cde544ce03374d9844a3fb528eb4845e7d70e2fd7aa4c53";

    #[test]
    fn urls_and_hashes_are_checked() {
        let r = Remote::parse("https://cdn.example.com/tollgate/0.1/f.wasm?sig=a%2Fb&x=1", SHA)
            .unwrap();
        let c = r.cluster();
        assert_eq!(
            (c.name.as_str(), c.address.url()),
            (FETCH_CLUSTER, "https://cdn.example.com:443".into())
        );
        let upper = format!("sha256:{}", SHA.to_ascii_uppercase());
        assert_eq!(Remote::parse("http://10.0.0.1:8080/f.wasm", &upper).unwrap().sha256, SHA);
        for (url, why) in [
            ("ftp://h/f.wasm", "is not http"),
            ("https://h", "names no file"),
            ("https://h/", "names no file"),
            ("https://h:0/f.wasm", "is not http"),
            ("https://user:pw@h/f.wasm", "is not http"),
            ("https://h/a b.wasm", "in its path"),
            ("https://h/f.wasm#frag", "in its path"),
        ] {
            let err = Remote::parse(url, SHA).unwrap_err();
            assert!(err.starts_with("--wasm-url: ") && err.contains(why), "{url}: {err}");
        }
        for sha in ["", "abc", &SHA[1..], &format!("{SHA}0"), &SHA.replace('b', "g")] {
            let err = Remote::parse("https://h/f.wasm", sha).unwrap_err();
            assert!(err.contains("64 hex digits"), "{sha}: {err}");
        }
    }

    #[test]
    fn flags_go_together() {
        let err = Code::from_args(None, Some("https://h/f.wasm"), None).unwrap_err();
        assert!(err.contains("needs --sha256"), "{err}");
        let err = Code::from_args(None, None, Some(SHA)).unwrap_err();
        assert!(err.contains("goes with --wasm-url"), "{err}");
        let err = Code::from_args(Some(Path::new("/f.wasm")), Some("https://h/f.wasm"), Some(SHA))
            .unwrap_err();
        assert!(err.contains("give one"), "{err}");
    }

    #[test]
    fn remote_code_and_its_cluster() {
        let code = Code::Remote(Remote::parse("https://cdn.example.com/f.wasm", SHA).unwrap());
        let vm = code.vm_code();
        assert_eq!(vm["remote"]["http_uri"]["cluster"], FETCH_CLUSTER);
        assert_eq!(vm["remote"]["sha256"], SHA);
        assert_eq!(vm["remote"]["retry_policy"]["num_retries"], FETCH_RETRIES);
        assert!(code.bootstrap_note().contains(SHA));
        assert_eq!(Code::Local("/f.wasm".into()).bootstrap_note(), "");
        assert_eq!(code.ecds_file("tollgate.ecds.yaml"), "tollgate.b88058de14919a5f.ecds.yaml");
        assert_eq!(code.ecds_file("tollgate.a.ecds.yaml"), "tollgate.a.b88058de14919a5f.ecds.yaml");
        assert_eq!(Code::Local("/f".into()).ecds_file("tollgate.ecds.yaml"), "tollgate.ecds.yaml");
        let source = |p: &str| {
            json!({"config_discovery": {"config_source": {"path_config_source": {
            "path": p, "watched_directory": {"path": "/d"}}}}})
        };
        let mut bootstrap = json!({"static_resources": {"clusters": [], "listeners": [
            {"filters": [source("/d/tollgate.ecds.yaml"), source("/d/tollgate.x.ecds.yaml")]}]}});
        code.adapt_bootstrap(&mut bootstrap).unwrap();
        let filters = &bootstrap["static_resources"]["listeners"][0]["filters"];
        let path =
            |i: usize| &filters[i]["config_discovery"]["config_source"]["path_config_source"];
        assert_eq!(path(0)["path"], "/d/tollgate.b88058de14919a5f.ecds.yaml");
        assert_eq!(path(1)["path"], "/d/tollgate.x.b88058de14919a5f.ecds.yaml");
        assert_eq!(path(0)["watched_directory"]["path"], "/d");
        let cluster = &bootstrap["static_resources"]["clusters"][0];
        assert_eq!(cluster["name"], FETCH_CLUSTER);
        assert_eq!(cluster["type"], "STRICT_DNS");
        let tls = &cluster["transport_socket"]["typed_config"];
        assert_eq!(tls["sni"], "cdn.example.com");
        let err = code.adapt_bootstrap(&mut bootstrap).unwrap_err();
        assert!(err.contains("gateway.clusters.tollgate_wasm"), "{err}");
        let mut local = json!({"static_resources": {"clusters": []}});
        Code::Local("/f.wasm".into()).adapt_bootstrap(&mut local).unwrap();
        assert_eq!(local["static_resources"]["clusters"], json!([]));
    }

    #[test]
    fn restarts_are_needed_for_code_envoy_has_not_fetched() {
        let a = Code::Remote(Remote::parse("https://h/a.wasm", SHA).unwrap());
        let moved = Code::Remote(Remote::parse("https://other/a.wasm", SHA).unwrap());
        let b = Code::Remote(Remote::parse("https://h/b.wasm", &"1".repeat(64)).unwrap());
        let local = Code::Local("/f.wasm".into());
        assert!(!moved.needs_restart_after(&a), "the cache is keyed by the hash");
        assert!(b.needs_restart_after(&a));
        assert!(a.needs_restart_after(&local));
        assert!(!local.needs_restart_after(&a));
    }
}
