//! Tollgate as a proxy-wasm HTTP filter: reads what `tollgate-core` needs from Envoy, asks it, and
//! applies the answer. All decisions live in `tollgate-core`.

mod callout;
mod host;
mod metrics;
mod plugin_config;
mod request;

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::BufReader;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{ContextType, LogLevel};
use tollgate_core::deployment::Deployment;
use tollgate_core::host::Host;
use tollgate_core::pipeline::{self, CalloutResponse, Worker};
use tollgate_core::plan::Plan;

use crate::host::WasmHost;
use crate::metrics::Metrics;
use crate::plugin_config::{PluginConfig, PIECE};
use crate::request::Request;

/// How often the root context looks for JWKS to refresh.
const TICK: Duration = Duration::from_secs(1);

proxy_wasm::main! {{
    // Also installs the SDK's panic hook, which logs a panic at critical before the VM traps.
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// What every request of this plugin shares: the compiled plan, the metric ids, and the
/// worker's own state (leases, cached keys and tokens) across requests.
pub(crate) struct Shared {
    deployment: Deployment,
    metrics: Metrics,
    worker: RefCell<Worker>,
}

#[derive(Default)]
struct Root {
    shared: Option<Rc<Shared>>,
    /// Background JWKS fetches in flight: callout token -> (authorizer, answer cap).
    refreshing: HashMap<u32, (usize, usize)>,
    /// The key store's change-feed call in flight: its token and answer cap.
    feed: Option<(u32, usize)>,
}

fn now_seconds() -> i64 {
    proxy_wasm::hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Context for Root {
    fn on_grpc_call_response(&mut self, token: u32, status_code: u32, response_size: usize) {
        let (Some((expected, cap)), Some(shared)) = (self.feed, &self.shared) else { return };
        if expected != token {
            log::warn!("response to an unknown gRPC callout {token}");
            return;
        }
        self.feed = None;
        let response = callout::grpc_response(status_code, response_size, cap);
        if let Ok(mut worker) = shared.worker.try_borrow_mut() {
            let mut host = WasmHost::new(&shared.metrics);
            pipeline::on_key_changes(&mut worker, &mut host, &response);
        }
    }

    fn on_http_call_response(&mut self, token: u32, _headers: usize, body_size: usize, _: usize) {
        let (Some((authorizer, cap)), Some(shared)) =
            (self.refreshing.remove(&token), &self.shared)
        else {
            log::warn!("response to an unknown callout {token}");
            return;
        };
        let response = callout::http_response(body_size, cap);
        let Some(plan) = shared.deployment.primary() else { return };
        if let Ok(mut worker) = shared.worker.try_borrow_mut() {
            let mut host = WasmHost::new(&shared.metrics);
            pipeline::on_background_keys(plan, &mut worker, &mut host, authorizer, &response);
        }
    }
}

impl Shared {
    /// The plan every stage shares the authorizers and keys of.
    pub(crate) fn primary(&self) -> Option<&Plan> {
        self.deployment.primary()
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = BufReader::with_capacity(PIECE, PluginConfig::default());
        let deployment = match Deployment::from_reader(config) {
            Ok(deployment) => deployment,
            Err(e) => {
                log::error!("invalid configuration: {e}");
                return false;
            }
        };
        let Some(plan) = deployment.primary() else {
            log::error!("invalid configuration: no stage");
            return false;
        };
        let metrics = match Metrics::define() {
            Ok(m) => m,
            Err(status) => {
                log::error!("cannot define metrics: {status:?}");
                return false;
            }
        };
        let stages: Vec<&str> = deployment.stages.iter().map(|s| s.name.as_str()).collect();
        log::info!(
            "api {} stages {}: {} methods, {} api keys, {} IAM credentials, {} token authorizers",
            plan.api_id,
            stages.join(","),
            plan.methods.len(),
            plan.keys.len(),
            plan.iam.len(),
            plan.authorizers.len()
        );
        // Every second: JWKS refreshes that are due, and the VM's memory gauge; the key
        // store's change feed as often as it is polled.
        let poll = plan.key_store.as_ref().map(|s| Duration::from_millis(s.poll_ms));
        self.set_tick_period(poll.map_or(TICK, |p| p.min(TICK)));
        self.shared = Some(Rc::new(Shared { deployment, metrics, worker: RefCell::default() }));
        self.refreshing.clear();
        self.feed = None;
        true
    }

    /// Fetches the JWKS that are due (first load, refresh interval, retry after a failure), and
    /// reports the VM's memory.
    fn on_tick(&mut self) {
        let Some(shared) = self.shared.clone() else { return };
        shared.metrics.record_memory();
        let Some(plan) = shared.primary() else { return };
        let now = now_seconds();
        let (due, feed) = match shared.worker.try_borrow_mut() {
            Ok(mut worker) => {
                let nanos = WasmHost::new(&shared.metrics).now_nanos();
                let feed = pipeline::key_changes_due(plan, &mut worker, nanos);
                (pipeline::jwks_refresh_due(plan, &mut worker, now), feed)
            }
            Err(_) => return,
        };
        if let Some(call) = feed {
            match callout::dispatch(&call) {
                Ok(token) => self.feed = Some((token, call.max_response_bytes)),
                Err(e) => {
                    log::warn!("key store: {e}");
                    if let Ok(mut worker) = shared.worker.try_borrow_mut() {
                        let mut host = WasmHost::new(&shared.metrics);
                        pipeline::on_key_changes(
                            &mut worker,
                            &mut host,
                            &CalloutResponse::failed(),
                        );
                    }
                }
            }
        }
        for (authorizer, call) in due {
            match callout::dispatch(&call) {
                Ok(token) => {
                    self.refreshing.insert(token, (authorizer, call.max_response_bytes));
                }
                Err(e) => {
                    log::error!("{e}");
                    if let Ok(mut worker) = shared.worker.try_borrow_mut() {
                        let mut host = WasmHost::new(&shared.metrics);
                        let failed = CalloutResponse::failed();
                        pipeline::on_background_keys(
                            plan,
                            &mut worker,
                            &mut host,
                            authorizer,
                            &failed,
                        );
                    }
                }
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Request::new(self.shared.clone())))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
