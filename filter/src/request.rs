//! The HTTP context: one request's callbacks, each translated into a `tollgate-core` pipeline
//! call and its answer applied.

use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, MapType};
use tollgate_core::admin;
use tollgate_core::deployment::{Request as StageRequest, Selected};
use tollgate_core::gateway_response::{Rejection, ResponseType};
use tollgate_core::host::{HeaderList, Host};
use tollgate_core::pipeline::{
    self, BodyFlow, CalloutResponse, Exchange, Flow, ResponseFlow, Worker,
};
use tollgate_core::plan::Plan;

use crate::callout;
use crate::host::WasmHost;
use crate::Shared;

/// Filter state key with the stage serving the request (when the config has several).
const STAGE_STATE: &str = "tollgate.stage";

pub struct Request {
    shared: Option<Rc<Shared>>,
    exchange: Exchange,
    /// Size of the buffered request body being decided on, which a template may replace.
    body_size: usize,
    /// The response phase asked for the backend's whole body (a response template).
    awaiting_response_body: bool,
    /// The callout this request waits for: its token and the most of its answer to read.
    waiting: Option<(u32, usize)>,
    /// The stage (and side) serving this request, chosen with its headers.
    selected: Option<Selected>,
    /// A GetUsage of a global plan waiting for the rate-limit service, by token.
    usage_call: Option<(u32, admin::UsageCall)>,
    /// The request headers continued upstream: Envoy no longer lends them.
    headers_sent: bool,
    /// The request headers the stage choice read, for the pipeline in the same callback.
    read_headers: Option<HeaderList>,
}

impl Request {
    pub fn new(shared: Option<Rc<Shared>>) -> Self {
        Request {
            shared,
            exchange: Exchange::default(),
            body_size: 0,
            awaiting_response_body: false,
            waiting: None,
            selected: None,
            usage_call: None,
            headers_sent: false,
            read_headers: None,
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
            self.selected =
                Some(Selected { stage: 0, canary: false, base_path: None, mapped: false });
            return Ok(());
        }
        // Every header in one host call (what one header costs, nearly), kept for the pipeline.
        let wanted = deployment.needs_path()
            || deployment.needs_authority()
            || deployment.selection_header().is_some();
        self.read_headers =
            if wanted { WasmHost::new(&shared.metrics).request_headers().ok() } else { None };
        let headers = self.read_headers.as_ref();
        let read = |name: &str| headers.and_then(|h| h.get(name)).map(<[u8]>::to_vec);
        let several = deployment.needs_route_name();
        let route = if several {
            hostcalls::get_property(vec!["xds", "route_name"]).ok().flatten()
        } else {
            None
        };
        let path = if deployment.needs_path() { read(":path") } else { None };
        let authority = if deployment.needs_authority() { read(":authority") } else { None };
        let header = deployment.selection_header().and_then(read);
        let now = WasmHost::new(&shared.metrics).now_nanos();
        let roll = shared.worker.try_borrow_mut().map_or(50.0, |mut w| w.roll(now));
        let request = StageRequest {
            route_name: route.as_deref(),
            path: path.as_deref().unwrap_or_default(),
            header: header.as_deref(),
            authority: authority.as_deref(),
        };
        let Some(selected) = deployment.select(&request, roll) else {
            self.read_headers = None;
            return Err(self.reject(ResponseType::MissingAuthenticationToken));
        };
        if let Some(stage) = deployment.stages.get(selected.stage) {
            if several {
                self.exchange.add_response_header("x-tollgate-stage", stage.name.clone());
                // For access logs: %FILTER_STATE(wasm.tollgate.stage:PLAIN)%.
                let _ = hostcalls::set_property(vec![STAGE_STATE], Some(stage.name.as_bytes()));
            }
            if stage.canary.is_some() {
                self.exchange.add_response_header("x-tollgate-canary", selected.canary.to_string());
            }
        }
        if selected.canary {
            let _ = hostcalls::increment_metric(shared.metrics.canary, 1);
        }
        if selected.mapped {
            self.exchange.set_mapped_base_path(selected.base_path.clone());
        } else {
            self.exchange.set_base_path(selected.base_path.clone());
        }
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
            match callout::dispatch(&call.callout()) {
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

    /// Runs `step` with this worker's state and translates the answer into an action: a
    /// callout is sent (one that cannot be sent is answered at once as a failed one).
    fn decide(
        &mut self,
        step: impl FnOnce(&Plan, &mut Worker, &mut WasmHost<'_>, &mut Exchange) -> Flow,
    ) -> Action {
        let Some(shared) = self.shared.clone() else {
            // Not configured: Envoy refuses a plugin whose on_configure failed, so this is a
            // should-not-happen; fail closed all the same.
            return unconfigured();
        };
        let Some(plan) = self.plan(&shared) else { return unconfigured() };
        let mut host = WasmHost::with_body(&shared.metrics, self.body_size)
            .with_read_headers(self.read_headers.take());
        // One VM runs one callback at a time, so the borrow cannot be taken twice; if it were, a
        // fresh worker state (no leases, no cached keys) keeps the request correct.
        let mut fresh = Worker::default();
        let mut borrowed = shared.worker.try_borrow_mut();
        let worker = match borrowed.as_deref_mut() {
            Ok(w) => w,
            Err(_) => &mut fresh,
        };
        let mut flow = step(plan, worker, &mut host, &mut self.exchange);
        while let Flow::Call(call) = flow {
            match callout::dispatch(&call) {
                Ok(token) => {
                    self.waiting = Some((token, call.max_response_bytes));
                    return Action::Pause;
                }
                Err(e) => {
                    log::error!("{e}");
                    let failed = CalloutResponse::failed();
                    let exchange = &mut self.exchange;
                    flow = pipeline::on_callout_response(plan, worker, &mut host, exchange, failed);
                }
            }
        }
        match flow {
            Flow::Continue => {
                self.headers_sent = true;
                Action::Continue
            }
            Flow::Replied | Flow::NeedBody | Flow::Call(_) => Action::Pause,
        }
    }

    /// The answer to the callout this request waits for.
    fn answered(&mut self, token: u32, read: impl FnOnce(usize) -> CalloutResponse) {
        let cap = match self.waiting {
            Some((expected, cap)) if expected == token => cap,
            _ => {
                log::warn!("response to an unknown callout {token}");
                return;
            }
        };
        self.waiting = None;
        let response = read(cap);
        let action = self.decide(|plan, worker, host, exchange| {
            pipeline::on_callout_response(plan, worker, host, exchange, response)
        });
        if action == Action::Continue {
            self.resume_http_request();
        }
    }

    fn reject(&mut self, kind: ResponseType) -> Action {
        self.decide(|plan, _, host, _| {
            pipeline::reply(plan, host, &Rejection::new(kind));
            Flow::Replied
        })
    }
}

/// AWS's 500 without a configuration to answer with.
fn unconfigured() -> Action {
    let metrics = crate::metrics::Metrics::none();
    pipeline::reply_unconfigured(&mut WasmHost::new(&metrics));
    Action::Pause
}

impl Context for Request {
    fn on_grpc_call_response(&mut self, token: u32, status_code: u32, response_size: usize) {
        if let Some((expected, call)) = self.usage_call.take() {
            if expected == token {
                let cap = call.callout().max_response_bytes;
                let response = callout::grpc_response(status_code, response_size, cap);
                let Some(shared) = self.shared.clone() else { return };
                let Some(plan) = shared.deployment.admin.as_ref() else { return };
                let reply = admin::global_usage_reply(plan, &call, response.ok_body());
                if let Err(e) = WasmHost::new(&shared.metrics).send_reply(&reply) {
                    log::warn!("management reply: {e:?}");
                }
                return;
            }
            self.usage_call = Some((expected, call));
        }
        self.answered(token, |cap| callout::grpc_response(status_code, response_size, cap));
    }

    fn on_http_call_response(&mut self, token: u32, _headers: usize, body_size: usize, _: usize) {
        self.answered(token, |cap| callout::http_response(body_size, cap));
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
        let Some(shared) = self.shared.clone() else { return Action::Continue };
        let Some(plan) = self.plan(&shared) else { return Action::Continue };
        let mut host = WasmHost::after_request_headers(&shared.metrics, self.headers_sent);
        let data = pipeline::on_request_body_data(
            plan,
            &mut host,
            &mut self.exchange,
            body_size,
            end_of_stream,
        );
        match data {
            BodyFlow::Continue => return Action::Continue,
            BodyFlow::Pause | BodyFlow::Replied => return Action::Pause,
            BodyFlow::Ready => {}
        }
        self.body_size = body_size;
        let body = match hostcalls::get_buffer(BufferType::HttpRequestBody, 0, body_size) {
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
        if !self.exchange.has_response_work() {
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
        let body = match hostcalls::get_buffer(BufferType::HttpResponseBody, 0, body_size) {
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
