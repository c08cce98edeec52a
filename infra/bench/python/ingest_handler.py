"""Python comparison for the ingest function: the same work for a Stripe or GitHub webhook.

Cold start (module level): boto3 clients, the sources configuration from Secrets Manager.
Per request: route, look up the source, verify the HMAC-SHA256 signature (Stripe: timestamp
tolerance, every live secret, constant-time compare; GitHub: X-Hub-Signature-256), check the
JSON body, build the envelope and SendMessage it with the hookline.* attributes, answer 202.
It is a fair, idiomatic Python Lambda, not a port of every rule of the Rust function (other
schemes, size limits and content types are not checked here).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
import time

import boto3

QUEUE_URL = os.environ["HOOKLINE_QUEUE_URL"]
TOLERANCE = 300

_sqs = boto3.client("sqs")
_secrets = boto3.client("secretsmanager")
SOURCES = json.loads(_secrets.get_secret_value(SecretId=os.environ["HOOKLINE_SOURCES_SECRET_ID"])["SecretString"])[
    "sources"
]


def _reply(status: int, body: dict) -> dict:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def _any_matches(secrets: list[str], message: bytes, candidates: list[bytes]) -> bool:
    ok = False
    for secret in secrets:
        mac = hmac.new(secret.encode(), message, hashlib.sha256).digest()
        for candidate in candidates:
            ok |= hmac.compare_digest(mac, candidate)
    return ok


def _verify_stripe(config: dict, headers: dict, body: bytes, payload) -> tuple[bool, str | None]:
    timestamp, candidates = None, []
    for item in headers.get("stripe-signature", "").split(","):
        name, _, value = item.partition("=")
        if name == "t":
            timestamp = value
        elif name == "v1":
            try:
                candidates.append(bytes.fromhex(value))
            except ValueError:
                pass
    if not timestamp or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE:
        return False, None
    if not _any_matches(config["secrets"], timestamp.encode() + b"." + body, candidates):
        return False, None
    return True, payload.get("id") if isinstance(payload, dict) else None


def _verify_github(config: dict, headers: dict, body: bytes, payload) -> tuple[bool, str | None]:
    signature = headers.get("x-hub-signature-256", "")
    if not signature.startswith("sha256="):
        return False, None
    try:
        candidate = bytes.fromhex(signature[7:])
    except ValueError:
        return False, None
    if not _any_matches(config["secrets"], body, [candidate]):
        return False, None
    return True, headers.get("x-github-delivery")


VERIFIERS = {"stripe": _verify_stripe, "github": _verify_github}


def handler(event: dict, context) -> dict:
    method = event.get("requestContext", {}).get("http", {}).get("method", "")
    if method != "POST":
        return _reply(405, {"error": "method_not_allowed"})
    path = event.get("rawPath", "")
    source = path[len("/webhooks/") :] if path.startswith("/webhooks/") else ""
    config = SOURCES.get(source)
    if config is None or config["scheme"] not in VERIFIERS:
        return _reply(404, {"error": "not_found"})
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    verified, sender_id = VERIFIERS[config["scheme"]](config, headers, body, payload)
    if not verified:
        return _reply(401, {"error": "unauthorized"})
    if payload is None:
        return _reply(400, {"error": "malformed_json"})
    event_id = f"{source}:{sender_id or 'sha256:' + hashlib.sha256(body).hexdigest()}"
    envelope = {
        "version": 2,
        "source": source,
        "event_id": event_id,
        "scheme": config["scheme"],
        "received_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
        "content_type": headers.get("content-type"),
        "headers": {},
    }
    attributes = {
        "hookline.source": source,
        "hookline.event_id": event_id,
        "hookline.scheme": config["scheme"],
    }
    try:
        _sqs.send_message(
            QueueUrl=QUEUE_URL,
            # As the Rust ingest writes it: a validated JSON body as itself, the last member.
            MessageBody=json.dumps(envelope, separators=(",", ":"))[:-1]
            + ',"body_encoding":"json","body":'
            + body.decode()
            + "}",
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )
    except Exception:  # noqa: BLE001 - the sender retries on 503
        return _reply(503, {"error": "unavailable"})
    return _reply(202, {"event_id": event_id, "status": "accepted"})
