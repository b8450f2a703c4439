//! The Envoy clusters a spec needs: the default upstream, one per integration host (the host of
//! an HTTP integration URI names its cluster, as the filter routes by it), the clusters that
//! AWS service integrations, Lambda functions and JWKS fetches name (signed with SigV4 by Envoy
//! where AWS needs it), and any extra ones in `gateway.clusters`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{json, Value};
use tollgate_core::config::{Config, IntegrationType};
use tollgate_core::deployment::Deployment;
use tollgate_core::plan::Plan;
use tollgate_core::transform::integration::substitute_stage_variables;

use super::BUFFER_LIMIT;
use crate::spec::Gateway;

/// The cluster of `gateway.upstream`: where methods without an integration URI go.
pub const UPSTREAM: &str = "upstream";

/// Where a cluster's one endpoint is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl Address {
    /// `http://host[:port]` or `https://host[:port]`, with nothing after the authority but `/`.
    pub fn parse(url: &str) -> Result<Address, String> {
        let (authority, path) = Address::split(url)?;
        if !path.is_empty() && path != "/" {
            return Err(format!("`{url}` has a path; an address is scheme://host[:port]"));
        }
        Ok(authority)
    }

    /// The scheme and authority of an integration URI (`http://orders:8080/orders/{id}`).
    fn of_uri(uri: &str) -> Result<Address, String> {
        Address::split(uri).map(|(address, _)| address)
    }

    pub(super) fn split(url: &str) -> Result<(Address, &str), String> {
        let bad = || format!("`{url}` is not http://host[:port] or https://host[:port]");
        let (tls, rest) = match url.split_once("://") {
            Some(("http", rest)) => (false, rest),
            Some(("https", rest)) => (true, rest),
            _ => return Err(bad()),
        };
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let (host, port) = split_authority(authority).ok_or_else(bad)?;
        let port = match port {
            Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(bad)?,
            None if tls => 443,
            None => 80,
        };
        Ok((Address { tls, host: host.to_string(), port }, path))
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        let host =
            if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        format!("{scheme}://{host}:{}", self.port)
    }
}

/// `host`, `host:port`, `[v6]:port` -> (host, port); `None` when it is not one.
fn split_authority(authority: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        host.parse::<std::net::Ipv6Addr>().ok()?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let host_ok =
        !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b));
    host_ok.then_some((host, port))
}

/// The address an authority such as `lambda.us-east-1.amazonaws.com` stands for, when it is a
/// host (a dotted name, `localhost` or an IP address): HTTPS unless a port says otherwise is
/// not guessed, so always HTTPS.
fn address_of_authority(authority: &str) -> Option<Address> {
    let (host, port) = split_authority(authority)?;
    let is_host = host.contains('.') || host == "localhost" || host.parse::<IpAddr>().is_ok();
    let port = match port {
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0)?,
        None => 443,
    };
    is_host.then(|| Address { tls: true, host: host.to_string(), port })
}

/// SigV4 signing of a cluster's requests by Envoy (`aws_request_signing`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signing {
    pub service: String,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub name: String,
    pub address: Address,
    pub signing: Option<Signing>,
    /// Spoken to over HTTP/2 (gRPC: the rate-limit service of global usage plans).
    pub http2: bool,
    /// What needs the cluster, for messages: `methods[2].integration.uri (stage prod)`.
    pub origin: String,
}

/// Collects clusters by name; the first origin of each is kept for messages.
struct Clusters<'g> {
    named: &'g BTreeMap<String, String>,
    list: Vec<Cluster>,
}

impl Clusters<'_> {
    /// Adds the cluster `name` that `origin` needs: at its `gateway.clusters` address, else at
    /// `derived`.
    fn add(
        &mut self,
        name: &str,
        derived: Option<Address>,
        signing: Option<Signing>,
        origin: String,
    ) -> Result<(), String> {
        let address = match self.named.get(name) {
            Some(url) => {
                Address::parse(url).map_err(|e| format!("gateway.clusters.{name}: {e}"))?
            }
            None => derived.ok_or_else(|| {
                format!(
                    "cluster `{name}` ({origin}) has no address: add it to the spec as \
                     gateway.clusters.{name}: \"https://host:port\""
                )
            })?,
        };
        if let Some(seen) = self.list.iter().find(|c| c.name == name) {
            if seen.address != address {
                return Err(format!(
                    "cluster `{name}` is {} for {} but {} for {origin}; name one address as \
                     gateway.clusters.{name}",
                    seen.address.url(),
                    seen.origin,
                    address.url()
                ));
            }
            if seen.signing != signing {
                return Err(format!(
                    "cluster `{name}` is needed by {} and by {origin}, which sign differently \
                     (or one does not sign); give them different clusters",
                    seen.origin
                ));
            }
            return Ok(());
        }
        self.list.push(Cluster { name: name.to_string(), address, signing, http2: false, origin });
        Ok(())
    }
}

/// Whether a method's requests go to `gateway.upstream` (no integration URI to route by, and
/// not answered by the filter itself).
pub fn uses_upstream(method: &tollgate_core::config::Method) -> bool {
    match &method.integration {
        None => true,
        Some(i) => {
            matches!(i.kind, IntegrationType::Http | IntegrationType::HttpProxy) && i.uri.is_none()
        }
    }
}

/// Every cluster the spec needs, `upstream` first.
pub fn collect(
    gateway: &Gateway,
    config: &Config,
    deployment: &Deployment,
) -> Result<Vec<Cluster>, String> {
    let mut clusters = Clusters { named: &gateway.clusters, list: Vec::new() };
    let needing = config.methods.iter().position(uses_upstream);
    match (&gateway.upstream, needing) {
        (Some(_), _) if gateway.clusters.contains_key(UPSTREAM) => {
            return Err(format!(
                "gateway.clusters.{UPSTREAM}: the `{UPSTREAM}` cluster is gateway.upstream; set one"
            ));
        }
        (Some(url), _) => {
            let address = Address::parse(url).map_err(|e| format!("gateway.upstream: {e}"))?;
            clusters.add(UPSTREAM, Some(address), None, "gateway.upstream".into())?;
        }
        (None, Some(i)) if !gateway.clusters.contains_key(UPSTREAM) => {
            let m = &config.methods[i];
            return Err(format!(
                "methods[{i}] ({} {}) has no integration URI, so it goes to gateway.upstream, \
                 which is not set: add gateway.upstream: \"http://host:port\"",
                m.http_method, m.resource
            ));
        }
        (None, _) => {}
    }
    let several = deployment.stages.len() > 1;
    for stage in &deployment.stages {
        let plans = std::iter::once(&stage.plan).chain(stage.canary.iter().map(|c| &c.plan));
        for (side, plan) in plans.enumerate() {
            let suffix = match (several, side) {
                (_, 1) => format!(" (stage {}, canary)", stage.name),
                (true, _) => format!(" (stage {})", stage.name),
                (false, _) => String::new(),
            };
            plan_clusters(&mut clusters, config, plan, &suffix)?;
        }
    }
    for (i, authorizer) in config.authorizers.iter().enumerate() {
        if let Some(uri) = &authorizer.jwks_uri {
            let derived = address_of_authority(&uri.authority);
            clusters.add(&uri.cluster, derived, None, format!("authorizers[{i}].jwks_uri"))?;
        }
        for (k, uri) in authorizer.jwks_uris.iter().enumerate() {
            let derived = address_of_authority(&uri.authority);
            let origin = format!("authorizers[{i}].jwks_uris[{k}]");
            clusters.add(&uri.cluster, derived, None, origin)?;
        }
    }
    // gRPC services (HTTP/2): the rate-limit service and the key store (often the same one).
    let grpc = [
        config.rate_limit_service.as_ref().map(|s| (&s.cluster, "rate_limit_service.cluster")),
        config.api_key_store.as_ref().map(|s| (&s.cluster, "api_key_store.cluster")),
    ];
    for (cluster, origin) in grpc.into_iter().flatten() {
        if !clusters.list.iter().any(|c| &c.name == cluster) {
            clusters.add(cluster, None, None, origin.to_string())?;
        }
        if let Some(c) = clusters.list.iter_mut().find(|c| &c.name == cluster) {
            c.http2 = true;
        }
    }
    for name in gateway.clusters.keys() {
        if !clusters.list.iter().any(|c| &c.name == name) {
            clusters.add(name, None, None, format!("gateway.clusters.{name}"))?;
        }
    }
    let mut list = clusters.list;
    for name in &gateway.signed_clusters {
        if !list.iter().any(|c| &c.name == name && c.signing.is_some()) {
            return Err(format!(
                "gateway.signed_clusters: `{name}` is not a cluster of a Lambda function, \
                 authorizer or AWS service integration, the only ones Envoy signs"
            ));
        }
    }
    // Envoy signs with the AWS credentials of its environment: only for AWS itself, or for a
    // stand-in the spec names, never for any local address by default.
    for cluster in &mut list {
        if !is_aws_endpoint(&cluster.address.host)
            && !gateway.signed_clusters.contains(&cluster.name)
        {
            cluster.signing = None;
        }
    }
    Ok(list)
}

/// An AWS service endpoint (`lambda.us-east-1.amazonaws.com`, `*.amazonaws.com.cn`,
/// `*.api.aws`), where requests must be signed.
fn is_aws_endpoint(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    [".amazonaws.com", ".amazonaws.com.cn", ".api.aws"].iter().any(|suffix| host.ends_with(suffix))
}

/// The clusters one compiled stage (or canary) calls: integration hosts with its stage
/// variables, AWS services, Lambda functions and authorizers.
fn plan_clusters(
    clusters: &mut Clusters<'_>,
    config: &Config,
    plan: &Plan,
    suffix: &str,
) -> Result<(), String> {
    for (i, (method, compiled)) in config.methods.iter().zip(&plan.methods).enumerate() {
        let (Some(integration), Some(compiled)) = (&method.integration, &compiled.integration)
        else {
            continue;
        };
        let origin = format!("methods[{i}].integration{suffix}");
        if let (Some(uri), Some(authority)) = (&integration.uri, &compiled.uri_authority) {
            let uri = substitute_stage_variables(uri, &plan.stage_variables)
                .map_err(|e| format!("methods[{i}].integration.uri: {e}"))?;
            let address = Address::of_uri(&uri)
                .map_err(|e| format!("methods[{i}].integration.uri{suffix}: {e}"))?;
            // The filter names the cluster by the URI's host (see CLUSTER_HEADER).
            let name = authority.rsplit_once(':').map_or(authority.as_str(), |(h, _)| h);
            clusters.add(name, Some(address), None, format!("{origin}.uri"))?;
        }
        if let Some(aws) = &compiled.aws {
            let mut parts = aws.authority.splitn(3, '.');
            let signing = match (parts.next(), parts.next()) {
                (Some(service), Some(region)) => {
                    Signing { service: service.into(), region: region.into() }
                }
                _ => return Err(format!("{origin}: no service in `{}`", aws.authority)),
            };
            let derived = address_of_authority(&aws.authority);
            clusters.add(&aws.cluster, derived, Some(signing), format!("{origin}.cluster"))?;
        }
        if let Some(lambda) = &compiled.lambda {
            let signing = lambda_signing(&lambda.authority, &config.api.region);
            let derived = address_of_authority(&lambda.authority);
            clusters.add(&lambda.cluster, derived, Some(signing), format!("{origin}.function"))?;
        }
    }
    for (i, authorizer) in plan.lambda_authorizers.iter().enumerate() {
        let signing = lambda_signing(&authorizer.authority, &config.api.region);
        let derived = address_of_authority(&authorizer.authority);
        let origin = format!("lambda_authorizers[{i}].function{suffix}");
        clusters.add(&authorizer.cluster, derived, Some(signing), origin)?;
    }
    Ok(())
}

/// Lambda's Invoke API is signed for `lambda` in the region of `lambda.REGION.amazonaws.com`
/// (the API's region for other authorities, such as a local emulator).
fn lambda_signing(authority: &str, api_region: &str) -> Signing {
    let region = authority
        .strip_prefix("lambda.")
        .and_then(|rest| rest.split_once('.'))
        .map_or(api_region, |(region, _)| region);
    Signing { service: "lambda".into(), region: region.into() }
}

/// The system's CA bundle, for clusters reached over HTTPS.
const CA_BUNDLES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

fn ca_bundle() -> Result<&'static str, String> {
    CA_BUNDLES.into_iter().find(|p| std::path::Path::new(p).exists()).ok_or_else(|| {
        format!(
            "a cluster is reached over HTTPS but no CA bundle was found (looked for {})",
            CA_BUNDLES.join(", ")
        )
    })
}

/// The Envoy cluster.
pub fn envoy_cluster(cluster: &Cluster) -> Result<Value, String> {
    let Cluster { name, address, signing, http2, .. } = cluster;
    let ip = address.host.parse::<IpAddr>().is_ok();
    let mut out = json!({
        "name": name,
        "type": if ip { "STATIC" } else { "STRICT_DNS" },
        "connect_timeout": "5s",
        "per_connection_buffer_limit_bytes": BUFFER_LIMIT,
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {
            "address": {"socket_address": {"address": address.host, "port_value": address.port}},
        }}]}]},
    });
    if !ip {
        out["dns_lookup_family"] = json!("V4_PREFERRED");
    }
    if address.tls {
        out["transport_socket"] = json!({
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                "sni": address.host,
                "common_tls_context": {"validation_context": {
                    "trusted_ca": {"filename": ca_bundle()?},
                    "match_typed_subject_alt_names": [{"san_type": "DNS", "matcher": {"exact": address.host}}],
                }},
            },
        });
    }
    if *http2 {
        out["typed_extension_protocol_options"] = json!({
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            },
        });
    }
    if let Some(Signing { service, region }) = signing {
        // Envoy signs with the credentials of its environment (AWS_ACCESS_KEY_ID, ...) only.
        out["typed_extension_protocol_options"] = json!({
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http_protocol_options": {}},
                "http_filters": [
                    {"name": "envoy.filters.http.aws_request_signing", "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.aws_request_signing.v3.AwsRequestSigning",
                        "service_name": service,
                        "region": region,
                        "use_unsigned_payload": false,
                        "credential_provider": {
                            "custom_credential_provider_chain": true,
                            "environment_credential_provider": {},
                        },
                    }},
                    {"name": "envoy.filters.http.upstream_codec", "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec"}},
                ],
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let a = Address::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!((a.tls, a.host.as_str(), a.port), (false, "127.0.0.1", 8080));
        let a = Address::parse("https://lambda.eu-west-1.amazonaws.com/").unwrap();
        assert_eq!((a.tls, a.port), (true, 443));
        assert_eq!(Address::parse("http://[::1]:9000").unwrap().url(), "http://[::1]:9000");
        for bad in ["127.0.0.1:80", "ftp://x", "http://", "http://a:0", "http://a:x", "http://a/p"]
        {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
        let a = Address::of_uri("http://orders:8081/orders/{id}?x=1").unwrap();
        assert_eq!((a.host.as_str(), a.port), ("orders", 8081));
    }

    #[test]
    fn authorities_that_are_hosts() {
        assert!(address_of_authority("cognito-idp.us-east-1.amazonaws.com").is_some());
        assert_eq!(address_of_authority("127.0.0.1:9001").map(|a| a.port), Some(9001));
        assert_eq!(address_of_authority("jwks"), None);
        assert_eq!(
            lambda_signing("lambda.eu-west-1.amazonaws.com", "us-east-1").region,
            "eu-west-1"
        );
        assert_eq!(lambda_signing("lambda", "us-east-1").region, "us-east-1");
    }
}
