//! IAM-style policies: identity policies attached to callers and API Gateway resource policies.
//!
//! A [`PolicyDocument`] (the AWS JSON, embeddable in the config) is compiled once by
//! [`CompiledPolicy::compile`] — wildcards, CIDRs and dates parsed, unknown operators and keys
//! refused — and then evaluated per request against an [`AccessRequest`] without allocating.
//! [`authorize`] combines the identity policies and the resource policy as API Gateway does for
//! callers of the API's own account.

mod condition;
mod date;
use crate::config::policy as document;
mod ip;
mod matcher;
mod principal;
mod statement;

use std::net::IpAddr;

pub use document::{
    ConditionValue, Conditions, Effect, OneOrMany, OrderedMap, PolicyDocument, PolicyVersion,
    Principal, Statement,
};

use crate::config::ConfigError;
use statement::CompiledStatement;

/// Where a policy is attached, which decides whether statements name a principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Attached to the caller: statements have no `Principal`.
    Identity,
    /// Attached to the API: every statement has `Principal` or `NotPrincipal`.
    Resource,
}

/// What a policy is asked about: the request context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessRequest<'a> {
    /// `execute-api:Invoke` or `execute-api:InvalidateCache`.
    pub action: &'a str,
    /// The method ARN, see [`method_arn`].
    pub resource: &'a str,
    /// The caller's IAM principal ARN (for a role session, the role's ARN, as in
    /// `aws:PrincipalArn`); `None` for a caller that is not IAM-authenticated.
    pub principal_arn: Option<&'a str>,
    /// The caller's AWS Organizations id, if its credential names one.
    pub principal_org_id: Option<&'a str>,
    pub source_ip: Option<IpAddr>,
    pub source_vpce: Option<&'a str>,
    pub source_vpc: Option<&'a str>,
    pub secure_transport: bool,
    /// Unix seconds.
    pub current_time: i64,
    /// The request's `Referer` and `User-Agent` headers (`aws:Referer`, `aws:UserAgent`).
    pub referer: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// What one policy says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// An `Allow` statement applies and no `Deny` does.
    Allow,
    /// A `Deny` statement applies.
    ExplicitDeny,
    /// No statement applies.
    NoMatch,
}

/// The combined answer of [`authorize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Allowed,
    /// Nothing allowed the request.
    ImplicitDeny,
    /// A statement denied it.
    ExplicitDeny,
}

/// A validated policy, ready to evaluate.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    deny: Vec<CompiledStatement>,
    allow: Vec<CompiledStatement>,
}

impl CompiledPolicy {
    /// Validates and precompiles `doc`; `path` names it in errors (`resource_policy` gives
    /// `resource_policy.Statement[1].Condition.IpAddress.aws:SourceIp`).
    pub fn compile(
        doc: &PolicyDocument,
        kind: PolicyKind,
        path: &str,
    ) -> Result<CompiledPolicy, ConfigError> {
        // Without a Version, AWS reads the policy as 2008-10-17: `${...}` is plain text.
        let variables = doc.version == Some(PolicyVersion::V2012_10_17);
        let statements_path = join(path, "Statement");
        if doc.statement.as_slice().is_empty() {
            return Err(ConfigError::new(statements_path, "a policy needs at least one statement"));
        }
        let mut policy = CompiledPolicy { deny: Vec::new(), allow: Vec::new() };
        let mut sids: Vec<&str> = Vec::new();
        for (statement_path, statement) in elements(&doc.statement, &statements_path) {
            if let Some(sid) = statement.sid.as_deref() {
                if sids.contains(&sid) {
                    return Err(ConfigError::new(
                        join(&statement_path, "Sid"),
                        format!("duplicate Sid `{sid}`: statement ids are unique within a policy"),
                    ));
                }
                sids.push(sid);
            }
            let compiled = CompiledStatement::compile(statement, kind, variables, &statement_path)?;
            match statement.effect {
                Effect::Allow => policy.allow.push(compiled),
                Effect::Deny => policy.deny.push(compiled),
            }
        }
        Ok(policy)
    }

    /// Any applicable `Deny` wins over any applicable `Allow`.
    pub fn evaluate(&self, req: &AccessRequest<'_>) -> Decision {
        if self.deny.iter().any(|s| s.applies(req)) {
            Decision::ExplicitDeny
        } else if self.allow.iter().any(|s| s.applies(req)) {
            Decision::Allow
        } else {
            Decision::NoMatch
        }
    }
}

/// API Gateway's decision for a caller in the API's own account.
///
/// An explicit deny anywhere wins. An IAM-authenticated caller (`AWS_IAM`) needs an allow from
/// one of its identity policies or from the resource policy. For any other caller identity
/// policies do not exist: the resource policy, if there is one, must allow.
pub fn authorize(
    identity: &[CompiledPolicy],
    resource_policy: Option<&CompiledPolicy>,
    iam_caller: bool,
    req: &AccessRequest<'_>,
) -> Access {
    let resource = resource_policy.map(|p| p.evaluate(req));
    if resource == Some(Decision::ExplicitDeny) {
        return Access::ExplicitDeny;
    }
    let resource_allows = resource == Some(Decision::Allow);
    if !iam_caller {
        return if resource.is_none() || resource_allows {
            Access::Allowed
        } else {
            Access::ImplicitDeny
        };
    }
    let mut identity_allows = false;
    for policy in identity {
        match policy.evaluate(req) {
            Decision::ExplicitDeny => return Access::ExplicitDeny,
            Decision::Allow => identity_allows = true,
            Decision::NoMatch => {}
        }
    }
    if identity_allows || resource_allows {
        Access::Allowed
    } else {
        Access::ImplicitDeny
    }
}

/// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}`, the resource that
/// policies name, with the path's leading `/` dropped (`/` gives `.../prod/GET/`). The partition
/// follows the region (`aws-cn` for `cn-*`, `aws-us-gov` for `us-gov-*`). `path` is the
/// resource path as the client sent it, without the query string.
pub fn method_arn(
    region: &str,
    account_id: &str,
    api_id: &str,
    stage: &str,
    http_method: &str,
    path: &str,
) -> String {
    let partition = partition(region);
    let method = http_method.to_ascii_uppercase();
    let path = path.strip_prefix('/').unwrap_or(path);
    format!("arn:{partition}:execute-api:{region}:{account_id}:{api_id}/{stage}/{method}/{path}")
}

/// The ARN partition of a region: `aws-cn`, `aws-us-gov` or `aws`.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// `path.field`, or `field` at the top.
pub(crate) fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

/// The items of a string-or-array field with their paths: `path` for a single value,
/// `path[i]` for an array.
pub(crate) fn elements<'a, T>(
    list: &'a OneOrMany<T>,
    path: &'a str,
) -> impl Iterator<Item = (String, &'a T)> + 'a {
    let single = matches!(list, OneOrMany::One(_));
    list.as_slice()
        .iter()
        .enumerate()
        .map(move |(i, item)| (if single { path.to_owned() } else { format!("{path}[{i}]") }, item))
}

#[cfg(test)]
mod tests;
