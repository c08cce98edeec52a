"""Python comparison for the reprocess function: the same requests per dead letter.

Cold start (module level): boto3 clients. Per record: read the event's idempotency record
(GetItem, consistent), drop it if COMPLETED; otherwise record it in the ledger (one
conditional UpdateItem appending to the history), then replay a transient failure with
budget left to the main queue (SendMessage with a full-jitter delay and the replay count),
or park it (ChangeMessageVisibility 0 and report it failed).
"""

from __future__ import annotations

import json
import os
import random
import time

import boto3

DLQ_URL = os.environ["HOOKLINE_DLQ_URL"]
QUEUE_URL = os.environ["HOOKLINE_QUEUE_URL"]
IDEMPOTENCY_TABLE = os.environ["HOOKLINE_IDEMPOTENCY_TABLE"]
LEDGER_TABLE = os.environ["HOOKLINE_LEDGER_TABLE"]
BUDGET = int(os.environ.get("HOOKLINE_REPLAY_BUDGET", "3"))
BASE = int(os.environ.get("HOOKLINE_REPLAY_BASE_SECONDS", "30"))
CAP = int(os.environ.get("HOOKLINE_REPLAY_CAP_SECONDS", "900"))

_dynamodb = boto3.client("dynamodb")
_sqs = boto3.client("sqs")


def _attr(record: dict, name: str) -> str | None:
    return (record.get("messageAttributes") or {}).get(name, {}).get("stringValue")


def _process(record: dict) -> bool:
    """True when the dead letter is acknowledged (dropped or replayed)."""
    try:
        envelope = json.loads(record["body"])
        event_id = envelope["event_id"]
    except (ValueError, KeyError, TypeError):
        envelope, event_id = None, f"malformed:{record['messageId']}"
    stored = {}
    if envelope is not None:
        stored = _dynamodb.get_item(
            TableName=IDEMPOTENCY_TABLE, Key={"event_id": {"S": event_id}}, ConsistentRead=True
        ).get("Item", {})
        if stored.get("status", {}).get("S") == "COMPLETED":
            return True
    kind = _attr(record, "hookline.error_kind") or stored.get("last_error_kind", {}).get("S", "transient")
    error_class = _attr(record, "hookline.error_class") or stored.get("last_error_class", {}).get("S", "-")
    message = _attr(record, "hookline.error_message") or "-"
    replays = int(_attr(record, "hookline.replay_count") or 0)
    replay = envelope is not None and kind != "permanent" and replays < BUDGET
    status = "REPLAYED" if replay else "PARKED"
    now = int(time.time() * 1000)
    values = {
        ":status": {"S": status},
        ":envelope": {"S": record["body"]},
        ":mid": {"S": record["messageId"]},
        ":rc": {"N": (record.get("attributes") or {}).get("ApproximateReceiveCount", "1")},
        ":attempts": {"N": stored.get("attempts", {}).get("N", "0")},
        ":replays": {"N": str(replays + 1 if replay else replays)},
        ":now": {"N": str(now)},
        ":source": {"S": (envelope or {}).get("source", "-")},
        ":kind": {"S": kind},
        ":class": {"S": error_class},
        ":message": {"S": message},
        ":empty": {"L": []},
        ":sighting": {
            "L": [{"M": {"at": {"N": str(now)}, "message_id": {"S": record["messageId"]}, "status": {"S": status}}}]
        },
    }
    latest = (
        "SET #status = :status, envelope = :envelope, last_message_id = :mid, receive_count = :rc, "
        "attempts = :attempts, replay_count = :replays, last_seen = :now, first_seen = if_not_exists(first_seen, :now), "
        "#source = :source, error_kind = :kind, error_class = :class, error_message = :message"
    )
    names = {"#status": "status", "#source": "source"}
    try:
        _dynamodb.update_item(
            TableName=LEDGER_TABLE,
            Key={"event_id": {"S": event_id}},
            UpdateExpression=latest + ", history = list_append(if_not_exists(history, :empty), :sighting)",
            ConditionExpression="attribute_not_exists(event_id) OR last_message_id <> :mid",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except _dynamodb.exceptions.ConditionalCheckFailedException:
        del values[":empty"], values[":sighting"]
        _dynamodb.update_item(
            TableName=LEDGER_TABLE,
            Key={"event_id": {"S": event_id}},
            UpdateExpression=latest,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    if replay:
        delay = int(random.random() * min(CAP, BASE * 2**replays))
        attributes = {
            "hookline.source": envelope["source"],
            "hookline.event_id": event_id,
            "hookline.scheme": envelope.get("scheme", "-"),
            "hookline.replay_count": str(replays + 1),
        }
        _sqs.send_message(
            QueueUrl=QUEUE_URL,
            MessageBody=record["body"],
            DelaySeconds=min(delay, 900),
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )
        return True
    try:
        _sqs.change_message_visibility(QueueUrl=DLQ_URL, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0)
    except Exception:  # noqa: BLE001 - the queue's visibility timeout applies instead
        pass
    return False


def handler(event: dict, context) -> dict:
    failures = []
    for record in event.get("Records", []):
        try:
            done = _process(record)
        except Exception:  # noqa: BLE001 - one record fails alone
            done = False
        if not done:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
