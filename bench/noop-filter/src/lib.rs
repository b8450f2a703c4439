//! Reference filters for `make bench`, built with the same release profile as Tollgate.
//!
//! The plugin configuration picks the mode:
//! - empty or `noop`: the HTTP context returns `Continue` without a single host call, the floor
//!   any proxy-wasm filter pays (VM entry, context creation, the SDK's callbacks);
//! - `touch`: reads one request header (`x-api-key`) and sets one (`x-bench-seen`), the cost of
//!   the smallest useful filter;
//! - `probe:get=3,set=1,...`: the listed host calls on every request (see [`probe`]), to price
//!   one host call by difference.

mod probe;

use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, MapType};

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { mode: Mode::Noop }) });
}}

enum Mode {
    Noop,
    Touch,
    Probe(Rc<Vec<(probe::Call, u32)>>),
}

struct Root {
    mode: Mode,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
            .ok()
            .flatten()
            .unwrap_or_default();
        self.mode = match config.trim_ascii() {
            b"" | b"noop" => Mode::Noop,
            b"touch" => Mode::Touch,
            other => match other.strip_prefix(b"probe:").and_then(probe::parse) {
                Some(calls) => Mode::Probe(Rc::new(calls)),
                None => return false,
            },
        };
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        match &self.mode {
            Mode::Noop => Some(Box::new(Noop)),
            Mode::Touch => Some(Box::new(Touch)),
            Mode::Probe(calls) => Some(Box::new(probe::Probe { calls: Rc::clone(calls) })),
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Noop;

impl Context for Noop {}

impl HttpContext for Noop {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }
}

struct Touch;

impl Context for Touch {}

impl HttpContext for Touch {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let seen: &[u8] =
            match hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, "x-api-key") {
                Ok(Some(_)) => b"1",
                _ => b"0",
            };
        let _ =
            hostcalls::set_map_value_bytes(MapType::HttpRequestHeaders, "x-bench-seen", Some(seen));
        Action::Continue
    }
}
