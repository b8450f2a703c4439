//! A whole API Gateway setup brought in at once: REST APIs with their stages, API keys, usage
//! plans, custom domains and base path mappings, from a live account (`client`), from the JSON
//! that `aws apigateway get-...` prints saved in a folder (`folder`), or from a SAM or
//! CloudFormation template (`template`). Every source fills one [`Account`] in the control
//! plane's own JSON shapes; [`convert`] turns it into a gateway file and one spec per API.

pub mod client;
pub mod convert;
pub mod folder;
pub mod rebuild;
pub mod settings;
pub mod template;

use serde_json::Value;

/// An API Gateway account (one region) as its control plane describes it. Every `Value` is one
/// item of a `Get*` answer in AWS's JSON shape (`{"id": ..., "name": ...}`), as the REST API
/// returns it and `aws apigateway` prints it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Account {
    pub region: String,
    /// The 12-digit account, when the source says (ARNs, `AWS::AccountId`).
    pub account_id: Option<String>,
    pub rest_apis: Vec<RestApi>,
    /// `GetApiKeys` with `includeValues=true`: each item's `value` is the key itself, hashed
    /// on the way into a spec and never written anywhere.
    pub api_keys: Vec<Value>,
    pub usage_plans: Vec<UsagePlan>,
    pub domain_names: Vec<DomainName>,
}

/// One REST API: `GetRestApi`'s item and what hangs off it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestApi {
    /// `{id, name, description, apiKeySource, binaryMediaTypes, minimumCompressionSize,
    /// policy, endpointConfiguration, ...}`.
    pub api: Value,
    /// OpenAPI documents of the API with the API Gateway extensions, by stage name
    /// (`GetExport` of type `oas30` with `extensions=apigateway` for each stage, or a
    /// template's `Body`/`DefinitionBody` under its stage's name). A stage's document is what
    /// that stage serves; without one the API is rebuilt from `resources`.
    pub exports: std::collections::BTreeMap<String, Value>,
    /// `GetResources` with `embed=methods`: each resource with its `resourceMethods`, each
    /// method with its `methodIntegration` and `methodResponses`.
    pub resources: Vec<Value>,
    /// `GetModels`.
    pub models: Vec<Value>,
    /// `GetRequestValidators`.
    pub request_validators: Vec<Value>,
    /// `GetAuthorizers`.
    pub authorizers: Vec<Value>,
    /// `GetGatewayResponses` (only those set on the API matter; defaults are the gateway's).
    pub gateway_responses: Vec<Value>,
    /// `GetStages`: `{stageName, variables, methodSettings, cacheClusterEnabled,
    /// canarySettings, accessLogSettings, tracingEnabled, ...}`.
    pub stages: Vec<Value>,
}

/// `GetUsagePlans`' item and `GetUsagePlanKeys`' items for it (`{id, type, name}`: `id` is
/// the API key's id).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsagePlan {
    pub plan: Value,
    pub keys: Vec<Value>,
}

/// `GetDomainNames`' item and `GetBasePathMappings`' items for it (`{basePath, restApiId,
/// stage}`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DomainName {
    pub domain: Value,
    pub mappings: Vec<Value>,
}

/// The items of a `Get*` answer: the REST API's `item` or the CLI's `items` (an answer with
/// neither has none).
pub fn items(answer: &Value) -> Vec<Value> {
    match answer.get("item").or_else(|| answer.get("items")) {
        Some(Value::Array(items)) => items.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// A string field of an item (`""` when absent or not a string).
pub fn text<'a>(item: &'a Value, field: &str) -> &'a str {
    item.get(field).and_then(Value::as_str).unwrap_or_default()
}

/// `tollgate import-aws`: where the account comes from and where the gateway goes.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Write the gateway here: `gateway.yaml` and one spec per API (`{api id}.yaml`).
    #[arg(long, value_name = "DIR")]
    pub out_dir: std::path::PathBuf,
    /// Read the JSON that `aws apigateway get-...` printed, saved in this folder (see the
    /// README for its files), instead of the live account.
    #[arg(long, value_name = "DIR", conflicts_with = "template")]
    pub from_dir: Option<std::path::PathBuf>,
    /// Read a SAM or CloudFormation template (YAML or JSON) instead of the live account.
    #[arg(long, value_name = "FILE")]
    pub template: Option<std::path::PathBuf>,
    /// A template parameter (`NAME=VALUE`, repeated); others take their `Default`.
    #[arg(long = "parameter", value_name = "NAME=VALUE", requires = "template")]
    pub parameters: Vec<String>,
    /// Only these REST APIs (by id, or a template's logical id; repeated).
    #[arg(long = "api", value_name = "ID")]
    pub api_ids: Vec<String>,
    /// The AWS profile of the shared config and credentials files (live account).
    #[arg(long)]
    pub profile: Option<String>,
    /// The AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region).
    #[arg(long)]
    pub region: Option<String>,
    /// The API Gateway endpoint (default: AWS_ENDPOINT_URL_API_GATEWAY, AWS_ENDPOINT_URL,
    /// https://apigateway.{region}.amazonaws.com).
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// The 12-digit account, for ARNs and a template's `AWS::AccountId`.
    #[arg(long)]
    pub account_id: Option<String>,
    /// `address:port` of the gateway's listener (default 127.0.0.1:10000).
    #[arg(long)]
    pub listen: Option<String>,
    /// Fail (and write nothing) when any part of the account cannot be honoured.
    #[arg(long)]
    pub strict: bool,
}

/// Reads the account, converts it, reports what is not honoured and writes the gateway.
pub fn import_command(args: ImportArgs) -> Result<(), String> {
    if let Some(account) = &args.account_id {
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("--account-id: `{account}` is not a 12-digit AWS account id"));
        }
    }
    let mut report = Vec::new();
    let mut account = if let Some(dir) = &args.from_dir {
        folder::read(dir, args.region.as_deref(), &args.api_ids)?
    } else if let Some(path) = &args.template {
        let mut parameters = std::collections::BTreeMap::new();
        for pair in &args.parameters {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("--parameter: `{pair}` is not NAME=VALUE"))?;
            parameters.insert(name.to_string(), value.to_string());
        }
        let options = template::Options {
            parameters,
            region: args.region.clone(),
            account_id: args.account_id.clone(),
            stack_name: None,
        };
        let (mut account, template_report) = template::read(path, &options)?;
        report.extend(template_report);
        if !args.api_ids.is_empty() {
            account.rest_apis.retain(|a| args.api_ids.iter().any(|id| id == text(&a.api, "id")));
        }
        account
    } else {
        let source = client::Source {
            profile: args.profile.clone(),
            region: args.region.clone(),
            endpoint_url: args.endpoint_url.clone(),
        };
        client::fetch(&source, &args.api_ids)?
    };
    if args.account_id.is_some() {
        account.account_id = args.account_id.clone();
    }
    let converted = convert::convert(&account, args.listen.as_deref())?;
    report.extend(converted.report.iter().cloned());
    for line in &report {
        eprintln!("{line}");
    }
    if args.strict && !report.is_empty() {
        return Err(format!(
            "{} part(s) of the account cannot be honoured (--strict); nothing written",
            report.len()
        ));
    }
    let path = convert::write(&converted, &args.out_dir)?;
    // What render will say of it (a cluster two stages reach at different ports, say): the
    // files are written, to be edited.
    let renders = crate::gateway_file::load(&path)
        .and_then(|multi| crate::render::multi::bootstrap_value(&multi, &args.out_dir));
    if let Err(e) = renders {
        eprintln!(
            "warning: `tollgate render` will refuse this gateway until {} is edited: {e}",
            path.display()
        );
    }
    eprintln!(
        "{} API(s), {} stage(s), {} usage plan(s), {} API key(s), {} domain(s) -> {}",
        converted.apis.len(),
        converted.apis.iter().map(|c| c.stages.len().max(1)).sum::<usize>(),
        converted.usage_plans.len(),
        converted.api_keys.len(),
        converted.domains.len(),
        path.display()
    );
    Ok(())
}
