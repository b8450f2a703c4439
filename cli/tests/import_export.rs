//! `tollgate import`, `tollgate export` and `tollgate validate` as a user runs them: the built
//! binary on the fixtures in `tests/fixtures`, checking exit codes, files and messages.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

mod common;

use common::{ok, scratch, tollgate, Run};

use std::path::Path;

use serde_json::Value;
use tollgate_core::config::Config;

fn failed(args: &[&str]) -> Run {
    let run = tollgate(args);
    assert_eq!(run.code, 1, "tollgate {args:?}\nstdout: {}\nstderr: {}", run.stdout, run.stderr);
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("tollgate: "), "{}", run.stderr);
    run
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name).display().to_string()
}

const FIXTURES: [&str; 11] = [
    "petstore-swagger.yaml",
    "petstore-oas30.json",
    "lambda-proxy.yaml",
    "request-validation.yaml",
    "s3-proxy.yaml",
    "kinesis-proxy.yaml",
    "lambda-authorizers.yaml",
    "cognito.yaml",
    "gateway-responses.yaml",
    "openapi31.yaml",
    "unsupported.yaml",
];

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A spec file as (filter config, gateway section).
fn read_spec(file: &Path) -> (Config, Value) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut value: Value = if file.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).unwrap()
    } else {
        serde_yaml_ng::from_str(&text).unwrap()
    };
    let gateway = value.as_object_mut().unwrap().remove("gateway").unwrap_or(Value::Null);
    let config = Config::from_json(&serde_json::to_vec(&value).unwrap()).unwrap();
    (config, gateway)
}

fn reports(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("not honoured: ")).collect()
}

#[test]
fn every_fixture_imports_and_validates() {
    let dir = scratch("import-export");
    for name in FIXTURES {
        for ext in ["yaml", "json"] {
            let out = dir.join(format!("{name}.{ext}"));
            let run = ok(&["import", &fixture(name), "--out", path(&out)]);
            assert!(run.stderr.contains(&format!("-> {}", out.display())), "{}", run.stderr);
            let checked = ok(&["validate", path(&out)]);
            assert!(checked.stdout.contains(": ok (api "), "{}", checked.stdout);
        }
    }
}

#[test]
fn what_is_imported_is_what_the_document_says() {
    let dir = scratch("import-export");
    let out = dir.join("pets.yaml");
    ok(&["import", &fixture("petstore-swagger.yaml"), "--out", path(&out)]);
    let (config, _) = read_spec(&out);
    assert_eq!(config.api.id, "p3tsh0p");
    assert_eq!(config.stage.name, "prod");
    let list =
        config.methods.iter().find(|m| m.operation_name.as_deref() == Some("listPets")).unwrap();
    assert!(list.api_key_required);
    assert_eq!(list.request_parameters.get("method.request.querystring.type"), Some(&false));
    let create = config.methods.iter().find(|m| m.http_method == "POST").unwrap();
    assert_eq!(create.request_models.get("application/json").map(String::as_str), Some("NewPet"));
    assert_eq!(
        config.models["NewPet"]["properties"]["type"]["$ref"],
        "https://apigateway.amazonaws.com/restapis/p3tsh0p/models/PetType"
    );

    let out = dir.join("lambda.json");
    ok(&["import", &fixture("lambda-proxy.yaml"), "--out", path(&out), "--stage", "blue"]);
    let (config, gateway) = read_spec(&out);
    assert_eq!((config.api.region.as_str(), config.stage.name.as_str()), ("eu-west-1", "blue"));
    assert_eq!(config.api.account_id, "210987654321");
    let any = config.methods.iter().find(|m| m.http_method == "ANY").unwrap();
    let function = any.integration.as_ref().unwrap().function.as_ref().unwrap();
    assert_eq!(function.name, "arn:aws:lambda:eu-west-1:210987654321:function:orders-router:live");
    assert_eq!(
        (function.cluster.as_str(), function.authority.as_str()),
        ("lambda", "lambda.eu-west-1.amazonaws.com")
    );
    assert_eq!(gateway["clusters"]["lambda"], "https://lambda.eu-west-1.amazonaws.com");

    let out = dir.join("auth.yaml");
    ok(&["import", &fixture("lambda-authorizers.yaml"), "--out", path(&out)]);
    let (config, _) = read_spec(&out);
    assert_eq!(config.lambda_authorizers.len(), 3);
    // AWS's `Unused` scheme: a REQUEST authorizer with no identity source, not a header
    // named `Unused`.
    let unused = config.lambda_authorizers.iter().find(|a| a.id == "Unused").unwrap();
    assert_eq!(unused.identity_source, "");
    let reports = config.methods.iter().find(|m| m.resource == "/reports").unwrap();
    assert!(reports.api_key_required);
    assert_eq!(reports.authorizer_id.as_deref(), Some("bearer"));

    let out = dir.join("cognito.yaml");
    ok(&["import", &fixture("cognito.yaml"), "--out", path(&out)]);
    let (config, _) = read_spec(&out);
    let add = config.methods.iter().find(|m| m.http_method == "POST").unwrap();
    assert_eq!(add.authorization_scopes, ["notes/write"]);
    let health = config.methods.iter().find(|m| m.resource == "/health").unwrap();
    assert!(health.authorizer_id.is_none(), "`security: []` opens a method");
    // Two user pools: one key set each, in the order of the issuers.
    let pools = &config.authorizers[0];
    assert_eq!(
        pools.issuers,
        [
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_N0t3sP00l",
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_S3c0ndP00l"
        ]
    );
    let paths: Vec<&str> = pools.jwks_uris.iter().map(|u| u.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/us-east-1_N0t3sP00l/.well-known/jwks.json",
            "/eu-west-1_S3c0ndP00l/.well-known/jwks.json"
        ]
    );
    assert!(pools.jwks_uri.is_none());
}

#[test]
fn what_cannot_be_honoured_is_reported_by_name() {
    let run = ok(&["import", &fixture("unsupported.yaml")]);
    let op = "paths./images/{id}.get";
    let expected = [
        "components.securitySchemes.oauth".to_string(),
        "x-amazon-apigateway-endpoint-configuration".into(),
        format!("{op}.parameters[1]"),
        format!("{op}.security.oauth"),
        format!("{op}.x-amazon-apigateway-foo"),
        format!("{op}.x-amazon-apigateway-integration.connectionId"),
        format!("{op}.x-amazon-apigateway-integration.connectionType"),
    ];
    let lines = reports(&run.stderr);
    let named: Vec<&str> = lines
        .iter()
        .map(|l| l.trim_start_matches("not honoured: ").split(": ").next().unwrap())
        .collect();
    assert_eq!(named, expected, "{}", run.stderr);
    assert!(run.stdout.contains("api:"), "the spec still goes to stdout");

    let run = ok(&["import", &fixture("s3-proxy.yaml")]);
    assert_eq!(reports(&run.stderr).len(), 3, "{}", run.stderr);
    assert!(run.stderr.contains("cacheKeyParameters"), "{}", run.stderr);
    for clean in
        ["petstore-swagger.yaml", "petstore-oas30.json", "lambda-proxy.yaml", "cognito.yaml"]
    {
        let run = ok(&["import", &fixture(clean), "--strict"]);
        assert!(reports(&run.stderr).is_empty(), "{clean}: {}", run.stderr);
    }
}

#[test]
fn strict_refuses_and_writes_nothing() {
    let dir = scratch("import-export");
    let out = dir.join("media.yaml");
    let run = failed(&["import", &fixture("unsupported.yaml"), "--strict", "--out", path(&out)]);
    assert!(
        run.stderr.contains("7 part(s) of the API cannot be honoured (--strict)"),
        "{}",
        run.stderr
    );
    assert_eq!(reports(&run.stderr).len(), 7);
    assert!(!out.exists());
    assert!(run.stdout.is_empty());
}

#[test]
fn import_export_import_is_stable() {
    let dir = scratch("import-export");
    for name in FIXTURES {
        let first = dir.join(format!("{name}.spec.yaml"));
        ok(&["import", &fixture(name), "--out", path(&first)]);
        for (format, ext) in [("oas30", "json"), ("swagger", "yaml")] {
            let exported = dir.join(format!("{name}.{format}.{ext}"));
            let run = ok(&[
                "export",
                path(&first),
                "--format",
                format,
                "--extensions",
                "apigateway",
                "--out",
                path(&exported),
            ]);
            assert!(!run.stderr.contains("not exported"), "{name}: {}", run.stderr);
            let again = dir.join(format!("{name}.{format}.spec.json"));
            ok(&["import", path(&exported), "--out", path(&again)]);
            assert_eq!(read_spec(&first), read_spec(&again), "{name} through {format}");
        }
    }
}

#[test]
fn export_writes_the_api() {
    let dir = scratch("import-export");
    let spec = dir.join("lambda.yaml");
    ok(&["import", &fixture("lambda-proxy.yaml"), "--out", path(&spec)]);
    let run = ok(&["export", path(&spec), "--format", "oas30"]);
    let doc: Value = serde_yaml_ng::from_str(&run.stdout).unwrap();
    assert_eq!(doc["openapi"], "3.0.1");
    assert_eq!(doc["servers"][0]["variables"]["basePath"]["default"], "/live");
    assert!(!run.stdout.contains("x-amazon-apigateway"), "{}", run.stdout);
    // Without the extensions, ANY becomes every verb.
    let proxy = &doc["paths"]["/{proxy+}"];
    assert_eq!(proxy["get"]["operationId"], "everythingElseGet");
    assert_eq!(proxy["delete"]["parameters"][0]["name"], "proxy");

    let run = ok(&["export", path(&spec), "--format", "swagger", "--extensions", "apigateway"]);
    let doc: Value = serde_yaml_ng::from_str(&run.stdout).unwrap();
    assert_eq!((doc["swagger"].as_str(), doc["basePath"].as_str()), (Some("2.0"), Some("/live")));
    let any = &doc["paths"]["/{proxy+}"]["x-amazon-apigateway-any-method"];
    assert_eq!(any["x-amazon-apigateway-integration"]["type"], "aws_proxy");

    let run = failed(&["export", path(&spec), "--format", "oas30", "--stage", "nope"]);
    assert!(run.stderr.contains("the spec has no stage `nope`"), "{}", run.stderr);
}

#[test]
fn export_names_what_it_cannot_carry() {
    let dir = scratch("import-export");
    let spec = dir.join("spec.yaml");
    std::fs::write(
        &spec,
        "api: {id: shop}\nmethods: [{resource: /a, http_method: GET, api_key_required: true}]\n\
         usage_plans: [{id: basic, throttle: {rate: 1, burst: 1}}]\n",
    )
    .unwrap();
    let run = ok(&["export", path(&spec), "--format", "oas30", "--extensions", "apigateway"]);
    assert!(run.stderr.contains("not exported: usage_plans"), "{}", run.stderr);
    assert!(run.stdout.contains("x-api-key"), "{}", run.stdout);
}

#[test]
fn validate_says_where_the_error_is() {
    let dir = scratch("import-export");
    let yaml = dir.join("spec.yaml");
    std::fs::write(
        &yaml,
        "gateway: {listen: '0.0.0.0:8000'}\napi: {id: pets}\nmethods:\n  - resource: /pets\n    \
         http_method: GET\n  - resource: /pets\n    http_method: FETCH\n",
    )
    .unwrap();
    let run = failed(&["validate", path(&yaml)]);
    let expected =
        format!("tollgate: {}:7:5: methods[1].http_method: `FETCH` is not one of", yaml.display());
    assert!(run.stderr.starts_with(&expected), "{}", run.stderr);

    let json = dir.join("spec.json");
    std::fs::write(
        &json,
        "{\n  \"api\": {\"id\": \"pets\"},\n  \"methods\": [\n    {\"resource\": \"/a\", \"http_method\": \"GET\"},\n    \
         {\"resource\": \"/b\", \"http_method\": \"GET\", \"api_key_requried\": true}\n  ]\n}\n",
    )
    .unwrap();
    let run = failed(&["validate", path(&json)]);
    let expected =
        format!("tollgate: {}:5:46: methods[1].api_key_requried: unknown field", json.display());
    assert!(run.stderr.starts_with(&expected), "{}", run.stderr);

    let models = dir.join("models.yaml");
    std::fs::write(&models, "api: {id: pets}\nmodels:\n  Pet: {type: objekt}\n").unwrap();
    let run = failed(&["validate", path(&models)]);
    assert!(
        run.stderr.starts_with(&format!("tollgate: {}:3:3: models.Pet: ", models.display())),
        "{}",
        run.stderr
    );

    let syntax = dir.join("syntax.json");
    std::fs::write(&syntax, "{\n  \"api\": {\"id\": \"pets\",}\n}\n").unwrap();
    let run = failed(&["validate", path(&syntax)]);
    assert!(
        run.stderr.starts_with(&format!("tollgate: {}:2:", syntax.display())),
        "{}",
        run.stderr
    );
}

#[test]
fn malformed_input_is_a_clear_error() {
    let dir = scratch("import-export");
    let broken = dir.join("broken.yaml");
    std::fs::write(&broken, "openapi: 3.0.1\npaths:\n  /a: {get: {responses: {}\n").unwrap();
    let run = failed(&["import", path(&broken)]);
    assert!(run.stderr.starts_with(&format!("tollgate: {}:", broken.display())), "{}", run.stderr);

    let other = dir.join("other.json");
    std::fs::write(&other, "{\"name\": \"not an API\"}").unwrap();
    let run = failed(&["import", path(&other)]);
    assert!(
        run.stderr.contains("not an OpenAPI 3.0/3.1 or Swagger 2.0 document"),
        "{}",
        run.stderr
    );

    let old = dir.join("old.yaml");
    std::fs::write(&old, "swagger: '1.2'\n").unwrap();
    let run = failed(&["import", path(&old)]);
    assert!(run.stderr.contains("swagger: version 1.2 is not supported"), "{}", run.stderr);

    let bad_type = dir.join("bad-type.yaml");
    std::fs::write(
        &bad_type,
        "openapi: 3.0.1\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n      \
         x-amazon-apigateway-integration: {type: carrier_pigeon}\n",
    )
    .unwrap();
    let run = failed(&["import", path(&bad_type)]);
    assert!(
        run.stderr.contains("paths./a.get.x-amazon-apigateway-integration.type: `carrier_pigeon`"),
        "{}",
        run.stderr
    );

    // Imports that the filter's validation refuses are refused, not written.
    let invalid = dir.join("invalid.yaml");
    let out = dir.join("invalid-out.yaml");
    std::fs::write(
        &invalid,
        "openapi: 3.0.1\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n      \
         x-amazon-apigateway-integration: {type: http, uri: 'ftp://files/a'}\n",
    )
    .unwrap();
    let run = failed(&["import", path(&invalid), "--out", path(&out)]);
    assert!(
        run.stderr.contains("does not pass validation: methods[0].integration.uri"),
        "{}",
        run.stderr
    );
    assert!(!out.exists());

    let run = failed(&["import", path(&dir.join("missing.yaml"))]);
    assert!(run.stderr.contains("missing.yaml"), "{}", run.stderr);
}
