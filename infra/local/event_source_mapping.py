"""A local stand-in for Lambda's SQS event source mapping.

Like the real one it receives batches from a queue, invokes the function synchronously
(here through the Invoke API of the local Lambda host, lambda_host.py, as AWS invokes it),
deletes exactly the records the function did not report in `batchItemFailures`
(ReportBatchItemFailures), treats an invocation error as a failure of the whole batch,
and leaves visibility and redrive to the queue.

Mappings are read from template.yaml (every function's `Type: SQS` events), and queue URLs
from the env file the provisioning wrote, so local and deployed mappings cannot drift.

    python event_source_mapping.py --template template.yaml --env-file .hookline/local.env --port 9000
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import boto3

from provision import Context, load_template, resolve, upper_snake  # same folder: the template tools

ARN_PREFIX = "arn:aws:sqs"


@dataclass(frozen=True)
class Mapping:
    function: str  # the function's binary name, as the local Lambda host serves it
    queue_logical_id: str
    queue_url: str
    batch_size: int = 10
    window_seconds: int = 0
    report_batch_item_failures: bool = True


def sqs_event(messages: list[dict], queue_arn: str, region: str) -> dict:
    """The event Lambda delivers for a batch of received SQS messages."""
    records = []
    for m in messages:
        attributes = {}
        for name, value in m.get("MessageAttributes", {}).items():
            attributes[name] = {
                "dataType": value["DataType"],
                "stringListValues": [],
                "binaryListValues": [],
                **({"stringValue": value["StringValue"]} if "StringValue" in value else {}),
            }
        records.append(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": attributes,
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


def acknowledged(messages: list[dict], response: dict | None, report_failures: bool) -> list[dict]:
    """The messages to delete after an invocation. `response` is None when it failed."""
    if response is None:
        return []
    if not report_failures:
        return messages
    failures = response.get("batchItemFailures") if isinstance(response, dict) else None
    if failures is None:
        return messages
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in {m["MessageId"] for m in messages}:
            # Lambda fails the whole batch when a reported id is empty or unknown.
            return []
        failed.add(identifier)
    return [m for m in messages if m["MessageId"] not in failed]


def invoke(port: int, function: str, event: dict, timeout: float) -> dict | None:
    """Invokes through the runtime API; None on any invocation error."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/2015-03-31/functions/{function}/invocations",
        data=json.dumps(event).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            body = reply.read()
            if reply.headers.get("X-Amz-Function-Error"):
                log("invocation_error", function=function, error=body[:500].decode(errors="replace"))
                return None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        log("invocation_error", function=function, error=str(error))
        return None
    try:
        return json.loads(body or b"null")
    except json.JSONDecodeError:
        log("invocation_error", function=function, error="response is not JSON")
        return None


def log(event: str, **fields) -> None:
    print(json.dumps({"time": time.time(), "event": event, **fields}), flush=True)


def function_credentials(functions_path: Path, function: str) -> dict[str, str]:
    """The function's own credentials from the `.functions.json` file beside the env file, if
    provisioning gave it some: Lambda's event source mapping polls with the function's
    execution role, so its ReceiveMessage and DeleteMessage need that role's permissions."""
    try:
        document = json.loads(functions_path.read_text())
    except (OSError, ValueError):
        return {}
    for spec in document.get("functions", []):
        if spec.get("name") == function:
            env = spec.get("environment", {})
            names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
            if all(name in env for name in names):
                return {
                    "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
                    "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
                    "aws_session_token": env["AWS_SESSION_TOKEN"],
                }
    return {}


def poll(
    mapping: Mapping, port: int, stop: threading.Event, invoke_timeout: float, credentials: dict[str, str] | None = None
) -> None:
    sqs = boto3.client("sqs", **(credentials or {}))
    arn = queue_arn(sqs, mapping.queue_url)
    region = sqs.meta.region_name
    log("mapping_started", function=mapping.function, queue=mapping.queue_logical_id)
    while not stop.is_set():
        try:
            messages = receive(sqs, mapping)
            if not messages:
                continue
            response = invoke(port, mapping.function, sqs_event(messages, arn, region), invoke_timeout)
            done = acknowledged(messages, response, mapping.report_batch_item_failures)
            for start in range(0, len(done), 10):
                chunk = done[start : start + 10]
                sqs.delete_message_batch(
                    QueueUrl=mapping.queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
                )
            log("batch", function=mapping.function, received=len(messages), deleted=len(done),
                failed=len(messages) - len(done), invocation_ok=response is not None)
        except Exception as error:  # keep polling, like the managed poller does
            log("poller_error", function=mapping.function, error=repr(error))
            stop.wait(1)


def receive(sqs, mapping: Mapping) -> list[dict]:
    """Up to batch_size messages, gathering for at most the batching window."""
    deadline = time.monotonic() + mapping.window_seconds
    messages: list[dict] = []
    while len(messages) < mapping.batch_size:
        wait = 1 if not messages else 0
        reply = sqs.receive_message(
            QueueUrl=mapping.queue_url,
            MaxNumberOfMessages=min(10, mapping.batch_size - len(messages)),
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        got = reply.get("Messages", [])
        messages.extend(got)
        if not got or time.monotonic() >= deadline:
            break
    return messages


def queue_arn(sqs, queue_url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    return attributes["QueueArn"]


def read_env_file(path: str) -> dict[str, str]:
    values = {}
    with open(path, encoding="utf-8") as file:
        for line in file:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                values[key] = value
    return values


def mappings_from_template(template: dict, env: dict[str, str]) -> list[Mapping]:
    """Every SQS event of every function, with its queue resolved through the env file."""
    parameters = Context(template=template)  # parameters take their template defaults

    def number(value, default: int) -> int:
        return int(resolve(value, parameters)) if value is not None else default

    found = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        binary = (resource.get("Metadata", {}).get("BuildProperties", {}) or {}).get("Binary")
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") != "SQS":
                continue
            props = event.get("Properties", {})
            queue_ref = props.get("Queue")
            queue_id = queue_logical_id(queue_ref)
            url = env.get(f"HOOKLINE_RESOURCE_{upper_snake(queue_id)}")
            if not url:
                raise SystemExit(f"event_source_mapping: no URL for queue {queue_id} in the env file")
            found.append(
                Mapping(
                    function=binary or logical_id,
                    queue_logical_id=queue_id,
                    queue_url=url,
                    batch_size=number(props.get("BatchSize"), 10),
                    window_seconds=number(props.get("MaximumBatchingWindowInSeconds"), 0),
                    report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                )
            )
    return found


def queue_logical_id(reference) -> str:
    """`!GetAtt MainQueue.Arn` (as loaded: {"Fn::GetAtt": ...}) -> MainQueue."""
    if isinstance(reference, dict):
        value = reference.get("Fn::GetAtt") or reference.get("GetAtt")
        if isinstance(value, list):
            return value[0]
        if isinstance(value, str):
            return value.split(".")[0]
    raise SystemExit(f"event_source_mapping: unsupported Queue reference {reference!r}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="template.yaml")
    parser.add_argument("--env-file", required=True)
    parser.add_argument("--port", type=int, default=int(os.environ.get("HOOKLINE_WATCH_PORT", "9000")))
    parser.add_argument("--invoke-timeout", type=float, default=120.0)
    args = parser.parse_args(argv)

    env = read_env_file(args.env_file)
    for key in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        if key in env:
            os.environ.setdefault(key, env[key])
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))
    mappings = mappings_from_template(load_template(Path(args.template)), env)
    if not mappings:
        log("no_mappings")
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    functions_path = Path(args.env_file).with_name(Path(args.env_file).stem + ".functions.json")
    threads = [
        threading.Thread(
            target=poll,
            args=(m, args.port, stop, args.invoke_timeout, function_credentials(functions_path, m.function)),
            daemon=True,
        )
        for m in mappings
    ]
    for thread in threads:
        thread.start()
    while not stop.is_set():
        stop.wait(0.5)
    for thread in threads:
        thread.join(timeout=5)
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
