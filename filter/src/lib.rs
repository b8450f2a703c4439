//! Tollgate as a proxy-wasm HTTP filter: reads what `tollgate-core` needs from Envoy, asks it, and
//! applies the answer. All decisions live in `tollgate-core`.

mod host;
mod metrics;

use std::cell::RefCell;
use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel};
use tollgate_core::gateway_response::{Rejection, ResponseType};
use tollgate_core::pipeline::{self, Exchange, Flow, Worker};
use tollgate_core::plan::Plan;

use crate::host::WasmHost;
use crate::metrics::Metrics;

proxy_wasm::main! {{
    // Also installs the SDK's panic hook, which logs a panic at critical before the VM traps.
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// What every request of this plugin shares: the compiled plan, the metric ids, and the
/// worker's own state (leases) across requests.
struct Shared {
    plan: Plan,
    metrics: Metrics,
    worker: RefCell<Worker>,
}

#[derive(Default)]
struct Root {
    shared: Option<Rc<Shared>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = match proxy_wasm::hostcalls::get_buffer(
            proxy_wasm::types::BufferType::PluginConfiguration,
            0,
            usize::MAX,
        ) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => Vec::new(),
            Err(status) => {
                log::error!("cannot read the plugin configuration: {status:?}");
                return false;
            }
        };
        let plan = match Plan::from_json(&bytes) {
            Ok(plan) => plan,
            Err(e) => {
                log::error!("invalid configuration: {e}");
                return false;
            }
        };
        let metrics = match Metrics::define() {
            Ok(m) => m,
            Err(status) => {
                log::error!("cannot define metrics: {status:?}");
                return false;
            }
        };
        log::info!(
            "api {} stage {}: {} methods, {} api keys, {} IAM credentials",
            plan.api_id,
            plan.stage,
            plan.methods.len(),
            plan.keys.len(),
            plan.iam.len()
        );
        self.shared = Some(Rc::new(Shared { plan, metrics, worker: RefCell::default() }));
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Request {
            shared: self.shared.clone(),
            exchange: Exchange::default(),
            awaiting_body: false,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Request {
    shared: Option<Rc<Shared>>,
    exchange: Exchange,
    /// The pipeline asked for the whole body (a signature covers it).
    awaiting_body: bool,
}

impl Context for Request {}

impl Request {
    /// Runs `step` with this worker's state and translates the answer.
    fn decide(
        &mut self,
        step: impl FnOnce(&Plan, &mut Worker, &mut WasmHost<'_>, &mut Exchange) -> Flow,
    ) -> Action {
        let Some(shared) = &self.shared else {
            // Not configured: Envoy refuses a plugin whose on_configure failed, so this is a
            // should-not-happen; fail closed all the same.
            let _ = proxy_wasm::hostcalls::send_http_response(
                500,
                vec![],
                Some(b"{\"message\":\"Internal server error\"}"),
            );
            return Action::Pause;
        };
        let mut host = WasmHost::new(&shared.metrics);
        // One VM runs one request callback at a time, so the borrow cannot be taken twice; if it
        // were, a fresh worker state (no leases, no cached keys) keeps the request correct.
        let mut fresh = Worker::default();
        let mut borrowed = shared.worker.try_borrow_mut();
        let worker = match borrowed.as_deref_mut() {
            Ok(w) => w,
            Err(_) => &mut fresh,
        };
        match step(&shared.plan, worker, &mut host, &mut self.exchange) {
            Flow::Continue => Action::Continue,
            Flow::Replied => Action::Pause,
            Flow::NeedBody => {
                self.awaiting_body = true;
                Action::Pause
            }
        }
    }
}

impl HttpContext for Request {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        self.decide(|plan, worker, host, exchange| {
            pipeline::on_request_headers(plan, worker, host, exchange, end_of_stream)
        })
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !self.awaiting_body {
            return Action::Continue;
        }
        if body_size > pipeline::MAX_BODY_BYTES {
            self.awaiting_body = false;
            return self.decide(|plan, _, host, _| {
                pipeline::reply(plan, host, &Rejection::new(ResponseType::RequestTooLarge));
                Flow::Replied
            });
        }
        if !end_of_stream {
            // Envoy buffers until the end (or answers 413 past its own buffer limit).
            return Action::Pause;
        }
        self.awaiting_body = false;
        let body =
            match proxy_wasm::hostcalls::get_buffer(BufferType::HttpRequestBody, 0, body_size) {
                Ok(body) => body.unwrap_or_default(),
                Err(status) => {
                    log::error!("cannot read the request body: {status:?}");
                    return self.decide(|plan, _, host, _| {
                        pipeline::reply(
                            plan,
                            host,
                            &Rejection::new(ResponseType::ApiConfigurationError),
                        );
                        Flow::Replied
                    });
                }
            };
        self.decide(|plan, worker, host, exchange| {
            pipeline::on_request_body(plan, worker, host, exchange, &body)
        })
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let Some(shared) = &self.shared {
            if !self.exchange.response_headers.is_empty() {
                pipeline::on_response_headers(&mut WasmHost::new(&shared.metrics), &self.exchange);
            }
        }
        Action::Continue
    }
}
