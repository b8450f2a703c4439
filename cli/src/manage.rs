//! Managing a gateway's keys and usage plans: each command edits the spec (the source of truth),
//! checks it with the filter's own compiler, saves it atomically and, with `--deploy DIR`, writes
//! the filter config that the running Envoy watches there (ECDS), so the change is live within
//! a second without a restart. Usage and cache flushes go to the filter's management routes on
//! the admin listener.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};
use tollgate_core::admin::KEY_HEADER;
use tollgate_core::apikey::hash_key_hex;
use tollgate_core::config::{
    Admin, AdminKey, ApiKey, Config, PlanStage, Quota, Throttle, UsagePlan,
};
use tollgate_core::throttle::quota::Period;

use crate::gateway_file::{is_gateway_file, GatewayFile, MultiSpec};
use crate::key_store::{KeyTarget, StoreArg};
use crate::spec::{raw_text, read_raw, write_atomically, Spec};

/// Where a changed spec is applied.
#[derive(Args, Debug, Clone)]
pub struct DeployTarget {
    /// Also apply the change to the gateway rendered into this directory (`tollgate render`).
    #[arg(long, value_name = "DIR")]
    pub deploy: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create an API key; its value is printed once and only its SHA-256 is stored.
    Create {
        spec: PathBuf,
        #[arg(long)]
        id: String,
        #[arg(long, default_value = "")]
        name: String,
        /// A usage plan the key joins (repeatable).
        #[arg(long = "plan")]
        plans: Vec<String>,
        /// Use this value instead of a generated one (at least 20 characters, as on AWS).
        #[arg(long)]
        value: Option<String>,
        #[command(flatten)]
        target: KeyTarget,
    },
    /// Let a disabled key call again.
    Enable {
        spec: PathBuf,
        id: String,
        #[command(flatten)]
        target: KeyTarget,
    },
    /// Refuse a key (403) without deleting it.
    Disable {
        spec: PathBuf,
        id: String,
        #[command(flatten)]
        target: KeyTarget,
    },
    /// Delete a key.
    Delete {
        spec: PathBuf,
        id: String,
        #[command(flatten)]
        target: KeyTarget,
    },
    /// List the keys (ids, names, state, plans; never values).
    List {
        spec: PathBuf,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Import keys from API Gateway's API key file (CSV: Name, Key, Description, Enabled,
    /// UsagePlanIds); only the values' SHA-256 is stored. A key whose value is already in the
    /// spec (or the key store) is updated.
    Import {
        spec: PathBuf,
        /// The CSV file.
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        target: KeyTarget,
    },
}

/// A plan's limits as flags.
#[derive(Args, Debug, Clone, Default)]
pub struct PlanLimits {
    #[arg(long)]
    name: Option<String>,
    /// Steady-state requests per second per key.
    #[arg(long, requires = "burst")]
    rate: Option<f64>,
    /// Requests a key may make at once.
    #[arg(long, requires = "rate")]
    burst: Option<u64>,
    /// Requests per key per period.
    #[arg(long, requires = "period")]
    quota: Option<u64>,
    /// DAY, WEEK or MONTH.
    #[arg(long, requires = "quota")]
    period: Option<String>,
    /// Days after the period's start (WEEK: 0 = Sunday; MONTH: days after the 1st).
    #[arg(long)]
    offset: Option<u32>,
    /// An API stage the plan covers (`stage` of this spec's API, or `api:stage`; repeatable).
    #[arg(long = "stage")]
    stages: Vec<String>,
    /// Count the plan for the whole Envoy fleet in the rate-limit service (`true`/`false`;
    /// needs the spec's `rate_limit_service`).
    #[arg(long)]
    global: Option<bool>,
}

#[derive(Subcommand, Debug)]
pub enum PlansCommand {
    /// Create a usage plan (CreateUsagePlan).
    Create {
        spec: PathBuf,
        #[arg(long)]
        id: String,
        #[command(flatten)]
        limits: PlanLimits,
        #[command(flatten)]
        target: DeployTarget,
    },
    /// Change a usage plan's name, limits or stages (UpdateUsagePlan); other settings stay.
    Update {
        spec: PathBuf,
        #[arg(long)]
        id: String,
        #[command(flatten)]
        limits: PlanLimits,
        /// Remove the plan's throttle.
        #[arg(long, conflicts_with_all = ["rate", "burst"])]
        no_throttle: bool,
        /// Remove the plan's quota.
        #[arg(long, conflicts_with_all = ["quota", "period"])]
        no_quota: bool,
        #[command(flatten)]
        target: DeployTarget,
    },
    /// Delete a usage plan that no key uses.
    Delete {
        spec: PathBuf,
        id: String,
        #[command(flatten)]
        target: DeployTarget,
        /// With `api_key_store`: the key store whose keys must not use the plan.
        #[command(flatten)]
        store: StoreArg,
    },
    /// Add a key to a plan (CreateUsagePlanKey).
    AddKey {
        spec: PathBuf,
        plan: String,
        key: String,
        #[command(flatten)]
        target: KeyTarget,
    },
    /// Remove a key from a plan (DeleteUsagePlanKey).
    RemoveKey {
        spec: PathBuf,
        plan: String,
        key: String,
        #[command(flatten)]
        target: KeyTarget,
    },
    /// Move a key from one plan to another in one change (it is never without a plan).
    MoveKey {
        spec: PathBuf,
        key: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[command(flatten)]
        target: KeyTarget,
    },
    /// List the plans.
    List { spec: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum AdminKeysCommand {
    /// Create an admin key for the management routes; its value is printed once.
    Create {
        spec: PathBuf,
        #[arg(long)]
        id: String,
        #[command(flatten)]
        target: DeployTarget,
    },
    /// Delete an admin key.
    Delete {
        spec: PathBuf,
        id: String,
        #[command(flatten)]
        target: DeployTarget,
    },
}

/// How to reach the admin listener.
#[derive(Args, Debug, Clone)]
pub struct AdminTarget {
    /// The admin listener, `http://host:port` (default: the spec's `gateway.admin_listen`, else
    /// http://127.0.0.1:9902).
    #[arg(long)]
    admin: Option<String>,
    /// The spec whose `gateway.admin_listen` to use.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// The admin key; default: the environment variable TOLLGATE_ADMIN_KEY.
    #[arg(long, env = "TOLLGATE_ADMIN_KEY", hide_env_values = true)]
    admin_key: String,
}

impl AdminTarget {
    pub fn spec_path(&self) -> Option<&Path> {
        self.spec.as_deref()
    }
}

fn find_key<'a>(config: &'a mut Config, id: &str) -> Result<&'a mut ApiKey, String> {
    config.api_keys.iter_mut().find(|k| k.id == id).ok_or_else(|| format!("no API key `{id}`"))
}

fn find_plan<'a>(config: &'a mut Config, id: &str) -> Result<&'a mut UsagePlan, String> {
    config
        .usage_plans
        .iter_mut()
        .find(|p| p.id == id)
        .ok_or_else(|| format!("no usage plan `{id}`"))
}

/// A fresh key value: 40 characters of [A-Za-z0-9] (AWS's format), from the OS's generator.
pub fn generate_value() -> Result<String, String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(40);
    while out.len() < 40 {
        let mut bytes = [0u8; 64];
        getrandom::fill(&mut bytes).map_err(|e| format!("random: {e}"))?;
        // 248 = 4 * 62: rejecting above it keeps every character equally likely.
        for b in bytes.iter().filter(|&&b| b < 248) {
            if out.len() < 40 {
                out.push(char::from(ALPHABET[usize::from(*b) % 62]));
            }
        }
    }
    Ok(out)
}

/// The value of a key being created: the one given (at least 20 characters, as on AWS), else a
/// generated one.
pub(crate) fn key_value(value: Option<String>) -> Result<String, String> {
    match value {
        Some(v) if v.len() < 20 => Err("an API key value needs at least 20 characters".into()),
        Some(v) => Ok(v),
        None => generate_value(),
    }
}

/// The name a gateway file's keys and plans are edited under (as a spec without methods).
const GATEWAY_STORE: &str = "gateway";

/// The keys and plans kept in `path`: a spec's, or a gateway file's (which the gateway's APIs
/// share), read as a spec without methods.
pub(crate) fn load_store(path: &Path) -> Result<Spec, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !is_gateway_file(path, &text) {
        return Spec::parse(path, &text);
    }
    let file = GatewayFile::parse(path, &text)?;
    let doc = serde_json::json!({
        "api": {"id": GATEWAY_STORE},
        "api_keys": file.api_keys,
        "usage_plans": file.usage_plans,
    });
    let config = Config::from_json(doc.to_string().as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Spec { gateway: file.gateway, config })
}

/// Whether `path` is a gateway file (its keys and plans span its APIs).
pub(crate) fn is_gateway_path(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| is_gateway_file(path, &text))
}

/// Checks the changed config with the filter's compiler, saves the spec, and deploys it.
fn commit(path: &Path, spec: &Spec, target: &DeployTarget) -> Result<(), String> {
    if is_gateway_path(path) {
        return commit_gateway(path, spec, target);
    }
    crate::render::ecds::check(&spec.config)
        .map_err(|e| format!("the change would make an invalid config: {e}"))?;
    spec.save_changes(path)?;
    if let Some(dir) = &target.deploy {
        deploy(dir, &spec.config)?;
        eprintln!("deployed to {}", dir.display());
    }
    Ok(())
}

/// Saves a gateway file's changed keys and plans (the rest of the file as written) once every
/// API's config with them compiles, and deploys every API whose config changed.
fn commit_gateway(path: &Path, spec: &Spec, target: &DeployTarget) -> Result<(), String> {
    let (_, mut raw, json) = read_raw(path)?;
    let fields = raw.as_object_mut().ok_or_else(|| format!("{}: not a map", path.display()))?;
    let keys = serde_json::to_value(&spec.config.api_keys).map_err(|e| e.to_string())?;
    let plans = serde_json::to_value(&spec.config.usage_plans).map_err(|e| e.to_string())?;
    for (name, value) in [("api_keys", keys), ("usage_plans", plans)] {
        if value.as_array().is_some_and(Vec::is_empty) {
            fields.remove(name);
        } else {
            fields.insert(name.into(), value);
        }
    }
    let out = raw_text(&raw, json)?;
    let invalid = |e: String| format!("the change would make an invalid gateway: {e}");
    let multi = crate::gateway_file::load_text(path, &out).map_err(invalid)?;
    for config in &multi.apis {
        crate::render::ecds::check(config).map_err(invalid)?;
    }
    write_atomically(path, out.as_bytes())?;
    if let Some(dir) = &target.deploy {
        deploy_gateway(dir, &multi)?;
        eprintln!("deployed to {}", dir.display());
    }
    Ok(())
}

/// Applies a gateway file to the gateway rendered into `dir`, with the wasm module it runs:
/// only the files whose content changed are written, so only those APIs reload.
pub fn deploy_gateway(dir: &Path, multi: &MultiSpec) -> Result<(), String> {
    let code = running_code(dir)?;
    crate::render::multi::write(multi, dir, code).map(|_| ())
}

/// The wasm module (a file, or a URL and its hash) the gateway rendered into `dir` runs.
fn running_code(dir: &Path) -> Result<crate::render::remote::Code, String> {
    crate::render::remote::rendered_code(dir)
        .map_err(|e| format!("{e} (render the gateway there first)"))
}

/// Writes `config` as the filter config of the gateway rendered into `dir` (its ECDS file, with
/// the wasm module it already runs), replacing the file atomically: the running Envoy applies
/// it to new requests, requests in flight finish with the config they started with, and
/// counters in shared data carry on. The config is checked first: a bad one never lands.
pub fn deploy(dir: &Path, config: &Config) -> Result<(), String> {
    let code = running_code(dir)?;
    crate::render::write_ecds(dir, config, code).map(|_| ())
}

fn parse_period(text: &str) -> Result<Period, String> {
    serde_json::from_value(serde_json::Value::String(text.to_ascii_uppercase()))
        .map_err(|_| format!("period `{text}` is not DAY, WEEK or MONTH"))
}

fn plan_stage(spec: &Spec, text: &str) -> PlanStage {
    let (api, stage) = match text.split_once(':') {
        Some((api, stage)) => (api.to_string(), stage.to_string()),
        None => (spec.config.api.id.clone(), text.to_string()),
    };
    PlanStage { api_id: api, stage, method_throttles: Default::default() }
}

fn apply_limits(spec: &Spec, plan: &mut UsagePlan, limits: &PlanLimits) -> Result<(), String> {
    if let Some(name) = &limits.name {
        plan.name = name.clone();
    }
    if let (Some(rate), Some(burst)) = (limits.rate, limits.burst) {
        plan.throttle = Some(Throttle { rate, burst });
    }
    if let (Some(limit), Some(period)) = (limits.quota, &limits.period) {
        let offset = limits.offset.or(plan.quota.map(|q| q.offset)).unwrap_or(0);
        plan.quota = Some(Quota { limit, period: parse_period(period)?, offset });
    } else if let (Some(offset), Some(q)) = (limits.offset, plan.quota.as_mut()) {
        q.offset = offset;
    }
    if let Some(global) = limits.global {
        plan.global = global;
    }
    if !limits.stages.is_empty() {
        plan.api_stages = limits.stages.iter().map(|s| plan_stage(spec, s)).collect();
    }
    Ok(())
}

fn default_stages(spec: &Spec) -> Vec<PlanStage> {
    let names: Vec<String> = if spec.config.stages.is_empty() {
        vec![spec.config.stage.name.clone()]
    } else {
        spec.config.stages.iter().map(|s| s.name.clone()).collect()
    };
    names.iter().map(|s| plan_stage(spec, s)).collect()
}

impl KeysCommand {
    /// The spec (or gateway file) the command names, its `--store` and its `--deploy`.
    pub fn targets(&self) -> (&Path, &StoreArg, Option<&Path>) {
        match self {
            KeysCommand::Create { spec, target, .. }
            | KeysCommand::Enable { spec, target, .. }
            | KeysCommand::Disable { spec, target, .. }
            | KeysCommand::Delete { spec, target, .. }
            | KeysCommand::Import { spec, target, .. } => {
                (spec, &target.store, target.deploy.deploy.as_deref())
            }
            KeysCommand::List { spec, store } => (spec, store, None),
        }
    }
}

pub fn keys(command: KeysCommand) -> Result<(), String> {
    let (path, store, deploy) = command.targets();
    if let Some(store) = crate::key_store::store_for(path, store, deploy)? {
        return crate::key_store::keys(command, &store);
    }
    match command {
        KeysCommand::Create { spec: path, id, name, plans, value, target } => {
            let mut spec = load_store(&path)?;
            if spec.config.api_keys.iter().any(|k| k.id == id) {
                return Err(format!("API key `{id}` already exists"));
            }
            let value = key_value(value)?;
            spec.config.api_keys.push(ApiKey {
                id: id.clone(),
                name,
                value_sha256: hash_key_hex(value.as_bytes()),
                enabled: true,
                usage_plan_ids: plans,
            });
            commit(&path, &spec, &target.deploy)?;
            eprintln!("created API key `{id}`; its value (shown only now):");
            println!("{value}");
            Ok(())
        }
        KeysCommand::Enable { spec, id, target } => set_enabled(&spec, &id, &target.deploy, true),
        KeysCommand::Disable { spec, id, target } => set_enabled(&spec, &id, &target.deploy, false),
        KeysCommand::Delete { spec: path, id, target } => {
            let mut spec = load_store(&path)?;
            let before = spec.config.api_keys.len();
            spec.config.api_keys.retain(|k| k.id != id);
            if spec.config.api_keys.len() == before {
                return Err(format!("no API key `{id}`"));
            }
            commit(&path, &spec, &target.deploy)?;
            eprintln!("deleted API key `{id}`");
            Ok(())
        }
        KeysCommand::Import { spec: path, file, target } => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let keys =
                crate::key_file::parse(&text).map_err(|e| format!("{}: {e}", file.display()))?;
            let mut spec = load_store(&path)?;
            for key in &keys {
                if let Some(plan) = key
                    .usage_plan_ids
                    .iter()
                    .find(|p| !spec.config.usage_plans.iter().any(|u| &u.id == *p))
                {
                    return Err(format!(
                        "{}: line {}: UsagePlanIds: no usage plan `{plan}` in {}",
                        file.display(),
                        key.line,
                        path.display()
                    ));
                }
            }
            let (added, replaced) = crate::key_file::merge(&mut spec.config.api_keys, keys);
            commit(&path, &spec, &target.deploy)?;
            eprintln!("imported {added} new API keys, updated {replaced}");
            Ok(())
        }
        KeysCommand::List { spec: path, .. } => {
            let spec = load_store(&path)?;
            println!("{:<24} {:<8} {:<24} NAME", "ID", "STATE", "PLANS");
            for k in &spec.config.api_keys {
                let state = if k.enabled { "enabled" } else { "disabled" };
                println!("{:<24} {:<8} {:<24} {}", k.id, state, k.usage_plan_ids.join(","), k.name);
            }
            Ok(())
        }
    }
}

fn set_enabled(path: &Path, id: &str, target: &DeployTarget, enabled: bool) -> Result<(), String> {
    let mut spec = load_store(path)?;
    find_key(&mut spec.config, id)?.enabled = enabled;
    commit(path, &spec, target)?;
    eprintln!("API key `{id}` {}", if enabled { "enabled" } else { "disabled" });
    Ok(())
}

pub fn plans(command: PlansCommand) -> Result<(), String> {
    match command {
        PlansCommand::Create { spec: path, id, limits, target } => {
            let mut spec = load_store(&path)?;
            if limits.stages.is_empty() && is_gateway_path(&path) {
                return Err("a gateway file's plan names the API stages it covers: \
                            --stage API:STAGE (repeated)"
                    .into());
            }
            if spec.config.usage_plans.iter().any(|p| p.id == id) {
                return Err(format!("usage plan `{id}` already exists"));
            }
            let mut plan = UsagePlan {
                id: id.clone(),
                name: String::new(),
                throttle: None,
                quota: None,
                api_stages: default_stages(&spec),
                global: false,
            };
            apply_limits(&spec, &mut plan, &limits)?;
            spec.config.usage_plans.push(plan);
            commit(&path, &spec, &target)?;
            eprintln!("created usage plan `{id}`");
            Ok(())
        }
        PlansCommand::Update { spec: path, id, limits, no_throttle, no_quota, target } => {
            let mut spec = load_store(&path)?;
            let snapshot = spec.clone();
            let plan = find_plan(&mut spec.config, &id)?;
            apply_limits(&snapshot, plan, &limits)?;
            if no_throttle {
                plan.throttle = None;
            }
            if no_quota {
                plan.quota = None;
            }
            commit(&path, &spec, &target)?;
            eprintln!("updated usage plan `{id}`");
            Ok(())
        }
        PlansCommand::Delete { spec: path, id, target, store } => {
            let mut spec = load_store(&path)?;
            find_plan(&mut spec.config, &id)?;
            let mut users: Vec<String> = spec
                .config
                .api_keys
                .iter()
                .filter(|k| k.usage_plan_ids.contains(&id))
                .map(|k| k.id.clone())
                .collect();
            users.extend(crate::key_store::plan_users(&path, &store, &id)?);
            if !users.is_empty() {
                return Err(format!(
                    "usage plan `{id}` still has keys ({}): remove them first",
                    users.join(", ")
                ));
            }
            spec.config.usage_plans.retain(|p| p.id != id);
            commit(&path, &spec, &target)?;
            eprintln!("deleted usage plan `{id}`");
            Ok(())
        }
        PlansCommand::AddKey { spec: path, plan, key, target } => {
            let edit = |plans: &mut Vec<String>| {
                if plans.contains(&plan) {
                    return Err(format!("API key `{key}` is already in usage plan `{plan}`"));
                }
                plans.push(plan.clone());
                Ok(())
            };
            change_key_plans(&path, &key, (Some(&plan), edit), &target)?;
            eprintln!("added API key `{key}` to usage plan `{plan}`");
            Ok(())
        }
        PlansCommand::RemoveKey { spec: path, plan, key, target } => {
            let edit = |plans: &mut Vec<String>| {
                if !plans.contains(&plan) {
                    return Err(format!("API key `{key}` is not in usage plan `{plan}`"));
                }
                plans.retain(|p| *p != plan);
                Ok(())
            };
            change_key_plans(&path, &key, (None, edit), &target)?;
            eprintln!("removed API key `{key}` from usage plan `{plan}`");
            Ok(())
        }
        PlansCommand::MoveKey { spec: path, key, from, to, target } => {
            let edit = |plans: &mut Vec<String>| {
                let Some(slot) = plans.iter_mut().find(|p| **p == from) else {
                    return Err(format!("API key `{key}` is not in usage plan `{from}`"));
                };
                *slot = to.clone();
                Ok(())
            };
            change_key_plans(&path, &key, (Some(&to), edit), &target)?;
            eprintln!("moved API key `{key}` from usage plan `{from}` to `{to}`");
            Ok(())
        }
        PlansCommand::List { spec: path } => {
            let spec = load_store(&path)?;
            println!("{:<16} {:<16} {:<22} {:<6} STAGES", "ID", "THROTTLE", "QUOTA", "KEYS");
            for p in &spec.config.usage_plans {
                let throttle =
                    p.throttle.map_or("-".into(), |t| format!("{}/s burst {}", t.rate, t.burst));
                let quota =
                    p.quota.map_or("-".into(), |q| format!("{} per {:?}", q.limit, q.period));
                let keys = spec
                    .config
                    .api_keys
                    .iter()
                    .filter(|k| k.usage_plan_ids.contains(&p.id))
                    .count();
                let stages: Vec<String> =
                    p.api_stages.iter().map(|s| format!("{}:{}", s.api_id, s.stage)).collect();
                println!(
                    "{:<16} {:<16} {:<22} {:<6} {}",
                    p.id,
                    throttle,
                    quota,
                    keys,
                    stages.join(",")
                );
            }
            Ok(())
        }
    }
}

/// Changes the plans of key `id` with `edit`, in the spec or in its key store; `plan` (the plan
/// the key joins, if any) must exist.
fn change_key_plans(
    path: &Path,
    id: &str,
    (plan, edit): (Option<&String>, impl Fn(&mut Vec<String>) -> Result<(), String>),
    target: &KeyTarget,
) -> Result<(), String> {
    let mut spec = load_store(path)?;
    if let Some(plan) = plan {
        find_plan(&mut spec.config, plan)?;
    }
    let deploy = target.deploy.deploy.as_deref();
    if let Some(url) = crate::key_store::store_for(path, &target.store, deploy)? {
        return crate::key_store::change_plans(path, &url, id, edit);
    }
    edit(&mut find_key(&mut spec.config, id)?.usage_plan_ids)?;
    commit(path, &spec, &target.deploy)
}

pub fn admin_keys(command: AdminKeysCommand) -> Result<(), String> {
    match command {
        AdminKeysCommand::Create { spec: path, id, target } => {
            let mut spec = Spec::load(&path)?;
            let admin = spec.config.admin.get_or_insert_with(Admin::default);
            if admin.keys.iter().any(|k| k.id == id) {
                return Err(format!("admin key `{id}` already exists"));
            }
            let value = generate_value()?;
            admin
                .keys
                .push(AdminKey { id: id.clone(), value_sha256: hash_key_hex(value.as_bytes()) });
            commit(&path, &spec, &target)?;
            eprintln!("created admin key `{id}`; its value (shown only now; `export TOLLGATE_ADMIN_KEY=...`):");
            println!("{value}");
            Ok(())
        }
        AdminKeysCommand::Delete { spec: path, id, target } => {
            let mut spec = Spec::load(&path)?;
            let admin = spec.config.admin.get_or_insert_with(Admin::default);
            let before = admin.keys.len();
            admin.keys.retain(|k| k.id != id);
            if admin.keys.len() == before {
                return Err(format!("no admin key `{id}`"));
            }
            commit(&path, &spec, &target)?;
            eprintln!("deleted admin key `{id}`");
            Ok(())
        }
    }
}

/// One HTTP/1.1 request to the admin listener; (status, body).
fn call(target: &AdminTarget, method: &str, path: &str) -> Result<(u16, Vec<u8>), String> {
    let base = match (&target.admin, &target.spec) {
        (Some(url), _) => url.clone(),
        (None, Some(spec)) => format!("http://{}", load_store(spec)?.gateway.admin_listen),
        (None, None) => "http://127.0.0.1:9902".into(),
    };
    let authority = base
        .strip_prefix("http://")
        .ok_or_else(|| format!("{base}: the admin listener is reached with http://host:port"))?
        .trim_end_matches('/');
    let connect = authority.replace("0.0.0.0", "127.0.0.1");
    let mut stream =
        TcpStream::connect(&connect).map_err(|e| format!("admin listener {connect}: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {authority}\r\n{KEY_HEADER}: {}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        target.admin_key
    );
    stream.write_all(request.as_bytes()).map_err(|e| format!("admin listener: {e}"))?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| format!("admin listener: {e}"))?;
    let split =
        raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("admin listener: no HTTP response")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("admin listener: no HTTP status")?;
    Ok((status, raw[split + 4..].to_vec()))
}

fn checked(status: u16, body: &[u8]) -> Result<serde_json::Value, String> {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    if !(200..300).contains(&status) {
        let message = value["message"].as_str().unwrap_or("no message");
        return Err(format!("the gateway answered {status}: {message}"));
    }
    Ok(value)
}

/// GetUsage: a plan's (or one key's) used and remaining quota in the window now running.
pub fn usage(
    target: &AdminTarget,
    plan: &str,
    key: Option<&str>,
    json: bool,
) -> Result<(), String> {
    let mut path = format!("/usageplans/{plan}/usage");
    if let Some(key) = key {
        path.push_str(&format!("?keyId={key}"));
    }
    let (status, body) = call(target, "GET", &path)?;
    let value = checked(status, &body)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?);
        return Ok(());
    }
    println!(
        "usage plan {plan}: quota {} per {} ({} to {})",
        value["quota"]["limit"],
        value["quota"]["period"].as_str().unwrap_or("?"),
        value["startDate"].as_str().unwrap_or("?"),
        value["endDate"].as_str().unwrap_or("?")
    );
    println!("{:<24} {:>10} {:>10}", "KEY", "USED", "REMAINING");
    if let Some(items) = value["items"].as_object() {
        for (key, days) in items {
            println!("{:<24} {:>10} {:>10}", key, days[0][0], days[0][1]);
        }
    }
    Ok(())
}

/// FlushStageCache.
pub fn flush_cache(target: &AdminTarget, api: &str, stage: &str) -> Result<(), String> {
    let (status, body) =
        call(target, "DELETE", &format!("/restapis/{api}/stages/{stage}/cache/data"))?;
    checked(status, &body)?;
    eprintln!("flushed the cache of stage `{stage}`");
    Ok(())
}
