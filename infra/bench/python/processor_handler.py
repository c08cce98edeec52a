"""Python comparison for the processor function: the same DynamoDB work per SQS record.

Cold start (module level): boto3 clients. Per record of the SQS batch, one after another (as
a plain Python handler would): parse the envelope, then write the event with one conditional
PutItem that is its own idempotency record, as the Rust events-table destination does (the
stored body's SHA-256, returned on a conflict, tells a duplicate from another payload); a
duplicate is acknowledged, anything else is reported in batchItemFailures
(ReportBatchItemFailures).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os

import boto3

EVENTS_TABLE = os.environ["HOOKLINE_EVENTS_TABLE"]

_dynamodb = boto3.client("dynamodb")


def _body(text: str, envelope: dict) -> bytes:
    """The webhook's exact bytes. A JSON body travels as itself, the envelope's last member:
    its bytes are the text between that member's colon and the envelope's closing brace."""
    encoding = envelope.get("body_encoding")
    if encoding == "json":
        member = '"body_encoding":"json","body":'
        return text[text.index(member) + len(member) : text.rindex("}")].encode()
    if encoding == "utf8":
        return envelope["body"].encode()
    return base64.b64decode(envelope["body"])


def _process(record: dict, attempt: str) -> bool:
    """True when the record is done (stored, or a duplicate of the same payload)."""
    envelope = json.loads(record["body"])
    body = _body(record["body"], envelope)
    event_id = envelope["event_id"]
    fingerprint = hashlib.sha256(body).hexdigest()
    item = {
        "event_id": {"S": event_id},
        "source": {"S": envelope["source"]},
        "scheme": {"S": envelope["scheme"]},
        "received_at": {"S": envelope["received_at"]},
        "attempt": {"N": attempt},
        "body_sha256": {"S": fingerprint},
        "body": {"B": body},
    }
    if envelope.get("content_type"):
        item["content_type"] = {"S": envelope["content_type"]}
    if envelope.get("headers"):
        item["headers"] = {"M": {k: {"S": v} for k, v in envelope["headers"].items()}}
    try:
        _dynamodb.put_item(
            TableName=EVENTS_TABLE,
            Item=item,
            ConditionExpression="attribute_not_exists(event_id)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except _dynamodb.exceptions.ConditionalCheckFailedException as conflict:
        return conflict.response.get("Item", {}).get("body_sha256", {}).get("S") == fingerprint
    return True


def handler(event: dict, context) -> dict:
    failures = []
    for record in event.get("Records", []):
        try:
            done = _process(record, record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        except Exception:  # noqa: BLE001 - one record fails alone
            done = False
        if not done:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
