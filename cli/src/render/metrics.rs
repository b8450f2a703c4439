//! Metrics with API Gateway's dimensions, measured by Envoy itself: with
//! `gateway.detailed_metrics`, a stats access logger counts every request (answered by the
//! backend, by the filter or by Envoy) with the API, stage, resource, method and status as
//! labels, and times it; no counter costs the wasm VM a host call. Prometheus sees
//! `envoy_tollgate_api_requests{api,stage,resource,method,status,cache}`,
//! `envoy_tollgate_api_latency` and `envoy_tollgate_api_integration_latency` (ms histograms),
//! and with `gateway.metrics_per_key`, `envoy_tollgate_api_key_requests{api,stage,key,response_type}`.
//! Without either, the API's listener has Envoy's own per-listener counts and latency
//! (`envoy_http_downstream_rq_xx`, `envoy_http_downstream_rq_time`), which cost nothing more.

use serde_json::{json, Value};

use super::access_log::state;

/// The stats prefix of the API's metrics.
pub const PREFIX: &str = "tollgate_api";

/// The stats access loggers of an API listener (none unless `detailed` or `per_key`). `stage`:
/// the stage's name when the API has one.
pub fn loggers(api: &str, stage: Option<&str>, (detailed, per_key): (bool, bool)) -> Vec<Value> {
    let stage = stage.map_or_else(|| state("stage"), |s| s.replace('%', "%%"));
    let api = api.replace('%', "%%");
    let method = [
        ("api", api.as_str()),
        ("stage", stage.as_str()),
        ("resource", "%METADATA(ROUTE:tollgate:resource)%"),
        ("method", "%REQ(:METHOD)%"),
    ];
    let mut requests = method.to_vec();
    requests.extend([("status", "%RESPONSE_CODE%"), ("cache", "%RESP(X-TOLLGATE-CACHE)%")]);
    let mut counters = Vec::new();
    if detailed {
        counters.push(json!({"stat": stat("requests", &requests), "value_fixed": 1}));
    }
    if per_key {
        let (key_id, response_type) = (state("api_key_id"), state("response_type"));
        let key = [
            ("api", api.as_str()),
            ("stage", stage.as_str()),
            ("key", key_id.as_str()),
            ("response_type", response_type.as_str()),
        ];
        counters.push(json!({"stat": stat("key_requests", &key), "value_fixed": 1}));
    }
    let latency = json!({"stat": stat("latency", &method), "unit": "Milliseconds",
                         "value_format": "%DURATION%"});
    let integration = json!({"stat": stat("integration_latency", &method), "unit": "Milliseconds",
                             "value_format": "%COMMON_DURATION(US_TX_BEG:US_RX_END:ms)%"});
    if !detailed {
        return counters
            .into_iter()
            .map(|counter| logger(json!({"counters": [counter]}), None))
            .collect();
    }
    vec![
        logger(json!({"counters": counters, "histograms": [latency]}), None),
        // Only requests that reached a backend through Envoy have an integration latency.
        logger(json!({"histograms": [integration]}), Some("upstream.address != \"\"")),
    ]
}

fn stat(name: &str, tags: &[(&str, &str)]) -> Value {
    let tags: Vec<Value> =
        tags.iter().map(|(n, v)| json!({"name": n, "value_format": v})).collect();
    json!({"name": name, "tags": tags})
}

fn logger(mut config: Value, cel: Option<&str>) -> Value {
    config["@type"] = json!("type.googleapis.com/envoy.extensions.access_loggers.stats.v3.Config");
    config["stat_prefix"] = json!(PREFIX);
    let mut out = json!({"name": "envoy.access_loggers.stats", "typed_config": config});
    if let Some(expression) = cel {
        out["filter"] = super::local_reply::cel(expression);
    }
    out
}
