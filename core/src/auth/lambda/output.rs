//! What a Lambda authorizer answers, through the Lambda Invoke API: the function's JSON result
//! (`principalId`, `policyDocument`, `context`, `usageIdentifierKey`) with status 200, or a
//! function error (still 200, with `X-Amz-Function-Error` and `{"errorMessage", "errorType"}`).

use serde::Deserialize;
use serde_json::Value;

use crate::auth::policy::{ConditionValue, OrderedMap, PolicyDocument};

/// A well-formed authorizer result. The policy is only parsed: compile it with
/// `CompiledPolicy::compile(&policy, PolicyKind::Identity, ...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizerOutput {
    pub principal_id: String,
    pub policy: PolicyDocument,
    /// `context`, in document order, numbers and booleans as text (`42`, `1.5`, `true`).
    pub context: Vec<(String, String)>,
    pub usage_identifier_key: Option<String>,
}

/// How a call to the authorizer ended.
// One per call, matched at once: the large `Output` is not worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum InvokeResult {
    Output(AuthorizerOutput),
    /// The function failed with the message `Unauthorized`: AWS answers 401.
    Unauthorized,
    /// Anything else that is not a well-formed result (AWS answers 500); the text says why,
    /// for logs, without tokens, keys or context values.
    Failure(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOutput {
    #[serde(default)]
    principal_id: Option<Value>,
    #[serde(default)]
    policy_document: Option<PolicyDocument>,
    #[serde(default)]
    context: Option<OrderedMap<ConditionValue>>,
    #[serde(default)]
    usage_identifier_key: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FunctionError {
    #[serde(default)]
    error_message: Option<Value>,
    #[serde(default)]
    error_type: Option<Value>,
}

/// Reads the Invoke API's answer: `status`, the `X-Amz-Function-Error` header if any, and the
/// body, which may be at most `max_bytes` long (AWS: 8 KB).
pub fn interpret_invoke(
    status: u16,
    function_error: Option<&[u8]>,
    body: &[u8],
    max_bytes: usize,
) -> InvokeResult {
    if !(200..300).contains(&status) {
        return failure(format!("the Invoke API answered HTTP {status}"));
    }
    if body.len() > max_bytes {
        return failure(format!("the answer is {} bytes, over {max_bytes}", body.len()));
    }
    if let Some(kind) = function_error {
        return function_failed(kind, body);
    }
    if !is_object(body) {
        return failure("the result is not a JSON object");
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let raw: RawOutput = match serde_path_to_error::deserialize(&mut de) {
        Ok(raw) => raw,
        Err(e) => {
            let path = e.path().to_string();
            let reason = e.into_inner();
            return if path == "." {
                failure(format!("the result is not valid: {reason}"))
            } else if path == "context" || path.starts_with("context.") {
                // Without serde's reason, which may quote a value.
                failure(format!(
                    "the result's `{path}` is not valid: `context` maps distinct keys to strings, \
                     numbers or booleans"
                ))
            } else {
                failure(format!("the result's `{path}` is not valid: {reason}"))
            };
        }
    };
    if de.end().is_err() {
        return failure("the result has more after its JSON object");
    }
    output(raw)
}

fn output(raw: RawOutput) -> InvokeResult {
    let principal_id = match raw.principal_id {
        Some(Value::String(p)) => p,
        Some(_) => return failure("the result's `principalId` is not a string"),
        None => return failure("the result has no `principalId`"),
    };
    let Some(policy) = raw.policy_document else {
        return failure("the result has no `policyDocument`");
    };
    let usage_identifier_key = match raw.usage_identifier_key {
        Some(Value::String(key)) => Some(key),
        Some(_) => return failure("the result's `usageIdentifierKey` is not a string"),
        None => None,
    };
    let context = raw.context.map(|c| c.0).unwrap_or_default();
    InvokeResult::Output(AuthorizerOutput {
        principal_id,
        policy,
        context: context.into_iter().map(|(k, v)| (k, v.to_string())).collect(),
        usage_identifier_key,
    })
}

/// A function error: `Unauthorized` is the function's way to say 401, anything else fails.
fn function_failed(kind: &[u8], body: &[u8]) -> InvokeResult {
    let kind = printable(&String::from_utf8_lossy(kind), 16);
    let error = match serde_json::from_slice::<FunctionError>(body) {
        Ok(error) if is_object(body) => error,
        _ => {
            return failure(format!("the function failed ({kind}) with an error that is not JSON"))
        }
    };
    match (error.error_message, error.error_type) {
        (Some(Value::String(message)), _) if message == "Unauthorized" => {
            InvokeResult::Unauthorized
        }
        (_, Some(Value::String(error_type))) => {
            failure(format!("the function failed ({kind}): {}", printable(&error_type, 64)))
        }
        _ => failure(format!("the function failed ({kind})")),
    }
}

/// Whether `body` starts as a JSON object does (serde would also read a struct from an array).
fn is_object(body: &[u8]) -> bool {
    body.trim_ascii_start().first() == Some(&b'{')
}

/// At most `max` characters of `text` that are safe in a log line (an error type, a header).
fn printable(text: &str, max: usize) -> String {
    text.chars().filter(|c| c.is_ascii_graphic()).take(max).collect()
}

fn failure(why: impl Into<String>) -> InvokeResult {
    InvokeResult::Failure(why.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::policy::{CompiledPolicy, Effect, OneOrMany, PolicyKind};
    use crate::test_support::test;

    const MAX: usize = 8 * 1024;
    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3/prod/GET/pets";

    fn ok(body: &str) -> InvokeResult {
        interpret_invoke(200, None, body.as_bytes(), MAX)
    }

    fn output_of(body: &str) -> AuthorizerOutput {
        match ok(body) {
            InvokeResult::Output(o) => o,
            other => panic!("{body}: {other:?}"),
        }
    }

    fn policy(effect: &str, resource: &str) -> String {
        format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Action": "execute-api:Invoke",
                "Effect": "{effect}", "Resource": {resource}}}]}}"#
        )
    }

    #[test]
    fn allow_and_deny_policies_parse_and_compile() {
        let cases = [
            (policy("Allow", &format!(r#"["{ARN}"]"#)), Effect::Allow),
            (policy("Deny", &format!(r#""{ARN}""#)), Effect::Deny),
            (policy("Allow", r#""arn:aws:execute-api:us-east-1:*:a1b2c3/*/GET/*""#), Effect::Allow),
            (
                r#"{"Statement": {"Effect": "Deny", "Action": ["execute-api:Invoke"], "Resource": "*"}}"#
                    .to_owned(),
                Effect::Deny,
            ),
        ];
        for (doc, effect) in cases {
            let body = format!(r#"{{"principalId": "user|a1", "policyDocument": {doc}}}"#);
            let out = output_of(&body);
            assert_eq!(out.principal_id, "user|a1");
            assert_eq!(out.context, Vec::<(String, String)>::new());
            assert_eq!(out.usage_identifier_key, None);
            let statements = out.policy.statement.as_slice();
            assert_eq!(statements.len(), 1);
            assert_eq!(statements[0].effect, effect);
            let actions = statements[0].action.as_ref().map(OneOrMany::as_slice);
            assert_eq!(actions, Some(&["execute-api:Invoke".to_owned()][..]));
            CompiledPolicy::compile(&out.policy, PolicyKind::Identity, "authorizer policy")
                .unwrap();
        }
    }

    #[test]
    fn context_values_become_text_and_usage_keys_are_kept() {
        let body = format!(
            r#"{{"principalId": "u", "policyDocument": {},
                "context": {{"s": "text", "n": 42, "neg": -7, "f": 1.5, "t": true, "no": false, "e": ""}},
                "usageIdentifierKey": "k3y-value", "extra": {{"ignored": [1]}}}}"#,
            policy("Allow", r#""*""#)
        );
        let out = output_of(&body);
        let context: Vec<(&str, &str)> =
            out.context.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            context,
            [
                ("s", "text"),
                ("n", "42"),
                ("neg", "-7"),
                ("f", "1.5"),
                ("t", "true"),
                ("no", "false"),
                ("e", "")
            ]
        );
        assert_eq!(out.usage_identifier_key.as_deref(), Some("k3y-value"));

        let nulls = format!(
            r#"{{"principalId": "u", "policyDocument": {}, "context": null, "usageIdentifierKey": null}}"#,
            policy("Allow", r#""*""#)
        );
        let out = output_of(&nulls);
        assert!(out.context.is_empty());
        assert_eq!(out.usage_identifier_key, None);
    }

    #[test]
    fn unauthorized_and_other_function_errors() {
        let cases: &[(&[u8], &str, Option<&str>)] = &[
            (b"Unhandled", r#"{"errorMessage": "Unauthorized"}"#, None),
            (
                b"Unhandled",
                r#"{"errorType": "Error", "errorMessage": "Unauthorized", "trace": ["at x"]}"#,
                None,
            ),
            (b"Handled", r#"{"errorMessage": "Unauthorized", "errorType": "string"}"#, None),
            (
                b"Unhandled",
                r#"{"errorMessage": "unauthorized", "errorType": "Error"}"#,
                Some("the function failed (Unhandled): Error"),
            ),
            (
                b"Unhandled",
                r#"{"errorMessage": "Unauthorized ", "errorType": "Error"}"#,
                Some("the function failed (Unhandled): Error"),
            ),
            (
                b"Handled",
                r#"{"errorMessage": "token abc.def expired", "errorType": "Token Expired\n"}"#,
                Some("the function failed (Handled): TokenExpired"),
            ),
            (
                b"Unhandled",
                r#"{"errorMessage": "2025-01-01 Task timed out after 3.00 seconds"}"#,
                Some("the function failed (Unhandled)"),
            ),
            (b"Unhandled", r#"{"errorMessage": ["Unauthorized"]}"#, Some("the function failed")),
            (b"Unhandled", "Unauthorized", Some("not JSON")),
            (b"Unhandled", r#"["Unauthorized"]"#, Some("not JSON")),
            (b"Unhandled", "", Some("not JSON")),
            (
                b"Unhandled",
                r#"{"errorMessage": "Unauthorized", "errorMessage": "x"}"#,
                Some("not JSON"),
            ),
        ];
        for (kind, body, want) in cases {
            let got = interpret_invoke(200, Some(kind), body.as_bytes(), MAX);
            match (want, &got) {
                (None, InvokeResult::Unauthorized) => {}
                (Some(why), InvokeResult::Failure(reason)) if reason.contains(why) => {
                    assert!(!reason.contains("abc.def"), "{reason}");
                }
                _ => panic!("{body}: {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn bad_answers_fail() {
        let allow = policy("Allow", r#""*""#);
        let big = format!(
            r#"{{"principalId": "u", "policyDocument": {allow}, "context": {{"pad": "{}"}}}}"#,
            "x".repeat(MAX)
        );
        let cases: Vec<(u16, String, &str)> = vec![
            (500, format!(r#"{{"principalId": "u", "policyDocument": {allow}}}"#), "HTTP 500"),
            (429, String::new(), "HTTP 429"),
            (403, r#"{"Message": "denied"}"#.into(), "HTTP 403"),
            (200, big, "over 8192"),
            (200, String::new(), "not a JSON object"),
            (200, "null".into(), "not a JSON object"),
            (200, r#""Allow""#.into(), "not a JSON object"),
            (200, format!(r#"["u", {allow}]"#), "not a JSON object"),
            (200, "{".into(), "is not valid"),
            (200, format!(r#"{{"principalId": "u", "policyDocument": {allow}}} x"#), "more after"),
            (200, format!(r#"{{"policyDocument": {allow}}}"#), "no `principalId`"),
            (200, format!(r#"{{"principalId": null, "policyDocument": {allow}}}"#), "no `principalId`"),
            (200, format!(r#"{{"principalId": 7, "policyDocument": {allow}}}"#), "`principalId` is not a string"),
            (
                200,
                format!(r#"{{"principalId": "a", "principalId": "b", "policyDocument": {allow}}}"#),
                "duplicate field `principalId`",
            ),
            (200, r#"{"principalId": "u"}"#.into(), "no `policyDocument`"),
            (200, r#"{"principalId": "u", "policyDocument": "{}"}"#.into(), "`policyDocument` is not valid"),
            (
                200,
                r#"{"principalId": "u", "policyDocument": {"Statement": [{"Effect": "allow", "Action": "*", "Resource": "*"}]}}"#.into(),
                "`policyDocument.Statement[0].Effect` is not valid: unknown variant `allow`",
            ),
            (
                200,
                r#"{"principalId": "u", "policyDocument": {"version": "2012-10-17", "Statement": []}}"#.into(),
                "`policyDocument.version` is not valid: unknown field",
            ),
            (
                200,
                r#"{"principalId": "u", "policyDocument": {"Version": "2012-10-17"}}"#.into(),
                "missing field `Statement`",
            ),
            (
                200,
                format!(r#"{{"principalId": "u", "policyDocument": {allow}, "context": {{"o": {{"a": 1}}}}}}"#),
                "`context.o` is not valid",
            ),
            (
                200,
                format!(r#"{{"principalId": "u", "policyDocument": {allow}, "context": {{"a": [1]}}}}"#),
                "`context.a` is not valid",
            ),
            (
                200,
                format!(r#"{{"principalId": "u", "policyDocument": {allow}, "context": {{"n": null}}}}"#),
                "`context.n` is not valid",
            ),
            (
                200,
                format!(r#"{{"principalId": "u", "policyDocument": {allow}, "context": {{"k": 1, "k": 2}}}}"#),
                "`context` is not valid",
            ),
            (
                200,
                format!(r#"{{"principalId": "u", "policyDocument": {allow}, "context": "s3cret"}}"#),
                "`context` is not valid",
            ),
            (
                200,
                format!(r#"{{"principalId": "u", "policyDocument": {allow}, "usageIdentifierKey": 12345}}"#),
                "`usageIdentifierKey` is not a string",
            ),
            (
                200,
                format!(r#"{{"principalId": "u", "policyDocument": {allow}, "usageIdentifierKey": ["s3cret"]}}"#),
                "`usageIdentifierKey` is not a string",
            ),
        ];
        for (status, body, why) in cases {
            match interpret_invoke(status, None, body.as_bytes(), MAX) {
                InvokeResult::Failure(reason) => {
                    assert!(reason.contains(why), "{body}: {reason}");
                    assert!(!reason.contains("s3cret") && !reason.contains("12345"), "{reason}");
                }
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_size_limit_is_inclusive_and_applies_to_errors_too() {
        let body =
            format!(r#"{{"principalId": "u", "policyDocument": {}}}"#, policy("Allow", r#""*""#));
        assert!(matches!(
            interpret_invoke(200, None, body.as_bytes(), body.len()),
            InvokeResult::Output(_)
        ));
        assert!(matches!(
            interpret_invoke(200, None, body.as_bytes(), body.len() - 1),
            InvokeResult::Failure(_)
        ));
        let error = br#"{"errorMessage": "Unauthorized"}"#;
        assert_eq!(
            interpret_invoke(200, Some(b"Unhandled"), error, 8),
            InvokeResult::Failure(format!("the answer is {} bytes, over 8", error.len()))
        );
        assert_eq!(
            interpret_invoke(204, Some(b"Unhandled"), error, MAX),
            InvokeResult::Unauthorized
        );
    }
}
