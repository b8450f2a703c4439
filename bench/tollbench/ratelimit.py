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
CLI_BIN = ROOT / "target/release/tollgate"
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
    """Redis and `tollgate-ratelimit` with the limits of `config` (a filter config dict); with
    `store_keys`, that many keys (`key_value(i)`, plan `bench`) imported into its key store with
    `tollgate keys import --store`, as an operator would."""

    def __init__(self, config_json, workdir, store_keys=0, name="ratelimit"):
        self.config_json = config_json
        self.dir = Path(workdir) / name
        self.procs = []
        self.port = 0
        self.store_keys = store_keys

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
        if self.store_keys:
            self._import_keys(config, redis_port)
        return self

    def _import_keys(self, spec, redis_port):
        from .contenders import key_value

        csv = self.dir / "keys.csv"
        with open(csv, "w") as f:
            f.write("Name,Key,UsagePlanIds\n")
            for i in range(self.store_keys):
                f.write(f"key-{i:07d},{key_value(i)},bench\n")
        subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "tollgate-cli"], cwd=ROOT, check=True)
        started = time.monotonic()
        subprocess.run([str(CLI_BIN), "keys", "import", str(spec), "--file", str(csv),
                        "--store", f"redis://127.0.0.1:{redis_port}"], check=True, capture_output=True)
        print(f"  {self.store_keys:,} keys imported into the key store in "
              f"{time.monotonic() - started:.1f} s", flush=True)
        csv.unlink()

    def stop(self):
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs = []
