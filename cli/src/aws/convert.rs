//! An [`Account`] -> a gateway: one spec per REST API (its methods, all its stages) and a
//! gateway file with the account's API keys (hashed), usage plans and custom domains. Each API
//! is also reached as on AWS, at `{api id}.execute-api.{region}.amazonaws.com/{stage}/...`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};
use tollgate_core::apikey::hash_key_hex;
use tollgate_core::config::{
    ApiKey, Canary, Config, MethodCache, PlanStage, Quota, Stage, StageCache, Throttle, UsagePlan,
};

use super::{rebuild, text, Account, RestApi};
use crate::openapi::{import, Unhonoured};
use crate::spec::Gateway;

/// The gateway that an account becomes.
#[derive(Debug)]
pub struct Converted {
    pub gateway: Gateway,
    /// One config per API, in the account's order.
    pub apis: Vec<Config>,
    pub api_keys: Vec<ApiKey>,
    pub usage_plans: Vec<UsagePlan>,
    /// `{domain_name, base_path_mappings: [{base_path, api, stage}]}`, as the gateway file has
    /// them.
    pub domains: Vec<Value>,
    /// What the gateway does not do, or did not bring over, and why.
    pub report: Vec<Unhonoured>,
}

/// Turns `account` into a gateway listening on `listen` (the default listener when `None`).
pub fn convert(account: &Account, listen: Option<&str>) -> Result<Converted, String> {
    let mut report = Vec::new();
    let mut gateway = Gateway::default();
    if let Some(listen) = listen {
        gateway.listen = listen.to_string();
    }
    let mut apis = Vec::new();
    let mut domains = Vec::new();
    for api in &account.rest_apis {
        let Some((config, spec_gateway)) = api_config(account, api, &mut report)? else {
            continue;
        };
        gateway.clusters.extend(spec_gateway.clusters);
        let mut stages: Vec<&str> = config.stages.iter().map(|s| s.name.as_str()).collect();
        if stages.is_empty() {
            stages.push(&config.stage.name);
        }
        let mappings: Vec<Value> = stages
            .iter()
            .map(|s| json!({"base_path": s, "api": config.api.id, "stage": s}))
            .collect();
        domains.push(json!({
            "domain_name": format!("{}.execute-api.{}.amazonaws.com", config.api.id, account.region),
            "base_path_mappings": mappings,
        }));
        if let Some(format) = spec_gateway.access_log_format {
            match &gateway.access_log_format {
                None => gateway.access_log_format = Some(format),
                Some(first) if *first == format => {}
                Some(_) => report.push(unhonoured(
                    &format!("restapis.{}.stages.accessLogSettings.format", config.api.id),
                    "the gateway writes one access log line: the first API's format is used",
                )),
            }
        }
        apis.push(config);
    }
    let usage_plans = usage_plans(account, &apis, &mut report);
    let api_keys = api_keys(account, &usage_plans, &mut report);
    domains.extend(custom_domains(account, &apis, &mut report));
    Ok(Converted { gateway, apis, api_keys, usage_plans, domains, report })
}

fn unhonoured(at: &str, why: impl Into<String>) -> Unhonoured {
    Unhonoured { at: at.to_string(), why: why.into() }
}

/// One API with all its stages; `None` (reported) for an API that no stage serves.
fn api_config(
    account: &Account,
    api: &RestApi,
    report: &mut Vec<Unhonoured>,
) -> Result<Option<(Config, Gateway)>, String> {
    let id = text(&api.api, "id");
    let at = format!("restapis.{id}");
    let mut stages: Vec<&Value> = api.stages.iter().collect();
    stages.sort_by_key(|s| text(s, "stageName"));
    let Some(first) = stages.first() else {
        report
            .push(unhonoured(&at, "deployed to no stage, so AWS serves it nowhere: not imported"));
        return Ok(None);
    };
    let first_name = text(first, "stageName");
    let mut doc = document(api, &stages, &account.region, &at, report);
    pin_identity(&mut doc, id, &account.region, first_name);
    let options = import::Options {
        stage: Some(first_name.to_string()),
        region: Some(account.region.clone()),
        account_id: account.account_id.clone(),
        stage_variables: variables(first, "variables"),
        stage_cache: stages.iter().any(|s| s.get("cacheClusterEnabled") == Some(&json!(true))),
    };
    let imported = import::import(&doc, &options).map_err(|e| format!("{at}: {e}"))?;
    for line in imported.report {
        report.push(unhonoured(&format!("{at}.{}", line.at), line.why));
    }
    let mut config = imported.spec.config;
    let mut converted = Vec::with_capacity(stages.len());
    // A method's cache settings are the spec's, shared by its stages: they come from the first
    // stage that caches.
    let caching = stages.iter().position(|s| s.get("cacheClusterEnabled") == Some(&json!(true)));
    for (i, item) in stages.iter().enumerate() {
        let here = format!("{at}.stages.{}", text(item, "stageName"));
        converted.push(stage_of(item, &mut config, caching == Some(i), &here, report));
    }
    match converted.len() {
        1 => config.stage = converted.remove(0),
        _ => {
            config.stage = Stage::default();
            config.stages = converted;
        }
    }
    let bytes = serde_json::to_vec(&config).map_err(|e| e.to_string())?;
    tollgate_core::deployment::Deployment::from_json(&bytes)
        .map_err(|e| format!("{at}: the imported API does not pass validation: {e}"))?;
    // The access log line is the gateway's: the first stage's format that has one.
    let mut gateway = imported.spec.gateway;
    gateway.access_log_format = stages.iter().find_map(|s| {
        s.pointer("/accessLogSettings/format").and_then(Value::as_str).map(str::to_string)
    });
    Ok(Some((config, gateway)))
}

/// The document the API serves: a stage's export when the source has one with the API Gateway
/// extensions (the first stage's first), else the API rebuilt from its resources.
fn document(
    api: &RestApi,
    stages: &[&Value],
    region: &str,
    at: &str,
    report: &mut Vec<Unhonoured>,
) -> Value {
    let with_extensions: Vec<(&str, &Value)> = stages
        .iter()
        .filter_map(|s| {
            let name = text(s, "stageName");
            api.exports.get(name).filter(|d| has_extensions(d)).map(|d| (name, d))
        })
        .collect();
    if let Some((name, doc)) = with_extensions.first() {
        for (other, other_doc) in with_extensions.iter().skip(1) {
            if other_doc.get("paths") != doc.get("paths") {
                report.push(unhonoured(
                    &format!("{at}.stages.{other}"),
                    format!(
                        "deploys other methods than stage `{name}`; one spec serves one set of \
                         methods on every stage: `{name}`'s"
                    ),
                ));
            }
        }
        return (*doc).clone();
    }
    if !api.exports.is_empty() {
        report.push(unhonoured(
            at,
            "the export carries no API Gateway extensions (integrations): the API is rebuilt \
             from its resources, which may hold changes not yet deployed to its stages",
        ));
    } else if !api.resources.is_empty() {
        report.push(unhonoured(
            at,
            "built from the API's resources (GetResources), which may hold changes not yet \
             deployed to its stages; a stage's `get-export` document gives what it serves",
        ));
    }
    let first = stages.first().map(|s| text(s, "stageName")).unwrap_or("prod");
    rebuild::openapi(api, region, first)
}

/// Whether an OpenAPI document has any `x-amazon-apigateway-integration`.
fn has_extensions(doc: &Value) -> bool {
    let Some(Value::Object(paths)) = doc.get("paths") else { return false };
    paths
        .values()
        .filter_map(Value::as_object)
        .flat_map(|item| item.values())
        .any(|op| op.get("x-amazon-apigateway-integration").is_some())
}

/// Names the API's own id, region and stage in the document, whatever its servers said (a
/// template's body names none; an export's may be a custom domain).
fn pin_identity(doc: &mut Value, id: &str, region: &str, stage: &str) {
    let host = format!("{id}.execute-api.{region}.amazonaws.com");
    if doc.get("swagger").is_some() {
        doc["host"] = json!(host);
        doc["basePath"] = json!(format!("/{stage}"));
    } else {
        doc["servers"] = json!([{"url": format!("https://{host}/{stage}")}]);
    }
}

/// A map of strings (`variables`, `stageVariableOverrides`).
fn variables(item: &Value, field: &str) -> BTreeMap<String, String> {
    item.get(field)
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), crate::openapi::scalar(v))).collect())
        .unwrap_or_default()
}

/// A stage: variables, throttles and caching from its method settings, its canary. With
/// `method_caches`, its per-method cache settings go onto the methods.
fn stage_of(
    item: &Value,
    config: &mut Config,
    method_caches: bool,
    at: &str,
    report: &mut Vec<Unhonoured>,
) -> Stage {
    let mut stage = Stage {
        name: text(item, "stageName").to_string(),
        variables: variables(item, "variables"),
        ..Stage::default()
    };
    let settings = item.get("methodSettings").and_then(Value::as_object);
    let all = settings.and_then(|s| s.get("*/*"));
    for (key, setting) in settings.into_iter().flatten() {
        let throttle = throttle_of(setting, "throttlingRateLimit", "throttlingBurstLimit");
        let Some((resource, verb)) = method_of_setting(key) else {
            stage.throttle = throttle;
            continue;
        };
        if let Some(throttle) = throttle {
            if has_method(config, &resource, &verb) {
                stage.method_throttles.insert(throttle_key(&resource, &verb), throttle);
            } else {
                report.push(unhonoured(
                    &format!("{at}.methodSettings.{key}"),
                    "names no method of the API: its throttle is left out",
                ));
            }
        }
        let caching = setting.get("cachingEnabled").and_then(Value::as_bool);
        let ttl = setting.get("cacheTtlInSeconds").and_then(Value::as_u64);
        if !method_caches || (caching.is_none() && ttl.is_none()) {
            continue;
        }
        if caching == all.and_then(|a| a.get("cachingEnabled")).and_then(Value::as_bool)
            && ttl == all.and_then(|a| a.get("cacheTtlInSeconds")).and_then(Value::as_u64)
        {
            continue;
        }
        let method = config
            .methods
            .iter_mut()
            .find(|m| m.resource == resource && (m.http_method.eq_ignore_ascii_case(&verb)));
        match method {
            Some(method) => {
                let cache = method.cache.get_or_insert_with(MethodCache::default);
                cache.enabled = caching;
                cache.ttl_seconds = ttl.map(|t| u32::try_from(t).unwrap_or(u32::MAX));
            }
            None => report.push(unhonoured(
                &format!("{at}.methodSettings.{key}"),
                "names no method of the API",
            )),
        }
    }
    if item.get("cacheClusterEnabled").and_then(Value::as_bool) == Some(true) {
        let flag = |name: &str| all.and_then(|a| a.get(name)).and_then(Value::as_bool);
        // AWS caches only what `cachingEnabled` turns on; the cluster alone caches nothing.
        let mut cache = StageCache {
            enabled: flag("cachingEnabled").unwrap_or(false),
            ..StageCache::default()
        };
        if let Some(ttl) = all.and_then(|a| a.get("cacheTtlInSeconds")).and_then(Value::as_u64) {
            cache.ttl_seconds = u32::try_from(ttl).unwrap_or(u32::MAX);
        }
        if let Some(require) = flag("requireAuthorizationForCacheControl") {
            cache.require_authorization_for_cache_control = require;
        }
        if let Some(strategy) = all.and_then(|a| a.get("unauthorizedCacheControlHeaderStrategy")) {
            if let Ok(strategy) = serde_json::from_value(strategy.clone()) {
                cache.unauthorized_cache_control_header_strategy = strategy;
            }
        }
        stage.cache = Some(cache);
    }
    if let Some(canary) = item.get("canarySettings").filter(|c| c.is_object()) {
        stage.canary = Some(Canary {
            percent_traffic: canary.get("percentTraffic").and_then(Value::as_f64).unwrap_or(0.0),
            stage_variable_overrides: variables(canary, "stageVariableOverrides"),
            use_stage_cache: canary.get("useStageCache").and_then(Value::as_bool).unwrap_or(false),
        });
        if canary
            .get("deploymentId")
            .is_some_and(|d| d != item.get("deploymentId").unwrap_or(&Value::Null))
        {
            report.push(unhonoured(
                &format!("{at}.canarySettings.deploymentId"),
                "the canary's requests are served by the stage's methods; only its stage \
                 variables differ",
            ));
        }
    }
    for (field, why) in [
        ("clientCertificateId", "Envoy's cluster TLS settings present a client certificate"),
        ("webAclArn", "AWS WAF is not in front of the gateway"),
        ("tracingEnabled", "X-Ray traces are not sent: set gateway.tracing for OpenTelemetry"),
    ] {
        match item.get(field) {
            None | Some(Value::Null) | Some(Value::Bool(false)) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(_) => report.push(unhonoured(&format!("{at}.{field}"), why)),
        }
    }
    if item.pointer("/accessLogSettings/destinationArn").is_some_and(|d| !d.is_null()) {
        report.push(unhonoured(
            &format!("{at}.accessLogSettings.destinationArn"),
            "access log lines go to the gateway's access log (gateway.access_log), not to \
             CloudWatch Logs or Firehose",
        ));
    }
    stage
}

/// A method setting's key (`pets/GET`, `~1pets~1{id}/GET`, `/pets/GET`) as the resource
/// path and verb; `None` for the stage's default (`*/*`).
fn method_of_setting(key: &str) -> Option<(String, String)> {
    if key == "*/*" {
        return None;
    }
    let decoded = key.replace("~1", "/");
    let (path, verb) = decoded.rsplit_once('/')?;
    let path = format!("/{}", path.trim_start_matches('/'));
    Some((path, verb.to_ascii_uppercase()))
}

/// A method throttle's key as the config has it: `/pets/GET`, `/GET` for the root.
fn throttle_key(resource: &str, verb: &str) -> String {
    match resource {
        "/" => format!("/{verb}"),
        _ => format!("{resource}/{verb}"),
    }
}

/// Whether `config` has the method (`*`: any method of the resource).
fn has_method(config: &Config, resource: &str, verb: &str) -> bool {
    config.methods.iter().any(|m| {
        m.resource == resource && (verb == "*" || m.http_method.eq_ignore_ascii_case(verb))
    })
}

/// A throttle from a rate and a burst field; `None` when unset or negative (AWS's "none").
fn throttle_of(item: &Value, rate: &str, burst: &str) -> Option<Throttle> {
    let rate = item.get(rate).and_then(Value::as_f64).filter(|r| *r >= 0.0)?;
    let burst = item.get(burst).and_then(Value::as_i64).unwrap_or(0).max(0);
    Some(Throttle { rate, burst: u64::try_from(burst).unwrap_or(0) })
}

/// The usage plans with the stages of the imported APIs (a plan of none of them is left out).
fn usage_plans(account: &Account, apis: &[Config], report: &mut Vec<Unhonoured>) -> Vec<UsagePlan> {
    let stages_of = |api: &str| -> Option<Vec<String>> {
        let config = apis.iter().find(|c| c.api.id == api)?;
        Some(if config.stages.is_empty() {
            vec![config.stage.name.clone()]
        } else {
            config.stages.iter().map(|s| s.name.clone()).collect()
        })
    };
    let mut out = Vec::new();
    for entry in &account.usage_plans {
        let plan = &entry.plan;
        let id = text(plan, "id");
        let at = format!("usageplans.{id}");
        let mut api_stages = Vec::new();
        for stage in plan.get("apiStages").and_then(Value::as_array).into_iter().flatten() {
            let (api, name) = (text(stage, "apiId"), text(stage, "stage"));
            if !stages_of(api).is_some_and(|s| s.iter().any(|n| n == name)) {
                report.push(unhonoured(
                    &format!("{at}.apiStages.{api}:{name}"),
                    "no imported API has this stage: the plan does not cover it",
                ));
                continue;
            }
            let mut method_throttles = BTreeMap::new();
            for (key, throttle) in
                stage.get("throttle").and_then(Value::as_object).into_iter().flatten()
            {
                let Some((resource, verb)) = method_of_setting(key) else { continue };
                let Some(t) = throttle_of(throttle, "rateLimit", "burstLimit") else { continue };
                let config = apis.iter().find(|c| c.api.id == api);
                if config.is_some_and(|c| has_method(c, &resource, &verb)) {
                    method_throttles.insert(throttle_key(&resource, &verb), t);
                } else {
                    report.push(unhonoured(
                        &format!("{at}.apiStages.{api}:{name}.throttle.{key}"),
                        "names no method of the API: its throttle is left out",
                    ));
                }
            }
            api_stages.push(PlanStage {
                api_id: api.to_string(),
                stage: name.to_string(),
                method_throttles,
            });
        }
        if api_stages.is_empty() {
            continue;
        }
        let quota = plan.get("quota").filter(|q| q.is_object()).and_then(|q| {
            let limit = q.get("limit").and_then(Value::as_u64)?;
            let period = serde_json::from_value(q.get("period")?.clone()).ok()?;
            let offset = q.get("offset").and_then(Value::as_u64).unwrap_or(0);
            Some(Quota { limit, period, offset: u32::try_from(offset).unwrap_or(0) })
        });
        out.push(UsagePlan {
            id: id.to_string(),
            name: text(plan, "name").to_string(),
            throttle: plan.get("throttle").and_then(|t| throttle_of(t, "rateLimit", "burstLimit")),
            quota,
            api_stages,
            global: false,
        });
    }
    out
}

/// The API keys in the kept plans, each value hashed; a key without a value (listed without
/// `includeValues`) or in no kept plan is left out and reported.
fn api_keys(account: &Account, plans: &[UsagePlan], report: &mut Vec<Unhonoured>) -> Vec<ApiKey> {
    let mut out = Vec::new();
    let mut unplanned = 0;
    for key in &account.api_keys {
        let id = text(key, "id");
        let usage_plan_ids: Vec<String> = account
            .usage_plans
            .iter()
            .filter(|p| plans.iter().any(|kept| kept.id == text(&p.plan, "id")))
            .filter(|p| p.keys.iter().any(|k| text(k, "id") == id))
            .map(|p| text(&p.plan, "id").to_string())
            .collect();
        if usage_plan_ids.is_empty() {
            unplanned += 1;
            continue;
        }
        let value = text(key, "value");
        if value.is_empty() {
            report.push(unhonoured(
                &format!("apikeys.{id}.value"),
                "the key's value is not in the source (read keys with includeValues): not imported",
            ));
            continue;
        }
        out.push(ApiKey {
            id: id.to_string(),
            name: text(key, "name").to_string(),
            value_sha256: hash_key_hex(value.as_bytes()),
            enabled: key.get("enabled").and_then(Value::as_bool).unwrap_or(true),
            usage_plan_ids,
        });
    }
    if unplanned > 0 {
        report.push(unhonoured(
            "apikeys",
            format!(
                "{unplanned} key(s) in no usage plan of the imported APIs: not imported (AWS \
                 refuses a key outside the stage's plans too)"
            ),
        ));
    }
    out
}

/// The custom domain names with their mappings onto imported APIs.
fn custom_domains(account: &Account, apis: &[Config], report: &mut Vec<Unhonoured>) -> Vec<Value> {
    let mut out = Vec::new();
    for entry in &account.domain_names {
        let name = text(&entry.domain, "domainName");
        let at = format!("domainnames.{name}");
        let mut mappings = Vec::new();
        for mapping in &entry.mappings {
            let api = text(mapping, "restApiId");
            if !apis.iter().any(|c| c.api.id == api) {
                report.push(unhonoured(
                    &format!("{at}.basepathmappings.{}", text(mapping, "basePath")),
                    format!("maps API `{api}`, which is not imported"),
                ));
                continue;
            }
            let mut m = json!({"base_path": text(mapping, "basePath"), "api": api});
            if let Some(stage) = mapping.get("stage").and_then(Value::as_str) {
                m["stage"] = json!(stage);
            }
            mappings.push(m);
        }
        if ["certificateArn", "regionalCertificateArn"]
            .iter()
            .any(|f| entry.domain.get(*f).is_some())
        {
            report.push(unhonoured(
                &format!("{at}.certificate"),
                "an ACM certificate does not leave AWS: give the domain's `certificate` and \
                 `key` (PEM) in gateway.yaml, with gateway.tls, to serve it over TLS",
            ));
        }
        out.push(json!({"domain_name": name, "base_path_mappings": mappings}));
    }
    out
}

/// Writes the gateway into `dir`: `{api id}.yaml` per API and `gateway.yaml`, checked as
/// `render` reads them before anything is written. Returns the gateway file's path.
pub fn write(converted: &Converted, dir: &Path) -> Result<std::path::PathBuf, String> {
    if converted.apis.is_empty() {
        return Err("no REST API to import (none, or none deployed to a stage)".into());
    }
    let file = json!({
        "gateway": converted.gateway,
        "apis": converted.apis.iter().map(|c| json!({"spec": format!("{}.yaml", c.api.id)})).collect::<Vec<_>>(),
        "domains": converted.domains,
        "api_keys": converted.api_keys,
        "usage_plans": converted.usage_plans,
    });
    let text = serde_yaml_ng::to_string(&file).map_err(|e| e.to_string())?;
    let path = dir.join("gateway.yaml");
    let parsed = crate::gateway_file::GatewayFile::parse(&path, &text)?;
    let multi = crate::gateway_file::resolve(parsed, converted.apis.clone())?;
    for config in &multi.apis {
        crate::render::ecds::check(config)?;
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for config in &converted.apis {
        let spec = dir.join(format!("{}.yaml", config.api.id));
        let text = serde_yaml_ng::to_string(config).map_err(|e| e.to_string())?;
        crate::spec::write_atomically(&spec, text.as_bytes())?;
    }
    crate::spec::write_atomically(&path, text.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved_account() -> Account {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aws-account");
        super::super::folder::read(&dir, Some("eu-west-1"), &[]).unwrap()
    }

    fn at(report: &[Unhonoured], prefix: &str) -> Vec<String> {
        report.iter().filter(|u| u.at.starts_with(prefix)).map(|u| u.why.clone()).collect()
    }

    #[test]
    fn a_saved_account_becomes_apis_with_their_stages_keys_plans_and_domains() {
        let converted = convert(&saved_account(), None).unwrap();
        let ids: Vec<&str> = converted.apis.iter().map(|c| c.api.id.as_str()).collect();
        assert_eq!(ids, ["p3tsh0p", "0rd3r5xyz1"], "the undeployed API is left out");
        assert_eq!(at(&converted.report, "restapis.undep10yed").len(), 1);

        let petstore = &converted.apis[0];
        assert_eq!(petstore.api.region, "eu-west-1");
        assert_eq!(petstore.stage.name, "prod");
        assert_eq!(petstore.stage.variables["petstoreHost"], "petstore.example.com");
        assert_eq!(petstore.stage.throttle, Some(Throttle { rate: 100.0, burst: 200 }));
        assert_eq!(petstore.stage.method_throttles["/pets/POST"], Throttle { rate: 2.0, burst: 5 });
        assert!(petstore.methods.iter().any(|m| m.resource == "/pets/{petId}"));

        let orders = &converted.apis[1];
        let stages: Vec<&str> = orders.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(stages, ["dev", "prod"]);
        let (dev, prod) = (&orders.stages[0], &orders.stages[1]);
        assert_eq!(dev.variables["backend"], "orders-dev.internal:8080");
        let canary = dev.canary.as_ref().unwrap();
        assert_eq!(canary.percent_traffic, 10.0);
        assert_eq!(canary.stage_variable_overrides["backend"], "orders-canary.internal:8080");
        let cache = prod.cache.as_ref().unwrap();
        assert!(!cache.enabled, "caching is off for */*");
        assert_eq!(prod.throttle, Some(Throttle { rate: 50.0, burst: 100 }));
        let get = orders.methods.iter().find(|m| m.http_method == "GET").unwrap();
        assert!(get.api_key_required);
        let get_cache = get.cache.as_ref().unwrap();
        assert_eq!((get_cache.enabled, get_cache.ttl_seconds), (Some(true), Some(60)));
        assert_eq!(get_cache.key_parameters, ["method.request.querystring.status"]);
        assert_eq!(
            get.integration.as_ref().unwrap().uri.as_deref(),
            Some("http://${stageVariables.backend}/orders")
        );
        let post = orders.methods.iter().find(|m| m.http_method == "POST").unwrap();
        assert_eq!(post.request_validator.as_deref(), Some("body-only"));
        assert_eq!(post.request_models["application/json"], "Order");
        assert!(orders.gateway_responses.len() == 1, "only the API's own gateway response");
        assert_eq!(
            converted.gateway.access_log_format.as_deref(),
            Some("$context.requestId $context.identity.apiKeyId $context.status")
        );
        let orders_report = at(&converted.report, "restapis.0rd3r5xyz1");
        for needle in ["resources", "X-Ray", "CloudWatch", "canary's requests"] {
            assert!(
                orders_report.iter().any(|w| w.contains(needle)),
                "{needle}: {orders_report:?}"
            );
        }

        let [plan] = converted.usage_plans.as_slice() else {
            panic!("{:?}", converted.usage_plans)
        };
        assert_eq!(plan.api_stages.len(), 2, "the stage of an API not imported is dropped");
        assert_eq!(plan.quota.unwrap().limit, 1000);
        assert_eq!(plan.throttle, Some(Throttle { rate: 25.0, burst: 50 }));
        assert_eq!(
            plan.api_stages[0].method_throttles["/pets/GET"],
            Throttle { rate: 10.0, burst: 20 }
        );

        let keys: Vec<(&str, bool)> =
            converted.api_keys.iter().map(|k| (k.id.as_str(), k.enabled)).collect();
        assert_eq!(keys, [("k1a2b3c4d5", true), ("k9z8y7x6w5", false)]);
        assert_eq!(
            converted.api_keys[0].value_sha256,
            hash_key_hex(b"Pa55w0rdKeyForPartnerOne0001")
        );
        assert_eq!(at(&converted.report, "apikeys").len(), 1, "the key in no plan");

        let names: Vec<&str> =
            converted.domains.iter().filter_map(|d| d["domain_name"].as_str()).collect();
        assert_eq!(
            names,
            [
                "p3tsh0p.execute-api.eu-west-1.amazonaws.com",
                "0rd3r5xyz1.execute-api.eu-west-1.amazonaws.com",
                "api.example.com"
            ]
        );
        assert_eq!(converted.domains[2]["base_path_mappings"][0]["base_path"], "(none)");
        assert_eq!(at(&converted.report, "domainnames.api.example.com").len(), 1);
    }

    #[test]
    fn the_written_gateway_loads_as_render_reads_it_and_holds_no_key_value() {
        let converted = convert(&saved_account(), Some("127.0.0.1:18080")).unwrap();
        let dir = std::env::temp_dir().join(format!("tollgate-import-aws-{}", std::process::id()));
        let path = write(&converted, &dir).unwrap();
        let multi = crate::gateway_file::load(&path).unwrap();
        assert_eq!(multi.apis.len(), 2);
        crate::render::multi::bootstrap_value(&multi, &dir).expect("renders");
        assert_eq!(multi.domains.len(), 3);
        let orders = &multi.apis[1];
        assert_eq!(orders.api_keys.len(), 2, "the plan's keys reach each API of the plan");
        let mut written = String::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            written += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
        }
        assert!(!written.contains("Pa55w0rdKeyForPartnerOne0001"));
        assert!(written.contains(&hash_key_hex(b"Pa55w0rdKeyForPartnerOne0001")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn method_setting_keys_name_the_resource_and_verb() {
        assert_eq!(method_of_setting("*/*"), None);
        for key in ["pets/GET", "~1pets/GET", "/pets/get"] {
            assert_eq!(method_of_setting(key), Some(("/pets".into(), "GET".into())), "{key}");
        }
        assert_eq!(method_of_setting("/GET"), Some(("/".into(), "GET".into())));
        assert_eq!(throttle_key("/", "GET"), "/GET");
        assert_eq!(throttle_key("/pets", "GET"), "/pets/GET");
        assert_eq!(
            method_of_setting("~1pets~1{petId}/DELETE"),
            Some(("/pets/{petId}".into(), "DELETE".into()))
        );
    }
}
