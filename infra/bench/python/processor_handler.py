"""Python comparison for the processor function: the same DynamoDB work per SQS record.

Cold start (module level): boto3 clients. Per record of the SQS batch, one after another (as
a plain Python handler would): parse the envelope, claim the event id with one conditional
UpdateItem (same condition as the Rust store), then write the event and the COMPLETED marker
in one TransactWriteItems; a duplicate is acknowledged, anything else is reported in
batchItemFailures (ReportBatchItemFailures).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time

import boto3

IDEMPOTENCY_TABLE = os.environ["HOOKLINE_IDEMPOTENCY_TABLE"]
EVENTS_TABLE = os.environ["HOOKLINE_EVENTS_TABLE"]
COMPLETED_TTL = int(os.environ.get("HOOKLINE_COMPLETED_TTL_SECONDS", "604800"))

_dynamodb = boto3.client("dynamodb")

CLAIM_CONDITION = (
    "attribute_not_exists(event_id) OR expires_at <= :now_s "
    "OR (#status <> :completed AND lock_expires_at <= :now_ms AND fingerprint = :fp)"
)


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


def _process(record: dict, deadline_ms: int) -> bool:
    """True when the record is done (processed or a duplicate)."""
    envelope = json.loads(record["body"])
    body = _body(record["body"], envelope)
    event_id = envelope["event_id"]
    fingerprint = hashlib.sha256(body).hexdigest()
    now_ms = int(time.time() * 1000)
    expires_at = now_ms // 1000 + COMPLETED_TTL
    token = secrets.token_hex(16)
    try:
        claimed = _dynamodb.update_item(
            TableName=IDEMPOTENCY_TABLE,
            Key={"event_id": {"S": event_id}},
            UpdateExpression="SET #status = :in_progress, fingerprint = :fp, lock_expires_at = :lock, "
            "expires_at = :exp, claim_token = :token, updated_at = :now_s ADD attempts :one",
            ConditionExpression=CLAIM_CONDITION,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":in_progress": {"S": "IN_PROGRESS"},
                ":completed": {"S": "COMPLETED"},
                ":fp": {"S": fingerprint},
                ":lock": {"N": str(deadline_ms + 10_000)},
                ":exp": {"N": str(expires_at)},
                ":token": {"S": token},
                ":now_s": {"N": str(now_ms // 1000)},
                ":now_ms": {"N": str(now_ms)},
                ":one": {"N": "1"},
            },
            ReturnValues="UPDATED_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except _dynamodb.exceptions.ConditionalCheckFailedException as conflict:
        return conflict.response.get("Item", {}).get("status", {}).get("S") == "COMPLETED"
    attempt = claimed["Attributes"]["attempts"]["N"]
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
    _dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": EVENTS_TABLE, "Item": item, "ConditionExpression": "attribute_not_exists(event_id)"}},
            {
                "Update": {
                    "TableName": IDEMPOTENCY_TABLE,
                    "Key": {"event_id": {"S": event_id}},
                    "UpdateExpression": "SET #status = :completed, expires_at = :exp, updated_at = :now "
                    "REMOVE claim_token",
                    "ConditionExpression": "claim_token = :token AND #status = :in_progress",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":completed": {"S": "COMPLETED"},
                        ":in_progress": {"S": "IN_PROGRESS"},
                        ":token": {"S": token},
                        ":exp": {"N": str(expires_at)},
                        ":now": {"N": str(int(time.time()))},
                    },
                }
            },
        ]
    )
    return True


def handler(event: dict, context) -> dict:
    deadline_ms = int(time.time() * 1000) + context.get_remaining_time_in_millis()
    failures = []
    for record in event.get("Records", []):
        try:
            done = _process(record, deadline_ms)
        except Exception:  # noqa: BLE001 - one record fails alone
            done = False
        if not done:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
