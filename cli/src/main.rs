//! `tollgate`: the command-line companion of the Tollgate filter.

use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Check a spec or filter configuration (JSON or YAML) with the same code the filter runs.
    Validate {
        /// The spec file; `-` reads standard input.
        config: PathBuf,
    },
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

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Validate { config } => {
            let bytes = read_input(&config)?;
            let text =
                String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8", config.display()))?;
            let spec = spec::Spec::parse(&config, &text)?;
            let bytes = serde_json::to_vec(&spec.config).map_err(|e| e.to_string())?;
            let deployment =
                Deployment::from_json(&bytes).map_err(|e| format!("{}: {e}", config.display()))?;
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
