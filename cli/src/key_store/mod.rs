//! `tollgate keys ... --store URL`: the API keys of a spec with `api_key_store`, kept in Redis
//! (the schema is [`tollgate_core::keystore`]'s) instead of in the spec's `api_keys`. The spec
//! is still read, to check the keys' usage plans exactly as for keys in the spec. Every write
//! is one Lua script, atomic in Redis, and a change to an existing key enters the change feed
//! that the filters poll, so it is live without a deploy. Values are never stored, only their
//! SHA-256.

mod store;

use std::collections::BTreeMap;
use std::path::Path;

use tollgate_core::apikey::hash_key_hex;
use tollgate_core::config::ApiKey;

use crate::key_file::{self, FileKey};
use clap::Args;

use crate::manage::{is_gateway_path, key_value, load_store, DeployTarget, KeysCommand};
use crate::spec::{raw_text, read_raw, Spec};
pub use store::Store;

/// Where a spec's API keys are: the spec itself, or the key store its `api_key_store` reads.
#[derive(Args, Debug, Clone)]
pub struct StoreArg {
    /// The key store (Redis) of a spec with `api_key_store`: `redis://HOST:PORT[/DB]`; default:
    /// the environment variable TOLLGATE_KEY_STORE. Changes there are live without --deploy.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

/// Where a changed key is applied: the spec (and `--deploy`), or the key store.
#[derive(Args, Debug, Clone)]
pub struct KeyTarget {
    #[command(flatten)]
    pub deploy: DeployTarget,
    #[command(flatten)]
    pub store: StoreArg,
}

/// The environment variable naming the key store when `--store` is not given.
pub const STORE_ENV: &str = "TOLLGATE_KEY_STORE";

/// The key store a keys command writes to, if the spec keeps its keys there: `Some(URL)`
/// when the spec has `api_key_store` and a store is named; `None` when it has neither; an
/// error when only one of the two is there, or with `--deploy` (nothing to deploy).
pub fn store_for(
    path: &Path,
    arg: &StoreArg,
    deploy: Option<&Path>,
) -> Result<Option<String>, String> {
    let named = match &arg.store {
        Some(url) => Some((url.clone(), "--store")),
        None => std::env::var(STORE_ENV).ok().filter(|v| !v.is_empty()).map(|v| (v, STORE_ENV)),
    };
    match (uses_store(path)?, named) {
        (false, None) => Ok(None),
        (true, None) => Err(format!(
            "{} keeps its API keys in the key store (`api_key_store`): name its Redis with \
             --store redis://HOST:PORT (or {STORE_ENV})",
            path.display()
        )),
        (false, Some((_, from))) => Err(format!(
            "{from} names a key store, but {} has no `api_key_store`: its gateway reads its \
             keys from the spec's `api_keys`, never from a key store (add `api_key_store`, or \
             {})",
            path.display(),
            if from == STORE_ENV { "unset TOLLGATE_KEY_STORE" } else { "leave out --store" }
        )),
        (true, Some((_, from))) if deploy.is_some() => Err(format!(
            "--deploy with the key store ({from}): keys in the key store take effect without \
             a deploy; leave out --deploy"
        )),
        (true, Some((url, _))) => Ok(Some(url)),
    }
}

/// Whether the spec (or an API of the gateway file) has `api_key_store`.
fn uses_store(path: &Path) -> Result<bool, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if crate::gateway_file::is_gateway_file(path, &text) {
        let multi = crate::gateway_file::load_text(path, &text)?;
        return Ok(multi.apis.iter().any(|c| c.api_key_store.is_some()));
    }
    Ok(Spec::parse(path, &text)?.config.api_key_store.is_some())
}

/// Checks `keys` as the spec's filter would see them in `api_keys` (their plans exist, and
/// one per API stage at most): the config compiled with them instead of `api_key_store`.
fn check_keys(path: &Path, keys: Vec<ApiKey>) -> Result<(), String> {
    if !is_gateway_path(path) {
        let mut config = Spec::load(path)?.config;
        config.api_keys = keys;
        config.api_key_store = None;
        return crate::render::ecds::check(&config).map(|_| ());
    }
    let (_, mut raw, json) = read_raw(path)?;
    let fields = raw.as_object_mut().ok_or_else(|| format!("{}: not a map", path.display()))?;
    fields.insert("api_keys".into(), serde_json::to_value(keys).map_err(|e| e.to_string())?);
    let multi = crate::gateway_file::load_text(path, &raw_text(&raw, json)?)?;
    for config in &multi.apis {
        let mut config = config.clone();
        config.api_key_store = None;
        crate::render::ecds::check(&config)?;
    }
    Ok(())
}

/// A keys command on the key store at `url`.
pub fn keys(command: KeysCommand, url: &str) -> Result<(), String> {
    match command {
        KeysCommand::Create { spec: path, id, name, plans, value, .. } => {
            if !tollgate_core::text::is_id(&id) {
                return Err(format!(
                    "--id `{id}`: an API key id is 1-128 characters of [A-Za-z0-9._~-]"
                ));
            }
            let value = key_value(value)?;
            let key = ApiKey {
                id: id.clone(),
                name,
                value_sha256: hash_key_hex(value.as_bytes()),
                enabled: true,
                usage_plan_ids: plans,
            };
            check_keys(&path, vec![key.clone()])
                .map_err(|e| format!("the key would make an invalid config: {e}"))?;
            Store::open(url)?.create(&key, "", now())?;
            eprintln!("created API key `{id}`; its value (shown only now):");
            println!("{value}");
            Ok(())
        }
        KeysCommand::Enable { id, .. } => set_enabled(url, &id, true),
        KeysCommand::Disable { id, .. } => set_enabled(url, &id, false),
        KeysCommand::Delete { id, .. } => {
            Store::open(url)?.delete(&id)?;
            eprintln!("deleted API key `{id}`");
            Ok(())
        }
        KeysCommand::Import { spec: path, file, .. } => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let keys = key_file::parse(&text).map_err(|e| format!("{}: {e}", file.display()))?;
            drop(text);
            check_import(&path, &file, &keys)?;
            let imported = Store::open(url)?.import(&keys, now())?;
            eprintln!("imported {} new API keys, updated {}", imported.added, imported.updated);
            Ok(())
        }
        KeysCommand::List { .. } => {
            let keys = Store::open(url)?.list()?;
            println!("{:<24} {:<8} {:<24} NAME", "ID", "STATE", "PLANS");
            for k in &keys {
                let state = if k.enabled { "enabled" } else { "disabled" };
                println!("{:<24} {:<8} {:<24} {}", k.id, state, k.plans, k.name);
            }
            Ok(())
        }
    }
}

fn set_enabled(url: &str, id: &str, enabled: bool) -> Result<(), String> {
    Store::open(url)?.set_enabled(id, enabled)?;
    eprintln!("API key `{id}` {}", if enabled { "enabled" } else { "disabled" });
    Ok(())
}

/// The imported keys' plans, checked as `keys import` checks them without a store: every plan
/// exists, and each distinct set of plans compiles (once: a million keys share a few sets).
fn check_import(path: &Path, file: &Path, keys: &[FileKey]) -> Result<(), String> {
    let spec = load_store(path)?;
    let mut sets: BTreeMap<&[String], &FileKey> = BTreeMap::new();
    for key in keys {
        if let Some(plan) =
            key.usage_plan_ids.iter().find(|p| !spec.config.usage_plans.iter().any(|u| &u.id == *p))
        {
            return Err(format!(
                "{}: line {}: UsagePlanIds: no usage plan `{plan}` in {}",
                file.display(),
                key.line,
                path.display()
            ));
        }
        sets.entry(&key.usage_plan_ids).or_insert(key);
    }
    for key in sets.into_values() {
        let probe = ApiKey {
            id: "imported".into(),
            name: String::new(),
            value_sha256: key.value_sha256.clone(),
            enabled: true,
            usage_plan_ids: key.usage_plan_ids.clone(),
        };
        check_keys(path, vec![probe]).map_err(|e| {
            let e = e.strip_prefix("api_keys[0].").unwrap_or(&e).to_string();
            format!("{}: line {}: UsagePlanIds: {e}", file.display(), key.line)
        })?;
    }
    Ok(())
}

/// Changes the usage plans of key `id` in the key store at `url` with `edit` (as `plans
/// add-key`, `remove-key` and `move-key` do in a spec), checked against the spec at `path`.
pub fn change_plans(
    path: &Path,
    url: &str,
    id: &str,
    edit: impl Fn(&mut Vec<String>) -> Result<(), String>,
) -> Result<(), String> {
    let mut store = Store::open(url)?;
    let (hash, key) = store.get(id)?;
    let mut plans = key.usage_plan_ids.clone();
    edit(&mut plans)?;
    let changed = ApiKey {
        id: id.to_string(),
        name: String::new(),
        value_sha256: hash.clone(),
        enabled: key.enabled,
        usage_plan_ids: plans.clone(),
    };
    check_keys(path, vec![changed])
        .map_err(|e| format!("the change would make an invalid config: {e}"))?;
    store.set_plans((id, &hash), &key.usage_plan_ids, &plans)
}

/// The ids of the keys in plan `plan` in the key store of the spec at `path` (none when it
/// keeps its keys in the spec): a plan they are in cannot be deleted.
pub fn plan_users(path: &Path, arg: &StoreArg, plan: &str) -> Result<Vec<String>, String> {
    let Some(url) = store_for(path, arg, None)? else { return Ok(Vec::new()) };
    let keys = Store::open(&url)?.list()?;
    let users = keys.into_iter().filter(|k| k.plans.split(',').any(|p| p == plan));
    Ok(users.map(|k| k.id).collect())
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
