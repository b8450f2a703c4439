use super::*;
use crate::test_support::test;

const ARN: &str = "arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/GET/pets/1";
const ALICE: &str = "arn:aws:iam::123456789012:user/alice";
/// 2026-11-25T12:00:00Z
const NOON: i64 = 1_795_608_000;

/// Every key present.
fn full() -> AccessRequest<'static> {
    AccessRequest {
        action: "execute-api:Invoke",
        resource: ARN,
        principal_arn: Some(ALICE),
        principal_org_id: Some("o-a1b2c3d4e5"),
        source_ip: Some("192.0.2.10".parse().unwrap()),
        source_vpce: Some("vpce-1a2b3c4d"),
        source_vpc: Some("vpc-111bbb22"),
        secure_transport: true,
        current_time: NOON,
        referer: Some("https://app.example.com/page"),
        user_agent: Some("curl/8.5.0"),
    }
}

/// Every optional key absent, plain HTTP.
fn bare() -> AccessRequest<'static> {
    AccessRequest {
        principal_arn: None,
        principal_org_id: None,
        source_ip: None,
        source_vpce: None,
        source_vpc: None,
        secure_transport: false,
        referer: None,
        user_agent: None,
        ..full()
    }
}

fn v6() -> AccessRequest<'static> {
    AccessRequest { source_ip: Some("2001:db8:1234::7".parse().unwrap()), ..full() }
}

fn compile_json(json: &str, variables: bool) -> Result<Vec<Condition>, ConfigError> {
    let conditions: Conditions = serde_json::from_str(json).unwrap();
    compile(&conditions, variables, "c")
}

fn holds(json: &str, req: &AccessRequest<'_>) -> bool {
    let conditions = compile_json(json, false).unwrap_or_else(|e| panic!("{json}: {e}"));
    conditions.iter().all(|c| c.holds(req))
}

#[test]
fn string_operators() {
    let (full, bare) = (&full(), &bare());
    for (json, req, expected) in [
        (r#"{"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}"#, full, true),
        (r#"{"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}"#, bare, false),
        (r#"{"StringEquals": {"aws:SourceVpce": "VPCE-1A2B3C4D"}}"#, full, false),
        (r#"{"StringEquals": {"aws:SourceVpce": "vpce-*"}}"#, full, false),
        (r#"{"StringEquals": {"aws:SourceVpce": ["vpce-0", "vpce-1a2b3c4d"]}}"#, full, true),
        (r#"{"StringEquals": {"AWS:SOURCEVPCE": "vpce-1a2b3c4d"}}"#, full, true),
        (r#"{"StringEquals": {"aws:sourcevpc": "vpc-111bbb22"}}"#, full, true),
        (
            r#"{"StringEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:user/alice"}}"#,
            full,
            true,
        ),
        (
            r#"{"StringEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:user/alice"}}"#,
            bare,
            false,
        ),
        (r#"{"StringEquals": {"aws:PrincipalAccount": "123456789012"}}"#, full, true),
        (r#"{"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}"#, full, true),
        (r#"{"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}"#, bare, false),
        (r#"{"StringEquals": {"aws:PrincipalAccount": "123456789012"}}"#, bare, false),
        (r#"{"StringLike": {"aws:Referer": "https://app.example.com/*"}}"#, full, true),
        (r#"{"StringLike": {"aws:Referer": "https://evil.example/*"}}"#, full, false),
        (r#"{"StringNotLike": {"aws:UserAgent": "curl/*"}}"#, full, false),
        (r#"{"StringNotLike": {"aws:UserAgent": "curl/*"}}"#, bare, true),
        (r#"{"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}"#, full, false),
        (r#"{"StringNotEquals": {"aws:SourceVpce": "vpce-0"}}"#, full, true),
        (r#"{"StringNotEquals": {"aws:SourceVpce": ["vpce-0", "vpce-1a2b3c4d"]}}"#, full, false),
        (r#"{"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}"#, bare, true),
        (r#"{"StringEqualsIgnoreCase": {"aws:SourceVpce": "VPCE-1A2B3C4D"}}"#, full, true),
        (r#"{"StringEqualsIgnoreCase": {"aws:SourceVpce": "vpce-0"}}"#, full, false),
        (r#"{"StringEqualsIgnoreCase": {"aws:SourceVpce": "VPCE-1A2B3C4D"}}"#, bare, false),
        (r#"{"StringNotEqualsIgnoreCase": {"aws:SourceVpce": "VPCE-1A2B3C4D"}}"#, full, false),
        (r#"{"StringNotEqualsIgnoreCase": {"aws:SourceVpce": "vpce-0"}}"#, full, true),
        (r#"{"StringNotEqualsIgnoreCase": {"aws:SourceVpce": "vpce-0"}}"#, bare, true),
        (r#"{"StringLike": {"aws:SourceVpce": "vpce-1a2b*"}}"#, full, true),
        (r#"{"StringLike": {"aws:SourceVpce": "vpce-????????"}}"#, full, true),
        (r#"{"StringLike": {"aws:SourceVpce": "vpce-???????"}}"#, full, false),
        (r#"{"StringLike": {"aws:SourceVpce": "VPCE-*"}}"#, full, false),
        (r#"{"StringLike": {"aws:SourceVpce": "*"}}"#, bare, false),
        (r#"{"StringLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:user/*"}}"#, full, true),
        (r#"{"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*alice"}}"#, full, true),
        (r#"{"StringNotLike": {"aws:SourceVpc": "vpc-*"}}"#, full, false),
        (r#"{"StringNotLike": {"aws:SourceVpc": "vpce-*"}}"#, full, true),
        (r#"{"StringNotLike": {"aws:SourceVpc": "*"}}"#, bare, true),
        (r#"{"StringEqualsIfExists": {"aws:SourceVpce": "vpce-0"}}"#, bare, true),
        (r#"{"StringEqualsIfExists": {"aws:SourceVpce": "vpce-0"}}"#, full, false),
        (r#"{"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"}}"#, full, true),
        (r#"{"StringLikeIfExists": {"aws:SourceVpc": "vpc-1*"}}"#, full, true),
        (r#"{"StringLikeIfExists": {"aws:SourceVpc": "vpc-2*"}}"#, bare, true),
        (r#"{"StringNotEqualsIfExists": {"aws:SourceVpc": "vpc-111bbb22"}}"#, full, false),
        (r#"{"StringNotEqualsIfExists": {"aws:SourceVpc": "vpc-111bbb22"}}"#, bare, true),
        // Numbers and booleans compare as their text.
        (r#"{"StringNotEquals": {"aws:SourceVpc": 12}}"#, full, true),
    ] {
        assert_eq!(holds(json, req), expected, "{json} on {req:?}");
    }
}

#[test]
fn arn_operators_match_field_by_field() {
    let (full, bare) = (&full(), &bare());
    for (json, req, expected) in [
        (r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/alice"}}"#, full, true),
        (r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}}"#, full, true),
        (r#"{"ArnLike": {"aws:PrincipalArn": "arn:*:*:*:*:*"}}"#, full, true),
        (r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}"#, full, false),
        (r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:*alice"}}"#, full, true),
        // `*` does not cross a `:`: the account field is not empty.
        (r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam:::user/alice"}}"#, full, false),
        (r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}}"#, bare, false),
        (
            r#"{"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:user/alice"}}"#,
            full,
            true,
        ),
        (r#"{"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}"#, full, true),
        (r#"{"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}}"#, full, false),
        (r#"{"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}"#, bare, true),
        (r#"{"ArnLikeIfExists": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}"#, bare, true),
    ] {
        assert_eq!(holds(json, req), expected, "{json} on {req:?}");
    }
}

#[test]
fn ip_operators() {
    let (full, bare, v6) = (&full(), &bare(), &v6());
    for (json, req, expected) in [
        (r#"{"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}"#, full, true),
        (r#"{"IpAddress": {"aws:SourceIp": "192.0.2.10"}}"#, full, true),
        (r#"{"IpAddress": {"aws:SourceIp": "192.0.2.10/32"}}"#, full, true),
        (r#"{"IpAddress": {"aws:SourceIp": "192.0.2.11/32"}}"#, full, false),
        (r#"{"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}"#, full, false),
        (r#"{"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.0/28"]}}"#, full, true),
        (r#"{"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}"#, full, true),
        (r#"{"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}"#, bare, false),
        (r#"{"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}"#, v6, false),
        (r#"{"IpAddress": {"aws:SourceIp": "::/0"}}"#, v6, true),
        (r#"{"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}"#, v6, true),
        (r#"{"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:db8::/32"]}}"#, v6, true),
        (r#"{"IpAddress": {"aws:SourceIp": "2001:db8:1234::7/128"}}"#, v6, true),
        (r#"{"IpAddress": {"aws:SourceIp": "2001:db9::/32"}}"#, v6, false),
        (r#"{"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}"#, full, true),
        (r#"{"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}}"#, full, false),
        (r#"{"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.0/24"]}}"#, full, false),
        (r#"{"NotIpAddress": {"aws:SourceIp": "0.0.0.0/0"}}"#, full, false),
        (r#"{"NotIpAddress": {"aws:SourceIp": "0.0.0.0/0"}}"#, v6, true),
        (r#"{"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}"#, bare, true),
        (r#"{"IpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}}"#, bare, true),
        (r#"{"IpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}}"#, full, false),
        (r#"{"NotIpAddressIfExists": {"aws:SourceIp": "192.0.2.0/24"}}"#, bare, true),
        (r#"{"NotIpAddressIfExists": {"aws:SourceIp": "192.0.2.0/24"}}"#, full, false),
    ] {
        assert_eq!(holds(json, req), expected, "{json} on {req:?}");
    }
}

#[test]
fn bool_date_and_null_operators() {
    let (full, bare) = (&full(), &bare());
    for (json, req, expected) in [
        (r#"{"Bool": {"aws:SecureTransport": "true"}}"#, full, true),
        (r#"{"Bool": {"aws:SecureTransport": "true"}}"#, bare, false),
        (r#"{"Bool": {"aws:SecureTransport": true}}"#, full, true),
        (r#"{"Bool": {"aws:SecureTransport": false}}"#, bare, true),
        (r#"{"Bool": {"aws:SecureTransport": "False"}}"#, full, false),
        (r#"{"Bool": {"aws:SecureTransport": [true, false]}}"#, bare, true),
        (r#"{"BoolIfExists": {"aws:SecureTransport": "false"}}"#, full, false),
        (r#"{"DateEquals": {"aws:CurrentTime": "2026-11-25T12:00:00Z"}}"#, full, true),
        (r#"{"DateEquals": {"aws:CurrentTime": "2026-11-25T12:00:00.500Z"}}"#, full, false),
        (r#"{"DateEquals": {"aws:CurrentTime": 1795608000}}"#, full, true),
        (r#"{"DateEquals": {"aws:CurrentTime": "1795608000"}}"#, full, true),
        (r#"{"DateNotEquals": {"aws:CurrentTime": "2026-11-25T12:00:00Z"}}"#, full, false),
        (r#"{"DateNotEquals": {"aws:CurrentTime": "2026-11-24"}}"#, full, true),
        (r#"{"DateLessThan": {"aws:CurrentTime": "2026-11-25T12:00:01Z"}}"#, full, true),
        (r#"{"DateLessThan": {"aws:CurrentTime": "2026-11-25T12:00:00Z"}}"#, full, false),
        (r#"{"DateLessThanEquals": {"aws:CurrentTime": "2026-11-25T12:00:00Z"}}"#, full, true),
        (r#"{"DateLessThanEquals": {"aws:CurrentTime": "2026-11-25T11:59:59Z"}}"#, full, false),
        (r#"{"DateGreaterThan": {"aws:CurrentTime": "2026-11-25"}}"#, full, true),
        (r#"{"DateGreaterThan": {"aws:CurrentTime": "2026-11-25T12:00:00Z"}}"#, full, false),
        (r#"{"DateGreaterThanEquals": {"aws:CurrentTime": 1795608000}}"#, full, true),
        (
            r#"{"DateGreaterThanEquals": {"aws:CurrentTime": "2026-11-25T13:00:00+01:00"}}"#,
            full,
            true,
        ),
        (r#"{"DateGreaterThanEquals": {"aws:CurrentTime": "2026-11-26"}}"#, full, false),
        (r#"{"DateLessThanIfExists": {"aws:CurrentTime": "2026-01-01"}}"#, full, false),
        (r#"{"DateGreaterThan": {"aws:CurrentTime": ["2027-01-01", "2026-01-01"]}}"#, full, true),
        (r#"{"Null": {"aws:SourceIp": "true"}}"#, full, false),
        (r#"{"Null": {"aws:SourceIp": "true"}}"#, bare, true),
        (r#"{"Null": {"aws:SourceIp": false}}"#, full, true),
        (r#"{"Null": {"aws:SourceIp": false}}"#, bare, false),
        (r#"{"Null": {"aws:PrincipalArn": "true"}}"#, bare, true),
        (r#"{"Null": {"aws:SourceVpce": "false"}}"#, full, true),
        (r#"{"Null": {"aws:CurrentTime": "true"}}"#, bare, false),
    ] {
        assert_eq!(holds(json, req), expected, "{json} on {req:?}");
    }
}

#[test]
fn blocks_and_keys_combine_with_and() {
    let (full, bare) = (&full(), &bare());
    for (json, req, expected) in [
        (r#"{}"#, bare, true),
        (
            r#"{"DateGreaterThan": {"aws:CurrentTime": "2026-01-01"}, "DateLessThan": {"aws:CurrentTime": "2027-01-01"}}"#,
            full,
            true,
        ),
        (
            r#"{"DateGreaterThan": {"aws:CurrentTime": "2026-01-01"}, "DateLessThan": {"aws:CurrentTime": "2026-06-01"}}"#,
            full,
            false,
        ),
        (
            r#"{"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d", "aws:SourceVpc": "vpc-111bbb22"}}"#,
            full,
            true,
        ),
        (
            r#"{"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d", "aws:SourceVpc": "vpc-0"}}"#,
            full,
            false,
        ),
        (
            r#"{"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}, "Bool": {"aws:SecureTransport": "true"}}"#,
            full,
            true,
        ),
        (
            r#"{"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}, "Bool": {"aws:SecureTransport": "false"}}"#,
            full,
            false,
        ),
    ] {
        assert_eq!(holds(json, req), expected, "{json} on {req:?}");
    }
}

#[test]
fn policy_variables_only_with_2012_10_17() {
    let json = r#"{"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/${aws:username}"}}"#;
    let err = compile_json(json, true).unwrap_err();
    assert_eq!(err.path, "c.StringLike.aws:PrincipalArn");
    assert!(err.reason.contains("policy variable `${aws:username}` is not supported"), "{err}");
    // 2008-10-17: plain text.
    assert!(!holds(json, &full()));
    let escaped =
        compile_json(r#"{"StringEquals": {"aws:SourceVpce": "vpce-${*}"}}"#, true).unwrap();
    let req = AccessRequest { source_vpce: Some("vpce-*"), ..full() };
    assert!(escaped.iter().all(|c| c.holds(&req)));
}

#[test]
fn compile_errors_name_the_path() {
    for (json, path, reason) in [
        (
            r#"{"StringEqual": {"aws:SourceVpce": "v"}}"#,
            "c.StringEqual",
            "unknown condition operator `StringEqual`",
        ),
        (
            r#"{"stringEquals": {"aws:SourceVpce": "v"}}"#,
            "c.stringEquals",
            "case-sensitive: `StringEquals`",
        ),
        (
            r#"{"NumericLessThan": {"aws:SourceVpce": "v"}}"#,
            "c.NumericLessThan",
            "unknown condition operator",
        ),
        (
            r#"{"ForAnyValue:StringEquals": {"aws:SourceVpce": "v"}}"#,
            "c.ForAnyValue:StringEquals",
            "single-valued",
        ),
        (r#"{"NullIfExists": {"aws:SourceIp": "true"}}"#, "c.NullIfExists", "not an operator"),
        (r#"{"IfExists": {"aws:SourceIp": "true"}}"#, "c.IfExists", "unknown condition operator"),
        (
            r#"{"StringEquals": {"aws:username": "alice"}}"#,
            "c.StringEquals.aws:username",
            "unknown condition key `aws:username`",
        ),
        (
            r#"{"StringEquals": {"aws:SourceIp": "192.0.2.1"}}"#,
            "c.StringEquals.aws:SourceIp",
            "use IpAddress, NotIpAddress or Null",
        ),
        (
            r#"{"IpAddress": {"aws:SourceVpce": "192.0.2.1"}}"#,
            "c.IpAddress.aws:SourceVpce",
            "does not apply",
        ),
        (r#"{"Bool": {"aws:SourceIp": "true"}}"#, "c.Bool.aws:SourceIp", "does not apply"),
        (
            r#"{"DateLessThan": {"aws:SecureTransport": "2026-01-01"}}"#,
            "c.DateLessThan.aws:SecureTransport",
            "use Bool or Null",
        ),
        (
            r#"{"StringLike": {"aws:CurrentTime": "2026-*"}}"#,
            "c.StringLike.aws:CurrentTime",
            "a Date operator",
        ),
        (
            r#"{"ArnLike": {"aws:SourceVpc": "arn:aws:ec2:*:*:vpc/*"}}"#,
            "c.ArnLike.aws:SourceVpc",
            "does not apply",
        ),
        (
            r#"{"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "10.0.0.0/33"]}}"#,
            "c.IpAddress.aws:SourceIp[1]",
            "prefix length must be 0 to 32",
        ),
        (
            r#"{"NotIpAddress": {"aws:SourceIp": "10.0.0/8"}}"#,
            "c.NotIpAddress.aws:SourceIp",
            "not an IPv4 or IPv6 address",
        ),
        (r#"{"IpAddress": {"aws:SourceIp": 10}}"#, "c.IpAddress.aws:SourceIp", "not an IP address"),
        (
            r#"{"Bool": {"aws:SecureTransport": "yes"}}"#,
            "c.Bool.aws:SecureTransport",
            "not true or false",
        ),
        (r#"{"Null": {"aws:SourceIp": 1}}"#, "c.Null.aws:SourceIp", "not true or false"),
        (
            r#"{"DateLessThan": {"aws:CurrentTime": ["2026-01-01", "next week"]}}"#,
            "c.DateLessThan.aws:CurrentTime[1]",
            "ISO 8601",
        ),
        (
            r#"{"DateLessThan": {"aws:CurrentTime": true}}"#,
            "c.DateLessThan.aws:CurrentTime",
            "ISO 8601",
        ),
        (
            r#"{"ArnLike": {"aws:PrincipalArn": "alice"}}"#,
            "c.ArnLike.aws:PrincipalArn",
            "not an ARN",
        ),
        (r#"{"StringEquals": {}}"#, "c.StringEquals", "at least one condition key"),
        (
            r#"{"StringEquals": {"aws:SourceVpce": []}}"#,
            "c.StringEquals.aws:SourceVpce",
            "empty list",
        ),
    ] {
        let err = compile_json(json, false).unwrap_err();
        assert_eq!(err.path, path, "{json}: {err}");
        assert!(err.reason.contains(reason), "{json}: {err}");
    }
}
