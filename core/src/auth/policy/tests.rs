use super::*;
use crate::test_support::test;

const GET_PET: &str = "arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/GET/pets/1";
const DELETE_PET: &str = "arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/DELETE/pets/1";
const GET_ROOT: &str = "arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/GET/";
const ALICE: &str = "arn:aws:iam::123456789012:user/alice";
const DEPLOY: &str = "arn:aws:iam::123456789012:role/ci/Deploy";
const MALLORY: &str = "arn:aws:iam::210987654321:user/mallory";

fn request(resource: &str) -> AccessRequest<'_> {
    AccessRequest {
        action: "execute-api:Invoke",
        resource,
        principal_arn: Some(ALICE),
        principal_org_id: None,
        source_ip: Some("192.0.2.10".parse().unwrap()),
        source_vpce: None,
        source_vpc: None,
        secure_transport: true,
        current_time: 1_795_608_000,
        referer: None,
        user_agent: None,
    }
}

fn compile(json: &str, kind: PolicyKind) -> Result<CompiledPolicy, ConfigError> {
    let doc = PolicyDocument::from_json(json.as_bytes()).unwrap_or_else(|e| panic!("{json}: {e}"));
    CompiledPolicy::compile(&doc, kind, "resource_policy")
}

fn identity(json: &str) -> CompiledPolicy {
    compile(json, PolicyKind::Identity).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn resource(json: &str) -> CompiledPolicy {
    compile(json, PolicyKind::Resource).unwrap_or_else(|e| panic!("{json}: {e}"))
}

/// An identity policy with one statement.
fn statement(effect: &str, body: &str) -> CompiledPolicy {
    identity(&format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "{effect}", {body}}}]}}"#
    ))
}

#[test]
fn actions_and_resources() {
    use Decision::{Allow, NoMatch};
    for (body, action, resource, expected) in [
        (
            r#""Action": "execute-api:Invoke", "Resource": "*""#,
            "execute-api:Invoke",
            GET_PET,
            Allow,
        ),
        (
            r#""Action": "execute-api:invoke", "Resource": "*""#,
            "execute-api:Invoke",
            GET_PET,
            Allow,
        ),
        (
            r#""Action": "EXECUTE-API:*", "Resource": "*""#,
            "execute-api:InvalidateCache",
            GET_PET,
            Allow,
        ),
        (r#""Action": "*", "Resource": "*""#, "execute-api:InvalidateCache", GET_PET, Allow),
        (
            r#""Action": "execute-api:Inv*", "Resource": "*""#,
            "execute-api:InvalidateCache",
            GET_PET,
            Allow,
        ),
        (
            r#""Action": "execute-api:Invoke", "Resource": "*""#,
            "execute-api:InvalidateCache",
            GET_PET,
            NoMatch,
        ),
        (r#""Action": "s3:*", "Resource": "*""#, "execute-api:Invoke", GET_PET, NoMatch),
        (
            r#""Action": ["s3:GetObject", "execute-api:Invoke"], "Resource": "*""#,
            "execute-api:Invoke",
            GET_PET,
            Allow,
        ),
        (
            r#""NotAction": "execute-api:InvalidateCache", "Resource": "*""#,
            "execute-api:Invoke",
            GET_PET,
            Allow,
        ),
        (
            r#""NotAction": "execute-api:InvalidateCache", "Resource": "*""#,
            "execute-api:InvalidateCache",
            GET_PET,
            NoMatch,
        ),
        (
            r#""NotAction": ["s3:*", "execute-api:*"], "Resource": "*""#,
            "execute-api:Invoke",
            GET_PET,
            NoMatch,
        ),
        (
            r#""Action": "*", "Resource": "arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/GET/pets/*""#,
            "execute-api:Invoke",
            GET_PET,
            Allow,
        ),
        (
            r#""Action": "*", "Resource": "arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/GET/pets/*""#,
            "execute-api:Invoke",
            DELETE_PET,
            NoMatch,
        ),
        (
            r#""Action": "*", "Resource": "arn:aws:execute-api:*:123456789012:petstore/*/GET/*""#,
            "execute-api:Invoke",
            GET_PET,
            Allow,
        ),
        (
            r#""Action": "*", "Resource": "arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/GET/""#,
            "execute-api:Invoke",
            GET_ROOT,
            Allow,
        ),
        (
            r#""Action": "*", "Resource": "arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/get/*""#,
            "execute-api:Invoke",
            GET_PET,
            NoMatch,
        ),
        (
            r#""Action": "*", "Resource": "arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/*/pets/?""#,
            "execute-api:Invoke",
            DELETE_PET,
            Allow,
        ),
        (
            r#""Action": "*", "Resource": "arn:aws:execute-api:eu-west-1:123456789012:other/*""#,
            "execute-api:Invoke",
            GET_PET,
            NoMatch,
        ),
        (
            r#""Action": "*", "NotResource": "arn:aws:execute-api:*:*:petstore/prod/DELETE/*""#,
            "execute-api:Invoke",
            GET_PET,
            Allow,
        ),
        (
            r#""Action": "*", "NotResource": "arn:aws:execute-api:*:*:petstore/prod/DELETE/*""#,
            "execute-api:Invoke",
            DELETE_PET,
            NoMatch,
        ),
        (
            r#""Action": "*", "NotResource": ["arn:aws:s3:::bucket/*", "arn:aws:execute-api:*:*:*/GET/*"]"#,
            "execute-api:Invoke",
            GET_PET,
            NoMatch,
        ),
    ] {
        let req = AccessRequest { action, ..request(resource) };
        assert_eq!(
            statement("Allow", body).evaluate(&req),
            expected,
            "{body} on {action} {resource}"
        );
    }
}

#[test]
fn deny_wins_over_allow() {
    let policy = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Everything", "Effect": "Allow", "Action": "execute-api:*", "Resource": "*"},
            {"Sid": "NoDeletes", "Effect": "Deny", "Action": "execute-api:Invoke",
             "Resource": "arn:aws:execute-api:*:*:petstore/*/DELETE/*"},
            {"Sid": "OfficeOnly", "Effect": "Deny", "Action": "*", "Resource": "*",
             "Condition": {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:db8::/32"]}}}
        ]}"#,
    );
    assert_eq!(policy.evaluate(&request(GET_PET)), Decision::Allow);
    assert_eq!(policy.evaluate(&request(DELETE_PET)), Decision::ExplicitDeny);
    let away =
        AccessRequest { source_ip: Some("198.51.100.1".parse().unwrap()), ..request(GET_PET) };
    assert_eq!(policy.evaluate(&away), Decision::ExplicitDeny);
    let v6 = AccessRequest { source_ip: Some("2001:db8::5".parse().unwrap()), ..request(GET_PET) };
    assert_eq!(policy.evaluate(&v6), Decision::Allow);
    // No source IP: NotIpAddress holds on a missing key, so the deny applies.
    let unknown = AccessRequest { source_ip: None, ..request(GET_PET) };
    assert_eq!(policy.evaluate(&unknown), Decision::ExplicitDeny);

    let deny_only =
        statement("Deny", r#""Action": "*", "Resource": "arn:aws:execute-api:*:*:*/DELETE/*""#);
    assert_eq!(deny_only.evaluate(&request(GET_PET)), Decision::NoMatch);
    assert_eq!(deny_only.evaluate(&request(DELETE_PET)), Decision::ExplicitDeny);
}

#[test]
fn single_statement_object_equals_array() {
    let body = r#"{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:*/GET/*"}"#;
    let one = identity(&format!(r#"{{"Statement": {body}}}"#));
    let many = identity(&format!(r#"{{"Statement": [{body}]}}"#));
    for resource in [GET_PET, DELETE_PET, GET_ROOT] {
        assert_eq!(one.evaluate(&request(resource)), many.evaluate(&request(resource)));
    }
    assert_eq!(one.evaluate(&request(GET_ROOT)), Decision::Allow);
}

#[test]
fn principals_in_resource_policies() {
    use Decision::{Allow, NoMatch};
    for (principal, caller, expected) in [
        (r#""Principal": "*""#, None, Allow),
        (r#""Principal": "*""#, Some(MALLORY), Allow),
        (r#""Principal": {"AWS": "*"}"#, None, Allow),
        (r#""Principal": {"AWS": "123456789012"}"#, Some(ALICE), Allow),
        (r#""Principal": {"AWS": "123456789012"}"#, Some(MALLORY), NoMatch),
        (r#""Principal": {"AWS": "123456789012"}"#, None, NoMatch),
        (r#""Principal": {"AWS": "arn:aws:iam::123456789012:root"}"#, Some(DEPLOY), Allow),
        (r#""Principal": {"AWS": "arn:aws:iam::123456789012:root"}"#, Some(MALLORY), NoMatch),
        (r#""Principal": {"AWS": ["arn:aws:iam::123456789012:user/alice"]}"#, Some(ALICE), Allow),
        (
            r#""Principal": {"AWS": ["arn:aws:iam::123456789012:user/alice"]}"#,
            Some(DEPLOY),
            NoMatch,
        ),
        (r#""Principal": {"AWS": "arn:aws:iam::123456789012:role/*"}"#, Some(DEPLOY), Allow),
        (r#""Principal": {"AWS": "arn:aws:iam::123456789012:role/*"}"#, Some(ALICE), NoMatch),
        (
            r#""Principal": {"AWS": ["210987654321", "arn:aws:iam::*:role/ci/*"]}"#,
            Some(DEPLOY),
            Allow,
        ),
        (r#""NotPrincipal": {"AWS": "210987654321"}"#, Some(ALICE), Allow),
        (r#""NotPrincipal": {"AWS": "210987654321"}"#, Some(MALLORY), NoMatch),
        (r#""NotPrincipal": {"AWS": "210987654321"}"#, None, Allow),
        (r#""NotPrincipal": "*""#, None, NoMatch),
    ] {
        let policy = resource(&format!(
            r#"{{"Statement": {{"Effect": "Allow", {principal}, "Action": "execute-api:Invoke", "Resource": "execute-api:/*"}}}}"#
        ));
        let req = AccessRequest { principal_arn: caller, ..request(GET_PET) };
        assert_eq!(policy.evaluate(&req), expected, "{principal} vs {caller:?}");
    }
}

#[test]
fn api_gateway_resource_shorthand() {
    for (pattern, arn, expected) in [
        ("execute-api:/*", GET_PET, true),
        ("execute-api:/*/*/*", GET_ROOT, true),
        ("execute-api:/prod/GET/pets/*", GET_PET, true),
        ("execute-api:/prod/GET/pets/*", DELETE_PET, false),
        ("execute-api:/*/GET/", GET_ROOT, true),
        ("execute-api:/*/GET/", GET_PET, false),
        ("execute-api:/test/*", GET_PET, false),
        ("execute-api:/*", "arn:aws:execute-api:eu-west-1:123456789012:petstore", false),
        ("execute-api:/*", "arn:aws:lambda:eu-west-1:123456789012:function/prod", false),
    ] {
        let policy = resource(&format!(
            r#"{{"Statement": {{"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "{pattern}"}}}}"#
        ));
        let decision = policy.evaluate(&request(arn));
        assert_eq!(decision == Decision::Allow, expected, "{pattern} vs {arn}");
    }
}

/// The classic private-API policy from the API Gateway docs.
#[test]
fn private_api_policy() {
    let policy = resource(
        r#"{
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke",
             "Resource": "execute-api:/*",
             "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}},
            {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
             "Resource": "execute-api:/*"}
        ]}"#,
    );
    let inside = AccessRequest {
        source_vpce: Some("vpce-1a2b3c4d"),
        principal_arn: None,
        ..request(GET_PET)
    };
    let other = AccessRequest { source_vpce: Some("vpce-0"), ..inside };
    let internet = AccessRequest { source_vpce: None, ..inside };
    assert_eq!(policy.evaluate(&inside), Decision::Allow);
    assert_eq!(policy.evaluate(&other), Decision::ExplicitDeny);
    assert_eq!(policy.evaluate(&internet), Decision::ExplicitDeny);
}

#[test]
fn authorize_matrix() {
    use Access::{Allowed, ExplicitDeny, ImplicitDeny};
    let allow_get = statement(
        "Allow",
        r#""Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:*/GET/*""#,
    );
    let deny_all = statement("Deny", r#""Action": "*", "Resource": "*""#);
    let unrelated = statement("Allow", r#""Action": "s3:GetObject", "Resource": "*""#);
    let rp = |effect: &str, principal: &str| {
        resource(&format!(
            r#"{{"Statement": {{"Effect": "{effect}", "Principal": {principal}, "Action": "execute-api:Invoke", "Resource": "execute-api:/*/GET/*"}}}}"#
        ))
    };
    let rp_allow_all = rp("Allow", r#""*""#);
    let rp_allow_account = rp("Allow", r#"{"AWS": "123456789012"}"#);
    let rp_allow_other = rp("Allow", r#"{"AWS": "210987654321"}"#);
    let rp_deny_all = rp("Deny", r#""*""#);

    let alice = request(GET_PET);
    let anonymous = AccessRequest { principal_arn: None, ..alice };
    let none: &[CompiledPolicy] = &[];
    for (name, ids, rp, iam, req, expected) in [
        // IAM callers: an identity allow or a resource-policy allow suffices.
        ("iam, identity allow, no rp", vec![&allow_get], None, true, &alice, Allowed),
        ("iam, no identity policy, no rp", vec![], None, true, &alice, ImplicitDeny),
        (
            "iam, unrelated identity policy, no rp",
            vec![&unrelated],
            None,
            true,
            &alice,
            ImplicitDeny,
        ),
        (
            "iam, identity allow and deny",
            vec![&allow_get, &deny_all],
            None,
            true,
            &alice,
            ExplicitDeny,
        ),
        (
            "iam, no identity allow, rp allows account",
            vec![],
            Some(&rp_allow_account),
            true,
            &alice,
            Allowed,
        ),
        (
            "iam, no identity allow, rp allows *",
            vec![&unrelated],
            Some(&rp_allow_all),
            true,
            &alice,
            Allowed,
        ),
        (
            "iam, identity allow, rp no match",
            vec![&allow_get],
            Some(&rp_allow_other),
            true,
            &alice,
            Allowed,
        ),
        (
            "iam, no identity allow, rp no match",
            vec![],
            Some(&rp_allow_other),
            true,
            &alice,
            ImplicitDeny,
        ),
        (
            "iam, identity allow, rp deny",
            vec![&allow_get],
            Some(&rp_deny_all),
            true,
            &alice,
            ExplicitDeny,
        ),
        (
            "iam, identity deny, rp allow",
            vec![&deny_all],
            Some(&rp_allow_all),
            true,
            &alice,
            ExplicitDeny,
        ),
        // Other callers: identity policies do not exist; a resource policy must allow.
        ("anonymous, no rp", vec![], None, false, &anonymous, Allowed),
        ("anonymous, identity deny ignored", vec![&deny_all], None, false, &anonymous, Allowed),
        ("anonymous, rp allows *", vec![], Some(&rp_allow_all), false, &anonymous, Allowed),
        (
            "anonymous, rp allows account only",
            vec![],
            Some(&rp_allow_account),
            false,
            &anonymous,
            ImplicitDeny,
        ),
        ("anonymous, rp deny", vec![], Some(&rp_deny_all), false, &anonymous, ExplicitDeny),
        (
            "anonymous, identity allow ignored, rp no match",
            vec![&allow_get],
            Some(&rp_allow_account),
            false,
            &anonymous,
            ImplicitDeny,
        ),
    ] {
        let ids: Vec<CompiledPolicy> = ids.into_iter().cloned().collect();
        assert_eq!(authorize(&ids, rp, iam, req), expected, "{name}");
    }
    // Outside the resource policy's resources nothing allows.
    let delete = request(DELETE_PET);
    assert_eq!(authorize(none, Some(&rp_allow_all), true, &delete), ImplicitDeny);
    assert_eq!(authorize(none, Some(&rp_allow_all), false, &delete), ImplicitDeny);
}

#[test]
fn compile_errors_name_the_path() {
    let allow = r#""Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*""#;
    for (kind, json, path, reason) in [
        (PolicyKind::Identity, r#"{"Statement": []}"#.to_owned(), "resource_policy.Statement", "at least one statement"),
        (PolicyKind::Identity, r#"{"Statement": {"Effect": "Allow", "Resource": "*"}}"#.to_owned(), "resource_policy.Statement.Action", "missing: a statement needs Action or NotAction"),
        (PolicyKind::Identity, format!(r#"{{"Statement": [{{{allow}}}, {{{allow}, "NotAction": "s3:*"}}]}}"#), "resource_policy.Statement[1].NotAction", "Action or NotAction, not both"),
        (PolicyKind::Identity, r#"{"Statement": [{"Effect": "Allow", "Action": "*"}]}"#.to_owned(), "resource_policy.Statement[0].Resource", "missing"),
        (PolicyKind::Identity, r#"{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "NotResource": "*"}]}"#.to_owned(), "resource_policy.Statement[0].NotResource", "not both"),
        (PolicyKind::Identity, r#"{"Statement": [{"Effect": "Allow", "Action": [], "Resource": "*"}]}"#.to_owned(), "resource_policy.Statement[0].Action", "empty list"),
        (PolicyKind::Identity, r#"{"Statement": [{"Effect": "Allow", "Action": ["execute-api:Invoke", "Invoke"], "Resource": "*"}]}"#.to_owned(), "resource_policy.Statement[0].Action[1]", "service:action"),
        (PolicyKind::Identity, r#"{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "petstore/*"}]}"#.to_owned(), "resource_policy.Statement[0].Resource", "not \"*\" or an ARN"),
        (PolicyKind::Identity, r#"{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "execute-api:/*"}]}"#.to_owned(), "resource_policy.Statement[0].Resource", "not \"*\" or an ARN"),
        (PolicyKind::Resource, r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "execute-api:*"}]}"#.to_owned(), "resource_policy.Statement[0].Resource", "execute-api:/stage/METHOD/path"),
        (PolicyKind::Identity, format!(r#"{{"Statement": [{{{allow}, "Principal": "*"}}]}}"#), "resource_policy.Statement[0].Principal", "identity policies have no principal"),
        (PolicyKind::Identity, format!(r#"{{"Statement": [{{{allow}, "NotPrincipal": {{"AWS": "123456789012"}}}}]}}"#), "resource_policy.Statement[0].NotPrincipal", "identity policies have no principal"),
        (PolicyKind::Resource, format!(r#"{{"Statement": [{{{allow}, "Principal": "*"}}, {{{allow}}}]}}"#), "resource_policy.Statement[1].Principal", "needs Principal or NotPrincipal"),
        (PolicyKind::Resource, format!(r#"{{"Statement": [{{{allow}, "Principal": "*", "NotPrincipal": "*"}}]}}"#), "resource_policy.Statement[0].NotPrincipal", "not both"),
        (PolicyKind::Resource, format!(r#"{{"Statement": [{{{allow}, "Principal": {{"AWS": ["123456789012", "bob"]}}}}]}}"#), "resource_policy.Statement[0].Principal.AWS[1]", "12-digit account id"),
        (PolicyKind::Identity, format!(r#"{{"Statement": [{{"Sid": "A", {allow}}}, {{"Sid": "A", {allow}}}]}}"#), "resource_policy.Statement[1].Sid", "duplicate Sid `A`"),
        (PolicyKind::Identity, format!(r#"{{"Statement": [{{{allow}}}, {{{allow}, "Condition": {{"IpAddress": {{"aws:SourceIp": "300.0.0.0/8"}}}}}}]}}"#), "resource_policy.Statement[1].Condition.IpAddress.aws:SourceIp", "not an IPv4 or IPv6 address"),
        (PolicyKind::Identity, format!(r#"{{"Statement": {{{allow}, "Condition": {{"StringEquals": {{"aws:PrincipalTag/team": "a"}}}}}}}}"#), "resource_policy.Statement.Condition.StringEquals.aws:PrincipalTag/team", "unknown condition key"),
        (PolicyKind::Identity, format!(r#"{{"Statement": {{{allow}, "Condition": {{"StringMatches": {{"aws:SourceVpc": "x"}}}}}}}}"#), "resource_policy.Statement.Condition.StringMatches", "unknown condition operator"),
        (PolicyKind::Identity, r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:execute-api:*:*:${aws:username}/*"}}"#.to_owned(), "resource_policy.Statement.Resource", "policy variable"),
    ] {
        let err = compile(&json, kind).unwrap_err();
        assert_eq!(err.path, path, "{json}: {err}");
        assert!(err.reason.contains(reason), "{json}: {err}");
    }
    // 2008-10-17 (or no Version): `${...}` is text.
    let literal = r#"{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:execute-api:*:*:${aws:username}/*"}}"#;
    assert!(compile(literal, PolicyKind::Identity).is_ok());
}

#[test]
fn compile_with_empty_path() {
    let doc = PolicyDocument::from_json(br#"{"Statement": {"Effect": "Allow", "Resource": "*"}}"#)
        .unwrap();
    let err = CompiledPolicy::compile(&doc, PolicyKind::Identity, "").unwrap_err();
    assert_eq!(err.path, "Statement.Action");
}

#[test]
fn method_arns() {
    for (region, method, path, expected) in [
        ("eu-west-1", "GET", "/pets/1", GET_PET),
        ("eu-west-1", "GET", "/", GET_ROOT),
        ("eu-west-1", "delete", "/pets/1", DELETE_PET),
        ("eu-west-1", "GET", "pets/1", GET_PET),
        (
            "eu-west-1",
            "POST",
            "/pets/",
            "arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/POST/pets/",
        ),
        (
            "cn-north-1",
            "GET",
            "/",
            "arn:aws-cn:execute-api:cn-north-1:123456789012:petstore/prod/GET/",
        ),
        (
            "us-gov-west-1",
            "GET",
            "/",
            "arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:petstore/prod/GET/",
        ),
    ] {
        assert_eq!(method_arn(region, "123456789012", "petstore", "prod", method, path), expected);
    }
}
