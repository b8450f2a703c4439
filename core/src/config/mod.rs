//! The filter configuration as users write it: one JSON document, `deny_unknown_fields` at every
//! level, defaults written once here. [`crate::plan::Plan::compile`] validates and compiles it.

mod error;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::gateway_response::ResponseType;

pub use error::ConfigError;

/// Header that carries the caller's API key id to the upstream unless configured otherwise.
pub const DEFAULT_API_KEY_ID_HEADER: &str = "x-tollgate-api-key-id";

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub api: Api,
    #[serde(default)]
    pub stage: Stage,
    #[serde(default)]
    pub methods: Vec<Method>,
    #[serde(default)]
    pub api_keys: Vec<ApiKey>,
    /// Overrides of the AWS gateway responses, keyed by response type (`INVALID_API_KEY`, ...).
    #[serde(default)]
    pub gateway_responses: BTreeMap<ResponseType, GatewayResponseOverride>,
    /// Request header set to the caller's API key id on its way upstream; `""` turns it off.
    #[serde(default = "default_api_key_id_header")]
    pub api_key_id_header: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    pub id: String,
    #[serde(default = "default_region")]
    pub region: String,
    #[serde(default = "default_account_id")]
    pub account_id: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub name: String,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

impl Default for Stage {
    fn default() -> Self {
        Stage {
            name: "prod".into(),
            variables: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Method {
    /// Resource path template: `/pets`, `/pets/{petId}`, `/{proxy+}`.
    pub resource: String,
    /// `GET`, `POST`, ... or `ANY`.
    pub http_method: String,
    #[serde(default)]
    pub api_key_required: bool,
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
    pub headers: BTreeMap<String, String>,
    /// Body template; `$context.error.messageString`, `$context.error.message`,
    /// `$context.error.responseType` and `$context.requestId` are substituted.
    #[serde(default)]
    pub body: Option<String>,
}

fn default_api_key_id_header() -> String {
    DEFAULT_API_KEY_ID_HEADER.into()
}

fn default_region() -> String {
    "us-east-1".into()
}

fn default_account_id() -> String {
    "000000000000".into()
}

fn default_true() -> bool {
    true
}

impl Config {
    /// Parses a config document; errors name the field path (`methods[2].http_method`).
    pub fn from_json(bytes: &[u8]) -> Result<Config, ConfigError> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            ConfigError::new(
                if path == "." { String::new() } else { path },
                inner.to_string(),
            )
        })
    }
}
