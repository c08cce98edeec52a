"""The Lambda runtime API as one execution environment's process sees it, on 127.0.0.1.

    GET  /2018-06-01/runtime/invocation/next              the next invocation (blocks)
    POST /2018-06-01/runtime/invocation/{id}/response     its result
    POST /2018-06-01/runtime/invocation/{id}/error        its error
    POST /2018-06-01/runtime/init/error                   a failed cold start

The one implementation of the protocol: the local Lambda host (lambda_host.py, which `make dev`,
`make test` and the chaos run use) serves each of its environments with it, and the benchmarks
(infra/bench/process.py) serve the function processes they time with it. Where invocations come
from is the caller's (an `InvocationSource`); this module only speaks HTTP the way Lambda does:
the headers of `next` (request id, deadline, function ARN, trace id), responses and errors by
request id, and an invocation is never handed to a process that already closed its connection
(it died waiting): it goes back to its source for the next environment.
"""

from __future__ import annotations

import json
import select
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

RUNTIME = "/2018-06-01/runtime"
ACCOUNT_ID = "123456789012"


class Invocation:
    """One invocation: its payload in, its response or error out (the first one counts)."""

    def __init__(self, payload: bytes, deadline_ms: int | None = None):
        self.id = str(uuid.uuid4())
        self.payload = payload
        # Lambda's deadline runs from the invoke; None: from the moment a process receives it.
        self.deadline_ms = deadline_ms
        self.done = threading.Event()
        self.kind = ""  # "response" | "error"
        self.body = b""
        self.finished_at = 0.0  # time.perf_counter() when the result arrived

    def finish(self, kind: str, body: bytes) -> bool:
        if self.done.is_set():
            return False
        self.kind, self.body, self.finished_at = kind, body, time.perf_counter()
        self.done.set()
        return True

    @property
    def error(self) -> bool:
        return self.kind == "error"

    def json(self):
        return json.loads(self.body or b"null")


class InvocationSource(Protocol):
    def next(self) -> Invocation | None:
        """Blocks until there is an invocation for this environment; None: give it nothing."""

    def requeue(self, invocation: Invocation) -> None:
        """An invocation handed out that its process never received."""

    def finished(self, invocation: Invocation) -> None:
        """Its result arrived (already recorded on the invocation)."""

    def init_error(self, body: bytes) -> None:
        """The process reported a failed cold start."""


class QuietServer(ThreadingHTTPServer):
    """A connection its client dropped (a killed or stopped process) is not an error here."""

    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            super().handle_error(request, client_address)


class RuntimeApi:
    """One environment's runtime API; `port` 0 picks a free one (`self.port`)."""

    def __init__(self, function_name: str, source: InvocationSource, port: int = 0, default_timeout_ms: int = 30_000):
        self.function_name = function_name
        self.source = source
        self.default_timeout_ms = default_timeout_ms
        self.first_next_at: float | None = None  # time.perf_counter() of the process's first `next`
        self.lock = threading.Lock()
        self.handed: dict[str, Invocation] = {}
        api = self

        class Handler(RuntimeApiHandler):
            pass

        Handler.api = api
        self.server = QuietServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.address = f"127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, name=f"runtime-api-{self.port}", daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RuntimeApiHandler(BaseHTTPRequestHandler):
    api: RuntimeApi
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def log_message(self, *_):
        pass

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def peer_alive(self) -> bool:
        """False once the process closed its end of the connection."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return not readable or self.connection.recv(1, socket.MSG_PEEK) != b""
        except OSError:
            return False

    def body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def do_GET(self):  # noqa: N802
        api = self.api
        if self.path != f"{RUNTIME}/invocation/next":
            return self.reply(404, b'{"errorType":"NotFound"}')
        with api.lock:
            if api.first_next_at is None:
                api.first_next_at = time.perf_counter()
        invocation = api.source.next()
        if invocation is not None and not self.peer_alive():
            api.source.requeue(invocation)  # its process died waiting: the next environment's
            invocation = None
        if invocation is None:
            self.close_connection = True
            try:
                self.reply(500, b'{"errorType":"EnvironmentDiscarded"}')
            except OSError:
                pass
            return
        deadline = invocation.deadline_ms or int(time.time() * 1000) + api.default_timeout_ms
        with api.lock:
            api.handed[invocation.id] = invocation
        try:
            self.reply(
                200,
                invocation.payload,
                {
                    "lambda-runtime-aws-request-id": invocation.id,
                    "lambda-runtime-deadline-ms": str(deadline),
                    "lambda-runtime-invoked-function-arn": f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{api.function_name}",
                    "lambda-runtime-trace-id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Sampled=0",
                },
            )
        except OSError:
            with api.lock:
                api.handed.pop(invocation.id, None)
            api.source.requeue(invocation)
            self.close_connection = True

    def do_POST(self):  # noqa: N802
        api = self.api
        body = self.body()
        if self.path == f"{RUNTIME}/init/error":
            api.source.init_error(body or b"init error")
            return self.reply(202, b'{"status":"OK"}')
        prefix = f"{RUNTIME}/invocation/"
        request_id, _, kind = self.path[len(prefix) :].partition("/") if self.path.startswith(prefix) else ("", "", "")
        if kind not in ("response", "error"):
            return self.reply(404, b'{"errorType":"NotFound"}')
        with api.lock:
            invocation = api.handed.pop(request_id, None)
        if invocation is None:
            return self.reply(400, b'{"errorType":"InvalidRequestID"}')
        invocation.finish(kind, body)
        api.source.finished(invocation)
        return self.reply(202, b'{"status":"OK"}')
