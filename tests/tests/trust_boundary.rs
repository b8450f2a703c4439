//! What the gateway believes about its caller, on gateways that `tollgate render` wrote: the
//! caller's address is the TCP peer (or what a trusted hop in front reports), `aws:SecureTransport`
//! is the connection's TLS, the VPC endpoint header is a trusted hop's, and `x-tollgate-*` is the
//! gateway's own. Each spoof a client can try is tried, against resource-policy conditions, a
//! mapping template's `$context.identity.sourceIp`, a Lambda proxy event and what the upstream
//! receives; then a real second Envoy in front stands for a load balancer (`trusted_hops: 1`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::path::Path;

use serde_json::{json, Value};
use tollgate_e2e::lambda::LambdaEmulator;
use tollgate_e2e::ws;
use tollgate_e2e::{
    assert_gateway_error, get, render, root, scratch_dir, Envoy, Response, Upstream,
};

#[path = "support/h2c.rs"]
mod h2c;

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");
const VPCE: &str = "vpce-0123456789abcdef0";
/// The address the hop connects to the gateways from (any 127/8 address is the loopback).
const HOP_ADDRESS: &str = "127.0.0.3";

fn arn(rest: &str) -> String {
    format!("arn:aws:execute-api:us-east-1:123456789012:shop/prod/{rest}")
}

fn deny_unless(resource: &str, condition: Value) -> Value {
    json!({"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke",
           "Resource": arn(resource), "Condition": condition})
}

/// The spec: methods guarded by the caller's address (10.0.0.0/8, or exactly 127.0.0.1), by TLS
/// and by the VPC endpoint; an echo upstream, a MOCK that reports `$context.identity.sourceIp`,
/// and a Lambda proxy function that answers with its event.
fn spec(gateway: Value) -> Value {
    let passthrough = |resource: &str| json!({"resource": resource, "http_method": "GET"});
    json!({
        "gateway": gateway,
        "api": {"id": "shop", "region": "us-east-1", "account_id": "123456789012"},
        "stage": {"name": "prod"},
        "methods": [
            passthrough("/checkout"),
            passthrough("/local"),
            passthrough("/secure"),
            passthrough("/private"),
            passthrough("/echo"),
            passthrough("/partners"),
            passthrough("/items/{id}"),
            {"resource": "/whoami", "http_method": "GET", "integration": {
                "type": "MOCK",
                "request_templates": {"application/json": "{\"statusCode\": 200}"},
                "responses": {"default": {"status_code": "200", "response_templates": {
                    "application/json": "{\"ip\": \"$context.identity.sourceIp\"}"}}}}},
            {"resource": "/event", "http_method": "GET", "integration": {
                "type": "AWS_PROXY",
                "function": {"cluster": "lambda", "authority": "lambda.us-east-1.amazonaws.com",
                             "name": "echo_event"}}},
        ],
        "resource_policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": arn("*")},
            deny_unless("GET/checkout", json!({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}})),
            deny_unless("GET/local", json!({"NotIpAddress": {"aws:SourceIp": "127.0.0.1/32"}})),
            deny_unless("GET/secure", json!({"Bool": {"aws:SecureTransport": "false"}})),
            deny_unless("GET/private", json!({"StringNotEquals": {"aws:SourceVpce": VPCE}})),
            // Request headers AWS documents as condition keys (a client's say, not the gateway's).
            deny_unless("GET/partners", json!({"StringNotLike": {"aws:Referer": "https://partner.example/*"}})),
        ]},
        // Believed only from a trusted hop: with none, Envoy sets the scheme from the connection.
        "trusted_headers": {"source_vpce": "x-amzn-vpce-id", "forwarded_proto": "x-forwarded-proto"},
    })
}

/// Renders `spec` and starts the Envoy it describes.
fn gateway(name: &str, spec: &Value) -> Envoy {
    let dir = scratch_dir(name);
    let path = dir.join("spec.json");
    std::fs::write(&path, serde_json::to_string_pretty(spec).unwrap()).unwrap();
    let out = dir.join("gateway");
    render(&path, &out);
    Envoy::start_file(&out.join("envoy.yaml"), 1).unwrap_or_else(|log| panic!("{log}"))
}

/// The resource policy's explicit deny of `GET {path}`.
fn denied(r: &Response, path: &str, what: &str) {
    let message = format!(
        "User: anonymous is not authorized to perform: execute-api:Invoke on resource: {} with \
         an explicit deny",
        arn(&format!("GET{path}"))
    );
    assert_gateway_error(r, 403, &message, "AccessDeniedException", what);
}

/// The load balancer in front: an Envoy that, like a cloud load balancer, appends the address of
/// its caller to `X-Forwarded-For`, says it was called over HTTPS (it stands for one that
/// terminates TLS), sets the VPC endpoint header (it stands for the endpoint), and connects to
/// the gateways from [`HOP_ADDRESS`]. `/a/...` goes to one gateway, `/b/...` to the other. (An
/// Envoy with `use_remote_address` appends its own host's address rather than a loopback peer's,
/// so the hop appends its caller explicitly.)
fn hop(a: u16, b: u16) -> Envoy {
    let cluster = |name: &str, port: u16| {
        json!({
            "name": name, "type": "STATIC", "connect_timeout": "2s",
            "upstream_bind_config": {"source_address": {"address": HOP_ADDRESS, "port_value": 0}},
            "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]},
        })
    };
    let route = |prefix: &str, cluster: &str| json!({"match": {"prefix": prefix}, "route": {"cluster": cluster, "prefix_rewrite": "/"}});
    let bootstrap = json!({
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [{
                "name": "front",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "front",
                        "route_config": {
                            "request_headers_to_add": [
                                {"header": {"key": "x-forwarded-for",
                                            "value": "%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%"},
                                 "append_action": "APPEND_IF_EXISTS_OR_ADD"},
                                {"header": {"key": "x-forwarded-proto", "value": "https"},
                                 "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
                                {"header": {"key": "x-amzn-vpce-id", "value": VPCE},
                                 "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
                            ],
                            "virtual_hosts": [{"name": "front", "domains": ["*"], "routes": [
                                route("/a/", "a"), route("/b/", "b"),
                            ]}],
                        },
                        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
                    },
                }]}],
            }],
            "clusters": [cluster("a", a), cluster("b", b)],
        },
    });
    let path = scratch_dir("hop").join("hop.json");
    std::fs::write(&path, bootstrap.to_string()).unwrap();
    Envoy::start_named(&path, "front").unwrap_or_else(|log| panic!("{log}"))
}

fn header<'a>(headers: &'a Value, name: &str) -> Option<&'a str> {
    headers.as_object()?.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))?.1.as_str()
}

#[test]
fn clients_cannot_speak_for_the_gateway_or_a_trusted_hop() {
    let upstream = Upstream::start_with(UPSTREAM, &["--mode", "echo", "--name", "backend"]);
    let lambda = LambdaEmulator::start(&root().join("examples/lambda-proxy/functions"));
    let (cert, key) = ws::self_signed(&scratch_dir("trust-tls"));
    let tls = ws::trusting(&cert);
    let common = |hops: u32, tls: Option<(&Path, &Path)>| {
        let mut g = json!({
            "listen": "127.0.0.1:0", "admin_listen": "127.0.0.1:0", "envoy_admin": "127.0.0.1:0",
            "upstream": format!("http://127.0.0.1:{}", upstream.port),
            "clusters": {"lambda": format!("http://127.0.0.1:{}", lambda.port)},
            "trusted_hops": hops,
        });
        if let Some((cert, key)) = tls {
            g["tls"] = json!({"listen": "127.0.0.1:0", "cert": cert, "key": key});
        }
        g
    };
    // The edge gateway: nobody in front, so the caller is the TCP peer.
    let edge = gateway("trust-edge", &spec(common(0, Some((&cert, &key)))));
    let port = edge.port;
    let tls_port = edge.listener_port("api_tls").expect("the HTTPS listener");

    // With a resource policy, a method ARN over 1,600 bytes is AWS's 414.
    let long = format!("/items/{}", "a".repeat(1600));
    let r = get(port, &long, &[]);
    assert_gateway_error(&r, 414, "Request URI too long", "BadRequestException", "long ARN");
    assert_eq!(get(port, "/items/a", &[]).status, 200);

    // aws:Referer: the request's Referer header.
    denied(&get(port, "/partners", &[]), "/partners", "no Referer");
    denied(&get(port, "/partners", &[("referer", "https://evil.example/")]), "/partners", "other");
    let r = get(port, "/partners", &[("referer", "https://partner.example/app")]);
    assert_eq!(r.status, 200, "{}", r.text());

    // aws:SourceIp: the peer (127.0.0.1), whatever X-Forwarded-For says.
    for xff in ["", "10.9.9.9", "10.9.9.9, 10.1.1.1", "for=10.9.9.9"] {
        let headers: Vec<(&str, &str)> =
            if xff.is_empty() { vec![] } else { vec![("x-forwarded-for", xff)] };
        denied(&get(port, "/checkout", &headers), "/checkout", &format!("XFF {xff:?}"));
        let r = get(port, "/local", &headers);
        assert_eq!(r.status, 200, "XFF {xff:?}: {}", r.text());
        let r = get(port, "/whoami", &headers);
        assert_eq!((r.status, r.json()), (200, json!({"ip": "127.0.0.1"})), "XFF {xff:?}");
    }
    // ... and over HTTP/2 too.
    let r = h2c::request_claiming(
        port,
        "http",
        "GET",
        b"/checkout",
        &[("x-forwarded-for", b"10.9.9.9")],
    )
    .expect("an h2c answer");
    assert_eq!(r.status, 403, "{}", r.text());

    // What the upstream and the Lambda function are told: Envoy's X-Forwarded-For (the client's
    // words, then what Envoy appends for the peer: the peer, or for a loopback peer this host's
    // address), the scheme and port of the connection; no header of the gateway's own that a
    // client made up, and no VPC endpoint a client claimed.
    let r = get(port, "/echo", &[]);
    let appended = header(&r.json()["headers"], "x-forwarded-for").expect("XFF").to_string();
    assert!(appended.parse::<std::net::IpAddr>().is_ok(), "Envoy appends one address: {appended}");
    let forwarded = format!("10.9.9.9,{appended}");
    let spoofs = [
        ("x-forwarded-for", "10.9.9.9"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-port", "443"),
        ("x-amzn-vpce-id", VPCE),
        ("x-tollgate-api-key-id", "root-key"),
        ("x-tollgate-authorizer-principal-id", "admin"),
        ("X-Tollgate-Authorizer-Role", "admin"),
        ("x-tollgate-cluster", "lambda"),
    ];
    let r = get(port, "/echo", &spoofs);
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = r.json();
    assert_eq!(seen["server"], "backend", "x-tollgate-cluster did not pick the cluster");
    let headers = &seen["headers"];
    assert_eq!(header(headers, "x-forwarded-for"), Some(forwarded.as_str()), "{headers}");
    assert_eq!(header(headers, "x-forwarded-proto"), Some("http"), "{headers}");
    assert_eq!(header(headers, "x-forwarded-port"), Some(port.to_string().as_str()), "{headers}");
    assert_eq!(header(headers, "x-amzn-vpce-id"), None, "{headers}");
    let names: Vec<&String> = headers.as_object().unwrap().keys().collect();
    assert!(!names.iter().any(|n| n.to_ascii_lowercase().starts_with("x-tollgate-")), "{names:?}");

    let r = get(port, "/event", &spoofs);
    assert_eq!(r.status, 200, "{}", r.text());
    let event = r.json();
    assert_eq!(event["requestContext"]["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(header(&event["headers"], "x-forwarded-for"), Some(forwarded.as_str()));
    assert_eq!(header(&event["headers"], "x-forwarded-proto"), Some("http"));
    assert_eq!(header(&event["headers"], "x-forwarded-port"), Some(port.to_string().as_str()));
    assert_eq!(header(&event["headers"], "x-amzn-vpce-id"), None);
    assert!(header(&event["headers"], "x-tollgate-authorizer-principal-id").is_none());

    // aws:SecureTransport: TLS on the connection, never a client's X-Forwarded-Proto or an
    // HTTP/2 client's `:scheme`.
    denied(&get(port, "/secure", &[]), "/secure", "plain HTTP");
    denied(
        &get(port, "/secure", &[("x-forwarded-proto", "https")]),
        "/secure",
        "plain HTTP, XFP https",
    );
    let r = h2c::request_claiming(port, "https", "GET", b"/secure", &[]).expect("an h2c answer");
    assert_eq!(r.status, 403, "h2c claiming https: {}", r.text());
    let r = ws::https(tls_port, &tls, "GET", "/secure", &[]).expect("an HTTPS answer");
    assert_eq!(r.status, 200, "HTTPS: {}", r.text());
    let r = ws::https(tls_port, &tls, "GET", "/echo", &[("x-forwarded-proto", "http")]).unwrap();
    assert_eq!(header(&r.json()["headers"], "x-forwarded-proto"), Some("https"));

    // aws:SourceVpce: a client cannot claim the VPC endpoint.
    denied(
        &get(port, "/private", &[("x-amzn-vpce-id", VPCE)]),
        "/private",
        "client-sent VPC endpoint",
    );

    // Behind a load balancer. With trusted_hops: 1 the gateway believes the hop: the caller is
    // the address the hop saw (127.0.0.1), and the endpoint header is the hop's. Without it (the
    // edge gateway behind the same hop), the caller is the hop itself.
    let inner = gateway("trust-inner", &spec(common(1, None)));
    let front = hop(edge.port, inner.port);
    let through = |gw: &str, path: &str, headers: &[(&str, &str)]| {
        get(front.port, &format!("/{gw}{path}"), headers)
    };
    let r = through("b", "/whoami", &[("x-forwarded-for", "10.9.9.9")]);
    assert_eq!((r.status, r.json()), (200, json!({"ip": "127.0.0.1"})), "the hop's word");
    let r = through("b", "/local", &[("x-forwarded-for", "10.9.9.9")]);
    assert_eq!(r.status, 200, "{}", r.text());
    denied(
        &through("b", "/checkout", &[("x-forwarded-for", "10.9.9.9")]),
        "/checkout",
        "spoof through hop",
    );
    let r = through("b", "/private", &[]);
    assert_eq!(r.status, 200, "the hop's VPC endpoint: {}", r.text());
    let r = through("b", "/secure", &[]);
    assert_eq!(r.status, 200, "the TLS-terminating hop said https: {}", r.text());
    let r = through("b", "/event", &[]);
    let event = r.json();
    assert_eq!(event["requestContext"]["identity"]["sourceIp"], "127.0.0.1");
    let xff = header(&event["headers"], "x-forwarded-for").unwrap_or_default();
    assert!(xff.starts_with("127.0.0.1,"), "the hop's entry, then the gateway's: {xff}");

    let r = through("a", "/whoami", &[("x-forwarded-for", "10.9.9.9")]);
    assert_eq!((r.status, r.json()), (200, json!({"ip": HOP_ADDRESS})), "no hop trusted");
    denied(&through("a", "/local", &[]), "/local", "the hop is not the caller's address");
    denied(&through("a", "/private", &[]), "/private", "an untrusted hop's VPC endpoint");
    denied(&through("a", "/secure", &[]), "/secure", "an untrusted hop's https");
    drop(front);
    drop(inner);
    drop(edge);
}
