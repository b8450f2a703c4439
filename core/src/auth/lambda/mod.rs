//! Lambda authorizers (TOKEN and REQUEST) as pure functions over plain data.
//!
//! [`parse_identity_sources`] reads AWS identity source expressions once, at configure time;
//! per request [`identity_values`] picks the values out of a [`RequestView`] (any missing means
//! 401 without calling the function), [`cache_key`] names the cached result, [`token_event`] or
//! [`request_event`] is the JSON the function gets, and [`interpret_invoke`] reads what the Lambda
//! Invoke API answered: a principal and a policy ([`AuthorizerOutput`]), `Unauthorized`, or a
//! failure. Compiling and evaluating the policy is the caller's (`CompiledPolicy::compile` with
//! `PolicyKind::Identity`).

mod event;
mod identity;
mod output;

use sha2::{Digest, Sha256};

pub(crate) use event::{event_headers, last_and_all, resource_id};
pub use event::{query_parameters, request_event, token_event, HeaderNames, RequestView};
pub use identity::{identity_values, parse_identity_sources, IdentitySource, ValidationExpression};
pub use output::{interpret_invoke, AuthorizerOutput, InvokeResult};

/// Names a cached authorizer result: SHA-256 over the authorizer's index and its identity
/// values, each length-prefixed so that no two lists share a key (`["ab", "c"]` and
/// `["a", "bc"]` differ). The cache never holds an identity (a token) itself.
pub fn cache_key(authorizer: usize, identity: &[String]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"tollgate.lambda-authorizer\0");
    hash.update((authorizer as u64).to_le_bytes());
    hash.update((identity.len() as u64).to_le_bytes());
    for value in identity {
        hash.update((value.len() as u64).to_le_bytes());
        hash.update(value.as_bytes());
    }
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn cache_keys_are_unambiguous() {
        let cases: &[(usize, &[&str])] = &[
            (0, &[]),
            (0, &[""]),
            (0, &["", ""]),
            (0, &["ab", "c"]),
            (0, &["a", "bc"]),
            (0, &["abc"]),
            (1, &["abc"]),
            (0, &["a\0", "bc"]),
            (0, &["a", "\0bc"]),
        ];
        let keys: Vec<[u8; 32]> =
            cases.iter().map(|(auth, values)| cache_key(*auth, &strings(values))).collect();
        for (i, a) in keys.iter().enumerate() {
            for (j, b) in keys.iter().enumerate() {
                assert_eq!(a == b, i == j, "{:?} vs {:?}", cases[i], cases[j]);
            }
        }
    }

    #[test]
    fn cache_keys_are_stable() {
        let identity = strings(&["Bearer abc", "tenant-1"]);
        assert_eq!(cache_key(3, &identity), cache_key(3, &identity.clone()));
    }
}
