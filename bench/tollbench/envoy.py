"""Envoy bootstraps for the benchmark and a process wrapper pinned to one core.

Every contender gets the same listener and the same route: a `direct_response` 200 with a small
body, so neither an upstream nor the network is measured, only Envoy and its HTTP filters.
"""

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ROUTER = {
    "name": "envoy.filters.http.router",
    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
}

BODY = '{"ok":true}\n'


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bootstrap(http_filters, origin=False, grpc_clusters=(), access_log=None, route_metadata=None,
              route_filters=None):
    """A bootstrap with one listener (free port), the given filters before the router, and a
    direct_response route for every path. With `origin`, the route instead goes to a second
    listener of the same Envoy that gives that answer (for filters that need a cluster behind
    the route, like Envoy's cache filter, which fetches misses itself). `access_log`: the
    connection manager's access loggers (none by default); `route_metadata`: the route's
    `filter_metadata` (what a rendered route carries, for loggers that read it);
    `route_filters`: the route's `typed_per_filter_config` (filters it turns on or off)."""
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "bench",
        "route_config": {
            "virtual_hosts": [
                {
                    "name": "bench",
                    "domains": ["*"],
                    "routes": [
                        {
                            "match": {"prefix": "/"},
                            "direct_response": {"status": 200, "body": {"inline_string": BODY}},
                        }
                    ],
                }
            ]
        },
        "http_filters": list(http_filters) + [ROUTER],
    }
    if access_log:
        hcm["access_log"] = access_log
    if route_metadata:
        hcm["route_config"]["virtual_hosts"][0]["routes"][0]["metadata"] = {"filter_metadata": route_metadata}
    if route_filters:
        hcm["route_config"]["virtual_hosts"][0]["routes"][0]["typed_per_filter_config"] = route_filters
    config = {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [
                {
                    "name": "bench",
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                    "filter_chains": [
                        {
                            "filters": [
                                {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}
                            ]
                        }
                    ],
                }
            ]
        },
    }
    if origin:
        port = free_port()
        answer = json.loads(json.dumps(hcm))
        answer["stat_prefix"] = "origin"
        answer["http_filters"] = [ROUTER]
        # Cacheable for an hour, so that Envoy's cache filter (which fetches misses itself,
        # past the filters behind it) stores it.
        answer["route_config"]["virtual_hosts"][0]["routes"][0]["response_headers_to_add"] = [
            {"header": {"key": "cache-control", "value": "max-age=3600"}}]
        resources = config["static_resources"]
        resources["listeners"].append({
            "name": "origin",
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
            "filter_chains": [{"filters": [
                {"name": "envoy.filters.network.http_connection_manager", "typed_config": answer}]}],
        })
        resources["clusters"] = [{
            "name": "origin", "type": "STATIC", "connect_timeout": "1s",
            "load_assignment": {"cluster_name": "origin", "endpoints": [{"lb_endpoints": [{"endpoint": {
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]},
        }]
        hcm["route_config"]["virtual_hosts"][0]["routes"][0] = {"match": {"prefix": "/"}, "route": {"cluster": "origin"}}
    # HTTP/2 clusters (name, port) for the filter's gRPC calls (the rate-limit service).
    for name, port in grpc_clusters:
        config["static_resources"].setdefault("clusters", []).append({
            "name": name, "type": "STATIC", "connect_timeout": "1s",
            "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}}}},
            "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]},
        })
    return config


def http_get(port, path, headers=None, timeout=5.0):
    """(status, body) of a GET on the loopback; 4xx/5xx are answers, not exceptions."""
    return http_request(port, "GET", path, headers, timeout=timeout)


def http_request(port, method, path, headers=None, body=b"", timeout=5.0):
    """(status, body) of a request on the loopback (a `Host` in `headers` is sent as given);
    4xx/5xx are answers, not exceptions."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body or None,
                                 headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Envoy:
    """One Envoy process, `--concurrency N`, pinned with `taskset` to `cpus`."""

    def __init__(self, binary, name, config, workdir, cpus="0", concurrency=1, wrapper=()):
        self.binary = binary
        self.name = name
        self.dir = Path(workdir) / re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.dir / "envoy.json"
        self.config_path.write_text(json.dumps(config))
        self.log_path = self.dir / "envoy.log"
        self.admin_file = self.dir / "admin.address"
        self.cpus = cpus
        self.concurrency = concurrency
        # A command Envoy runs under (valgrind ...); it must exec Envoy in the same process.
        self.wrapper = list(wrapper)
        self.proc = None
        self.port = None
        self.admin_port = None
        self.ready_seconds = None

    def start(self, timeout=120.0):
        """Starts Envoy and waits for /ready; records the time from exec to ready."""
        if self.admin_file.exists():
            self.admin_file.unlink()
        cmd = [
            "taskset", "-c", self.cpus, *self.wrapper, str(self.binary),
            "-c", str(self.config_path),
            "--concurrency", str(self.concurrency),
            "--admin-address-path", str(self.admin_file),
            "--log-path", str(self.log_path),
            "--disable-hot-restart",
            "-l", "warning",
        ]
        started = time.monotonic()
        # taskset (and valgrind) exec, so the pid is Envoy's own.
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = started + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"envoy {self.name} exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"envoy {self.name} not ready after {timeout:.0f} s:\n{self.log()}")
            if self.admin_port is None:
                try:
                    self.admin_port = int(self.admin_file.read_text().strip().rsplit(":", 1)[1])
                except (OSError, ValueError, IndexError):
                    time.sleep(0.005)
                    continue
            try:
                status, _ = http_get(self.admin_port, "/ready", timeout=1.0)
            except OSError:
                status = None
            if status == 200:
                self.ready_seconds = time.monotonic() - started
                break
            time.sleep(0.005)
        _, body = http_get(self.admin_port, "/listeners?format=json")
        listeners = json.loads(body)["listener_statuses"]
        bench = next(l for l in listeners if l["name"] == "bench")
        self.port = bench["local_address"]["socket_address"]["port_value"]
        return self

    def log(self):
        try:
            return self.log_path.read_text()[-4000:]
        except OSError:
            return ""

    def cpu_seconds(self):
        """User + system CPU time Envoy has used so far (all its threads)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        # Fields after the ")" start at state (3); utime is 14, stime 15.
        return (int(fields[11]) + int(fields[12])) / ticks

    def rss_kib(self):
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
