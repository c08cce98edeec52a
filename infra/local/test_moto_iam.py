"""moto_iam: requests authorized against the resources and actions AWS checks.

The documented behaviour these tests hold the wrapper to:
- a DynamoDB statement scoped to a table ARN allows that table only, and a TransactWriteItems
  needs each operation's own permission on each item's table ("Using IAM with DynamoDB
  transactions", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html);
- an SQS batch action needs its single action ("Amazon SQS API permissions: Actions and resource
  reference": DeleteMessageBatch -> sqs:DeleteMessage, SendMessageBatch -> sqs:SendMessage,
  ChangeMessageVisibilityBatch -> sqs:ChangeMessageVisibility);
- a Secrets Manager statement names the secret's full ARN, while a caller may name the secret by
  name;
- a queue policy's explicit Deny wins over the caller's allow ("Policy evaluation logic",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html);
  ArnLike matches each of the six parts of an ARN on its own with `*` and `?`; a negated
  operator holds when its key is missing and a positive one fails ("IAM JSON policy elements:
  Condition operators", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html);
  `aws:PrincipalArn` of a role session is the role's ARN ("AWS global condition context keys",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html);
- an S3 object action is authorized against the object's ARN, and a bucket policy's explicit
  Deny wins over the caller's allow only where its statement applies, conditions included
  (moto's own check denies whenever a Deny statement's condition fails);
- a PutEvents is authorized against the event bus of each entry (its resource type is
  `event-bus`: "Actions, resources, and condition keys for Amazon EventBridge",
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html),
  named by name or by ARN, the account's `default` bus when an entry names none
  (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html).
They run in-process (moto's mock) with a role assumed as the local stack assumes each function's.
"""

from __future__ import annotations

import json
import unittest

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws

import moto_iam
from local_testing import WithoutEndpoint

REGION = "us-east-1"
ACCOUNT = "123456789012"


class PermissionsTest(unittest.TestCase):
    def test_a_transaction_is_each_of_its_operations_on_its_own_table(self):
        body = {
            "TransactItems": [
                {"Put": {"TableName": "events"}},
                {"Update": {"TableName": "idempotency"}},
                {"ConditionCheck": {"TableName": "idempotency"}},
                {"Delete": {"TableName": "other"}},
            ]
        }
        table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table"
        self.assertEqual(
            moto_iam.dynamodb_permissions("TransactWriteItems", body, REGION, ACCOUNT),
            [
                ("PutItem", f"{table}/events"),
                ("UpdateItem", f"{table}/idempotency"),
                ("ConditionCheckItem", f"{table}/idempotency"),
                ("DeleteItem", f"{table}/other"),
            ],
        )

    def test_single_table_requests_indexes_batches_and_tableless_actions(self):
        table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table"
        self.assertEqual(moto_iam.dynamodb_permissions("GetItem", {"TableName": "t"}, REGION, ACCOUNT), [("GetItem", f"{table}/t")])
        self.assertEqual(
            moto_iam.dynamodb_permissions("Query", {"TableName": "t", "IndexName": "by_status"}, REGION, ACCOUNT),
            [("Query", f"{table}/t/index/by_status")],
        )
        self.assertEqual(
            moto_iam.dynamodb_permissions("BatchWriteItem", {"RequestItems": {"a": [], "b": []}}, REGION, ACCOUNT),
            [("BatchWriteItem", f"{table}/a"), ("BatchWriteItem", f"{table}/b")],
        )
        self.assertEqual(moto_iam.dynamodb_permissions("ListTables", {}, REGION, ACCOUNT), [("ListTables", "*")])

    def test_put_events_is_authorized_on_each_distinct_bus_of_its_entries(self):
        bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus"
        elsewhere = "arn:aws:events:eu-west-1:210987654321:event-bus/shared"
        entries = [{"EventBusName": "a"}, {"EventBusName": f"{bus}/a"}, {}, {"EventBusName": elsewhere}, {"EventBusName": "a"}]
        self.assertEqual(
            moto_iam.events_permissions("PutEvents", {"Entries": entries}, REGION, ACCOUNT),
            [("PutEvents", f"{bus}/a"), ("PutEvents", f"{bus}/default"), ("PutEvents", elsewhere)],
        )
        self.assertEqual(moto_iam.events_permissions("ListRules", {"Entries": None}, REGION, ACCOUNT), [("ListRules", "*")])

    def test_log_resources(self):
        group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/f"
        self.assertEqual(moto_iam.logs_resource({"logGroupName": "/aws/lambda/f"}, REGION, ACCOUNT), group)
        self.assertEqual(
            moto_iam.logs_resource({"logGroupName": "/aws/lambda/f", "logStreamName": "s"}, REGION, ACCOUNT),
            f"{group}:log-stream:s",
        )
        self.assertEqual(moto_iam.logs_resource({}, REGION, ACCOUNT), "*")


QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:main"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/service/ingest"


def send_only_from(*principals: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyWithoutTls",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sqs:*",
                    "Resource": QUEUE,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
                {
                    "Sid": "SendOnlyFromListed",
                    "Effect": "Deny",
                    "Principal": {"AWS": "*"},
                    "Action": "sqs:SendMessage",
                    "Resource": QUEUE,
                    "Condition": {"ArnNotLike": {"aws:PrincipalArn": list(principals)}},
                },
            ],
        }
    )


def caller(arn: str) -> dict[str, str]:
    return {"aws:PrincipalArn": arn, "aws:PrincipalAccount": ACCOUNT}


class QueuePolicyTest(unittest.TestCase):
    def test_a_listed_principal_may_send_and_any_other_is_denied(self):
        policy = send_only_from(ROLE, f"arn:aws:iam::{ACCOUNT}:user/ops-*")
        self.assertIsNone(moto_iam.queue_policy_denial(policy, "sqs:SendMessage", QUEUE, caller(ROLE)))
        self.assertIsNone(moto_iam.queue_policy_denial(policy, "sqs:SendMessage", QUEUE, caller(f"arn:aws:iam::{ACCOUNT}:user/ops-ana")))
        self.assertEqual(
            moto_iam.queue_policy_denial(policy, "sqs:SendMessage", QUEUE, caller(f"arn:aws:iam::{ACCOUNT}:role/other")),
            "SendOnlyFromListed",
        )
        self.assertIsNone(
            moto_iam.queue_policy_denial(policy, "sqs:ReceiveMessage", QUEUE, caller(f"arn:aws:iam::{ACCOUNT}:role/other")),
            "the statement names SendMessage only",
        )
        self.assertIsNone(
            moto_iam.queue_policy_denial(policy, "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq", caller("x")),
            "another queue's resource",
        )

    def test_arn_like_matches_each_part_on_its_own(self):
        self.assertTrue(moto_iam._arn_like("arn:aws:iam::*:role/*", ROLE))
        self.assertTrue(moto_iam._arn_like(f"arn:aws:iam::{ACCOUNT}:role/service/ing?st", ROLE))
        self.assertFalse(moto_iam._arn_like("arn:aws:iam::*", ROLE), "a pattern of fewer parts matches nothing")
        self.assertFalse(moto_iam._arn_like(f"arn:aws:iam::{ACCOUNT}:role/ingest", ROLE), "the path is part of the ARN")
        self.assertFalse(moto_iam._arn_like(f"arn:aws:sts::{ACCOUNT}:role/*", ROLE))

    def test_a_missing_key_fails_a_positive_operator_and_satisfies_a_negated_one(self):
        self.assertIsNone(
            moto_iam.queue_policy_denial(send_only_from(ROLE), "sqs:DeleteMessage", QUEUE, caller(ROLE)),
            "aws:SecureTransport is absent: Bool fails",
        )
        self.assertEqual(moto_iam.queue_policy_denial(send_only_from(ROLE), "sqs:SendMessage", QUEUE, {}), "SendOnlyFromListed")

    def test_a_statement_for_a_service_or_another_principal_does_not_apply(self):
        statement = {"Effect": "Deny", "Action": "sqs:*", "Resource": QUEUE}
        for principal, applies in [
            ({"Service": "sns.amazonaws.com"}, False),
            ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/other"}, False),
            ({"AWS": [ROLE]}, True),
            ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, True),
        ]:
            policy = json.dumps({"Statement": [{**statement, "Principal": principal}]})
            denial = moto_iam.queue_policy_denial(policy, "sqs:SendMessage", QUEUE, caller(ROLE))
            self.assertEqual(denial is not None, applies, principal)

    def test_what_is_not_evaluated_is_refused_loudly(self):
        for statement in [
            {"Effect": "Deny", "Principal": "*", "NotAction": "sqs:ReceiveMessage", "Resource": QUEUE},
            {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": QUEUE,
             "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
        ]:
            with self.assertRaises(moto_iam.UnsupportedPolicy):
                moto_iam.queue_policy_denial(json.dumps({"Statement": [statement]}), "sqs:SendMessage", QUEUE, caller(ROLE))
        self.assertIsNone(moto_iam.queue_policy_denial(None, "sqs:SendMessage", QUEUE, caller(ROLE)))


@mock_aws
class EnforcementTest(WithoutEndpoint, unittest.TestCase):
    """A role allowed UpdateItem on one table, PutItem on another, SendMessage and DeleteMessage
    on one queue, GetSecretValue on one secret and PutEvents on two buses; everything else must
    be denied."""

    def setUp(self):
        moto_iam.enforce(False)
        self.addCleanup(moto_iam.enforce, False)
        admin = {"region_name": REGION, "aws_access_key_id": "test", "aws_secret_access_key": "test"}
        dynamodb = boto3.client("dynamodb", **admin)
        for name in ("idempotency", "events", "ledger"):
            dynamodb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "event_id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "event_id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        sqs = boto3.client("sqs", **admin)
        self.allowed_queue = sqs.create_queue(QueueName="allowed")["QueueUrl"]
        self.other_queue = sqs.create_queue(QueueName="other")["QueueUrl"]
        allowed_arn = sqs.get_queue_attributes(QueueUrl=self.allowed_queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        secrets = boto3.client("secretsmanager", **admin)
        self.secret_arn = secrets.create_secret(Name="sources", SecretString="{}")["ARN"]
        secrets.create_secret(Name="other", SecretString="{}")
        events = boto3.client("events", **admin)
        self.bus_arn = events.create_event_bus(Name="hookline")["EventBusArn"]
        second_bus_arn = events.create_event_bus(Name="second")["EventBusArn"]
        events.create_event_bus(Name="other")
        table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table"
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": f"{table}/idempotency"},
                {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": f"{table}/events"},
                {"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:DeleteMessage", "sqs:ReceiveMessage"], "Resource": allowed_arn},
                {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": self.secret_arn},
                {"Effect": "Allow", "Action": "events:PutEvents", "Resource": [self.bus_arn, second_bus_arn]},
                {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                 "Resource": ["arn:aws:s3:::bodies-test/bodies/*", "arn:aws:s3:::bodies-test/secret/*"]},
            ],
        }
        s3 = boto3.client("s3", **admin)
        s3.create_bucket(Bucket="bodies-test")
        for key in ("bodies/b", "secret/s", "other/o"):
            s3.put_object(Bucket="bodies-test", Key=key, Body=b"{}")
        iam = boto3.client("iam", **admin)
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        iam.put_role_policy(RoleName="fn", PolicyName="fn", PolicyDocument=json.dumps(policy))
        credentials = boto3.client("sts", **admin).assume_role(RoleArn=role, RoleSessionName="fn")["Credentials"]
        self.role = {
            "region_name": REGION,
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
        moto_iam.enforce(True)

    def denied(self, call) -> bool:
        try:
            call()
            return False
        except ClientError as error:
            status = error.response["ResponseMetadata"]["HTTPStatusCode"]
            self.assertEqual(status, 403, error)
            return True

    def update(self, table: str) -> dict:
        return {
            "Update": {
                "TableName": table,
                "Key": {"event_id": {"S": "e"}},
                "UpdateExpression": "SET s = :s",
                "ExpressionAttributeValues": {":s": {"S": "x"}},
            }
        }

    def test_table_scoped_statements_allow_their_table_only(self):
        dynamodb = boto3.client("dynamodb", **self.role)
        item = {"event_id": {"S": "e"}}
        self.assertFalse(self.denied(lambda: dynamodb.put_item(TableName="events", Item=item)))
        self.assertTrue(self.denied(lambda: dynamodb.put_item(TableName="ledger", Item=item)))
        self.assertTrue(self.denied(lambda: dynamodb.get_item(TableName="events", Key=item)), "GetItem is not granted")

    def test_a_transaction_needs_each_operations_permission_on_its_table(self):
        dynamodb = boto3.client("dynamodb", **self.role)
        put_events = {"Put": {"TableName": "events", "Item": {"event_id": {"S": "t"}}}}
        self.assertFalse(self.denied(lambda: dynamodb.transact_write_items(TransactItems=[put_events, self.update("idempotency")])))
        self.assertTrue(self.denied(lambda: dynamodb.transact_write_items(TransactItems=[put_events, self.update("ledger")])))
        put_idempotency = {"Put": {"TableName": "idempotency", "Item": {"event_id": {"S": "t"}}}}
        self.assertTrue(self.denied(lambda: dynamodb.transact_write_items(TransactItems=[put_idempotency])), "Put needs PutItem")

    def test_sqs_batch_actions_need_their_single_action_on_the_queue(self):
        sqs = boto3.client("sqs", **self.role)
        self.assertFalse(self.denied(lambda: sqs.send_message(QueueUrl=self.allowed_queue, MessageBody="m")))
        self.assertTrue(self.denied(lambda: sqs.send_message(QueueUrl=self.other_queue, MessageBody="m")))
        entries = [{"Id": "1", "MessageBody": "m"}]
        self.assertFalse(self.denied(lambda: sqs.send_message_batch(QueueUrl=self.allowed_queue, Entries=entries)))
        messages = sqs.receive_message(QueueUrl=self.allowed_queue, MaxNumberOfMessages=10)["Messages"]
        handles = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        self.assertFalse(self.denied(lambda: sqs.delete_message_batch(QueueUrl=self.allowed_queue, Entries=handles)))
        self.assertTrue(self.denied(lambda: sqs.change_message_visibility_batch(
            QueueUrl=self.allowed_queue, Entries=[{"Id": "1", "ReceiptHandle": "h", "VisibilityTimeout": 1}])))

    def test_a_secret_named_by_name_is_authorized_by_its_full_arn(self):
        secrets = boto3.client("secretsmanager", **self.role)
        self.assertFalse(self.denied(lambda: secrets.get_secret_value(SecretId="sources")))
        self.assertFalse(self.denied(lambda: secrets.get_secret_value(SecretId=self.secret_arn)))
        self.assertTrue(self.denied(lambda: secrets.get_secret_value(SecretId="other")))

    def test_put_events_needs_the_permission_on_the_bus_of_each_entry(self):
        events = boto3.client("events", **self.role)

        def put(*buses: str | None):
            entries = [
                {"Source": "hookline.test", "DetailType": "probe", "Detail": "{}", **({"EventBusName": b} if b else {})}
                for b in buses
            ]
            answer = events.put_events(Entries=entries)
            self.assertEqual(answer["FailedEntryCount"], 0, answer)

        self.assertFalse(self.denied(lambda: put("hookline")))
        self.assertFalse(self.denied(lambda: put(self.bus_arn)), "the bus named by its ARN")
        self.assertTrue(self.denied(lambda: put("other")))
        self.assertTrue(self.denied(lambda: put(None)), "no bus named: the default bus")
        self.assertFalse(self.denied(lambda: put("hookline", "second", self.bus_arn)))
        self.assertTrue(self.denied(lambda: put("hookline", "other")), "each entry's bus, not the first one's")
        self.assertTrue(self.denied(lambda: put("other", "hookline")))

    def test_a_queue_policy_denies_a_caller_its_own_policy_allows(self):
        admin = {"region_name": REGION, "aws_access_key_id": "test", "aws_secret_access_key": "test"}
        moto_iam.enforce(False)
        iam = boto3.client("iam", **admin)
        iam.create_user(UserName="intruder")
        everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}
        iam.put_user_policy(UserName="intruder", PolicyName="all", PolicyDocument=json.dumps(everything))
        key = iam.create_access_key(UserName="intruder")["AccessKey"]
        intruder = boto3.client("sqs", region_name=REGION, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
        role_arn = f"arn:aws:iam::{ACCOUNT}:role/fn"
        allowed_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:allowed"
        policy = json.loads(send_only_from(role_arn).replace(QUEUE, allowed_arn))
        boto3.client("sqs", **admin).set_queue_attributes(QueueUrl=self.allowed_queue, Attributes={"Policy": json.dumps(policy)})
        moto_iam.enforce(True)

        self.assertFalse(self.denied(lambda: intruder.send_message(QueueUrl=self.other_queue, MessageBody="m")), "no policy there")
        self.assertTrue(self.denied(lambda: intruder.send_message(QueueUrl=self.allowed_queue, MessageBody="m")))
        self.assertTrue(self.denied(lambda: intruder.send_message_batch(QueueUrl=self.allowed_queue, Entries=[{"Id": "1", "MessageBody": "m"}])))
        self.assertFalse(self.denied(lambda: intruder.receive_message(QueueUrl=self.allowed_queue)), "only SendMessage is denied")
        role_sqs = boto3.client("sqs", **self.role)
        self.assertFalse(self.denied(lambda: role_sqs.send_message(QueueUrl=self.allowed_queue, MessageBody="m")), "the role's session is the role")

    def test_a_bucket_policy_denies_what_its_statements_deny_and_nothing_else(self):
        # The template's TLS-only statement (its condition cannot hold without the key, as for
        # queue policies) and an unconditional Deny of one prefix.
        admin = {"region_name": REGION, "aws_access_key_id": "test", "aws_secret_access_key": "test"}
        policy = {"Version": "2012-10-17", "Statement": [
            {"Sid": "DenyWithoutTls", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": ["arn:aws:s3:::bodies-test", "arn:aws:s3:::bodies-test/*"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Sid": "NoSecrets", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::bodies-test/secret/*"},
        ]}
        moto_iam.enforce(False)
        boto3.client("s3", **admin).put_bucket_policy(Bucket="bodies-test", Policy=json.dumps(policy))
        moto_iam.enforce(True)
        s3 = boto3.client("s3", **self.role)
        self.assertFalse(self.denied(lambda: s3.get_object(Bucket="bodies-test", Key="bodies/b")), "moto denied it unconditionally")
        self.assertFalse(self.denied(lambda: s3.put_object(Bucket="bodies-test", Key="bodies/n", Body=b"{}")))
        self.assertTrue(self.denied(lambda: s3.get_object(Bucket="bodies-test", Key="secret/s")), "the bucket's Deny wins")
        self.assertFalse(self.denied(lambda: s3.put_object(Bucket="bodies-test", Key="secret/n", Body=b"{}")), "only reads")
        self.assertTrue(self.denied(lambda: s3.get_object(Bucket="bodies-test", Key="other/o")), "the role's own policy")

    def test_unknown_credentials_are_refused_and_enforcement_switches_off(self):
        stranger = {"region_name": REGION, "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "x"}
        sqs = boto3.client("sqs", **stranger)
        with self.assertRaises(ClientError):
            sqs.send_message(QueueUrl=self.allowed_queue, MessageBody="m")
        moto_iam.enforce(False)
        sqs.send_message(QueueUrl=self.other_queue, MessageBody="m")


if __name__ == "__main__":
    unittest.main()
