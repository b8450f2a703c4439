//! Steps 7 to 9 for an admitted request: request validation, parameter mappings and request
//! templates (or a MOCK's answer), and for HTTP integrations the integration response applied
//! to the backend's answer.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::IntegrationType;
use crate::gateway_response::{
    LocalReply, Rejection, ResponseType, EXTENDED_ID_HEADER, REQUEST_ID_HEADER,
};
use crate::host::{Host, HostError};
use crate::plan::{MethodPlan, Plan};
use crate::routes::MethodId;
use crate::transform::aws_service::AwsTarget;
use crate::transform::binary::{convert, BinaryTypes};
use crate::transform::integration::{
    IntegrationPlan, RequestBody, ResponsePlan, UriPart, CLUSTER_HEADER,
};
use crate::transform::lambda_proxy::{self, ProxyRequest};
use crate::transform::mapping::{self, Target};
use crate::validate::{BodyError, ModelId};
use crate::vtl::{Input, JsonBody, Overrides, RenderError};

use super::context::{request_context, Caller, Described};
use super::{Callout, Exchange, Headers};

/// What the request phase keeps for an HTTP integration's response phase.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseState {
    method: MethodId,
    params: Params,
    context: Value,
    accept: Option<Vec<u8>>,
    /// The integration response chosen from the backend's status (index in the plan).
    selected: Option<usize>,
    /// The backend's headers, as its integration response reads them (an HTTP integration's
    /// own headers do not reach the client).
    backend_headers: Vec<(String, String)>,
}

impl ResponseState {
    fn new(method: MethodId, params: Params, context: Value, accept: Option<Vec<u8>>) -> Self {
        ResponseState {
            method,
            params,
            context,
            accept,
            selected: None,
            backend_headers: Vec::new(),
        }
    }
}

/// What of an HTTP (non-proxy) integration's own response headers reaches the client besides
/// the mapped method response headers: what frames the body, and the request ids.
const KEPT_BACKEND_HEADERS: [&str; 7] = [
    "content-type",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "date",
    crate::gateway_response::REQUEST_ID_HEADER,
    crate::gateway_response::EXTENDED_ID_HEADER,
];

/// The method request's parameters as templates and mappings see them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    path: Vec<(String, String)>,
    query: Vec<(String, String)>,
    header: Vec<(String, String)>,
}

impl Params {
    fn input<'a>(
        &'a self,
        (body, json): (&'a [u8], Option<&'a JsonBody>),
        context: &'a Value,
        vars: &'a BTreeMap<String, String>,
    ) -> Input<'a> {
        Input {
            body,
            path: &self.path,
            querystring: &self.query,
            header: &self.header,
            context,
            stage_variables: vars,
            json,
        }
    }
}

pub(super) enum Outcome {
    Continue,
    /// Call the method's integration.
    Call(Callout),
    Reject(Rejection),
    Respond(LocalReply),
}

/// Runs validation and the request transform for an admitted request.
#[allow(clippy::too_many_arguments)]
pub(super) fn request<H: Host>(
    plan: &Plan,
    method_id: MethodId,
    method: &MethodPlan,
    host: &mut H,
    exchange: &mut Exchange,
    headers: &Headers,
    (verb, path, query): (&[u8], &[u8], &[u8]),
    body: &[u8],
    caller: &Caller<'_>,
    now_nanos: u64,
) -> Result<Outcome, HostError> {
    if method.validation.is_none() && method.integration.is_none() && method.cache.is_none() {
        return Ok(Outcome::Continue);
    }
    let path_text = String::from_utf8_lossy(path);
    let params = Params {
        path: plan.router.params(method_id, path),
        query: crate::auth::lambda::query_parameters(query),
        header: headers
            .list
            .iter()
            .filter(|(n, _)| !n.starts_with(':'))
            .map(|(n, v)| (n.to_owned(), String::from_utf8_lossy(v).into_owned()))
            .collect(),
    };
    let content_type = headers.get("content-type");
    // A body checked against a model is read as JSON once, for the model and the templates.
    let mut json = None;
    if let Some(validation) = &method.validation {
        let request = crate::validate::Request {
            path: &params.path,
            query: &params.query,
            headers: headers.pairs(),
            content_type,
            body,
        };
        if let Err(rejection) = validation.check_params(&request) {
            return Ok(Outcome::Reject(rejection));
        }
        if let Some(model) = validation.body_model(content_type) {
            match validated_body(plan, model, body) {
                Ok(parsed) => json = Some(parsed),
                Err(error) => return Ok(Outcome::Reject(crate::validate::body_rejection(error))),
            }
        }
    }
    if let Some(cache) = &method.cache {
        let verb_text = String::from_utf8_lossy(verb);
        let key =
            cache.key(&verb_text, &method.resource, (&params.path, &params.query, &params.header));
        match cached(cache, &key, host, exchange, headers, caller.may_invalidate_cache, now_nanos)?
        {
            Ok(Some(reply)) => return Ok(Outcome::Respond(reply)),
            Ok(None) => {}
            Err(rejection) => return Ok(Outcome::Reject(rejection)),
        }
    }
    let Some(integration) = &method.integration else { return Ok(Outcome::Continue) };
    let context = if integration.reads_context() {
        let source = host.property(&["source", "address"])?;
        let source_ip = source
            .as_deref()
            .and_then(crate::auth::caller::parse_source_ip)
            .map(|ip| ip.to_string());
        let described = Described {
            headers,
            verb,
            path: &path_text,
            resource: &method.resource,
            now_nanos,
            source_ip: source_ip.as_deref(),
        };
        let context = request_context(host, plan, &described, caller)?;
        if integration.kind == IntegrationType::AwsProxy {
            context
        } else {
            with_override_objects(context)
        }
    } else {
        Value::Null
    };
    let vars = &plan.stage_variables;
    let binary = plan.binary_types.matches(content_type);
    // `contentHandling`: the payload templates read and the integration gets.
    let proxies =
        matches!(integration.kind, IntegrationType::AwsProxy | IntegrationType::HttpProxy);
    let handling = integration.content_handling.filter(|_| !proxies);
    let converted = match convert(body, handling, binary) {
        Ok(converted) => converted,
        Err(_) => {
            let rejection =
                Rejection::new(ResponseType::ApiConfigurationError).because("not_base64");
            return Ok(Outcome::Reject(rejection));
        }
    };
    let body = converted.as_deref().unwrap_or(body);
    match integration.kind {
        IntegrationType::AwsProxy => {
            let request = ProxyRequest {
                resource: &method.resource,
                path: &path_text,
                http_method: &String::from_utf8_lossy(verb),
                headers: headers.pairs(),
                query: &params.query,
                path_parameters: &params.path,
                stage_variables: vars,
                context: &context,
                spellings: &plan.header_spellings,
                binary,
                body: Some(body),
            };
            let Some(target) = &integration.lambda else {
                return Ok(Outcome::Reject(Rejection::new(ResponseType::ApiConfigurationError)));
            };
            Ok(Outcome::Call(Callout::lambda_invoke(
                &target.cluster,
                (&target.authority, &target.path),
                lambda_proxy::event(&request),
                target.timeout_ms,
            )))
        }
        IntegrationType::Aws => {
            let Some(target) = &integration.aws else {
                return Ok(Outcome::Reject(Rejection::new(ResponseType::ApiConfigurationError)));
            };
            let input = params.input((body, json.as_ref()), &context, vars);
            let (service_body, overrides) = match templated_body(integration, content_type, &input)
            {
                Ok((rendered, overrides)) => {
                    (rendered.map_or_else(|| body.to_vec(), String::into_bytes), overrides)
                }
                Err(rejection) => return Ok(Outcome::Reject(rejection)),
            };
            let call = match service_call(integration, target, &input, (service_body, &overrides)) {
                Ok(call) => call,
                Err(rejection) => return Ok(Outcome::Reject(rejection)),
            };
            let accept = headers.get("accept").map(<[u8]>::to_vec);
            exchange.response =
                Some(Box::new(ResponseState::new(method_id, params, context, accept)));
            Ok(Outcome::Call(call))
        }
        IntegrationType::Mock => {
            let input = params.input((body, json.as_ref()), &context, vars);
            Ok(match mock(integration, &input, content_type, headers.get("accept")) {
                Ok(reply) => Outcome::Respond(with_request_id(reply, &context)),
                Err(rejection) => Outcome::Reject(rejection),
            })
        }
        IntegrationType::Http | IntegrationType::HttpProxy => {
            let proxy = integration.kind == IntegrationType::HttpProxy;
            let input = params.input((body, json.as_ref()), &context, vars);
            let rendered = if proxy {
                Ok((None, Overrides::default()))
            } else {
                templated_body(integration, content_type, &input)
            };
            let (new_body, overrides) = match rendered {
                Ok((Some(text), overrides)) => (Some(text.into_bytes()), overrides),
                // A body converted and not templated goes on converted.
                Ok((None, overrides)) => (converted.clone().filter(|_| !proxy), overrides),
                Err(rejection) => return Ok(Outcome::Reject(rejection)),
            };
            let request = MappedRequest { headers, query, path, overrides: &overrides };
            if let Err(rejection) = apply_mappings(integration, host, &input, &request, proxy)? {
                return Ok(Outcome::Reject(rejection));
            }
            if let Some(new_body) = new_body {
                // A request without a body cannot be given one by a proxy-wasm filter.
                if !exchange.end_of_stream {
                    host.set_request_body(&new_body)?;
                    host.set_request_header("transfer-encoding", None)?;
                    host.set_request_header(
                        "content-length",
                        Some(new_body.len().to_string().as_bytes()),
                    )?;
                }
            }
            if integration.maps_responses() {
                let accept = headers.get("accept").map(<[u8]>::to_vec);
                exchange.response =
                    Some(Box::new(ResponseState::new(method_id, params, context, accept)));
            }
            Ok(Outcome::Continue)
        }
    }
}

/// The cached answer for a request, or `None` after arranging for the response to be stored
/// (a miss, or a refresh the caller may ask for). A `Cache-Control: max-age=0` the caller may
/// not send is refused or ignored, as the stage's strategy says.
fn cached<H: Host>(
    cache: &crate::cache::CachePlan,
    key: &crate::cache::EntryKey,
    host: &mut H,
    exchange: &mut Exchange,
    headers: &Headers,
    may_invalidate: bool,
    now_nanos: u64,
) -> Result<Result<Option<LocalReply>, Rejection>, HostError> {
    use crate::config::UnauthorizedStrategy;
    let refresh = crate::cache::wants_refresh(headers.get("cache-control"));
    let allowed = !cache.require_authorization || may_invalidate;
    let mut warn = false;
    if refresh && !allowed {
        match cache.unauthorized {
            UnauthorizedStrategy::FailWith403 => {
                return Ok(Err(Rejection::new(ResponseType::AccessDenied)));
            }
            UnauthorizedStrategy::SucceedWithResponseHeader => warn = true,
            UnauthorizedStrategy::SucceedWithoutResponseHeader => {}
        }
    }
    let warning = "199 tollgate \"Cache-Control max-age=0 ignored: not authorized\"";
    let now_ms = now_nanos / 1_000_000;
    if !(refresh && allowed) {
        if let Some(entry) = crate::cache::lookup(host, key, now_ms)? {
            host.count(crate::host::Outcome::CacheHit);
            let mut reply_headers = entry.headers;
            reply_headers.push(("x-tollgate-cache".into(), "hit".into()));
            if warn {
                reply_headers.push(("warning".into(), warning.into()));
            }
            if let Some(id) = headers.get("x-request-id") {
                reply_headers
                    .push(("x-amzn-requestid".into(), String::from_utf8_lossy(id).into_owned()));
            }
            return Ok(Ok(Some(LocalReply {
                status: entry.status,
                headers: reply_headers,
                body: entry.body,
            })));
        }
    }
    host.count(crate::host::Outcome::CacheMiss);
    exchange.response_headers.push(("x-tollgate-cache", "miss".into()));
    if warn {
        exchange.response_headers.push(("warning", warning.into()));
    }
    exchange.cache = Some(PendingEntry {
        key: key.clone(),
        ttl_seconds: cache.ttl_seconds,
        max_bytes: cache.max_entry_bytes,
    });
    Ok(Ok(None))
}

/// A response to store once it is known (a cache miss).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEntry {
    key: crate::cache::EntryKey,
    ttl_seconds: u32,
    max_bytes: u32,
}

/// Stores the client's response (status 200 only) under the pending entry's key.
pub(super) fn store_response<H: Host>(host: &mut H, pending: &PendingEntry, body: &[u8]) {
    let Ok(headers) = host.response_headers() else { return };
    let status = headers
        .iter()
        .find(|(n, _)| n == ":status")
        .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse::<u16>().ok());
    if status != Some(200) {
        return;
    }
    let entry = crate::cache::Entry {
        status: 200,
        headers: headers
            .into_iter()
            // Each answer names its own request.
            .filter(|(n, _)| n != REQUEST_ID_HEADER && n != EXTENDED_ID_HEADER)
            .map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned()))
            .collect(),
        body: body.to_vec(),
    };
    let now_ms = host.now_nanos() / 1_000_000;
    // A response that cannot be stored is still served.
    let _ = crate::cache::store(
        host,
        &pending.key,
        &entry,
        pending.ttl_seconds,
        pending.max_bytes,
        now_ms,
    );
}

/// The request template's output for this Content-Type (`None`: pass the body through), or
/// 415 when the passthrough behaviour refuses; see [`request_template_error`] for a template
/// that cannot render.
fn templated_body(
    integration: &IntegrationPlan,
    content_type: Option<&[u8]>,
    input: &Input<'_>,
) -> Result<(Option<String>, Overrides), Rejection> {
    match integration.request_body(content_type) {
        RequestBody::Passthrough => Ok((None, Overrides::default())),
        RequestBody::Unsupported => Err(Rejection::new(ResponseType::UnsupportedMediaType)),
        RequestBody::Template(t) => t
            .render_overrides(input)
            .map(|(out, overrides)| (Some(out), overrides))
            .map_err(request_template_error),
    }
}

/// The method request as the integration request's mappings read it, and what the request
/// template overrode (`$context.requestOverride`), which wins over the mappings.
struct MappedRequest<'a> {
    headers: &'a Headers,
    query: &'a [u8],
    path: &'a [u8],
    overrides: &'a Overrides,
}

/// A request template that cannot render: the client's 400 when its body is not the JSON the
/// template reads (`Could not parse request body into json: ...`, as API Gateway answers), else
/// a 500 (a limit of the template's).
fn request_template_error(error: RenderError) -> Rejection {
    match error {
        RenderError::InvalidJsonBody(_) => {
            Rejection::with_message(ResponseType::Default4xx, error.to_string())
                .status(400)
                .because("request_body_not_json")
        }
        _ => Rejection::new(ResponseType::ApiConfigurationError),
    }
}

/// Writes the `integration.request.*` mappings: headers, the query string and the URI path. An
/// HTTP (non-proxy) integration sends the backend only what is mapped, as on AWS. A path that
/// the mapped values would give a dot segment is refused.
fn apply_mappings<H: Host>(
    integration: &IntegrationPlan,
    host: &mut H,
    input: &Input<'_>,
    request: &MappedRequest<'_>,
    proxy: bool,
) -> Result<Result<(), Rejection>, HostError> {
    let MappedRequest { headers, query, path, overrides } = *request;
    if integration.request_mappings.is_empty() && integration.uri_path.is_none() && proxy {
        return Ok(Ok(()));
    }
    let parsed = body_json(integration.request_mappings.iter().map(|m| &m.source), input.body);
    let mut mapped_query: Vec<(String, String)> = Vec::new();
    let mut path_values: Vec<(&str, String)> = Vec::new();
    let mut mapped_headers: Vec<&str> = Vec::new();
    let mut overridden: Vec<String> = Vec::new();
    for m in &integration.request_mappings {
        let values = mapping::evaluate(&m.source, input, parsed.as_ref());
        match &m.target {
            Target::Header(name) => {
                mapped_headers.push(name);
                if !values.is_empty() {
                    host.set_request_header(name, Some(values.join(",").as_bytes()))?;
                }
            }
            Target::Query(name) => {
                mapped_query.retain(|(n, _)| n != name);
                mapped_query.extend(values.into_iter().map(|v| (name.clone(), v)));
            }
            Target::Path(name) => {
                if let Some(v) = values.into_iter().next() {
                    path_values.push((name, v));
                }
            }
        }
    }
    for (name, value) in override_request(overrides, &mut mapped_query, &mut path_values) {
        host.set_request_header(&name, Some(value.as_bytes()))?;
        overridden.push(name);
    }
    if !proxy {
        for name in headers.names() {
            let kept = mapped_headers.contains(&name) || overridden.iter().any(|o| o == name);
            if !kept && !kept_for_backend(name) {
                host.set_request_header(name, None)?;
            }
        }
    }
    let mut target = match &integration.uri_path {
        Some(parts) => match fill_path(parts, &path_values) {
            Some(filled) => filled,
            None => return Ok(Err(invalid_path())),
        },
        None => String::from_utf8_lossy(path).into_owned(),
    };
    if let Some(authority) = &integration.uri_authority {
        // The URI's host names the Envoy cluster (routes with `cluster_header`), as API Gateway
        // sends an integration request to the URI's host.
        let host_only = authority.rsplit_once(':').map_or(authority.as_str(), |(h, _)| h);
        host.set_request_header(CLUSTER_HEADER, Some(host_only.as_bytes()))?;
        host.set_request_header(":authority", Some(authority.as_bytes()))?;
    }
    let mut pairs: Vec<String> = integration.uri_query.iter().cloned().collect();
    if proxy {
        for (name, value) in crate::auth::sigv4::parse::query_pairs(query) {
            let decoded =
                String::from_utf8_lossy(&crate::text::percent::percent_decode(name)).into_owned();
            if !name.is_empty() && !mapped_query.iter().any(|(n, _)| *n == decoded) {
                let mut pair = String::from_utf8_lossy(name).into_owned();
                pair.push('=');
                pair.push_str(&String::from_utf8_lossy(value));
                pairs.push(pair);
            }
        }
    }
    pairs.extend(crate::text::percent::encode_pairs(&mapped_query));
    append_query(&mut target, &pairs);
    host.set_request_header(":path", Some(target.as_bytes()))?;
    Ok(Ok(()))
}

/// A mapped path parameter that would send the backend somewhere else (`..`).
fn invalid_path() -> Rejection {
    Rejection::with_message(ResponseType::BadRequestParameters, "Invalid request parameters")
}

/// A path template with its `{name}` parameters filled (percent-encoded; `/` kept); `None` when
/// the values give it a `.` or `..` segment (as sent or percent-encoded), which a backend that
/// normalises paths would resolve to another resource than the integration's.
fn fill_path(parts: &[UriPart], values: &[(&str, String)]) -> Option<String> {
    let mut out = String::new();
    for part in parts {
        match part {
            UriPart::Text(t) => out.push_str(t),
            UriPart::Param(name) => {
                let value = values.iter().find(|(n, _)| n == name).map(|(_, v)| v);
                crate::text::percent::uri_encode_into(
                    &mut out,
                    value.map(String::as_bytes).unwrap_or_default(),
                    true,
                );
            }
        }
    }
    (!crate::routes::has_dot_segment(out.as_bytes())).then_some(out)
}

/// Adds `a=1&b=2` to a path that may have a query already.
fn append_query(target: &mut String, pairs: &[String]) {
    if !pairs.is_empty() {
        target.push(if target.contains('?') { '&' } else { '?' });
        target.push_str(&pairs.join("&"));
    }
}

/// The service request of an AWS integration: the action's path and headers, the mapped
/// headers, query parameters and path parameters, and the body.
fn service_call(
    integration: &IntegrationPlan,
    target: &AwsTarget,
    input: &Input<'_>,
    (body, overrides): (Vec<u8>, &Overrides),
) -> Result<Callout, Rejection> {
    let parsed = body_json(integration.request_mappings.iter().map(|m| &m.source), input.body);
    let mut headers: Vec<(String, String)> = target.headers.clone();
    let mut query = Vec::new();
    let mut path_values: Vec<(&str, String)> = Vec::new();
    for m in &integration.request_mappings {
        let values = mapping::evaluate(&m.source, input, parsed.as_ref());
        match &m.target {
            Target::Header(name) if !values.is_empty() => {
                headers.retain(|(n, _)| n != name);
                headers.push((name.clone(), values.join(",")));
            }
            Target::Query(name) => query.extend(values.into_iter().map(|v| (name.clone(), v))),
            Target::Path(name) => {
                if let Some(v) = values.into_iter().next() {
                    path_values.push((name, v));
                }
            }
            Target::Header(_) => {}
        }
    }
    for (name, value) in override_request(overrides, &mut query, &mut path_values) {
        headers.retain(|(n, _)| *n != name);
        headers.push((name, value));
    }
    let mut path = fill_path(&target.path, &path_values).ok_or_else(invalid_path)?;
    append_query(&mut path, &crate::text::percent::encode_pairs(&query));
    let mut all = vec![
        (":method".to_string(), target.method.clone()),
        (":path".to_string(), path),
        (":authority".to_string(), target.authority.clone()),
    ];
    all.extend(headers);
    Ok(Callout::http(&target.cluster, all, body, target.timeout_ms))
}

/// `$context.requestOverride` over what the mappings gave: its query and path parameters
/// replace theirs; gives back its headers (lower-case names) to set over theirs.
fn override_request<'o>(
    overrides: &'o Overrides,
    query: &mut Vec<(String, String)>,
    path_values: &mut Vec<(&'o str, String)>,
) -> Vec<(String, String)> {
    for (name, value) in &overrides.request_query {
        query.retain(|(n, _)| n != name);
        query.push((name.clone(), value.clone()));
    }
    for (name, value) in &overrides.request_path {
        path_values.retain(|(n, _)| n != name);
        path_values.push((name, value.clone()));
    }
    overrides
        .request_headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
        .filter(|(name, _)| crate::text::is_token(name))
        .collect()
}

/// Headers an HTTP (non-proxy) integration keeps although nothing maps them: the body's framing
/// and type, Envoy's and Tollgate's own.
fn kept_for_backend(name: &str) -> bool {
    name.starts_with(':')
        || name.starts_with("x-envoy-")
        || name.starts_with("x-forwarded-")
        || name.starts_with("x-tollgate-")
        || matches!(
            name,
            "content-type" | "content-length" | "transfer-encoding" | "x-request-id" | "host"
        )
}

/// The body parsed as JSON when a mapping reads into it.
fn body_json<'a>(
    mut sources: impl Iterator<Item = &'a mapping::Source>,
    body: &[u8],
) -> Option<Value> {
    sources
        .any(|s| matches!(s, mapping::Source::Body(Some(_))))
        .then(|| serde_json::from_slice(body).ok())
        .flatten()
}

/// A MOCK integration's answer: the request template's `statusCode` selects the integration
/// response, whose template and header mappings make the reply.
fn mock(
    integration: &IntegrationPlan,
    input: &Input<'_>,
    content_type: Option<&[u8]>,
    accept: Option<&[u8]>,
) -> Result<LocalReply, Rejection> {
    let config_error = || Rejection::new(ResponseType::ApiConfigurationError);
    let selector = match integration.request_body(content_type) {
        RequestBody::Unsupported => return Err(Rejection::new(ResponseType::UnsupportedMediaType)),
        RequestBody::Passthrough => "200".to_string(),
        RequestBody::Template(t) => {
            let out = t.render(input).map_err(request_template_error)?;
            match serde_json::from_str::<Value>(&out)
                .ok()
                .and_then(|v| v.get("statusCode").cloned())
            {
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::String(s)) => s,
                _ => return Err(config_error()),
            }
        }
    };
    let response = integration.select_response(&selector).ok_or_else(config_error)?;
    let status = response.status.or_else(|| selector.parse().ok()).unwrap_or(200);
    let empty = Input { body: b"", ..*input };
    let rendered = render_response(response, &empty, input, (accept, &BinaryTypes::default()))?;
    let status = rendered.status.unwrap_or(status);
    Ok(LocalReply { status, headers: rendered.headers, body: rendered.body })
}

/// An integration response's headers and body, and the status its template set
/// (`$context.responseOverride.status`).
struct Rendered {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    status: Option<u16>,
}

/// The header mappings (over `backend`) and the template (over `method`, with the backend's
/// body) of an integration response.
fn render_response(
    response: &ResponsePlan,
    backend: &Input<'_>,
    method: &Input<'_>,
    (accept, binary_types): (Option<&[u8]>, &BinaryTypes),
) -> Result<Rendered, Rejection> {
    // `contentHandling` first: mappings and templates read the converted payload.
    let content_type = backend.header.iter().find(|(n, _)| n == "content-type");
    let binary = binary_types.matches(content_type.map(|(_, v)| v.as_bytes()));
    let converted = convert(backend.body, response.content_handling, binary)
        .map_err(|_| Rejection::new(ResponseType::ApiConfigurationError).because("not_base64"))?;
    let converted_input;
    let backend = match &converted {
        Some(body) => {
            converted_input = Input { body, ..*backend };
            &converted_input
        }
        None => backend,
    };
    let parsed = body_json(response.mappings.iter().map(|m| &m.source), backend.body);
    let mut headers = Vec::new();
    for m in &response.mappings {
        let values = mapping::evaluate(&m.source, backend, parsed.as_ref());
        if !values.is_empty() {
            // One header per name: two mappings of one name in different cases
            // (`Content-Type`, `content-type`) set it once, the last one winning.
            headers.retain(|(n, _): &(String, String)| !n.eq_ignore_ascii_case(&m.target));
            headers.push((m.target.clone(), values.join(",")));
        }
    }
    let mut status = None;
    let body = match response.template(accept) {
        Some((media, template)) => {
            let input = Input { body: backend.body, ..*method };
            let (out, overrides) = template
                .render_overrides(&input)
                .map_err(|_| Rejection::new(ResponseType::ApiConfigurationError))?;
            headers.retain(|(n, _)| n != "content-type");
            headers.push(("content-type".to_string(), media.clone()));
            // Overrides are final: over the mappings and the template's type.
            for (name, value) in overrides.response_headers {
                if crate::text::is_token(&name) {
                    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
                    headers.push((name.to_ascii_lowercase(), value));
                }
            }
            status = overrides
                .response_status
                .and_then(|s| s.trim().parse::<u16>().ok())
                .filter(|s| (100..=599).contains(s));
            out.into_bytes()
        }
        None => backend.body.to_vec(),
    };
    Ok(Rendered { headers, body, status })
}

/// `$context.requestOverride` and `$context.responseOverride`, empty, for a template to set.
fn with_override_objects(mut context: Value) -> Value {
    if let Value::Object(map) = &mut context {
        map.insert(
            "requestOverride".into(),
            serde_json::json!({"header": {}, "querystring": {}, "path": {}}),
        );
        map.insert("responseOverride".into(), serde_json::json!({"header": {}}));
    }
    context
}

fn with_request_id(mut reply: LocalReply, context: &Value) -> LocalReply {
    if let Some(id) = context.get("requestId").and_then(Value::as_str) {
        reply = reply.with_request_ids(id);
    }
    if !reply.headers.iter().any(|(n, _)| n == "content-type") {
        reply.headers.push(("content-type".to_string(), "application/json".to_string()));
    }
    reply
}

/// What the response phase needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFlow {
    /// Send the response on.
    Continue,
    /// Hold the headers, buffer the body and call [`super::on_response_body`] with it.
    NeedBody,
}

/// The integration response for an AWS service's answer: by its status code; for a Lambda
/// custom integration, by the function's `errorMessage` when the function failed (the whole
/// error payload when it has none) and the default response when it did not, as API Gateway
/// selects them.
fn select_service_response<'p>(
    integration: &'p IntegrationPlan,
    response: &super::CalloutResponse,
) -> Option<&'p ResponsePlan> {
    if integration.invokes_lambda() && response.status == 200 {
        if response.header("x-amz-function-error").is_none() {
            return integration.default_response();
        }
        let message = serde_json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|v| v.get("errorMessage").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&response.body).into_owned());
        return integration.select_response(&message);
    }
    integration.select_response(&response.status.to_string())
}

/// Response headers of an HTTP integration: selects the integration response by the backend's
/// status; what needs the body waits for it.
pub(super) fn response_headers<H: Host>(
    plan: &Plan,
    host: &mut H,
    exchange: &mut Exchange,
    end_of_stream: bool,
) -> ResponseFlow {
    let Some(state) = exchange.response.as_deref_mut() else { return ResponseFlow::Continue };
    let Some(integration) = plan.method(state.method).and_then(|m| m.integration.as_ref()) else {
        return ResponseFlow::Continue;
    };
    let backend = host.response_headers().unwrap_or_default();
    let status = backend
        .iter()
        .find(|(n, _)| n == ":status")
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default();
    // The integration response may change the status: the log keeps the backend's.
    let _ = host.set_filter_state(super::INTEGRATION_STATUS_STATE, status.as_bytes());
    state.backend_headers = backend
        .into_iter()
        .filter(|(n, _)| !n.starts_with(':'))
        .map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned()))
        .collect();
    // The client gets the method response's headers, not the backend's (as on AWS).
    let mut removed: Vec<&str> = Vec::new();
    for (name, _) in &state.backend_headers {
        if !KEPT_BACKEND_HEADERS.contains(&name.as_str()) && !removed.contains(&name.as_str()) {
            let _ = host.set_response_header(name, None);
            removed.push(name);
        }
    }
    state.selected = integration.responses.iter().position(|r| match &r.pattern {
        Some(re) => re.is_match(&status),
        None => true,
    });
    if end_of_stream {
        // Nothing to reshape: the status and header mappings apply without a body.
        let _ = apply_response(plan, host, state, b"", false);
        return ResponseFlow::Continue;
    }
    ResponseFlow::NeedBody
}

/// The backend's whole body: applies the selected integration response (or, when none
/// matches, answers 500 as AWS does).
pub(super) fn response_body<H: Host>(
    plan: &Plan,
    host: &mut H,
    exchange: &mut Exchange,
    body: &[u8],
) -> Option<Vec<u8>> {
    let state = exchange.response.as_deref()?;
    apply_response(plan, host, state, body, true)
}

fn apply_response<H: Host>(
    plan: &Plan,
    host: &mut H,
    state: &ResponseState,
    body: &[u8],
    has_body: bool,
) -> Option<Vec<u8>> {
    let response = plan
        .method(state.method)
        .and_then(|m| m.integration.as_ref())
        .and_then(|i| state.selected.and_then(|s| i.responses.get(s)));
    let vars = &plan.stage_variables;
    let method_input = state.params.input((body, None), &state.context, vars);
    let backend =
        Input { header: &state.backend_headers, path: &[], querystring: &[], ..method_input };
    let rendered =
        response.ok_or_else(|| Rejection::new(ResponseType::ApiConfigurationError)).and_then(|r| {
            let accept = (state.accept.as_deref(), &plan.binary_types);
            render_response(r, &backend, &method_input, accept).map(|out| (r, out))
        });
    let (status, headers, new_body) = match rendered {
        Ok((r, out)) => (out.status.or(r.status), out.headers, out.body),
        Err(rejection) => {
            let request_id =
                state.context.get("requestId").and_then(Value::as_str).unwrap_or_default();
            let header = |name: &str| {
                let mut found = state.params.header.iter().rev().filter(|(n, _)| n == name);
                found.next().map(|(_, v)| v.clone())
            };
            let reply = plan.responses.render_for(&rejection, request_id, &header);
            (Some(reply.status), reply.headers, reply.body)
        }
    };
    // A failing header write must not fail the response.
    if let Some(status) = status {
        let _ = host.set_response_header(":status", Some(status.to_string().as_bytes()));
    }
    for (name, value) in &headers {
        let _ = host.set_response_header(name, Some(value.as_bytes()));
    }
    if has_body && new_body != body {
        let _ = host.set_response_body(&new_body);
        let _ = host.set_response_header("transfer-encoding", None);
        let _ =
            host.set_response_header("content-length", Some(new_body.len().to_string().as_bytes()));
        return Some(new_body);
    }
    None
}

/// An AWS service's answer through the selected integration response: its status, header
/// mappings and template (passed through, with its content type, when the integration has no
/// responses; AWS's 500 when none matches).
pub(super) fn service_reply(
    plan: &Plan,
    state: &ResponseState,
    response: &super::CalloutResponse,
) -> Result<LocalReply, Rejection> {
    let config_error = || Rejection::new(ResponseType::ApiConfigurationError);
    let integration =
        plan.method(state.method).and_then(|m| m.integration.as_ref()).ok_or_else(config_error)?;
    let backend_headers: Vec<(String, String)> = response
        .headers
        .iter()
        .filter(|(n, _)| !n.starts_with(':'))
        .map(|(n, v)| (n.to_ascii_lowercase(), String::from_utf8_lossy(v).into_owned()))
        .collect();
    let content_type = backend_headers.iter().find(|(n, _)| n == "content-type").cloned();
    let (status, mut headers, body) = if integration.responses.is_empty() {
        (response.status, Vec::new(), response.body.clone())
    } else {
        let selected = select_service_response(integration, response).ok_or_else(config_error)?;
        let vars = &plan.stage_variables;
        let method_input = state.params.input((&response.body, None), &state.context, vars);
        let backend =
            Input { header: &backend_headers, path: &[], querystring: &[], ..method_input };
        let accept = (state.accept.as_deref(), &plan.binary_types);
        let out = render_response(selected, &backend, &method_input, accept)?;
        (out.status.or(selected.status).unwrap_or(response.status), out.headers, out.body)
    };
    // Without integration responses the service's answer passes through, its type with it;
    // with them, the client's type is what the responses map, else AWS's `application/json`
    // (`with_request_id`), whatever type the service answered with.
    if integration.responses.is_empty() && !headers.iter().any(|(n, _)| n == "content-type") {
        headers.extend(content_type);
    }
    Ok(with_request_id(LocalReply { status, headers, body }, &state.context))
}

/// The body read as JSON and checked against `model`.
fn validated_body(plan: &Plan, model: ModelId, body: &[u8]) -> Result<JsonBody, BodyError> {
    if let Some(error) = BodyError::too_deep(body) {
        return Err(error);
    }
    let json = JsonBody::parse(body).map_err(|why| BodyError::not_json(&why))?;
    plan.models.validate_instance(model, json.value())?;
    Ok(json)
}
