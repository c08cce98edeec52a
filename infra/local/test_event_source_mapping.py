"""Unit tests of the local event source mapping's decisions (no emulator needed)."""

import unittest

import event_source_mapping as esm


def message(i: int) -> dict:
    return {
        "MessageId": f"m{i}",
        "ReceiptHandle": f"r{i}",
        "Body": "{}",
        "Attributes": {"ApproximateReceiveCount": "1"},
        "MessageAttributes": {"hookline.source": {"DataType": "String", "StringValue": "stripe"}},
    }


class AcknowledgedTest(unittest.TestCase):
    def setUp(self):
        self.batch = [message(1), message(2), message(3)]

    def test_deletes_all_but_the_reported_failures(self):
        done = esm.acknowledged(self.batch, {"batchItemFailures": [{"itemIdentifier": "m2"}]}, True)
        self.assertEqual([m["MessageId"] for m in done], ["m1", "m3"])

    def test_an_empty_failure_list_acknowledges_everything(self):
        self.assertEqual(len(esm.acknowledged(self.batch, {"batchItemFailures": []}, True)), 3)

    def test_an_invocation_error_deletes_nothing(self):
        self.assertEqual(esm.acknowledged(self.batch, None, True), [])

    def test_an_unknown_or_empty_identifier_fails_the_whole_batch(self):
        self.assertEqual(esm.acknowledged(self.batch, {"batchItemFailures": [{"itemIdentifier": "nope"}]}, True), [])
        self.assertEqual(esm.acknowledged(self.batch, {"batchItemFailures": [{"itemIdentifier": ""}]}, True), [])

    def test_without_report_batch_item_failures_success_deletes_all(self):
        self.assertEqual(len(esm.acknowledged(self.batch, {"batchItemFailures": [{"itemIdentifier": "m1"}]}, False)), 3)


class EventTest(unittest.TestCase):
    def test_builds_lambdas_sqs_event_shape(self):
        event = esm.sqs_event([message(1)], "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")
        record = event["Records"][0]
        self.assertEqual(record["messageId"], "m1")
        self.assertEqual(record["receiptHandle"], "r1")
        self.assertEqual(record["eventSource"], "aws:sqs")
        self.assertEqual(record["attributes"]["ApproximateReceiveCount"], "1")
        self.assertEqual(record["messageAttributes"]["hookline.source"]["stringValue"], "stripe")


class MappingsTest(unittest.TestCase):
    def test_reads_sqs_events_from_the_template(self):
        template = {
            "Parameters": {"BatchSize": {"Type": "Number", "Default": 5}},
            "Resources": {
                "ProcessorFunction": {
                    "Type": "AWS::Serverless::Function",
                    "Metadata": {"BuildProperties": {"Binary": "processor"}},
                    "Properties": {
                        "Events": {
                            "Main": {
                                "Type": "SQS",
                                "Properties": {
                                    "Queue": {"Fn::GetAtt": ["MainQueue", "Arn"]},
                                    "BatchSize": {"Ref": "BatchSize"},
                                    "MaximumBatchingWindowInSeconds": 1,
                                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                                },
                            },
                            "Api": {"Type": "HttpApi", "Properties": {}},
                        }
                    },
                },
                "MainQueue": {"Type": "AWS::SQS::Queue"},
            }
        }
        mappings = esm.mappings_from_template(template, {"HOOKLINE_RESOURCE_MAIN_QUEUE": "http://q"})
        self.assertEqual(
            mappings,
            [esm.Mapping("processor", "MainQueue", "http://q", 5, 1, True)],
        )


if __name__ == "__main__":
    unittest.main()
