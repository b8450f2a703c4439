//! `Principal` / `NotPrincipal` of resource-policy statements.
//!
//! The caller is identified by its IAM principal ARN (for a role session, the role's ARN, as in
//! `aws:PrincipalArn`), or is anonymous.

use super::document::Principal;
use super::matcher::Pattern;
use super::{elements, join};
use crate::config::ConfigError;

/// Who a `Principal` names.
#[derive(Debug, Clone)]
pub(crate) struct PrincipalMatcher {
    /// `"*"` or `{"AWS": "*"}`: everyone, anonymous callers included.
    everyone: bool,
    accounts: Vec<Account>,
    arns: Vec<Pattern>,
}

/// A 12-digit account id (any partition) or `arn:<partition>:iam::<account>:root`.
#[derive(Debug, Clone)]
struct Account {
    partition: Option<String>,
    id: String,
}

impl Account {
    fn contains(&self, caller: &str) -> bool {
        let mut fields = caller.split(':');
        fields.next() == Some("arn")
            && fields.next().is_some_and(|p| self.partition.as_deref().is_none_or(|want| p == want))
            && fields.nth(2) == Some(self.id.as_str())
    }
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

impl PrincipalMatcher {
    /// `path` names the `Principal` (or `NotPrincipal`) field.
    pub fn compile(principal: &Principal, path: &str) -> Result<PrincipalMatcher, ConfigError> {
        let mut matcher =
            PrincipalMatcher { everyone: false, accounts: Vec::new(), arns: Vec::new() };
        let values = match principal {
            Principal::Everyone => {
                matcher.everyone = true;
                return Ok(matcher);
            }
            Principal::Aws(values) => values,
        };
        let aws_path = join(path, "AWS");
        if values.as_slice().is_empty() {
            return Err(ConfigError::new(aws_path, "an empty list names no principal"));
        }
        for (value_path, value) in elements(values, &aws_path) {
            if value == "*" {
                matcher.everyone = true;
            } else if is_account_id(value) {
                matcher.accounts.push(Account { partition: None, id: value.clone() });
            } else if value.starts_with("arn:") && value.split(':').count() >= 6 {
                match root_account(value) {
                    Some(account) => matcher.accounts.push(account),
                    None => matcher.arns.push(
                        Pattern::parse(value, false, false)
                            .map_err(|reason| ConfigError::new(&value_path, reason))?,
                    ),
                }
            } else {
                return Err(ConfigError::new(
                    value_path,
                    format!("`{value}` is not \"*\", a 12-digit account id or an ARN"),
                ));
            }
        }
        Ok(matcher)
    }

    /// Whether the caller is one of the named principals.
    pub fn matches(&self, caller: Option<&str>) -> bool {
        if self.everyone {
            return true;
        }
        let Some(caller) = caller else { return false };
        self.accounts.iter().any(|a| a.contains(caller))
            || self.arns.iter().any(|p| p.matches(caller))
    }
}

/// `arn:<partition>:iam::<12 digits>:root` (without wildcards) names the whole account.
fn root_account(arn: &str) -> Option<Account> {
    let fields: Vec<&str> = arn.split(':').collect();
    let ["arn", partition, "iam", "", id, "root"] = fields.as_slice() else { return None };
    (is_account_id(id) && !partition.contains(['*', '?']))
        .then(|| Account { partition: Some((*partition).to_owned()), id: (*id).to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::policy::OneOrMany;
    use crate::test_support::test;

    const ALICE: &str = "arn:aws:iam::123456789012:user/alice";
    const DEPLOY: &str = "arn:aws:iam::123456789012:role/ci/Deploy";
    const OTHER: &str = "arn:aws:iam::210987654321:user/mallory";
    const CHINA: &str = "arn:aws-cn:iam::123456789012:user/alice";

    fn aws(values: &[&str]) -> Principal {
        Principal::Aws(OneOrMany::Many(values.iter().map(|v| (*v).to_owned()).collect()))
    }

    #[test]
    fn who_matches() {
        for (principal, caller, expected) in [
            (Principal::Everyone, None, true),
            (Principal::Everyone, Some(ALICE), true),
            (aws(&["*"]), None, true),
            (aws(&["*"]), Some(OTHER), true),
            (aws(&["123456789012"]), Some(ALICE), true),
            (aws(&["123456789012"]), Some(DEPLOY), true),
            (aws(&["123456789012"]), Some(CHINA), true),
            (aws(&["123456789012"]), Some(OTHER), false),
            (aws(&["123456789012"]), None, false),
            (aws(&["arn:aws:iam::123456789012:root"]), Some(DEPLOY), true),
            (aws(&["arn:aws:iam::123456789012:root"]), Some(CHINA), false),
            (aws(&["arn:aws:iam::123456789012:root"]), Some(OTHER), false),
            (aws(&["arn:aws:iam::123456789012:root"]), None, false),
            (aws(&[ALICE]), Some(ALICE), true),
            (aws(&[ALICE]), Some("arn:aws:iam::123456789012:user/Alice"), false),
            (aws(&[ALICE]), Some(DEPLOY), false),
            (aws(&[ALICE]), None, false),
            (aws(&["arn:aws:iam::123456789012:role/*"]), Some(DEPLOY), true),
            (aws(&["arn:aws:iam::123456789012:role/*"]), Some(ALICE), false),
            (aws(&["arn:aws:iam::*:user/?????"]), Some(ALICE), true),
            (aws(&["arn:aws:iam::*:root"]), Some(ALICE), false),
            (aws(&[OTHER, ALICE]), Some(ALICE), true),
            (aws(&[OTHER, "210987654321"]), Some(ALICE), false),
            // A caller that is not an ARN is in no account.
            (aws(&["123456789012"]), Some("123456789012"), false),
        ] {
            let matcher = PrincipalMatcher::compile(&principal, "p").unwrap();
            assert_eq!(matcher.matches(caller), expected, "{principal:?} vs {caller:?}");
        }
    }

    #[test]
    fn refused_principals() {
        for (principal, path) in [
            (aws(&[]), "p.AWS"),
            (aws(&["alice"]), "p.AWS[0]"),
            (aws(&["*", "12345678901"]), "p.AWS[1]"),
            (aws(&["arn:aws:iam::123456789012"]), "p.AWS[0]"),
            (Principal::Aws(OneOrMany::One("".into())), "p.AWS"),
        ] {
            let err = PrincipalMatcher::compile(&principal, "p").unwrap_err();
            assert_eq!(err.path, path, "{principal:?}: {err}");
        }
    }
}
