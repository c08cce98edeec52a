"""moto_move_tasks: SQS message move tasks and RedriveAllowPolicy, held to AWS's documented
behaviour (the API reference of StartMessageMoveTask, ListMessageMoveTasks,
CancelMessageMoveTask and SetQueueAttributes' RedriveAllowPolicy), in-process with moto's mock.
"""

from __future__ import annotations

import json
import time
import unittest

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws

import moto_move_tasks  # noqa: F401  (patches moto on import)
from local_testing import WithoutEndpoint

REGION = "us-east-1"


def wait_for(condition, what: str, limit: float = 10.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@mock_aws
class MoveTaskTest(WithoutEndpoint, unittest.TestCase):
    def setUp(self):
        moto_move_tasks.reset()
        self.sqs = boto3.client("sqs", region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
        self.dlq, self.dlq_arn = self.queue("dlq")
        self.main, self.main_arn = self.queue("main", {"RedrivePolicy": json.dumps({"deadLetterTargetArn": self.dlq_arn, "maxReceiveCount": 1})})
        self.other, self.other_arn = self.queue("other")

    def queue(self, name: str, attributes: dict | None = None) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=name, Attributes=attributes or {})["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def dead_letter(self, count: int) -> list[str]:
        """Sends `count` messages to the main queue and lets them die into the DLQ (receive count 1)."""
        bodies = [f"m{i}" for i in range(count)]
        for body in bodies:
            self.sqs.send_message(
                QueueUrl=self.main, MessageBody=body,
                MessageAttributes={"hookline.event_id": {"DataType": "String", "StringValue": body}},
            )
        received = 0
        while received < count:
            received += len(self.sqs.receive_message(QueueUrl=self.main, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", []))
        # The next receive moves them (maxReceiveCount 1) to the DLQ.
        self.sqs.receive_message(QueueUrl=self.main, MaxNumberOfMessages=10)
        wait_for(lambda: self.count(self.dlq) == count, "the dead letters")
        return bodies

    def count(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def received(self, url: str) -> list[dict]:
        return self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["ApproximateReceiveCount"]
        ).get("Messages", [])

    def task(self, source_arn: str) -> dict:
        return self.sqs.list_message_move_tasks(SourceArn=source_arn)["Results"][0]

    def test_without_a_destination_messages_go_back_to_their_source_as_new_messages(self):
        self.dead_letter(3)
        original_ids = {m["MessageId"] for m in self.sqs.receive_message(QueueUrl=self.dlq, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]}
        handle = self.sqs.start_message_move_task(SourceArn=self.dlq_arn)["TaskHandle"]
        wait_for(lambda: self.task(self.dlq_arn)["Status"] == "COMPLETED", "the task to complete")
        entry = self.task(self.dlq_arn)
        self.assertEqual((entry["ApproximateNumberOfMessagesMoved"], entry["ApproximateNumberOfMessagesToMove"]), (3, 3))
        self.assertNotIn("TaskHandle", entry, "only a RUNNING task shows its handle")
        self.assertNotIn("DestinationArn", entry)
        self.assertNotIn("MaxNumberOfMessagesPerSecond", entry)
        self.assertTrue(handle)
        self.assertEqual(self.count(self.dlq), 0)
        moved = self.received(self.main)
        self.assertEqual(sorted(m["Body"] for m in moved), ["m0", "m1", "m2"])
        self.assertTrue(all(m["Attributes"]["ApproximateReceiveCount"] == "1" for m in moved), "a fresh receive count")
        self.assertTrue(all(m["MessageAttributes"]["hookline.event_id"]["StringValue"] == m["Body"] for m in moved))
        self.assertFalse({m["MessageId"] for m in moved} & original_ids, "new message ids")

    def test_a_destination_and_a_rate_are_kept(self):
        self.dead_letter(2)
        self.sqs.start_message_move_task(SourceArn=self.dlq_arn, DestinationArn=self.other_arn, MaxNumberOfMessagesPerSecond=50)
        wait_for(lambda: self.task(self.dlq_arn)["Status"] == "COMPLETED", "the task to complete")
        entry = self.task(self.dlq_arn)
        self.assertEqual((entry["DestinationArn"], entry["MaxNumberOfMessagesPerSecond"]), (self.other_arn, 50))
        self.assertEqual(sorted(m["Body"] for m in self.received(self.other)), ["m0", "m1"])
        self.assertEqual(self.count(self.main), 0)

    def test_only_a_dead_letter_queue_is_a_source_and_one_task_at_a_time(self):
        with self.assertRaises(ClientError) as raised:
            self.sqs.start_message_move_task(SourceArn=self.other_arn)
        self.assertIn("UnsupportedOperation", raised.exception.response["Error"]["Code"])
        self.dead_letter(3)
        self.sqs.start_message_move_task(SourceArn=self.dlq_arn, DestinationArn=self.other_arn, MaxNumberOfMessagesPerSecond=1)
        with self.assertRaises(ClientError) as raised:
            self.sqs.start_message_move_task(SourceArn=self.dlq_arn)
        self.assertIn("UnsupportedOperation", raised.exception.response["Error"]["Code"])
        with self.assertRaises(ClientError):
            self.sqs.start_message_move_task(SourceArn=self.dlq_arn + "-missing")

    def test_cancel_stops_a_running_task_and_keeps_what_moved(self):
        self.dead_letter(5)
        self.sqs.start_message_move_task(SourceArn=self.dlq_arn, DestinationArn=self.other_arn, MaxNumberOfMessagesPerSecond=1)
        handle = self.task(self.dlq_arn)["TaskHandle"]
        wait_for(lambda: self.task(self.dlq_arn)["ApproximateNumberOfMessagesMoved"] >= 1, "one message moved")
        moved = self.sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
        wait_for(lambda: self.task(self.dlq_arn)["Status"] == "CANCELLED", "the task to be cancelled")
        entry = self.task(self.dlq_arn)
        self.assertLess(entry["ApproximateNumberOfMessagesMoved"], 5)
        self.assertGreaterEqual(entry["ApproximateNumberOfMessagesMoved"], moved)
        self.assertEqual(self.count(self.other) + self.count(self.dlq), 5, "nothing lost, nothing moved back")
        with self.assertRaises(ClientError) as raised:
            self.sqs.cancel_message_move_task(TaskHandle=handle)
        self.assertIn("UnsupportedOperation", raised.exception.response["Error"]["Code"])
        with self.assertRaises(ClientError):
            self.sqs.cancel_message_move_task(TaskHandle="no-such-task")

    def test_tasks_are_listed_most_recent_first(self):
        for _ in range(2):
            self.dead_letter(1)
            self.sqs.start_message_move_task(SourceArn=self.dlq_arn, DestinationArn=self.other_arn)
            wait_for(lambda: self.task(self.dlq_arn)["Status"] == "COMPLETED", "the task to complete")
        results = self.sqs.list_message_move_tasks(SourceArn=self.dlq_arn, MaxResults=10)["Results"]
        self.assertEqual(len(results), 2)
        self.assertGreaterEqual(results[0]["StartedTimestamp"], results[1]["StartedTimestamp"])
        self.assertEqual(len(self.sqs.list_message_move_tasks(SourceArn=self.dlq_arn)["Results"]), 1, "MaxResults defaults to 1")


@mock_aws
class RedriveAllowPolicyTest(WithoutEndpoint, unittest.TestCase):
    def setUp(self):
        self.sqs = boto3.client("sqs", region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")

    def arn(self, url: str) -> str:
        return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def redrive_to(self, dlq_arn: str) -> dict:
        return {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})}

    def test_it_is_stored_returned_and_enforced(self):
        allowed_arn = f"arn:aws:sqs:{REGION}:123456789012:allowed"
        policy = json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [allowed_arn]})
        dlq = self.sqs.create_queue(QueueName="dlq", Attributes={"RedriveAllowPolicy": policy})["QueueUrl"]
        got = self.sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["RedriveAllowPolicy"])["Attributes"]
        self.assertEqual(json.loads(got["RedriveAllowPolicy"]), json.loads(policy))
        self.sqs.create_queue(QueueName="allowed", Attributes=self.redrive_to(self.arn(dlq)))
        with self.assertRaises(ClientError) as raised:
            self.sqs.create_queue(QueueName="stranger", Attributes=self.redrive_to(self.arn(dlq)))
        self.assertEqual(raised.exception.response["Error"]["Code"], "InvalidParameterValue")

    def test_deny_all_allow_all_and_malformed_policies(self):
        deny = self.sqs.create_queue(QueueName="deny", Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})})["QueueUrl"]
        with self.assertRaises(ClientError):
            self.sqs.create_queue(QueueName="a", Attributes=self.redrive_to(self.arn(deny)))
        allow = self.sqs.create_queue(QueueName="allow", Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "allowAll"})})["QueueUrl"]
        self.sqs.create_queue(QueueName="b", Attributes=self.redrive_to(self.arn(allow)))
        for bad in ({"redrivePermission": "sometimes"}, {"redrivePermission": "byQueue"},
                    {"redrivePermission": "allowAll", "sourceQueueArns": ["x"]}):
            with self.subTest(bad=bad), self.assertRaises(ClientError):
                self.sqs.set_queue_attributes(QueueUrl=allow, Attributes={"RedriveAllowPolicy": json.dumps(bad)})


if __name__ == "__main__":
    unittest.main()
