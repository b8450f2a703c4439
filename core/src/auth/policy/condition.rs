//! The `Condition` block: `{"Operator[IfExists]": {"key": value-or-values}}`.
//!
//! Operator blocks AND, keys within a block AND, the values of one key OR. A negated operator
//! (`StringNotEquals`, `NotIpAddress`, ...) holds when the request's value matches none of them,
//! and also when the key is absent from the request; a positive one is false on an absent key
//! unless it has the `IfExists` suffix. Unknown operators and keys are compile errors.

use std::net::IpAddr;

use super::date::parse_time;
use super::document::{ConditionValue, Conditions, OneOrMany};
use super::ip::Cidr;
use super::matcher::{literal_text, tokenize, Pattern};
use super::{elements, join, AccessRequest};
use crate::config::ConfigError;

/// The condition keys Tollgate knows, spelled as AWS documents them (matched case-insensitively).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    SourceIp,
    SourceVpce,
    SourceVpc,
    PrincipalArn,
    SecureTransport,
    CurrentTime,
    PrincipalAccount,
    PrincipalOrgId,
    Referer,
    UserAgent,
}

const KEYS: [(&str, Key); 10] = [
    ("aws:SourceIp", Key::SourceIp),
    ("aws:SourceVpce", Key::SourceVpce),
    ("aws:SourceVpc", Key::SourceVpc),
    ("aws:PrincipalArn", Key::PrincipalArn),
    ("aws:SecureTransport", Key::SecureTransport),
    ("aws:CurrentTime", Key::CurrentTime),
    ("aws:PrincipalAccount", Key::PrincipalAccount),
    ("aws:PrincipalOrgID", Key::PrincipalOrgId),
    ("aws:Referer", Key::Referer),
    ("aws:UserAgent", Key::UserAgent),
];

/// What a key's value is in the request.
enum Value<'a> {
    Str(&'a str),
    Ip(IpAddr),
    Bool(bool),
    /// Epoch milliseconds.
    Time(i64),
}

impl Key {
    fn parse(name: &str) -> Option<Key> {
        KEYS.iter().find(|(known, _)| known.eq_ignore_ascii_case(name)).map(|(_, key)| *key)
    }

    fn value<'a>(self, req: &AccessRequest<'a>) -> Option<Value<'a>> {
        match self {
            Key::SourceIp => req.source_ip.map(Value::Ip),
            Key::SourceVpce => req.source_vpce.map(Value::Str),
            Key::SourceVpc => req.source_vpc.map(Value::Str),
            Key::PrincipalArn => req.principal_arn.map(Value::Str),
            Key::SecureTransport => Some(Value::Bool(req.secure_transport)),
            Key::CurrentTime => Some(Value::Time(req.current_time.saturating_mul(1000))),
            // `arn:aws:iam::123456789012:user/alice` -> `123456789012`.
            Key::PrincipalAccount => {
                req.principal_arn.and_then(|arn| arn.split(':').nth(4)).map(Value::Str)
            }
            Key::PrincipalOrgId => req.principal_org_id.map(Value::Str),
            Key::Referer => req.referer.map(Value::Str),
            Key::UserAgent => req.user_agent.map(Value::Str),
        }
    }

    /// The operators that apply to the key, for error messages.
    fn operators(self) -> &'static str {
        match self {
            Key::SourceIp => "IpAddress, NotIpAddress or Null",
            Key::SourceVpce
            | Key::SourceVpc
            | Key::PrincipalAccount
            | Key::PrincipalOrgId
            | Key::Referer
            | Key::UserAgent => "a String operator or Null",
            Key::PrincipalArn => "a String or Arn operator or Null",
            Key::SecureTransport => "Bool or Null",
            Key::CurrentTime => "a Date operator or Null",
        }
    }
}

/// An operator without its negation and `IfExists` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    /// `ArnEquals` and `ArnLike` alike (as in AWS): each of the six `:`-fields matched on its
    /// own, with wildcards.
    ArnLike,
    IpAddress,
    Bool,
    Date(DateOp),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateOp {
    Equals,
    LessThan,
    LessThanEquals,
    GreaterThan,
    GreaterThanEquals,
}

/// (name, operator, negated)
const OPERATORS: [(&str, Op, bool); 20] = [
    ("StringEquals", Op::StringEquals, false),
    ("StringNotEquals", Op::StringEquals, true),
    ("StringEqualsIgnoreCase", Op::StringEqualsIgnoreCase, false),
    ("StringNotEqualsIgnoreCase", Op::StringEqualsIgnoreCase, true),
    ("StringLike", Op::StringLike, false),
    ("StringNotLike", Op::StringLike, true),
    ("ArnEquals", Op::ArnLike, false),
    ("ArnLike", Op::ArnLike, false),
    ("ArnNotEquals", Op::ArnLike, true),
    ("ArnNotLike", Op::ArnLike, true),
    ("IpAddress", Op::IpAddress, false),
    ("NotIpAddress", Op::IpAddress, true),
    ("Bool", Op::Bool, false),
    ("DateEquals", Op::Date(DateOp::Equals), false),
    ("DateNotEquals", Op::Date(DateOp::Equals), true),
    ("DateLessThan", Op::Date(DateOp::LessThan), false),
    ("DateLessThanEquals", Op::Date(DateOp::LessThanEquals), false),
    ("DateGreaterThan", Op::Date(DateOp::GreaterThan), false),
    ("DateGreaterThanEquals", Op::Date(DateOp::GreaterThanEquals), false),
    ("Null", Op::Null, false),
];

/// `(operator, negated, if_exists)` of an operator name, or why it is refused.
fn parse_operator(name: &str) -> Result<(Op, bool, bool), String> {
    if name.starts_with("ForAnyValue:") || name.starts_with("ForAllValues:") {
        return Err(format!(
            "`{name}`: the set operators ForAnyValue: and ForAllValues: are for multivalued keys, \
             and every key Tollgate supports is single-valued"
        ));
    }
    let (base, if_exists) = match name.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (name, false),
    };
    if let Some((_, op, negated)) = OPERATORS.iter().find(|(known, _, _)| *known == base) {
        if *op == Op::Null && if_exists {
            return Err("`NullIfExists` is not an operator: Null already tests for absence".into());
        }
        return Ok((*op, *negated, if_exists));
    }
    let hint = OPERATORS
        .iter()
        .find(|(known, _, _)| known.eq_ignore_ascii_case(base))
        .map(|(known, _, _)| format!(" (operator names are case-sensitive: `{known}`)"))
        .unwrap_or_default();
    Err(format!("unknown condition operator `{name}`{hint}"))
}

/// The compiled values of one (operator, key) pair.
#[derive(Debug, Clone)]
enum Test {
    Equals(Vec<String>),
    EqualsIgnoreCase(Vec<String>),
    Like(Vec<Pattern>),
    Arn(Vec<ArnPattern>),
    Ip(Vec<Cidr>),
    Bool(Vec<bool>),
    Date(DateOp, Vec<i64>),
    /// `true`: the key must be absent; `false`: present.
    Null(Vec<bool>),
}

/// The six `:`-fields of an ARN, each a wildcard pattern (the last one may contain `:`).
#[derive(Debug, Clone)]
struct ArnPattern(Vec<Pattern>);

impl ArnPattern {
    fn matches(&self, arn: &str) -> bool {
        let mut fields = arn.splitn(6, ':');
        self.0.iter().all(|p| fields.next().is_some_and(|f| p.matches(f)))
    }
}

/// One (operator, key) pair of a `Condition` block.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    key: Key,
    test: Test,
    negated: bool,
    if_exists: bool,
}

impl Condition {
    pub fn holds(&self, req: &AccessRequest<'_>) -> bool {
        let value = self.key.value(req);
        if let Test::Null(expected) = &self.test {
            return expected.contains(&value.is_none());
        }
        match value {
            None => self.if_exists || self.negated,
            Some(value) => self.test.matches(&value).is_some_and(|any| any != self.negated),
        }
    }
}

impl Test {
    /// Whether any value matches; `None` if the value has the wrong type (which compile rules
    /// out), so that the condition fails closed.
    fn matches(&self, value: &Value<'_>) -> Option<bool> {
        Some(match (self, value) {
            (Test::Equals(values), Value::Str(s)) => values.iter().any(|v| v == s),
            (Test::EqualsIgnoreCase(values), Value::Str(s)) => {
                values.iter().any(|v| fold(v).eq(fold(s)))
            }
            (Test::Like(patterns), Value::Str(s)) => patterns.iter().any(|p| p.matches(s)),
            (Test::Arn(patterns), Value::Str(s)) => patterns.iter().any(|p| p.matches(s)),
            (Test::Ip(blocks), Value::Ip(ip)) => blocks.iter().any(|b| b.contains(*ip)),
            (Test::Bool(values), Value::Bool(b)) => values.contains(b),
            (Test::Date(op, values), Value::Time(now)) => values.iter().any(|v| match op {
                DateOp::Equals => now == v,
                DateOp::LessThan => now < v,
                DateOp::LessThanEquals => now <= v,
                DateOp::GreaterThan => now > v,
                DateOp::GreaterThanEquals => now >= v,
            }),
            _ => return None,
        })
    }
}

fn fold(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().flat_map(char::to_lowercase)
}

/// Compiles a statement's `Condition`; `path` names it. `variables`: policy version 2012-10-17.
pub(crate) fn compile(
    conditions: &Conditions,
    variables: bool,
    path: &str,
) -> Result<Vec<Condition>, ConfigError> {
    let mut compiled = Vec::new();
    for (operator, block) in &conditions.0 {
        let op_path = join(path, operator);
        let (op, negated, if_exists) =
            parse_operator(operator).map_err(|reason| ConfigError::new(&op_path, reason))?;
        if block.0.is_empty() {
            return Err(ConfigError::new(op_path, "an operator needs at least one condition key"));
        }
        for (name, values) in &block.0 {
            let key_path = join(&op_path, name);
            let key = Key::parse(name).ok_or_else(|| {
                let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
                ConfigError::new(
                    &key_path,
                    format!("unknown condition key `{name}` (known: {})", known.join(", ")),
                )
            })?;
            let fits = match op {
                Op::StringEquals | Op::StringEqualsIgnoreCase | Op::StringLike => {
                    matches!(
                        key,
                        Key::SourceVpce
                            | Key::SourceVpc
                            | Key::PrincipalArn
                            | Key::PrincipalAccount
                            | Key::PrincipalOrgId
                            | Key::Referer
                            | Key::UserAgent
                    )
                }
                Op::ArnLike => key == Key::PrincipalArn,
                Op::IpAddress => key == Key::SourceIp,
                Op::Bool => key == Key::SecureTransport,
                Op::Date(_) => key == Key::CurrentTime,
                Op::Null => true,
            };
            if !fits {
                return Err(ConfigError::new(
                    key_path,
                    format!("`{operator}` does not apply to `{name}`: use {}", key.operators()),
                ));
            }
            if values.as_slice().is_empty() {
                return Err(ConfigError::new(key_path, "an empty list of values matches nothing"));
            }
            let test = compile_values(op, values, variables, &key_path)?;
            compiled.push(Condition { key, test, negated, if_exists });
        }
    }
    Ok(compiled)
}

fn compile_values(
    op: Op,
    values: &OneOrMany<ConditionValue>,
    variables: bool,
    path: &str,
) -> Result<Test, ConfigError> {
    let text = |value: &ConditionValue| tokenize(&value.to_string(), variables);
    Ok(match op {
        Op::StringEquals => {
            Test::Equals(each(values, path, |v| text(v).map(|t| literal_text(&t)))?)
        }
        Op::StringEqualsIgnoreCase => {
            Test::EqualsIgnoreCase(each(values, path, |v| text(v).map(|t| literal_text(&t)))?)
        }
        Op::StringLike => {
            Test::Like(each(values, path, |v| text(v).map(|t| Pattern::from_tokens(t, false)))?)
        }
        Op::ArnLike => Test::Arn(each(values, path, |v| arn_pattern(&v.to_string(), variables))?),
        Op::IpAddress => Test::Ip(each(values, path, |v| match v {
            ConditionValue::String(s) => Cidr::parse(s),
            other => Err(format!("`{other}` is not an IP address or CIDR block")),
        })?),
        Op::Bool => Test::Bool(each(values, path, boolean)?),
        Op::Date(date_op) => Test::Date(date_op, each(values, path, parse_time)?),
        Op::Null => Test::Null(each(values, path, boolean)?),
    })
}

/// Compiles every value of a key; an error names the value.
fn each<T>(
    values: &OneOrMany<ConditionValue>,
    path: &str,
    compile: impl Fn(&ConditionValue) -> Result<T, String>,
) -> Result<Vec<T>, ConfigError> {
    elements(values, path)
        .map(|(value_path, value)| {
            compile(value).map_err(|reason| ConfigError::new(value_path, reason))
        })
        .collect()
}

fn boolean(value: &ConditionValue) -> Result<bool, String> {
    match value {
        ConditionValue::Bool(b) => Ok(*b),
        ConditionValue::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        ConditionValue::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(format!("`{other}` is not true or false")),
    }
}

fn arn_pattern(text: &str, variables: bool) -> Result<ArnPattern, String> {
    let fields: Vec<&str> = text.splitn(6, ':').collect();
    if fields.len() != 6 || fields.first() != Some(&"arn") {
        return Err(format!(
            "`{text}` is not an ARN (arn:partition:service:region:account:resource)"
        ));
    }
    fields
        .iter()
        .map(|field| Pattern::parse(field, variables, false))
        .collect::<Result<Vec<_>, _>>()
        .map(ArnPattern)
}

#[cfg(test)]
mod tests;
