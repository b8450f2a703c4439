//! `tollgate run SPEC`: renders the spec and runs Envoy on it in the foreground.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::render;
use crate::spec::Gateway;

#[derive(clap::Args)]
pub struct RunArgs {
    /// The spec, or a gateway file of several specs (YAML or JSON).
    pub spec: PathBuf,
    /// Where to render (default: tollgate-API_ID under the system's temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The built filter (default: $TOLLGATE_WASM, else ./target/wasm32-wasip1/release/tollgate_filter.wasm).
    #[arg(long)]
    pub wasm: Option<PathBuf>,
    /// Further arguments for Envoy, after `--` (for example `-- --concurrency 2 -l debug`).
    #[arg(last = true)]
    pub envoy_args: Vec<String>,
}

/// Envoy: `$TOLLGATE_ENVOY`, else `envoy` on the PATH, else `.tools/envoy` (what `make setup`
/// installs) under the current directory.
pub fn envoy_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("TOLLGATE_ENVOY") {
        return Ok(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|d| d.join("envoy")).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(std::iter::once(PathBuf::from(".tools/envoy")))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            "Envoy not found: set TOLLGATE_ENVOY, put `envoy` on the PATH, or run `make setup`"
                .to_string()
        })
}

/// `petstore` -> `/tmp/tollgate-petstore`.
fn default_dir(api_id: &str) -> PathBuf {
    let name: String = api_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    std::env::temp_dir().join(format!("tollgate-{name}"))
}

fn url(scheme: &str, address: &str) -> String {
    format!("{scheme}://{address}")
}

pub fn command(args: RunArgs) -> Result<(), String> {
    if render::is_gateway_path(&args.spec)? {
        return run_gateway(&args);
    }
    let spec = render::load(&args.spec)?;
    let wasm = render::wasm_path(args.wasm.as_deref())?;
    let envoy = envoy_binary()?;
    let dir = args.dir.clone().unwrap_or_else(|| default_dir(&spec.config.api.id));
    let written = render::write(&spec, &dir, &wasm)?;
    let gateway = &spec.gateway;
    println!("tollgate: API `{}` on {}", spec.config.api.id, url("http", &gateway.listen));
    if let Some(tls) = &gateway.tls {
        println!("tollgate: and on {}", url("https", &tls.listen));
    }
    start(gateway, &written.dir, &args, &envoy)
}

/// `tollgate run GATEWAY_FILE`: every API of a gateway file.
fn run_gateway(args: &RunArgs) -> Result<(), String> {
    let multi = crate::gateway_file::load(&args.spec)?;
    let wasm = render::wasm_path(args.wasm.as_deref())?;
    let envoy = envoy_binary()?;
    let dir = args.dir.clone().unwrap_or_else(|| default_dir("gateway"));
    let written = render::multi::write(&multi, &dir, &wasm)?;
    let gateway = &multi.gateway;
    let ids: Vec<&str> = multi.apis.iter().map(|c| c.api.id.as_str()).collect();
    println!("tollgate: APIs {} on {}", ids.join(", "), url("http", &gateway.listen));
    if let Some(tls) = &gateway.tls {
        println!("tollgate: and on {}", url("https", &tls.listen));
    }
    for domain in &multi.domains {
        let paths: Vec<String> = domain
            .mappings
            .iter()
            .map(|m| {
                let id = multi.apis.get(m.api).map_or("?", |c| c.api.id.as_str());
                format!("{}/ -> {id} ({})", m.prefix, m.stage)
            })
            .collect();
        println!("tollgate: {}: {}", domain.name, paths.join(", "));
    }
    start(gateway, &written.dir, args, &envoy)
}

/// Says where the management listener and the config are, then runs Envoy on the bootstrap in
/// `dir`.
fn start(gateway: &Gateway, dir: &Path, args: &RunArgs, envoy: &Path) -> Result<(), String> {
    println!(
        "tollgate: admin on {}, Envoy's admin page on {}",
        url("http", &gateway.admin_listen),
        url("http", &gateway.envoy_admin)
    );
    println!(
        "tollgate: config in {} (`tollgate render {} --out {}` applies changes)",
        dir.display(),
        args.spec.display(),
        dir.display()
    );
    exec(envoy, &dir.join(render::BOOTSTRAP_FILE), &args.envoy_args)
}

/// Runs Envoy in the foreground (in place of this process on Unix, so signals reach it).
fn exec(envoy: &Path, bootstrap: &Path, extra: &[String]) -> Result<(), String> {
    let mut command = Command::new(envoy);
    // No hot restart: it would need a base id of its own per running gateway.
    command.arg("-c").arg(bootstrap).arg("--disable-hot-restart");
    if !extra.iter().any(|a| a.starts_with("--file-flush-interval-msec")) {
        // Access log lines within a second (Envoy's default holds them for 10 s).
        command.args(["--file-flush-interval-msec", "1000"]);
    }
    command.args(extra);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = command.exec();
        Err(format!("cannot start {}: {err}", envoy.display()))
    }
    #[cfg(not(unix))]
    {
        let status =
            command.status().map_err(|e| format!("cannot start {}: {e}", envoy.display()))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("envoy exited with {status}"))
        }
    }
}
