//! The Tollgate spec: the file a user keeps under version control. It is the filter config
//! (`tollgate_core::config::Config`, exactly what the filter runs) plus one `gateway` section
//! that only the CLI reads: where Envoy listens, which upstream methods without an integration
//! URI reach, TLS, the admin listener. JSON or YAML.
//!
//! ```yaml
//! gateway: {listen: "127.0.0.1:10000", upstream: "http://127.0.0.1:8080"}
//! api: {id: petstore}
//! methods: [{resource: /pets, http_method: GET, api_key_required: true}]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tollgate_core::config::Config;

/// Settings of the Envoy around the filter; the filter never sees them.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    /// `address:port` of the API's listener; loopback by default (say `0.0.0.0:10000` to serve
    /// other hosts).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// How many proxies in front of Envoy (load balancers, CDNs) are trusted to report the
    /// caller's address in `X-Forwarded-For` and the scheme in `X-Forwarded-Proto` (Envoy's
    /// `xff_num_trusted_hops`). 0: the caller is the TCP peer, and whatever a client says in those
    /// headers is only appended to.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub trusted_hops: u32,
    /// Clusters that Envoy signs with SigV4 although their address is not an AWS endpoint (a
    /// Lambda or AWS-service stand-in that checks signatures). Clusters at `*.amazonaws.com`
    /// are always signed; others never are unless named here, so a local stand-in never sees
    /// the credentials of Envoy's environment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signed_clusters: Vec<String>,
    /// Where methods without an integration URI go (`http://host:port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// An HTTPS listener next to the plain one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    /// `address:port` of the management listener (usage, cache flush); loopback by default.
    #[serde(default = "default_admin_listen")]
    pub admin_listen: String,
    /// `address:port` of Envoy's own admin page.
    #[serde(default = "default_envoy_admin")]
    pub envoy_admin: String,
    /// Addresses (`http://host:port`, `https://host`) of the Envoy clusters the config names
    /// (JWKS, Lambda functions, AWS services, integration hosts), where the config itself does
    /// not say or says otherwise.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub clusters: BTreeMap<String, String>,
    /// Where the access log's JSON lines go (a file Envoy appends to); stdout by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_log: Option<PathBuf>,
    /// The access log's line as AWS's `accessLogSettings.format` writes it (`$context.*`
    /// variables, CLF or JSON-shaped), or `json` for JSON lines with every field; AWS's CLF line
    /// with the key id and the error's response type when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_log_format: Option<String>,
    /// Per-method metrics (`envoy_tollgate_api_requests`, `_latency`, `_integration_latency`
    /// with the resource and method as labels), AWS's detailed CloudWatch metrics
    /// (`metricsEnabled`); off by default, as on AWS, since Envoy's stats access logger costs
    /// each request more than the rest of the key chain's logging.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub detailed_metrics: bool,
    /// Also count requests per API key id and response type
    /// (`envoy_tollgate_api_key_requests`): one series per key, so off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub metrics_per_key: bool,
    /// OpenTelemetry traces of the API's requests, sent by Envoy to an OTLP collector; none
    /// when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<Tracing>,
}

/// Where Envoy sends its spans, and how many requests it traces.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tracing {
    /// The OTLP collector: `http://host:4318` (OTLP/HTTP to `/v1/traces`, or the path given) or,
    /// with `protocol: grpc`, `http://host:4317`; `https://` for TLS.
    pub collector: String,
    /// `http/protobuf` (the default) or `grpc`, as `OTEL_EXPORTER_OTLP_PROTOCOL` names them.
    #[serde(default, skip_serializing_if = "OtlpProtocol::is_default")]
    pub protocol: OtlpProtocol,
    /// The share of requests traced, in percent (100 by default); a request whose
    /// `traceparent` says it is sampled is traced whatever this says.
    #[serde(default = "all_requests")]
    pub sampling_percent: f64,
    /// The spans' `service.name`; `tollgate-{api id}` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum OtlpProtocol {
    #[default]
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    #[serde(rename = "grpc")]
    Grpc,
}

impl OtlpProtocol {
    fn is_default(&self) -> bool {
        *self == OtlpProtocol::HttpProtobuf
    }
}

fn all_requests() -> f64 {
    100.0
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    pub listen: String,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Default for Gateway {
    fn default() -> Self {
        Gateway {
            listen: default_listen(),
            trusted_hops: 0,
            signed_clusters: Vec::new(),
            upstream: None,
            tls: None,
            admin_listen: default_admin_listen(),
            envoy_admin: default_envoy_admin(),
            clusters: BTreeMap::new(),
            access_log: None,
            access_log_format: None,
            detailed_metrics: false,
            metrics_per_key: false,
            tracing: None,
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:10000".into()
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn default_admin_listen() -> String {
    "127.0.0.1:9902".into()
}

fn default_envoy_admin() -> String {
    "127.0.0.1:9901".into()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub gateway: Gateway,
    pub config: Config,
}

/// JSON when the file name ends in `.json` or the text starts with `{`, YAML otherwise.
pub fn is_json(path: &Path, text: &str) -> bool {
    path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{')
}

impl Spec {
    /// Parses a spec; errors name the field path (`methods[2].http_method`).
    pub fn parse(path: &Path, text: &str) -> Result<Spec, String> {
        let mut value: serde_json::Value = if is_json(path, text) {
            serde_json::from_str(text).map_err(|e| format!("{}: {e}", path.display()))?
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| format!("{}: {e}", path.display()))?
        };
        let gateway = match value.as_object_mut().and_then(|o| o.remove("gateway")) {
            Some(g) => serde_json::from_value(g)
                .map_err(|e| format!("{}: gateway: {e}", path.display()))?,
            None => Gateway::default(),
        };
        let bytes = serde_json::to_vec(&value).map_err(|e| e.to_string())?;
        let config = Config::from_json(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Spec { gateway, config })
    }

    pub fn load(path: &Path) -> Result<Spec, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Spec::parse(path, &text)
    }

    /// The spec as one JSON document, `gateway` first.
    pub fn to_value(&self) -> Result<serde_json::Value, String> {
        let mut out = serde_json::Map::new();
        out.insert(
            "gateway".into(),
            serde_json::to_value(&self.gateway).map_err(|e| e.to_string())?,
        );
        if let serde_json::Value::Object(config) =
            serde_json::to_value(&self.config).map_err(|e| e.to_string())?
        {
            out.extend(config);
        }
        Ok(serde_json::Value::Object(out))
    }

    /// Writes the spec in the format its file name asks for, atomically (temp file + rename).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let value = self.to_value()?;
        let text = if path.extension().is_some_and(|e| e == "json") {
            serde_json::to_string_pretty(&value).map_err(|e| e.to_string())? + "\n"
        } else {
            serde_yaml_ng::to_string(&value).map_err(|e| e.to_string())?
        };
        write_atomically(path, text.as_bytes())
    }
}

impl Spec {
    /// Saves an edited spec over the file it was loaded from, changing only the top-level
    /// sections whose meaning changed: the rest keeps the user's own (terse) text.
    pub fn save_changes(&self, path: &Path) -> Result<(), String> {
        let (text, mut raw, json) = read_raw(path)?;
        let old = Spec::parse(path, &text)?.to_value()?;
        let new = self.to_value()?;
        let mut bare = serde_json::Map::new();
        bare.insert(
            "api".into(),
            serde_json::to_value(&self.config.api).map_err(|e| e.to_string())?,
        );
        let baseline =
            Spec::parse(Path::new("baseline.json"), &serde_json::Value::Object(bare).to_string())?
                .to_value()?;
        let (Some(raw_map), Some(old), Some(new), Some(baseline)) =
            (raw.as_object_mut(), old.as_object(), new.as_object(), baseline.as_object())
        else {
            return self.save(path);
        };
        for (key, value) in new {
            if old.get(key) == Some(value) {
                continue;
            }
            if !raw_map.contains_key(key) && baseline.get(key) == Some(value) {
                continue;
            }
            raw_map.insert(key.clone(), value.clone());
        }
        raw_map.retain(|key, _| new.contains_key(key));
        write_atomically(path, raw_text(&raw, json)?.as_bytes())
    }
}

/// A JSON or YAML file as written: its text, its document, and whether it is JSON.
pub fn read_raw(path: &Path) -> Result<(String, serde_json::Value, bool), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json = is_json(path, &text);
    let raw = if json {
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
    } else {
        serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
    };
    Ok((text, raw, json))
}

/// A document as JSON (pretty) or YAML text.
pub fn raw_text(raw: &serde_json::Value, json: bool) -> Result<String, String> {
    if json {
        Ok(serde_json::to_string_pretty(raw).map_err(|e| e.to_string())? + "\n")
    } else {
        serde_yaml_ng::to_string(raw).map_err(|e| e.to_string())
    }
}

/// Writes `bytes` to a temporary file next to `path`, then renames it over `path`, so a
/// reader (Envoy watching the directory) sees the old file or the new one, never half of one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| format!("{}: not a file name", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp{}", name.to_string_lossy(), std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_specs_read_the_same() {
        let yaml = "gateway: {listen: '0.0.0.0:8000', upstream: 'http://127.0.0.1:8080'}\n\
                    api: {id: pets}\nmethods: [{resource: /pets, http_method: GET}]\n";
        let a = Spec::parse(Path::new("a.yaml"), yaml).unwrap();
        let json = serde_json::to_string(&a.to_value().unwrap()).unwrap();
        let b = Spec::parse(Path::new("a.json"), &json).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.gateway.listen, "0.0.0.0:8000");
        assert_eq!(a.config.methods[0].resource, "/pets");
    }

    #[test]
    fn saving_changes_keeps_the_untouched_sections_as_written() {
        let dir = std::env::temp_dir().join(format!("tollgate-spec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("spec.yaml");
        std::fs::write(&path, "api: {id: pets}\nmethods: [{resource: /a, http_method: GET}]\n")
            .unwrap();
        let mut spec = Spec::load(&path).unwrap();
        spec.config.rate_limit_headers = true;
        spec.save_changes(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("rate_limit_headers: true"), "{text}");
        assert!(
            !text.contains("authorization_type") && !text.contains("account_throttle"),
            "{text}"
        );
        assert_eq!(Spec::load(&path).unwrap(), spec);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn errors_name_the_field() {
        let err = Spec::parse(Path::new("s.yaml"), "api: {id: x}\nmethods: [{resource: /a}]\n")
            .unwrap_err();
        assert!(err.contains("methods[0]"), "{err}");
        let err =
            Spec::parse(Path::new("s.yaml"), "gateway: {lisen: x}\napi: {id: x}\n").unwrap_err();
        assert!(err.contains("gateway") && err.contains("lisen"), "{err}");
    }
}
