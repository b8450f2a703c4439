//! The filter configuration as users write it: one JSON document, `deny_unknown_fields` at every
//! level, defaults written once here. [`crate::plan::Plan::compile`] validates and compiles it.

mod cache;
mod error;
mod global;
mod iam;
mod integration;
pub mod jwt;
mod key_store;
mod key_table;
mod lambda;
mod period;
pub mod policy;
mod response_type;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use cache::{MethodCache, StageCache, UnauthorizedStrategy};
pub use error::ConfigError;
pub use global::{FailureMode, RateLimitService};
pub use iam::{AuthorizationType, Iam, IamCredential, Secret, TrustedHeaders};
pub use integration::{
    ContentHandling, Integration, IntegrationResponse, IntegrationType, PassthroughBehavior,
    RequestValidator,
};
pub use key_store::{KeyStore, KeyStoreFailureMode};
pub use key_table::KeyTable;
pub use lambda::{ApiKeySource, LambdaAuthorizerConfig, LambdaAuthorizerType, LambdaFunction};
pub use period::Period;
pub use response_type::ResponseType;

use jwt::JwtAuthorizerConfig;
use policy::PolicyDocument;

/// The conventional header for the caller's API key id upstream (`api_key_id_header`); none is
/// sent unless configured, as API Gateway sends none.
pub const DEFAULT_API_KEY_ID_HEADER: &str = "x-tollgate-api-key-id";

/// The whole document. `K` holds `api_keys`: the list as written (what the CLI edits), or a
/// [`KeyTable`] that the keys are read straight into ([`CompactConfig`], what the filter
/// compiles: 100,000 keys as `ApiKey`s would take several times the table's memory).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config<K = Vec<ApiKey>> {
    pub api: Api,
    /// The stage this config serves when it serves one (`stages` empty).
    #[serde(default)]
    pub stage: Stage,
    /// Several stages of the API (`dev`, `prod`, ...): each request is served by one, chosen as
    /// `stage_selection` says.
    #[serde(default)]
    pub stages: Vec<Stage>,
    #[serde(default)]
    pub stage_selection: StageSelection,
    /// Custom domain names' base path mappings to this API's stages, as AWS's
    /// `BasePathMapping`/`ApiMapping`: a request whose path starts with `/{base_path}` (on
    /// `domain_name`, when given) is served by `stage`, with the base path removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub base_path_mappings: Vec<BasePathMapping>,
    #[serde(default)]
    pub methods: Vec<Method>,
    #[serde(default)]
    pub api_keys: K,
    /// Overrides of the AWS gateway responses, keyed by response type (`INVALID_API_KEY`, ...).
    #[serde(default)]
    pub gateway_responses: BTreeMap<ResponseType, GatewayResponseOverride>,
    /// Request header set to the caller's API key id on its way upstream (conventionally
    /// [`DEFAULT_API_KEY_ID_HEADER`]); `""`, the default, sends none, as API Gateway sends none.
    #[serde(default)]
    pub api_key_id_header: String,
    /// Publish who the caller is (API key id, IAM principal, token subject) as Envoy filter
    /// state (`wasm.tollgate.api_key_id`, ...) for access logs, metrics and traces. Off by
    /// default, since each value costs a host call per request; `tollgate render` turns it on
    /// for the access log it writes. A rejection's reason is published whatever this says.
    #[serde(default)]
    pub filter_state: bool,
    #[serde(default)]
    pub usage_plans: Vec<UsagePlan>,
    /// The account-level throttle shared by every API of this Envoy (AWS: 10,000 rps, burst
    /// 5,000); `null` turns it off.
    #[serde(default = "default_account_throttle")]
    pub account_throttle: Option<Throttle>,
    /// Adds `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` to admitted responses.
    #[serde(default)]
    pub rate_limit_headers: bool,
    /// Credentials and identity policies for methods with `authorization_type: AWS_IAM`.
    #[serde(default)]
    pub iam: Iam,
    /// The API's resource policy, applied to every caller whatever the method's authorization.
    #[serde(default)]
    pub resource_policy: Option<PolicyDocument>,
    #[serde(default)]
    pub trusted_headers: TrustedHeaders,
    /// Token authorizers (Cognito user pools, JWT issuers) that methods name.
    #[serde(default)]
    pub authorizers: Vec<JwtAuthorizerConfig>,
    /// Lambda authorizers (TOKEN, REQUEST) that CUSTOM methods name.
    #[serde(default)]
    pub lambda_authorizers: Vec<LambdaAuthorizerConfig>,
    /// Where API keys come from: `HEADER` (`x-api-key`) or `AUTHORIZER` (`usageIdentifierKey`).
    #[serde(default)]
    pub api_key_source: ApiKeySource,
    /// Models (JSON Schema draft 4) by name, for request body validation.
    #[serde(default)]
    pub models: BTreeMap<String, serde_json::Value>,
    /// Request validators by name, which methods name in `request_validator`.
    #[serde(default)]
    pub request_validators: BTreeMap<String, RequestValidator>,
    /// Operators' credentials for the management routes (usage, cache flush) that the filter
    /// serves on the route named `tollgate.admin`; without it there are none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<Admin>,
    /// The rate-limit service that counts usage plans marked `global` across every Envoy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_service: Option<RateLimitService>,
    /// API keys kept in the key store (Redis, through `tollgate-ratelimit`) for a fleet, instead
    /// of in `api_keys` (which must then be empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_store: Option<KeyStore>,
}

/// Who may call the management routes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Admin {
    /// Admin keys, sent in `x-tollgate-admin-key`; only their SHA-256 is kept.
    #[serde(default)]
    pub keys: Vec<AdminKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdminKey {
    pub id: String,
    /// Hex SHA-256 of the key value.
    pub value_sha256: String,
}

/// A token bucket: `rate` requests per second (may be fractional), `burst` requests at once.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    pub rate: f64,
    pub burst: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    pub limit: u64,
    pub period: Period,
    /// WEEK: 0 = Sunday ... 6 = Saturday; MONTH: days after the 1st (0-27); DAY: 0.
    #[serde(default)]
    pub offset: u32,
}

/// An AWS usage plan: a per-key throttle and quota over the API stages it covers.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UsagePlan {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub throttle: Option<Throttle>,
    #[serde(default)]
    pub quota: Option<Quota>,
    #[serde(default)]
    pub api_stages: Vec<PlanStage>,
    /// Counted by `rate_limit_service` for the whole fleet (and kept across restarts) instead
    /// of in each Envoy's shared data.
    #[serde(default, skip_serializing_if = "is_false")]
    pub global: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlanStage {
    pub api_id: String,
    pub stage: String,
    /// Per-method throttles keyed like AWS: `/pets/GET`, `/pets/{petId}/*`.
    #[serde(default)]
    pub method_throttles: BTreeMap<String, Throttle>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    pub id: String,
    #[serde(default = "default_region")]
    pub region: String,
    #[serde(default = "default_account_id")]
    pub account_id: String,
    /// AWS's `minimumCompressionSize`: answers of at least this many bytes are gzip-compressed
    /// for clients that accept it (0-10,485,760; `null`: never). Envoy's compressor does it
    /// (`tollgate render` configures it); the filter does not read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_compression_size: Option<u32>,
    /// AWS's `binaryMediaTypes` (`image/png`, `image/*`, `*/*`): bodies of these types are
    /// binary (base64 in Lambda proxy events; what `content_handling` converts), and a Lambda
    /// proxy function's base64 body is decoded for a client whose first `Accept` type is one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binary_media_types: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub name: String,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Default method throttle of the stage (all callers together).
    #[serde(default)]
    pub throttle: Option<Throttle>,
    /// Per-method stage throttles keyed like AWS: `/pets/GET`, `/pets/{petId}/*`.
    #[serde(default)]
    pub method_throttles: BTreeMap<String, Throttle>,
    /// A canary release: this share of the stage's requests sees the overridden variables.
    #[serde(default)]
    pub canary: Option<Canary>,
    /// The stage's response cache.
    #[serde(default)]
    pub cache: Option<StageCache>,
}

impl Default for Stage {
    fn default() -> Self {
        Stage {
            name: "prod".into(),
            variables: BTreeMap::new(),
            throttle: None,
            method_throttles: BTreeMap::new(),
            canary: None,
            cache: None,
        }
    }
}

/// AWS's `canarySettings`: `percentTraffic` of the stage's requests, chosen at random per
/// request, run with the stage variables overridden.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Canary {
    pub percent_traffic: f64,
    #[serde(default)]
    pub stage_variable_overrides: BTreeMap<String, String>,
    /// AWS's `useStageCache`: the canary's requests read and fill the stage's cache; by
    /// default (`false`, as on AWS) they have a cache of their own, so a canary's answers never
    /// reach the stage's callers.
    #[serde(default)]
    pub use_stage_cache: bool,
}

/// How a request's stage is chosen when the config has `stages`: the Envoy route's name when
/// it names a stage; else the first path segment (`/dev/pets`, execute-api style, the segment
/// then removed) when `path_prefix`; else the value of `header` (for example `accept-version`);
/// else `default`. A request no stage is chosen for is 403 `Missing Authentication Token`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StageSelection {
    #[serde(default = "default_true")]
    pub path_prefix: bool,
    #[serde(default)]
    pub header: Option<String>,
    #[serde(default)]
    pub default: Option<String>,
}

/// One base path of a custom domain name, mapped to a stage of this API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BasePathMapping {
    /// The custom domain (`api.example.com`), compared with the request's host; any host when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_name: Option<String>,
    /// `v1`, `orders/v2` (several segments); `""` or `(none)` maps the domain's root.
    #[serde(default)]
    pub base_path: String,
    /// The stage the base path serves.
    pub stage: String,
}

impl Default for StageSelection {
    fn default() -> Self {
        StageSelection { path_prefix: true, header: None, default: None }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Method {
    /// Resource path template: `/pets`, `/pets/{petId}`, `/{proxy+}`.
    pub resource: String,
    /// `GET`, `POST`, ... or `ANY`.
    pub http_method: String,
    /// The operation's name (OpenAPI `operationId`), used by generated SDKs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_name: Option<String>,
    #[serde(default)]
    pub api_key_required: bool,
    #[serde(default)]
    pub authorization_type: AuthorizationType,
    /// The authorizer of a COGNITO_USER_POOLS or JWT method (`authorizers[].id`) or of a CUSTOM
    /// method (`lambda_authorizers[].id`).
    #[serde(default)]
    pub authorizer_id: Option<String>,
    /// OAuth scopes, one of which the token must carry (AWS: then an access token is needed).
    #[serde(default)]
    pub authorization_scopes: Vec<String>,
    /// The request validator (`request_validators` name) that checks this method's requests.
    #[serde(default)]
    pub request_validator: Option<String>,
    /// `method.request.{path|querystring|header}.NAME` -> required.
    #[serde(default)]
    pub request_parameters: BTreeMap<String, bool>,
    /// Content-Type -> model name, for body validation.
    #[serde(default)]
    pub request_models: BTreeMap<String, String>,
    #[serde(default)]
    pub integration: Option<Integration>,
    /// Cache settings over the stage's.
    #[serde(default)]
    pub cache: Option<MethodCache>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Hex SHA-256 of the key value; the value itself never appears in a config.
    pub value_sha256: String,
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default)]
    pub usage_plan_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayResponseOverride {
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderValue>,
    /// Body template; `$context.error.messageString`, `$context.error.message`,
    /// `$context.error.responseType` and `$context.requestId` are substituted.
    #[serde(default)]
    pub body: Option<String>,
    /// Body templates for other media types (`application/xml`), chosen by the request's
    /// `Accept` as AWS's `responseTemplates`; `body` is `application/json`'s.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub templates: BTreeMap<String, String>,
}

/// A gateway response header's value: fixed text, or `{"from": EXPRESSION}` with one of AWS's
/// mapping expressions `method.request.header.NAME`, `stageVariables.NAME` or `context.NAME`
/// (the common "echo the Origin" CORS setup); a header whose expression has no value is left
/// out.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum HeaderValue {
    Static(String),
    From { from: String },
}

fn default_region() -> String {
    "us-east-1".into()
}

fn default_account_id() -> String {
    "000000000000".into()
}

fn default_account_throttle() -> Option<Throttle> {
    Some(Throttle { rate: 10_000.0, burst: 5_000 })
}

fn default_true() -> bool {
    true
}

fn is_false(value: &bool) -> bool {
    !value
}

/// A config whose API keys are read into a [`KeyTable`] as the document is read.
pub type CompactConfig = Config<KeyTable>;

impl Config {
    /// Parses a config document; errors name the field path (`methods[2].http_method`).
    pub fn from_json(bytes: &[u8]) -> Result<Config, ConfigError> {
        parse(serde_json::Deserializer::from_slice(bytes))
    }
}

impl CompactConfig {
    /// Parses a config document, its keys straight into a [`KeyTable`]; errors as
    /// [`Config::from_json`]'s.
    pub fn compact_from_json(bytes: &[u8]) -> Result<CompactConfig, ConfigError> {
        parse(serde_json::Deserializer::from_slice(bytes))
    }

    /// As [`CompactConfig::compact_from_json`], reading the document as it goes: it is never
    /// whole in memory (give it a buffered reader: it reads a byte at a time).
    pub fn compact_from_reader(reader: impl std::io::Read) -> Result<CompactConfig, ConfigError> {
        parse(serde_json::Deserializer::from_reader(reader))
    }
}

fn parse<'de, K, R>(mut de: serde_json::Deserializer<R>) -> Result<Config<K>, ConfigError>
where
    K: Deserialize<'de> + Default,
    R: serde_json::de::Read<'de>,
{
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ConfigError::new(if path == "." { String::new() } else { path }, inner.to_string())
    })
}
