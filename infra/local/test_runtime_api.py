"""Tests of runtime_api.py: the Lambda runtime API protocol, with a test source of invocations and
this process's own HTTP client playing the function."""

from __future__ import annotations

import http.client
import json
import queue
import socket
import threading
import time
import unittest

from runtime_api import RUNTIME, Invocation, RuntimeApi


class Source:
    def __init__(self):
        self.pending: queue.Queue[Invocation] = queue.Queue()
        self.requeued: list[Invocation] = []
        self.finished_ids: list[str] = []
        self.init_errors: list[bytes] = []

    def next(self):
        try:
            return self.pending.get(timeout=5)
        except queue.Empty:
            return None

    def requeue(self, invocation):
        self.requeued.append(invocation)

    def finished(self, invocation):
        self.finished_ids.append(invocation.id)

    def init_error(self, body):
        self.init_errors.append(body)


class RuntimeApiTest(unittest.TestCase):
    def setUp(self):
        self.source = Source()
        self.api = RuntimeApi("echo", self.source, default_timeout_ms=2_000)

    def tearDown(self):
        self.api.close()

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.api.port, timeout=10)
        connection.request(method, RUNTIME + path, body=body, headers=headers or {})
        try:
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def test_next_carries_the_lambda_headers_and_a_response_finishes_the_invocation(self):
        invocation = Invocation(b'{"n":1}')
        self.source.pending.put(invocation)
        before = time.time() * 1000
        status, headers, body = self.request("GET", "/invocation/next")
        self.assertEqual((status, body), (200, b'{"n":1}'))
        self.assertEqual(headers["lambda-runtime-aws-request-id"], invocation.id)
        self.assertTrue(before + 1_500 < int(headers["lambda-runtime-deadline-ms"]) <= time.time() * 1000 + 2_000)
        self.assertEqual(headers["lambda-runtime-invoked-function-arn"], "arn:aws:lambda:us-east-1:123456789012:function:echo")
        self.assertTrue(headers["lambda-runtime-trace-id"].startswith("Root=1-"))
        self.assertIsNotNone(self.api.first_next_at)

        status, _, _ = self.request("POST", f"/invocation/{invocation.id}/response", b'{"ok":true}')
        self.assertEqual(status, 202)
        self.assertTrue(invocation.done.is_set())
        self.assertEqual((invocation.kind, invocation.json()), ("response", {"ok": True}))
        self.assertEqual(self.source.finished_ids, [invocation.id])
        # A second answer for the same request is refused, and changes nothing.
        status, _, _ = self.request("POST", f"/invocation/{invocation.id}/error", b"{}")
        self.assertEqual(status, 400)
        self.assertEqual(invocation.kind, "response")

    def test_an_invocation_deadline_is_kept_and_errors_arrive_chunked_or_not(self):
        invocation = Invocation(b"{}", deadline_ms=1_234)
        self.source.pending.put(invocation)
        _, headers, _ = self.request("GET", "/invocation/next")
        self.assertEqual(headers["lambda-runtime-deadline-ms"], "1234")
        connection = http.client.HTTPConnection("127.0.0.1", self.api.port, timeout=10)
        connection.putrequest("POST", f"{RUNTIME}/invocation/{invocation.id}/error")
        connection.putheader("transfer-encoding", "chunked")
        connection.endheaders()
        for chunk in (b'{"errorType":', b'"Boom"}'):
            connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        connection.send(b"0\r\n\r\n")
        self.assertEqual(connection.getresponse().status, 202)
        connection.close()
        self.assertTrue(invocation.error)
        self.assertEqual(invocation.json(), {"errorType": "Boom"})

    def test_unknown_requests_and_init_errors(self):
        self.assertEqual(self.request("POST", "/invocation/nope/response", b"{}")[0], 400)
        self.assertEqual(self.request("GET", "/invocation/other")[0], 404)
        self.assertEqual(self.request("POST", "/init/error", b'{"errorType":"Init"}')[0], 202)
        self.assertEqual(self.source.init_errors, [b'{"errorType":"Init"}'])

    def test_an_invocation_is_not_handed_to_a_process_that_hung_up_waiting(self):
        raw = socket.create_connection(("127.0.0.1", self.api.port))
        raw.sendall(f"GET {RUNTIME}/invocation/next HTTP/1.1\r\nhost: x\r\n\r\n".encode())
        time.sleep(0.2)  # the server is now blocked in the source's next()
        raw.close()  # the process died waiting
        invocation = Invocation(b"{}")
        self.source.pending.put(invocation)
        for _ in range(100):
            if self.source.requeued:
                break
            time.sleep(0.02)
        self.assertEqual(self.source.requeued, [invocation])
        self.assertFalse(invocation.done.is_set())


if __name__ == "__main__":
    unittest.main()
