//! The conformance tier: AWS's own sample APIs from the API Gateway developer guide
//! (`tests/conformance/*/`: the export, the Lambda handlers unchanged, the requests AWS's docs
//! make and the answers they document, each with its source in `SOURCE.md`), taken the way a
//! team migrating off AWS takes them: `tollgate import` the export, give it the sample's keys and
//! plans, `tollgate render`, run the rendered Envoy with the local Lambda emulator (Node.js and
//! Python handlers), an HTTP stand-in for the integration hosts and moto for the AWS services
//! (set up with the sample's own calls), and call it as the docs do,
//! on execute-api paths (`/{stage}/...`). Every difference from the documented answer is
//! reported, all samples at once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use tollgate_e2e::jwt::{claims, now, rsa_jwk, test_rsa_key, write_jwks};
use tollgate_e2e::lambda::LambdaEmulator;
use tollgate_e2e::moto::Moto;
use tollgate_e2e::sha256_hex as sha;
use tollgate_e2e::sigv4::{Job, Key};
use tollgate_e2e::{render, request, root, run_cli, scratch_dir, Envoy, Response, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");

fn samples() -> Vec<PathBuf> {
    let dir = root().join("tests/conformance");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

fn export_of(sample: &Path) -> PathBuf {
    ["export.json", "export.yaml", "export.yml"]
        .iter()
        .map(|name| sample.join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{}: no export.json or export.yaml", sample.display()))
}

/// Local stand-ins: the Lambda emulator, an HTTP upstream, moto for AWS services.
struct StandIns {
    lambda: Option<u16>,
    upstream: Option<u16>,
    aws: Option<String>,
}

/// Points the imported spec at the local stand-ins and gives it the sample's keys.
fn prepare(spec: &mut Value, sample: &Value, stand_ins: &StandIns) {
    let StandIns { lambda, upstream, aws } = stand_ins;
    let api = spec["api"]["id"].clone();
    let stage = spec["stage"]["name"].clone();
    // An export carries no stage variables: the sample's stage has them.
    if let Some(vars) = sample["stage_variables"].as_object() {
        let stage = spec["stage"].as_object_mut().expect("one stage");
        let variables = stage.entry("variables").or_insert_with(|| json!({}));
        variables.as_object_mut().unwrap().extend(vars.clone());
    }
    let gateway = spec["gateway"].as_object_mut().expect("a gateway section");
    for field in ["listen", "admin_listen", "envoy_admin"] {
        gateway.insert(field.into(), json!("127.0.0.1:0"));
    }
    let clusters = gateway.entry("clusters").or_insert_with(|| json!({}));
    let clusters = clusters.as_object_mut().unwrap();
    if let Some(port) = lambda {
        for (_, address) in clusters.iter_mut() {
            if address.as_str().is_some_and(|a| a.contains("://lambda.")) {
                *address = json!(format!("http://127.0.0.1:{port}"));
            }
        }
    }
    let mut signed = Vec::new();
    if let Some(endpoint) = aws {
        for service in sample["aws"]["services"].as_array().into_iter().flatten() {
            let marker = format!("://{}.", service.as_str().unwrap());
            for (name, address) in clusters.iter_mut() {
                if address.as_str().is_some_and(|a| a.contains(&marker)) {
                    *address = json!(endpoint);
                    // moto reads the service from the signature's scope, as AWS does.
                    signed.push(json!(name));
                }
            }
        }
    }
    if let Some(port) = upstream {
        for host in sample["hosts"].as_array().into_iter().flatten() {
            clusters
                .insert(host.as_str().unwrap().into(), json!(format!("http://127.0.0.1:{port}")));
        }
        gateway.insert("upstream".into(), json!(format!("http://127.0.0.1:{port}")));
    }
    if !signed.is_empty() {
        spec["gateway"]["signed_clusters"] = Value::Array(signed);
    }
    if let Some(iam) = sample.get("iam").filter(|v| !v.is_null()) {
        spec["iam"] = iam.clone();
    }
    let keys = sample["keys"].as_array().cloned().unwrap_or_default();
    if keys.is_empty() {
        return;
    }
    let config = spec.as_object_mut().unwrap();
    let mut api_keys = Vec::new();
    let mut plans = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let value = key["value"].as_str().expect("a key value");
        let mut plan = Map::new();
        plan.insert("id".into(), json!(format!("conformance-plan-{i}")));
        plan.insert("api_stages".into(), json!([{"api_id": api, "stage": stage}]));
        for field in ["throttle", "quota"] {
            if let Some(v) = key["plan"].get(field).filter(|v| !v.is_null()) {
                plan.insert(field.into(), v.clone());
            }
        }
        plans.push(Value::Object(plan));
        api_keys.push(json!({"id": format!("conformance-key-{i}"), "value_sha256": sha(value),
                             "usage_plan_ids": [format!("conformance-plan-{i}")]}));
    }
    config.insert("api_keys".into(), Value::Array(api_keys));
    config.insert("usage_plans".into(), Value::Array(plans));
}

/// The sample's first IAM credential, to sign requests with.
fn signing_key(sample: &Value) -> Option<Key> {
    let credential = sample["iam"]["credentials"].get(0)?;
    let leak = |v: &Value| -> Option<&'static str> {
        Some(Box::leak(v.as_str()?.to_string().into_boxed_str()))
    };
    let access_key = leak(&credential["access_key_id"])?;
    let secret_key = leak(&credential["secret_access_key"])?;
    Some(Key { access_key, secret_key, token: None })
}

/// The sample's tokens (`jwt.tokens`), signed with the test RSA key: `$now`, `$now+N` and
/// `$now-N` claims become Unix times.
fn mint_tokens(sample: &Value) -> Vec<(String, String)> {
    use jwt_simple::prelude::RSAKeyPairLike;
    let key = test_rsa_key(JWT_KID);
    let at = |text: &str| -> Option<i64> {
        let rest = text.strip_prefix("$now")?;
        if rest.is_empty() {
            return Some(now());
        }
        let (sign, n) = rest.split_at(1);
        let n: i64 = n.parse().ok()?;
        Some(if sign == "-" { now() - n } else { now() + n })
    };
    let mut out = Vec::new();
    for (name, token) in sample["jwt"]["tokens"].as_object().into_iter().flatten() {
        let mut payload = token["claims"].clone();
        for (_, value) in payload.as_object_mut().into_iter().flatten() {
            if let Some(t) = value.as_str().and_then(at) {
                *value = json!(t);
            }
        }
        out.push((name.clone(), key.sign(claims(&payload)).expect("sign a token")));
    }
    out
}

const JWT_KID: &str = "conformance-1";

fn send(port: u16, req: &Value, key: Option<&Key>, tokens: &[(String, String)]) -> Response {
    let method = req["method"].as_str().unwrap_or("GET");
    let path = req["path"].as_str().expect("a request path");
    let mut headers: Vec<(String, Vec<u8>)> = req["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(n, v)| {
            let mut text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            for (name, token) in tokens {
                text = text.replace(&format!("{{token:{name}}}"), token);
            }
            (n.clone(), text.into_bytes())
        })
        .collect();
    let body = match &req["body"] {
        Value::Null => Vec::new(),
        Value::String(text) => text.clone().into_bytes(),
        json => {
            if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type")) {
                headers.push(("Content-Type".into(), b"application/json".to_vec()));
            }
            json.to_string().into_bytes()
        }
    };
    if req["sign"].as_bool() == Some(true) {
        let key = key.expect("a signed case needs the sample's `iam` credentials");
        let key = *key;
        let mut job = Job::new(method, &format!("http://127.0.0.1:{port}{path}"), key, "us-east-1");
        for (name, value) in &headers {
            job = job.header(name, &String::from_utf8_lossy(value));
        }
        return job.body(&String::from_utf8_lossy(&body)).sign().send(port);
    }
    let headers: Vec<(&str, &[u8])> =
        headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
    request(port, method, path.as_bytes(), &headers, &body)
}

/// What differs between the answer and the documented one.
fn differences(r: &Response, expect: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(status) = expect["status"].as_u64() {
        if u64::from(r.status) != status {
            out.push(format!("status {} (documented: {status})", r.status));
        }
    }
    // Every API Gateway answer names its request, and none carries Envoy's own headers.
    for id in ["x-amzn-requestid", "x-amz-apigw-id"] {
        let values: Vec<&String> =
            r.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(id)).map(|(_, v)| v).collect();
        if values.len() != 1 || values[0].is_empty() {
            out.push(format!("{id}: {values:?} (one expected)"));
        }
    }
    for (name, value) in &r.headers {
        let name = name.to_ascii_lowercase();
        if name == "server" || name.starts_with("x-envoy-") {
            out.push(format!("header {name}: {value} (API Gateway sends none)"));
        }
    }
    for (name, want) in expect["headers"].as_object().into_iter().flatten() {
        let got = r.header(name);
        if got != want.as_str() {
            out.push(format!("header {name}: {got:?} (documented: {want})"));
        }
    }
    let text = r.text();
    if let Some(want) = expect.get("body").filter(|v| !v.is_null()) {
        match serde_json::from_str::<Value>(&text) {
            Ok(got) if &got == want => {}
            Ok(got) => out.push(format!("body {got} (documented: {want})")),
            Err(_) => out.push(format!("body is not JSON: {text:?} (documented: {want})")),
        }
    }
    if let Some(want) = expect["body_text"].as_str() {
        if text != want {
            out.push(format!("body {text:?} (documented: {want:?})"));
        }
    }
    for part in expect["body_contains"].as_array().into_iter().flatten() {
        let part = part.as_str().unwrap_or_default();
        if !text.contains(part) {
            out.push(format!("body {text:?} lacks {part:?}"));
        }
    }
    out
}

/// One sample: its cases' differences, and how many cases it has.
fn run_sample(sample: &Path) -> (Vec<String>, usize) {
    let name = sample.file_name().unwrap().to_string_lossy().into_owned();
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(sample.join("sample.json")).expect("sample.json"),
    )
    .unwrap_or_else(|e| panic!("{name}/sample.json: {e}"));
    let work = scratch_dir(&format!("conformance-{name}"));
    let spec_path = work.join("spec.json");
    let export = export_of(sample);
    let mut args = vec!["import".to_string(), export.to_string_lossy().into_owned()];
    args.extend(["--out".to_string(), spec_path.to_string_lossy().into_owned()]);
    for arg in config["import_args"].as_array().into_iter().flatten() {
        args.push(arg.as_str().unwrap().to_string());
    }
    for (name, value) in config["stage_variables"].as_object().into_iter().flatten() {
        args.push("--stage-variable".into());
        args.push(format!("{name}={}", value.as_str().unwrap()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, stderr) = run_cli(&args);
    if !ok {
        return (vec![format!("{name}: tollgate import refused the export: {stderr}")], 0);
    }
    let functions = sample.join("functions");
    let lambda = functions.is_dir().then(|| LambdaEmulator::start(&functions));
    let upstream = config["upstream"]
        .as_str()
        .map(|mode| Upstream::start_with(UPSTREAM, &["--mode", mode, "--name", &name]));
    let moto = config.get("aws").filter(|a| !a.is_null()).map(|_| Moto::start());
    if let Some(moto) = &moto {
        for call in config["aws"]["setup"].as_array().into_iter().flatten() {
            let (service, operation) = (call["service"].as_str(), call["operation"].as_str());
            moto.call(service.unwrap(), operation.unwrap(), &call["params"]);
        }
    }
    let mut spec: Value =
        serde_json::from_str(&std::fs::read_to_string(&spec_path).unwrap()).unwrap();
    // Token authorizers fetch their JWKS from a files upstream serving the test key's.
    let jwks_dir = work.join("jwks");
    let mut jwks_clusters = Vec::new();
    for authorizer in spec["authorizers"].as_array().into_iter().flatten() {
        let uri = &authorizer["jwks_uri"];
        if let (Some(cluster), Some(path)) = (uri["cluster"].as_str(), uri["path"].as_str()) {
            let key = test_rsa_key(JWT_KID);
            write_jwks(&jwks_dir.join(path.trim_start_matches('/')), &[rsa_jwk(&key, JWT_KID)]);
            jwks_clusters.push(cluster.to_string());
        }
    }
    let jwks = (!jwks_clusters.is_empty()).then(|| Upstream::files(UPSTREAM, &jwks_dir));
    if let Some(files) = &jwks {
        for cluster in &jwks_clusters {
            spec["gateway"]["clusters"][cluster] =
                json!(format!("http://127.0.0.1:{}", files.port));
        }
    }
    let tokens = mint_tokens(&config);
    let stand_ins = StandIns {
        lambda: lambda.as_ref().map(|l| l.port),
        upstream: upstream.as_ref().map(|u| u.port),
        aws: moto.as_ref().map(Moto::endpoint),
    };
    prepare(&mut spec, &config, &stand_ins);
    std::fs::write(&spec_path, serde_json::to_string_pretty(&spec).unwrap()).unwrap();
    let out = work.join("gateway");
    render(&spec_path, &out);
    // The credentials moto's signed clusters sign with (moto accepts any).
    let env: Vec<(String, String)> =
        [("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")]
            .iter()
            .map(|(n, v)| ((*n).to_string(), (*v).to_string()))
            .collect();
    let key = signing_key(&config);
    let envoy = match Envoy::start_file_env(&out.join("envoy.yaml"), 1, &env) {
        Ok(envoy) => envoy,
        Err(log) => return (vec![format!("{name}: the rendered Envoy did not start:\n{log}")], 0),
    };
    let cases = config["cases"].as_array().cloned().unwrap_or_default();
    let mut found = Vec::new();
    for case in &cases {
        let r = send(envoy.port, &case["request"], key.as_ref(), &tokens);
        let diffs = differences(&r, &case["expect"]);
        let what = case["name"].as_str().unwrap_or("?");
        match (case["difference"].as_str(), diffs.is_empty()) {
            (None, true) => {}
            (None, false) => found.push(format!("{name} / {what}: {}", diffs.join("; "))),
            // A known difference (written in the README) is reported, and must still be one.
            (Some(why), false) => {
                eprintln!("known difference {name} / {what} ({why}): {}", diffs.join("; "));
            }
            (Some(why), true) => found.push(format!(
                "{name} / {what}: answers as documented now; remove its `difference` ({why})"
            )),
        }
    }
    if !found.is_empty() {
        if let Some(l) = &lambda {
            found.push(format!("{name}: emulator log:\n{}", l.log()));
        }
    }
    (found, cases.len())
}

#[test]
fn aws_samples_answer_as_documented() {
    let samples = samples();
    assert!(!samples.is_empty(), "no samples in tests/conformance");
    let mut differences = Vec::new();
    let mut total = 0;
    for sample in &samples {
        let (found, cases) = run_sample(sample);
        total += cases;
        eprintln!(
            "conformance {}: {} case(s), {} difference(s)",
            sample.file_name().unwrap().to_string_lossy(),
            cases,
            found.len()
        );
        differences.extend(found);
    }
    assert!(total >= 15, "the tier has {total} cases");
    assert!(
        differences.is_empty(),
        "differences from AWS's documented answers:\n{}",
        differences.join("\n")
    );
}
