"""Instructions per request, counted by valgrind's callgrind: deterministic, so small per-request
costs (one host call, one callback) can be priced on a busy machine where wall-clock throughput
is too noisy. Envoy runs under callgrind, serves warm-up requests, then the counters are zeroed,
`n` requests are sent one after another on one keep-alive connection, and the counters dumped.
"""

import http.client
import subprocess
import time
from pathlib import Path

from . import envoy as E

VALGRIND = ["valgrind", "--tool=callgrind", "--smc-check=all-non-file"]


def _send(port, n, request, start=0):
    """`n` times the contender's `request` (a `contenders.Request`) on one keep-alive connection,
    its variants `start` to `start + n - 1` when it rotates headers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for i in range(start, start + n):
        req = request.nth(i)
        conn.request(req.method, req.path, body=req.body or None, headers=req.headers)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError(f"got {r.status}")
    conn.close()


def _total(dump):
    for line in dump.read_text().splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise RuntimeError(f"no summary in {dump}")


def count(envoy_bin, contender, setup, workdir, n=2000, warmup=300, cpus="0"):
    """Instructions Envoy executes per request for one contender (all threads, user space)."""
    out = Path(workdir) / f"callgrind-{contender.name.replace(':', '_').replace('/', '_')}"
    out.mkdir(parents=True, exist_ok=True)
    wrapper = VALGRIND + [f"--callgrind-out-file={out}/callgrind.out"]
    envoy = E.Envoy(envoy_bin, "cg-" + contender.name, contender.bootstrap(setup, workdir), workdir,
                    cpus=cpus, wrapper=wrapper)
    try:
        envoy.start(timeout=600)
        contender.verify(envoy, setup)
        _send(envoy.port, warmup, contender.request_for(setup, envoy.port))
        request = contender.request_for(setup, envoy.port)
        pid = str(envoy.proc.pid)
        subprocess.run(["callgrind_control", "-z", pid], check=True, capture_output=True)
        # Rotated headers carry on after the warm-up's (a cold cache stays cold).
        _send(envoy.port, n, request, start=warmup)
        subprocess.run(["callgrind_control", "-d", pid], check=True, capture_output=True)
        for _ in range(100):
            dumps = sorted(out.glob("callgrind.out*"), key=lambda p: p.stat().st_mtime)
            if dumps:
                break
            time.sleep(0.1)
        return _total(dumps[-1]) / n
    finally:
        envoy.stop()
