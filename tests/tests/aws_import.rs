//! From an AWS account to a running gateway in three commands: an account set up through API
//! Gateway's control plane (moto in server mode, through botocore as a team's scripts would),
//! `tollgate import-aws` reading it with SigV4-signed calls, `tollgate render`, and Envoy
//! serving the API to clients holding the key values they already had.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};
use tollgate_e2e::client::request;
use tollgate_e2e::moto::Moto;
use tollgate_e2e::sigv4::python;
use tollgate_e2e::{root, run_cli, scratch_dir, tollgate_cli, Envoy, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");
const PARTNER_KEY: &str = "PartnerKeyValueForOrders0001";
const RETIRED_KEY: &str = "RetiredKeyValueForOrders0002";

/// `tests/aws/apigateway_account.py`: the account, created on moto; returns its ids.
fn create_account(moto: &Moto, upstream: u16) -> Value {
    let out = Command::new(python())
        .arg(root().join("tests/aws/apigateway_account.py"))
        .arg(moto.endpoint())
        .arg(upstream.to_string())
        .output()
        .expect("run tests/aws/apigateway_account.py");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The written gateway file with every listener on a free port (the test's only change).
fn free_ports(gateway: &Path) {
    let text = std::fs::read_to_string(gateway).unwrap();
    let mut file: Value = serde_yaml_ng::from_str(&text).unwrap();
    for listener in ["listen", "admin_listen", "envoy_admin"] {
        file["gateway"][listener] = json!("127.0.0.1:0");
    }
    std::fs::write(gateway, serde_yaml_ng::to_string(&file).unwrap()).unwrap();
}

fn call(port: u16, method: &str, host: &str, path: &str, key: &str, body: &str) -> (u16, Value) {
    let mut headers: Vec<(&str, &[u8])> = vec![("host", host.as_bytes())];
    if !key.is_empty() {
        headers.push(("x-api-key", key.as_bytes()));
    }
    if !body.is_empty() {
        headers.push(("content-type", b"application/json"));
    }
    let r = request(port, method, path.as_bytes(), &headers, body.as_bytes());
    let json = serde_json::from_slice(&r.body).unwrap_or_else(|_| json!(r.text()));
    (r.status, json)
}

#[test]
fn an_account_read_from_the_control_plane_serves_its_keys_plans_and_domains() {
    let backend = Upstream::start(UPSTREAM, "echo");
    let moto = Moto::start();
    let ids = create_account(&moto, backend.port);
    let api = ids["api"].as_str().unwrap();
    let dir = scratch_dir("import-aws");
    let out_dir = dir.join("gateway");

    // 1. Import, with credentials where the AWS CLI finds them (here: the environment).
    let out = Command::new(tollgate_cli())
        .args(["import-aws", "--region", "us-east-1", "--out-dir"])
        .arg(&out_dir)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("HOME", &dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tollgate import-aws: {stderr}\nmoto: {}", moto.log());
    assert!(stderr.contains("1 API(s), 1 stage(s), 1 usage plan(s), 2 API key(s)"), "{stderr}");
    assert!(stderr.contains("domainnames.api.example.com.certificate"), "{stderr}");
    // The key values clients hold are nowhere on disk; their hashes are.
    for entry in std::fs::read_dir(&out_dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains(PARTNER_KEY) && !text.contains(RETIRED_KEY), "{text}");
    }
    let gateway = out_dir.join("gateway.yaml");
    let written = std::fs::read_to_string(&gateway).unwrap();
    assert!(written.contains(&tollgate_e2e::sha256_hex(PARTNER_KEY)), "{written}");

    // 2. Render, 3. run.
    free_ports(&gateway);
    let rendered = dir.join("rendered");
    tollgate_e2e::render(&gateway, &rendered);
    let envoy =
        Envoy::start_file(&rendered.join("envoy.yaml"), 2).unwrap_or_else(|log| panic!("{log}"));
    let port = envoy.port;
    let execute_api = format!("{api}.execute-api.us-east-1.amazonaws.com");

    // The execute-api host with the stage in the path, as AWS serves it.
    let (status, body) = call(port, "GET", &execute_api, "/prod/orders?page=2", PARTNER_KEY, "");
    assert_eq!((status, &body["path"]), (200, &json!("/orders?page=2")), "{body}");
    // The custom domain at its base path.
    let (status, body) = call(port, "GET", "api.example.com", "/orders/orders", PARTNER_KEY, "");
    assert_eq!((status, &body["path"]), (200, &json!("/orders")), "{body}");
    // The MOCK method's templates, with the stage's variable.
    let (status, body) = call(port, "GET", &execute_api, "/prod/orders/42", PARTNER_KEY, "");
    assert_eq!((status, body), (200, json!({"id": "42", "stage": "blue"})));
    let forbidden = json!({"message": "Forbidden"});
    assert_eq!(call(port, "GET", &execute_api, "/prod/orders", "", ""), (403, forbidden.clone()));
    assert_eq!(
        call(port, "GET", &execute_api, "/prod/orders", RETIRED_KEY, ""),
        (403, forbidden.clone()),
        "a disabled key stays disabled"
    );
    // The request model and its validator (the request counts against the quota, as on AWS).
    let (status, body) =
        call(port, "POST", &execute_api, "/prod/orders", PARTNER_KEY, r#"{"quantity": 0}"#);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["message"], "Invalid request body");
    // The plan's quota of 4 a day: four requests so far, the fifth is refused.
    let (status, body) = call(port, "GET", &execute_api, "/prod/orders", PARTNER_KEY, "");
    assert_eq!((status, body), (429, json!({"message": "Limit Exceeded"})));
    // A stage the account does not have.
    let (status, body) = call(port, "GET", &execute_api, "/dev/orders", PARTNER_KEY, "");
    assert_eq!((status, body), (403, json!({"message": "Missing Authentication Token"})));
    drop(envoy);
}

#[test]
fn a_bad_source_is_refused_with_what_to_do() {
    let dir = scratch_dir("import-aws-bad");
    // No credentials anywhere: the error says where they are looked for.
    let out = Command::new(tollgate_cli())
        .args(["import-aws", "--region", "us-east-1", "--endpoint-url", "http://127.0.0.1:9"])
        .arg("--out-dir")
        .arg(dir.join("out"))
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env("HOME", &dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("AWS_ACCESS_KEY_ID"), "{stderr}");
    assert!(!dir.join("out").exists(), "nothing is written");
    // A folder without the API list.
    let (ok, _, stderr) = run_cli(&[
        "import-aws",
        "--from-dir",
        &dir.to_string_lossy(),
        "--out-dir",
        &dir.join("out").to_string_lossy(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("rest-apis.json"), "{stderr}");
}
