"""moto_server's EventBridge fault script (`/_hookline/eventbridge-faults`): PutEvents failing the
ways AWS documents, on a moto server of its own (moto.sh on $HOOKLINE_TEST_EVENTBRIDGE_MOTO_PORT,
default 4587).

The documented behaviour these tests hold the emulator to:
- a failed entry answers HTTP 200, `FailedEntryCount` the number of failed entries, and in
  `Entries`, at the failed entry's position in the request, `ErrorCode` and `ErrorMessage` in place
  of `EventId`; the other entries are processed ("Sending events with PutEvents",
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html; retryable codes
  `InternalFailure` and `ThrottlingException`,
  https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html);
- a throttled request answers HTTP 400 with a JSON 1.1 error (`__type` ThrottlingException, the
  `x-amzn-ErrorType` header) and puts nothing;
- an IAM denial is decided before either.
"""

from __future__ import annotations

import json
import os
import shutil
import unittest
import urllib.error
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from local_testing import MotoServer, moto_sh

REGION = "us-east-1"
SOURCE = "hookline.test"


@unittest.skipUnless(shutil.which("curl"), "curl is needed by moto.sh")
class EventBridgeFaultsTest(MotoServer, unittest.TestCase):
    port = os.environ.get("HOOKLINE_TEST_EVENTBRIDGE_MOTO_PORT", "4587")
    tmp_prefix = "hookline-eventbridge-faults-"

    def setUp(self):
        reset = moto_sh("reset", self.env)
        self.assertEqual(reset.returncode, 0, reset.stderr)
        self.events = self.client("events")
        self.sqs = self.client("sqs")
        self.queue = self.sqs.create_queue(QueueName="delivered")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.events.put_rule(Name="to-queue", EventPattern=json.dumps({"source": [SOURCE]}))
        self.events.put_targets(Rule="to-queue", Targets=[{"Id": "queue", "Arn": queue_arn}])

    def client(self, service: str, key: str = "test", secret: str = "test"):
        # One attempt: each call is exactly one HTTP request, so the script's counts are the calls'.
        # (botocore's `max_attempts` counts retries, `total_max_attempts` the first request too.)
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=key,
                            aws_secret_access_key=secret, config=Config(retries={"total_max_attempts": 1}))

    def hook(self, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(f"{self.endpoint}{path}", data=body, method="GET" if body is None else "POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def script(self, script: dict | None = None) -> dict:
        """Replaces the fault script with `script` (if given) and answers the hook's state."""
        status, body = self.hook("/_hookline/eventbridge-faults", None if script is None else json.dumps(script).encode())
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def put(self, *event_ids: str, events=None) -> dict:
        entries = [{"Source": SOURCE, "DetailType": "webhook", "Detail": json.dumps({"event_id": e})} for e in event_ids]
        return (events or self.events).put_events(Entries=entries)

    def delivered(self) -> dict[str, str]:
        """{event_id: EventBridge event id} of every event the rule's target received."""
        found = {}
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                event = json.loads(message["Body"])
                found[event["detail"]["event_id"]] = event["id"]
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])

    def test_one_failed_entry_of_three_is_not_delivered(self):
        self.script({"entries": [{"detail_contains": "evt_2", "error_code": "ThrottlingException",
                                  "error_message": "Rate exceeded", "times": 1}]})
        answer = self.put("evt_1", "evt_2", "evt_3")
        self.assertEqual(answer["FailedEntryCount"], 1)
        first, failed, third = answer["Entries"]
        self.assertEqual(failed, {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"})
        self.assertEqual(self.delivered(), {"evt_1": first["EventId"], "evt_3": third["EventId"]})
        state = self.script()
        self.assertEqual((state["entries_failed"], state["requests_failed"]), (1, 0))
        self.assertEqual(state["entries"][0]["remaining"], 0)

        # The retry of exactly the failed entry goes through: the rule is spent.
        retry = self.put("evt_2")
        self.assertEqual(retry["FailedEntryCount"], 0)
        self.assertEqual(self.delivered(), {"evt_2": retry["Entries"][0]["EventId"]})

    def test_a_rule_is_spent_after_times_matching_entries(self):
        state = self.script({"entries": [{"detail_contains": "evt_", "times": 2}]})
        self.assertEqual(state["entries"], [{"detail_contains": "evt_", "error_code": "InternalFailure",
                                             "error_message": "Internal failure", "times": 2, "remaining": 2}])
        answer = self.put("evt_1", "evt_2", "evt_3")
        self.assertEqual(answer["FailedEntryCount"], 2)
        self.assertEqual([e.get("ErrorCode") for e in answer["Entries"]], ["InternalFailure", "InternalFailure", None])
        self.assertEqual(set(self.delivered()), {"evt_3"})
        again = self.put("evt_1", "evt_2")
        self.assertEqual(again["FailedEntryCount"], 0)
        self.assertEqual(set(self.delivered()), {"evt_1", "evt_2"})
        self.assertEqual(self.script()["entries_failed"], 2)

    def test_moto_s_own_entry_failures_are_merged_and_counted(self):
        self.script({"entries": [{"detail_contains": "evt_1"}]})
        entries = [
            {"Source": SOURCE, "DetailType": "webhook", "Detail": json.dumps({"event_id": "evt_1"})},
            {"DetailType": "webhook", "Detail": json.dumps({"event_id": "no_source"})},
            {"Source": SOURCE, "DetailType": "webhook", "Detail": json.dumps({"event_id": "evt_3"})},
        ]
        answer = self.events.put_events(Entries=entries)
        self.assertEqual(answer["FailedEntryCount"], 2)
        self.assertEqual([e.get("ErrorCode") for e in answer["Entries"]], ["InternalFailure", "InvalidArgument", None])
        self.assertEqual(self.delivered(), {"evt_3": answer["Entries"][2]["EventId"]})
        self.assertEqual(self.script()["entries_failed"], 1, "moto's own failure is not the script's")

    def test_a_throttled_request_fails_twice_then_succeeds(self):
        self.script({"requests": [{"error_code": "ThrottlingException", "status": 400, "times": 2}]})
        bodies, sent = [], []
        self.events.meta.events.register("before-send.events.PutEvents", lambda **_: sent.append(1))
        self.events.meta.events.register(
            "after-call.events.PutEvents", lambda http_response, **_: bodies.append(http_response.content))
        for attempt in (1, 2):
            with self.assertRaises(ClientError, msg=f"attempt {attempt}") as raised:
                self.put("evt_1", "evt_2")
            response = raised.exception.response
            self.assertEqual(response["Error"]["Code"], "ThrottlingException")
            self.assertEqual(response["Error"]["Message"], "Rate exceeded")
            self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 400)
            self.assertEqual(response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"], "ThrottlingException")
            self.assertEqual(json.loads(bodies[-1]), {"__type": "ThrottlingException", "message": "Rate exceeded"})
            self.assertEqual(self.delivered(), {}, "a throttled request puts nothing")
        answer = self.put("evt_1", "evt_2")
        self.assertEqual(answer["FailedEntryCount"], 0)
        self.assertEqual(set(self.delivered()), {"evt_1", "evt_2"})
        state = self.script()
        self.assertEqual((state["requests_failed"], state["entries_failed"]), (2, 0))
        self.assertEqual(len(sent), 3, "one HTTP request per call")

    def test_a_request_rule_with_detail_contains_fails_only_requests_having_that_entry(self):
        self.script({"requests": [{"detail_contains": "evt_9", "error_code": "InternalException", "status": 500,
                                   "error_message": "boom"}],
                     "entries": [{"detail_contains": "evt_9"}]})
        self.assertEqual(self.put("evt_1")["FailedEntryCount"], 0)
        with self.assertRaises(ClientError) as raised:
            self.put("evt_8", "evt_9")
        self.assertEqual(raised.exception.response["Error"]["Code"], "InternalException")
        self.assertEqual(raised.exception.response["ResponseMetadata"]["HTTPStatusCode"], 500)
        self.assertEqual(set(self.delivered()), {"evt_1"})
        state = self.script()
        self.assertEqual(state["entries"][0]["remaining"], 1, "a failed request consumes no entry rule")
        # The request rule spent, the entry rule applies to the next request.
        answer = self.put("evt_8", "evt_9")
        self.assertEqual([e.get("ErrorCode") for e in answer["Entries"]], [None, "InternalFailure"])
        self.assertEqual(set(self.delivered()), {"evt_8"})

    def test_moto_reset_clears_the_script(self):
        self.script({"entries": [{"times": 5}], "requests": [{"detail_contains": "evt_2"}]})
        self.put("evt_1")
        self.assertEqual(self.script()["entries_failed"], 1)
        self.assertEqual(moto_sh("reset", self.env).returncode, 0)
        self.assertEqual(self.script(), {"entries": [], "requests": [], "entries_failed": 0, "requests_failed": 0})
        self.assertEqual(self.put("evt_1", "evt_2")["FailedEntryCount"], 0)

    def test_an_empty_body_clears_and_an_invalid_script_changes_nothing(self):
        self.script({"entries": [{"detail_contains": "evt_1"}]})
        for invalid in (b"not json", b"[]", b'{"entry": []}', b'{"entries": [{"times": 0}]}',
                        b'{"entries": [{"status": 400}]}', b'{"requests": [{"status": 200}]}',
                        b'{"requests": [{"error_code": ""}]}'):
            with self.subTest(invalid=invalid):
                status, body = self.hook("/_hookline/eventbridge-faults", invalid)
                self.assertEqual(status, 400, body)
                self.assertEqual(len(self.script()["entries"]), 1)
        for empty in (b"", b"{}"):
            self.script({"entries": [{"detail_contains": "evt_1"}]})
            status, body = self.hook("/_hookline/eventbridge-faults", empty)
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body), {"entries": [], "requests": [], "entries_failed": 0, "requests_failed": 0})
        self.assertEqual(self.put("evt_1")["FailedEntryCount"], 0)

    def test_an_iam_denial_stays_a_403_and_consumes_nothing(self):
        iam = self.client("iam")
        iam.create_user(UserName="no-events")
        key = iam.create_access_key(UserName="no-events")["AccessKey"]
        denied = self.client("events", key["AccessKeyId"], key["SecretAccessKey"])
        self.script({"requests": [{}], "entries": [{}]})
        self.assertEqual(self.hook("/_hookline/iam", b"on"), (200, b"on"))
        try:
            with self.assertRaises(ClientError) as raised:
                self.put("evt_1", events=denied)
        finally:
            self.assertEqual(self.hook("/_hookline/iam", b"off"), (200, b"off"))
        self.assertEqual(raised.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        # (moto writes its AccessDenied as XML, which botocore's JSON parser reads as code "403".)
        self.assertNotEqual(raised.exception.response["Error"]["Code"], "ThrottlingException")
        state = self.script()
        self.assertEqual((state["requests_failed"], state["entries_failed"]), (0, 0))
        self.assertEqual([r["remaining"] for r in state["requests"] + state["entries"]], [1, 1])


if __name__ == "__main__":
    unittest.main()
