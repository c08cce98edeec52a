"""A local Lambda service: the Invoke API, function URLs, and one Lambda runtime API per
execution environment, each environment a process of the function's binary. `make dev`,
`make test` and the chaos run all run their functions under it.

It behaves as Lambda does where the tests need it to:
- each function runs with its own environment as template.yaml declares it (provision.py
  writes it, resolved, to the `.functions.json` file beside the env file), its Timeout, and the
  variables Lambda sets (AWS_LAMBDA_LOG_FORMAT / AWS_LAMBDA_LOG_LEVEL from LoggingConfig,
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE, the runtime API's address);
- when an environment's process dies while it holds an invocation, that invocation fails at
  once (`X-Amz-Function-Error`), the environment is discarded, and the next invocation starts a
  fresh one (a cold start); when it dies idle, it is discarded within 50 ms and no invocation
  is handed to it, so the next one gets a fresh environment at once;
- an invocation that outlives the function's Timeout fails, and its environment is killed;
- a function URL request builds API Gateway's HTTP API (payload 2.0) event as API Gateway does:
  the body as text for `text/*`, `application/json`, `application/xml` and
  `application/javascript` (when it is UTF-8), base64 for every other content type or none; a
  body over API Gateway's 10 MB payload limit, or an event over Lambda's synchronous
  invocation limit (6,291,456 bytes of JSON), is answered 413 without invoking the function.

    python lambda_host.py --functions .hookline/test.functions.json --port 9001 [--max-environments 4]

Endpoints on 127.0.0.1:PORT:
  POST /2015-03-31/functions/NAME/invocations   the Invoke API (RequestResponse)
  ANY  /lambda-url/NAME/<path>                  a function URL (API Gateway HTTP API v2 events)
  GET  /                                        readiness, and each function's environments
                                                ({"functions": {NAME: [{"pid": P, "busy": B}]}})
Function output goes to this process's own standard output and error.
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from runtime_api import Invocation, QuietServer, RuntimeApi  # same folder: the runtime API protocol

ROOT = Path(__file__).resolve().parents[2]

# API Gateway HTTP API's request payload quota (10 MB), and Lambda's for a synchronous
# invocation's request: "Request must be smaller than 6291456 bytes for the InvokeFunction
# operation" (RequestEntityTooLargeException).
API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024
LAMBDA_MAX_REQUEST_BYTES = 6_291_456
# Content types API Gateway's HTTP API hands a Lambda function as text (`isBase64Encoded`
# false); any other, or none, it base64-encodes. Its documentation says only "if the content
# type of the request is binary, the body is base64-encoded"; this split is the one observed on
# AWS and reported with ministack's fix (github.com/ministackorg/ministack, pull request 766).
TEXT_MEDIA_TYPES = ("application/json", "application/xml", "application/javascript")


def log(event: str, **fields) -> None:
    print(json.dumps({"time": time.time(), "source": "lambda_host", "event": event, **fields}), flush=True)


class Environment:
    """One execution environment: a process of the function's binary and the runtime API it
    polls (runtime_api.py), fed from the function's pending invocations."""

    def __init__(self, function: "Function"):
        self.function = function
        self.current: Invocation | None = None
        self.dead = False
        self.waiting = False  # its process is asking for the next invocation
        self.api = RuntimeApi(function.name, self)
        env = dict(function.env)
        env.update(
            AWS_LAMBDA_RUNTIME_API=self.api.address,
            AWS_LAMBDA_FUNCTION_NAME=function.name,
            AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(function.memory_mb),
            AWS_LAMBDA_LOG_STREAM_NAME=str(uuid.uuid4()),
        )
        self.process = subprocess.Popen([str(function.binary)], env=env, stdin=subprocess.DEVNULL)
        log("environment_started", function=function.name, pid=self.process.pid)

    # The runtime API's InvocationSource.
    def next(self) -> Invocation | None:
        return self.function.next_for(self)

    def requeue(self, invocation: Invocation) -> None:
        self.function.requeue(self, invocation)

    def finished(self, invocation: Invocation) -> None:
        with self.function.lock:
            if self.current is invocation:
                self.current = None

    def init_error(self, body: bytes) -> None:
        log("init_error", function=self.function.name, error=body[:500].decode(errors="replace"))

    def discard(self, reason: str) -> None:
        if self.dead:
            return
        self.dead = True
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        held = self.current
        self.current = None
        if held is not None:
            held.finish("error", json.dumps({"errorType": "Runtime.ExitError", "errorMessage": reason}).encode())
        self.api.close()
        log("environment_discarded", function=self.function.name, pid=self.process.pid, reason=reason,
            invocation_failed=held is not None)
        with self.function.lock:
            self.function.start_environments()  # for what this one would have taken


class Function:
    def __init__(
        self, name: str, timeout: float, max_environments: int, env: dict[str, str], bin_dir: Path, memory_mb: int = 128
    ):
        self.name = name
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.max_environments = max_environments
        self.env = env
        self.binary = bin_dir / name
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.pending: collections.deque[Invocation] = collections.deque()
        self.environments: list[Environment] = []

    def invoke(self, payload: bytes) -> Invocation:
        invocation = Invocation(payload, deadline_ms=int((time.time() + self.timeout) * 1000))
        with self.lock:
            self.pending.append(invocation)
            self.start_environments()
        if not invocation.done.wait(self.timeout + 1):
            with self.lock:
                if invocation in self.pending:
                    self.pending.remove(invocation)
                holder = next((e for e in self.environments if e.current is invocation), None)
            message = f"Task timed out after {self.timeout:.0f} seconds"
            invocation.finish("error", json.dumps({"errorType": "Sandbox.Timedout", "errorMessage": message}).encode())
            if holder is not None:
                holder.discard(message)
        return invocation

    def start_environments(self) -> None:
        """Under the lock: starts environments for the pending invocations no live, waiting
        environment will take (up to the maximum), and wakes the waiting ones."""
        self.environments = [e for e in self.environments if not e.dead]
        waiting = sum(1 for e in self.environments if e.waiting)
        while waiting < len(self.pending) and len(self.environments) < self.max_environments:
            self.environments.append(Environment(self))
            waiting += 1  # it will be, once its process asks for an invocation
        self.changed.notify_all()

    def next_for(self, environment: Environment) -> Invocation | None:
        """Blocks until an invocation is pending (None once the environment is dead)."""
        with self.lock:
            environment.waiting = True
            try:
                while not self.pending and not environment.dead:
                    self.changed.wait(0.5)
                # A process that died idle (killed, or crashed between invocations) is given
                # nothing: the supervisor discards it, and the invocation waits for a live one.
                if environment.dead or environment.process.poll() is not None:
                    return None
                invocation = self.pending.popleft()
                environment.current = invocation
                return invocation
            finally:
                environment.waiting = False

    def requeue(self, environment: Environment, invocation: Invocation) -> None:
        with self.lock:
            environment.current = None
            if not invocation.done.is_set():
                self.pending.appendleft(invocation)
                self.changed.notify_all()

    def status(self) -> list[dict]:
        with self.lock:
            return [
                {"pid": e.process.pid, "busy": e.current is not None} for e in self.environments if not e.dead
            ]

    def supervise(self, stop: threading.Event) -> None:
        while not stop.wait(0.05):
            with self.lock:
                environments = list(self.environments)
            for environment in environments:
                code = environment.process.poll()
                if code is not None and not environment.dead:
                    environment.discard(f"Runtime exited with status {code}")


def api_gateway_event(handler: BaseHTTPRequestHandler, path: str, query: str, body: bytes) -> dict:
    headers: dict[str, str] = {}
    for name, value in handler.headers.items():
        name = name.lower()
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": handler.command,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": handler.client_address[0],
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        **event_body(headers.get("content-type", ""), body),
    }


def event_body(content_type: str, body: bytes) -> dict:
    """The event's `body` and `isBase64Encoded`, as API Gateway sets them for `content_type`."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type.startswith("text/") or media_type in TEXT_MEDIA_TYPES:
        try:
            return {"body": body.decode("utf-8"), "isBase64Encoded": False}
        except UnicodeDecodeError:
            pass
    return {"body": base64.b64encode(body).decode(), "isBase64Encoded": True}


class FrontHandler(BaseHTTPRequestHandler):
    functions: dict[str, Function]
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        parts = url.path.split("/")
        if url.path == "/":
            status = {name: function.status() for name, function in sorted(self.functions.items())}
            return self.reply(200, json.dumps({"functions": status}).encode(), {"content-type": "application/json"})
        if len(parts) == 5 and parts[1:3] == ["2015-03-31", "functions"] and parts[4] == "invocations":
            function = self.functions.get(parts[3])
            if function is None:
                return self.reply(404, b'{"Type":"User","message":"Function not found"}')
            invocation = function.invoke(body)
            headers = {"content-type": "application/json"}
            if invocation.error:
                headers["x-amz-function-error"] = "Unhandled"
            return self.reply(200, invocation.body, headers)
        if len(parts) >= 3 and parts[1] == "lambda-url":
            function = self.functions.get(parts[2])
            if function is None:
                return self.reply(404, b'{"message":"Not Found"}')
            path = "/" + "/".join(parts[3:])
            too_large = b'{"message":"Request Entity Too Large"}'
            if len(body) > API_GATEWAY_MAX_BODY_BYTES:
                return self.reply(413, too_large, {"content-type": "application/json"})
            event = json.dumps(api_gateway_event(self, path, url.query, body)).encode()
            if len(event) > LAMBDA_MAX_REQUEST_BYTES:
                # What API Gateway answers when Lambda refuses the invocation as too large.
                return self.reply(413, too_large, {"content-type": "application/json"})
            invocation = function.invoke(event)
            if invocation.error:
                # What API Gateway answers when the integration fails or times out.
                return self.reply(503, b'{"message":"Service Unavailable"}', {"content-type": "application/json"})
            return self.reply(*http_response(invocation.body))
        self.reply(404, b'{"message":"Not Found"}')

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


def http_response(raw: bytes) -> tuple[int, bytes, dict[str, str]]:
    """A function URL's response from the function's API Gateway v2 response."""
    try:
        response = json.loads(raw)
        status = int(response.get("statusCode", 200))
        body = response.get("body") or ""
        body = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
        headers = {k: str(v) for k, v in (response.get("headers") or {}).items()}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name] = ",".join(str(v) for v in values)
        return status, body, headers
    except (ValueError, TypeError, AttributeError):
        return 502, b'{"message":"Internal Server Error"}', {"content-type": "application/json"}


# What a function's process inherits from this host's own environment (Lambda passes none of
# it; these only help a person debugging locally).
INHERITED = ("PATH", "TMPDIR", "RUST_LOG", "RUST_BACKTRACE")


def load_functions(path: Path, bin_dir: Path, max_environments: int) -> dict[str, Function]:
    """The functions of the specs file provision.py wrote."""
    document = json.loads(path.read_text())
    inherited = {k: os.environ[k] for k in INHERITED if k in os.environ}
    functions = {}
    for spec in document["functions"]:
        env = {**inherited, **document.get("common_environment", {}), **spec.get("environment", {})}
        function = Function(
            spec["name"], float(spec["timeout_seconds"]), max_environments, env, bin_dir, int(spec.get("memory_mb", 128))
        )
        if not function.binary.exists():
            raise SystemExit(f"lambda_host: {function.binary} does not exist (cargo build first)")
        functions[function.name] = function
    return functions


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=Path, required=True, help="the .functions.json file provision.py wrote")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-environments", type=int, default=4, help="per function (default 4)")
    parser.add_argument("--bin-dir", type=Path, default=ROOT / "target" / "debug", help="where the binaries are")
    args = parser.parse_args(argv)
    functions = load_functions(args.functions, args.bin_dir, args.max_environments)
    stop = threading.Event()
    for function in functions.values():
        threading.Thread(target=function.supervise, args=(stop,), daemon=True).start()
    front = QuietServer(("127.0.0.1", args.port), type("Front", (FrontHandler,), {"functions": functions}))
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=front.serve_forever, daemon=True).start()
    log("started", port=args.port, functions=sorted(functions))
    stop.wait()
    front.shutdown()
    for function in functions.values():
        function.max_environments = 0  # no replacements for what is discarded now
        for environment in list(function.environments):
            environment.discard("host stopped")
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
