//! `tollgate`: the command-line companion of the Tollgate filter.

// The CLI indexes the JSON values it builds itself (objects by construction) and reads documents
// through serde_json's `Index`, which answers `Null` for a missing key; every other no-panic lint
// of the workspace holds here.
#![allow(clippy::indexing_slicing)]

use std::path::PathBuf;
use std::process::ExitCode;

mod aws;
mod gateway_file;
mod key_file;
mod key_store;
mod locate;
mod manage;
mod openapi;
mod render;
mod run;
mod sdk;
mod spec;

use clap::{Parser, Subcommand};
use tollgate_core::apikey::hash_key_hex;
use tollgate_core::deployment::Deployment;

#[derive(Parser)]
#[command(name = "tollgate", version, about = "API Gateway behaviour for Envoy")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a spec or filter configuration (JSON or YAML) with the same code the filter runs,
    /// or a gateway file (`apis`) and its specs.
    Validate {
        /// The spec file; `-` reads standard input.
        config: PathBuf,
    },
    /// Turn an OpenAPI 3.0/3.1 or Swagger 2.0 document (JSON or YAML, with API Gateway's
    /// x-amazon-apigateway-* extensions) into a spec; what the gateway cannot do is reported.
    Import {
        /// The OpenAPI or Swagger files (`-` reads standard input); several make one gateway
        /// (with --out-dir).
        #[arg(required = true, num_args = 1..)]
        files: Vec<PathBuf>,
        /// The spec to write (YAML, or JSON for `.json`); standard output (YAML) by default.
        #[arg(long, conflicts_with = "out_dir")]
        out: Option<PathBuf>,
        /// Write a gateway: one spec per export and `gateway.yaml` naming them.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// With --out-dir: map each API on this custom domain at the base path of its API id.
        #[arg(long, requires = "out_dir")]
        domain: Option<String>,
        /// Fail (and write nothing) when any part of the document cannot be honoured.
        #[arg(long)]
        strict: bool,
        /// The stage name (default: the document's base path, else `prod`).
        #[arg(long)]
        stage: Option<String>,
        /// `address:port` of the API's listener (default 127.0.0.1:10000: loopback only; say
        /// 0.0.0.0:10000 to serve other hosts).
        #[arg(long)]
        listen: Option<String>,
        /// The AWS region for `${AWS::Region}` and the API's ARNs (default: the document's,
        /// else us-east-1).
        #[arg(long)]
        region: Option<String>,
        /// The AWS account for `${AWS::AccountId}` and the API's ARNs (default: the
        /// document's, else 000000000000).
        #[arg(long)]
        account_id: Option<String>,
        /// A variable of the stage (`NAME=VALUE`, repeated): the export's URIs and templates may
        /// use `${stageVariables.NAME}`, and AWS exports carry no stage variables.
        #[arg(long = "stage-variable", value_name = "NAME=VALUE")]
        stage_variable: Vec<String>,
    },
    /// Bring a whole API Gateway setup (REST APIs with their stages, API keys, usage plans,
    /// custom domains) from a live account, a folder of `aws apigateway get-...` answers, or a
    /// SAM or CloudFormation template; writes a gateway file and one spec per API.
    ImportAws(aws::ImportArgs),
    /// Write a spec's API as OpenAPI 3.0 or Swagger 2.0 (YAML, or JSON for `.json`).
    Export {
        spec: PathBuf,
        /// The stage whose base path the document names (default: the spec's first).
        #[arg(long)]
        stage: Option<String>,
        #[arg(long, value_enum)]
        format: openapi::export::Format,
        /// Add the x-amazon-apigateway-* extensions (integrations, authorizers, validators, ...).
        #[arg(long, value_enum)]
        extensions: Option<openapi::export::Extensions>,
        /// The file to write; standard output (YAML) by default.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Manage API keys (create, enable, disable, delete, list).
    #[command(subcommand)]
    Keys(manage::KeysCommand),
    /// Manage usage plans and the keys in them.
    #[command(subcommand)]
    Plans(manage::PlansCommand),
    /// Manage the admin keys of the management routes.
    #[command(subcommand)]
    AdminKeys(manage::AdminKeysCommand),
    /// Apply a spec (or a gateway file) to a running gateway rendered into DIR (no restart, no
    /// failed request; with a gateway file, only the APIs whose config changed reload).
    Deploy {
        spec: PathBuf,
        /// The directory the gateway was rendered into.
        #[arg(long = "to", value_name = "DIR")]
        dir: PathBuf,
    },
    /// Show a usage plan's used and remaining quota per key (GetUsage), from the running gateway.
    Usage {
        /// The usage plan.
        #[arg(long)]
        plan: String,
        /// Only this API key.
        #[arg(long)]
        key: Option<String>,
        /// Print the gateway's JSON answer.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: manage::AdminTarget,
    },
    /// Flush a stage's response cache on the running gateway (FlushStageCache).
    FlushCache {
        /// The stage.
        #[arg(long)]
        stage: String,
        /// The API id (default: the spec's).
        #[arg(long)]
        api: Option<String>,
        #[command(flatten)]
        target: manage::AdminTarget,
    },
    /// Write the Envoy bootstrap (envoy.yaml) and the filter config (tollgate.ecds.yaml) for a
    /// spec, or for a gateway file of several APIs (tollgate.<api id>.ecds.yaml each); rendering
    /// again into the same directory updates a running Envoy's filter configs.
    Render(render::RenderArgs),
    /// Render a spec and run Envoy on it in the foreground.
    Run(run::RunArgs),
    /// Generate a client SDK (TypeScript or Python) for a spec's API, one method per operation.
    Sdk(sdk::SdkArgs),
    /// Print the SHA-256 of an API key value, for `api_keys[].value_sha256`.
    HashKey {
        /// The key value; read from standard input when absent (keeps it out of shell history).
        value: Option<String>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tollgate: {message}");
            ExitCode::FAILURE
        }
    }
}

fn read_input(path: &PathBuf) -> Result<Vec<u8>, String> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .map_err(|e| format!("stdin: {e}"))?;
        Ok(bytes)
    } else {
        std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// `tollgate validate GATEWAY_FILE`: the file, its specs, and the Envoy config they make.
fn validate_gateway(path: &std::path::Path, text: &str) -> Result<(), String> {
    let multi = gateway_file::load_text(path, text)?;
    render::multi::bootstrap_value(&multi, std::path::Path::new("/"))?;
    let apis: Vec<String> =
        multi.apis.iter().map(|c| format!("{} ({} methods)", c.api.id, c.methods.len())).collect();
    println!(
        "{}: ok (gateway of {} APIs: {}; {} domains)",
        path.display(),
        apis.len(),
        apis.join(", "),
        multi.domains.len()
    );
    Ok(())
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Validate { config } => {
            let bytes = read_input(&config)?;
            let text =
                String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8", config.display()))?;
            if gateway_file::is_gateway_file(&config, &text) {
                return validate_gateway(&config, &text);
            }
            let (_, deployment): (spec::Spec, Deployment) = locate::check_spec(&config, &text)?;
            let plan = deployment.primary().ok_or("no stage")?;
            let stages: Vec<&str> = deployment.stages.iter().map(|s| s.name.as_str()).collect();
            println!(
                "{}: ok (api {}, stages {}, {} methods, {} api keys)",
                config.display(),
                plan.api_id,
                stages.join(", "),
                plan.methods.len(),
                plan.keys.len()
            );
            Ok(())
        }
        Command::Import {
            files,
            out,
            out_dir,
            domain,
            strict,
            stage,
            listen,
            region,
            account_id,
            stage_variable,
        } => openapi::import_command(
            &files,
            (out.as_deref(), out_dir.as_deref(), domain.as_deref()),
            strict,
            (stage, region, account_id),
            (listen, stage_variable),
        ),
        Command::Export { spec, stage, format, extensions, out } => {
            let options =
                openapi::export::Options { stage, format, extensions: extensions.is_some() };
            openapi::export_command(&spec, &options, out.as_deref())
        }
        Command::ImportAws(args) => aws::import_command(args),
        Command::Keys(command) => manage::keys(command),
        Command::Plans(command) => manage::plans(command),
        Command::AdminKeys(command) => manage::admin_keys(command),
        Command::Deploy { spec, dir } => {
            let text =
                std::fs::read_to_string(&spec).map_err(|e| format!("{}: {e}", spec.display()))?;
            if gateway_file::is_gateway_file(&spec, &text) {
                manage::deploy_gateway(&dir, &gateway_file::load_text(&spec, &text)?)?;
            } else {
                manage::deploy(&dir, &spec::Spec::parse(&spec, &text)?.config)?;
            }
            eprintln!("deployed to {}", dir.display());
            Ok(())
        }
        Command::Usage { plan, key, json, target } => {
            manage::usage(&target, &plan, key.as_deref(), json)
        }
        Command::FlushCache { stage, api, target } => {
            let api = match (api, target.spec_path()) {
                (Some(api), _) => api,
                (None, Some(path))
                    if gateway_file::is_gateway_file(
                        path,
                        &std::fs::read_to_string(path)
                            .map_err(|e| format!("{}: {e}", path.display()))?,
                    ) =>
                {
                    return Err("a gateway file has several APIs: give --api".into())
                }
                (None, Some(path)) => spec::Spec::load(path)?.config.api.id,
                (None, None) => return Err("give --api or --spec".into()),
            };
            manage::flush_cache(&target, &api, &stage)
        }
        Command::Render(args) => render::command(args),
        Command::Run(args) => run::command(args),
        Command::Sdk(args) => sdk::command(args),
        Command::HashKey { value } => {
            let value = match value {
                Some(v) => v,
                None => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line).map_err(|e| format!("stdin: {e}"))?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            if value.is_empty() {
                return Err("an API key value must not be empty".into());
            }
            println!("{}", hash_key_hex(value.as_bytes()));
            Ok(())
        }
    }
}
