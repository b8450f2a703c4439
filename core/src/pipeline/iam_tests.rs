//! AWS_IAM through the pipeline: a SigV4-signed request, its body, identity and resource
//! policies, with the in-memory host.

use super::*;
use crate::auth::sigv4::{self, authorization, Signer};
use crate::host::memory::MemoryHost;
use crate::test_support::test;

const NOW: u64 = 1_764_072_000; // 2025-11-25T12:00:00Z
const AMZ_DATE: &str = "20251125T120000Z";
const ARN: &str = "arn:aws:execute-api:eu-west-1:123456789012:petstore/prod";

fn plan(resource_policy: Option<serde_json::Value>) -> Plan {
    let mut config = serde_json::json!({
        "api": {"id": "petstore", "region": "eu-west-1", "account_id": "123456789012"},
        "methods": [
            {"resource": "/pets", "http_method": "ANY", "authorization_type": "AWS_IAM"},
            {"resource": "/admin", "http_method": "GET", "authorization_type": "AWS_IAM"},
            {"resource": "/open", "http_method": "GET"},
        ],
        "iam": {"credentials": [
            {"access_key_id": "AKIDALICE", "secret_access_key": "alice-secret",
             "principal_arn": "arn:aws:iam::123456789012:user/alice",
             "policies": [{"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": format!("{ARN}/*")},
                {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": format!("{ARN}/GET/admin")}]}]},
            {"access_key_id": "AKIDBOB", "secret_access_key": "bob-secret",
             "principal_arn": "arn:aws:iam::123456789012:user/bob"},
        ]},
        "trusted_headers": {"source_vpce": "x-amzn-vpce-id"},
        "filter_state": true,
    });
    if let Some(policy) = resource_policy {
        config["resource_policy"] = policy;
    }
    Plan::from_json(config.to_string().as_bytes()).unwrap()
}

/// A request signed by `key`/`secret` over host, x-amz-date and content-type.
fn signed(method: &str, target: &str, body: &[u8], key: &str, secret: &str) -> MemoryHost {
    let mut host = MemoryHost::request(method, target)
        .with_header(":authority", "api.example.com")
        .with_header(":scheme", "http")
        .with_header("content-type", "application/json")
        .with_header("x-amz-date", AMZ_DATE);
    host.now_nanos = NOW * 1_000_000_000;
    host.properties.insert("source.address".into(), b"10.1.2.3:51234".to_vec());
    let (path, query) = split_path(target.as_bytes());
    let req = sigv4::Request {
        method: method.as_bytes(),
        path,
        query,
        headers: &host.request_headers,
        body,
    };
    let signer = Signer {
        access_key_id: key,
        secret_access_key: secret.as_bytes(),
        region: "eu-west-1",
        service: "execute-api",
        amz_date: AMZ_DATE,
    };
    let names = ["content-type", "host", "x-amz-date"].map(String::from);
    let value = authorization(&req, &names, signer);
    host.with_header("authorization", value)
}

fn run(plan: &Plan, host: &mut MemoryHost, body: Option<&[u8]>) -> Flow {
    let mut worker = Worker::default();
    let mut exchange = Exchange::default();
    let flow = on_request_headers(plan, &mut worker, host, &mut exchange, body.is_none());
    match (flow, body) {
        (Flow::NeedBody, Some(body)) => {
            on_request_body(plan, &mut worker, host, &mut exchange, body)
        }
        (flow, _) => flow,
    }
}

fn rejection(host: &MemoryHost) -> (u16, String, String) {
    let reply = host.reply.as_ref().expect("a local reply");
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    (
        reply.status,
        body["message"].as_str().unwrap().to_string(),
        reply.header("x-amzn-errortype").unwrap().to_string(),
    )
}

#[test]
fn signed_requests_pass_and_name_the_principal() {
    let plan = plan(None);
    let mut host = signed("GET", "/pets?limit=2&name=a%20b", b"", "AKIDALICE", "alice-secret");
    assert_eq!(run(&plan, &mut host, None), Flow::Continue);
    assert_eq!(
        host.filter_state.get(PRINCIPAL_STATE).map(Vec::as_slice),
        Some(&b"arn:aws:iam::123456789012:user/alice"[..])
    );
    let body = br#"{"type":"dog"}"#;
    let mut host = signed("POST", "/pets", body, "AKIDALICE", "alice-secret");
    assert_eq!(run(&plan, &mut host, Some(body)), Flow::Continue);
}

#[test]
fn the_body_is_awaited_and_checked() {
    let plan = plan(None);
    let mut host = signed("POST", "/pets", b"{}", "AKIDALICE", "alice-secret");
    let flow = on_request_headers(
        &plan,
        &mut Worker::default(),
        &mut host,
        &mut Exchange::default(),
        false,
    );
    assert_eq!(flow, Flow::NeedBody);
    assert!(host.reply.is_none());
    let mut host = signed("POST", "/pets", b"{}", "AKIDALICE", "alice-secret");
    assert_eq!(run(&plan, &mut host, Some(b"{ }")), Flow::Replied);
    let (status, message, kind) = rejection(&host);
    assert_eq!((status, kind.as_str()), (403, "InvalidSignatureException"));
    assert!(message.starts_with("The request signature we calculated does not match"), "{message}");
    let big = vec![b'x'; MAX_BODY_BYTES + 1];
    let mut host = signed("POST", "/pets", b"", "AKIDALICE", "alice-secret");
    assert_eq!(run(&plan, &mut host, Some(&big)), Flow::Replied);
    assert_eq!(
        rejection(&host),
        (413, "Request Too Long".into(), "RequestTooLargeException".into())
    );
}

#[test]
fn signature_failures_get_aws_messages() {
    let plan = plan(None);
    let mut host = MemoryHost::request("GET", "/pets");
    run(&plan, &mut host, None);
    assert_eq!(
        rejection(&host),
        (403, "Missing Authentication Token".into(), "MissingAuthenticationTokenException".into())
    );
    let mut host = signed("GET", "/pets", b"", "AKIDNOBODY", "x");
    run(&plan, &mut host, None);
    assert_eq!(
        rejection(&host),
        (
            403,
            "The security token included in the request is invalid.".into(),
            "UnrecognizedClientException".into()
        )
    );
    let mut host = signed("GET", "/pets", b"", "AKIDALICE", "wrong");
    run(&plan, &mut host, None);
    assert_eq!(rejection(&host).2, "InvalidSignatureException");
    let mut host = signed("GET", "/pets", b"", "AKIDALICE", "alice-secret");
    host.now_nanos += 301 * 1_000_000_000;
    run(&plan, &mut host, None);
    assert!(rejection(&host)
        .1
        .starts_with("Signature expired: 20251125T120000Z is now earlier than"));
}

#[test]
fn identity_policies_allow_and_deny() {
    let plan = plan(None);
    let mut host = signed("GET", "/admin", b"", "AKIDALICE", "alice-secret");
    run(&plan, &mut host, None);
    assert_eq!(
        rejection(&host),
        (
            403,
            format!("User: arn:aws:iam::123456789012:user/alice is not authorized to perform: execute-api:Invoke on resource: {ARN}/GET/admin with an explicit deny"),
            "AccessDeniedException".into()
        )
    );
    let mut host = signed("GET", "/pets", b"", "AKIDBOB", "bob-secret");
    run(&plan, &mut host, None);
    assert_eq!(
        rejection(&host).1,
        format!("User: arn:aws:iam::123456789012:user/bob is not authorized to perform: execute-api:Invoke on resource: {ARN}/GET/pets")
    );
    let mut host = MemoryHost::request("GET", "/open");
    assert_eq!(run(&plan, &mut host, None), Flow::Continue, "no resource policy: open stays open");
}

#[test]
fn resource_policy_applies_to_every_caller() {
    let policy = serde_json::json!({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": format!("{ARN}/*")},
        {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": format!("{ARN}/*"),
         "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0123"}}},
    ]});
    let plan = plan(Some(policy));
    let mut host = MemoryHost::request("GET", "/open").with_header("x-amzn-vpce-id", "vpce-0123");
    assert_eq!(run(&plan, &mut host, None), Flow::Continue);
    for vpce in [None, Some("vpce-9999")] {
        let mut host = MemoryHost::request("GET", "/open");
        if let Some(v) = vpce {
            host = host.with_header("x-amzn-vpce-id", v);
        }
        run(&plan, &mut host, None);
        assert_eq!(
            rejection(&host).1,
            format!("User: anonymous is not authorized to perform: execute-api:Invoke on resource: {ARN}/GET/open with an explicit deny")
        );
    }
    // Bob has no identity policy, but the resource policy allows him from the endpoint.
    let mut host = signed("GET", "/pets", b"", "AKIDBOB", "bob-secret")
        .with_header("x-amzn-vpce-id", "vpce-0123");
    assert_eq!(run(&plan, &mut host, None), Flow::Continue);
    // The vpce header was not signed, so it must not be an x-amz-* header; this one is not.
    let ip_policy = serde_json::json!({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": format!("{ARN}/*")},
        {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": format!("{ARN}/*"),
         "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
    ]});
    let plan = self::plan(Some(ip_policy));
    let mut host = signed("GET", "/pets", b"", "AKIDALICE", "alice-secret");
    run(&plan, &mut host, None);
    assert!(rejection(&host).1.ends_with("/GET/pets with an explicit deny"));
}

/// `aws:SecureTransport` is TLS on the connection (Envoy's `connection.tls_version`), or the
/// trusted hop's `forwarded_proto` header when the config names one; never `:scheme` or a
/// client's `x-forwarded-proto`.
#[test]
fn secure_transport_is_the_connections_tls_or_a_trusted_hops_word() {
    let policy = serde_json::json!({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": format!("{ARN}/*")},
        {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": format!("{ARN}/*"),
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]});
    let plain = || {
        MemoryHost::request("GET", "/open")
            .with_header(":scheme", "https")
            .with_header("x-forwarded-proto", "https")
    };
    let plan = plan(Some(policy.clone()));
    assert!(plan.reads_secure_transport);
    let mut host = plain();
    run(&plan, &mut host, None);
    assert_eq!(rejection(&host).0, 403, "a client's :scheme and x-forwarded-proto");
    let mut host = plain();
    host.properties.insert("connection.tls_version".into(), b"TLSv1.3".to_vec());
    assert_eq!(run(&plan, &mut host, None), Flow::Continue, "TLS on the connection");

    let mut config: serde_json::Value = serde_json::json!({
        "api": {"id": "petstore", "region": "eu-west-1", "account_id": "123456789012"},
        "methods": [{"resource": "/open", "http_method": "GET"}],
        "resource_policy": policy,
        "trusted_headers": {"forwarded_proto": "X-Forwarded-Proto"},
    });
    let behind_hop = Plan::from_json(config.to_string().as_bytes()).unwrap();
    assert_eq!(run(&behind_hop, &mut plain(), None), Flow::Continue, "the hop said https");
    let mut host = MemoryHost::request("GET", "/open").with_header("x-forwarded-proto", "http");
    run(&behind_hop, &mut host, None);
    assert_eq!(rejection(&host).0, 403, "the hop said http");

    // No policy reads the key: the connection is not even asked.
    config["resource_policy"]["Statement"][1]["Condition"] =
        serde_json::json!({"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}});
    assert!(!Plan::from_json(config.to_string().as_bytes()).unwrap().reads_secure_transport);
}
