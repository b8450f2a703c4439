//! OpenTelemetry traces: Envoy's own tracer starts a span per request (named after the route,
//! `GET /pets/{id}`), tagged with API Gateway's dimensions and the caller's key id, joins a
//! client's `traceparent`, passes the trace on to the backend, and exports the spans over OTLP to
//! `gateway.tracing.collector`.

use serde_json::{json, Value};

use super::access_log::state;
use super::clusters::{Address, Cluster};
use crate::spec::{OtlpProtocol, Tracing};

/// The collector's cluster.
pub const CLUSTER: &str = "tollgate_otlp";

/// OTLP/HTTP's path when the collector URL has none.
const TRACES_PATH: &str = "/v1/traces";

/// The collector's cluster, and the path spans are posted to (OTLP/HTTP).
pub fn cluster(tracing: &Tracing) -> Result<(Cluster, String), String> {
    let (address, path) = Address::split(&tracing.collector)
        .map_err(|e| format!("gateway.tracing.collector: {e}"))?;
    let path = match (tracing.protocol, path) {
        (OtlpProtocol::Grpc, "" | "/") => String::new(),
        (OtlpProtocol::Grpc, _) => {
            return Err(format!(
            "gateway.tracing.collector: `{}` has a path; a gRPC collector is scheme://host:port",
            tracing.collector
        ))
        }
        (OtlpProtocol::HttpProtobuf, "" | "/") => TRACES_PATH.to_string(),
        (OtlpProtocol::HttpProtobuf, path) => path.to_string(),
    };
    if !(tracing.sampling_percent.is_finite() && (0.0..=100.0).contains(&tracing.sampling_percent))
    {
        return Err("gateway.tracing.sampling_percent: must be a number from 0 to 100".into());
    }
    let cluster = Cluster {
        name: CLUSTER.into(),
        address,
        signing: None,
        http2: tracing.protocol == OtlpProtocol::Grpc,
        origin: "gateway.tracing.collector".into(),
    };
    Ok((cluster, path))
}

/// The connection manager's `tracing`: `api` and `stage` (the stage's name when the API has one)
/// tag every span, with the route's resource, the method and the key id.
pub fn hcm_tracing(
    tracing: &Tracing,
    (address, path): (&Address, &str),
    (api, stage): (&str, Option<&str>),
) -> Value {
    let service = tracing.service_name.clone().unwrap_or_else(|| format!("tollgate-{api}"));
    let export = match tracing.protocol {
        OtlpProtocol::HttpProtobuf => json!({"http_service": {
            "http_uri": {"uri": format!("{}{path}", address.url()), "cluster": CLUSTER,
                         "timeout": "2s"},
        }}),
        OtlpProtocol::Grpc => json!({"grpc_service": {
            "envoy_grpc": {"cluster_name": CLUSTER, "authority": address.host},
            "timeout": "2s",
        }}),
    };
    let mut provider = json!({
        "@type": "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig",
        "service_name": service,
    });
    if let (Some(out), Some(export)) = (provider.as_object_mut(), export.as_object()) {
        out.extend(export.clone());
    }
    let stage = stage.map_or_else(|| state("stage"), |s| s.replace('%', "%%"));
    let tag = |name: &str, value: &str| json!({"tag": name, "value": value});
    json!({
        "provider": {"name": "envoy.tracers.opentelemetry", "typed_config": provider},
        "random_sampling": {"value": tracing.sampling_percent},
        // The backend's request is a child span of its own (Envoy's router records it).
        "spawn_upstream_span": true,
        "custom_tags": [
            tag("aws.api_gateway.api_id", &api.replace('%', "%%")),
            tag("aws.api_gateway.stage", &stage),
            tag("aws.api_gateway.resource", "%METADATA(ROUTE:tollgate:resource)%"),
            tag("http.request.method", "%REQ(:METHOD)%"),
            tag("aws.api_gateway.api_key_id", &state("api_key_id")),
            tag("aws.api_gateway.error.response_type", &state("response_type")),
            tag("aws.xray.trace_id", "%REQ(X-AMZN-TRACE-ID)%"),
        ],
    })
}
