//! Integrations Tollgate calls itself (a Lambda proxy function, an AWS service action) rather
//! than letting Envoy route the request: the call to make, and the client's answer from what
//! came back.

use crate::auth::custom::InvokeResponse;
use crate::config::IntegrationType;
use crate::gateway_response::{LocalReply, Rejection, ResponseType};
use crate::host::Host;
use crate::plan::Plan;
use crate::routes::MethodId;
use crate::transform::lambda_proxy;

use super::{request_headers, request_id, transform, CalloutResponse, Exchange};

/// After an integration's callout: answers the client from the integration's answer
/// (AWS's 502 / 504 when it is not one). `Err` says what went wrong, for the log.
pub(super) fn on_integration_response<H: Host>(
    plan: &Plan,
    host: &mut H,
    exchange: &mut Exchange,
    method: MethodId,
    response: &CalloutResponse,
) -> Result<(), String> {
    let kind = plan.method(method).and_then(|m| m.integration.as_ref()).map(|i| i.kind);
    // For the access log; a log field is not worth failing the answer for.
    let status = response.status.to_string();
    let _ = host.set_filter_state(super::INTEGRATION_STATUS_STATE, status.as_bytes());
    let answer = match kind {
        Some(IntegrationType::AwsProxy) => {
            let invoke = InvokeResponse {
                status: response.status,
                function_error: response.header("x-amz-function-error").map(<[u8]>::to_vec),
                body: response.body.clone(),
            };
            let accept = host.request_header("accept").ok().flatten();
            let binary = plan.binary_types.accepts(accept.as_deref());
            lambda_proxy::reply(&invoke, binary).map_err(|e| (e.rejection(), format!("{e:?}")))
        }
        Some(IntegrationType::Aws) => service_reply(plan, exchange, response),
        _ => Err((
            Rejection::new(ResponseType::ApiConfigurationError),
            "the method calls no integration".to_string(),
        )),
    };
    // The reply is the client's answer already: the response phase, which this local reply
    // also passes through, must not apply the integration response a second time.
    exchange.response = None;
    let id = host.request_header("x-request-id").ok().flatten();
    let request_id = request_id(host, id.as_deref());
    match answer {
        Ok(reply) => {
            // Nothing better to do if the reply fails: the filter has stopped the request.
            let _ = host.send_reply(&reply.with_request_ids(&request_id));
            Ok(())
        }
        Err((rejection, why)) => {
            let reply = plan.responses.render_for(&rejection, &request_id, &request_headers(host));
            let _ = host.send_reply(&reply);
            Err(why)
        }
    }
}

/// An AWS service's answer through the integration responses (passed through when the
/// integration has none).
fn service_reply(
    plan: &Plan,
    exchange: &Exchange,
    response: &CalloutResponse,
) -> Result<LocalReply, (Rejection, String)> {
    if matches!(response.status, 0 | 504) {
        return Err((
            Rejection::new(ResponseType::IntegrationTimeout),
            "the service did not answer in time".into(),
        ));
    }
    if !(100..=599).contains(&response.status) {
        // Not an HTTP status: passed through, it would be the client's.
        return Err((
            Rejection::new(ResponseType::Default5xx).status(502),
            format!("the service answered status {}", response.status),
        ));
    }
    let Some(state) = exchange.response.as_deref() else {
        return Err((Rejection::new(ResponseType::ApiConfigurationError), "no state".into()));
    };
    transform::service_reply(plan, state, response).map_err(|rejection| {
        (rejection, format!("no integration response for {}", response.status))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::memory::MemoryHost;
    use crate::pipeline::{on_callout_response, on_request_headers, Flow, Worker};
    use crate::test_support::test;

    /// `$context.requestOverride` in an AWS integration's request template: the service request
    /// takes the overridden header, query and path parameter.
    #[test]
    fn request_overrides_reach_the_service() {
        let config = serde_json::json!({"api": {"id": "q"}, "methods": [{
            "resource": "/queues/{name}", "http_method": "POST",
            "integration": {"type": "AWS", "cluster": "sqs",
                "uri": "arn:aws:apigateway:eu-west-1:sqs:path/123456789012/{queue}",
                "request_parameters": {"integration.request.path.queue": "method.request.path.name"},
                "request_templates": {"application/json": concat!(
                    "#set($context.requestOverride.path.queue = \"other\")\n",
                    "#set($context.requestOverride.header.x-custom = \"yes\")\n",
                    "#set($context.requestOverride.querystring.Action = \"SendMessage\")\n",
                    "{}")}}}]});
        let plan = Plan::from_json(config.to_string().as_bytes()).unwrap();
        let mut host = MemoryHost::request("POST", "/queues/mine")
            .with_header("content-type", "application/json");
        let mut exchange = Exchange::default();
        let mut worker = Worker::default();
        let flow = on_request_headers(&plan, &mut worker, &mut host, &mut exchange, false);
        assert_eq!(flow, Flow::NeedBody);
        let flow =
            crate::pipeline::on_request_body(&plan, &mut worker, &mut host, &mut exchange, b"{}");
        let Flow::Call(call) = flow else { panic!("{flow:?}") };
        assert_eq!(call.header(":path"), Some("/123456789012/other?Action=SendMessage"));
        assert_eq!(call.header("x-custom"), Some("yes"));
    }

    /// Found by fuzzing (`fuzz/`, target `replies`): an AWS service integration without
    /// integration responses passed any status through, `1` included.
    #[test]
    fn a_service_status_that_is_no_http_status_is_502() {
        let config = serde_json::json!({"api": {"id": "q"}, "methods": [{
            "resource": "/items", "http_method": "POST",
            "integration": {"type": "AWS", "cluster": "sqs",
                "uri": "arn:aws:apigateway:eu-west-1:sqs:path/123456789012/queue"}}]});
        let plan = Plan::from_json(config.to_string().as_bytes()).unwrap();
        for (status, expected) in [(1, 502), (99, 502), (600, 502), (65535, 502), (202, 202)] {
            let mut host = MemoryHost::request("POST", "/items");
            let mut exchange = Exchange::default();
            let mut worker = Worker::default();
            let flow = on_request_headers(&plan, &mut worker, &mut host, &mut exchange, true);
            assert!(matches!(flow, Flow::Call(_)), "{flow:?}");
            let response = CalloutResponse { status, ..Default::default() };
            let flow = on_callout_response(&plan, &mut worker, &mut host, &mut exchange, response);
            assert_eq!(flow, Flow::Replied);
            // The access log keeps what the service answered, whatever the client got.
            let logged = host.filter_state.get(crate::pipeline::INTEGRATION_STATUS_STATE);
            assert_eq!(logged.map(Vec::as_slice), Some(status.to_string().as_bytes()));
            assert_eq!(host.reply.unwrap().status, expected, "{status}");
        }
    }
}
