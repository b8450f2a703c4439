//! Steps 2-4 of the request flow as pure functions: who the caller is (AWS_IAM: a verified SigV4
//! signature) and whether the identity and resource policies let them invoke the method.

use std::net::IpAddr;

use crate::auth::iam::CredentialPlan;
use crate::auth::iam::IamPlan;
use crate::auth::policy::CompiledPolicy;
use crate::auth::policy::{authorize, Access, AccessRequest};
use crate::auth::sigv4::{self, KeyCache, Rules, SigError};
use crate::gateway_response::{Rejection, ResponseType};

pub const INVOKE: &str = "execute-api:Invoke";
/// The action a caller needs to refresh a cached response (`Cache-Control: max-age=0`).
pub const INVALIDATE_CACHE: &str = "execute-api:InvalidateCache";

/// The gateway response for a refused signature.
fn sig_rejection(e: &SigError) -> Rejection {
    let kind = match e {
        SigError::Missing => return Rejection::new(ResponseType::MissingAuthenticationToken),
        _ => ResponseType::InvalidSignature,
    };
    Rejection::with_message(kind, e.message()).error_type(e.error_type())
}

/// Authenticates a SigV4-signed request: the credential it was signed with.
pub fn authenticate_iam<'p>(
    (iam, region): (&'p IamPlan, &str),
    cache: &mut KeyCache,
    req: &sigv4::Request<'_>,
    now_seconds: i64,
) -> Result<(usize, &'p CredentialPlan), Rejection> {
    let presented = sigv4::presented(req.headers, req.query).map_err(|e| sig_rejection(&e))?;
    let (index, credential) =
        iam.lookup(&presented.access_key_id).ok_or_else(|| sig_rejection(&SigError::UnknownKey))?;
    let secret = sigv4::Secret {
        secret_access_key: &credential.secret_access_key,
        session_token: credential.session_token.as_deref(),
    };
    let rules = Rules { region, service: sigv4::SERVICE, max_skew: iam.max_skew };
    sigv4::verify(req, &presented, secret, index, rules, now_seconds, cache)
        .map_err(|e| sig_rejection(&e))?;
    Ok((index, credential))
}

/// What the policies see of a request besides the caller.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub source_ip: Option<IpAddr>,
    pub source_vpce: Option<&'a str>,
    pub source_vpc: Option<&'a str>,
    pub secure_transport: bool,
    pub now_seconds: i64,
    pub referer: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// Step 4: whether the caller may do `action` (`execute-api:Invoke`,
/// `execute-api:InvalidateCache`) on `resource` (the method ARN), under the identity policies of
/// an IAM caller and the API's resource policy, AWS's same-account rule. `caller` is `None` for
/// methods without AWS_IAM.
pub fn authorize_action(
    resource_policy: Option<&CompiledPolicy>,
    caller: Option<&CredentialPlan>,
    ctx: &Context<'_>,
    (resource, action): (&str, &str),
) -> Result<(), Rejection> {
    let request = AccessRequest {
        action,
        resource,
        principal_arn: caller.map(|c| c.principal_arn.as_str()),
        principal_org_id: caller.and_then(|c| c.principal_org_id.as_deref()),
        source_ip: ctx.source_ip,
        source_vpce: ctx.source_vpce,
        source_vpc: ctx.source_vpc,
        secure_transport: ctx.secure_transport,
        current_time: ctx.now_seconds,
        referer: ctx.referer,
        user_agent: ctx.user_agent,
    };
    let identity = caller.map(|c| c.policies.as_slice()).unwrap_or_default();
    let suffix = match authorize(identity, resource_policy, caller.is_some(), &request) {
        Access::Allowed => return Ok(()),
        Access::ImplicitDeny => "",
        Access::ExplicitDeny => " with an explicit deny",
    };
    let who = caller.map_or("anonymous", |c| c.principal_arn.as_str());
    Err(Rejection::with_message(
        ResponseType::AccessDenied,
        format!(
            "User: {who} is not authorized to perform: {action} on resource: {resource}{suffix}"
        ),
    ))
}

/// The IP of Envoy's `source.address` (`1.2.3.4:5678`, `[::1]:5678`).
pub fn parse_source_ip(address: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(address).ok()?;
    if let Ok(addr) = text.parse::<std::net::SocketAddr>() {
        return Some(addr.ip());
    }
    text.parse().ok()
}
