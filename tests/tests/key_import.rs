//! Keys from API Gateway's API key file (the CSV `ImportApiKeys` reads) imported into a spec
//! with `tollgate keys import`, rendered, and used by real clients: the values clients already
//! hold keep working, a disabled line refuses its key, a key in two plans (a quoted list) opens
//! both plans' stages.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use serde_json::json;
use tollgate_e2e::{get, run_cli, scratch_dir, Envoy, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");
const KEYS: usize = 10_000;

fn value(i: usize) -> String {
    format!("imported-key-{i:06}-abcdefghij")
}

#[test]
fn ten_thousand_keys_from_an_api_gateway_key_file_work() {
    let backend = Upstream::start(UPSTREAM, "echo");
    let dir = scratch_dir("key-import");
    let spec = dir.join("spec.json");
    let config = json!({
        "gateway": {"listen": "127.0.0.1:0", "admin_listen": "127.0.0.1:0", "envoy_admin": "127.0.0.1:0",
                    "upstream": format!("http://127.0.0.1:{}", backend.port)},
        "api": {"id": "shop"},
        "stages": [{"name": "prod"}, {"name": "beta"}],
        "methods": [{"resource": "/pets", "http_method": "GET", "api_key_required": true}],
        "usage_plans": [
            {"id": "basic", "api_stages": [{"api_id": "shop", "stage": "prod"}]},
            {"id": "gold", "api_stages": [{"api_id": "shop", "stage": "beta"}]},
        ],
    });
    std::fs::write(&spec, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    // AWS's columns in another order and case, an ignored column, quoted plan lists, a BOM.
    let mut csv = String::from("\u{feff}Enabled,Name,key,Description,UsagePlanIds,Owner\r\n");
    for i in 0..KEYS {
        let enabled = if i % 1000 == 7 { "FALSE" } else { "TRUE" };
        let plans = if i % 2 == 0 { "basic".to_string() } else { "\"basic,gold\"".to_string() };
        csv.push_str(&format!(
            "{enabled},customer-{i},{},imported,{plans},team-{}\r\n",
            value(i),
            i % 7
        ));
    }
    let file = dir.join("keys.csv");
    std::fs::write(&file, csv).unwrap();
    let spec_arg = spec.to_string_lossy().into_owned();
    let (ok, _, stderr) =
        run_cli(&["keys", "import", &spec_arg, "--file", &file.to_string_lossy()]);
    assert!(ok, "tollgate keys import: {stderr}");
    assert!(stderr.contains(&format!("imported {KEYS} new API keys")), "{stderr}");
    // Only hashes are stored.
    let stored = std::fs::read_to_string(&spec).unwrap();
    assert!(!stored.contains(&value(0)), "a key value was written to the spec");

    let out = dir.join("rendered");
    tollgate_e2e::render(&spec, &out);
    let envoy = Envoy::start_file(&out.join("envoy.yaml"), 2).unwrap_or_else(|log| panic!("{log}"));
    // Even keys are in `basic` (prod), odd ones also in `gold` (beta).
    for i in (0..KEYS).step_by(37).chain([1, 2, KEYS - 1]) {
        let key = value(i);
        let r = get(envoy.port, "/prod/pets", &[("x-api-key", &key)]);
        let expected = if i % 1000 == 7 { 403 } else { 200 };
        assert_eq!(r.status, expected, "key {i} on prod: {}", r.text());
        let r = get(envoy.port, "/beta/pets", &[("x-api-key", &key)]);
        let expected = if i % 2 == 1 && i % 1000 != 7 { 200 } else { 403 };
        assert_eq!(r.status, expected, "key {i} on beta: {}", r.text());
    }
    let r = get(envoy.port, "/prod/pets", &[("x-api-key", &value(7))]);
    assert_eq!(r.json(), json!({"message": "Forbidden"}));
    let r = get(envoy.port, "/prod/pets", &[("x-api-key", "imported-key-999999-abcdefghij")]);
    assert_eq!(r.status, 403);

    // Importing again updates: the disabled key comes back, nothing is duplicated.
    std::fs::write(&file, format!("name,key\nback,{}\n", value(7))).unwrap();
    let (ok, _, stderr) =
        run_cli(&["keys", "import", &spec_arg, "--file", &file.to_string_lossy()]);
    assert!(ok && stderr.contains("imported 0 new API keys, updated 1"), "{stderr}");
    // A plan the spec does not have is refused, naming the line.
    std::fs::write(&file, format!("name,key,usageplanids\nx,{}\n", value(KEYS) + ",platinum"))
        .unwrap();
    let (ok, _, stderr) =
        run_cli(&["keys", "import", &spec_arg, "--file", &file.to_string_lossy()]);
    assert!(!ok && stderr.contains("line 2: UsagePlanIds: no usage plan `platinum`"), "{stderr}");
}
