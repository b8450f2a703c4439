//! Stage choice, the method router, path parameters, the query string and the method ARN, for
//! a hostile request line (`METHOD TARGET`), a selection header, a host (base path mappings)
//! and a route name (next lines).
//! The parameters the router captures must agree with the method's template: its names in
//! order, and the path rebuilt from the template with them is the path matched.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_core::auth::lambda::query_parameters;
use tollgate_core::auth::policy::method_arn;
use tollgate_core::deployment::{Deployment, Request};
use tollgate_core::pipeline::match_method;
use tollgate_fuzz::{rich_config, split_target, Message};

thread_local! {
    static DEPLOYMENT: Deployment =
        Deployment::from_json(rich_config().to_string().as_bytes()).expect("the rich config");
}

fuzz_target!(|data: &[u8]| {
    let msg = Message::parse(data);
    let (verb, target) = msg.request_line();
    DEPLOYMENT.with(|d| {
        let request = Request {
            route_name: msg.header(":route"),
            path: &target,
            header: msg.header("x-stage"),
            authority: msg.header(":authority"),
        };
        let roll = f64::from(msg.body.first().copied().unwrap_or(0)) / 2.56;
        let Some(selected) = d.select(&request, roll) else { return };
        let Some(plan) = d.plan(&selected) else { return };
        let routed = match selected.base_path.as_deref() {
            Some(base) => target.strip_prefix(base.as_bytes()).unwrap_or(&target),
            None => &target,
        };
        let (path, query) = split_target(routed);
        let params = query_parameters(query);
        let _ = params.len();
        if let Ok((id, method)) = match_method(plan, &verb, path) {
            let found = plan.router.params(id, path);
            agrees_with_template(&method.resource, path, &found);
            let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, plan.router.param_names(id), "{}", method.resource);
            let path = String::from_utf8_lossy(path);
            let verb = String::from_utf8_lossy(&verb);
            let arn =
                method_arn(&plan.region, &plan.account_id, &plan.api_id, &plan.stage, &verb, &path);
            let _ = arn.len();
        }
    });
});

/// The template's parameters, in order, are the ones captured; each `{name}` captured the
/// (decoded) path segment at its place, a greedy `{name+}` the (decoded) rest.
fn agrees_with_template(template: &str, path: &[u8], found: &[(String, String)]) {
    let path = path.strip_prefix(b"/").unwrap_or(path);
    let path = path.strip_suffix(b"/").unwrap_or(path);
    let segments: Vec<&[u8]> =
        if path.is_empty() { Vec::new() } else { path.split(|&b| b == b'/').collect() };
    let parts: Vec<&str> =
        template.trim_start_matches('/').split('/').filter(|p| !p.is_empty()).collect();
    let mut captured = found.iter();
    for (i, part) in parts.iter().enumerate() {
        let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else {
            assert_eq!(
                segments.get(i).copied(),
                Some(part.as_bytes()),
                "literal {part} of {template}"
            );
            continue;
        };
        let (name, value) = captured.next().expect("a parameter of the template was not captured");
        let decode = |b: &[u8]| String::from_utf8_lossy(&percent_decode(b)).into_owned();
        match inner.strip_suffix('+') {
            Some(greedy) => {
                assert_eq!(name, greedy, "{template}");
                assert_eq!(*value, decode(&segments[i..].join(&b'/')), "{template}");
            }
            None => {
                assert_eq!(name, inner, "{template}");
                assert_eq!(Some(value.clone()), segments.get(i).map(|s| decode(s)), "{template}");
            }
        }
    }
    assert!(captured.next().is_none(), "captured more than {template} has");
}

/// `%XY` decoded, a broken escape left as it is.
fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) if bytes[i + 1] != b'+' && bytes[i + 2] != b'+' => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}
