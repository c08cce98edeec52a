"""Tests of lambda_host.py: its response conversion, and end to end with small Python
"functions" that speak the runtime API: an echo, which can also die or sleep on request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

from lambda_host import http_response

HERE = Path(__file__).resolve().parent
PORT = 4598

FUNCTION = textwrap.dedent(
    """\
    #!{python}
    import json, os, sys, urllib.request
    api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
    while True:
        with urllib.request.urlopen(api + "next") as reply:
            request_id = reply.headers["lambda-runtime-aws-request-id"]
            deadline = int(reply.headers["lambda-runtime-deadline-ms"])
            event = json.loads(reply.read())
        if event.get("die"):
            os._exit(3)
        if event.get("sleep"):
            import time; time.sleep(event["sleep"])
        env = {{k: os.environ.get(k) for k in ("GREETING", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "HOST_ONLY")}}
        body = {{"echo": event, "pid": os.getpid(), "deadline_ms": deadline, "env": env}}
        if "rawPath" in event:
            headers = {{"x-path": event["rawPath"], "x-base64": str(event["isBase64Encoded"]).lower(),
                        "x-body-length": str(len(event["body"]))}}
            body = {{"statusCode": 201, "headers": headers, "body": json.dumps(event["headers"])}}
        data = json.dumps(body).encode()
        urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", data=data, method="POST")).read()
    """
)


class ResponseTest(unittest.TestCase):
    def test_converts_api_gateway_responses(self):
        status, body, headers = http_response(b'{"statusCode":202,"headers":{"a":"1"},"body":"x"}')
        self.assertEqual((status, body, headers), (202, b"x", {"a": "1"}))
        self.assertEqual(http_response(b'{"statusCode":200,"body":"eQ==","isBase64Encoded":true}')[1], b"y")
        self.assertEqual(http_response(b"not json")[0], 502)


class HostTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bin_dir = tempfile.TemporaryDirectory()
        binary = Path(cls.bin_dir.name) / "echo"
        binary.write_text(FUNCTION.format(python=sys.executable))
        binary.chmod(0o755)
        functions = Path(cls.bin_dir.name) / "functions.json"
        functions.write_text(json.dumps({
            "common_environment": {"AWS_REGION": "us-east-1"},
            "functions": [{"name": "echo", "timeout_seconds": 2, "memory_mb": 256, "environment": {"GREETING": "hi"}}],
        }))
        cls.host = subprocess.Popen(
            [sys.executable, str(HERE / "lambda_host.py"), "--functions", str(functions), "--port", str(PORT),
             "--bin-dir", cls.bin_dir.name, "--max-environments", "2"],
            stdout=subprocess.DEVNULL,
            env={**os.environ, "HOST_ONLY": "leaked"},
        )
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/").read()
                break
            except OSError:
                time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        cls.host.terminate()
        cls.host.wait(10)
        cls.bin_dir.cleanup()

    def invoke(self, event: dict) -> tuple[dict, bool]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{PORT}/2015-03-31/functions/echo/invocations", data=json.dumps(event).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.loads(reply.read()), reply.headers.get("x-amz-function-error") is not None

    def test_invokes_with_a_deadline_from_the_timeout(self):
        before = time.time() * 1000
        reply, failed = self.invoke({"n": 1})
        self.assertFalse(failed)
        self.assertEqual(reply["echo"], {"n": 1})
        self.assertTrue(before + 1500 < reply["deadline_ms"] <= time.time() * 1000 + 2000, reply)

    def test_a_function_sees_its_own_environment_not_the_hosts(self):
        reply, _ = self.invoke({"n": 1})
        self.assertEqual(reply["env"], {"GREETING": "hi", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "HOST_ONLY": None})

    def status(self) -> list[dict]:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/", timeout=10) as reply:
            return json.loads(reply.read())["functions"]["echo"]

    def test_an_environment_killed_while_idle_is_replaced_for_the_next_invocation(self):
        first, _ = self.invoke({"n": 1})
        self.assertIn({"pid": first["pid"], "busy": False}, self.status())
        os.kill(first["pid"], 9)
        for _ in range(100):  # the host notices within its supervision interval (50 ms)
            if first["pid"] not in [e["pid"] for e in self.status()]:
                break
            time.sleep(0.02)
        # Every later invocation succeeds, none of them in the dead process.
        for n in range(3):
            reply, failed = self.invoke({"n": n})
            self.assertFalse(failed, reply)
            self.assertNotEqual(reply["pid"], first["pid"])

    def test_the_status_shows_a_busy_environment(self):
        import threading
        worker = threading.Thread(target=self.invoke, args=({"sleep": 1},))
        worker.start()
        seen = False
        for _ in range(100):
            if any(e["busy"] for e in self.status()):
                seen = True
                break
            time.sleep(0.02)
        worker.join()
        self.assertTrue(seen)

    def test_a_dying_environment_fails_its_invocation_and_is_replaced(self):
        first, _ = self.invoke({"n": 1})
        reply, failed = self.invoke({"die": True})
        self.assertTrue(failed)
        self.assertEqual(reply["errorType"], "Runtime.ExitError")
        after, failed = self.invoke({"n": 2})
        self.assertFalse(failed)
        self.assertEqual(after["echo"], {"n": 2})

    def test_a_timed_out_invocation_fails_and_its_environment_is_killed(self):
        reply, failed = self.invoke({"sleep": 5})
        self.assertTrue(failed)
        self.assertEqual(reply["errorType"], "Sandbox.Timedout")
        self.assertFalse(self.invoke({"n": 3})[1])

    def test_function_urls_carry_path_and_headers_as_api_gateway_v2_events(self):
        request = urllib.request.Request(
            f"http://127.0.0.1:{PORT}/lambda-url/echo/webhooks/acme?x=1", data=b"{}", method="POST",
            headers={"X-Test": "yes"},
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            self.assertEqual(reply.status, 201)
            self.assertEqual(reply.headers["x-path"], "/webhooks/acme")
            self.assertEqual(json.loads(reply.read())["x-test"], "yes")

    def post(self, body: bytes, content_type: str | None):
        headers = {"content-type": content_type} if content_type else {}
        request = urllib.request.Request(
            f"http://127.0.0.1:{PORT}/lambda-url/echo/webhooks/acme", data=body, method="POST", headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, dict(reply.headers)
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers)

    def test_text_bodies_arrive_as_text_and_every_other_as_base64(self):
        for content_type, base64 in [
            ("application/json", "false"), ("application/json; charset=utf-8", "false"), ("text/plain", "false"),
            ("application/xml", "false"), ("application/x-www-form-urlencoded", "true"),
            ("application/octet-stream", "true"), (None, "true"),
        ]:
            with self.subTest(content_type):
                status, headers = self.post(b'{"a":"b"}', content_type)
                self.assertEqual((status, headers["x-base64"]), (201, base64))
        status, headers = self.post(b"\xff\xfe", "text/plain")
        self.assertEqual((status, headers["x-base64"]), (201, "true"), "text that is not UTF-8 travels as base64")

    def test_what_does_not_fit_one_invocation_is_413_without_invoking(self):
        # The event around the body takes a few hundred bytes: a text body of 6,289,000 bytes
        # fits, one of 6,291,456 cannot; base64 grows a binary body by a third.
        status, headers = self.post(b"a" * 6_289_000, "text/plain")
        self.assertEqual((status, headers["x-body-length"]), (201, "6289000"))
        self.assertEqual(self.post(b"a" * 6_291_456, "text/plain")[0], 413)
        self.assertEqual(self.post(b"a" * 4_700_000, "application/octet-stream")[0], 201)
        self.assertEqual(self.post(b"a" * 4_720_000, "application/octet-stream")[0], 413)
        self.assertEqual(self.post(b'"' * 3_200_000, "application/json")[0], 413, "escaping counts")

    def test_unknown_functions_are_404(self):
        with self.assertRaises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(
                urllib.request.Request(f"http://127.0.0.1:{PORT}/2015-03-31/functions/nope/invocations", data=b"{}")
            )
        self.assertEqual(raised.exception.code, 404)


if __name__ == "__main__":
    unittest.main()
