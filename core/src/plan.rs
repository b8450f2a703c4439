//! The compiled, immutable form of a [`Config`]: built once when the filter is configured, shared
//! by every request, never re-parsed.

use std::rc::Rc;

use crate::apikey::KeyIndex;
use crate::auth::custom::{compile_lambda_authorizers, LambdaAuthorizer};
use crate::auth::iam::IamPlan;
use crate::auth::policy::{CompiledPolicy, PolicyKind};
use crate::auth::token::{compile_authorizers, TokenAuthorizer};
use crate::cache::CachePlan;
use crate::config::{
    ApiKeySource, AuthorizationType, CompactConfig, Config, ConfigError, KeyStore, KeyTable, Stage,
};
use crate::gateway_response::GatewayResponses;
use crate::routes::{MethodId, Router};
use crate::text::header_case::HeaderSpellings;
use crate::text::is_token;
use crate::throttle::Limits;
use crate::transform::binary::BinaryTypes;
use crate::transform::integration::IntegrationPlan;
use crate::validate::{MethodValidation, Models};

const MAX_STAGE_VARIABLES: usize = 100;
const MAX_STAGE_VARIABLE_NAME: usize = 64;
const MAX_STAGE_VARIABLE_VALUE: usize = 512;

#[derive(Debug, Clone)]
pub struct MethodPlan {
    pub resource: String,
    pub http_method: String,
    pub api_key_required: bool,
    /// How callers authenticate, with the authorizer it names.
    pub auth: MethodAuth,
    /// What the method's request validator checks, if it has one.
    pub validation: Option<MethodValidation>,
    pub integration: Option<IntegrationPlan>,
    /// A decision needs the whole request body (a signature, a model, a template, a mapping).
    pub needs_body: bool,
    /// How the method's responses are cached, if they are.
    pub cache: Option<CachePlan>,
}

/// How a method's callers authenticate: the authorization type and what it needs, checked and
/// resolved when the config is compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MethodAuth {
    None,
    /// AWS_IAM: a SigV4 signature.
    Iam,
    /// COGNITO_USER_POOLS (`cognito`) or JWT: a token of this authorizer (index in
    /// [`Plan::authorizers`]) with one of the scopes, if any are listed.
    Token {
        authorizer: usize,
        scopes: Vec<String>,
        cognito: bool,
    },
    /// CUSTOM: this Lambda authorizer (index in [`Plan::lambda_authorizers`]).
    Lambda {
        authorizer: usize,
    },
}

impl MethodAuth {
    pub fn authorization_type(&self) -> AuthorizationType {
        match self {
            MethodAuth::None => AuthorizationType::None,
            MethodAuth::Iam => AuthorizationType::AwsIam,
            MethodAuth::Token { cognito: true, .. } => AuthorizationType::CognitoUserPools,
            MethodAuth::Token { cognito: false, .. } => AuthorizationType::Jwt,
            MethodAuth::Lambda { .. } => AuthorizationType::Custom,
        }
    }
}

#[derive(Debug)]
pub struct Plan {
    /// Keys come from the key store, not `keys`.
    pub key_store: Option<KeyStore>,
    pub api_id: String,
    pub region: String,
    pub account_id: String,
    pub stage: String,
    pub router: Router,
    pub methods: Vec<MethodPlan>,
    pub keys: KeyIndex,
    pub responses: GatewayResponses,
    /// Lowercase header name for the key id sent upstream, if any.
    pub api_key_id_header: Option<String>,
    /// Whether the caller's identity goes into filter state.
    pub filter_state: bool,
    pub limits: Limits,
    pub rate_limit_headers: bool,
    pub iam: IamPlan,
    pub resource_policy: Option<CompiledPolicy>,
    /// Lowercase names of the trusted headers with the VPC endpoint and VPC ids.
    pub source_vpce_header: Option<String>,
    pub source_vpc_header: Option<String>,
    /// Lowercase name of the trusted header with the scheme a hop in front was called with.
    pub forwarded_proto_header: Option<String>,
    /// Some policy reads `aws:SecureTransport`: only then is the connection's TLS looked up.
    pub reads_secure_transport: bool,
    /// Some policy reads the caller's address: only then is `source.address` looked up.
    pub reads_source_ip: bool,
    pub authorizers: Vec<TokenAuthorizer>,
    pub lambda_authorizers: Vec<LambdaAuthorizer>,
    pub api_key_source: ApiKeySource,
    pub stage_variables: std::collections::BTreeMap<String, String>,
    /// The API's models (JSON Schema draft 4), compiled once.
    pub models: Models,
    /// `/prod` when the deployment has this one stage and the path may start with its name, as
    /// an execute-api URL does (`/prod/pets`): the pipeline takes it off, as it does a stage
    /// prefix the stage selection found.
    pub stage_prefix: Option<String>,
    /// How the spec spells the header names it mentions, for Lambda events.
    pub header_spellings: HeaderSpellings,
    /// The API's binary media types.
    pub binary_types: BinaryTypes,
}

impl Plan {
    /// Parses, validates and compiles a config document; `{"env": NAME}` secrets come from the
    /// process environment (in the filter: the variables Envoy passes to the wasm VM).
    pub fn from_json(bytes: &[u8]) -> Result<Plan, ConfigError> {
        let mut config = CompactConfig::compact_from_json(bytes)?;
        let keys = Rc::new(std::mem::take(&mut config.api_keys));
        Plan::compile_stage(&config, &config.stage, keys, &|name| std::env::var(name).ok())
    }

    /// Validates and compiles a config; `env` resolves `{"env": NAME}` secrets.
    pub fn compile(
        config: &Config,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Plan, ConfigError> {
        let keys = Rc::new(KeyTable::from_keys(&config.api_keys));
        Plan::compile_stage(config, &config.stage, keys, env)
    }

    /// Validates and compiles `config` served as `stage` (`config.stage` or one of
    /// `config.stages`), with the config's keys in `keys` (`config.api_keys` is not read).
    pub fn compile_stage<K>(
        config: &Config<K>,
        stage: &Stage,
        keys: Rc<KeyTable>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Plan, ConfigError> {
        check_api(config)?;
        check_stage(stage)?;
        let authorizers = compile_authorizers(&config.authorizers)?;
        let lambda_authorizers = compile_lambda_authorizers(&config.lambda_authorizers)?;
        let models = Models::compile(&config.models)
            .map_err(|e| ConfigError::new(format!("models.{}", e.model), e.reason))?;
        let mut router = Router::default();
        let mut methods = Vec::with_capacity(config.methods.len());
        for (id, m) in config.methods.iter().enumerate() {
            let path = format!("methods[{id}]");
            router.insert(&m.resource, &m.http_method, id, &path)?;
            let validation =
                MethodValidation::compile(m, &config.request_validators, &models, &path)?;
            let integration = match &m.integration {
                Some(i) => Some(IntegrationPlan::compile(
                    i,
                    &stage.variables,
                    &format!("{path}.integration"),
                )?),
                None => None,
            };
            let needs_body = m.authorization_type == AuthorizationType::AwsIam
                || validation.as_ref().is_some_and(MethodValidation::needs_body)
                || integration.as_ref().is_some_and(IntegrationPlan::needs_body);
            methods.push(MethodPlan {
                resource: m.resource.clone(),
                http_method: m.http_method.clone(),
                api_key_required: m.api_key_required,
                auth: method_auth(m, (&authorizers, &lambda_authorizers), &path)?,
                validation,
                integration,
                needs_body,
                // Stages share the methods: a stage without a cache caches nothing (as on AWS,
                // where method cache settings are per stage) when another stage has one.
                cache: if stage.cache.is_none() && config.stages.iter().any(|s| s.cache.is_some()) {
                    None
                } else {
                    CachePlan::compile(
                        stage.cache.as_ref(),
                        m,
                        (&config.api.id, &stage.name),
                        &path,
                    )?
                },
            });
        }
        let header = config.api_key_id_header.to_ascii_lowercase();
        if !header.is_empty() && !is_token(&header) {
            return Err(ConfigError::new(
                "api_key_id_header",
                format!("`{header}` is not a valid header name"),
            ));
        }
        let limits = Limits::compile(config, stage)?;
        let resource_policy = match &config.resource_policy {
            Some(doc) => {
                Some(CompiledPolicy::compile(doc, PolicyKind::Resource, "resource_policy")?)
            }
            None => None,
        };
        let trusted = &config.trusted_headers;
        let source_vpce_header =
            trusted_header(&trusted.source_vpce, "trusted_headers.source_vpce")?;
        let source_vpc_header = trusted_header(&trusted.source_vpc, "trusted_headers.source_vpc")?;
        let forwarded_proto_header =
            trusted_header(&trusted.forwarded_proto, "trusted_headers.forwarded_proto")?;
        // Policies are plain documents: a key is read if its name appears in one.
        let policies = serde_json::to_string(&(&config.resource_policy, &config.iam))
            .map(|text| text.to_ascii_lowercase());
        let reads = |key: &str| policies.as_ref().map_or(true, |text| text.contains(key));
        let reads_secure_transport = reads("aws:securetransport");
        // `aws:SourceIp` and `aws:VpcSourceIp`.
        let reads_source_ip = reads("sourceip");
        let spelled = (&config.methods, &config.lambda_authorizers, &config.gateway_responses);
        let header_spellings =
            HeaderSpellings::scan(&serde_json::to_string(&spelled).unwrap_or_default());
        let key_store = match &config.api_key_store {
            Some(_) if !keys.is_empty() => {
                return Err(ConfigError::new(
                    "api_keys",
                    "must be empty with `api_key_store`: keys live in the key store",
                ));
            }
            Some(store) => {
                store.check()?;
                Some(store.clone())
            }
            None => None,
        };
        let keys = KeyIndex::compile(keys, &limits, (&config.api.id, &stage.name))?;
        Ok(Plan {
            key_store,
            api_id: config.api.id.clone(),
            region: config.api.region.clone(),
            account_id: config.api.account_id.clone(),
            stage: stage.name.clone(),
            router,
            methods,
            keys,
            responses: GatewayResponses::compile(
                &config.gateway_responses,
                (&config.api.id, &stage.name, &config.api.account_id),
            )?
            .with_stage_variables(&stage.variables),
            api_key_id_header: (!header.is_empty()).then_some(header),
            filter_state: config.filter_state,
            limits,
            rate_limit_headers: config.rate_limit_headers,
            iam: IamPlan::compile(&config.iam, env)?,
            resource_policy,
            source_vpce_header,
            source_vpc_header,
            forwarded_proto_header,
            reads_secure_transport,
            reads_source_ip,
            authorizers,
            lambda_authorizers,
            api_key_source: config.api_key_source,
            stage_variables: stage.variables.clone(),
            models,
            stage_prefix: None,
            header_spellings,
            binary_types: BinaryTypes::new(&config.api.binary_media_types),
        })
    }

    pub fn method(&self, id: MethodId) -> Option<&MethodPlan> {
        self.methods.get(id)
    }
}

/// How a method authenticates, its authorizer resolved: a token method names a token
/// authorizer and may list scopes, a CUSTOM method names a Lambda authorizer, others name none.
fn method_auth(
    m: &crate::config::Method,
    (tokens, lambdas): (&[TokenAuthorizer], &[LambdaAuthorizer]),
    path: &str,
) -> Result<MethodAuth, ConfigError> {
    let field = |name: &str| format!("{path}.{name}");
    let scopes_refused = || {
        ConfigError::new(
            field("authorization_scopes"),
            "only COGNITO_USER_POOLS and JWT methods check scopes",
        )
    };
    let kind = m.authorization_type;
    match (kind, &m.authorizer_id) {
        (AuthorizationType::CognitoUserPools | AuthorizationType::Jwt, Some(id)) => {
            let authorizer = tokens.iter().position(|a| &a.id == id).ok_or_else(|| {
                ConfigError::new(field("authorizer_id"), format!("no authorizer `{id}`"))
            })?;
            let cognito = kind == AuthorizationType::CognitoUserPools;
            Ok(MethodAuth::Token { authorizer, scopes: m.authorization_scopes.clone(), cognito })
        }
        (AuthorizationType::CognitoUserPools | AuthorizationType::Jwt, None) => {
            Err(ConfigError::new(
                field("authorizer_id"),
                "a COGNITO_USER_POOLS or JWT method names its authorizer",
            ))
        }
        (AuthorizationType::Custom, _) if !m.authorization_scopes.is_empty() => {
            Err(scopes_refused())
        }
        (AuthorizationType::Custom, Some(id)) => {
            let authorizer = lambdas.iter().position(|a| &a.id == id).ok_or_else(|| {
                ConfigError::new(field("authorizer_id"), format!("no Lambda authorizer `{id}`"))
            })?;
            Ok(MethodAuth::Lambda { authorizer })
        }
        (AuthorizationType::Custom, None) => Err(ConfigError::new(
            field("authorizer_id"),
            "a CUSTOM method names its Lambda authorizer",
        )),
        (_, Some(_)) => Err(ConfigError::new(
            field("authorizer_id"),
            "only COGNITO_USER_POOLS, JWT and CUSTOM methods have an authorizer",
        )),
        (_, None) if !m.authorization_scopes.is_empty() => Err(scopes_refused()),
        (AuthorizationType::AwsIam, None) => Ok(MethodAuth::Iam),
        (AuthorizationType::None, None) => Ok(MethodAuth::None),
    }
}

fn trusted_header(name: &Option<String>, path: &str) -> Result<Option<String>, ConfigError> {
    match name {
        None => Ok(None),
        Some(n) if is_token(n) => Ok(Some(n.to_ascii_lowercase())),
        Some(n) => Err(ConfigError::new(path, format!("`{n}` is not a valid header name"))),
    }
}

fn check_api<K>(config: &Config<K>) -> Result<(), ConfigError> {
    let api = &config.api;
    if api.id.is_empty()
        || !api.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ConfigError::new("api.id", "must be non-empty letters, digits, `-` or `_`"));
    }
    if api.account_id.len() != 12 || !api.account_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ConfigError::new("api.account_id", "must be 12 digits"));
    }
    if api.region.is_empty()
        || !api.region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(ConfigError::new("api.region", "must look like `us-east-1`"));
    }
    if api.minimum_compression_size.is_some_and(|n| n > MAX_COMPRESSION_SIZE) {
        return Err(ConfigError::new(
            "api.minimum_compression_size",
            format!("must be 0 to {MAX_COMPRESSION_SIZE} bytes, as on AWS"),
        ));
    }
    Ok(())
}

/// AWS's largest `minimumCompressionSize` (10 MiB).
const MAX_COMPRESSION_SIZE: u32 = 10_485_760;

fn check_stage(stage: &Stage) -> Result<(), ConfigError> {
    let name_ok = !stage.name.is_empty()
        && stage.name.len() <= 128
        && stage.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !name_ok {
        return Err(ConfigError::new("stage.name", "must be 1-128 letters, digits, `-` or `_`"));
    }
    if stage.variables.len() > MAX_STAGE_VARIABLES {
        return Err(ConfigError::new(
            "stage.variables",
            format!(
                "{} variables; a stage has at most {MAX_STAGE_VARIABLES}",
                stage.variables.len()
            ),
        ));
    }
    for (name, value) in &stage.variables {
        let path = format!("stage.variables.{name}");
        let name_ok = !name.is_empty()
            && name.len() <= MAX_STAGE_VARIABLE_NAME
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !name_ok {
            return Err(ConfigError::new(
                path,
                format!("a name is 1-{MAX_STAGE_VARIABLE_NAME} characters of [A-Za-z0-9_]"),
            ));
        }
        if value.len() > MAX_STAGE_VARIABLE_VALUE {
            return Err(ConfigError::new(
                path,
                format!("value is {} characters; at most {MAX_STAGE_VARIABLE_VALUE}", value.len()),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    const MINIMAL: &str = r#"{"api": {"id": "petstore"}}"#;

    fn err(json: &str) -> ConfigError {
        Plan::from_json(json.as_bytes()).unwrap_err()
    }

    #[test]
    fn minimal_config_has_aws_like_defaults() {
        let plan = Plan::from_json(MINIMAL.as_bytes()).unwrap();
        assert_eq!(plan.stage, "prod");
        assert_eq!(plan.region, "us-east-1");
        // API Gateway sends no key id upstream and has no filter state: neither costs a host call.
        assert_eq!(plan.api_key_id_header, None);
        assert!(!plan.filter_state);
        assert!(plan.keys.is_empty());
    }

    #[test]
    fn unknown_fields_are_named_with_their_path() {
        let e = err(
            r#"{"api": {"id": "a"}, "methods": [{"resource": "/a", "http_method": "GET", "api_key_requird": true}]}"#,
        );
        assert!(e.to_string().contains("methods[0]"), "{e}");
        assert!(e.to_string().contains("api_key_requird"), "{e}");
        let e = err(r#"{"api": {"id": "a"}, "colour": 1}"#);
        assert!(e.to_string().contains("colour"), "{e}");
    }

    #[test]
    fn wrong_types_and_syntax_are_reported() {
        let e = err(r#"{"api": {"id": "a"}, "api_keys": [{"id": "k", "value_sha256": 5}]}"#);
        assert_eq!(e.path, "api_keys[0].value_sha256", "{e}");
        let e = err(r#"{"api": {"id": "a"},"#);
        assert!(e.reason.contains("EOF"), "{e}");
        let e = err(r#"{"api": {"id": "a"}, "gateway_responses": {"NOT_A_TYPE": {}}}"#);
        assert!(e.to_string().contains("NOT_A_TYPE"), "{e}");
    }

    #[test]
    fn semantic_errors_name_the_field() {
        let cases = [
            (r#"{"api": {"id": ""}}"#, "api.id"),
            (r#"{"api": {"id": "a", "account_id": "12"}}"#, "api.account_id"),
            (r#"{"api": {"id": "a", "region": "US EAST"}}"#, "api.region"),
            (r#"{"api": {"id": "a"}, "stage": {"name": "a b"}}"#, "stage.name"),
            (
                r#"{"api": {"id": "a"}, "stage": {"name": "s", "variables": {"bad-name": "x"}}}"#,
                "stage.variables.bad-name",
            ),
            (r#"{"api": {"id": "a"}, "api_key_id_header": "x key"}"#, "api_key_id_header"),
            (
                r#"{"api": {"id": "a"}, "methods": [{"resource": "/a", "http_method": "GET"}, {"resource": "/a", "http_method": "GET"}]}"#,
                "methods[1]",
            ),
        ];
        for (json, path) in cases {
            assert_eq!(err(json).path, path, "{json}");
        }
        let long = format!(
            r#"{{"api": {{"id": "a"}}, "stage": {{"name": "s", "variables": {{"v": "{}"}}}}}}"#,
            "x".repeat(513)
        );
        assert_eq!(err(&long).path, "stage.variables.v");
    }

    #[test]
    fn too_many_stage_variables() {
        let vars: Vec<String> = (0..101).map(|i| format!(r#""v{i}": "x""#)).collect();
        let json = format!(
            r#"{{"api": {{"id": "a"}}, "stage": {{"name": "s", "variables": {{{}}}}}}}"#,
            vars.join(",")
        );
        assert_eq!(err(&json).path, "stage.variables");
    }
}
