//! `$context`: API Gateway's (REST) account of the request, which mapping templates read and
//! Lambda functions get as `requestContext` (proxy integrations and REQUEST authorizers alike).

use serde_json::{json, Value};

use crate::auth::iam::CredentialPlan;
use crate::host::{Host, HostError};
use crate::plan::Plan;
use crate::text::extended_request_id;

use super::Headers;

/// What the pipeline knows about the caller so far.
#[derive(Debug, Default)]
pub(super) struct Caller<'a> {
    /// The API key the caller presented, on a method that requires one.
    pub api_key: Option<&'a str>,
    pub api_key_id: Option<&'a str>,
    /// A SigV4-signed caller's credential.
    pub iam: Option<&'a CredentialPlan>,
    /// `$context.authorizer` (an object; `Null` before an authorizer has answered).
    pub authorizer: Value,
    /// The caller may `execute-api:InvalidateCache` this method.
    pub may_invalidate_cache: bool,
}

/// The request as `$context` describes it.
pub(super) struct Described<'a> {
    pub headers: &'a Headers,
    pub verb: &'a [u8],
    /// The path without the stage.
    pub path: &'a str,
    pub resource: &'a str,
    pub now_nanos: u64,
    /// The caller's address (from Envoy's `source.address`, read once by the step).
    pub source_ip: Option<&'a str>,
}

/// How the client spoke: `HTTP/1.1` or `HTTP/2` (Envoy's `request.protocol`).
pub(super) fn protocol<H: Host>(host: &H) -> Result<String, HostError> {
    let protocol = host.property(&["request", "protocol"])?;
    Ok(protocol
        .map(|p| String::from_utf8_lossy(&p).into_owned())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "HTTP/1.1".to_owned()))
}

/// `$context`, reading the client's protocol from the host. Fields AWS fills only
/// for features Tollgate does not have (Cognito identity pools, AWS Organizations, mutual TLS)
/// are `null`, as AWS sends them when unused.
pub(super) fn request_context<H: Host>(
    host: &H,
    plan: &Plan,
    request: &Described<'_>,
    caller: &Caller<'_>,
) -> Result<Value, HostError> {
    let protocol = protocol(host)?;
    let headers = request.headers;
    let text = |name: &str| headers.get(name).map(|v| String::from_utf8_lossy(v).into_owned());
    let request_id = text("x-request-id").unwrap_or_else(|| format!("{:032x}", request.now_nanos));
    let millis = request.now_nanos / 1_000_000;
    let seconds = i64::try_from(millis / 1000).unwrap_or(i64::MAX);
    let domain = text(":authority").or_else(|| text("host"));
    let domain_prefix = domain.as_deref().map(|d| {
        let host = d.rsplit_once(':').filter(|(_, port)| port.parse::<u16>().is_ok());
        let name = host.map_or(d, |(name, _)| name);
        name.split('.').next().unwrap_or(name).to_owned()
    });
    let principal = caller.iam.map(|c| c.principal_arn.as_str());
    let mut context = json!({
        "accountId": plan.account_id,
        "apiId": plan.api_id,
        "domainName": domain,
        "domainPrefix": domain_prefix,
        "extendedRequestId": extended_request_id(&request_id),
        "httpMethod": String::from_utf8_lossy(request.verb),
        "identity": {
            "accessKey": caller.iam.map(|c| c.access_key_id.as_str()),
            "accountId": caller.iam.and_then(CredentialPlan::account_id),
            "apiKey": caller.api_key,
            "apiKeyId": caller.api_key_id,
            "caller": principal,
            "clientCert": null,
            "cognitoAuthenticationProvider": null,
            "cognitoAuthenticationType": null,
            "cognitoIdentityId": null,
            "cognitoIdentityPoolId": null,
            "principalOrgId": caller.iam.and_then(|c| c.principal_org_id.as_deref()),
            "sourceIp": request.source_ip,
            "user": principal,
            "userAgent": text("user-agent"),
            "userArn": principal,
        },
        "path": format!("/{}{}", plan.stage, request.path),
        "protocol": protocol,
        "requestId": request_id,
        "requestTime": clf_time(seconds),
        "requestTimeEpoch": millis,
        "resourceId": crate::auth::lambda::resource_id(&plan.api_id, request.resource),
        "resourcePath": request.resource,
        "stage": plan.stage,
    });
    if let (Value::Object(map), Value::Object(authorizer)) = (&mut context, &caller.authorizer) {
        map.insert("authorizer".into(), Value::Object(authorizer.clone()));
    }
    Ok(context)
}

/// `25/Nov/2026:14:28:02 +0000`, as `$context.requestTime` is written.
fn clf_time(seconds: i64) -> String {
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let t = crate::text::datetime::DateTime::from_unix(seconds);
    let month = MONTHS.get(t.month.saturating_sub(1) as usize).copied().unwrap_or("Jan");
    format!("{:02}/{month}/{}:{:02}:{:02}:{:02} +0000", t.day, t.year, t.hour, t.minute, t.second)
}
