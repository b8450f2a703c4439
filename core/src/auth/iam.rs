//! AWS_IAM, compiled: credentials by access key id with their resolved secrets and identity
//! policies, ready for [`crate::auth::sigv4::verify`] and [`crate::auth::policy::authorize`].

use std::collections::HashMap;

use crate::auth::policy::{CompiledPolicy, PolicyKind};
use crate::config::{ConfigError, Iam, Secret};

#[derive(Debug)]
pub struct CredentialPlan {
    pub access_key_id: String,
    pub secret_access_key: Vec<u8>,
    pub session_token: Option<Vec<u8>>,
    pub principal_arn: String,
    pub principal_org_id: Option<String>,
    pub enabled: bool,
    pub policies: Vec<CompiledPolicy>,
}

#[derive(Debug, Default)]
pub struct IamPlan {
    by_key_id: HashMap<String, usize>,
    credentials: Vec<CredentialPlan>,
    pub max_skew: u32,
}

const MAX_SKEW: u32 = 7 * 24 * 3600;

impl IamPlan {
    /// Compiles the credentials; `env` resolves `{"env": NAME}` secrets.
    pub fn compile(iam: &Iam, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        if iam.max_skew_seconds == 0 || iam.max_skew_seconds > MAX_SKEW {
            return Err(ConfigError::new(
                "iam.max_skew_seconds",
                format!("{} is not in 1-{MAX_SKEW}", iam.max_skew_seconds),
            ));
        }
        let mut plan = IamPlan { max_skew: iam.max_skew_seconds, ..IamPlan::default() };
        for (i, c) in iam.credentials.iter().enumerate() {
            let path = format!("iam.credentials[{i}]");
            let id = &c.access_key_id;
            if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(ConfigError::new(
                    format!("{path}.access_key_id"),
                    "must be 1-128 letters and digits",
                ));
            }
            if plan.by_key_id.insert(id.clone(), i).is_some() {
                return Err(ConfigError::new(
                    format!("{path}.access_key_id"),
                    format!("`{id}` is listed twice"),
                ));
            }
            if account_of(&c.principal_arn).is_none() {
                return Err(ConfigError::new(
                    format!("{path}.principal_arn"),
                    "must be an ARN with a 12-digit account, like arn:aws:iam::123456789012:user/alice",
                ));
            }
            let secret = resolve(&c.secret_access_key, env, &format!("{path}.secret_access_key"))?;
            let session_token = match &c.session_token {
                Some(t) => Some(resolve(t, env, &format!("{path}.session_token"))?.into_bytes()),
                None => None,
            };
            let policies = c
                .policies
                .iter()
                .enumerate()
                .map(|(j, p)| {
                    CompiledPolicy::compile(
                        p,
                        PolicyKind::Identity,
                        &format!("{path}.policies[{j}]"),
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            plan.credentials.push(CredentialPlan {
                access_key_id: id.clone(),
                secret_access_key: secret.into_bytes(),
                session_token,
                principal_arn: c.principal_arn.clone(),
                principal_org_id: c.principal_org_id.clone(),
                enabled: c.enabled,
                policies,
            });
        }
        Ok(plan)
    }

    /// The enabled credential with this access key id, and its index (for the key cache).
    pub fn lookup(&self, access_key_id: &str) -> Option<(usize, &CredentialPlan)> {
        let i = *self.by_key_id.get(access_key_id)?;
        self.credentials.get(i).filter(|c| c.enabled).map(|c| (i, c))
    }

    /// The credential at `index` (as [`IamPlan::lookup`] gave it).
    pub fn credential(&self, index: usize) -> Option<&CredentialPlan> {
        self.credentials.get(index)
    }

    pub fn len(&self) -> usize {
        self.credentials.len()
    }

    pub fn is_empty(&self) -> bool {
        self.credentials.is_empty()
    }
}

fn resolve(
    secret: &Secret,
    env: &dyn Fn(&str) -> Option<String>,
    path: &str,
) -> Result<String, ConfigError> {
    let value = match secret {
        Secret::Value(v) => v.clone(),
        Secret::Env { env: name } => env(name).ok_or_else(|| {
            ConfigError::new(
                path,
                format!(
                    "environment variable `{name}` is not set in the wasm VM (set it for Envoy and list it in vm_config.environment_variables.host_env_keys)"
                ),
            )
        })?,
    };
    if value.is_empty() {
        return Err(ConfigError::new(path, "is empty"));
    }
    Ok(value)
}

/// The account of `arn:partition:service:region:account:resource`.
impl CredentialPlan {
    /// The account of the principal (`$context.identity.accountId`).
    pub fn account_id(&self) -> Option<&str> {
        account_of(&self.principal_arn)
    }
}

fn account_of(arn: &str) -> Option<&str> {
    let mut fields = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some(_), Some(_), Some(account), Some(resource)) =
        (fields.next(), fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return None;
    };
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !resource.is_empty())
        .then_some(account)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    fn iam(json: serde_json::Value) -> Iam {
        serde_json::from_value(json).unwrap()
    }

    fn env(name: &str) -> Option<String> {
        (name == "SET").then(|| "from-env".to_string())
    }

    #[test]
    fn secrets_come_from_the_config_or_the_environment() {
        let plan = IamPlan::compile(
            &iam(serde_json::json!({"credentials": [
                {"access_key_id": "AKID1", "secret_access_key": "s1", "principal_arn": "arn:aws:iam::123456789012:user/a"},
                {"access_key_id": "AKID2", "secret_access_key": {"env": "SET"}, "session_token": {"env": "SET"},
                 "principal_arn": "arn:aws:iam::123456789012:user/b"},
                {"access_key_id": "AKID3", "secret_access_key": "s3", "enabled": false,
                 "principal_arn": "arn:aws:iam::123456789012:user/c"},
            ]})),
            &env,
        )
        .unwrap();
        assert_eq!(plan.lookup("AKID1").unwrap().1.secret_access_key, b"s1");
        let (i, two) = plan.lookup("AKID2").unwrap();
        assert_eq!((i, two.secret_access_key.as_slice()), (1, &b"from-env"[..]));
        assert_eq!(two.session_token.as_deref(), Some(&b"from-env"[..]));
        assert!(plan.lookup("AKID3").is_none(), "disabled");
        assert!(plan.lookup("AKID4").is_none());
        assert_eq!(plan.max_skew, 300);
    }

    #[test]
    fn bad_credentials_are_named() {
        let cases = [
            (
                serde_json::json!({"credentials": [{"access_key_id": "AK ID", "secret_access_key": "s", "principal_arn": "arn:aws:iam::123456789012:user/a"}]}),
                "iam.credentials[0].access_key_id",
            ),
            (
                serde_json::json!({"credentials": [{"access_key_id": "A", "secret_access_key": "s", "principal_arn": "arn:aws:iam::123456789012:user/a"}, {"access_key_id": "A", "secret_access_key": "s", "principal_arn": "arn:aws:iam::123456789012:user/a"}]}),
                "iam.credentials[1].access_key_id",
            ),
            (
                serde_json::json!({"credentials": [{"access_key_id": "A", "secret_access_key": "s", "principal_arn": "alice"}]}),
                "iam.credentials[0].principal_arn",
            ),
            (
                serde_json::json!({"credentials": [{"access_key_id": "A", "secret_access_key": {"env": "UNSET"}, "principal_arn": "arn:aws:iam::123456789012:user/a"}]}),
                "iam.credentials[0].secret_access_key",
            ),
            (
                serde_json::json!({"credentials": [{"access_key_id": "A", "secret_access_key": "", "principal_arn": "arn:aws:iam::123456789012:user/a"}]}),
                "iam.credentials[0].secret_access_key",
            ),
            (serde_json::json!({"max_skew_seconds": 0}), "iam.max_skew_seconds"),
        ];
        for (json, path) in cases {
            let e = IamPlan::compile(&iam(json.clone()), &env).unwrap_err();
            assert_eq!(e.path, path, "{json}: {e}");
        }
    }
}
