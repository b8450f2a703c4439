//! OpenAPI 3.0 / 3.1 and Swagger 2.0 documents with the `x-amazon-apigateway-*` extensions, to
//! and from Tollgate specs: `tollgate import` and `tollgate export`.
//!
//! Import reads the document as plain JSON (`serde_json::Value`, YAML included) and walks it;
//! whatever the gateway cannot do is reported by where it is, never dropped silently. Names the
//! document does not give are derived the same way every time, so that import -> export ->
//! import gives the same spec: Envoy clusters are named after the AWS service (`lambda`, `s3`,
//! `cognito-idp`; `{service}-{region}` outside the API's region) and their addresses go into
//! the spec's `gateway.clusters`.

pub mod export;
pub(crate) mod identity;
pub mod import;
mod integration;
mod models;
mod security;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::spec::{self, Spec};

/// Which specification a document follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Swagger2,
    OpenApi30,
    OpenApi31,
}

impl Version {
    fn of(doc: &Value) -> Result<Version, String> {
        if let Some(v) = doc.get("openapi") {
            let v = scalar(v);
            return if v.starts_with("3.0") {
                Ok(Version::OpenApi30)
            } else if v.starts_with("3.1") {
                Ok(Version::OpenApi31)
            } else {
                Err(format!("openapi: version {v} is not supported (3.0.x and 3.1.x are)"))
            };
        }
        if let Some(v) = doc.get("swagger") {
            let v = scalar(v);
            return if v == "2.0" || v == "2" {
                Ok(Version::Swagger2)
            } else {
                Err(format!("swagger: version {v} is not supported (2.0 is)"))
            };
        }
        Err("not an OpenAPI 3.0/3.1 or Swagger 2.0 document (no `openapi` or `swagger` field)"
            .into())
    }
}

/// Something in the document the gateway does not do, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unhonoured {
    /// Where: `paths./pets.get.x-amazon-apigateway-integration.contentHandling`.
    pub at: String,
    pub why: String,
}

impl fmt::Display for Unhonoured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not honoured: {}: {}", self.at, self.why)
    }
}

/// What an import gathers besides the config: reports and the clusters it named.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    pub report: Vec<Unhonoured>,
    /// Envoy cluster name -> address.
    pub clusters: BTreeMap<String, String>,
}

impl Notes {
    pub fn unhonoured(&mut self, at: &str, why: impl Into<String>) {
        self.report.push(Unhonoured { at: at.to_string(), why: why.into() });
    }
}

/// `parent.key` (or `key` at the top).
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// A string, number or boolean as text; anything else as JSON.
pub(crate) fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The Envoy cluster that reaches AWS service `service` in `region`: `lambda` in the API's
/// region, `lambda-eu-west-1` elsewhere.
pub(crate) fn aws_cluster(service: &str, region: &str, api_region: &str) -> String {
    if region == api_region {
        service.to_string()
    } else {
        format!("{service}-{region}")
    }
}

/// `#/components/schemas/Pet` -> the value there.
pub(crate) fn resolve_ref<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

/// `value`, or what its `$ref` points at (a few levels deep at most).
pub(crate) fn deref<'a>(doc: &'a Value, value: &'a Value, at: &str) -> Result<&'a Value, String> {
    let mut current = value;
    for _ in 0..8 {
        match current.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                current = resolve_ref(doc, r).ok_or_else(|| {
                    format!("{at}: `$ref: {r}` points at nothing in the document")
                })?;
            }
            None => return Ok(current),
        }
    }
    Err(format!("{at}: `$ref` chain too long"))
}

fn write_document(value: &Value, out: Option<&Path>) -> Result<(), String> {
    match out {
        Some(path) => {
            let text = if path.extension().is_some_and(|e| e == "json") {
                serde_json::to_string_pretty(value).map_err(|e| e.to_string())? + "\n"
            } else {
                serde_yaml_ng::to_string(value).map_err(|e| e.to_string())?
            };
            spec::write_atomically(path, text.as_bytes())
        }
        None => {
            let text = serde_yaml_ng::to_string(value).map_err(|e| e.to_string())?;
            print!("{text}");
            Ok(())
        }
    }
}

fn read_document(file: &Path) -> Result<Value, String> {
    let text = if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| format!("stdin: {e}"))?;
        text
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?
    };
    crate::locate::parse(file, &text, spec::is_json(file, &text))
}

/// `tollgate import`: reports on stderr; `strict` turns any report into an error.
pub fn import_command(
    files: &[PathBuf],
    (out, out_dir, domain): (Option<&Path>, Option<&Path>, Option<&str>),
    strict: bool,
    (stage, region, account_id): (Option<String>, Option<String>, Option<String>),
    (listen, variables): (Option<String>, Vec<String>),
) -> Result<(), String> {
    let mut stage_variables = std::collections::BTreeMap::new();
    for pair in variables {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("--stage-variable: `{pair}` is not NAME=VALUE"))?;
        stage_variables.insert(name.to_string(), value.to_string());
    }
    if let Some(account) = &account_id {
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("--account-id: `{account}` is not a 12-digit AWS account id"));
        }
    }
    if let Some(listen) = &listen {
        listen.parse::<std::net::SocketAddr>().map_err(|_| {
            format!("--listen: `{listen}` is not IP:PORT (for example 0.0.0.0:10000)")
        })?;
    }
    let options =
        import::Options { stage, region, account_id, stage_variables, stage_cache: false };
    let mut specs = Vec::with_capacity(files.len());
    for file in files {
        let mut spec = imported_spec(file, strict, &options, files.len() > 1)?;
        if let Some(listen) = &listen {
            spec.gateway.listen = listen.clone();
        }
        specs.push((file, spec));
    }
    match (specs.as_slice(), out_dir) {
        ([(file, spec)], None) => match out {
            Some(path) => {
                spec.save(path)?;
                eprintln!(
                    "{}: {} methods, {} models -> {}",
                    file.display(),
                    spec.config.methods.len(),
                    spec.config.models.len(),
                    path.display()
                );
                Ok(())
            }
            None => write_document(&spec.to_value()?, None),
        },
        (_, None) => Err("several exports make one gateway: give --out-dir DIR".into()),
        (_, Some(dir)) => write_gateway(&specs, dir, domain),
    }
}

/// One export read and imported; what cannot be honoured is reported on stderr (with
/// `strict`, it is an error), each line after the file's name when there are several.
fn imported_spec(
    file: &Path,
    strict: bool,
    options: &import::Options,
    several: bool,
) -> Result<Spec, String> {
    let doc = read_document(file)?;
    let imported = import::import(&doc, options).map_err(|e| format!("{}: {e}", file.display()))?;
    for line in &imported.report {
        if several {
            eprintln!("{}: {line}", file.display());
        } else {
            eprintln!("{line}");
        }
    }
    if strict && !imported.report.is_empty() {
        return Err(format!(
            "{}: {} part(s) of the API cannot be honoured (--strict); nothing written",
            file.display(),
            imported.report.len()
        ));
    }
    Ok(imported.spec)
}

/// Several exports as one gateway in `dir`: a spec per API (`{api id}.yaml`, without a
/// `gateway` section) and `gateway.yaml` naming them, with the first export's gateway settings
/// and, given a domain, each API mapped on it at the base path of its API id (a starting point
/// to edit: AWS exports do not say where an API is mapped). Checked as `render` will read it
/// before anything is written.
fn write_gateway(
    specs: &[(&PathBuf, Spec)],
    dir: &Path,
    domain: Option<&str>,
) -> Result<(), String> {
    let ids: Vec<&str> = specs.iter().map(|(_, s)| s.config.api.id.as_str()).collect();
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            return Err(format!(
                "{}: API id `{id}` is also another export's: give each API its own id",
                specs[i].0.display()
            ));
        }
    }
    let gateway = specs.first().map(|(_, s)| s.gateway.clone()).unwrap_or_default();
    let mut file = serde_json::json!({
        "gateway": gateway,
        "apis": ids.iter().map(|id| serde_json::json!({"spec": format!("{id}.yaml")})).collect::<Vec<_>>(),
    });
    if let Some(domain) = domain {
        let mappings: Vec<Value> =
            ids.iter().map(|id| serde_json::json!({"base_path": id, "api": id})).collect();
        file["domains"] =
            serde_json::json!([{"domain_name": domain, "base_path_mappings": mappings}]);
    }
    let gateway_text = serde_yaml_ng::to_string(&file).map_err(|e| e.to_string())?;
    let gateway_path = dir.join("gateway.yaml");
    let parsed = crate::gateway_file::GatewayFile::parse(&gateway_path, &gateway_text)?;
    let configs = specs.iter().map(|(_, s)| s.config.clone()).collect();
    let multi = crate::gateway_file::resolve(parsed, configs)?;
    for config in &multi.apis {
        crate::render::ecds::check(config)?;
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (source, spec) in specs {
        let path = dir.join(format!("{}.yaml", spec.config.api.id));
        let text = serde_yaml_ng::to_string(&spec.config).map_err(|e| e.to_string())?;
        crate::spec::write_atomically(&path, text.as_bytes())?;
        eprintln!(
            "{}: {} methods -> {}",
            source.display(),
            spec.config.methods.len(),
            path.display()
        );
    }
    crate::spec::write_atomically(&gateway_path, gateway_text.as_bytes())?;
    eprintln!("gateway of {} APIs -> {}", ids.len(), gateway_path.display());
    Ok(())
}

/// `tollgate export`: with the API Gateway extensions, what the document cannot carry back is
/// reported on stderr (`not exported: usage_plans: ...`).
pub fn export_command(
    file: &Path,
    options: &export::Options,
    out: Option<&Path>,
) -> Result<(), String> {
    let spec = Spec::load(file)?;
    let doc = export::export(&spec, options)?;
    if options.extensions {
        let stage = Some(options.stage.clone().unwrap_or_else(|| export::stage_name(&spec)));
        match import::import(&doc, &import::Options { stage, ..Default::default() }) {
            Ok(again) => {
                for path in export::differences(&spec.config, &again.spec.config) {
                    eprintln!("not exported: {path}: OpenAPI with the API Gateway extensions has no place for it");
                }
            }
            Err(e) => eprintln!("warning: the exported document does not import again: {e}"),
        }
    }
    write_document(&doc, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> Vec<std::path::PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut files: Vec<_> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        assert!(files.len() >= 11, "{files:?}");
        files
    }

    #[test]
    fn import_export_import_gives_the_same_spec() {
        for file in fixtures() {
            let doc = read_document(&file).unwrap();
            let first = import::import(&doc, &import::Options::default()).unwrap();
            for format in [export::Format::Oas30, export::Format::Swagger] {
                let options = export::Options { stage: None, format, extensions: true };
                let exported = export::export(&first.spec, &options).unwrap();
                // Through the text form, as a user's file would go.
                let text = serde_yaml_ng::to_string(&exported).unwrap();
                let doc: Value = serde_yaml_ng::from_str(&text).unwrap();
                let again = import::import(&doc, &import::Options::default())
                    .unwrap_or_else(|e| panic!("{}: {format:?}: {e}\n{text}", file.display()));
                assert_eq!(
                    export::differences(&first.spec.config, &again.spec.config),
                    Vec::<String>::new(),
                    "{}: {format:?}",
                    file.display()
                );
                assert_eq!(first.spec, again.spec, "{}: {format:?}", file.display());
            }
        }
    }
}
