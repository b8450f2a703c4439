//! The rate-limit service of global usage plans on Kubernetes, for `--target istio` and
//! `--target envoy-gateway`: `tollgate-ratelimit` (the `make dist` image, a static binary on an
//! empty base) reading the API's filter config from a ConfigMap, and Redis keeping the counts
//! in an append-only file on a volume, so a restart of either loses nothing.
//!
//! Rendered when the spec has `rate_limit_service` or `api_key_store` and its cluster has no
//! address of the user's (`gateway.clusters`): the cluster then names the Service rendered here
//! (the one service counts global plans and serves the key store).

use serde_json::{json, Value};

use super::kubernetes::{metadata, object_name};
use super::RenderArgs;
use crate::spec::Spec;

/// The service's gRPC port (`tollgate-ratelimit --listen`).
const PORT: u16 = 8081;
const REDIS_PORT: u16 = 6379;
const CONFIG_DIR: &str = "/etc/tollgate";
/// The image's user (`nobody`), whom the image runs as.
const USER: u64 = 65534;

/// The Service name of the rate-limit service of `api`.
fn service_name(api: &str) -> String {
    object_name(&["tollgate-ratelimit", api])
}

fn redis_name(api: &str) -> String {
    object_name(&["tollgate-redis", api])
}

/// The address the filter's cluster gets when the user gave none: the Service rendered here.
pub fn default_address(api: &str, namespace: Option<&str>) -> String {
    let ns = namespace.unwrap_or("default");
    format!("http://{}.{ns}.svc.cluster.local:{PORT}", service_name(api))
}

/// Gives the rate-limit and key-store clusters the address of the Service rendered here when
/// the spec names none; says whether it did (then [`objects`] are wanted).
pub fn adopt_cluster(spec: &mut Spec, namespace: Option<&str>) -> bool {
    let clusters: Vec<String> = [
        spec.config.rate_limit_service.as_ref().map(|s| s.cluster.clone()),
        spec.config.api_key_store.as_ref().map(|s| s.cluster.clone()),
    ]
    .into_iter()
    .flatten()
    .filter(|c| !spec.gateway.clusters.contains_key(c))
    .collect();
    let address = default_address(&spec.config.api.id, namespace);
    for cluster in &clusters {
        spec.gateway.clusters.insert(cluster.clone(), address.clone());
    }
    !clusters.is_empty()
}

/// ConfigMap, Deployment and Service of `tollgate-ratelimit`; StatefulSet and Service of Redis.
pub fn objects(spec: &Spec, args: &RenderArgs) -> Result<Vec<Value>, String> {
    let api = &spec.config.api.id;
    let ns = args.namespace.as_deref();
    let (name, redis) = (service_name(api), redis_name(api));
    let config = serde_json::to_string_pretty(&spec.config).map_err(|e| e.to_string())?;
    let file = format!("{}.json", object_name(&[api]));
    let image = args
        .ratelimit_image
        .clone()
        .unwrap_or_else(|| format!("tollgate-ratelimit:{}", env!("CARGO_PKG_VERSION")));
    let labels = |component: &str| json!({"app.kubernetes.io/name": component, "tollgate.dev/api": object_name(&[api])});
    let secure = json!({
        "runAsNonRoot": true, "runAsUser": USER, "runAsGroup": USER,
        "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
        "capabilities": {"drop": ["ALL"]},
    });
    let config_map = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": metadata(&name, ns, api),
        "data": {file.clone(): config},
    });
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": metadata(&name, ns, api),
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels("tollgate-ratelimit")},
            "template": {
                "metadata": {"labels": labels("tollgate-ratelimit")},
                "spec": {
                    "containers": [{
                        "name": "tollgate-ratelimit",
                        "image": image,
                        "args": [
                            "--config", format!("{CONFIG_DIR}/{file}"),
                            "--redis", format!("redis://{redis}:{REDIS_PORT}"),
                            "--listen", format!("0.0.0.0:{PORT}"),
                        ],
                        "ports": [{"name": "grpc", "containerPort": PORT, "protocol": "TCP"}],
                        "readinessProbe": {"tcpSocket": {"port": "grpc"}, "periodSeconds": 5},
                        "securityContext": secure.clone(),
                        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": true}],
                        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                    }],
                    "volumes": [{"name": "config", "configMap": {"name": name}}],
                },
            },
        },
    });
    let service = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": metadata(&name, ns, api),
        "spec": {
            "selector": labels("tollgate-ratelimit"),
            // `grpc`: Istio and Envoy Gateway speak HTTP/2 to it.
            "ports": [{"name": "grpc", "port": PORT, "targetPort": "grpc", "appProtocol": "grpc"}],
        },
    });
    let redis_image = args.redis_image.clone().unwrap_or_else(|| "redis:7".into());
    let statefulset = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": metadata(&redis, ns, api),
        "spec": {
            "serviceName": redis,
            "replicas": 1,
            "selector": {"matchLabels": labels("tollgate-redis")},
            "template": {
                "metadata": {"labels": labels("tollgate-redis")},
                "spec": {
                    // The official image's `redis` user.
                    "securityContext": {"runAsUser": 999, "runAsGroup": 999, "fsGroup": 999},
                    "containers": [{
                        "name": "redis",
                        "image": redis_image,
                        // Every count written to the append-only file before it is answered.
                        "args": ["--appendonly", "yes", "--appendfsync", "always", "--dir", "/data"],
                        "ports": [{"name": "redis", "containerPort": REDIS_PORT, "protocol": "TCP"}],
                        "readinessProbe": {"exec": {"command": ["redis-cli", "ping"]}, "periodSeconds": 5},
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                    }],
                },
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            }],
        },
    });
    let redis_service = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": metadata(&redis, ns, api),
        "spec": {
            "selector": labels("tollgate-redis"),
            "ports": [{"name": "redis", "port": REDIS_PORT, "targetPort": "redis", "appProtocol": "redis"}],
        },
    });
    Ok(vec![config_map, deployment, service, statefulset, redis_service])
}
