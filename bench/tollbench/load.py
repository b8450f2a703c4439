"""Drives load with wrk pinned to its own core and parses its report."""

import os
import re
import subprocess
import tempfile

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


def lua_string(value):
    """A Lua string literal for `value` (str or bytes): quotes and backslashes escaped, bytes
    outside printable ASCII as decimal escapes."""
    data = value.encode() if isinstance(value, str) else bytes(value)
    return '"' + "".join("\\" + chr(b) if b in (34, 92) else chr(b) if 32 <= b < 127 else f"\\{b:03d}"
                         for b in data) + '"'


def lua_script(request, rotate_files=None):
    """A wrk script sending `request` (method, body, headers) on every call; wrk adds
    Content-Length for the body, and sends a Host of its own unless the request carries one.

    `rotate_files` maps each of `request.rotate`'s header names to a file of its values, one a
    line: the script reads them when it loads and gives request i (per wrk thread, from 0) the
    value i mod their number, as `Request.nth` does."""
    lines = [f"wrk.method = {lua_string(request.method)}"]
    if request.body:
        lines.append(f"wrk.body = {lua_string(request.body)}")
    for name, value in request.headers.items():
        lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
    if request.rotate:
        lines += [
            "local function values(path)",
            "  local t = {}",
            "  for line in io.lines(path) do t[#t + 1] = line end",
            "  return t",
            "end",
            "local rotate = {}",
        ]
        for name in request.rotate:
            lines.append(f"rotate[#rotate + 1] = {{{lua_string(name)}, values({lua_string(rotate_files[name])})}}")
        lines += [
            "local sent = 0",
            "function request()",
            "  for _, r in ipairs(rotate) do",
            "    wrk.headers[r[1]] = r[2][sent % #r[2] + 1]",
            "  end",
            "  sent = sent + 1",
            "  return wrk.format()",
            "end",
        ]
    return "\n".join(lines) + "\n"


def wrk(port, request, seconds, connections, threads=1, cpu="1"):
    """Runs wrk against `request` (see contenders.Request): a `GET` without a body or rotated
    headers goes as `-H` headers, anything else through a generated Lua script (`-s`)."""
    cmd = ["taskset", "-c", cpu, "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
           "--latency", "--timeout", "5s"]
    scratch = []
    try:
        if request.method == "GET" and not request.body and not request.rotate:
            for name, value in request.headers.items():
                cmd += ["-H", f"{name}: {value}"]
        else:
            rotate_files = {}
            for name, values in request.rotate.items():
                if any("\n" in v or "\r" in v for v in values):
                    raise ValueError(f"a rotated {name} value holds a line break")
                with tempfile.NamedTemporaryFile("w", prefix="tollbench-", suffix=".txt", delete=False) as f:
                    scratch.append(f.name)
                    f.write("".join(v + "\n" for v in values))
                rotate_files[name] = f.name
            with tempfile.NamedTemporaryFile("w", prefix="tollbench-", suffix=".lua", delete=False) as f:
                scratch.append(f.name)
                f.write(lua_script(request, rotate_files))
            cmd += ["-s", f.name]
        cmd.append(f"http://127.0.0.1:{port}{request.path}")
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=seconds + 60)
    finally:
        for path in scratch:
            os.unlink(path)
    return parse(out.stdout)
