#!/usr/bin/env python3
"""A local AWS Lambda for Tollgate's examples and end-to-end tests (Python 3 standard library only).

It speaks the synchronous part of the Lambda Invoke API, the calls Envoy forwards when Tollgate
invokes a Lambda authorizer:

    POST /2015-03-31/functions/{name}/invocations     (X-Amz-Invocation-Type: RequestResponse)

`{name}` is a function name, `name:qualifier` or a function ARN; the function is the Python file
`{functions_dir}/{name}.py`, and its `handler(event, context)` (or `lambda_handler`, the name the
AWS console gives it) is called exactly as the Python runtime of AWS Lambda calls it. Answers are
AWS's: 200 with the JSON result; 200 with `X-Amz-Function-Error: Unhandled` and
`{"errorMessage", "errorType", "stackTrace"}` when the handler raises; 404
`ResourceNotFoundException` for an unknown function; 400 for a body that is not JSON or an
invocation type other than RequestResponse.

For tests it counts invocations per function: `GET /_emulator/invocations` answers
`{"name": count, ...}`, `POST /_emulator/reset` sets every count back to 0.

    python3 emulator.py --port 9100 --functions examples/lambda-authorizer/authorizers

prints `listening on 127.0.0.1:PORT` as its first line (`--port 0` picks a free port). Requests
are served concurrently (one thread per connection), so a handler may sleep. What the handlers
print goes to stderr, as Lambda sends it to CloudWatch Logs.
"""

import argparse
import importlib.util
import json
import os
import re
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")
# AWS: letters, digits, `-` and `_`, at most 64 characters.
FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
REGION = "us-east-1"
ACCOUNT = "123456789012"
# AWS's cap on a synchronous request payload.
MAX_PAYLOAD = 6 * 1024 * 1024


class LambdaContext:
    """The context object of AWS's Python runtime (the attributes handlers use)."""

    def __init__(self, name, timeout_seconds, memory_mb):
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        self.memory_limit_in_mb = str(memory_mb)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class Functions:
    """Loads `{dir}/{name}.py` once (again when the file changes) and counts invocations."""

    def __init__(self, directory):
        self.directory = directory
        self.lock = threading.Lock()
        self.modules = {}  # name -> (mtime, module)
        self.counts = {}

    def path(self, name):
        return os.path.join(self.directory, name + ".py")

    def exists(self, name):
        return FUNCTION_NAME.match(name) is not None and os.path.isfile(self.path(name))

    def load(self, name):
        """The function's module, imported as Lambda does at a cold start (its top level runs once)."""
        path = self.path(name)
        mtime = os.stat(path).st_mtime_ns
        with self.lock:
            cached = self.modules.get(name)
            if cached and cached[0] == mtime:
                return cached[1]
            spec = importlib.util.spec_from_file_location(f"lambda_function_{name}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self.modules[name] = (mtime, module)
            return module

    def count(self, name):
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + 1

    def snapshot(self):
        with self.lock:
            return dict(self.counts)

    def reset(self):
        with self.lock:
            self.counts = {name: 0 for name in self.counts}


def function_name(raw):
    """`name`, `name:qualifier` or `arn:aws:lambda:region:account:function:name[:qualifier]`."""
    name = urllib.parse.unquote(raw)
    if name.startswith("arn:"):
        parts = name.split(":")
        name = parts[6] if len(parts) >= 7 and parts[5] == "function" else ""
    return name.split(":", 1)[0]


def error_payload(exc):
    """AWS's answer for an exception the handler raised."""
    # The handler's frames, as AWS reports them (not the emulator's own call into it).
    frames = traceback.extract_tb(exc.__traceback__)[1:]
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_list(frames),
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Envoy's upstream connections expect
    server_version = "tollgate-lambda-emulator"
    sys_version = ""

    def log_message(self, format, *args):
        if not self.server.quiet:
            sys.stderr.write("emulator: %s\n" % (format % args))

    def reply(self, status, payload, headers=()):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD:
            return None
        return self.rfile.read(length) if length else b""

    def do_GET(self):
        if self.path.split("?", 1)[0] == "/_emulator/invocations":
            self.reply(200, self.server.functions.snapshot())
        else:
            self.reply(404, {"message": "not found"}, [("x-amzn-ErrorType", "UnknownOperationException")])

    def do_POST(self):
        body = self.read_body()
        path = self.path.split("?", 1)[0]
        if path == "/_emulator/reset":
            self.server.functions.reset()
            self.reply(200, self.server.functions.snapshot())
            return
        match = INVOKE_PATH.match(path)
        if not match:
            self.reply(404, {"message": "not found"}, [("x-amzn-ErrorType", "UnknownOperationException")])
            return
        if body is None:
            self.reply(
                413,
                {"Type": "User", "message": f"Request must be smaller than {MAX_PAYLOAD} bytes for the InvokeFunction operation"},
                [("x-amzn-ErrorType", "RequestTooLargeException")],
            )
            return
        self.invoke(function_name(match.group(1)), body)

    def invoke(self, name, body):
        functions = self.server.functions
        if not functions.exists(name):
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
            self.reply(
                404,
                {"Type": "User", "Message": f"Function not found: {arn}"},
                [("x-amzn-ErrorType", "ResourceNotFoundException")],
            )
            return
        invocation_type = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        if invocation_type != "RequestResponse":
            self.reply(
                400,
                {"Type": "User", "message": f"Unsupported invocation type {invocation_type}: the emulator runs only RequestResponse"},
                [("x-amzn-ErrorType", "InvalidParameterValueException")],
            )
            return
        try:
            event = json.loads(body) if body.strip() else {}
        except ValueError as e:
            self.reply(
                400,
                {"Type": "User", "message": f"Could not parse request body into json: {e}"},
                [("x-amzn-ErrorType", "InvalidRequestContentException")],
            )
            return

        functions.count(name)
        context = LambdaContext(name, self.server.function_timeout, self.server.memory)
        log = sys.stderr
        if not self.server.quiet:
            log.write(f"START RequestId: {context.aws_request_id} Version: $LATEST\n")
        started = time.monotonic()
        headers = [("X-Amz-Executed-Version", "$LATEST")]
        try:
            module = functions.load(name)
            handler = getattr(module, "handler", None) or getattr(module, "lambda_handler", None)
            if not callable(handler):
                raise HandlerNotFound(f"{name}.handler is undefined or not exported")
            result = handler(event, context)
        except HandlerNotFound as e:
            error = runtime_error("Runtime.HandlerNotFound", str(e))
        except Exception as e:  # the handler's error, reported as Lambda reports it
            error = error_payload(e)
        else:
            try:
                payload = json.dumps(result).encode()
                error = None
            except (TypeError, ValueError) as e:
                error = runtime_error("Runtime.MarshalError", f"Unable to marshal response: {e}")
        if error is not None:
            error["requestId"] = context.aws_request_id
            if not self.server.quiet:
                log.write(json.dumps(error) + "\n")
            payload = json.dumps(error).encode()
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        if not self.server.quiet:
            ms = (time.monotonic() - started) * 1000
            log.write(f"END RequestId: {context.aws_request_id}\n")
            log.write(f"REPORT RequestId: {context.aws_request_id}\tDuration: {ms:.2f} ms\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", context.aws_request_id)
        for header, value in headers:
            self.send_header(header, value)
        self.end_headers()
        self.wfile.write(payload)


class HandlerNotFound(Exception):
    pass


def runtime_error(error_type, message):
    return {"errorMessage": message, "errorType": error_type, "requestId": "", "stackTrace": []}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A caller that gave up (Envoy's timeout resets the stream) is no error of the emulator.
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def main():
    parser = argparse.ArgumentParser(description="A local AWS Lambda (Invoke API, RequestResponse).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100, help="0 picks a free port")
    parser.add_argument("--functions", required=True, help="directory of {name}.py handler files")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds; what get_remaining_time_in_millis() counts down from (Lambda's default: 3)")
    parser.add_argument("--memory", type=int, default=128, help="context.memory_limit_in_mb")
    parser.add_argument("--quiet", action="store_true", help="no request log and no START/END/REPORT lines")
    args = parser.parse_args()
    if not os.path.isdir(args.functions):
        parser.error(f"--functions {args.functions} is not a directory")

    server = Server((args.host, args.port), Handler)
    server.functions = Functions(os.path.abspath(args.functions))
    server.function_timeout = args.timeout
    server.memory = args.memory
    server.quiet = args.quiet
    host, port = server.server_address[:2]
    print(f"listening on {host}:{port}", flush=True)
    # Whoever started us may read only that line: handlers' print() goes to stderr from here on
    # (as Lambda sends it to the function's log), so a closed stdout never fails a handler.
    sys.stdout = sys.stderr
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
