//! AWS service integrations (`type: AWS`): the integration URI
//! `arn:aws:apigateway:{region}:{service}:action/{Action}` or `...:{service}:path/{path}` turned
//! into the service request Tollgate sends through an Envoy cluster (which signs it with Envoy's
//! `aws_request_signing` filter).

use crate::config::ConfigError;
use crate::transform::integration::UriPart;

/// The service request every call of the method makes, but for the body (the request
/// template's output) and the mapped headers and query parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsTarget {
    pub cluster: String,
    pub method: String,
    /// `{service}.{region}.amazonaws.com`.
    pub authority: String,
    /// The request path (`{name}` filled from `integration.request.path.*`), query included for
    /// query-protocol actions.
    pub path: Vec<UriPart>,
    /// Headers the action needs (`x-amz-target` and the content type of JSON-protocol
    /// services).
    pub headers: Vec<(String, String)>,
    pub timeout_ms: u32,
}

/// Services that take an action as `X-Amz-Target: {prefix}.{Action}` with a JSON body.
const JSON_TARGETS: [(&str, &str, &str); 3] = [
    ("dynamodb", "DynamoDB_20120810", "application/x-amz-json-1.0"),
    ("kinesis", "Kinesis_20131202", "application/x-amz-json-1.1"),
    ("logs", "Logs_20140328", "application/x-amz-json-1.1"),
];

impl AwsTarget {
    /// `uri`: the integration URI; `path` names the integration in errors.
    pub fn compile(
        uri: &str,
        method: &str,
        cluster: Option<&str>,
        timeout_ms: u32,
        path: &str,
    ) -> Result<AwsTarget, ConfigError> {
        let cluster = cluster.filter(|c| !c.is_empty()).ok_or_else(|| {
            ConfigError::new(
                format!("{path}.cluster"),
                "an AWS integration names the Envoy cluster that reaches the service",
            )
        })?;
        if !crate::routes::HTTP_METHODS.contains(&method) {
            return Err(ConfigError::new(
                format!("{path}.http_method"),
                format!("`{method}` is not an HTTP method"),
            ));
        }
        super::integration::check_timeout(timeout_ms, &format!("{path}.timeout_ms"))?;
        let bad = |why: &str| {
            ConfigError::new(
                format!("{path}.uri"),
                format!(
                    "`{uri}`: {why}; expected arn:aws:apigateway:REGION:SERVICE:action/ACTION \
                     or arn:aws:apigateway:REGION:SERVICE:path/PATH"
                ),
            )
        };
        let rest = uri.strip_prefix("arn:aws:apigateway:").ok_or_else(|| bad("not an ARN"))?;
        let mut parts = rest.splitn(3, ':');
        let region = parts.next().filter(|r| !r.is_empty()).ok_or_else(|| bad("no region"))?;
        let service = parts.next().filter(|s| !s.is_empty()).ok_or_else(|| bad("no service"))?;
        let target = parts.next().ok_or_else(|| bad("no action or path"))?;
        let host_ok =
            |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !host_ok(region) || !host_ok(service) {
            return Err(bad("the region or service is not a host name part"));
        }
        let (path_text, headers) = if let Some(action) = target.strip_prefix("action/") {
            if action.is_empty() || !action.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(bad("the action is not a name"));
            }
            match JSON_TARGETS.iter().find(|(s, _, _)| *s == service) {
                Some((_, prefix, content_type)) => (
                    "/".to_string(),
                    vec![
                        ("x-amz-target".to_string(), format!("{prefix}.{action}")),
                        ("content-type".to_string(), (*content_type).to_string()),
                    ],
                ),
                None => (
                    format!("/?Action={action}"),
                    vec![(
                        "content-type".to_string(),
                        "application/x-www-form-urlencoded".to_string(),
                    )],
                ),
            }
        } else if let Some(p) = target.strip_prefix("path/") {
            (format!("/{p}"), Vec::new())
        } else {
            return Err(bad("neither action/ nor path/"));
        };
        let path_parts =
            super::integration::split_path_template(&path_text).map_err(|why| bad(&why))?;
        Ok(AwsTarget {
            cluster: cluster.to_string(),
            method: method.to_string(),
            authority: format!("{service}.{region}.amazonaws.com"),
            path: path_parts,
            headers,
            timeout_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    #[test]
    fn actions_and_paths_become_service_requests() {
        let t = AwsTarget::compile(
            "arn:aws:apigateway:us-east-1:dynamodb:action/PutItem",
            "POST",
            Some("dynamodb"),
            29_000,
            "m",
        )
        .unwrap();
        assert_eq!(t.authority, "dynamodb.us-east-1.amazonaws.com");
        assert_eq!(t.path, vec![UriPart::Text("/".into())]);
        assert_eq!(
            t.headers,
            vec![
                ("x-amz-target".to_string(), "DynamoDB_20120810.PutItem".to_string()),
                ("content-type".to_string(), "application/x-amz-json-1.0".to_string()),
            ]
        );
        let sqs = AwsTarget::compile(
            "arn:aws:apigateway:eu-west-1:sqs:path/123456789012/{queue}",
            "POST",
            Some("sqs"),
            1000,
            "m",
        )
        .unwrap();
        assert_eq!(
            sqs.path,
            vec![UriPart::Text("/123456789012/".into()), UriPart::Param("queue".into())]
        );
        let sns = AwsTarget::compile(
            "arn:aws:apigateway:eu-west-1:sns:action/Publish",
            "POST",
            Some("sns"),
            1000,
            "m",
        )
        .unwrap();
        assert_eq!(sns.path, vec![UriPart::Text("/?Action=Publish".into())]);
    }

    #[test]
    fn bad_uris_and_settings_are_config_errors() {
        let cases = [
            ("http://dynamodb/", "POST", Some("c"), 1000, "m.uri"),
            ("arn:aws:apigateway:us-east-1:dynamodb:invoke/X", "POST", Some("c"), 1000, "m.uri"),
            ("arn:aws:apigateway:us-east-1:dynamodb:action/", "POST", Some("c"), 1000, "m.uri"),
            ("arn:aws:apigateway::dynamodb:action/GetItem", "POST", Some("c"), 1000, "m.uri"),
            (
                "arn:aws:apigateway:us-east-1:dynamodb:action/GetItem",
                "FETCH",
                Some("c"),
                1000,
                "m.http_method",
            ),
            (
                "arn:aws:apigateway:us-east-1:dynamodb:action/GetItem",
                "POST",
                None,
                1000,
                "m.cluster",
            ),
            (
                "arn:aws:apigateway:us-east-1:dynamodb:action/GetItem",
                "POST",
                Some("c"),
                300_001,
                "m.timeout_ms",
            ),
        ];
        for (uri, method, cluster, timeout, field) in cases {
            let err = AwsTarget::compile(uri, method, cluster, timeout, "m").unwrap_err();
            assert_eq!(err.path, field, "{uri}: {err}");
        }
        // Up to 300 s, as AWS allows Regional and private APIs.
        let uri = "arn:aws:apigateway:us-east-1:dynamodb:action/GetItem";
        assert!(AwsTarget::compile(uri, "POST", Some("c"), 300_000, "m").is_ok());
    }
}
