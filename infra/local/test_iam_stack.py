"""Each function's role, enforced: what its code calls is allowed, what it must not do is denied,
and removing any one statement of a role from template.yaml is caught.

The stack is provisioned from template.yaml with `--enforce-iam` into a moto server of its own
(moto.sh on $HOOKLINE_TEST_IAM_MOTO_PORT, default 4589), and every probe runs with the function's
own credentials from the `.functions.json` file provisioning wrote, as the function would. A
probe is denied when the emulator answers 403 (AccessDenied); any other answer (a bogus receipt
handle refused with 400, say) means the request was authorized. PutEvents is the exception: it
answers 200 with FailedEntryCount for entries that failed, so only a PutEvents with none failed
counts as allowed, and one with failed entries fails the test (it proves neither).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import unittest
from pathlib import Path

import boto3
import yaml
from botocore.exceptions import ClientError

import provision
from local_testing import MotoServer, moto_sh

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
SOURCES_JSON = HERE / "sources.json"


class Stack:
    """The provisioned stack's names, and clients with a function's (or the operator's) keys."""

    def __init__(self, endpoint: str, env_file: Path):
        self.endpoint = endpoint
        self.env = dict(
            line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line and not line.startswith("#")
        )
        document = json.loads(provision.functions_file(env_file).read_text())
        self.functions = {f["name"]: f["environment"] for f in document["functions"]}

    def resource(self, logical_id: str) -> str:
        return self.env[f"HOOKLINE_RESOURCE_{provision.upper_snake(logical_id)}"]

    def client(self, service: str, function: str | None = None):
        keys = self.functions[function] if function else self.env
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=keys.get("AWS_SESSION_TOKEN"),
        )


def log_group(stack: Stack, function: str) -> str:
    return f"/aws/lambda/iam-{function}"


def probes(stack: Stack) -> dict[str, list[tuple[str, str, object]]]:
    """Per function: (the statement Sid, or Sids, a call needs; a label; the call), for every call
    its code (or Lambda on its behalf: logs, the event source mapping's polling) makes."""
    main, dlq = stack.resource("MainQueue"), stack.resource("DeadLetterQueue")
    idempotency, events = stack.resource("IdempotencyTable"), stack.resource("EventsTable")
    ledger, secret = stack.resource("DeadLetterLedgerTable"), stack.resource("SourcesSecret")
    key = {"event_id": {"S": "iam:probe"}}
    update = {"UpdateExpression": "SET probe = :p", "ExpressionAttributeValues": {":p": {"S": "1"}}}

    def logs(function: str):
        client = stack.client("logs", function)
        group = log_group(stack, function)
        return [
            ("WriteOwnLogs", "CreateLogStream", lambda: client.create_log_stream(logGroupName=group, logStreamName="probe")),
            ("WriteOwnLogs", "PutLogEvents", lambda: client.put_log_events(
                logGroupName=group, logStreamName="probe", logEvents=[{"timestamp": 1, "message": "probe"}])),
        ]

    def consume(function: str, queue: str, sid: str):
        sqs = stack.client("sqs", function)
        return [
            (sid, "ReceiveMessage", lambda: sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0)),
            (sid, "DeleteMessageBatch", lambda: sqs.delete_message_batch(
                QueueUrl=queue, Entries=[{"Id": "1", "ReceiptHandle": "probe"}])),
            (sid, "GetQueueAttributes", lambda: sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])),
            (sid, "ChangeMessageVisibility", lambda: sqs.change_message_visibility(
                QueueUrl=queue, ReceiptHandle="probe", VisibilityTimeout=1)),
        ]

    bucket = stack.resource("BodyBucket")
    stack.client("s3").put_object(Bucket=bucket, Key="bodies/iam/probe", Body=b"{}")
    processor_s3, ingest_s3 = stack.client("s3", "processor"), stack.client("s3", "ingest")
    ingest_sqs, processor_sqs, reprocess_sqs = (stack.client("sqs", f) for f in ("ingest", "processor", "reprocess"))
    processor_db, reprocess_db = stack.client("dynamodb", "processor"), stack.client("dynamodb", "reprocess")
    processor_events, bus = stack.client("events", "processor"), stack.functions["processor"]["HOOKLINE_EVENT_BUS"]
    return {
        "ingest": logs("ingest") + [
            ("SendToMainQueue", "SendMessage main", lambda: ingest_sqs.send_message(QueueUrl=main, MessageBody="{}")),
            ("ReadSourcesSecret", "GetSecretValue", lambda: stack.client("secretsmanager", "ingest").get_secret_value(SecretId=secret)),
            ("StoreLargeBodies", "PutObject bodies/", lambda: ingest_s3.put_object(Bucket=bucket, Key="bodies/iam/put", Body=b"{}")),
        ],
        "processor": logs("processor") + consume("processor", main, "ConsumeMainQueue") + [
            ("DeadLetterPermanentFailures", "SendMessage dlq", lambda: processor_sqs.send_message(QueueUrl=dlq, MessageBody="{}")),
            ("ClaimAndCompleteEvents", "UpdateItem idempotency", lambda: processor_db.update_item(TableName=idempotency, Key=key, **update)),
            ("StoreEvents", "conditional PutItem events", lambda: processor_db.put_item(
                TableName=events, Item=key, ConditionExpression="attribute_not_exists(event_id)")),
            ("PublishEvents", "PutEvents own bus", lambda: processor_events.put_events(Entries=[probe_event(bus)])),
            ("ReadLargeBodies", "GetObject bodies/", lambda: processor_s3.get_object(Bucket=bucket, Key="bodies/iam/probe")),
        ],
        "reprocess": logs("reprocess") + consume("reprocess", dlq, "ConsumeDeadLetterQueue") + [
            ("ReplayToMainQueue", "SendMessage main", lambda: reprocess_sqs.send_message(QueueUrl=main, MessageBody="{}")),
            ("ReadIdempotencyRecords", "GetItem idempotency", lambda: reprocess_db.get_item(TableName=idempotency, Key=key)),
            ("ReadStoredEvents", "GetItem events", lambda: reprocess_db.get_item(TableName=events, Key=key)),
            ("DeferToDeadLetterQueue", "SendMessage dlq", lambda: reprocess_sqs.send_message(QueueUrl=dlq, MessageBody="{}")),
            ("RecordInLedger", "GetItem ledger", lambda: reprocess_db.get_item(TableName=ledger, Key=key)),
            ("RecordInLedger", "UpdateItem ledger", lambda: reprocess_db.update_item(TableName=ledger, Key=key, **update)),
        ],
    }


def probe_event(bus: str) -> dict[str, str]:
    return {"EventBusName": bus, "Source": "hookline.iam", "DetailType": "probe", "Detail": "{}"}


def denied(call) -> bool:
    try:
        answer = call()
    except ClientError as error:
        return error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    if answer.get("FailedEntryCount"):  # PutEvents: authorized, yet nothing was put
        raise AssertionError(f"PutEvents entries failed: {answer['Entries']}")
    return False


class IamStackTest(MotoServer, unittest.TestCase):
    port = os.environ.get("HOOKLINE_TEST_IAM_MOTO_PORT", "4589")
    tmp_prefix = "hookline-iam-"

    def provisioned(self, template: dict | None = None, operator_sends: bool = True) -> Stack:
        """A fresh stack from `template` (default template.yaml) with IAM enforcement on, and the
        operator named in OperatorPrincipalArns unless not `operator_sends`."""
        self.assertEqual(moto_sh("reset", self.env).returncode, 0)
        template_path = provision.REPO_ROOT / "template.yaml"
        if template is not None:
            template_path = self.tmp / "template.yaml"
            template_path.write_text(yaml.safe_dump(template))
        env_file = self.tmp / "iam.env"
        result = subprocess.run(
            [sys.executable, str(HERE / "provision.py"), "--template", str(template_path), "--stack-name", "iam",
             "--env-file", str(env_file), "--secret-value", f"SourcesSecret={SOURCES_JSON}", "--enforce-iam"]
            + (["--operator-parameter", "OperatorPrincipalArns"] if operator_sends else []),
            env=self.env, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
        )
        self.assertEqual(result.returncode, 0, f"provision failed:\n{result.stdout}\n{result.stderr}")
        return Stack(self.endpoint, env_file)

    def test_every_call_of_each_function_is_allowed_with_its_own_role(self):
        stack = self.provisioned()
        for function, calls in probes(stack).items():
            for needs, label, call in calls:
                with self.subTest(function=function, call=label):
                    self.assertFalse(denied(call), f"{function} was denied {label} ({needs})")

    def test_each_function_is_denied_outside_its_policy(self):
        stack = self.provisioned()
        main, dlq, parking = (stack.resource(q) for q in ("MainQueue", "DeadLetterQueue", "ParkingQueue"))
        ledger, events = stack.resource("DeadLetterLedgerTable"), stack.resource("EventsTable")
        key = {"event_id": {"S": "iam:probe"}}
        update = {"UpdateExpression": "SET probe = :p", "ExpressionAttributeValues": {":p": {"S": "1"}}}
        bucket = stack.resource("BodyBucket")
        stack.client("s3").put_object(Bucket=bucket, Key="bodies/iam/probe", Body=b"{}")
        stack.client("s3").put_object(Bucket=bucket, Key="other/probe", Body=b"{}")
        bus = stack.resource("EventBus")
        other_bus = stack.client("events").create_event_bus(Name="iam-other")["EventBusArn"]
        outside = {
            "ingest reads a stored body": lambda: stack.client("s3", "ingest").get_object(
                Bucket=bucket, Key="bodies/iam/probe"),
            "ingest writes outside bodies/": lambda: stack.client("s3", "ingest").put_object(
                Bucket=bucket, Key="other/put", Body=b"{}"),
            "processor stores a body": lambda: stack.client("s3", "processor").put_object(
                Bucket=bucket, Key="bodies/iam/new", Body=b"{}"),
            "processor reads outside bodies/": lambda: stack.client("s3", "processor").get_object(
                Bucket=bucket, Key="other/probe"),
            "reprocess reads a stored body": lambda: stack.client("s3", "reprocess").get_object(
                Bucket=bucket, Key="bodies/iam/probe"),
            "ingest reads the ledger": lambda: stack.client("dynamodb", "ingest").get_item(TableName=ledger, Key=key),
            "ingest sends to the DLQ": lambda: stack.client("sqs", "ingest").send_message(QueueUrl=dlq, MessageBody="{}"),
            "ingest receives from the main queue": lambda: stack.client("sqs", "ingest").receive_message(QueueUrl=main),
            "processor sends to the parking queue": lambda: stack.client("sqs", "processor").send_message(
                QueueUrl=parking, MessageBody="{}"),
            "processor writes the ledger": lambda: stack.client("dynamodb", "processor").update_item(
                TableName=ledger, Key=key, **update),
            "processor reads the sources secret": lambda: stack.client("secretsmanager", "processor").get_secret_value(
                SecretId=stack.resource("SourcesSecret")),
            "reprocess writes the events table": lambda: stack.client("dynamodb", "reprocess").put_item(
                TableName=events, Item=key),
            "reprocess sends to the parking queue": lambda: stack.client("sqs", "reprocess").send_message(
                QueueUrl=parking, MessageBody="{}"),
            "ingest puts events on the bus": lambda: stack.client("events", "ingest").put_events(
                Entries=[probe_event(bus)]),
            "reprocess puts events on the bus": lambda: stack.client("events", "reprocess").put_events(
                Entries=[probe_event(bus)]),
            "processor puts events on another bus": lambda: stack.client("events", "processor").put_events(
                Entries=[probe_event(other_bus)]),
            "processor puts events on the default bus": lambda: stack.client("events", "processor").put_events(
                Entries=[{k: v for k, v in probe_event(bus).items() if k != "EventBusName"}]),
            "processor puts on its bus and another in one request": lambda: stack.client("events", "processor").put_events(
                Entries=[probe_event(bus), probe_event("iam-other")]),
            "a caller without keys the emulator issued": lambda: boto3.client(
                "sqs", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id="test",
                aws_secret_access_key="test").send_message(QueueUrl=main, MessageBody="{}"),
        }
        for label, call in outside.items():
            with self.subTest(label):
                self.assertTrue(denied(call), f"allowed: {label}")
        # The operator's keys (scripts, tests, the CLI) may do anything.
        self.assertFalse(denied(lambda: stack.client("dynamodb").scan(TableName=ledger)))

    def intruder(self, stack: Stack):
        """An SQS client of a user whose own policy allows it everything on every queue."""
        iam = stack.client("iam")
        iam.create_user(UserName="intruder")
        document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}
        iam.put_user_policy(UserName="intruder", PolicyName="all", PolicyDocument=json.dumps(document))
        key = iam.create_access_key(UserName="intruder")["AccessKey"]
        return boto3.client("sqs", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])

    def test_the_queue_policies_let_only_their_senders_send(self):
        stack = self.provisioned()
        queues = {q: stack.resource(q) for q in ("MainQueue", "DeadLetterQueue", "ParkingQueue")}
        intruder, operator = self.intruder(stack), stack.client("sqs")
        for name, url in queues.items():
            with self.subTest(queue=name):
                self.assertTrue(denied(lambda: intruder.send_message(QueueUrl=url, MessageBody="{}")), "intruder sent")
                self.assertTrue(denied(lambda: intruder.send_message_batch(
                    QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "{}"}])), "intruder sent a batch")
                self.assertFalse(denied(lambda: intruder.get_queue_attributes(QueueUrl=url)), "only sending is denied")
                self.assertFalse(denied(lambda: operator.send_message(QueueUrl=url, MessageBody="{}")), "operator denied")
        # Functions sending where their own role allows it are covered by the probes; the
        # policy also stands behind the roles: the processor's role never allows the main queue.
        self.assertTrue(denied(lambda: stack.client("sqs", "processor").send_message(
            QueueUrl=queues["MainQueue"], MessageBody="{}")))

        # Without OperatorPrincipalArns, the operator's own allow-everything policy is not enough.
        stack = self.provisioned(operator_sends=False)
        operator = stack.client("sqs")
        for name in queues:
            with self.subTest(queue=name, operators="none"):
                self.assertTrue(denied(lambda: operator.send_message(QueueUrl=stack.resource(name), MessageBody="{}")))
        self.assertFalse(denied(lambda: stack.client("sqs", "ingest").send_message(
            QueueUrl=stack.resource("MainQueue"), MessageBody="{}")))

        # And the statement is what denies: without it, the intruder sends to the main queue.
        template = provision.load_template(provision.REPO_ROOT / "template.yaml")
        statements = template["Resources"]["MainQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
        statements[:] = [st for st in statements if st["Sid"] != "SendOnlyFromIngestReprocessAndOperators"]
        stack = self.provisioned(template)
        intruder = self.intruder(stack)
        self.assertFalse(denied(lambda: intruder.send_message(QueueUrl=stack.resource("MainQueue"), MessageBody="{}")))
        self.assertTrue(denied(lambda: intruder.send_message(QueueUrl=stack.resource("DeadLetterQueue"), MessageBody="{}")))

    def test_removing_any_one_statement_of_a_role_fails_the_calls_that_need_it(self):
        template = provision.load_template(provision.REPO_ROOT / "template.yaml")
        roles = {"ingest": "IngestRole", "processor": "ProcessorRole", "reprocess": "ReprocessRole"}
        for function, role in roles.items():
            statements = template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            for index, statement in enumerate(statements):
                sid = statement["Sid"]
                with self.subTest(role=role, removed=sid):
                    mutated = copy.deepcopy(template)
                    del mutated["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][index]
                    stack = self.provisioned(mutated)
                    outcomes = {label: (needs, denied(call)) for needs, label, call in probes(stack)[function]}
                    needs_it = {
                        label for label, (needs, _) in outcomes.items() if sid in ((needs,) if isinstance(needs, str) else needs)
                    }
                    self.assertTrue(needs_it, f"no probe exercises {role}.{sid}")
                    now_denied = {label for label, (_, was_denied) in outcomes.items() if was_denied}
                    self.assertEqual(now_denied, needs_it, f"without {role}.{sid}: denied {sorted(now_denied)}")

if __name__ == "__main__":
    unittest.main()
