//! The HTTP context: one request's callbacks, each translated into a `tollgate-core` pipeline
//! call and its answer applied.

use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, MapType};
use tollgate_core::admin;
use tollgate_core::deployment::{Request as StageRequest, Selected};
use tollgate_core::gateway_response::{Rejection, ResponseType};
use tollgate_core::host::Host;
use tollgate_core::pipeline::{self, Exchange, Flow, ResponseFlow, Worker};
use tollgate_core::plan::Plan;
use tollgate_core::routes::MethodId;

use crate::host::WasmHost;
use crate::{integration, jwks, lambda, ratelimit, Shared};

/// Filter state key with the stage serving the request (when the config has several).
const STAGE_STATE: &str = "tollgate.stage";

/// A callout a request waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Callout {
    /// A JWKS fetch for this token authorizer.
    Jwks(usize),
    /// A call to this Lambda authorizer.
    Authorizer(usize),
    /// A call to this method's AWS_PROXY function.
    Integration(MethodId),
    /// A call to the rate-limit service (a global usage plan).
    RateLimit,
}

pub struct Request {
    shared: Option<Rc<Shared>>,
    exchange: Exchange,
    /// The pipeline asked for the whole body (a signature, a model or a template covers it).
    awaiting_body: bool,
    /// Size of the buffered request body being decided on, which a template may replace.
    body_size: usize,
    /// The response phase asked for the backend's whole body (a response template).
    awaiting_response_body: bool,
    /// The callout this request waits for, by token.
    waiting: Option<(u32, Callout)>,
    /// The stage (and side) serving this request, chosen with its headers.
    selected: Option<Selected>,
    /// A GetUsage of a global plan waiting for the rate-limit service, by token.
    usage_call: Option<(u32, admin::UsageCall)>,
    /// Bytes of a request body streamed upstream unbuffered, held to the payload limit.
    streamed: usize,
}

impl Request {
    pub fn new(shared: Option<Rc<Shared>>) -> Self {
        Request {
            shared,
            exchange: Exchange::default(),
            awaiting_body: false,
            body_size: 0,
            awaiting_response_body: false,
            waiting: None,
            selected: None,
            usage_call: None,
            streamed: 0,
        }
    }

    /// The plan of this request's stage (the first stage's before one is chosen).
    fn plan<'a>(&self, shared: &'a Shared) -> Option<&'a Plan> {
        match &self.selected {
            Some(selected) => shared.deployment.plan(selected),
            None => shared.primary(),
        }
    }

    /// Chooses the stage from the route name, the path or the selection header, and the canary
    /// side at random. `Err`: no stage, answered `Missing Authentication Token`.
    fn select_stage(&mut self) -> Result<(), Action> {
        let Some(shared) = self.shared.clone() else { return Ok(()) };
        let deployment = &shared.deployment;
        if deployment.single() {
            // No host call: the request costs what it did before stages existed.
            self.selected = Some(Selected { stage: 0, canary: false, base_path: None });
            return Ok(());
        }
        let read = |name: &str| {
            hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, name).ok().flatten()
        };
        let several = deployment.needs_route_name();
        let route = if several {
            hostcalls::get_property(vec!["xds", "route_name"]).ok().flatten()
        } else {
            None
        };
        let path = if several { read(":path") } else { None };
        let header = deployment.selection_header().and_then(read);
        let now = WasmHost::new(&shared.metrics).now_nanos();
        let roll = shared.worker.try_borrow_mut().map_or(50.0, |mut w| w.roll(now));
        let request = StageRequest {
            route_name: route.as_deref(),
            path: path.as_deref().unwrap_or_default(),
            header: header.as_deref(),
        };
        let Some(selected) = deployment.select(&request, roll) else {
            return Err(self.reject(ResponseType::MissingAuthenticationToken));
        };
        if let Some(stage) = deployment.stages.get(selected.stage) {
            if several {
                self.exchange.response_headers.push(("x-tollgate-stage", stage.name.clone()));
                // For access logs: %FILTER_STATE(wasm.tollgate.stage:PLAIN)%.
                let _ = hostcalls::set_property(vec![STAGE_STATE], Some(stage.name.as_bytes()));
            }
            if stage.canary.is_some() {
                self.exchange
                    .response_headers
                    .push(("x-tollgate-canary", selected.canary.to_string()));
            }
        }
        if selected.canary {
            let _ = hostcalls::increment_metric(shared.metrics.canary, 1);
        }
        self.exchange.base_path = selected.base_path.clone();
        self.selected = Some(selected);
        Ok(())
    }

    /// Answers the request when it came through the admin listener's route (configs with
    /// `admin` only: the route name costs one host call per request, which others do not pay).
    fn management_call(&mut self) -> Option<Action> {
        let shared = self.shared.clone()?;
        let plan = shared.deployment.admin.as_ref()?;
        let route = hostcalls::get_property(vec!["xds", "route_name"]).ok().flatten()?;
        if route != admin::ROUTE_NAME.as_bytes() {
            return None;
        }
        let read = |name: &str| {
            hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, name).ok().flatten()
        };
        let method = read(":method").unwrap_or_default();
        let path = read(":path").unwrap_or_default();
        let key = read(admin::KEY_HEADER);
        let mut host = WasmHost::new(&shared.metrics);
        let method = String::from_utf8_lossy(&method);
        let path = String::from_utf8_lossy(&path);
        let now = host.now_nanos() / 1_000_000_000;
        if let Some(call) = admin::global_usage_call(plan, &method, &path, key.as_deref(), now) {
            match ratelimit::dispatch(&call.cluster, &call.body, call.timeout_ms) {
                Ok(token) => {
                    self.usage_call = Some((token, call));
                    return Some(Action::Pause);
                }
                Err(e) => {
                    log::error!("{e}");
                    let reply = admin::global_usage_reply(plan, &call, None);
                    if let Err(e) = host.send_reply(&reply) {
                        log::warn!("management reply: {e:?}");
                    }
                    return Some(Action::Pause);
                }
            }
        }
        let reply = admin::handle(plan, &mut host, &method, &path, key.as_deref());
        if let Err(e) = host.send_reply(&reply) {
            log::warn!("management reply: {e:?}");
        }
        Some(Action::Pause)
    }

    /// Runs `step` with this worker's state and translates the answer into an action.
    fn decide(
        &mut self,
        step: impl FnOnce(&Plan, &mut Worker, &mut WasmHost<'_>, &mut Exchange) -> Flow,
    ) -> Action {
        let Some(shared) = self.shared.clone() else {
            // Not configured: Envoy refuses a plugin whose on_configure failed, so this is a
            // should-not-happen; fail closed all the same.
            let _ = proxy_wasm::hostcalls::send_http_response(
                500,
                vec![],
                Some(b"{\"message\":\"Internal server error\"}"),
            );
            return Action::Pause;
        };
        let Some(plan) = self.plan(&shared) else {
            let _ = proxy_wasm::hostcalls::send_http_response(
                500,
                vec![],
                Some(b"{\"message\":\"Internal server error\"}"),
            );
            return Action::Pause;
        };
        let mut host = WasmHost::with_body(&shared.metrics, self.body_size);
        // One VM runs one callback at a time, so the borrow cannot be taken twice; if it were, a
        // fresh worker state (no leases, no cached keys) keeps the request correct.
        let mut fresh = Worker::default();
        let mut borrowed = shared.worker.try_borrow_mut();
        let worker = match borrowed.as_deref_mut() {
            Ok(w) => w,
            Err(_) => &mut fresh,
        };
        let mut flow = step(plan, worker, &mut host, &mut self.exchange);
        // A callout that cannot even start is answered at once as a failed one.
        if let Flow::FetchKeys(authorizer) = flow {
            match jwks::dispatch(plan, authorizer) {
                Ok(token) => self.waiting = Some((token, Callout::Jwks(authorizer))),
                Err(e) => {
                    log::error!("{e}");
                    let (next, result) = pipeline::on_keys_fetched(
                        plan,
                        worker,
                        &mut host,
                        &mut self.exchange,
                        authorizer,
                        None,
                    );
                    jwks::log_result(plan, authorizer, &result);
                    flow = next;
                }
            }
        }
        if let Flow::CallAuthorizer(authorizer) = flow {
            let event = self.exchange.authorizer_event.take().unwrap_or_default();
            match lambda::dispatch(plan, authorizer, &event) {
                Ok(token) => self.waiting = Some((token, Callout::Authorizer(authorizer))),
                Err(e) => {
                    log::error!("{e}");
                    flow = pipeline::on_authorizer_response(
                        plan,
                        worker,
                        &mut host,
                        &mut self.exchange,
                        Default::default(),
                    );
                }
            }
        }
        if let Flow::CallIntegration(method) = flow {
            let call = self.exchange.integration_call.take().unwrap_or_default();
            match integration::dispatch(&call) {
                Ok(token) => self.waiting = Some((token, Callout::Integration(method))),
                Err(e) => {
                    log::error!("{e}");
                    let failed = Default::default();
                    let exchange = &mut self.exchange;
                    if let Err(e) = pipeline::on_integration_response(
                        plan, &mut host, exchange, method, &failed,
                    ) {
                        log::warn!("integration: {e}");
                    }
                    flow = Flow::Replied;
                }
            }
        }
        if flow == Flow::CallRateLimit {
            let call = self.exchange.global.call.as_ref();
            let sent = call.map(|c| ratelimit::dispatch(&c.cluster, &c.body, c.timeout_ms));
            match sent {
                Some(Ok(token)) => self.waiting = Some((token, Callout::RateLimit)),
                failed => {
                    if let Some(Err(e)) = failed {
                        log::error!("{e}");
                    }
                    flow = pipeline::on_rate_limit_response(
                        plan,
                        worker,
                        &mut host,
                        &mut self.exchange,
                        None,
                    );
                }
            }
        }
        match flow {
            Flow::Continue => Action::Continue,
            Flow::Replied
            | Flow::FetchKeys(_)
            | Flow::CallAuthorizer(_)
            | Flow::CallIntegration(_)
            | Flow::CallRateLimit => Action::Pause,
            Flow::NeedBody => {
                self.awaiting_body = true;
                Action::Pause
            }
        }
    }

    fn reject(&mut self, kind: ResponseType) -> Action {
        self.decide(|plan, _, host, _| {
            pipeline::reply(plan, host, &Rejection::new(kind));
            Flow::Replied
        })
    }
}

impl Context for Request {
    fn on_grpc_call_response(&mut self, token: u32, status_code: u32, response_size: usize) {
        if let Some((expected, call)) = self.usage_call.take() {
            if expected == token {
                let body = ratelimit::response(status_code, response_size);
                let Some(shared) = self.shared.clone() else { return };
                let Some(plan) = shared.deployment.admin.as_ref() else { return };
                let reply = admin::global_usage_reply(plan, &call, body.as_deref());
                if let Err(e) = WasmHost::new(&shared.metrics).send_reply(&reply) {
                    log::warn!("management reply: {e:?}");
                }
                return;
            }
            self.usage_call = Some((expected, call));
        }
        match self.waiting {
            Some((expected, Callout::RateLimit)) if expected == token => {}
            _ => {
                log::warn!("response to an unknown gRPC callout {token}");
                return;
            }
        }
        self.waiting = None;
        let body = ratelimit::response(status_code, response_size);
        let action = self.decide(|plan, worker, host, exchange| {
            pipeline::on_rate_limit_response(plan, worker, host, exchange, body.as_deref())
        });
        if action == Action::Continue {
            self.resume_http_request();
        }
    }

    fn on_http_call_response(&mut self, token: u32, _headers: usize, body_size: usize, _: usize) {
        let callout = match self.waiting {
            Some((expected, callout)) if expected == token => callout,
            _ => {
                log::warn!("response to an unknown callout {token}");
                return;
            }
        };
        self.waiting = None;
        let action = match callout {
            Callout::Jwks(authorizer) => {
                let body = jwks::response_body(body_size);
                self.decide(|plan, worker, host, exchange| {
                    let (flow, result) = pipeline::on_keys_fetched(
                        plan,
                        worker,
                        host,
                        exchange,
                        authorizer,
                        body.as_deref(),
                    );
                    jwks::log_result(plan, authorizer, &result);
                    flow
                })
            }
            Callout::Authorizer(_) => {
                let response = lambda::response(body_size);
                self.decide(|plan, worker, host, exchange| {
                    pipeline::on_authorizer_response(plan, worker, host, exchange, response)
                })
            }
            Callout::RateLimit => {
                log::warn!("an HTTP answer to a gRPC callout {token}");
                return;
            }
            Callout::Integration(method) => {
                let response = integration::response(body_size);
                self.decide(|plan, _, host, exchange| {
                    if let Err(e) =
                        pipeline::on_integration_response(plan, host, exchange, method, &response)
                    {
                        log::warn!("integration: {e}");
                    }
                    Flow::Replied
                })
            }
        };
        if action == Action::Continue {
            self.resume_http_request();
        }
    }
}

impl HttpContext for Request {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if let Some(action) = self.management_call() {
            return action;
        }
        if let Err(action) = self.select_stage() {
            return action;
        }
        self.decide(|plan, worker, host, exchange| {
            pipeline::on_request_headers(plan, worker, host, exchange, end_of_stream)
        })
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.waiting.is_some() {
            // Held (buffered) until the callout decides the request.
            return Action::Pause;
        }
        if !self.awaiting_body {
            // A streamed body (no declared length) past the payload limit: AWS's 413 instead of
            // the rest, unless the request is a tunnel.
            self.streamed = self.streamed.saturating_add(body_size);
            // (`exchange.tunnel`: the pipeline read it with the headers it decided on.)
            if self.streamed > pipeline::MAX_BODY_BYTES && !self.exchange.tunnel {
                self.streamed = 0;
                let Some(shared) = self.shared.clone() else { return Action::Continue };
                if let Some(plan) = self.plan(&shared) {
                    let mut host = WasmHost::after_request_headers(&shared.metrics);
                    let too_large = Rejection::new(ResponseType::RequestTooLarge);
                    pipeline::reply(plan, &mut host, &too_large);
                }
                return Action::Pause;
            }
            return Action::Continue;
        }
        if body_size > pipeline::MAX_BODY_BYTES {
            self.awaiting_body = false;
            return self.reject(ResponseType::RequestTooLarge);
        }
        if !end_of_stream {
            // Envoy buffers until the end (or answers 413 past its own buffer limit).
            return Action::Pause;
        }
        self.awaiting_body = false;
        self.body_size = body_size;
        let body =
            match proxy_wasm::hostcalls::get_buffer(BufferType::HttpRequestBody, 0, body_size) {
                Ok(body) => body.unwrap_or_default(),
                Err(status) => {
                    log::error!("cannot read the request body: {status:?}");
                    return self.reject(ResponseType::ApiConfigurationError);
                }
            };
        self.decide(|plan, worker, host, exchange| {
            pipeline::on_request_body(plan, worker, host, exchange, &body)
        })
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let Some(shared) = self.shared.clone() else { return Action::Continue };
        if self.exchange.response_headers.is_empty() && self.exchange.response.is_none() {
            return Action::Continue;
        }
        let Some(plan) = self.plan(&shared) else { return Action::Continue };
        let mut host = WasmHost::new(&shared.metrics);
        match pipeline::on_response_headers(plan, &mut host, &mut self.exchange, end_of_stream) {
            ResponseFlow::Continue => Action::Continue,
            ResponseFlow::NeedBody => {
                self.awaiting_response_body = true;
                Action::Pause
            }
        }
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !self.awaiting_response_body {
            return Action::Continue;
        }
        if !end_of_stream {
            // Envoy buffers until the end (or answers 500 past its own buffer limit).
            return Action::Pause;
        }
        self.awaiting_response_body = false;
        let Some(shared) = self.shared.clone() else { return Action::Continue };
        let body =
            match proxy_wasm::hostcalls::get_buffer(BufferType::HttpResponseBody, 0, body_size) {
                Ok(body) => body.unwrap_or_default(),
                Err(status) => {
                    log::error!("cannot read the response body: {status:?}");
                    return Action::Continue;
                }
            };
        let Some(plan) = self.plan(&shared) else { return Action::Continue };
        let mut host = WasmHost::with_body(&shared.metrics, body_size);
        pipeline::on_response_body(plan, &mut host, &mut self.exchange, &body);
        Action::Continue
    }
}
