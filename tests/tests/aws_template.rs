//! From a SAM template to a running gateway: `tollgate import-aws --template`, `tollgate render`,
//! Envoy, with the function run by the local Lambda and the key value given as the template's
//! parameter. The same template translated by AWS's own SAM translator (`aws-sam-translator`,
//! PyPI) into CloudFormation imports to the very same gateway.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};
use tollgate_e2e::sigv4::python;
use tollgate_e2e::{get, root, run_cli, scratch_dir, Envoy, LambdaEmulator};

const CLIENT_KEY: &str = "TemplateClientKeyValue000001";

/// A SAM application as `sam package` leaves it (code in S3): one function behind an explicit API that wants a key, a usage plan with
/// a quota of 3 a day, the key whose value is a `NoEcho` parameter.
const TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Description: Greetings behind a key
Parameters:
  StageName:
    Type: String
    Default: live
  ClientKey:
    Type: String
    NoEcho: true
Resources:
  GreetApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref StageName
      Variables:
        greeting: hello
      Auth:
        ApiKeyRequired: true
      MethodSettings:
        - ResourcePath: "/*"
          HttpMethod: "*"
          ThrottlingRateLimit: 50
          ThrottlingBurstLimit: 100
  Greet:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: greet
      Runtime: python3.12
      Handler: greet.handler
      CodeUri: s3://greetings-artifacts/greet.zip
      Events:
        Get:
          Type: Api
          Properties:
            RestApiId: !Ref GreetApi
            Path: /greet/{name}
            Method: get
  Plan:
    Type: AWS::ApiGateway::UsagePlan
    Properties:
      UsagePlanName: clients
      ApiStages:
        - ApiId: !Ref GreetApi
          Stage: !Ref StageName
      Quota:
        Limit: 3
        Period: DAY
      Throttle:
        RateLimit: 10
        BurstLimit: 20
  Key:
    Type: AWS::ApiGateway::ApiKey
    Properties:
      Name: client
      Enabled: true
      Value: !Ref ClientKey
  PlanKey:
    Type: AWS::ApiGateway::UsagePlanKey
    Properties:
      KeyId: !Ref Key
      KeyType: API_KEY
      UsagePlanId: !Ref Plan
"#;

const HANDLER: &str = r#"import json

def handler(event, context):
    body = {"hello": event["pathParameters"]["name"],
            "stage": event["requestContext"]["stage"],
            "greeting": event["stageVariables"]["greeting"]}
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps(body)}
"#;

fn import(template: &Path, out: &Path) -> String {
    let (ok, _, stderr) = run_cli(&[
        "import-aws",
        "--template",
        &template.to_string_lossy(),
        "--parameter",
        &format!("ClientKey={CLIENT_KEY}"),
        "--out-dir",
        &out.to_string_lossy(),
    ]);
    assert!(ok, "tollgate import-aws --template {}: {stderr}", template.display());
    stderr
}

/// Every file of a written gateway, by name.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_sam_template_becomes_a_gateway_that_serves_its_function_behind_its_key() {
    let dir = scratch_dir("import-template");
    let template = dir.join("template.yaml");
    std::fs::write(&template, TEMPLATE).unwrap();

    // 1. Import the template.
    let stderr = import(&template, &dir.join("gateway"));
    // Two stages, as SAM deploys them: `live`, and the `Stage` stage its deployment makes
    // when the API names no OpenApiVersion.
    assert!(stderr.contains("1 API(s), 2 stage(s), 1 usage plan(s), 1 API key(s)"), "{stderr}");
    for (name, text) in files(&dir.join("gateway")) {
        assert!(!text.contains(CLIENT_KEY), "{name} holds the key value");
    }

    // AWS's SAM translator makes CloudFormation of it; that imports to the same gateway.
    let out = Command::new(python())
        .arg(root().join("cli/tests/templates/translate.py"))
        .arg(&template)
        .output()
        .unwrap();
    assert!(out.status.success(), "translate.py: {}", String::from_utf8_lossy(&out.stderr));
    let translated = dir.join("template.cfn.json");
    std::fs::write(&translated, &out.stdout).unwrap();
    import(&translated, &dir.join("translated"));
    assert_eq!(files(&dir.join("gateway")), files(&dir.join("translated")));

    // Point the Lambda cluster at the local Lambda, and every listener at a free port.
    let functions = scratch_dir("import-template-functions");
    std::fs::write(functions.join("greet.py"), HANDLER).unwrap();
    let lambda = LambdaEmulator::start(&functions);
    let gateway = dir.join("gateway/gateway.yaml");
    let mut file: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&gateway).unwrap()).expect("gateway.yaml");
    assert_eq!(file["gateway"]["clusters"]["lambda"], "https://lambda.us-east-1.amazonaws.com");
    file["gateway"]["clusters"]["lambda"] = json!(format!("http://127.0.0.1:{}", lambda.port));
    for listener in ["listen", "admin_listen", "envoy_admin"] {
        file["gateway"][listener] = json!("127.0.0.1:0");
    }
    std::fs::write(&gateway, serde_yaml_ng::to_string(&file).unwrap()).unwrap();

    // 2. Render, 3. run.
    let rendered = dir.join("rendered");
    tollgate_e2e::render(&gateway, &rendered);
    let envoy =
        Envoy::start_file(&rendered.join("envoy.yaml"), 1).unwrap_or_else(|log| panic!("{log}"));
    let host = "greetapi.execute-api.us-east-1.amazonaws.com";
    let call = |key: &str| {
        let mut headers = vec![("host", host)];
        if !key.is_empty() {
            headers.push(("x-api-key", key));
        }
        let r = get(envoy.port, "/live/greet/ann", &headers);
        let body = serde_json::from_slice(&r.body).unwrap_or_else(|_| json!(r.text()));
        (r.status, body)
    };
    assert_eq!(
        call(CLIENT_KEY),
        (200, json!({"hello": "ann", "stage": "live", "greeting": "hello"}))
    );
    assert_eq!(lambda.count("greet"), 1);
    assert_eq!(call(""), (403, json!({"message": "Forbidden"})));
    assert_eq!(call("SomeOtherKeyValue00000001"), (403, json!({"message": "Forbidden"})));
    // The plan's quota of 3 a day.
    for _ in 0..2 {
        assert_eq!(call(CLIENT_KEY).0, 200);
    }
    assert_eq!(call(CLIENT_KEY), (429, json!({"message": "Limit Exceeded"})));
    assert_eq!(lambda.count("greet"), 3, "refused requests never reach the function");
}
