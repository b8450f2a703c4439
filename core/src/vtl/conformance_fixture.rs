//! The fixed request the conformance table renders against, and the table's runner.

use super::*;

/// What a case expects: exact bytes, or JSON equal after parsing (whitespace-insensitive).
pub(super) enum Expect {
    Exact(&'static str),
    Json(&'static str),
}

/// One row of a conformance table.
pub(super) struct Case {
    pub(super) name: &'static str,
    pub(super) body: &'static str,
    pub(super) template: &'static str,
    pub(super) expect: Expect,
}

type Pairs = Vec<(String, String)>;

/// Path, query string and header parameters of the request.
pub(super) fn fixture() -> (Pairs, Pairs, Pairs) {
    let pairs = |v: &[(&str, &str)]| -> Pairs {
        v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    (
        pairs(&[("petId", "42"), ("city", "Seattle")]),
        pairs(&[("time", "morning"), ("day", "Wednesday"), ("type", "dog"), ("q", "a b")]),
        pairs(&[
            ("Content-Type", "application/json"),
            ("X-Amz-Date", "20240101"),
            ("X-Quote", "say \"hi\""),
        ]),
    )
}

pub(super) fn context() -> serde_json::Value {
    serde_json::json!({
        "stage": "prod",
        "requestId": "abcdefg-000-000-0000-abcdefg",
        "apiId": "abcd1234",
        "resourcePath": "/",
        "httpMethod": "GET",
        "identity": {
            "sourceIp": "192.0.2.1",
            "userAgent": "curl/7.84.0",
            "accountId": "111122223333",
            "apiKey": "MyTestKey"
        },
        "authorizer": {"principalId": "user-1", "claims": {"email": "jo@example.com"}},
        "error": {"message": "Forbidden", "messageString": "\"Forbidden\"", "responseType": "ACCESS_DENIED"}
    })
}

pub(super) fn stage_variables() -> BTreeMap<String, String> {
    [("env", "prod"), ("url", "https://example.com/api"), ("version", "v2")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Renders every case over the fixed request; panics listing every case that differs.
pub(super) fn run_cases(cases: &[Case]) {
    let (path, querystring, header) = fixture();
    let context = context();
    let stage_variables = stage_variables();
    let mut failures = Vec::new();
    for case in cases {
        let input = Input {
            body: case.body.as_bytes(),
            path: &path,
            querystring: &querystring,
            header: &header,
            context: &context,
            stage_variables: &stage_variables,
            json: None,
        };
        let output = match Template::parse(case.template).map(|t| t.render(&input)) {
            Ok(Ok(output)) => output,
            other => {
                failures.push(format!("{}: {other:?}", case.name));
                continue;
            }
        };
        let ok = match &case.expect {
            Expect::Exact(expected) => output == *expected,
            Expect::Json(expected) => {
                let want: serde_json::Value = serde_json::from_str(expected).unwrap();
                serde_json::from_str::<serde_json::Value>(&output).ok() == Some(want)
            }
        };
        if !ok {
            failures.push(format!("{}:\n  got: {output:?}", case.name));
        }
    }
    assert!(failures.is_empty(), "{} failing:\n{}", failures.len(), failures.join("\n"));
}
