//! From an API Gateway export to a running gateway, the way the README tells it: `tollgate
//! import`, `plans create`, `keys create`, then render and Envoy; the API answers as it did on
//! AWS, and a Python SDK generated from the same spec calls it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::process::Command;

use serde_json::{json, Value};
use tollgate_e2e::{assert_gateway_error, get, run_cli, scratch_dir, wasm_path, Envoy, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");

/// An OpenAPI 3.0 export of a REST API with API Gateway's extensions.
fn export(backend: u16) -> Value {
    let uri = |path: &str| format!("http://localhost:{backend}{path}");
    json!({
        "openapi": "3.0.1",
        "info": {"title": "Pet Shop", "version": "2026-11-01"},
        "servers": [{"url": "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/{basePath}",
                     "variables": {"basePath": {"default": "/prod"}}}],
        "x-amazon-apigateway-api-key-source": "HEADER",
        "x-amazon-apigateway-binary-media-types": ["image/png"],
        "paths": {
            "/pets": {"get": {
                "operationId": "listPets",
                "parameters": [{"name": "type", "in": "query", "schema": {"type": "string"}}],
                "security": [{"api_key": []}],
                "responses": {"200": {"description": "pets"}},
                "x-amazon-apigateway-integration": {
                    "type": "http_proxy", "httpMethod": "GET", "uri": uri("/v2/pets"),
                    "passthroughBehavior": "when_no_match"}
            }},
            "/pets/{petId}": {"get": {
                "operationId": "getPet",
                "parameters": [{"name": "petId", "in": "path", "required": true, "schema": {"type": "string"}}],
                "security": [{"api_key": []}],
                "responses": {"200": {"description": "a pet"}},
                "x-amazon-apigateway-integration": {
                    "type": "http_proxy", "httpMethod": "GET", "uri": uri("/v2/pets/{id}"),
                    "requestParameters": {"integration.request.path.id": "method.request.path.petId"},
                    "passthroughBehavior": "when_no_match"}
            }},
            "/ping": {"get": {
                "operationId": "ping",
                "responses": {"200": {"description": "pong"}},
                "x-amazon-apigateway-integration": {
                    "type": "mock",
                    "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                    "responses": {"default": {"statusCode": "200",
                        "responseTemplates": {"application/json": "{\"pong\": true}"}}}}
            }}
        },
        "components": {"securitySchemes": {
            "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}
        }}
    })
}

fn cli(args: &[&str]) -> (String, String) {
    let (ok, stdout, stderr) = run_cli(args);
    assert!(ok, "tollgate {}: {stderr}", args.join(" "));
    (stdout.trim().to_string(), stderr)
}

#[test]
fn an_api_gateway_export_imports_renders_and_answers() {
    let backend = Upstream::start_with(UPSTREAM, &["--mode", "echo", "--name", "backend"]);
    let dir = scratch_dir("aws-export");
    let export_path = dir.join("export.json");
    std::fs::write(&export_path, export(backend.port).to_string()).unwrap();
    let spec_path = dir.join("pets.json");
    let (spec, exported, gw) =
        (spec_path.to_str().unwrap(), export_path.to_str().unwrap(), dir.join("gw"));

    // 1. Import: what the gateway cannot do is named, the rest becomes the spec.
    let (_, report) = cli(&["import", exported, "--out", spec]);
    assert!(!report.contains("not honoured"), "{report}");
    let mut imported: Value =
        serde_json::from_str(&std::fs::read_to_string(spec).unwrap()).unwrap();
    assert_eq!(imported["api"]["binary_media_types"], json!(["image/png"]));
    assert_eq!(imported["api"]["id"], "a1b2c3d4e5");
    assert_eq!(imported["api"]["region"], "eu-west-1");
    // (The test's own ports instead of the default 10000, 9902 and 9901.)
    imported["gateway"]["listen"] = json!("127.0.0.1:0");
    imported["gateway"]["admin_listen"] = json!("127.0.0.1:0");
    imported["gateway"]["envoy_admin"] = json!("127.0.0.1:0");
    std::fs::write(spec, imported.to_string()).unwrap();

    // 2-3. A usage plan and a key: what an export does not carry.
    cli(&[
        "plans", "create", spec, "--id", "basic", "--rate", "50", "--burst", "100", "--quota",
        "1000", "--period", "DAY",
    ]);
    let (key, _) = cli(&["keys", "create", spec, "--id", "first", "--plan", "basic"]);

    // 4. Render and run.
    cli(&["render", spec, "--out", gw.to_str().unwrap(), "--wasm", wasm_path().to_str().unwrap()]);
    let envoy = Envoy::start_file(&gw.join("envoy.yaml"), 2).unwrap_or_else(|log| panic!("{log}"));
    let port = envoy.port;

    let r = get(port, "/pets?type=dog", &[]);
    assert_gateway_error(&r, 403, "Forbidden", "ForbiddenException", "no key");
    let r = get(port, "/pets?type=dog", &[("x-api-key", &key)]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        (r.json()["server"].as_str(), r.json()["path"].as_str()),
        (Some("backend"), Some("/v2/pets?type=dog"))
    );
    let r = get(port, "/pets/42", &[("x-api-key", &key)]);
    assert_eq!(r.json()["path"], "/v2/pets/42", "the path parameter mapping");
    let r = get(port, "/ping", &[]);
    assert_eq!((r.status, r.json()), (200, json!({"pong": true})));
    let r = get(port, "/nothing", &[("x-api-key", &key)]);
    assert_gateway_error(
        &r,
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
        "unknown path",
    );

    // A Python SDK from the same spec calls the running gateway.
    let sdk = dir.join("sdk");
    let base = format!("http://127.0.0.1:{port}");
    cli(&["sdk", spec, "--lang", "python", "--out", sdk.to_str().unwrap(), "--base-url", &base]);
    let package = std::fs::read_dir(&sdk)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|n| n.ends_with("_client"))
        .expect("a generated package");
    let program = format!(
        "import json, sys\nsys.path.insert(0, sys.argv[1])\nimport {package} as sdk\n\
         client = next(getattr(sdk, n) for n in dir(sdk) if n.endswith('Client'))(api_key=sys.argv[2])\n\
         pet = client.get_pet(pet_id='7').body\n\
         try:\n    client.__class__(api_key='wrong').list_pets(type='cat')\n    refused = None\n\
         except sdk.ApiError as e:\n    refused = [e.status, e.message]\n\
         print(json.dumps({{'path': pet['path'], 'refused': refused}}))\n"
    );
    let out = Command::new("python3").args(["-c", &program]).arg(&sdk).arg(&key).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(said, json!({"path": "/v2/pets/7", "refused": [403, "Forbidden"]}));
}
