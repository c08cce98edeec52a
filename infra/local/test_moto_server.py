"""moto_server's transaction rollback: only the touched items are snapshotted and put back."""

import unittest

import moto_server  # noqa: F401  (patches moto's DynamoDB backend on import)
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.models import DynamoDBBackend

CLAIM = "attribute_not_exists(pk)"


def put(pk: str, state: str, condition: str | None = None) -> dict:
    op = {"TableName": "events", "Item": {"pk": {"S": pk}, "state": {"S": state}}}
    if condition:
        op["ConditionExpression"] = condition
    return {"Put": op}


def update(pk: str, state: str) -> dict:
    return {
        "Update": {
            "TableName": "events",
            "Key": {"pk": {"S": pk}},
            "UpdateExpression": "SET #s = :s",
            "ExpressionAttributeNames": {"#s": "state"},
            "ExpressionAttributeValues": {":s": {"S": state}},
        }
    }


class TransactWriteItemsTest(unittest.TestCase):
    def setUp(self):
        self.backend = DynamoDBBackend("us-east-1", "123456789012")
        self.table = self.backend.create_table(
            "events",
            schema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            throughput=None,
            attr=[{"AttributeName": "pk", "AttributeType": "S"}],
            global_indexes=None,
            indexes=None,
            streams=None,
            billing_mode="PAY_PER_REQUEST",
            sse_specification=None,
            tags=[],
            deletion_protection_enabled=False,
            warm_throughput=None,
        )
        self.backend.transact_write_items([put("untouched", "kept"), put("claimed", "PENDING")])

    def state(self, pk: str) -> str | None:
        item = self.backend.get_item("events", {"pk": {"S": pk}})
        return None if item is None else item.attrs["state"].value

    def test_a_committed_transaction_keeps_all_its_writes(self):
        self.backend.transact_write_items([put("new", "PENDING", CLAIM), update("claimed", "COMPLETED")])
        self.assertEqual(self.state("new"), "PENDING")
        self.assertEqual(self.state("claimed"), "COMPLETED")

    def test_a_cancelled_transaction_puts_back_exactly_what_it_touched(self):
        with self.assertRaises(TransactionCanceledException):
            # The update (in place) and the new item are written before the last condition fails.
            self.backend.transact_write_items(
                [update("claimed", "COMPLETED"), put("new", "PENDING"), put("absent", "X", "attribute_exists(pk)")]
            )
        self.assertEqual(self.state("claimed"), "PENDING")
        self.assertIsNone(self.state("new"))
        self.assertIsNone(self.state("absent"))
        self.assertEqual(self.state("untouched"), "kept")

    def test_the_table_is_not_copied(self):
        with self.assertRaises(TransactionCanceledException):
            self.backend.transact_write_items([put("claimed", "X", CLAIM)])
        # moto's own rollback swaps in a deep copy of the whole table.
        self.assertIs(self.backend.tables["events"], self.table)
        self.assertEqual(self.state("claimed"), "PENDING")


if __name__ == "__main__":
    unittest.main()
