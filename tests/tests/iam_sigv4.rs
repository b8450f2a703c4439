//! AWS_IAM (SigV4) auth through a real Envoy, with requests signed by botocore's own signer
//! (`tests/sigv4/sign.py`): identities and their IAM policies, session credentials, presigned
//! URLs, tampering, clock skew, malformed signatures, AWS's error bodies and types, and resource
//! policies (source IP; the VPC endpoint of a private API).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use serde_json::{json, Value};
use tollgate_e2e::sigv4::{amz_date, now, Job, Key, Signed};
use tollgate_e2e::{get, Envoy, EnvoyOptions, Response, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");
const REGION: &str = "eu-west-1";
const METHOD_ARN: &str = "arn:aws:execute-api:eu-west-1:123456789012:petstore/prod";

const ALICE: Key = Key { access_key: "AKIDALICE", secret_key: "alice-secret", token: None };
const ALICE_ARN: &str = "arn:aws:iam::123456789012:user/alice";
const BOB: Key = Key { access_key: "AKIDBOB", secret_key: "bob-secret", token: None };
const BOB_ARN: &str = "arn:aws:iam::123456789012:user/bob";
/// Session credentials; the filter reads their secret from Envoy's environment.
const TEMP: Key =
    Key { access_key: "ASIATEMP", secret_key: "temp-secret", token: Some("temp-session-token") };
const TEMP_ARN: &str = "arn:aws:sts::123456789012:assumed-role/reader/session";
const TEMP_SECRET_ENV: &str = "TOLLGATE_TEST_TEMP_SECRET";

const MISMATCH: &str = "The request signature we calculated does not match the signature you \
    provided. Check your AWS Secret Access Key and signing method. Consult the service \
    documentation for details.";
const BAD_TOKEN: &str = "The security token included in the request is invalid.";
const VPCE: &str = "vpce-0123456789abcdef0";

fn config() -> Value {
    json!({
        "api": {"id": "petstore", "region": "eu-west-1", "account_id": "123456789012"},
        "stage": {"name": "prod"},
        "methods": [
            {"resource": "/pets", "http_method": "GET", "authorization_type": "AWS_IAM"},
            {"resource": "/pets", "http_method": "POST", "authorization_type": "AWS_IAM"},
            {"resource": "/pets/{petId}", "http_method": "ANY", "authorization_type": "AWS_IAM"},
            {"resource": "/admin", "http_method": "GET", "authorization_type": "AWS_IAM"},
            {"resource": "/open", "http_method": "GET"},
        ],
        "iam": {
            "max_skew_seconds": 300,
            "credentials": [
                {"access_key_id": "AKIDALICE", "secret_access_key": "alice-secret",
                 "principal_arn": "arn:aws:iam::123456789012:user/alice",
                 "policies": [{"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/*"},
                    {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/GET/admin"}]}]},
                {"access_key_id": "ASIATEMP", "secret_access_key": {"env": "TOLLGATE_TEST_TEMP_SECRET"}, "session_token": "temp-session-token",
                 "principal_arn": "arn:aws:sts::123456789012:assumed-role/reader/session",
                 "policies": [{"Statement": {"Effect": "Allow", "Action": "execute-api:*", "Resource": "arn:aws:execute-api:*:123456789012:petstore/*/GET/*"}}]},
                {"access_key_id": "AKIDBOB", "secret_access_key": "bob-secret",
                 "principal_arn": "arn:aws:iam::123456789012:user/bob", "policies": []},
            ],
        },
    })
}

/// `config()` with a resource policy: allow everyone, then deny under `condition`.
fn with_deny_unless(condition: Value) -> Value {
    let mut cfg = config();
    let all = "arn:aws:execute-api:eu-west-1:123456789012:petstore/*";
    cfg["resource_policy"] = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": all},
        {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": all,
         "Condition": condition},
    ]});
    cfg
}

/// The echo upstream behind Envoy (two workers) running `config`.
struct Gateway {
    port: u16,
    envoy: Envoy,
    _upstream: Upstream,
}

impl Gateway {
    fn start(config: Value) -> Gateway {
        let upstream = Upstream::start(UPSTREAM, "echo");
        let options =
            EnvoyOptions::new(config, upstream.port).env(TEMP_SECRET_ENV, TEMP.secret_key);
        let envoy = Envoy::start(&options).unwrap_or_else(|log| panic!("{log}"));
        Gateway { port: envoy.port, envoy, _upstream: upstream }
    }

    /// A request for `path_and_query` on this gateway; the signed Host is `127.0.0.1:PORT`.
    fn job(&self, method: &str, path_and_query: &str, key: Key) -> Job {
        Job::new(method, &format!("http://127.0.0.1:{}{path_and_query}", self.port), key, REGION)
    }

    fn send(&self, signed: &Signed) -> Response {
        signed.send(self.port)
    }

    /// Signs `GET path` as `key`, now, and sends it.
    fn signed_get(&self, path: &str, key: Key) -> Response {
        self.send(&self.job("GET", path, key).sign())
    }
}

/// 200, and the echo upstream saw this method, request-target (path and query) and body.
fn assert_reached(r: &Response, method: &str, target: &str, body: &str) {
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = r.json();
    assert_eq!(seen["method"], method, "{seen}");
    assert_eq!(seen["path"], target, "{seen}");
    assert_eq!(seen["body"], body, "{seen}");
}

/// A 403 gateway response: `{"message": ...}` whose message passes `check`, and this error type.
fn assert_403(r: &Response, error_type: &str, check: impl Fn(&str) -> bool, expected: &str) {
    assert_eq!(r.status, 403, "{}", r.text());
    let body = r.json();
    let message = body["message"].as_str().unwrap_or_else(|| panic!("no message in {body}"));
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "only a message: {body}");
    assert!(check(message), "message {message:?}, expected {expected:?}");
    assert_eq!(r.header("x-amzn-errortype"), Some(error_type), "{message}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("x-amzn-requestid").is_some_and(|id| id.len() >= 32), "x-amzn-RequestId");
}

fn assert_error(r: &Response, message: &str, error_type: &str) {
    assert_403(r, error_type, |m| m == message, message);
}

fn assert_error_starting(r: &Response, prefix: &str, error_type: &str) {
    assert_403(r, error_type, |m| m.starts_with(prefix), &format!("{prefix}..."));
}

fn assert_mismatch(r: &Response) {
    assert_error_starting(r, MISMATCH, "InvalidSignatureException");
}

/// AWS's denial: `principal` may not invoke `METHOD/path` (with or without an explicit deny).
fn assert_denied(r: &Response, principal: &str, method_path: &str, explicit: bool) {
    let message = format!(
        "User: {principal} is not authorized to perform: execute-api:Invoke on resource: \
         {METHOD_ARN}/{method_path}{}",
        if explicit { " with an explicit deny" } else { "" }
    );
    assert_error(r, &message, "AccessDeniedException");
}

#[test]
fn iam_sigv4_end_to_end() {
    let mut gw = Gateway::start(config());
    let pet = r#"{"name":"Rex","type":"dog"}"#;

    // Alice, signed in the Authorization header: GET, POST with a JSON body, a query with
    // reserved and non-ASCII characters (as botocore encodes it), a non-ASCII path (ANY method).
    let first = gw.job("GET", "/pets", ALICE).sign();
    assert_reached(&gw.send(&first), "GET", "/pets", "");
    let post = gw.job("POST", "/pets", ALICE).header("Content-Type", "application/json");
    let post = post.body(pet).sign();
    assert_eq!(post.header("content-type"), Some("application/json"));
    assert_reached(&gw.send(&post), "POST", "/pets", pet);
    let s = gw.job("GET", "/pets?name=a b&tag=caf%C3%A9&x=%2F&empty=", ALICE).sign();
    assert_eq!(s.target, "/pets?name=a%20b&tag=caf%C3%A9&x=%2F&empty=");
    assert_reached(&gw.send(&s), "GET", &s.target, "");
    let s = gw.job("GET", "/pets/caf%C3%A9", ALICE).sign();
    assert_reached(&gw.send(&s), "GET", "/pets/caf%C3%A9", "");

    // A presigned URL (SigV4QueryAuth): the signature is in the query, nothing in the headers.
    let s = gw.job("GET", "/pets", ALICE).presigned(300).sign();
    assert!(s.target.contains("X-Amz-Signature=") && s.header("authorization").is_none(), "{s:?}");
    assert_reached(&gw.send(&s), "GET", &s.target, "");

    // Session credentials need their token; their policy allows GET only.
    let s = gw.job("GET", "/pets/1", TEMP).sign();
    assert_eq!(s.header("x-amz-security-token"), Some("temp-session-token"));
    assert_reached(&gw.send(&s), "GET", "/pets/1", "");
    let r = gw.signed_get("/pets/1", Key { token: None, ..TEMP });
    assert_error(&r, BAD_TOKEN, "UnrecognizedClientException");
    let r = gw.signed_get("/pets/1", Key { token: Some("other-session-token"), ..TEMP });
    assert_error(&r, BAD_TOKEN, "UnrecognizedClientException");
    let s = gw.job("POST", "/pets", TEMP).header("Content-Type", "application/json");
    assert_denied(&gw.send(&s.body(pet).sign()), TEMP_ARN, "POST/pets", false);

    // Tampering after signing: body, a signed header, path, query, X-Amz-Date (one second off,
    // well within the skew). The untampered requests above passed.
    let mut t = post.clone();
    t.body = br#"{"name":"Rex","type":"cat"}"#.to_vec();
    assert_mismatch(&gw.send(&t));
    let mut t = post.clone();
    t.set_header("content-type", "text/plain");
    assert_mismatch(&gw.send(&t));
    let mut t = post.clone();
    t.target = "/pets/1".to_string();
    assert_mismatch(&gw.send(&t));
    let s = gw.job("GET", "/pets?limit=1", ALICE).sign();
    assert_reached(&gw.send(&s), "GET", "/pets?limit=1", "");
    let mut t = s.clone();
    t.target = "/pets?limit=2".to_string();
    assert_mismatch(&gw.send(&t));
    let mut at = now() - 5;
    if (at + 1) % 86_400 == 0 {
        at -= 1; // keep the altered date on the day of the credential scope
    }
    let s = gw.job("GET", "/pets", ALICE).at(&amz_date(at)).sign();
    assert_reached(&gw.send(&s), "GET", "/pets", "");
    let mut t = s.clone();
    t.set_header("x-amz-date", &amz_date(at + 1));
    assert_mismatch(&gw.send(&t));

    // Clock skew: signed 10 minutes ago or 10 minutes ahead (the limit is 5).
    let r = gw.send(&gw.job("GET", "/pets", ALICE).at(&amz_date(now() - 600)).sign());
    assert_error_starting(&r, "Signature expired:", "InvalidSignatureException");
    let r = gw.send(&gw.job("GET", "/pets", ALICE).at(&amz_date(now() + 600)).sign());
    assert_error_starting(&r, "Signature not yet current:", "InvalidSignatureException");

    // Unknown access key id; a known one with the wrong secret.
    let stranger = Key { access_key: "AKIDSTRANGER", secret_key: "whatever", token: None };
    assert_error(&gw.signed_get("/pets", stranger), BAD_TOKEN, "UnrecognizedClientException");
    assert_mismatch(&gw.signed_get("/pets", Key { secret_key: "not-alice-secret", ..ALICE }));

    // No signature at all on an AWS_IAM method; a method without auth needs none.
    let r = get(gw.port, "/pets", &[]);
    assert_error(&r, "Missing Authentication Token", "MissingAuthenticationTokenException");
    assert_reached(&get(gw.port, "/open", &[]), "GET", "/open", "");

    // Policies: alice's explicit deny on /admin; bob has no policy at all.
    assert_denied(&gw.signed_get("/admin", ALICE), ALICE_ARN, "GET/admin", true);
    assert_denied(&gw.signed_get("/pets", BOB), BOB_ARN, "GET/pets", false);

    // An Authorization header without SignedHeaders and Signature.
    let now_date = amz_date(now());
    let credential = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDALICE/{}/eu-west-1/execute-api/aws4_request",
        &now_date[..8]
    );
    let r = get(gw.port, "/pets", &[("authorization", &credential), ("x-amz-date", &now_date)]);
    let incomplete = |m: &str| {
        m.contains("Authorization header requires 'SignedHeaders' parameter.")
            && m.contains("Authorization header requires 'Signature' parameter.")
    };
    assert_403(&r, "IncompleteSignatureException", incomplete, "requires SignedHeaders, Signature");

    // A credential scoped to another region or another service.
    let r = gw.send(&gw.job("GET", "/pets", ALICE).region("us-east-1").sign());
    let region = "Credential should be scoped to a valid region";
    assert_error_starting(&r, region, "InvalidSignatureException");
    let r = gw.send(&gw.job("GET", "/pets", ALICE).service("lambda").sign());
    let service = "Credential should be scoped to correct service: 'execute-api'";
    assert_error_starting(&r, service, "InvalidSignatureException");

    // After all these rejections both workers still serve (a replay within the skew is valid).
    for _ in 0..10 {
        assert_reached(&gw.send(&first), "GET", "/pets", "");
    }
    assert!(gw.envoy.is_running());
}

#[test]
fn resource_policy_denies_by_source_ip() {
    // Allow everyone, deny loopback sources: every caller here is denied explicitly, whoever.
    let loopback = json!({"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}});
    let gw = Gateway::start(with_deny_unless(loopback));
    assert_denied(&gw.signed_get("/pets", ALICE), ALICE_ARN, "GET/pets", true);
    assert_denied(&get(gw.port, "/open", &[]), "anonymous", "GET/open", true);
}

#[test]
fn private_api_needs_its_vpc_endpoint() {
    let mut cfg = with_deny_unless(json!({"StringNotEquals": {"aws:SourceVpce": VPCE}}));
    cfg["trusted_headers"] = json!({"source_vpce": "x-amzn-vpce-id"});
    let gw = Gateway::start(cfg);

    // Through the VPC endpoint: anonymous on /open, and alice signed (the header is not signed).
    assert_reached(&get(gw.port, "/open", &[("x-amzn-vpce-id", VPCE)]), "GET", "/open", "");
    let mut s = gw.job("GET", "/pets", ALICE).sign();
    s.headers.push(("x-amzn-vpce-id".to_string(), VPCE.to_string()));
    assert_reached(&gw.send(&s), "GET", "/pets", "");

    // From elsewhere (no endpoint id, or another one): an explicit deny.
    for headers in [vec![], vec![("x-amzn-vpce-id", "vpce-0fedcba9876543210")]] {
        assert_denied(&get(gw.port, "/open", &headers), "anonymous", "GET/open", true);
    }
    s.headers.pop();
    assert_denied(&gw.send(&s), ALICE_ARN, "GET/pets", true);
}
