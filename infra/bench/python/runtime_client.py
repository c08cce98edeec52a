#!/usr/bin/env python3
"""A minimal AWS Lambda runtime API client: the loop a Python function runs in on Lambda.

It is the same protocol awslambdaric speaks, in a few lines, so the Python comparison
handlers start and run the way the Rust functions do under the benchmark's runtime API:

    AWS_LAMBDA_RUNTIME_API=127.0.0.1:4595 _HANDLER=ingest_handler.handler python runtime_client.py

Init: import the handler module (its module-level code is the function's cold start). A
failure there is reported to POST /runtime/init/error and the process exits. Then, forever:
GET /runtime/invocation/next, call handler(event, context), POST the JSON result to
.../{request id}/response, or the exception to .../{request id}/error.
"""

from __future__ import annotations

import http.client
import importlib
import json
import os
import sys
import time
import traceback

API = "/2018-06-01/runtime"


class Context:
    """The parts of Lambda's context object the handlers use."""

    def __init__(self, request_id: str, deadline_ms: int, function_arn: str) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def error_body(error: BaseException) -> bytes:
    return json.dumps(
        {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "stackTrace": traceback.format_exception(error)[-5:],
        }
    ).encode()


def main() -> None:
    host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].partition(":")
    connection = http.client.HTTPConnection(host, int(port or 80))

    def call(method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        connection.request(method, API + path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response, response.read()

    module_name, _, function_name = os.environ.get("_HANDLER", "").rpartition(".")
    try:
        sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT") or os.path.dirname(os.path.abspath(__file__)))
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as error:  # noqa: BLE001 - every init failure is reported the same way
        call("POST", "/init/error", error_body(error), {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
        sys.exit(1)

    while True:
        response, body = call("GET", "/invocation/next")
        request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
        context = Context(
            request_id,
            int(response.getheader("Lambda-Runtime-Deadline-Ms") or 0),
            response.getheader("Lambda-Runtime-Invoked-Function-Arn") or "",
        )
        try:
            result = handler(json.loads(body), context)
        except Exception as error:  # noqa: BLE001 - reported to the runtime API, as Lambda does
            call(
                "POST",
                f"/invocation/{request_id}/error",
                error_body(error),
                {"Lambda-Runtime-Function-Error-Type": "Unhandled"},
            )
            continue
        call("POST", f"/invocation/{request_id}/response", json.dumps(result).encode(), {"Content-Type": "application/json"})


if __name__ == "__main__":
    main()
