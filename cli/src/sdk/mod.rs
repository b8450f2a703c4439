//! `tollgate sdk`: a client SDK out of a spec, in TypeScript or Python, with nothing but the
//! language's standard library (TypeScript: `fetch` and Web Crypto) at run time.
//!
//! The spec is read into one language-neutral description ([`Api`]: the stage's base URL, the
//! models as named types, one [`Operation`] per method with its parameters, body and auth);
//! [`typescript`] and [`python`] write it out.

mod names;
mod python;
mod schema;
mod typescript;

use std::path::{Path, PathBuf};

use tollgate_core::config::{
    ApiKeySource, AuthorizationType, Config, LambdaAuthorizerType, Method,
};

use crate::spec::{write_atomically, Spec};
use names::{words, Scope};
pub use schema::{Field, NamedType, Shape, Type};

/// The languages `tollgate sdk` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Typescript,
    Python,
}

/// Names the generated code itself uses; models with one of these names get another.
#[rustfmt::skip]
const RESERVED_TYPES: &[&str] = &[
    "ApiError", "ApiResponse", "Any", "Array", "Auth", "BaseClient", "Boolean", "Call",
    "ClientOptions", "Credentials", "DEFAULT_BASE_URL", "DEFAULT_REGION", "Date", "Dict", "Error",
    "Headers", "List", "Literal", "Map", "Number", "Object", "Optional", "Promise", "Record",
    "Request", "Response", "STAGE_HEADERS", "Set", "String", "Tuple", "TypedDict", "URL", "Union",
];

/// An API as the generators see it.
#[derive(Debug)]
pub struct Api {
    pub id: String,
    /// `PetstoreClient`.
    pub client: String,
    pub base_url: String,
    pub region: String,
    pub stage: String,
    /// The header (and its value) that picks the stage, when a header does.
    pub stage_header: Option<(String, String)>,
    pub types: Vec<NamedType>,
    pub operations: Vec<Operation>,
}

#[derive(Debug)]
pub struct Operation {
    /// The words of the operation's name (`operation_name`, else method and resource).
    pub words: Vec<String>,
    /// `PascalCase` name of its parameters' type.
    pub params_type: String,
    /// `GET`, ...; `None` for `ANY` (the caller passes the method).
    pub verb: Option<String>,
    pub resource: String,
    pub params: Vec<Param>,
    pub body: Body,
    pub auth: Auth,
    pub api_key: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Location {
    Path,
    Query,
    Header,
}

#[derive(Debug)]
pub struct Param {
    pub location: Location,
    /// The name on the wire.
    pub wire: String,
    pub required: bool,
    /// `{proxy+}`: the value may hold `/`.
    pub greedy: bool,
}

#[derive(Debug)]
pub enum Body {
    None,
    /// A request model: the body has this type and is sent as JSON with this content type.
    Model {
        ty: Type,
        content_type: String,
    },
    /// Any body, optional.
    Free,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    None,
    /// SigV4-signed.
    Iam,
    /// A token in `header`: `Bearer <token>` when `bearer`, else as it is.
    Token {
        header: String,
        bearer: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct SdkArgs {
    /// The spec file.
    spec: PathBuf,
    /// The SDK's language.
    #[arg(long, value_enum)]
    lang: Lang,
    /// The directory to write the SDK into (created if missing; its files are replaced).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The stage the client calls (default: the spec's first).
    #[arg(long)]
    stage: Option<String>,
    /// The client's default base URL (default: `gateway.listen`, plus `/STAGE` when the spec's
    /// stages are chosen by path).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
}

pub fn command(args: SdkArgs) -> Result<(), String> {
    let written = generate(
        &args.spec,
        args.lang,
        &args.out,
        args.stage.as_deref(),
        args.base_url.as_deref(),
    )?;
    for path in written {
        println!("{}", path.display());
    }
    Ok(())
}

/// Reads the spec at `spec_path`, writes the SDK under `out`; returns the files written.
pub fn generate(
    spec_path: &Path,
    lang: Lang,
    out: &Path,
    stage: Option<&str>,
    base_url: Option<&str>,
) -> Result<Vec<PathBuf>, String> {
    let spec = Spec::load(spec_path)?;
    // The filter's own checks (models compile, references resolve, authorizers exist); secrets
    // kept in Envoy's environment are not needed here.
    crate::render::ecds::check(&spec.config)
        .map_err(|e| format!("{}: {e}", spec_path.display()))?;
    let api = describe(&spec, stage, base_url)?;
    let files = match lang {
        Lang::Typescript => typescript::render(&api),
        Lang::Python => python::render(&api),
    };
    let mut written = Vec::with_capacity(files.len());
    for (relative, text) in files {
        let path = out.join(relative);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        write_atomically(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// The language-neutral description of the spec's API as served by `stage`.
pub fn describe(spec: &Spec, stage: Option<&str>, base_url: Option<&str>) -> Result<Api, String> {
    let config = &spec.config;
    let stage = choose_stage(config, stage)?;
    let base_url = match base_url {
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            url.trim_end_matches('/').to_string()
        }
        Some(url) => return Err(format!("--base-url {url}: not an http:// or https:// URL")),
        None => format!("http://{}{}", listen_authority(&spec.gateway.listen)?, stage.prefix),
    };
    let client_words = words(&config.api.id);
    let mut scope = Scope::with(RESERVED_TYPES);
    let client = scope.claim(&(names::pascal(&client_words) + "Client"), "");
    let types = schema::convert(&config.models, &mut scope);
    let mut operations = Vec::with_capacity(config.methods.len());
    for method in &config.methods {
        operations.push(operation(config, method, &types, &mut scope));
    }
    Ok(Api {
        id: config.api.id.clone(),
        client,
        base_url,
        region: config.api.region.clone(),
        stage: stage.name,
        stage_header: stage.header,
        types: types.defs,
        operations,
    })
}

/// The stage a client calls and how a request says so.
struct StageChoice {
    name: String,
    /// `/dev` when the first path segment selects the stage.
    prefix: String,
    /// (header, value) when a header selects it.
    header: Option<(String, String)>,
}

/// The stage served (`--stage`, else the first), the path prefix that selects it and the
/// header that selects it, if any.
fn choose_stage(config: &Config, wanted: Option<&str>) -> Result<StageChoice, String> {
    if config.stages.is_empty() {
        let name = &config.stage.name;
        return match wanted {
            Some(w) if w != name => Err(format!("the spec serves one stage, `{name}`, not `{w}`")),
            _ => Ok(StageChoice { name: name.clone(), prefix: String::new(), header: None }),
        };
    }
    let names: Vec<&str> = config.stages.iter().map(|s| s.name.as_str()).collect();
    let name = match wanted {
        Some(w) if names.contains(&w) => w,
        Some(w) => {
            return Err(format!("no stage `{w}` in the spec (stages: {})", names.join(", ")))
        }
        None => names.first().copied().unwrap_or_default(),
    };
    let selection = &config.stage_selection;
    if selection.path_prefix {
        Ok(StageChoice { name: name.to_string(), prefix: format!("/{name}"), header: None })
    } else {
        let header = selection.header.clone().map(|h| (h.to_ascii_lowercase(), name.to_string()));
        Ok(StageChoice { name: name.to_string(), prefix: String::new(), header })
    }
}

/// `host:port` to call for a listen address; a wildcard address is called on `localhost`.
fn listen_authority(listen: &str) -> Result<String, String> {
    let (host, port) = listen
        .rsplit_once(':')
        .filter(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
        .ok_or_else(|| format!("gateway.listen `{listen}` is not address:port"))?;
    let host = match host {
        "0.0.0.0" | "::" | "[::]" => "localhost",
        h => h,
    };
    Ok(format!("{host}:{port}"))
}

/// Headers the SDK sets itself; a method's parameter of that name is left out.
fn is_sdk_header(name: &str, auth: &Auth) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(name.as_str(), "x-api-key" | "host" | "content-length")
        || name.starts_with("x-amz-")
        || (*auth == Auth::Iam && name == "authorization")
        || matches!(auth, Auth::Token { header, .. } if *header == name)
}

fn auth_of(config: &Config, method: &Method) -> Auth {
    match method.authorization_type {
        AuthorizationType::None => Auth::None,
        AuthorizationType::AwsIam => Auth::Iam,
        AuthorizationType::CognitoUserPools | AuthorizationType::Jwt => {
            let header = method
                .authorizer_id
                .as_ref()
                .and_then(|id| config.authorizers.iter().find(|a| &a.id == id))
                .map_or_else(|| "authorization".to_string(), |a| a.identity_source.clone());
            Auth::Token { header: header.to_ascii_lowercase(), bearer: true }
        }
        AuthorizationType::Custom => {
            let authorizer = method
                .authorizer_id
                .as_ref()
                .and_then(|id| config.lambda_authorizers.iter().find(|a| &a.id == id));
            match authorizer {
                Some(a) if a.kind == LambdaAuthorizerType::Token => {
                    let header = a
                        .identity_source
                        .trim()
                        .strip_prefix("method.request.header.")
                        .unwrap_or("authorization");
                    Auth::Token { header: header.to_ascii_lowercase(), bearer: false }
                }
                // A REQUEST authorizer reads what the method's parameters (or `headers`) carry.
                _ => Auth::None,
            }
        }
    }
}

fn operation(
    config: &Config,
    method: &Method,
    types: &schema::Types,
    scope: &mut Scope,
) -> Operation {
    let verb = method.http_method.to_ascii_uppercase();
    let op_words = match &method.operation_name {
        Some(name) if !words(name).is_empty() => words(name),
        _ => words(&format!("{} {}", verb.to_ascii_lowercase(), method.resource)),
    };
    let params_type = scope.claim(&(names::pascal(&op_words) + "Params"), "");
    let auth = auth_of(config, method);
    let mut params = Vec::new();
    for segment in method.resource.split('/') {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let (wire, greedy) = match name.strip_suffix('+') {
                Some(n) => (n.to_string(), true),
                None => (name.to_string(), false),
            };
            params.push(Param { location: Location::Path, wire, required: true, greedy });
        }
    }
    for (key, &required) in &method.request_parameters {
        let Some(rest) = key.strip_prefix("method.request.") else { continue };
        let (location, wire) = match rest.split_once('.') {
            Some(("querystring", n)) => (Location::Query, n),
            Some(("header", n)) if !is_sdk_header(n, &auth) => (Location::Header, n),
            _ => continue,
        };
        params.push(Param { location, wire: wire.to_string(), required, greedy: false });
    }
    // Path, then query string, then headers (stable: each in the spec's order).
    params.sort_by_key(|p| p.location);
    let model = method
        .request_models
        .iter()
        .find(|(ct, _)| ct.eq_ignore_ascii_case("application/json"))
        .or_else(|| method.request_models.iter().next());
    let body = match model {
        Some((content_type, name)) => {
            Body::Model { ty: types.model(name), content_type: content_type.clone() }
        }
        None if matches!(verb.as_str(), "POST" | "PUT" | "PATCH" | "ANY") => Body::Free,
        None => Body::None,
    };
    let api_key = method.api_key_required && config.api_key_source == ApiKeySource::Header;
    Operation {
        words: op_words,
        params_type,
        verb: (verb != "ANY").then_some(verb),
        resource: method.resource.clone(),
        params,
        body,
        auth,
        api_key,
    }
}

impl Operation {
    /// `GET /pets/{petId}`, with what the method asks of its caller.
    pub fn summary(&self) -> String {
        let mut needs = Vec::new();
        if self.api_key {
            needs.push("API key".to_string());
        }
        match &self.auth {
            Auth::None => {}
            Auth::Iam => needs.push("AWS_IAM: SigV4-signed with the client's credentials".into()),
            Auth::Token { header, bearer: true } => {
                needs.push(format!("the client's token as `{header}: Bearer <token>`"))
            }
            Auth::Token { header, bearer: false } => {
                needs.push(format!("the client's token in `{header}`"))
            }
        }
        let verb = self.verb.as_deref().unwrap_or("ANY");
        match needs.is_empty() {
            true => format!("{verb} {}", self.resource),
            false => format!("{verb} {} ({})", self.resource, needs.join("; ")),
        }
    }
}

/// A string literal for either language: JSON's escapes are valid in both.
pub fn quoted(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// The resource path as an expression: literal parts quoted, `{name}` / `{name+}` as `param`
/// says, joined with `+`.
pub fn path_expr(resource: &str, param: impl Fn(&str) -> String) -> String {
    let mut parts = Vec::new();
    let mut rest = resource;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else { break };
        if open > 0 {
            parts.push(quoted(&rest[..open]));
        }
        parts.push(param(rest[open + 1..close].trim_end_matches('+')));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() || parts.is_empty() {
        parts.push(quoted(rest));
    }
    parts.join(" + ")
}

#[cfg(test)]
mod tests;
