//! Validation, mappings, templates, MOCK and integration responses through the pipeline, on the
//! in-memory host.

use super::*;
use crate::host::memory::MemoryHost;
use crate::test_support::test;
use serde_json::{json, Value};

fn plan() -> Plan {
    let config = json!({
        "api": {"id": "petstore"},
        "stage": {"name": "dev", "variables": {"tier": "gold"}},
        "models": {"Pet": {
            "$schema": "http://json-schema.org/draft-04/schema#",
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
        }},
        "request_validators": {"all": {"validate_request_body": true, "validate_request_parameters": true}},
        "methods": [
            {"resource": "/pets/{petId}", "http_method": "PUT",
             "request_validator": "all",
             "request_parameters": {"method.request.header.x-owner": true, "method.request.querystring.v": false},
             "request_models": {"application/json": "Pet"},
             "integration": {
                "type": "HTTP",
                "uri": "http://backend/v2/pets/{id}",
                "passthrough_behavior": "NEVER",
                "request_parameters": {
                    "integration.request.path.id": "method.request.path.petId",
                    "integration.request.header.x-owner": "method.request.header.x-owner",
                    "integration.request.querystring.tier": "stageVariables.tier",
                },
                "request_templates": {"application/json":
                    "{\"pet\": \"$input.path('$.name')\", \"id\": \"$input.params('petId')\"}"},
                "responses": {
                    "default": {"status_code": "200", "response_templates": {"application/json":
                        "{\"saved\": $input.json('$.ok')}"}},
                    "4\\d\\d": {"status_code": "400",
                        "response_parameters": {"method.response.header.x-reason": "integration.response.header.x-why"},
                        "response_templates": {"application/json": "{\"error\": \"$input.path('$.msg')\"}"}},
                },
             }},
            {"resource": "/ping", "http_method": "GET",
             "integration": {"type": "MOCK",
                "request_templates": {"application/json": "#if($input.params('fail') == 'yes'){\"statusCode\": 503}#else{\"statusCode\": 200}#end"},
                "responses": {
                    "default": {"status_code": "200", "response_templates": {"application/json": "{\"pong\": \"$context.stage\"}"}},
                    "5\\d\\d": {"status_code": "503", "response_templates": {"application/json": "{\"down\": true}"}},
                }}},
        ],
    });
    Plan::from_json(config.to_string().as_bytes()).unwrap()
}

fn put(body: &str) -> (Plan, MemoryHost, Exchange, Flow) {
    let plan = plan();
    let mut host = MemoryHost::request("PUT", "/pets/7?v=1")
        .with_header("content-type", "application/json")
        .with_header("x-owner", "ann")
        .with_header("x-noise", "dropped")
        .with_header("content-length", body.len().to_string());
    let mut exchange = Exchange::default();
    let mut worker = Worker::default();
    let flow = on_request_headers(&plan, &mut worker, &mut host, &mut exchange, false);
    assert_eq!(flow, Flow::NeedBody, "a model and a template need the body");
    let flow = on_request_body(&plan, &mut worker, &mut host, &mut exchange, body.as_bytes());
    (plan, host, exchange, flow)
}

fn reply_json(host: &MemoryHost) -> (u16, Value) {
    let reply = host.reply.as_ref().expect("a local reply");
    (reply.status, serde_json::from_slice(&reply.body).unwrap())
}

#[test]
fn a_valid_request_is_reshaped_for_the_backend() {
    let (_, host, exchange, flow) = put(r#"{"name": "Rex", "age": 3}"#);
    assert_eq!(flow, Flow::Continue);
    let body: Value = serde_json::from_slice(host.request_body.as_deref().unwrap()).unwrap();
    assert_eq!(body, json!({"pet": "Rex", "id": "7"}));
    let len = host.header("content-length").unwrap();
    assert_eq!(len, host.request_body.as_ref().unwrap().len().to_string().as_bytes());
    assert_eq!(host.header(":path"), Some(&b"/v2/pets/7?tier=gold"[..]));
    assert_eq!(host.header("x-owner"), Some(&b"ann"[..]));
    assert_eq!(host.header("x-noise"), None, "an HTTP integration sends only what is mapped");
    assert!(exchange.response.is_some(), "integration responses wait for the backend");
}

#[test]
fn invalid_bodies_and_missing_parameters_are_400() {
    for body in [r#"{"age": 3}"#, r#"{"name": "Rex", "age": -1}"#, "not json", ""] {
        let (_, host, _, flow) = put(body);
        assert_eq!(flow, Flow::Replied, "{body}");
        let (status, json) = reply_json(&host);
        assert_eq!((status, json), (400, json!({"message": "Invalid request body"})), "{body}");
        assert!(host.request_body.is_none());
    }
    let plan = plan();
    let mut host = MemoryHost::request("PUT", "/pets/7").with_header("x-owner", "");
    let flow = on_request_headers(
        &plan,
        &mut Worker::default(),
        &mut host,
        &mut Exchange::default(),
        true,
    );
    assert_eq!(flow, Flow::Replied);
    assert_eq!(
        reply_json(&host),
        (400, json!({"message": "Missing required request parameters: [x-owner]"}))
    );
}

#[test]
fn unsupported_media_type_and_oversized_declared_bodies() {
    let plan = plan();
    let mut host = MemoryHost::request("PUT", "/pets/7")
        .with_header("content-type", "text/plain")
        .with_header("x-owner", "ann");
    let mut exchange = Exchange::default();
    let mut worker = Worker::default();
    assert_eq!(
        on_request_headers(&plan, &mut worker, &mut host, &mut exchange, false),
        Flow::NeedBody
    );
    assert_eq!(on_request_body(&plan, &mut worker, &mut host, &mut exchange, b"hi"), Flow::Replied);
    assert_eq!(reply_json(&host), (415, json!({"message": "Unsupported Media Type"})));

    let mut host = MemoryHost::request("PUT", "/pets/7")
        .with_header("content-length", (MAX_BODY_BYTES + 1).to_string());
    let flow = on_request_headers(&plan, &mut worker, &mut host, &mut Exchange::default(), false);
    assert_eq!(flow, Flow::Replied);
    assert_eq!(reply_json(&host), (413, json!({"message": "Request Too Long"})));
}

#[test]
fn integration_responses_are_selected_by_status_and_reshaped() {
    let (plan, mut host, mut exchange, _) = put(r#"{"name": "Rex"}"#);
    host.response_headers = vec![
        (":status".into(), b"404".to_vec()),
        ("x-why".into(), b"gone".to_vec()),
        ("content-length".into(), b"17".to_vec()),
    ];
    let flow = on_response_headers(&plan, &mut host, &mut exchange, false);
    assert_eq!(flow, ResponseFlow::NeedBody);
    on_response_body(&plan, &mut host, &mut exchange, br#"{"msg": "no pet"}"#);
    let header =
        |name: &str| host.response_headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(header(":status"), Some(b"400".to_vec()));
    assert_eq!(header("x-reason"), Some(b"gone".to_vec()));
    let body = host.response_body.clone().unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), json!({"error": "no pet"}));
    assert_eq!(header("content-length"), Some(body.len().to_string().into_bytes()));

    let (plan, mut host, mut exchange, _) = put(r#"{"name": "Rex"}"#);
    host.response_headers = vec![(":status".into(), b"201".to_vec())];
    assert_eq!(on_response_headers(&plan, &mut host, &mut exchange, false), ResponseFlow::NeedBody);
    on_response_body(&plan, &mut host, &mut exchange, br#"{"ok": true}"#);
    let body: Value = serde_json::from_slice(host.response_body.as_deref().unwrap()).unwrap();
    assert_eq!(body, json!({"saved": true}));
}

#[test]
fn mock_integrations_answer_from_their_templates() {
    let plan = plan();
    let mut host = MemoryHost::request("GET", "/ping");
    let flow = on_request_headers(
        &plan,
        &mut Worker::default(),
        &mut host,
        &mut Exchange::default(),
        true,
    );
    assert_eq!(flow, Flow::Replied);
    assert_eq!(reply_json(&host), (200, json!({"pong": "dev"})));
    assert_eq!(host.counts.get(&Outcome::Allowed), Some(&1));
    let mut host = MemoryHost::request("GET", "/ping?fail=yes");
    on_request_headers(&plan, &mut Worker::default(), &mut host, &mut Exchange::default(), true);
    assert_eq!(reply_json(&host), (503, json!({"down": true})));
}

#[test]
fn methods_without_validation_or_templates_do_not_wait_for_the_body() {
    let config = json!({"api": {"id": "a"}, "methods": [
        {"resource": "/a", "http_method": "POST",
         "integration": {"type": "HTTP_PROXY", "request_parameters": {"integration.request.header.x-a": "'1'"}}},
    ]});
    let plan = Plan::from_json(config.to_string().as_bytes()).unwrap();
    let mut host = MemoryHost::request("POST", "/a?q=1");
    let flow = on_request_headers(
        &plan,
        &mut Worker::default(),
        &mut host,
        &mut Exchange::default(),
        false,
    );
    assert_eq!(flow, Flow::Continue);
    assert_eq!(host.header("x-a"), Some(&b"1"[..]));
    assert_eq!(host.header(":path"), Some(&b"/a?q=1"[..]));
}

#[test]
fn config_errors_name_the_method_and_field() {
    let cases = [
        (
            json!({"resource": "/a", "http_method": "GET", "request_validator": "nope"}),
            "methods[0].request_validator",
        ),
        (
            json!({"resource": "/a", "http_method": "GET", "request_models": {"application/json": "Nope"}}),
            "methods[0].request_models.application/json",
        ),
        (
            json!({"resource": "/a", "http_method": "GET", "request_parameters": {"method.request.cookie.a": true}}),
            "methods[0].request_parameters",
        ),
    ];
    for (method, path) in cases {
        let config = json!({"api": {"id": "a"}, "methods": [method]});
        let err = Plan::from_json(config.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.path, path, "{err}");
    }
}

#[test]
fn aws_service_integrations_build_the_call_and_map_the_answer() {
    let config = json!({
        "api": {"id": "items"},
        "methods": [{
            "resource": "/items/{id}", "http_method": "GET",
            "integration": {
                "type": "AWS", "uri": "arn:aws:apigateway:us-east-1:dynamodb:action/GetItem",
                "cluster": "dynamodb",
                "request_parameters": {"integration.request.header.x-trace": "method.request.header.x-trace"},
                "request_templates": {"application/json":
                    "{\"TableName\": \"items\", \"Key\": {\"id\": {\"S\": \"$input.params('id')\"}}}"},
                "responses": {
                    "default": {"status_code": "200", "response_templates": {"application/json":
                        "#set($item = $input.path('$.Item'))\n#if($item == \"\")\n{\"missing\": true}\n#else\n{\"name\": \"$item.name.S\"}\n#end\n"}},
                    "4\\d{2}": {"status_code": "400", "response_templates": {"application/json":
                        "{\"message\": \"$input.path('$.message')\"}"}},
                },
            },
        }],
    });
    let plan = Plan::from_json(config.to_string().as_bytes()).unwrap();
    let call = |answer: (u16, &str)| {
        let mut host = MemoryHost::request("GET", "/items/7")
            .with_header("x-trace", "t-1")
            .with_header("accept", "*/*");
        let mut exchange = Exchange::default();
        let flow =
            on_request_headers(&plan, &mut Worker::default(), &mut host, &mut exchange, true);
        let Flow::Call(request) = flow else { panic!("expected the integration call: {flow:?}") };
        let response = CalloutResponse {
            status: answer.0,
            headers: vec![("content-type".into(), b"application/x-amz-json-1.0".to_vec())],
            body: answer.1.as_bytes().to_vec(),
        };
        let flow =
            on_callout_response(&plan, &mut Worker::default(), &mut host, &mut exchange, response);
        assert_eq!(flow, Flow::Replied);
        assert!(exchange.response.is_none(), "the local reply is not mapped again");
        let reply = host.reply.unwrap();
        (request, reply.status, serde_json::from_slice::<Value>(&reply.body).unwrap())
    };
    let (request, status, body) =
        call((200, r#"{"Item": {"id": {"S": "7"}, "name": {"S": "Lamp"}}}"#));
    assert_eq!(request.cluster, "dynamodb");
    let header = |n: &str| request.header(n);
    assert_eq!(header(":path"), Some("/"));
    assert_eq!(header(":authority"), Some("dynamodb.us-east-1.amazonaws.com"));
    assert_eq!(header("x-amz-target"), Some("DynamoDB_20120810.GetItem"));
    assert_eq!(header("x-trace"), Some("t-1"));
    let sent: Value = serde_json::from_slice(request.body()).unwrap();
    assert_eq!(sent, json!({"TableName": "items", "Key": {"id": {"S": "7"}}}));
    assert_eq!((status, body), (200, json!({"name": "Lamp"})));
    assert_eq!(call((200, "{}")).1, 200);
    assert_eq!(call((200, "{}")).2, json!({"missing": true}));
    let (_, status, body) = call((400, r#"{"message": "Requested resource not found"}"#));
    assert_eq!((status, body), (400, json!({"message": "Requested resource not found"})));
}

/// Found by fuzzing (`fuzz/`, target `pipeline`): a path parameter mapped from the query string
/// or a header put `..` into the backend's path (`/static/d/../x`), so a backend that normalises
/// paths served another resource than the integration's. Such requests are refused.
#[test]
fn mapped_path_parameters_cannot_climb_out_of_the_integration_path() {
    let config = json!({
        "api": {"id": "files"},
        "methods": [
            {"resource": "/files/{name}", "http_method": "GET",
             "integration": {"type": "HTTP", "uri": "http://files/static/{dir}/{file}",
                "request_parameters": {"integration.request.path.file": "method.request.path.name",
                                       "integration.request.path.dir": "method.request.querystring.dir"}}},
            {"resource": "/objects/{key}", "http_method": "GET",
             "integration": {"type": "AWS", "cluster": "s3",
                "uri": "arn:aws:apigateway:us-east-1:s3:path/bucket/{folder}/{key}",
                "request_parameters": {"integration.request.path.key": "method.request.path.key",
                                       "integration.request.path.folder": "method.request.header.x-folder"}}},
        ],
    });
    let plan = Plan::from_json(config.to_string().as_bytes()).unwrap();
    let run = |host: &mut MemoryHost| {
        let mut exchange = Exchange::default();
        let flow = on_request_headers(&plan, &mut Worker::default(), host, &mut exchange, true);
        (flow, exchange)
    };
    for dir in ["..", ".", "a/../..", "%2e%2e", "%252E%252E", "..%2f..", "x/./y"] {
        let mut host = MemoryHost::request("GET", &format!("/files/a.txt?dir={dir}"));
        assert_eq!(run(&mut host).0, Flow::Replied, "{dir}");
        assert_eq!(
            reply_json(&host),
            (400, json!({"message": "Invalid request parameters"})),
            "{dir}"
        );
        let mut host = MemoryHost::request("GET", "/objects/k").with_header("x-folder", dir);
        assert_eq!(run(&mut host).0, Flow::Replied, "{dir}");
        assert_eq!(reply_json(&host).0, 400, "{dir}");
    }
    let mut host = MemoryHost::request("GET", "/files/a.txt?dir=docs..v2");
    assert_eq!(run(&mut host).0, Flow::Continue);
    assert_eq!(host.header(":path"), Some(&b"/static/docs..v2/a.txt"[..]));
    let mut host = MemoryHost::request("GET", "/objects/k").with_header("x-folder", "f");
    let (flow, exchange) = run(&mut host);
    let Flow::Call(call) = flow else { panic!("expected the integration call: {flow:?}") };
    assert!(exchange.is_waiting());
    assert_eq!(call.header(":path"), Some("/bucket/f/k"));
}

/// A Lambda custom (AWS, non-proxy) integration without a request template passes the client's
/// body through to the function, as AWS's default passthrough behaviour does.
#[test]
fn a_custom_integration_without_a_template_passes_the_body_through() {
    let config = json!({
        "api": {"id": "calc", "region": "us-east-1", "account_id": "123456789012"},
        "methods": [{"resource": "/calc", "http_method": "POST", "integration": {
            "type": "AWS", "cluster": "lambda",
            "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:calc/invocations"}}],
    });
    let plan = Plan::from_json(config.to_string().as_bytes()).unwrap();
    let mut host =
        MemoryHost::request("POST", "/calc").with_header("content-type", "application/json");
    let mut worker = Worker::default();
    let mut exchange = Exchange::default();
    let flow = on_request_headers(&plan, &mut worker, &mut host, &mut exchange, false);
    assert_eq!(flow, Flow::NeedBody);
    let body = br#"{"a": 2, "b": 3, "op": "+"}"#;
    let flow = on_request_body(&plan, &mut worker, &mut host, &mut exchange, body);
    let Flow::Call(call) = flow else { panic!("expected the function's call: {flow:?}") };
    assert_eq!(
        call.header(":path"),
        Some(
            "/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:calc/invocations"
        )
    );
    assert_eq!(call.body(), body);
}

/// `$context.responseOverride`: a response template sets the status and headers, over the
/// integration response's (AWS's "override an API's response status code" example).
#[test]
fn response_templates_override_status_and_headers() {
    let config = json!({
        "api": {"id": "petstore"},
        "methods": [{"resource": "/teapot", "http_method": "GET", "integration": {"type": "MOCK",
            "request_templates": {"application/json": "{\"statusCode\": 200}"},
            "responses": {"default": {"status_code": "200",
                "response_parameters": {"method.response.header.x-kind": "'mapped'"},
                "response_templates": {"application/json": concat!(
                    "#set($context.responseOverride.status = 418)\n",
                    "#set($context.responseOverride.header.x-kind = \"overridden\")\n",
                    "#set($context.responseOverride.header.X-Extra = $context.stage)\n",
                    "{\"short\": \"and stout\"}")}}}}}],
    });
    let plan = Plan::from_json(config.to_string().as_bytes()).unwrap();
    let mut host = MemoryHost::request("GET", "/teapot");
    let flow = on_request_headers(
        &plan,
        &mut Worker::default(),
        &mut host,
        &mut Exchange::default(),
        true,
    );
    assert_eq!(flow, Flow::Replied);
    let reply = host.reply.unwrap();
    assert_eq!(reply.status, 418);
    assert_eq!(reply.header("x-kind"), Some("overridden"));
    assert_eq!(reply.header("x-extra"), Some("prod"));
    assert_eq!(reply.body, br#"{"short": "and stout"}"#);
}

/// `$context.requestOverride`: a request template sets the backend's headers, query and path
/// parameters, over the mappings (AWS's "override an API's request parameters" example).
#[test]
fn request_templates_override_headers_query_and_path() {
    let config = json!({
        "api": {"id": "petstore"},
        "methods": [{"resource": "/pets/{petId}", "http_method": "POST", "integration": {
            "type": "HTTP", "uri": "http://backend/pets/{id}",
            "request_parameters": {"integration.request.path.id": "method.request.path.petId",
                                   "integration.request.header.x-a": "'mapped'"},
            "request_templates": {"application/json": concat!(
                "#set($context.requestOverride.header.x-a = \"overridden\")\n",
                "#set($context.requestOverride.header.x-b = $input.params('petId'))\n",
                "#set($context.requestOverride.querystring.q = \"1\")\n",
                "#set($context.requestOverride.path.id = \"42\")\n",
                "{}")}}}],
    });
    let plan = Plan::from_json(config.to_string().as_bytes()).unwrap();
    let mut host = MemoryHost::request("POST", "/pets/7")
        .with_header("content-type", "application/json")
        .with_header("x-client", "dropped");
    let mut exchange = Exchange::default();
    let mut worker = Worker::default();
    let flow = on_request_headers(&plan, &mut worker, &mut host, &mut exchange, false);
    assert_eq!(flow, Flow::NeedBody);
    let flow = on_request_body(&plan, &mut worker, &mut host, &mut exchange, b"{}");
    assert_eq!(flow, Flow::Continue, "{:?}", host.reply);
    assert_eq!(host.header("x-a"), Some(&b"overridden"[..]));
    assert_eq!(host.header("x-b"), Some(&b"7"[..]));
    assert_eq!(host.header("x-client"), None);
    assert_eq!(host.header(":path"), Some(&b"/pets/42?q=1"[..]));
}
