"""Drives load with wrk pinned to its own core and parses its report."""

import re
import subprocess

_UNITS = {"us": 1.0, "ms": 1000.0, "s": 1_000_000.0}


def _micros(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not m:
        raise ValueError(f"cannot read latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse(output):
    """rps, p50/p99 latency (µs), request count and error counts from `wrk --latency` output."""
    result = {"non2xx": 0, "socket_errors": 0}
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("Requests/sec:"):
            result["rps"] = float(line.split()[1])
        elif m := re.match(r"(\d+) requests in ([\d.]+)(\w+),", line):
            result["requests"] = int(m.group(1))
        elif m := re.match(r"(50|99)(?:\.000)?%\s+(\S+)", line):
            result[f"p{m.group(1)}_us"] = _micros(m.group(2))
        elif line.startswith("Non-2xx or 3xx responses:"):
            result["non2xx"] = int(line.split(":")[1])
        elif line.startswith("Socket errors:"):
            result["socket_errors"] = sum(int(n) for n in re.findall(r"\d+", line))
    missing = {"rps", "requests", "p50_us", "p99_us"} - result.keys()
    if missing:
        raise RuntimeError(f"wrk output lacks {sorted(missing)}:\n{output}")
    return result


def wrk(port, path, headers, seconds, connections, threads=1, cpu="1"):
    cmd = ["taskset", "-c", cpu, "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
           "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=seconds + 60)
    return parse(out.stdout)
