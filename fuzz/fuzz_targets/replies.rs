//! What comes back from outside: a Lambda proxy function's answer, a Lambda authorizer's
//! answer (and its policy, evaluated), an AWS service's answer through the integration
//! responses, and an HTTP backend's response through the integration responses and the cache.
//! The input is one answer: `STATUS`, header lines, a blank line, the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use tollgate_core::auth::custom::{self, InvokeResponse, MAX_RESULT_BYTES};
use tollgate_core::auth::lambda::{interpret_invoke, InvokeResult};
use tollgate_core::host::memory::MemoryHost;
use tollgate_core::pipeline::{self, CalloutResponse, Exchange, Flow, ResponseFlow, Worker};
use tollgate_core::plan::Plan;
use tollgate_core::transform::lambda_proxy;
use tollgate_fuzz::{Message, NOW};

const ARN: &str = "arn:aws:execute-api:eu-west-1:123456789012:petstore/dev/GET/pets/7";

fn plan() -> Plan {
    let config = json!({
        "api": {"id": "petstore", "region": "eu-west-1", "account_id": "123456789012"},
        "stage": {"name": "dev", "variables": {"tier": "gold"}, "cache": {"enabled": true, "capacity": 4}},
        "methods": [
            {"resource": "/items/{id}", "http_method": "GET",
             "integration": {"type": "AWS", "uri": "arn:aws:apigateway:eu-west-1:dynamodb:action/GetItem", "cluster": "dynamodb",
                "request_templates": {"application/json": "{\"Key\": {\"id\": {\"S\": \"$input.params('id')\"}}}"},
                "responses": {
                    "default": {"status_code": "200",
                        "response_parameters": {"method.response.header.x-type": "integration.response.header.content-type",
                                                "method.response.header.x-name": "integration.response.body.Item.name.S"},
                        "response_templates": {"application/json":
                            "#set($item = $input.path('$.Item'))#if($item == \"\"){\"missing\": true}#else{\"name\": \"$item.name.S\", \"all\": $input.json('$')}#end"}},
                    "4\\d{2}": {"status_code": "400", "response_templates": {"application/json": "{\"message\": \"$input.path('$.message')\"}"}},
                    ".*Throttl.*": {"status_code": "429"}}}},
            {"resource": "/items", "http_method": "POST",
             "integration": {"type": "AWS", "uri": "arn:aws:apigateway:eu-west-1:sqs:path/123456789012/queue", "cluster": "sqs"}},
            {"resource": "/fn", "http_method": "POST",
             "integration": {"type": "AWS_PROXY", "function": {"cluster": "lambda", "authority": "lambda", "name": "fn"}}},
            {"resource": "/pets/{petId}", "http_method": "GET", "cache": {"enabled": true},
             "integration": {"type": "HTTP", "uri": "http://pets/v1/pets/{petId}",
                "request_parameters": {"integration.request.path.petId": "method.request.path.petId"},
                "responses": {
                    "default": {"status_code": "200",
                        "response_parameters": {"method.response.header.x-count": "integration.response.header.x-total",
                                                "method.response.header.x-first": "integration.response.body.items[0]"},
                        "response_templates": {"application/json": "{\"pets\": $input.json('$.items'), \"n\": \"$input.path('$.items').size()\"}"}},
                    "4\\d\\d": {"status_code": "404", "response_templates": {"application/json": "{\"error\": \"$util.escapeJavaScript($input.body)\"}"}},
                    "5\\d\\d": {"status_code": "502"}}}},
        ],
    });
    Plan::from_json(config.to_string().as_bytes()).expect("the replies config")
}

struct Fixture {
    plan: Plan,
    /// (request, the exchange waiting for its answer, the flow it is in).
    waiting: Vec<(MemoryHost, Exchange, Flow)>,
}

fn request(method: &str, path: &str) -> MemoryHost {
    let mut host = MemoryHost::request(method, path)
        .with_header("accept", "application/json")
        .with_header("content-type", "application/json")
        .with_header("x-request-id", "fuzz-1");
    host.now_nanos = NOW as u64 * 1_000_000_000;
    host
}

fn fixture() -> Fixture {
    let plan = plan();
    let mut waiting = Vec::new();
    for (method, path) in
        [("GET", "/items/7"), ("POST", "/items"), ("POST", "/fn"), ("GET", "/pets/7")]
    {
        let mut host = request(method, path);
        let mut exchange = Exchange::default();
        let mut worker = Worker::default();
        let mut flow =
            pipeline::on_request_headers(&plan, &mut worker, &mut host, &mut exchange, false);
        if flow == Flow::NeedBody {
            flow = pipeline::on_request_body(
                &plan,
                &mut worker,
                &mut host,
                &mut exchange,
                b"{\"a\": 1}",
            );
        }
        assert!(matches!(flow, Flow::Call(_) | Flow::Continue), "{method} {path}: {flow:?}");
        waiting.push((host, exchange, flow));
    }
    Fixture { plan, waiting }
}

thread_local! {
    static FIXTURE: Fixture = fixture();
}

fuzz_target!(|data: &[u8]| {
    let msg = Message::parse(data);
    let status = msg.status();
    let invoke = InvokeResponse {
        status,
        function_error: msg.header("x-amz-function-error").map(<[u8]>::to_vec),
        body: msg.body.clone(),
    };
    for binary in [true, false] {
        if let Ok(reply) = lambda_proxy::reply(&invoke, binary) {
            assert!((100..=599).contains(&reply.status), "{}", reply.status);
        }
    }
    if let InvokeResult::Failure(why) =
        interpret_invoke(status, invoke.function_error.as_deref(), &invoke.body, MAX_RESULT_BYTES)
    {
        let _ = why.len();
    }
    let _ = custom::decide(&invoke, ARN, NOW);
    FIXTURE.with(|f| {
        for (sent, exchange, flow) in &f.waiting {
            let mut exchange = exchange.clone();
            let mut host = MemoryHost {
                request_headers: sent.request_headers.clone(),
                now_nanos: sent.now_nanos,
                ..MemoryHost::default()
            };
            match flow {
                Flow::Call(_) => {
                    let response = CalloutResponse {
                        status,
                        headers: msg.headers.clone(),
                        body: msg.body.clone(),
                    };
                    let mut worker = Worker::default();
                    let flow = pipeline::on_callout_response(
                        &f.plan,
                        &mut worker,
                        &mut host,
                        &mut exchange,
                        response,
                    );
                    assert_eq!(flow, Flow::Replied);
                    let reply = host.reply.as_ref().expect("an integration's answer is replied");
                    assert!((100..=599).contains(&reply.status), "{}", reply.status);
                }
                _ => {
                    host.response_headers = msg.headers.clone();
                    host.response_headers.push((":status".into(), msg.first.clone()));
                    let end = msg.body.is_empty();
                    let flow =
                        pipeline::on_response_headers(&f.plan, &mut host, &mut exchange, end);
                    if flow == ResponseFlow::NeedBody {
                        pipeline::on_response_body(&f.plan, &mut host, &mut exchange, &msg.body);
                    }
                }
            }
        }
    });
});
