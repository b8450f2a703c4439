//! `probe:get=3,set=1,...`: makes the listed host calls, that many times each, on every request
//! headers callback, so the benchmark can price one host call by difference with the empty filter.
//!
//! Calls: `get` (one request header), `all` (every request header in one call), `set` (one request
//! header), `raw` (every request header in one call, the buffer left unparsed: the host call's
//! own cost, without the SDK's copy into owned strings), `prop` (one filter-state property), `metric` (increment a counter), `time` (the
//! clock), `shared` (read a 16-byte shared-data value), `cas` (read it and write it back with its
//! CAS, as a token bucket does).

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, MapType, MetricType};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Call {
    Get,
    All,
    Raw,
    Set,
    Prop,
    Metric(u32),
    Time,
    Shared,
    Cas,
}

const SHARED_KEY: &str = "bench.probe";

/// Parses `get=3,set=1`; `None` for anything else.
pub fn parse(spec: &[u8]) -> Option<Vec<(Call, u32)>> {
    let spec = std::str::from_utf8(spec).ok()?;
    let mut calls = Vec::new();
    for item in spec.split(',').filter(|s| !s.is_empty()) {
        let (name, times) = item.split_once('=').unwrap_or((item, "1"));
        let call = match name {
            "get" => Call::Get,
            "all" => Call::All,
            "raw" => Call::Raw,
            "set" => Call::Set,
            "prop" => Call::Prop,
            "metric" => {
                Call::Metric(hostcalls::define_metric(MetricType::Counter, "bench.probe").ok()?)
            }
            "time" => Call::Time,
            "shared" => Call::Shared,
            "cas" => Call::Cas,
            _ => return None,
        };
        calls.push((call, times.parse().ok()?));
    }
    if calls.iter().any(|(c, _)| matches!(c, Call::Shared | Call::Cas)) {
        hostcalls::set_shared_data(SHARED_KEY, Some(&[7; 16]), None).ok()?;
    }
    Some(calls)
}

pub struct Probe {
    pub calls: std::rc::Rc<Vec<(Call, u32)>>,
}

impl Context for Probe {}

impl HttpContext for Probe {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        for &(call, times) in self.calls.iter() {
            for _ in 0..times {
                let _ = match call {
                    Call::Get => {
                        hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, "x-api-key")
                            .map(drop)
                    }
                    Call::All => hostcalls::get_map_bytes(MapType::HttpRequestHeaders).map(drop),
                    Call::Raw => raw_request_headers(),
                    Call::Set => hostcalls::set_map_value_bytes(
                        MapType::HttpRequestHeaders,
                        "x-bench-probe",
                        Some(b"1"),
                    ),
                    Call::Prop => hostcalls::set_property(vec!["bench.probe"], Some(b"1")),
                    Call::Metric(id) => hostcalls::increment_metric(id, 1),
                    Call::Time => hostcalls::get_current_time().map(drop),
                    Call::Shared => hostcalls::get_shared_data(SHARED_KEY).map(drop),
                    Call::Cas => match hostcalls::get_shared_data(SHARED_KEY) {
                        Ok((Some(value), cas)) => {
                            hostcalls::set_shared_data(SHARED_KEY, Some(&value), cas)
                        }
                        other => other.map(drop),
                    },
                };
            }
        }
        Action::Continue
    }
}

extern "C" {
    fn proxy_get_header_map_pairs(
        map_type: u32,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> u32;
}

/// The request headers' serialized pairs, fetched and freed without being parsed.
#[allow(unsafe_code)]
fn raw_request_headers() -> Result<(), proxy_wasm::types::Status> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: the host writes a buffer it allocated through `proxy_on_memory_allocate` (the
    // global allocator, with an alignment of 1) and its size; it is freed with that layout.
    unsafe {
        let status =
            proxy_get_header_map_pairs(MapType::HttpRequestHeaders as u32, &mut data, &mut size);
        if status == 0 && !data.is_null() && size > 0 {
            let layout = std::alloc::Layout::from_size_align(size, 1)
                .map_err(|_| proxy_wasm::types::Status::InternalFailure)?;
            std::alloc::dealloc(data, layout);
        }
    }
    Ok(())
}
