//! Generated SDKs against a real Envoy: `tollgate sdk` writes the TypeScript and the Python client
//! of a spec; the TypeScript one is compiled with `tsc` together with a small program that uses
//! it, the Python one is imported by a small script, and both run against the gateway (the echo
//! upstream reports what arrived): an API-key method with path, query and header parameters,
//! AWS_IAM methods signed by the SDK (a typed model body; a path that needs encoding twice in
//! the canonical request), and the gateway's refusals as the SDK's typed error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use tollgate_e2e::sha256_hex as sha;
use tollgate_e2e::{root, run_cli, scratch_dir, Envoy, EnvoyOptions, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");
const API_KEY: &str = "sdk-test-key";

fn config() -> Value {
    let allow = json!([{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "execute-api:Invoke",
        "Resource": "arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/*"}]}]);
    json!({
        "api": {"id": "petstore", "region": "eu-west-1", "account_id": "123456789012"},
        "api_key_id_header": "x-tollgate-api-key-id",
        "stage": {"name": "prod"},
        "methods": [
            {"resource": "/pets/{petId}/toys", "http_method": "GET", "operation_name": "listToys",
             "api_key_required": true, "request_validator": "all",
             "request_parameters": {
                "method.request.querystring.color": true,
                "method.request.querystring.limit": false,
                "method.request.header.x-trace": false}},
            {"resource": "/pets", "http_method": "POST", "operation_name": "createPet",
             "authorization_type": "AWS_IAM", "request_validator": "all",
             "request_parameters": {"method.request.querystring.dryRun": false},
             "request_models": {"application/json": "NewPet"}},
            // No operation name: the SDK calls it getPetsPetId / get_pets_pet_id.
            {"resource": "/pets/{petId}", "http_method": "GET", "authorization_type": "AWS_IAM"},
        ],
        "api_keys": [{"id": "key-sdk", "value_sha256": sha(API_KEY), "usage_plan_ids": ["open"]}],
        "usage_plans": [{"id": "open", "api_stages": [{"api_id": "petstore", "stage": "prod"}]}],
        "iam": {"credentials": [
            {"access_key_id": "AKIDSDK", "secret_access_key": "sdk-secret",
             "principal_arn": "arn:aws:iam::123456789012:user/sdk", "policies": allow},
            {"access_key_id": "ASIASDK", "secret_access_key": "temp-secret",
             "session_token": "temp-session-token",
             "principal_arn": "arn:aws:sts::123456789012:assumed-role/sdk/session",
             "policies": allow},
        ]},
        "request_validators": {
            "all": {"validate_request_body": true, "validate_request_parameters": true},
        },
        "models": {
            "NewPet": {"type": "object", "required": ["name", "type"], "properties": {
                "name": {"type": "string"},
                "type": {"type": "string", "enum": ["dog", "cat"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "owner": {"$ref": "https://apigateway.amazonaws.com/restapis/petstore/models/Owner"},
            }},
            "Owner": {"type": "object", "required": ["name"],
                      "properties": {"name": {"type": "string"}}},
        },
    })
}

/// Envoy with the echo upstream, and the spec (config plus `gateway.listen`) in `dir`.
struct Gateway {
    port: u16,
    dir: PathBuf,
    spec: PathBuf,
    _envoy: Envoy,
    _upstream: Upstream,
}

impl Gateway {
    fn start(name: &str) -> Gateway {
        let upstream = Upstream::start(UPSTREAM, "echo");
        let envoy = Envoy::start(&EnvoyOptions::new(config(), upstream.port))
            .unwrap_or_else(|log| panic!("{log}"));
        let dir = scratch_dir(name);
        let mut spec = config();
        spec["gateway"] = json!({"listen": format!("127.0.0.1:{}", envoy.port)});
        let spec_path = dir.join("spec.json");
        std::fs::write(&spec_path, spec.to_string()).expect("write spec");
        Gateway { port: envoy.port, dir, spec: spec_path, _envoy: envoy, _upstream: upstream }
    }

    /// `tollgate sdk SPEC --lang LANG --out OUT ARGS...`; returns the files it wrote.
    fn sdk(&self, lang: &str, out: &Path, args: &[&str]) -> Vec<String> {
        let (spec, out) = (self.spec.to_string_lossy(), out.to_string_lossy());
        let mut all = vec!["sdk", &spec, "--lang", lang, "--out", &out];
        all.extend_from_slice(args);
        let (ok, stdout, stderr) = run_cli(&all);
        assert!(ok, "tollgate sdk failed: {stderr}");
        stdout.lines().map(str::to_string).collect()
    }
}

/// Runs `command`; its last line of output is the JSON it reports.
fn run_json(command: &mut Command) -> Value {
    let out = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{command:?} failed:\n{stdout}\n{stderr}");
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"))
}

/// What both SDK programs report: the echo upstream's view of each call, and each refusal.
fn assert_results(out: &Value, access_key: &str) {
    let toys = &out["toys"];
    assert_eq!(toys["method"], "GET", "{out}");
    assert_eq!(toys["path"], "/pets/rex%20the%20dog/toys?color=red%20%26%20blue&limit=2", "{out}");
    assert_eq!(toys["headers"]["x-trace"], "t-1", "{out}");
    assert_eq!(toys["headers"]["x-tollgate-api-key-id"], "key-sdk", "the key was checked: {out}");

    let created = &out["created"];
    assert_eq!(created["method"], "POST", "{out}");
    assert_eq!(created["path"], "/pets?dryRun=true", "{out}");
    assert_eq!(created["headers"]["content-type"], "application/json", "{out}");
    let auth = created["headers"]["authorization"].as_str().unwrap_or_default();
    assert!(auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={access_key}/")), "{out}");
    let body: Value = serde_json::from_str(created["body"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("body is not JSON ({e}): {out}"));
    assert_eq!(
        body,
        json!({"name": "Rex", "type": "dog", "tags": ["good"], "owner": {"name": "Ann"}}),
        "{out}"
    );

    assert_eq!(out["got"]["method"], "GET", "{out}");
    assert_eq!(out["got"]["path"], "/pets/caf%C3%A9%20au%20lait%2B1", "{out}");

    let error = |name: &str, status: u16, message: &str, error_type: &str| {
        let e = &out[name];
        assert_eq!(e["isApiError"], true, "{name}: {out}");
        assert_eq!(e["status"], status, "{name}: {out}");
        assert_eq!(e["message"], message, "{name}: {out}");
        assert_eq!(e["errorType"], error_type, "{name}: {out}");
    };
    error("wrongKey", 403, "Forbidden", "ForbiddenException");
    error("invalidBody", 400, "Invalid request body", "BadRequestException");
    error("unsigned", 403, "Missing Authentication Token", "MissingAuthenticationTokenException");
}

const TS_PROGRAM: &str = r#"import { ApiError, PetstoreClient, type NewPet } from "./client.js";

const client = new PetstoreClient({
  apiKey: "sdk-test-key",
  credentials: { accessKeyId: "AKIDSDK", secretAccessKey: "sdk-secret" },
});

async function error(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
    return null;
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return { isApiError: true, status: e.status, message: e.message, errorType: e.errorType };
  }
}

// @ts-expect-error: `type` is a required property of the NewPet model
const incomplete: NewPet = { name: "Rex" };

const out: Record<string, unknown> = {};
out.toys = (await client.listToys({ petId: "rex the dog", color: "red & blue", limit: 2, xTrace: "t-1" })).body;
out.created = (await client.createPet({
  body: { name: "Rex", type: "dog", tags: ["good"], owner: { name: "Ann" } },
  dryRun: true,
})).body;
out.got = (await client.getPetsPetId({ petId: "café au lait+1" })).body;
out.wrongKey = await error(() => new PetstoreClient({ apiKey: "wrong" }).listToys({ petId: "rex", color: "red" }));
out.invalidBody = await error(() => client.createPet({ body: incomplete }));
out.unsigned = await error(() => new PetstoreClient().getPetsPetId({ petId: "x" }));
console.log(JSON.stringify(out));
"#;

#[test]
fn typescript_sdk_end_to_end() {
    let tsc = root().join(".tools/npm/node_modules/.bin/tsc");
    assert!(tsc.exists(), "{} is missing: run `make typescript` first", tsc.display());
    let gw = Gateway::start("sdk-ts");
    let sdk = gw.dir.join("sdk");
    let files = gw.sdk("typescript", &sdk, &[]);
    for name in ["src/client.ts", "package.json", "tsconfig.json"] {
        assert!(files.iter().any(|f| f.ends_with(name)), "{name} not in {files:?}");
    }
    let package: Value =
        serde_json::from_str(&std::fs::read_to_string(sdk.join("package.json")).expect("read"))
            .expect("package.json is JSON");
    assert_eq!(package.get("dependencies"), None, "no runtime dependency: {package}");
    let client = std::fs::read_to_string(sdk.join("src/client.ts")).expect("read client.ts");
    let base = format!("export const DEFAULT_BASE_URL = \"http://127.0.0.1:{}\";", gw.port);
    assert!(client.contains(&base), "the spec's listener is the default base URL");

    // The program is compiled with the SDK (strict): type errors fail the test.
    std::fs::write(sdk.join("src/program.ts"), TS_PROGRAM).expect("write program");
    let compiled = Command::new(&tsc).arg("-p").arg(&sdk).output().expect("run tsc");
    assert!(
        compiled.status.success(),
        "tsc failed:\n{}{}",
        String::from_utf8_lossy(&compiled.stdout),
        String::from_utf8_lossy(&compiled.stderr)
    );
    let out = run_json(Command::new("node").arg(sdk.join("dist/program.js")));
    assert_results(&out, "AKIDSDK");
}

const PY_PROGRAM: &str = r#"import json
import sys

sys.path.insert(0, sys.argv[1])
from petstore_client import ApiError, Credentials, PetstoreClient  # noqa: E402

client = PetstoreClient(
    api_key="sdk-test-key",
    credentials=Credentials("ASIASDK", "temp-secret", "temp-session-token"),
)


def error(call):
    try:
        call()
        return None
    except ApiError as e:
        return {"isApiError": True, "status": e.status, "message": e.message,
                "errorType": e.error_type}


out = {
    "toys": client.list_toys(pet_id="rex the dog", color="red & blue", limit=2, x_trace="t-1").body,
    "created": client.create_pet(
        body={"name": "Rex", "type": "dog", "tags": ["good"], "owner": {"name": "Ann"}},
        dry_run=True,
    ).body,
    "got": client.get_pets_pet_id(pet_id="café au lait+1").body,
    "wrongKey": error(lambda: PetstoreClient(api_key="wrong").list_toys(pet_id="rex", color="red")),
    "invalidBody": error(lambda: client.create_pet(body={"name": "Rex"})),
    "unsigned": error(lambda: PetstoreClient().get_pets_pet_id(pet_id="x")),
}
print(json.dumps(out))
"#;

#[test]
fn python_sdk_end_to_end() {
    let gw = Gateway::start("sdk-py");
    let sdk = gw.dir.join("sdk");
    let base = format!("http://127.0.0.1:{}/", gw.port);
    let files = gw.sdk("python", &sdk, &["--stage", "prod", "--base-url", &base]);
    for name in ["petstore_client/__init__.py", "pyproject.toml"] {
        assert!(files.iter().any(|f| f.ends_with(name)), "{name} not in {files:?}");
    }
    let module = std::fs::read_to_string(sdk.join("petstore_client/__init__.py")).expect("read");
    for line in module.lines().filter(|l| l.starts_with("import ") || l.starts_with("from ")) {
        let name = line.split_whitespace().nth(1).unwrap_or_default();
        let stdlib = [
            "__future__",
            "datetime",
            "hashlib",
            "hmac",
            "json",
            "urllib.error",
            "urllib.parse",
            "urllib.request",
            "dataclasses",
            "typing",
        ];
        assert!(stdlib.contains(&name), "standard library only: {line}");
    }
    let program = gw.dir.join("program.py");
    std::fs::write(&program, PY_PROGRAM).expect("write program");
    let out = run_json(Command::new("python3").arg(&program).arg(&sdk));
    assert_results(&out, "ASIASDK");
}

#[test]
fn sdk_errors_are_clear() {
    let dir = scratch_dir("sdk-errors");
    let spec = dir.join("spec.json");
    let mut config = config();
    config["gateway"] = json!({"listen": "0.0.0.0:10000"});
    std::fs::write(&spec, config.to_string()).expect("write spec");
    let (spec, out) = (spec.to_string_lossy(), dir.join("out"));
    let out = out.to_string_lossy();
    for (args, expected) in [
        (vec!["--lang", "go"], "invalid value 'go'"),
        (
            vec!["--lang", "python", "--stage", "dev"],
            "the spec serves one stage, `prod`, not `dev`",
        ),
        (vec!["--lang", "python", "--base-url", "localhost:1"], "not an http:// or https:// URL"),
    ] {
        let mut all = vec!["sdk", &spec, "--out", &out];
        all.extend(args);
        let (ok, _, stderr) = run_cli(&all);
        assert!(!ok && stderr.contains(expected), "{all:?}: {stderr}");
    }
    let (ok, _, stderr) =
        run_cli(&["sdk", "/nonexistent/spec.yaml", "--lang", "typescript", "--out", &out]);
    assert!(!ok && stderr.contains("/nonexistent/spec.yaml"), "{stderr}");
    // A wildcard listener is called on localhost.
    let (ok, _, stderr) = run_cli(&["sdk", &spec, "--lang", "python", "--out", &out]);
    assert!(ok, "{stderr}");
    let module =
        std::fs::read_to_string(dir.join("out/petstore_client/__init__.py")).expect("read");
    assert!(module.contains("DEFAULT_BASE_URL = \"http://localhost:10000\""));
}
