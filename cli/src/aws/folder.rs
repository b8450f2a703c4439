//! An account saved as files: what `aws apigateway get-...` prints, one answer per file.
//!
//! ```text
//! rest-apis.json                     get-rest-apis
//! {api id}/resources.json            get-resources --rest-api-id ID --embed methods
//! {api id}/stages.json               get-stages --rest-api-id ID
//! {api id}/export-{stage}.json       get-export --rest-api-id ID --stage-name STAGE
//!                                      --export-type oas30 --parameters extensions=apigateway FILE
//! {api id}/models.json               get-models --rest-api-id ID
//! {api id}/request-validators.json   get-request-validators --rest-api-id ID
//! {api id}/authorizers.json          get-authorizers --rest-api-id ID
//! {api id}/gateway-responses.json    get-gateway-responses --rest-api-id ID
//! api-keys.json                      get-api-keys --include-values
//! usage-plans.json                   get-usage-plans
//! usage-plan-keys-{plan id}.json     get-usage-plan-keys --usage-plan-id ID
//! domain-names.json                  get-domain-names
//! base-path-mappings-{domain}.json   get-base-path-mappings --domain-name NAME
//! ```
//!
//! Only `rest-apis.json` is needed; a missing file is an empty answer. An API with exports
//! needs no `resources.json`.

use std::path::Path;

use serde_json::Value;

use super::{items, text, Account, DomainName, RestApi, UsagePlan};

/// Reads the folder; `region` is the account's (else the exports', else us-east-1).
pub fn read(dir: &Path, region: Option<&str>, api_ids: &[String]) -> Result<Account, String> {
    let listed = answer(&dir.join("rest-apis.json"))?.ok_or_else(|| {
        format!(
            "{}: no rest-apis.json (the output of `aws apigateway get-rest-apis`)",
            dir.display()
        )
    })?;
    let mut account = Account::default();
    for api in items(&listed) {
        let id = text(&api, "id").to_string();
        if !api_ids.is_empty() && !api_ids.contains(&id) {
            continue;
        }
        if !tollgate_core::text::is_id(&id) {
            return Err(format!("rest-apis.json: `{id}` is not an API id"));
        }
        let api_dir = dir.join(&id);
        let list = |name: &str| -> Result<Vec<Value>, String> {
            Ok(answer(&api_dir.join(name))?.as_ref().map(items).unwrap_or_default())
        };
        let mut rest_api = RestApi {
            api,
            resources: list("resources.json")?,
            models: list("models.json")?,
            request_validators: list("request-validators.json")?,
            authorizers: list("authorizers.json")?,
            gateway_responses: list("gateway-responses.json")?,
            stages: list("stages.json")?,
            ..RestApi::default()
        };
        for stage in &rest_api.stages {
            let name = text(stage, "stageName");
            if let Some(doc) = answer(&api_dir.join(format!("export-{name}.json")))? {
                rest_api.exports.insert(name.to_string(), doc);
            }
        }
        account.rest_apis.push(rest_api);
    }
    for wanted in api_ids {
        if !account.rest_apis.iter().any(|a| text(&a.api, "id") == wanted) {
            return Err(format!("--api {wanted}: rest-apis.json lists no such API"));
        }
    }
    account.region = match region {
        Some(region) => region.to_string(),
        None => export_region(&account).unwrap_or_else(|| "us-east-1".into()),
    };
    let list = |name: &str| -> Result<Vec<Value>, String> {
        Ok(answer(&dir.join(name))?.as_ref().map(items).unwrap_or_default())
    };
    account.api_keys = list("api-keys.json")?;
    for plan in list("usage-plans.json")? {
        let keys = list(&format!("usage-plan-keys-{}.json", text(&plan, "id")))?;
        account.usage_plans.push(UsagePlan { plan, keys });
    }
    for domain in list("domain-names.json")? {
        let mappings = list(&format!("base-path-mappings-{}.json", text(&domain, "domainName")))?;
        account.domain_names.push(DomainName { domain, mappings });
    }
    Ok(account)
}

/// A JSON file, or `None` when there is no such file.
fn answer(path: &Path) -> Result<Option<Value>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{}: not the JSON `aws apigateway` prints: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// The region of the first export's execute-api server.
fn export_region(account: &Account) -> Option<String> {
    account.rest_apis.iter().flat_map(|a| a.exports.values()).find_map(|doc| {
        let url = doc.pointer("/servers/0/url").and_then(Value::as_str)?;
        let host = url.split("://").nth(1)?.split('/').next()?;
        let (_, region) = crate::openapi::identity::execute_api_host(host)?;
        tollgate_core::text::is_host_name(&region).then_some(region)
    })
}
