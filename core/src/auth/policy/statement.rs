//! One compiled statement: does it apply to a request?

use super::condition::{self, Condition};
use super::document::{OneOrMany, Statement};
use super::matcher::Pattern;
use super::principal::PrincipalMatcher;
use super::{elements, join, AccessRequest, PolicyKind};
use crate::config::ConfigError;

#[derive(Debug, Clone)]
pub(crate) struct CompiledStatement {
    actions: Negatable<Pattern>,
    resources: Negatable<ResourcePattern>,
    /// Resource policies only.
    principal: Option<Negatable<PrincipalMatcher>>,
    conditions: Vec<Condition>,
}

/// `Action` or `NotAction` (and so on): the list, and whether it is the `Not` form.
#[derive(Debug, Clone)]
struct Negatable<T> {
    items: Vec<T>,
    negated: bool,
}

impl<T> Negatable<T> {
    fn applies(&self, matches: impl Fn(&T) -> bool) -> bool {
        self.items.iter().any(matches) != self.negated
    }
}

#[derive(Debug, Clone)]
enum ResourcePattern {
    Arn(Pattern),
    /// API Gateway's shorthand in resource policies, `execute-api:/stage/METHOD/path`: what
    /// follows the API id in the resource ARN. AWS expands it to this API's ARN when the policy
    /// is saved; Tollgate only evaluates requests to its own API, so matching the tail is the
    /// same.
    ApiTail(Pattern),
}

impl ResourcePattern {
    fn matches(&self, resource: &str) -> bool {
        match self {
            ResourcePattern::Arn(p) => p.matches(resource),
            ResourcePattern::ApiTail(p) => api_tail(resource).is_some_and(|tail| p.matches(tail)),
        }
    }
}

/// `/prod/GET/pets/1` of `arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/GET/pets/1`.
fn api_tail(resource: &str) -> Option<&str> {
    let mut fields = resource.splitn(6, ':');
    if fields.next() != Some("arn") || fields.nth(1) != Some("execute-api") {
        return None;
    }
    let api_and_tail = fields.nth(2)?;
    api_and_tail.find('/').and_then(|slash| api_and_tail.get(slash..))
}

const API_SHORTHAND: &str = "execute-api:";

impl CompiledStatement {
    /// `path` names the statement; `variables`: policy version 2012-10-17.
    pub fn compile(
        statement: &Statement,
        kind: PolicyKind,
        variables: bool,
        path: &str,
    ) -> Result<CompiledStatement, ConfigError> {
        let (actions, negated, actions_path) =
            one_of(&statement.action, &statement.not_action, "Action", "NotAction", path)?;
        let actions = Negatable {
            items: compile_list(actions, &actions_path, |action| {
                if action != "*"
                    && !action.split_once(':').is_some_and(|(s, a)| !s.is_empty() && !a.is_empty())
                {
                    return Err(format!("`{action}` is not \"*\" or service:action"));
                }
                Pattern::parse(action, false, true)
            })?,
            negated,
        };

        let (resources, negated, resources_path) =
            one_of(&statement.resource, &statement.not_resource, "Resource", "NotResource", path)?;
        let resources = Negatable {
            items: compile_list(resources, &resources_path, |resource| {
                match resource.strip_prefix(API_SHORTHAND) {
                    Some(tail) if kind == PolicyKind::Resource && tail.starts_with('/') => {
                        Pattern::parse(tail, variables, false).map(ResourcePattern::ApiTail)
                    }
                    _ if resource == "*" || resource.starts_with("arn:") => {
                        Pattern::parse(resource, variables, false).map(ResourcePattern::Arn)
                    }
                    _ if kind == PolicyKind::Resource => Err(format!(
                        "`{resource}` is not \"*\", an ARN or execute-api:/stage/METHOD/path"
                    )),
                    _ => Err(format!("`{resource}` is not \"*\" or an ARN")),
                }
            })?,
            negated,
        };

        let principal_path = join(path, "Principal");
        let not_principal_path = join(path, "NotPrincipal");
        let principal = match (kind, &statement.principal, &statement.not_principal) {
            (PolicyKind::Identity, Some(_), _) => {
                return Err(ConfigError::new(principal_path, IDENTITY_HAS_NO_PRINCIPAL));
            }
            (PolicyKind::Identity, None, Some(_)) => {
                return Err(ConfigError::new(not_principal_path, IDENTITY_HAS_NO_PRINCIPAL));
            }
            (PolicyKind::Identity, None, None) => None,
            (PolicyKind::Resource, Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    not_principal_path,
                    "a statement has Principal or NotPrincipal, not both",
                ));
            }
            (PolicyKind::Resource, Some(p), None) => Some(Negatable {
                items: vec![PrincipalMatcher::compile(p, &principal_path)?],
                negated: false,
            }),
            (PolicyKind::Resource, None, Some(p)) => Some(Negatable {
                items: vec![PrincipalMatcher::compile(p, &not_principal_path)?],
                negated: true,
            }),
            (PolicyKind::Resource, None, None) => {
                return Err(ConfigError::new(
                    principal_path,
                    "missing: a resource policy statement needs Principal or NotPrincipal",
                ));
            }
        };

        let conditions = match &statement.condition {
            Some(conditions) => {
                condition::compile(conditions, variables, &join(path, "Condition"))?
            }
            None => Vec::new(),
        };
        Ok(CompiledStatement { actions, resources, principal, conditions })
    }

    pub fn applies(&self, req: &AccessRequest<'_>) -> bool {
        self.actions.applies(|p| p.matches(req.action))
            && self.resources.applies(|r| r.matches(req.resource))
            && self.principal.as_ref().is_none_or(|p| p.applies(|m| m.matches(req.principal_arn)))
            && self.conditions.iter().all(|c| c.holds(req))
    }
}

const IDENTITY_HAS_NO_PRINCIPAL: &str =
    "identity policies have no principal: they apply to the identity they are attached to";

/// The one of `positive`/`negative` that is present, whether it is the negative one, and its
/// path.
fn one_of<'a, T>(
    positive: &'a Option<OneOrMany<T>>,
    negative: &'a Option<OneOrMany<T>>,
    positive_name: &str,
    negative_name: &str,
    path: &str,
) -> Result<(&'a OneOrMany<T>, bool, String), ConfigError> {
    match (positive, negative) {
        (Some(list), None) => Ok((list, false, join(path, positive_name))),
        (None, Some(list)) => Ok((list, true, join(path, negative_name))),
        (Some(_), Some(_)) => Err(ConfigError::new(
            join(path, negative_name),
            format!("a statement has {positive_name} or {negative_name}, not both"),
        )),
        (None, None) => Err(ConfigError::new(
            join(path, positive_name),
            format!("missing: a statement needs {positive_name} or {negative_name}"),
        )),
    }
}

fn compile_list<T>(
    list: &OneOrMany<String>,
    path: &str,
    compile: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, ConfigError> {
    if list.as_slice().is_empty() {
        return Err(ConfigError::new(path, "an empty list matches nothing"));
    }
    elements(list, path)
        .map(|(item_path, item)| {
            compile(item).map_err(|reason| ConfigError::new(item_path, reason))
        })
        .collect()
}
