//! Secrets stay out of the logs: representative traffic (an API key, a SigV4 signature with a
//! session token, a JWT bearer token, a Lambda authorizer's token, an admin key on the
//! management listener), accepted and refused, through Envoy running at `-l debug` with the wasm
//! component at trace; then Envoy's whole log and the access log are searched for every secret.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::path::Path;
use std::time::Duration;

use jwt_simple::prelude::RSAKeyPairLike;
use serde_json::{json, Value};
use tollgate_e2e::jwt::{claims, now, rsa_jwk, test_rsa_key};
use tollgate_e2e::sha256_hex as sha;
use tollgate_e2e::sigv4::{Job, Key};
use tollgate_e2e::{get, scratch_dir, Envoy, EnvoyOptions, LambdaEmulator, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");
const API_KEY: &str = "sk-live-apikey-7Q2fYl9PwX";
const WRONG_KEY: &str = "sk-live-wrongkey-M3n0pQ";
const ADMIN_KEY: &str = "adm-secret-0Zx81vKd2";
const WRONG_ADMIN_KEY: &str = "adm-wrong-9Yh3sLq";
const SECRET_ENV: &str = "TOLLGATE_SECRETS_TEST_SECRET";
const TOKEN_ENV: &str = "TOLLGATE_SECRETS_TEST_TOKEN";
const TEMP: Key = Key {
    access_key: "ASIASECRETSTEST",
    secret_key: "iam-secret-access-key-Kx9Rt4",
    token: Some("iam-session-token-Tt77Wq"),
};
const LAMBDA_TOKEN: &str = "lambda-token-Zq1Pm8Vb";
const OTHER_TOKEN: &str = "lambda-other-token-Hh4Jd";
const ISSUER: &str = "https://issuer.example";

/// Allows exactly [`LAMBDA_TOKEN`], raises `Unauthorized` for anything else.
const AUTHORIZER_PY: &str = r#"
def handler(event, context):
    if event['authorizationToken'] != 'lambda-token-Zq1Pm8Vb':
        raise Exception('Unauthorized')
    return {'principalId': 'caller', 'policyDocument': {'Version': '2012-10-17', 'Statement': [
        {'Action': 'execute-api:Invoke', 'Effect': 'Allow', 'Resource': event['methodArn']}]}}
"#;

fn config(rsa: &Value) -> Value {
    json!({
        "api": {"id": "secrets", "region": "eu-west-1", "account_id": "123456789012"},
        "stage": {"name": "prod"},
        "iam": {"credentials": [
            {"access_key_id": TEMP.access_key, "secret_access_key": {"env": SECRET_ENV},
             "session_token": {"env": TOKEN_ENV}, "principal_arn": "arn:aws:sts::123456789012:assumed-role/r/s",
             "policies": [{"Statement": {"Effect": "Allow", "Action": "execute-api:Invoke",
                                         "Resource": "arn:aws:execute-api:*:123456789012:secrets/*"}}]}]},
        "authorizers": [{"id": "jwt", "type": "JWT", "issuers": [ISSUER], "jwks": {"keys": [rsa]}}],
        "lambda_authorizers": [{"id": "fn", "type": "TOKEN",
            "function": {"cluster": "lambda", "authority": "lambda.eu-west-1.amazonaws.com",
                         "name": "authorizer", "timeout_ms": 5000},
            "identity_source": "method.request.header.Authorization", "result_ttl_seconds": 0}],
        "methods": [
            {"resource": "/pets", "http_method": "GET", "api_key_required": true},
            {"resource": "/iam", "http_method": "GET", "authorization_type": "AWS_IAM"},
            {"resource": "/jwt", "http_method": "GET", "authorization_type": "JWT", "authorizer_id": "jwt"},
            {"resource": "/custom", "http_method": "GET", "authorization_type": "CUSTOM", "authorizer_id": "fn"},
        ],
        "api_keys": [{"id": "k1", "value_sha256": sha(API_KEY), "usage_plan_ids": ["open"]}],
        "usage_plans": [{"id": "open", "quota": {"limit": 1000, "period": "DAY"},
                         "api_stages": [{"api_id": "secrets", "stage": "prod"}]}],
        "admin": {"keys": [{"id": "ops", "value_sha256": sha(ADMIN_KEY)}]},
    })
}

/// The lines of `log` that hold `secret`, each with the log line it continues (Envoy prints a
/// header map over several lines after one `[time][thread][level][component]` line).
fn lines_with<'a>(log: &'a str, secret: &str) -> Vec<(&'a str, &'a str)> {
    let mut found = Vec::new();
    let mut head = "";
    for line in log.lines() {
        if line.starts_with('[') {
            head = line;
        }
        if line.contains(secret) {
            found.push((head, line));
        }
    }
    found
}

fn wait_for(path: &Path, text: &str) {
    for _ in 0..50 {
        if std::fs::read_to_string(path).unwrap_or_default().contains(text) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Envoy's own prints of a whole header map (components `http` and `router`, at debug and
/// trace): request headers as received, as sent upstream, and each header as parsed.
const ENVOY_HEADER_PRINTS: [&str; 3] = [
    "[http] [source/common/http/conn_manager_impl.cc",
    "[router] [source/common/router/router.cc",
    "[http] [source/common/http/http1/codec_impl.cc",
];

/// Sends the traffic (each credential accepted once and a wrong one refused once) and returns
/// the secrets it carried, by name.
fn traffic(envoy: &Envoy, rsa: &jwt_simple::prelude::RS256KeyPair) -> Vec<(&'static str, String)> {
    let port = envoy.port;
    // API key: accepted, and a wrong one refused.
    assert_eq!(get(port, "/pets", &[("x-api-key", API_KEY)]).status, 200);
    assert_eq!(get(port, "/pets", &[("x-api-key", WRONG_KEY)]).status, 403);

    // SigV4 with a session token: accepted, and the request with a forged signature refused.
    let url = format!("http://127.0.0.1:{port}/iam?a=b");
    let signed = Job::new("GET", &url, TEMP, "eu-west-1").sign();
    let authorization = signed.header("authorization").expect("signed").to_string();
    let signature = authorization.rsplit("Signature=").next().expect("a signature").to_string();
    let r = signed.send(port);
    assert_eq!(r.status, 200, "{}", r.text());
    let mut forged = signed.clone();
    let forged_signature: String = signature.chars().rev().collect();
    forged.set_header("authorization", &authorization.replace(&signature, &forged_signature));
    assert_eq!(forged.send(port).status, 403);

    // JWT bearer: accepted, and an expired one refused.
    let t = now();
    let sign = |exp: i64| rsa.sign(claims(&json!({"sub": "u1", "iss": ISSUER, "exp": exp})));
    let (jwt, expired) = (sign(t + 600).expect("jwt"), sign(t - 600).expect("jwt"));
    assert_eq!(get(port, "/jwt", &[("authorization", &format!("Bearer {jwt}"))]).status, 200);
    assert_eq!(get(port, "/jwt", &[("authorization", &format!("Bearer {expired}"))]).status, 401);
    let jwt_signature = jwt.rsplit('.').next().unwrap_or_default().to_string();

    // A Lambda authorizer's token: allowed, and another one refused by the function.
    assert_eq!(get(port, "/custom", &[("authorization", LAMBDA_TOKEN)]).status, 200);
    assert_eq!(get(port, "/custom", &[("authorization", OTHER_TOKEN)]).status, 401);

    // The admin key on the management listener: usage read, and a wrong key refused.
    let usage = "/usageplans/open/usage?keyId=k1";
    let m = envoy.management_port;
    let r = get(m, usage, &[("x-tollgate-admin-key", ADMIN_KEY)]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(get(m, usage, &[("x-tollgate-admin-key", WRONG_ADMIN_KEY)]).status, 403);

    wait_for(&envoy.dir.join("access.log"), "/usageplans/open/usage");
    std::thread::sleep(Duration::from_millis(300));
    vec![
        ("API key", API_KEY.into()),
        ("wrong API key", WRONG_KEY.into()),
        ("admin key", ADMIN_KEY.into()),
        ("wrong admin key", WRONG_ADMIN_KEY.into()),
        ("secret access key", TEMP.secret_key.into()),
        ("session token", TEMP.token.unwrap_or_default().into()),
        ("SigV4 signature", signature),
        ("forged signature", forged_signature),
        ("JWT", jwt),
        ("expired JWT", expired),
        ("JWT signature", jwt_signature),
        ("Lambda authorizer token", LAMBDA_TOKEN.into()),
        ("refused authorizer token", OTHER_TOKEN.into()),
    ]
}

/// Every line of Envoy's log and access log that holds a secret: (what, the log line it is in
/// or continues, the line).
fn leaks(envoy: &Envoy, secrets: &[(&'static str, String)]) -> Vec<(&'static str, String, String)> {
    let (log, access) = (envoy.log(), envoy.access_log());
    let mut found = Vec::new();
    for (what, secret) in secrets {
        for (head, line) in lines_with(&log, secret) {
            found.push((*what, head.to_string(), line.to_string()));
        }
        for line in access.lines().filter(|l| l.contains(secret.as_str())) {
            found.push((*what, "access log".to_string(), line.to_string()));
        }
    }
    found
}

#[test]
fn no_secret_in_any_log_at_trace() {
    let rsa = test_rsa_key("rs1");
    let functions = scratch_dir("secret-functions");
    std::fs::write(functions.join("authorizer.py"), AUTHORIZER_PY).expect("write authorizer");
    let lambda = LambdaEmulator::start(&functions);
    let upstream = Upstream::start(UPSTREAM, "echo");
    // Secrets the config needs come from Envoy's environment: Envoy prints its config at debug.
    let options = || {
        EnvoyOptions::new(config(&rsa_jwk(&rsa, "rs1")), upstream.port)
            .cluster("lambda", lambda.port)
            .management()
            .env(SECRET_ENV, TEMP.secret_key)
            .env(TOKEN_ENV, TEMP.token.unwrap_or_default())
            .log_level("trace")
    };

    // Everything at trace: the filter (component `wasm`), Envoy's config, callouts, the access
    // log hold no secret. Envoy's own prints of whole header maps (`http`, `router`) do.
    let envoy = Envoy::start(&options()).unwrap_or_else(|log| panic!("{log}"));
    let secrets = traffic(&envoy, &rsa);
    let log = envoy.log();
    assert!(log.contains("[trace][wasm]") && log.contains("[debug][config]"), "not at trace");
    let found = leaks(&envoy, &secrets);
    let elsewhere: Vec<_> = found
        .iter()
        .filter(|(_, head, _)| !ENVOY_HEADER_PRINTS.iter().any(|p| head.contains(p)))
        .collect();
    assert!(elsewhere.is_empty(), "secrets outside Envoy's header prints: {elsewhere:#?}");
    let printed: Vec<&str> = found.iter().map(|(what, _, _)| *what).collect();
    assert!(printed.contains(&"API key"), "Envoy's header prints changed: {found:#?}");
    drop(envoy);

    // The same at trace with `http` and `router` at info: no secret anywhere.
    let quiet = options().component_log_level("http:info,router:info");
    let envoy = Envoy::start(&quiet).unwrap_or_else(|log| panic!("{log}"));
    let secrets = traffic(&envoy, &rsa);
    assert!(envoy.log().contains("[trace][wasm]"), "not at trace");
    let found = leaks(&envoy, &secrets);
    assert!(found.is_empty(), "secrets in the logs: {found:#?}");
}
