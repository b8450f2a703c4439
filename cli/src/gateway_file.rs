//! The gateway file: several APIs behind one Envoy, reached through custom domain names and
//! their base path mappings (AWS `DomainName` and `BasePathMapping`). JSON or YAML; told apart
//! from a spec by its top-level `apis` (a spec never has one).
//!
//! ```yaml
//! gateway: {listen: "127.0.0.1:10000", upstream: "http://127.0.0.1:8080"}
//! apis: [{spec: orders-v1.yaml}, {spec: billing.yaml}]
//! domains:
//!   - domain_name: api.example.com
//!     base_path_mappings:
//!       - {base_path: v1, api: orders-v1, stage: prod}
//!       - {base_path: billing, api: billing}
//! health_checks: [/healthz]
//! ```
//!
//! The specs are ordinary specs without a `gateway` section (the gateway file's is shared);
//! each API's filter config gets the base path mappings of the domains that map it.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tollgate_core::config::{ApiKey, BasePathMapping, Config, UsagePlan};

use crate::spec::{is_json, Gateway, Spec};

/// The file as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayFile {
    /// Envoy's listeners, upstream, clusters, logs: shared by every API.
    #[serde(default)]
    pub gateway: Gateway,
    pub apis: Vec<ApiEntry>,
    #[serde(default)]
    pub domains: Vec<Domain>,
    /// Exact paths that Envoy answers with 200 itself on every domain (load balancer checks).
    #[serde(default)]
    pub health_checks: Vec<String>,
    /// API keys of every API (AWS keeps keys per account and region, not per API): each API's
    /// filter gets the keys that are in one of its plans.
    #[serde(default)]
    pub api_keys: Vec<ApiKey>,
    /// Usage plans whose `api_stages` may name several APIs: each API's filter gets the plans
    /// that name it, and one key counts one quota across them.
    #[serde(default)]
    pub usage_plans: Vec<UsagePlan>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiEntry {
    /// The API's spec, relative to the gateway file.
    pub spec: PathBuf,
}

/// A custom domain name.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    pub domain_name: String,
    /// The domain's certificate chain (PEM) on the TLS listener; needs `key`.
    #[serde(default)]
    pub certificate: Option<PathBuf>,
    #[serde(default)]
    pub key: Option<PathBuf>,
    #[serde(default)]
    pub base_path_mappings: Vec<Mapping>,
}

/// One base path of a domain, mapped to a stage of an API.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// `v1`, `orders/v2`; `(none)` (or empty) for the domain's root.
    #[serde(default)]
    pub base_path: String,
    /// The API's `api.id`.
    pub api: String,
    /// The stage; the spec's stage when it has one.
    #[serde(default)]
    pub stage: Option<String>,
}

/// A gateway file with its specs read and checked, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiSpec {
    pub gateway: Gateway,
    /// In the file's order; each config with its base path mappings.
    pub apis: Vec<Config>,
    pub domains: Vec<RoutedDomain>,
    pub health_checks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoutedDomain {
    /// Lowercase.
    pub name: String,
    /// Certificate chain and key.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The longest base path first.
    pub mappings: Vec<Route>,
}

/// A base path of a domain, as Envoy routes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `/v1`, `/orders/v2`; `""` for the root.
    pub prefix: String,
    /// Index into [`MultiSpec::apis`].
    pub api: usize,
    pub stage: String,
}

/// Whether `text` is a gateway file (a top-level `apis`) rather than a spec.
pub fn is_gateway_file(path: &Path, text: &str) -> bool {
    let value: Option<serde_json::Value> = if is_json(path, text) {
        serde_json::from_str(text).ok()
    } else {
        serde_yaml_ng::from_str(text).ok()
    };
    value.as_ref().and_then(|v| v.get("apis")).is_some()
}

impl GatewayFile {
    /// Parses a gateway file; errors name the field path (`domains[0].base_path_mappings`).
    pub fn parse(path: &Path, text: &str) -> Result<GatewayFile, String> {
        let at = |e: String| format!("{}: {e}", path.display());
        if is_json(path, text) {
            let mut de = serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(&mut de).map_err(|e| at(field_error(e)))
        } else {
            let de = serde_yaml_ng::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de).map_err(|e| at(field_error(e)))
        }
    }
}

fn field_error<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> String {
    let path = e.path().to_string();
    if path == "." {
        e.into_inner().to_string()
    } else {
        format!("{path}: {}", e.into_inner())
    }
}

/// Reads a gateway file and its specs. Relative file names (specs, certificates, the access
/// log) are taken from the gateway file's directory.
pub fn load(path: &Path) -> Result<MultiSpec, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    load_text(path, &text)
}

/// [`load`] of the gateway file `path` that reads `text`.
pub fn load_text(path: &Path, text: &str) -> Result<MultiSpec, String> {
    let mut file = GatewayFile::parse(path, text)?;
    let base = path.parent().unwrap_or(Path::new(""));
    let absolute = |p: &mut PathBuf| -> Result<(), String> {
        if p.is_relative() {
            *p =
                std::path::absolute(base.join(&*p)).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        Ok(())
    };
    if let Some(log) = &mut file.gateway.access_log {
        absolute(log)?;
    }
    if let Some(tls) = &mut file.gateway.tls {
        absolute(&mut tls.cert)?;
        absolute(&mut tls.key)?;
    }
    for domain in &mut file.domains {
        for p in domain.certificate.iter_mut().chain(domain.key.iter_mut()) {
            absolute(p)?;
        }
    }
    let mut configs = Vec::with_capacity(file.apis.len());
    for (i, entry) in file.apis.iter().enumerate() {
        let spec = base.join(&entry.spec);
        let text = std::fs::read_to_string(&spec)
            .map_err(|e| format!("apis[{i}].spec: {}: {e}", spec.display()))?;
        configs.push(spec_config(&spec, &text, path)?);
    }
    resolve(file, configs)
}

/// A spec of a gateway file: its filter config (a `gateway` section is refused).
pub fn spec_config(spec: &Path, text: &str, gateway_file: &Path) -> Result<Config, String> {
    let value: serde_json::Value = if is_json(spec, text) {
        serde_json::from_str(text).map_err(|e| format!("{}: {e}", spec.display()))?
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| format!("{}: {e}", spec.display()))?
    };
    for (key, what) in [
        ("gateway", "the gateway is shared: put it in the gateway file"),
        ("base_path_mappings", "map base paths in the gateway file's domains[].base_path_mappings"),
    ] {
        if value.get(key).is_some() {
            return Err(format!(
                "{}: {key}: a spec named by a gateway file ({}) has none; {what}",
                spec.display(),
                gateway_file.display()
            ));
        }
    }
    Ok(Spec::parse(spec, text)?.config)
}

/// Checks the file against its specs' configs (in `apis` order) and gives each config its base
/// path mappings.
pub fn resolve(file: GatewayFile, mut configs: Vec<Config>) -> Result<MultiSpec, String> {
    if file.apis.is_empty() {
        return Err("apis: name at least one spec".into());
    }
    for (i, config) in configs.iter().enumerate() {
        if let Some(first) = configs[..i].iter().position(|c| c.api.id == config.api.id) {
            return Err(format!(
                "apis[{i}].spec ({}): API id `{}` is also the id of apis[{first}].spec ({}); \
                 each API needs its own api.id",
                file.apis[i].spec.display(),
                config.api.id,
                file.apis[first].spec.display()
            ));
        }
    }
    let ids: Vec<&str> = configs.iter().map(|c| c.api.id.as_str()).collect();
    let mut domains: Vec<RoutedDomain> = Vec::with_capacity(file.domains.len());
    for (d, domain) in file.domains.iter().enumerate() {
        let name = domain.domain_name.to_ascii_lowercase();
        if !tollgate_core::text::is_host_name(&name) {
            return Err(format!(
                "domains[{d}].domain_name: `{}` is not a host name (labels of letters, digits \
                 and `-`, separated by `.`)",
                domain.domain_name
            ));
        }
        if domains.iter().any(|o| o.name == name) {
            return Err(format!("domains[{d}].domain_name: `{name}` is named twice"));
        }
        let tls = match (&domain.certificate, &domain.key) {
            (Some(cert), Some(key)) if file.gateway.tls.is_some() => {
                Some((cert.clone(), key.clone()))
            }
            (Some(_), Some(_)) => {
                return Err(format!(
                    "domains[{d}].certificate: there is no TLS listener to serve it on: set \
                     gateway.tls"
                ))
            }
            (Some(_), None) => {
                return Err(format!("domains[{d}].certificate: has no key (domains[{d}].key)"))
            }
            (None, Some(_)) => {
                return Err(format!(
                    "domains[{d}].key: has no certificate (domains[{d}].certificate)"
                ))
            }
            (None, None) => None,
        };
        let mut mappings: Vec<Route> = Vec::with_capacity(domain.base_path_mappings.len());
        for (m, mapping) in domain.base_path_mappings.iter().enumerate() {
            let field = |name: &str| format!("domains[{d}].base_path_mappings[{m}].{name}");
            let prefix = tollgate_core::deployment::base_path_prefix(&mapping.base_path)
                .ok_or_else(|| format!("{}: `{}` is not a base path: segments of letters, digits and $-_.+!*'() separated by `/`, or `(none)`", field("base_path"), mapping.base_path))?;
            if mappings.iter().any(|o| o.prefix == prefix) {
                return Err(format!(
                    "{}: `{}` is mapped twice on {name}",
                    field("base_path"),
                    mapping.base_path
                ));
            }
            let api = ids.iter().position(|id| *id == mapping.api).ok_or_else(|| {
                format!(
                    "{}: no API `{}` among the specs (their api.id: {})",
                    field("api"),
                    mapping.api,
                    ids.join(", ")
                )
            })?;
            let config = &configs[api];
            let stages: Vec<&str> = if config.stages.is_empty() {
                vec![config.stage.name.as_str()]
            } else {
                config.stages.iter().map(|s| s.name.as_str()).collect()
            };
            let stage = match &mapping.stage {
                Some(stage) if stages.contains(&stage.as_str()) => stage.clone(),
                Some(stage) => {
                    return Err(format!(
                        "{}: API `{}` has no stage `{stage}` (its stages: {})",
                        field("stage"),
                        mapping.api,
                        stages.join(", ")
                    ))
                }
                None => match stages.as_slice() {
                    [one] => one.to_string(),
                    _ => {
                        return Err(format!(
                            "{}: API `{}` has several stages ({}): name one",
                            field("stage"),
                            mapping.api,
                            stages.join(", ")
                        ))
                    }
                },
            };
            mappings.push(Route { prefix, api, stage });
        }
        mappings.sort_by_key(|m| std::cmp::Reverse(m.prefix.len()));
        domains.push(RoutedDomain { name, tls, mappings });
    }
    for (i, path) in file.health_checks.iter().enumerate() {
        let ok = path.starts_with('/') && !path.contains(['?', '#', ' ']);
        if !ok {
            return Err(format!("health_checks[{i}]: `{path}` is not a path (`/healthz`)"));
        }
    }
    share_keys_and_plans(&file, &mut configs)?;
    for domain in &domains {
        for route in &domain.mappings {
            let base_path = route.prefix.trim_start_matches('/');
            configs[route.api].base_path_mappings.push(BasePathMapping {
                domain_name: Some(domain.name.clone()),
                base_path: if base_path.is_empty() { "(none)".into() } else { base_path.into() },
                stage: route.stage.clone(),
            });
        }
    }
    Ok(MultiSpec {
        gateway: file.gateway,
        apis: configs,
        domains,
        health_checks: file.health_checks,
    })
}

/// Gives each API the gateway's plans that name it and the keys in those plans (each key with
/// only those plans). A plan naming no API of the file, a key in an unknown plan, or a plan or
/// key id that a spec also defines is an error.
fn share_keys_and_plans(file: &GatewayFile, configs: &mut [Config]) -> Result<(), String> {
    let ids: Vec<String> = configs.iter().map(|c| c.api.id.clone()).collect();
    for (p, plan) in file.usage_plans.iter().enumerate() {
        if file.usage_plans[..p].iter().any(|o| o.id == plan.id) {
            return Err(format!("usage_plans[{p}].id: `{}` is defined twice", plan.id));
        }
        for (s, stage) in plan.api_stages.iter().enumerate() {
            if !ids.contains(&stage.api_id) {
                return Err(format!(
                    "usage_plans[{p}].api_stages[{s}].api_id: no API `{}` among the specs \
                     (their api.id: {})",
                    stage.api_id,
                    ids.join(", ")
                ));
            }
        }
    }
    for (k, key) in file.api_keys.iter().enumerate() {
        if file.api_keys[..k].iter().any(|o| o.id == key.id) {
            return Err(format!("api_keys[{k}].id: `{}` is defined twice", key.id));
        }
        for plan in &key.usage_plan_ids {
            if !file.usage_plans.iter().any(|p| &p.id == plan) {
                return Err(format!("api_keys[{k}].usage_plan_ids: no usage plan `{plan}`"));
            }
        }
    }
    for (i, config) in configs.iter_mut().enumerate() {
        let plans: Vec<&UsagePlan> = file
            .usage_plans
            .iter()
            .filter(|p| p.api_stages.iter().any(|s| s.api_id == config.api.id))
            .collect();
        for plan in &plans {
            if config.usage_plans.iter().any(|p| p.id == plan.id) {
                return Err(format!(
                    "usage_plans: `{}` is also defined in apis[{i}].spec: define it once",
                    plan.id
                ));
            }
        }
        for key in &file.api_keys {
            let mine: Vec<String> = key
                .usage_plan_ids
                .iter()
                .filter(|id| plans.iter().any(|p| &&p.id == id))
                .cloned()
                .collect();
            if mine.is_empty() {
                continue;
            }
            if config.api_keys.iter().any(|k| k.id == key.id) {
                return Err(format!(
                    "api_keys: `{}` is also defined in apis[{i}].spec: define it once",
                    key.id
                ));
            }
            config.api_keys.push(ApiKey { usage_plan_ids: mine, ..key.clone() });
        }
        config.usage_plans.extend(plans.into_iter().cloned());
    }
    Ok(())
}
