//! Stage choice, the method router, path parameters, the query string and the method ARN, for
//! a hostile request line (`METHOD TARGET`), a selection header and a route name (next lines).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_core::auth::lambda::{path_parameters, query_parameters};
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
        if let Ok((_, method)) = match_method(plan, &verb, path) {
            let path = String::from_utf8_lossy(path);
            let verb = String::from_utf8_lossy(&verb);
            let found = path_parameters(&method.resource, &path);
            let _ = found.len();
            let arn =
                method_arn(&plan.region, &plan.account_id, &plan.api_id, &plan.stage, &verb, &path);
            let _ = arn.len();
        }
    });
});
