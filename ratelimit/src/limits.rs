//! The limits this service enforces: read from the same filter config JSON Envoy loads, or the
//! Tollgate spec the CLI writes (YAML or JSON; its `gateway` section is ignored), and generated
//! by `tollgate-core` ([`service_limits`]), so the filter and the service read one source.

use std::path::{Path, PathBuf};

use tollgate_core::config::Config;
use tollgate_core::throttle::global::{service_limits, ServiceLimit};
use tollgate_core::throttle::rls::RateLimitDescriptor;

/// Reads one config file; errors name the file and the field.
pub fn read_config(path: &Path) -> Result<Config, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // YAML is a superset of JSON: one parser reads both (the CLI writes specs as YAML).
    let mut doc: serde_json::Value = serde_yaml_ng::from_slice(&bytes)
        .map_err(|e| format!("{}: not a JSON or YAML document: {e}", path.display()))?;
    if let Some(spec) = doc.as_object_mut() {
        spec.remove("gateway");
    }
    let bytes = serde_json::to_vec(&doc).map_err(|e| e.to_string())?;
    Config::from_json(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Every limit of every config, deduplicated (several Envoys' configs may share plans).
pub fn load(paths: &[PathBuf]) -> Result<Vec<ServiceLimit>, String> {
    let mut out: Vec<ServiceLimit> = Vec::new();
    for path in paths {
        let config = read_config(path)?;
        if config.rate_limit_service.is_none() {
            // A config that only reads keys from this service's key store sets no limits.
            if config.api_key_store.is_some() {
                continue;
            }
            return Err(format!(
                "{}: no `rate_limit_service` (or `api_key_store`)",
                path.display()
            ));
        }
        for limit in service_limits(&config) {
            match out.iter().find(|l| l.domain == limit.domain && l.name == limit.name) {
                Some(other) if *other != limit => {
                    return Err(format!(
                        "{}: limit `{}` differs from the same limit in an earlier config",
                        path.display(),
                        limit.name
                    ))
                }
                Some(_) => {}
                None => out.push(limit),
            }
        }
    }
    Ok(out)
}

/// The limit a descriptor falls under in `domain`: all its conditions hold and its variables
/// are present. The counter's Redis key names the limit and the variables' values.
pub fn find<'a>(
    limits: &'a [ServiceLimit],
    domain: &str,
    d: &RateLimitDescriptor,
) -> Option<(&'a ServiceLimit, String)> {
    let limit = limits.iter().find(|l| {
        l.domain == domain
            && l.conditions.iter().all(|(k, v)| d.get(k) == Some(v.as_str()))
            && l.variables.iter().all(|v| d.get(v).is_some())
    })?;
    let mut key = format!("tollgate:{}:{}", limit.domain.len(), limit.domain);
    key.push_str(&format!(":{}:{}", limit.name.len(), limit.name));
    for v in &limit.variables {
        let value = d.get(v).unwrap_or_default();
        key.push_str(&format!(":{}:{value}", value.len()));
    }
    Some((limit, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_core::throttle::rls::Entry;

    fn descriptor(entries: &[(&str, &str)]) -> RateLimitDescriptor {
        RateLimitDescriptor {
            entries: entries
                .iter()
                .map(|(k, v)| Entry { key: (*k).into(), value: (*v).into() })
                .collect(),
            hits_addend: None,
        }
    }

    #[test]
    fn a_config_becomes_limits_and_descriptors_find_them() {
        let dir = std::env::temp_dir().join(format!("tg-rl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.json");
        std::fs::write(
            &path,
            serde_json::json!({
                "api": {"id": "pets"},
                "methods": [{"resource": "/pets", "http_method": "GET", "api_key_required": true}],
                "usage_plans": [{"id": "fleet", "global": true,
                    "quota": {"limit": 100, "period": "DAY"},
                    "api_stages": [{"api_id": "pets", "stage": "prod"}]},
                    {"id": "local", "quota": {"limit": 5, "period": "DAY"}}],
                "rate_limit_service": {"cluster": "rl"},
                "gateway": {"anything": true}
            })
            .to_string(),
        )
        .unwrap();
        let limits = load(&[path.clone(), path]).unwrap();
        assert_eq!(limits.len(), 1);
        let d =
            descriptor(&[("plan", "fleet"), ("key", "k"), ("kind", "quota"), ("window", "86400")]);
        let (limit, key) = find(&limits, "tollgate", &d).unwrap();
        assert_eq!(
            (limit.max, key.as_str()),
            (100, "tollgate:8:tollgate:11:fleet:quota:1:k:5:86400")
        );
        assert!(find(&limits, "other", &d).is_none());
        assert!(find(&limits, "tollgate", &descriptor(&[("plan", "fleet")])).is_none());
        // The spec as `tollgate import` writes it: YAML.
        let yaml = dir.join("spec.yaml");
        std::fs::write(
            &yaml,
            "gateway: {listen: '127.0.0.1:10000'}\napi: {id: pets}\n\
             methods: [{resource: /pets, http_method: GET, api_key_required: true}]\n\
             usage_plans: [{id: fleet, global: true, quota: {limit: 100, period: DAY},\n\
             \x20 api_stages: [{api_id: pets, stage: prod}]}]\n\
             rate_limit_service: {cluster: rl}\n",
        )
        .unwrap();
        assert_eq!(load(&[yaml]).unwrap(), limits);
    }
}
