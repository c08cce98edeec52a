"""moto_fast_paths: the same requests get the same answers from moto with and without it.

Each side runs in its own interpreter (the patches apply on import and cannot be undone),
serving one scripted sequence of DynamoDB requests through moto's own WSGI application,
the path a request takes in moto_server.py. The answers are compared whole: status, error
type and message, and the items written.
"""

import json
import subprocess
import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Runs in a fresh interpreter: stdin is {"fast": bool, "requests": [[target, body], ...]};
# stdout is one [status, answer] per request.
SERVE = r"""
import json, sys
spec = json.load(sys.stdin)
if spec["fast"]:
    import moto_fast_paths  # noqa: F401
import moto.server as server
from werkzeug.test import Client

client = Client(server.DomainDispatcherApplication(server.create_backend_app))
headers = {
    "Content-Type": "application/x-amz-json-1.0",
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20261128/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host, Signature=0",
}
answers = []
for target, body in spec["requests"]:
    response = client.post(
        "/", data=json.dumps(body), headers={**headers, "X-Amz-Target": "DynamoDB_20120810." + target}
    )
    answers.append([response.status_code, json.loads(response.data or b"null")])
json.dump(answers, sys.stdout)
"""

TABLE = "ledger"
KEY = {"event_id": {"S": "stripe:evt_1"}}
# The dead-letter ledger's write (functions/aws/src/dynamo_ledger.rs): 14 SET actions,
# if_not_exists and list_append.
LEDGER = (
    "SET #status = :status, envelope = :envelope, last_message_id = :mid, receive_count = :rc, "
    "attempts = :attempts, replay_count = :replays, last_seen = :now, first_seen = if_not_exists(first_seen, :now), "
    "#source = :source, error_kind = :kind, error_class = :class, error_message = :message, "
    "history = list_append(if_not_exists(history, :empty), :sighting)"
)


def ledger_write(message_id: str, now: int, status: str) -> list:
    return [
        "UpdateItem",
        {
            "TableName": TABLE,
            "Key": KEY,
            "UpdateExpression": LEDGER,
            "ConditionExpression": "attribute_not_exists(event_id) OR last_message_id <> :mid",
            "ExpressionAttributeNames": {"#status": "status", "#source": "source"},
            "ExpressionAttributeValues": {
                ":status": {"S": status},
                ":envelope": {"S": '{"version":1}'},
                ":mid": {"S": message_id},
                ":rc": {"N": "1"},
                ":attempts": {"N": "0"},
                ":replays": {"N": "1"},
                ":now": {"N": str(now)},
                ":source": {"S": "stripe"},
                ":kind": {"S": "transient"},
                ":class": {"S": "Timeout"},
                ":message": {"S": "upstream timed out"},
                ":empty": {"L": []},
                ":sighting": {"L": [{"M": {"message_id": {"S": message_id}, "at": {"N": str(now)}}}]},
            },
            "ReturnValues": "ALL_NEW",
        },
    ]


def update(expression: str, values: dict, names: dict | None = None) -> list:
    body = {"TableName": TABLE, "Key": KEY, "UpdateExpression": expression, "ExpressionAttributeValues": values}
    if names:
        body["ExpressionAttributeNames"] = names
    return ["UpdateItem", body]


ONE = {":one": {"N": "1"}}
REQUESTS = [
    [
        "CreateTable",
        {
            "TableName": TABLE,
            "KeySchema": [{"AttributeName": "event_id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "event_id", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    ],
    # A new item, then the same expression (a memoised parse) with other values: the
    # second must see the first's item (if_not_exists keeps first_seen, history grows).
    ledger_write("m-1", 1000, "REPLAYED"),
    ledger_write("m-2", 2000, "PARKED"),
    # The condition refuses a second sighting of the same message.
    ledger_write("m-2", 3000, "REPLAYED"),
    # Refusals: a path written twice, two SET clauses, the key itself, a syntax error
    # (twice: a failed parse is not memoised), an attribute value that is not given.
    update("SET a = :one, a = :one", ONE),
    update("SET a = :one SET b = :one", ONE),
    update("SET a = :one REMOVE b REMOVE c", ONE),
    update("SET event_id = :one", ONE),
    update("SET a = = :one", ONE),
    update("SET a = = :one", ONE),
    update("SET a = :missing", ONE),
    # ADD, REMOVE and arithmetic on the stored item.
    update("ADD attempts :one SET replay_count = replay_count + :one REMOVE error_message", ONE),
    update("SET #h[0].note = :note", {":note": {"S": "first"}}, {"#h": "history"}),
    ["GetItem", {"TableName": TABLE, "Key": KEY, "ConsistentRead": True}],
]


def serve(fast: bool) -> list:
    result = subprocess.run(
        [sys.executable, "-c", SERVE],
        input=json.dumps({"fast": fast, "requests": REQUESTS}),
        capture_output=True,
        text=True,
        cwd=HERE,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)


class FastPathsAnswerLikeMotoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto, cls.fast = serve(fast=False), serve(fast=True)

    def test_every_answer_is_moto_s_own(self):
        self.assertEqual(len(self.fast), len(REQUESTS))
        for i, (expected, got) in enumerate(zip(self.moto, self.fast)):
            with self.subTest(request=i, call=REQUESTS[i][0]):
                if REQUESTS[i][0] == "CreateTable":  # its answer holds the creation time
                    self.assertEqual(got[0], expected[0])
                else:
                    self.assertEqual(got, expected)

    def test_the_sequence_exercises_both_writes_and_refusals(self):
        # Guards the comparison above against a script in which nothing happens.
        statuses = [status for status, _ in self.fast]
        self.assertEqual(statuses[:3], [200, 200, 200])
        self.assertEqual(statuses[3], 400)  # ConditionalCheckFailed
        self.assertEqual(statuses[4:11], [400] * 7)
        item = self.fast[-1][1]["Item"]
        self.assertEqual(item["first_seen"], {"N": "1000"})
        self.assertEqual(item["status"], {"S": "PARKED"})
        self.assertEqual(len(item["history"]["L"]), 2)
        self.assertEqual(item["history"]["L"][0]["M"]["note"], {"S": "first"})
        self.assertEqual(item["attempts"], {"N": "1"})
        self.assertNotIn("error_message", item)


if __name__ == "__main__":
    unittest.main()
