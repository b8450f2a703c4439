//! The API listener's routes: one per method, named `GET /pets/{petId}` and carrying the method
//! in its metadata, most specific first (literal segments before parameters before greedy
//! parameters, a verb before `ANY`, as the filter matches), then catch-alls so that a request
//! no route names still reaches the filter (which answers `Missing Authentication Token`) and
//! goes where the filter sent it.

use serde_json::{json, Value};
use tollgate_core::config::{Config, IntegrationType, Method};
use tollgate_core::transform::integration::CLUSTER_HEADER;

use super::clusters::{uses_upstream, UPSTREAM};

/// The catch-all route of requests whose integration URI chose the cluster.
pub const BY_URI_ROUTE: &str = "tollgate.by_uri";
/// The last route: requests no method route matched.
pub const UNMATCHED_ROUTE: &str = "tollgate.unmatched";
/// The admin listener's one route (the filter answers admin paths before the router).
pub const ADMIN_ROUTE: &str = "tollgate.admin";

/// API Gateway's default integration timeout, 29 s.
pub(super) const DEFAULT_TIMEOUT_MS: u32 = 29_000;

/// Where the router sends a method's requests that the filter let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `gateway.upstream`.
    Upstream { timeout_ms: u32 },
    /// The cluster the filter named in `x-tollgate-cluster` (the integration URI's host).
    ByUri { timeout_ms: u32 },
    /// The filter answers (MOCK) or calls the backend itself (AWS, AWS_PROXY).
    Local,
}

pub fn action(method: &Method) -> Action {
    let timeout_ms = method.integration.as_ref().map_or(DEFAULT_TIMEOUT_MS, |i| i.timeout_ms);
    match &method.integration {
        _ if uses_upstream(method) => Action::Upstream { timeout_ms },
        Some(i) if matches!(i.kind, IntegrationType::Http | IntegrationType::HttpProxy) => {
            Action::ByUri { timeout_ms }
        }
        _ => Action::Local,
    }
}

/// `29000` -> `29s`, `50` -> `0.050s`.
fn duration(ms: u32) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{}.{:03}s", ms / 1000, ms % 1000)
    }
}

fn websocket() -> Value {
    json!([{"upgrade_type": "websocket"}])
}

pub(super) fn to_upstream(timeout_ms: u32) -> Value {
    json!({"cluster": UPSTREAM, "timeout": duration(timeout_ms), "upgrade_configs": websocket()})
}

pub(super) fn by_uri(timeout_ms: u32) -> Value {
    json!({"cluster_header": CLUSTER_HEADER, "timeout": duration(timeout_ms), "upgrade_configs": websocket()})
}

/// The answer of a route the filter should never let a request reach.
pub(super) fn should_not_happen() -> Value {
    json!({"status": 500, "body": {"inline_string": "{\"message\":\"Internal server error\"}"}})
}

/// RE2 for a resource template: `{p}` one non-empty segment, `{p+}` the rest of the path, an
/// optional trailing `/`, after an optional stage prefix.
pub fn path_regex(resource: &str, stage_prefix: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(prefix) = stage_prefix {
        out.push_str(prefix);
    }
    for segment in resource.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) if name.ends_with('+') => out.push_str("[^/].*"),
            Some(_) => out.push_str("[^/]+"),
            None => out.push_str(&escape(segment)),
        }
    }
    out.push_str("/?");
    out
}

/// Escapes RE2's special characters (RE2 takes `\` before any punctuation as that character).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_punctuation() && c != '-' && c != '_' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `(?:/(?:dev|prod))?` when the path may start with the stage, as an execute-api URL does
/// (`/prod/pets`; with one stage too): the filter removes it, and Envoy matches the route again
/// on the shorter path.
pub fn stage_prefix(config: &Config) -> Option<String> {
    if !config.stage_selection.path_prefix {
        return None;
    }
    let names: Vec<String> = if config.stages.is_empty() {
        vec![escape(&config.stage.name)]
    } else {
        config.stages.iter().map(|s| escape(&s.name)).collect()
    };
    Some(format!("(?:/(?:{}))?", names.join("|")))
}

/// How specific a resource is, compared segment by segment: literal, parameter, greedy.
fn specificity(method: &Method) -> (Vec<u8>, bool) {
    let ranks = method
        .resource
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) if name.ends_with('+') => 2,
            Some(_) => 1,
            None => 0,
        })
        .collect();
    (ranks, method.http_method == "ANY")
}

pub fn route_name(method: &Method) -> String {
    format!("{} {}", method.http_method, method.resource)
}

/// The API listener's routes.
pub fn api_routes(config: &Config, has_upstream: bool) -> Vec<Value> {
    let prefix = stage_prefix(config);
    let mut methods: Vec<&Method> = config.methods.iter().collect();
    methods.sort_by_key(|m| specificity(m));
    let mut routes: Vec<Value> = methods
        .iter()
        .map(|m| {
            let mut matcher =
                json!({"safe_regex": {"regex": path_regex(&m.resource, prefix.as_deref())}});
            if m.http_method != "ANY" {
                matcher["headers"] =
                    json!([{"name": ":method", "string_match": {"exact": m.http_method}}]);
            }
            let mut route = json!({
                "name": route_name(m),
                "match": matcher,
                "metadata": {"filter_metadata": {"tollgate": {
                    "resource": m.resource, "http_method": m.http_method}}},
                // The span's name when traces are on.
                "decorator": {"operation": route_name(m)},
            });
            match action(m) {
                Action::Upstream { timeout_ms } => route["route"] = to_upstream(timeout_ms),
                Action::ByUri { timeout_ms } => route["route"] = by_uri(timeout_ms),
                Action::Local => route["direct_response"] = should_not_happen(),
            }
            route
        })
        .collect();
    if config.methods.iter().any(|m| matches!(action(m), Action::ByUri { .. })) {
        // The filter removes a client's own x-tollgate-cluster whenever integration URIs
        // route, so only the filter's value reaches this route.
        routes.push(json!({
            "name": BY_URI_ROUTE,
            "match": {"prefix": "/", "headers": [{"name": CLUSTER_HEADER, "present_match": true}]},
            "route": by_uri(DEFAULT_TIMEOUT_MS),
        }));
    }
    let mut unmatched = json!({"name": UNMATCHED_ROUTE, "match": {"prefix": "/"}});
    if has_upstream {
        unmatched["route"] = to_upstream(DEFAULT_TIMEOUT_MS);
    } else {
        unmatched["direct_response"] = should_not_happen();
    }
    routes.push(unmatched);
    routes
}

/// The admin listener's route.
pub fn admin_routes() -> Vec<Value> {
    vec![json!({"name": ADMIN_ROUTE, "match": {"prefix": "/"}, "direct_response": {"status": 404}})]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes() {
        assert_eq!(path_regex("/pets/{petId}", None), "/pets/[^/]+/?");
        assert_eq!(path_regex("/", None), "/?");
        assert_eq!(
            path_regex("/files/{proxy+}", Some("(?:/(?:prod))?")),
            "(?:/(?:prod))?/files/[^/].*/?"
        );
        assert_eq!(path_regex("/v1.0/a+b", None), "/v1\\.0/a\\+b/?");
        assert_eq!(duration(29_000), "29s");
        assert_eq!(duration(1_050), "1.050s");
    }
}
