#!/usr/bin/env python3
"""A local AWS Lambda for Tollgate's examples and end-to-end tests (Python 3 standard library only).

It speaks the synchronous part of the Lambda Invoke API, the calls Envoy forwards when Tollgate
invokes a Lambda authorizer:

    POST /2015-03-31/functions/{name}/invocations     (X-Amz-Invocation-Type: RequestResponse)

`{name}` is a function name, `name:qualifier` or a function ARN; the function is the Python file
`{functions_dir}/{name}.py`, and its `handler(event, context)` (or `lambda_handler`, the name the
AWS console gives it) is called exactly as the Python runtime of AWS Lambda calls it.

Node.js handlers run too: without a `{name}.py`, the function is `{name}.js` (CommonJS,
`exports.handler`) or `{name}.mjs` (`export const handler`), called as Lambda's Node.js runtime
calls it: async (a promise), with a callback, or through the legacy `context.succeed` / `fail` /
`done`. They run in one long-lived `node node_runtime.js` child (started on the first such call,
`node` from PATH), so AWS's Node.js samples run unchanged.

Answers are AWS's, whatever the language: 200 with the JSON result; 200 with
`X-Amz-Function-Error: Unhandled` and `{"errorMessage", "errorType", "stackTrace"}` when the
handler raises (or rejects, or calls back with an error); 404
`ResourceNotFoundException` for an unknown function; 400 for a body that is not JSON or an
invocation type other than RequestResponse.

For tests it counts invocations per function: `GET /_emulator/invocations` answers
`{"name": count, ...}`, `POST /_emulator/reset` sets every count back to 0.

    python3 emulator.py --port 9100 --functions examples/lambda-authorizer/authorizers

prints `listening on 127.0.0.1:PORT` as its first line (`--port 0` picks a free port). Requests
are served concurrently (one thread per connection), so a handler may sleep. What the handlers
print (or console.log) goes to stderr, as Lambda sends it to CloudWatch Logs.
"""

import argparse
import importlib.util
import json
import os
import re
import subprocess
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
# Handler files, in the order a name is looked up.
SOURCE_EXTENSIONS = (".py", ".js", ".mjs")
NODE_RUNTIME = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_runtime.js")
# The runner answers a handler's timeout itself; one that is later still than this is stuck (a
# handler blocking its event loop) and is replaced.
NODE_GRACE_SECONDS = 2.0


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
    """Loads `{dir}/{name}.py` once (again when the file changes), runs `{name}.js` / `{name}.mjs`
    in a Node.js runner, and counts invocations."""

    def __init__(self, directory):
        self.directory = directory
        self.lock = threading.Lock()
        self.modules = {}  # name -> (mtime, module)
        self.counts = {}
        self.runner = None  # the NodeRunner, started on the first JavaScript invocation

    def path(self, name):
        return os.path.join(self.directory, name + ".py")

    def source(self, name):
        """The function's file (`.py` first, then `.js`, then `.mjs`), or None when there is none."""
        if FUNCTION_NAME.match(name) is None:
            return None
        for extension in SOURCE_EXTENSIONS:
            path = os.path.join(self.directory, name + extension)
            if os.path.isfile(path):
                return path
        return None

    def exists(self, name):
        return self.source(name) is not None

    def node(self):
        """The Node.js runner, (re)started when there is none alive."""
        with self.lock:
            if self.runner is None or not self.runner.alive:
                self.runner = NodeRunner(self.directory)
            return self.runner

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


class FunctionError(Exception):
    """A JavaScript handler's error, with the payload the Node.js runner reported."""

    def __init__(self, payload):
        super().__init__(payload.get("errorMessage"))
        self.payload = {
            "errorMessage": payload.get("errorMessage"),
            "errorType": payload.get("errorType"),
            "requestId": "",
            "stackTrace": payload.get("stackTrace") or [],
        }


class NodeRunner:
    """One long-lived `node node_runtime.js` that runs every JavaScript function: a JSON request
    per line on its stdin, a JSON answer per line on its stdout. Invocations overlap (a thread per
    connection), so each request has an id and its thread waits for the answer with that id."""

    def __init__(self, directory):
        # cwd: handlers that open files relative to their code find them, as in /var/task on Lambda.
        # stderr is inherited: what handlers log goes where the emulator logs.
        self.process = subprocess.Popen(
            ["node", NODE_RUNTIME], cwd=directory, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self.lock = threading.Lock()  # next_id, waiters, alive
        self.write_lock = threading.Lock()  # one request line at a time on stdin
        self.next_id = 0
        self.waiters = {}  # id -> Waiter
        self.alive = True
        threading.Thread(target=self.read_answers, daemon=True).start()

    def read_answers(self):
        for line in self.process.stdout:
            try:
                answer = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                waiter = self.waiters.pop(answer.get("id"), None)
            if waiter is not None:
                waiter.answer = answer
                waiter.done.set()
        # stdout closed: node exited (it crashed, or was killed as stuck), so nothing will answer
        # the invocations still waiting; the next invocation starts a new runner.
        status = self.process.wait()
        with self.lock:
            self.alive = False
            waiters, self.waiters = self.waiters, {}
        exited = {"errorMessage": f"Runtime exited with error: exit status {status}", "errorType": "Runtime.ExitError"}
        for waiter in waiters.values():
            waiter.answer = {"error": exited}
            waiter.done.set()

    def invoke(self, path, event, context):
        """The handler's result; raises FunctionError with the payload when it failed."""
        timeout_ms = context.get_remaining_time_in_millis()
        with self.lock:
            self.next_id += 1
            request_id = self.next_id
        request = {
            "id": request_id,
            "file": path,
            "event": event,
            "context": {
                "functionName": context.function_name,
                "functionVersion": context.function_version,
                "invokedFunctionArn": context.invoked_function_arn,
                "memoryLimitInMB": context.memory_limit_in_mb,
                "awsRequestId": context.aws_request_id,
                "logGroupName": context.log_group_name,
                "logStreamName": context.log_stream_name,
            },
            "timeoutMs": timeout_ms,
        }
        try:
            # json.loads took NaN and Infinity in the body; JSON.parse would not, and the runner
            # could not even tell which request to answer.
            line = json.dumps(request, allow_nan=False).encode() + b"\n"
        except ValueError as e:
            raise FunctionError({"errorMessage": f"Could not unmarshal the event: {e}", "errorType": "Runtime.UnmarshalError"})
        waiter = Waiter()
        with self.lock:
            # Checked with the same lock read_answers takes to fail the waiters of a runner that
            # exited: a waiter is either failed there or never registered.
            if not self.alive:
                raise FunctionError({"errorMessage": "Runtime exited", "errorType": "Runtime.ExitError"})
            self.waiters[request_id] = waiter
        try:
            with self.write_lock:
                self.process.stdin.write(line)
                self.process.stdin.flush()
        except OSError:
            pass  # node has exited: read_answers answers this waiter with the exit error
        if not waiter.done.wait(timeout_ms / 1000 + NODE_GRACE_SECONDS):
            # The runner missed its own deadline: a handler blocks its event loop, and every other
            # JavaScript function with it. Replace it, as Lambda replaces a timed-out sandbox.
            with self.lock:
                self.waiters.pop(request_id, None)
                self.alive = False  # the next invocation starts a new runner at once
            self.process.kill()
            raise FunctionError(
                {
                    "errorMessage": f"RequestId: {context.aws_request_id} Error: Task timed out after {timeout_ms / 1000:.2f} seconds",
                    "errorType": "Sandbox.Timedout",
                }
            )
        if "error" in waiter.answer:
            raise FunctionError(waiter.answer["error"])
        return waiter.answer.get("result")


class Waiter:
    """An invocation waiting for the runner's answer."""

    def __init__(self):
        self.done = threading.Event()
        self.answer = None


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
        source = functions.source(name)
        if source is None:
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
        # As Lambda's runtime does, the invocation's trace header is the handler's
        # _X_AMZN_TRACE_ID (one invocation at a time per environment on Lambda; here the last
        # one started wins).
        trace = self.headers.get("X-Amzn-Trace-Id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        try:
            if source.endswith(".py"):
                module = functions.load(name)
                handler = getattr(module, "handler", None) or getattr(module, "lambda_handler", None)
                if not callable(handler):
                    raise HandlerNotFound(f"{name}.handler is undefined or not exported")
                result = handler(event, context)
            else:
                result = functions.node().invoke(source, event, context)
        except HandlerNotFound as e:
            error = runtime_error("Runtime.HandlerNotFound", str(e))
        except FunctionError as e:  # a JavaScript handler's error, as the runner reported it
            error = e.payload
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
    # socketserver's default listen backlog (5) overflows when a burst of calls arrives at once,
    # and the kernel then resets some of those connections.
    request_queue_size = 128

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
    parser.add_argument("--functions", required=True, help="directory of {name}.py, {name}.js or {name}.mjs handler files")
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
