"""The rate-limit service of the global usage-plan contender: Redis (append-only file on) and
`tollgate-ratelimit` on free loopback ports, unpinned (the filter calls them once per leased
batch, not per request), started before the contenders and stopped after them."""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from .envoy import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVICE_BIN = ROOT / "target/release/tollgate-ratelimit"
CLUSTER = "ratelimit"


def _wait(port, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{what} did not start on port {port}")


class Service:
    """Redis and `tollgate-ratelimit` with the limits of `config` (a filter config dict)."""

    def __init__(self, config_json, workdir):
        self.config_json = config_json
        self.dir = Path(workdir) / "ratelimit"
        self.procs = []
        self.port = 0

    def start(self):
        if not shutil.which("redis-server"):
            sudo = [] if os.geteuid() == 0 else ["sudo"]
            subprocess.run(sudo + ["apt-get", "install", "-y", "-q", "redis-server"], check=True,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "tollgate-ratelimit"],
                       cwd=ROOT, check=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        config = self.dir / "tollgate.json"
        config.write_text(self.config_json)
        redis_port, self.port = free_port(), free_port()
        self.procs.append(subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--dir", str(self.dir)], stdout=subprocess.DEVNULL))
        _wait(redis_port, "redis-server")
        self.procs.append(subprocess.Popen(
            [str(SERVICE_BIN), "--config", str(config), "--listen", f"127.0.0.1:{self.port}",
             "--redis", f"redis://127.0.0.1:{redis_port}"], stderr=open(self.dir / "service.log", "w")))
        _wait(self.port, "tollgate-ratelimit")
        return self

    def stop(self):
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs = []
