"""Tests of infra/local/provision.py, moto.sh and template.yaml (stdlib unittest).

Run from the repo root:
    .venv/bin/python -m unittest discover -s infra/local -p 'test_*.py'

The end-to-end tests start their own moto server through moto.sh on port
$HOOKLINE_TEST_MOTO_PORT (default 4599) with a private run dir, and stop it afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import provision  # noqa: E402
from local_testing import MotoServer, moto_sh  # noqa: E402
from provision import (  # noqa: E402
    Context,
    ProvisionError,
    ResolvedResource,
    Unresolvable,
    creation_order,
    env_lines,
    function_environment,
    load_template,
    references,
    resolve,
    upper_snake,
    write_env_file,
)

TEMPLATE_PATH = REPO_ROOT / "template.yaml"
SOURCES_JSON = HERE / "sources.json"

SMALL_TEMPLATE = textwrap.dedent(
    """\
    Parameters:
      Env:
        Type: String
        Default: dev
      Count:
        Type: Number
        Default: 5
      NoDefault:
        Type: String
      Names:
        Type: CommaDelimitedList
        Default: "a, b,c"
    Conditions:
      IsProd: !Equals [!Ref Env, prod]
      NotProd: !Not [!Condition IsProd]
    Mappings:
      Sizes:
        dev: {Memory: 128}
        prod: {Memory: 1024}
    Resources:
      Queue:
        Type: AWS::SQS::Queue
        Properties:
          QueueName: !Sub "${AWS::StackName}-q"
      Fn:
        Type: AWS::Serverless::Function
    """
)


def small_context(**kwargs) -> Context:
    ctx = Context(template=load_template(SMALL_TEMPLATE), stack_name="st", account_id="111122223333", **kwargs)
    ctx.resources["Queue"] = ResolvedResource(
        ref="http://127.0.0.1:1/111122223333/st-q",
        attributes={"Arn": "arn:aws:sqs:us-east-1:111122223333:st-q", "QueueName": "st-q"},
    )
    return ctx


class TagLoaderTest(unittest.TestCase):
    def test_short_tags_become_long_form(self):
        doc = load_template(
            textwrap.dedent(
                """\
                Resources:
                  R:
                    Type: X
                    Properties:
                      A: !Ref Thing
                      B: !GetAtt Queue.Arn
                      C: !GetAtt [Queue, QueueName]
                      D: !Sub "${AWS::StackName}-x"
                      E: !Sub ["${P}-y", {P: !Ref Thing}]
                      F: !FindInMap [Map, !Ref Env, Key]
                      G: !If [Cond, !Join [",", [a, b]], !Ref AWS::NoValue]
                      H: !Base64 text
                      I: !Select [0, !Split [",", "a,b"]]
                      J: !Condition Cond
                      K: !GetAtt Table.StreamArn
                """
            )
        )
        p = doc["Resources"]["R"]["Properties"]
        self.assertEqual(p["A"], {"Ref": "Thing"})
        self.assertEqual(p["B"], {"Fn::GetAtt": ["Queue", "Arn"]})
        self.assertEqual(p["C"], {"Fn::GetAtt": ["Queue", "QueueName"]})
        self.assertEqual(p["D"], {"Fn::Sub": "${AWS::StackName}-x"})
        self.assertEqual(p["E"], {"Fn::Sub": ["${P}-y", {"P": {"Ref": "Thing"}}]})
        self.assertEqual(p["F"], {"Fn::FindInMap": ["Map", {"Ref": "Env"}, "Key"]})
        self.assertEqual(
            p["G"], {"Fn::If": ["Cond", {"Fn::Join": [",", ["a", "b"]]}, {"Ref": "AWS::NoValue"}]}
        )
        self.assertEqual(p["H"], {"Fn::Base64": "text"})
        self.assertEqual(p["I"], {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]})
        self.assertEqual(p["J"], {"Condition": "Cond"})
        self.assertEqual(p["K"], {"Fn::GetAtt": ["Table", "StreamArn"]})

    def test_dates_stay_text_and_json_loads(self):
        doc = load_template('{"Resources": {"R": {"Type": "X", "Properties": {"Version": "2012-10-17"}}}}')
        self.assertEqual(doc["Resources"]["R"]["Properties"]["Version"], "2012-10-17")
        doc = load_template("Resources:\n  R:\n    Type: X\n    Properties:\n      Version: 2012-10-17\n")
        self.assertEqual(doc["Resources"]["R"]["Properties"]["Version"], "2012-10-17")

    def test_bad_getatt_and_missing_resources(self):
        import yaml

        with self.assertRaises(yaml.YAMLError):
            load_template("Resources:\n  R:\n    Type: X\n    Properties: {A: !GetAtt NoDot}\n")
        with self.assertRaises(ProvisionError):
            load_template("Parameters: {}\n")

    def test_loads_the_real_template(self):
        doc = load_template(TEMPLATE_PATH)
        self.assertEqual(doc["Transform"], "AWS::Serverless-2016-10-31")
        self.assertEqual(
            set(doc["Resources"]),
            {
                "SourcesSecret",
                "BodyBucket",
                "BodyBucketPolicy",
                "MainQueue",
                "DeadLetterQueue",
                "ParkingQueue",
                "IdempotencyTable",
                "EventsTable",
                "IngestFunction",
                "ProcessorFunction",
                "DeadLetterLedgerTable",
                "ReprocessFunction",
                "WebhookApi",
                "ApiAccessLogGroup",
                "IngestLogGroup",
                "IngestRole",
                "ProcessorLogGroup",
                "ProcessorRole",
                "ReprocessLogGroup",
                "ReprocessRole",
                "AlarmTopicKey",
                "AlarmTopic",
                "AlarmEmailSubscription",
                "DeadLetterQueueDepthAlarm",
                "ParkingQueueDepthAlarm",
                "MainQueueAgeAlarm",
                "EventBus",
                "EventBridgeFailuresAlarm",
                "IngestErrorsAlarm",
                "IngestThrottlesAlarm",
                "ProcessorErrorsAlarm",
                "ProcessorThrottlesAlarm",
                "ReprocessErrorsAlarm",
                "ReprocessThrottlesAlarm",
                "SourcesConfigStaleAlarm",
                "MainQueuePolicy",
                "DeadLetterQueuePolicy",
                "ParkingQueuePolicy",
                "Dashboard",
            },
        )
        self.assertEqual(
            doc["Resources"]["MainQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"],
            {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
        )


class ResolveTest(unittest.TestCase):
    def test_ref_parameters_defaults_and_overrides(self):
        ctx = small_context()
        self.assertEqual(resolve({"Ref": "Env"}, ctx), "dev")
        self.assertEqual(resolve({"Ref": "Count"}, ctx), "5")  # Ref hands numbers out as text
        self.assertEqual(resolve({"Ref": "Names"}, ctx), ["a", "b", "c"])
        ctx = small_context(overrides={"Env": "prod", "NoDefault": "given"})
        self.assertEqual(resolve({"Ref": "Env"}, ctx), "prod")
        self.assertEqual(resolve({"Ref": "NoDefault"}, ctx), "given")

    def test_join_and_split(self):
        ctx = small_context()
        self.assertEqual(resolve({"Fn::Join": [",", [{"Ref": "Env"}, "x", 5]]}, ctx), "dev,x,5")
        self.assertEqual(resolve({"Fn::Join": ["", {"Ref": "Names"}]}, ctx), "abc")
        self.assertEqual(resolve({"Fn::Split": [",", {"Fn::Join": [",", [{"Ref": "Env"}, "y"]]}]}, ctx), ["dev", "y"])
        with self.assertRaisesRegex(Unresolvable, "Fn::Join"):
            resolve({"Fn::Join": [",", "not a list"]}, ctx)

    def test_parameter_without_default_needs_override(self):
        with self.assertRaisesRegex(Unresolvable, "--param NoDefault="):
            resolve({"Ref": "NoDefault"}, small_context())

    def test_pseudo_parameters(self):
        ctx = small_context()
        self.assertEqual(resolve({"Ref": "AWS::StackName"}, ctx), "st")
        self.assertEqual(resolve({"Ref": "AWS::Region"}, ctx), "us-east-1")
        self.assertEqual(resolve({"Ref": "AWS::AccountId"}, ctx), "111122223333")
        self.assertEqual(resolve({"Ref": "AWS::Partition"}, ctx), "aws")

    def test_ref_and_getatt_of_resources(self):
        ctx = small_context()
        self.assertEqual(resolve({"Ref": "Queue"}, ctx), "http://127.0.0.1:1/111122223333/st-q")
        self.assertEqual(resolve({"Fn::GetAtt": ["Queue", "Arn"]}, ctx), "arn:aws:sqs:us-east-1:111122223333:st-q")
        self.assertEqual(resolve({"Fn::GetAtt": "Queue.QueueName"}, ctx), "st-q")
        with self.assertRaisesRegex(Unresolvable, "unknown attribute"):
            resolve({"Fn::GetAtt": ["Queue", "Nope"]}, ctx)
        with self.assertRaisesRegex(Unresolvable, "not created in the emulator"):
            resolve({"Ref": "Fn"}, ctx)
        with self.assertRaisesRegex(Unresolvable, "no such parameter or resource"):
            resolve({"Ref": "Ghost"}, ctx)

    def test_sub(self):
        ctx = small_context()
        self.assertEqual(
            resolve({"Fn::Sub": "${AWS::StackName}/${AWS::Region}/${AWS::AccountId}/${Env}/${Queue.Arn}/${Queue}"}, ctx),
            "st/us-east-1/111122223333/dev/arn:aws:sqs:us-east-1:111122223333:st-q/http://127.0.0.1:1/111122223333/st-q",
        )
        self.assertEqual(resolve({"Fn::Sub": "keep ${!Literal} and {source}"}, ctx), "keep ${Literal} and {source}")
        self.assertEqual(
            resolve({"Fn::Sub": ["${Name}-${Env}", {"Name": {"Ref": "AWS::StackName"}}]}, ctx), "st-dev"
        )
        with self.assertRaises(Unresolvable):
            resolve({"Fn::Sub": "${Fn}"}, ctx)

    def test_findinmap_and_what_the_template_does_not_use(self):
        ctx = small_context()
        self.assertEqual(resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Memory"]}, ctx), "128")
        with self.assertRaises(Unresolvable):
            resolve({"Fn::FindInMap": ["Sizes", "staging", "Memory"]}, ctx)
        for unused in ({"Fn::ImportValue": "x"}, {"Fn::Select": [0, ["a"]]}, {"Fn::Or": [True]}):
            with self.assertRaisesRegex(Unresolvable, "not supported"):
                resolve(unused, ctx)

    def test_the_template_uses_only_what_is_resolved(self):
        used = set()

        def walk(value):
            if isinstance(value, dict):
                for key, arg in value.items():
                    if key.startswith("Fn::"):
                        used.add(key)
                    walk(arg)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        walk(load_template(TEMPLATE_PATH))
        self.assertLessEqual(
            used, {"Fn::Sub", "Fn::GetAtt", "Fn::FindInMap", "Fn::If", "Fn::Equals", "Fn::Not", "Fn::Join", "Fn::Split"}
        )

    def test_conditions_if_and_novalue(self):
        ctx = small_context()
        value = {
            "A": {"Fn::If": ["IsProd", "big", "small"]},
            "B": {"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]},
            "C": ["keep", {"Ref": "AWS::NoValue"}],
            "D": {"Fn::If": ["NotProd", {"Fn::Sub": "${Env}!"}, "no"]},
        }
        self.assertEqual(resolve(value, ctx), {"A": "small", "C": ["keep"], "D": "dev!"})
        ctx = small_context(overrides={"Env": "prod"})
        self.assertEqual(resolve(value, ctx), {"A": "big", "B": "x", "C": ["keep"], "D": "no"})

    def test_resolve_does_not_mutate_its_input(self):
        value = {"L": [{"Ref": "Env"}], "M": {"N": {"Ref": "Count"}}}
        before = json.dumps(value, sort_keys=True)
        resolve(value, small_context())
        self.assertEqual(json.dumps(value, sort_keys=True), before)

    def test_visibility_timeout_is_six_times_processor_timeout(self):
        template = load_template(TEMPLATE_PATH)
        allowed = template["Parameters"]["ProcessorTimeout"]["AllowedValues"]
        prop = template["Resources"]["MainQueue"]["Properties"]["VisibilityTimeout"]
        for timeout in allowed:
            ctx = Context(template=template, overrides={"ProcessorTimeout": str(timeout)})
            self.assertEqual(resolve(prop, ctx), str(6 * int(timeout)), f"ProcessorTimeout={timeout}")
        self.assertEqual(resolve(prop, Context(template=template)), "180")


class DependencyOrderTest(unittest.TestCase):
    def test_references(self):
        self.assertEqual(
            references({"A": {"Fn::Sub": "${AWS::Region}-${Q.Arn}-${!Skip}-${Local}"}, "B": [{"Ref": "P"}]})
            - {"Local"},
            {"AWS::Region", "Q", "P"},
        )
        self.assertEqual(references({"Fn::Sub": ["${Local}", {"Local": {"Ref": "X"}}]}), {"X"})
        self.assertEqual(references({"Fn::GetAtt": "T.StreamArn"}), {"T"})

    def test_real_template_creates_targets_first(self):
        template = load_template(TEMPLATE_PATH)
        order = creation_order(template, ["SourcesSecret", "MainQueue", "DeadLetterQueue", "ParkingQueue"])
        self.assertLess(order.index("ParkingQueue"), order.index("DeadLetterQueue"))
        self.assertLess(order.index("DeadLetterQueue"), order.index("MainQueue"))
        self.assertEqual(sorted(order), ["DeadLetterQueue", "MainQueue", "ParkingQueue", "SourcesSecret"])

    def test_template_order_breaks_ties_and_dependson_counts(self):
        template = load_template(
            textwrap.dedent(
                """\
                Resources:
                  C: {Type: T, Properties: {X: !Ref B}}
                  A: {Type: T, DependsOn: C}
                  B: {Type: T}
                  D: {Type: T}
                """
            )
        )
        self.assertEqual(creation_order(template), ["B", "C", "A", "D"])

    def test_cycle_is_an_error(self):
        template = load_template(
            "Resources:\n  A: {Type: T, Properties: {X: !GetAtt B.Arn}}\n  B: {Type: T, Properties: {X: !Ref A}}\n"
        )
        with self.assertRaisesRegex(ProvisionError, "cycle"):
            creation_order(template)


class EnvFileTest(unittest.TestCase):
    def test_upper_snake(self):
        self.assertEqual(upper_snake("DeadLetterQueue"), "DEAD_LETTER_QUEUE")
        self.assertEqual(upper_snake("MainQueue"), "MAIN_QUEUE")
        self.assertEqual(upper_snake("SQSQueue2"), "SQS_QUEUE2")
        self.assertEqual(upper_snake("DedupTableV2"), "DEDUP_TABLE_V2")

    def test_function_environment_merges_globals(self):
        template = load_template(
            textwrap.dedent(
                """\
                Globals:
                  Function:
                    Environment:
                      Variables: {RUST_LOG: warn, SHARED: !Sub "${AWS::StackName}"}
                Resources:
                  Q: {Type: AWS::SQS::Queue}
                  A:
                    Type: AWS::Serverless::Function
                    Properties:
                      Environment:
                        Variables: {RUST_LOG: info, QUEUE: !Ref Q, API: !Ref Api}
                  B:
                    Type: AWS::Lambda::Function
                    Properties:
                      Environment: {Variables: {ONLY_B: "1"}}
                  Api: {Type: AWS::Serverless::HttpApi}
                """
            )
        )
        ctx = Context(template=template, stack_name="st")
        ctx.resources["Q"] = ResolvedResource(ref="http://q", attributes={})
        notes: list[str] = []
        env = function_environment(ctx, warn=notes.append)
        self.assertEqual(env, {"RUST_LOG": "info", "SHARED": "st", "QUEUE": "http://q", "ONLY_B": "1"})
        self.assertEqual(len(notes), 1)
        self.assertIn("API", notes[0])

    def test_real_template_environment(self):
        ctx = Context(template=load_template(TEMPLATE_PATH))
        ctx.resources["MainQueue"] = ResolvedResource(ref="http://127.0.0.1:4566/123456789012/hookline-local-main")
        ctx.resources["SourcesSecret"] = ResolvedResource(ref="arn:secret")
        ctx.resources["DeadLetterQueue"] = ResolvedResource(ref="http://127.0.0.1:4566/123456789012/hookline-local-dlq")
        ctx.resources["IdempotencyTable"] = ResolvedResource(ref="hookline-local-idempotency")
        ctx.resources["EventsTable"] = ResolvedResource(ref="hookline-local-events")
        ctx.resources["DeadLetterLedgerTable"] = ResolvedResource(ref="hookline-local-dead-letters")
        ctx.resources["BodyBucket"] = ResolvedResource(ref="hookline-local-bodybucket")
        ctx.resources["EventBus"] = ResolvedResource(ref="hookline-local-events")
        self.assertEqual(
            function_environment(ctx, warn=self.fail),
            {
                "HOOKLINE_QUEUE_URL": "http://127.0.0.1:4566/123456789012/hookline-local-main",
                "HOOKLINE_SOURCES_SECRET_ID": "arn:secret",
                "HOOKLINE_SOURCES_TTL_SECONDS": "60",
                "HOOKLINE_SOURCES_MAX_STALENESS_SECONDS": "3600",
                "HOOKLINE_INLINE_MESSAGE_BYTES": "262144",
                "HOOKLINE_DLQ_URL": "http://127.0.0.1:4566/123456789012/hookline-local-dlq",
                "HOOKLINE_IDEMPOTENCY_TABLE": "hookline-local-idempotency",
                "HOOKLINE_EVENTS_TABLE": "hookline-local-events",
                "HOOKLINE_EVENT_BUS": "hookline-local-events",
                "HOOKLINE_BODY_BUCKET": "hookline-local-bodybucket",
                "HOOKLINE_MAX_CONCURRENCY": "10",
                "HOOKLINE_COMPLETED_TTL_SECONDS": "604800",
                "HOOKLINE_BACKOFF_BASE_SECONDS": "2",
                "HOOKLINE_BACKOFF_CAP_SECONDS": "900",
                "HOOKLINE_FUNCTION_TIMEOUT_SECONDS": "30",
                "HOOKLINE_MAX_RECEIVE_COUNT": "5",
                "HOOKLINE_LEDGER_TABLE": "hookline-local-dead-letters",
                "HOOKLINE_REPLAY_BUDGET": "3",
                "HOOKLINE_REPLAY_BASE_SECONDS": "30",
                "HOOKLINE_REPLAY_CAP_SECONDS": "900",
                "SSL_CERT_FILE": "/etc/pki/tls/certs/ca-bundle.crt",
                "MALLOC_MMAP_THRESHOLD_": "8388608",
                "MALLOC_TRIM_THRESHOLD_": "16777216",
            },
        )

    def test_the_lambda_ca_bundle_is_replaced_by_this_machines_own_where_it_does_not_exist(self):
        with tempfile.TemporaryDirectory() as tmp:
            ours, lambdas = os.path.join(tmp, "ca-certificates.crt"), os.path.join(tmp, "absent", "ca-bundle.crt")
            Path(ours).write_text("-----BEGIN CERTIFICATE-----\n")
            self.assertEqual(provision.local_ca_bundle(lambdas, (os.path.join(tmp, "nope.pem"), ours)), ours)
            self.assertEqual(provision.local_ca_bundle(ours, ()), ours)
            self.assertEqual(provision.local_ca_bundle(lambdas, ()), lambdas)
        # In the env file, the template's value becomes one that exists here (when one does).
        line = next(l for l in env_lines("u", "r", {"SSL_CERT_FILE": "/nonexistent/ca.crt"}, {}, {}) if l.startswith("SSL"))
        local = line.split("=", 1)[1]
        self.assertEqual(local, provision.local_ca_bundle("/nonexistent/ca.crt"))
        if any(os.path.isfile(c) for c in provision.CA_BUNDLES):
            self.assertTrue(os.path.isfile(local), local)

    def test_lines_order_and_overrides(self):
        lines = env_lines(
            "http://127.0.0.1:4599",
            "us-east-1",
            {"HOOKLINE_QUEUE_URL": "http://q", "RUST_LOG": "info"},
            {"DeadLetterQueue": ResolvedResource(ref="http://dlq"), "SourcesSecret": ResolvedResource(ref="arn:s")},
            {"RUST_LOG": "debug", "EXTRA": "a:b/c?d&e"},
        )
        self.assertEqual(
            lines,
            [
                "AWS_ENDPOINT_URL=http://127.0.0.1:4599",
                "AWS_REGION=us-east-1",
                "AWS_ACCESS_KEY_ID=test",
                "AWS_SECRET_ACCESS_KEY=test",
                "HOOKLINE_QUEUE_URL=http://q",
                "HOOKLINE_RESOURCE_DEAD_LETTER_QUEUE=http://dlq",
                "HOOKLINE_RESOURCE_SOURCES_SECRET=arn:s",
                "RUST_LOG=debug",
                "EXTRA=a:b/c?d&e",
            ],
        )
        with self.assertRaises(ProvisionError):
            env_lines("u", "r", {"BAD": "two\nlines"}, {}, {})
        # cargo lambda's env-file parser refuses these unquoted (found with GLIBC_TUNABLES).
        for value in ("a=b", "a b", 'a"b', "a'b", "a\tb"):
            with self.subTest(value=value), self.assertRaisesRegex(ProvisionError, "unquoted"):
                env_lines("u", "r", {"BAD": value}, {}, {})
        with self.assertRaises(ProvisionError):
            env_lines("u", "r", {}, {}, {"not-a-name": "x"})

    def test_written_file_is_plain_and_sourceable(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "sub" / "local.env"
            write_env_file(path, ["A=http://127.0.0.1:1/x", "B=arn:aws:secretsmanager:us-east-1:1:secret:s-AbC"])
            body = path.read_text()
            for line in body.splitlines():
                if line.startswith("#"):
                    continue
                self.assertRegex(line, r"^[A-Z_][A-Z0-9_]*=[^'\"]*$")
                self.assertFalse(line.startswith("export"))
            out = subprocess.run(
                ["bash", "-c", 'set -a; . "$1"; printf "%s|%s" "$A" "$B"', "_", str(path)],
                check=True, capture_output=True, text=True,
            ).stdout
            self.assertEqual(out, "http://127.0.0.1:1/x|arn:aws:secretsmanager:us-east-1:1:secret:s-AbC")


class TemplateStaticTest(unittest.TestCase):
    """What the emulator cannot check (RedriveAllowPolicy, IAM) is checked on the template."""

    @classmethod
    def setUpClass(cls):
        cls.template = load_template(TEMPLATE_PATH)
        cls.resources = cls.template["Resources"]

    def test_the_allocator_keeps_an_invocations_memory_for_the_next_one(self):
        variables = self.template["Globals"]["Function"]["Environment"]["Variables"]
        mmap_threshold = int(variables["MALLOC_MMAP_THRESHOLD_"])
        trim_threshold = int(variables["MALLOC_TRIM_THRESHOLD_"])
        # The largest event Lambda hands a function (6 MB, the invocation payload limit) is
        # read into one buffer: it must come from the heap, not from an mmap given back at free.
        self.assertGreaterEqual(mmap_threshold, 6 * 1000 * 1000)
        # What one invocation frees stays for the next (glibc's adaptive setting is twice).
        self.assertGreaterEqual(trim_threshold, 2 * mmap_threshold)

    def test_redrive_allow_policies(self):
        ctx = Context(template=self.template, stack_name="st", account_id="111122223333")
        dlq = resolve(self.resources["DeadLetterQueue"]["Properties"]["RedriveAllowPolicy"], ctx)
        self.assertEqual(
            dlq, {"redrivePermission": "byQueue", "sourceQueueArns": ["arn:aws:sqs:us-east-1:111122223333:st-main"]}
        )
        parking = resolve(self.resources["ParkingQueue"]["Properties"]["RedriveAllowPolicy"], ctx)
        self.assertEqual(
            parking, {"redrivePermission": "byQueue", "sourceQueueArns": ["arn:aws:sqs:us-east-1:111122223333:st-dlq"]}
        )
        # The ARNs must name the queues the template creates.
        self.assertEqual(resolve(self.resources["MainQueue"]["Properties"]["QueueName"], ctx), "st-main")
        self.assertEqual(resolve(self.resources["DeadLetterQueue"]["Properties"]["QueueName"], ctx), "st-dlq")

    def test_queues(self):
        for lid in ("MainQueue", "DeadLetterQueue", "ParkingQueue"):
            self.assertEqual(self.resources[lid]["Properties"]["MessageRetentionPeriod"], 1209600, lid)
        self.assertEqual(
            self.resources["DeadLetterQueue"]["Properties"]["RedrivePolicy"],
            {"deadLetterTargetArn": {"Fn::GetAtt": ["ParkingQueue", "Arn"]}, "maxReceiveCount": 2},
        )
        self.assertEqual(
            self.resources["MainQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"], {"Ref": "MainQueueMaxReceiveCount"}
        )
        # The processor dead-letters a message itself at MaxReceiveCount; the main queue's own
        # limit is the backstop behind it, so it must be higher.
        parameters = self.template["Parameters"]
        self.assertGreater(parameters["MainQueueMaxReceiveCount"]["Default"], parameters["MaxReceiveCount"]["Default"])
        processor_env = self.resources["ProcessorFunction"]["Properties"]["Environment"]["Variables"]
        self.assertEqual(processor_env["HOOKLINE_MAX_RECEIVE_COUNT"], {"Ref": "MaxReceiveCount"})

    def test_ingest_policies_are_least_privilege(self):
        policies = self.resources["IngestRole"]["Properties"]["Policies"]
        statements = [s for p in policies for s in p["PolicyDocument"]["Statement"] if s["Sid"] != "WriteOwnLogs"]
        self.assertEqual(
            {(s["Action"], json.dumps(s["Resource"], sort_keys=True)) for s in statements},
            {
                ("sqs:SendMessage", json.dumps({"Fn::GetAtt": ["MainQueue", "Arn"]})),
                ("secretsmanager:GetSecretValue", json.dumps({"Ref": "SourcesSecret"})),
                ("s3:PutObject", json.dumps({"Fn::Sub": "${BodyBucket.Arn}/bodies/*"})),
            },
        )
        # No wildcard but the object keys under bodies/ of the template's own bucket.
        self.assertNotIn("*", json.dumps(statements).replace("${BodyBucket.Arn}/bodies/*", ""))

    def test_the_edge_is_throttled_and_logged(self):
        api = self.resources["WebhookApi"]["Properties"]
        self.assertEqual(
            api["DefaultRouteSettings"],
            {"ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"}, "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"}},
        )
        logs = api["AccessLogSettings"]
        self.assertEqual(logs["DestinationArn"], {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]})
        fields = json.loads(logs["Format"])
        for field, variable in [
            ("sourceIp", "$context.identity.sourceIp"),
            ("requestId", "$context.requestId"),
            ("status", "$context.status"),
            ("responseLatency", "$context.responseLatency"),
        ]:
            self.assertEqual(fields[field], variable)
        group = self.resources["ApiAccessLogGroup"]["Properties"]
        self.assertEqual(group["RetentionInDays"], {"Ref": "LogRetentionDays"})
        self.assertNotEqual(group["LogGroupName"], self.resources["IngestLogGroup"]["Properties"]["LogGroupName"])

    def test_ingest_concurrency_is_reserved_unless_turned_off(self):
        reserved = self.resources["IngestFunction"]["Properties"]["ReservedConcurrentExecutions"]
        self.assertEqual(
            reserved,
            {"Fn::If": ["ReservesIngestConcurrency", {"Ref": "IngestReservedConcurrency"}, {"Ref": "AWS::NoValue"}]},
        )
        for value, expected in [("-1", {}), ("100", {"R": "100"})]:
            ctx = Context(template=self.template, stack_name="st", overrides={"IngestReservedConcurrency": value})
            self.assertEqual(resolve({"R": reserved}, ctx), expected, value)
        self.assertEqual(self.template["Parameters"]["IngestReservedConcurrency"]["Default"], 100)

    def test_function_defaults(self):
        fn = self.template["Globals"]["Function"]
        self.assertEqual(fn["Runtime"], "provided.al2023")
        self.assertEqual(fn["Architectures"], [{"Ref": "Architecture"}])
        self.assertEqual(fn["LoggingConfig"], {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN"})
        ingest = self.resources["IngestFunction"]
        self.assertEqual(ingest["Metadata"], {"BuildMethod": "rust-cargolambda", "BuildProperties": {"Binary": "ingest"}})
        event = ingest["Properties"]["Events"]["Webhook"]
        self.assertEqual(event["Properties"]["ApiId"], {"Ref": "WebhookApi"})
        self.assertEqual((event["Properties"]["Method"], event["Properties"]["Path"]), ("ANY", "/webhooks/{source}"))
        processor = self.resources["ProcessorFunction"]
        self.assertEqual(processor["Metadata"]["BuildProperties"], {"Binary": "processor"})
        sqs = processor["Properties"]["Events"]["MainQueue"]["Properties"]
        self.assertEqual(sqs["Queue"], {"Fn::GetAtt": ["MainQueue", "Arn"]})
        self.assertEqual(sqs["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        self.assertIn("MaximumConcurrency", sqs["ScalingConfig"])


# --------------------------------------------------------------------------------------
# Least privilege: a checker over every IAM policy statement of a template.

FUNCTIONS = {"IngestFunction": "ingest", "ProcessorFunction": "processor", "ReprocessFunction": "reprocess"}
# The one wildcard IAM cannot do without: PutLogEvents is authorised on a log stream, whose
# name Lambda picks. It is allowed only as the stream part of a log group of the template.
_LOG_STREAM_WILDCARD = re.compile(
    r"^arn:\$\{AWS::Partition\}:logs:\$\{AWS::Region\}:\$\{AWS::AccountId\}:log-group:\$\{(\w+)\}:log-stream:\*$"
)


# Object actions are authorised on the object, whose key the code derives: a wildcard is
# allowed only as the bodies/ prefix of a bucket of the template, for reading and writing.
_BODY_OBJECTS_WILDCARD = re.compile(r"^\$\{(\w+)\.Arn\}/bodies/\*$")


def _policy_texts(value) -> list[str]:
    """The literal text of an Action/Resource value: plain strings and Fn::Sub/Join parts."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for v in value for t in _policy_texts(v)]
    if isinstance(value, dict):
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            return _policy_texts(sub[0] if isinstance(sub, list) else sub) + (
                _policy_texts(list(sub[1].values())) if isinstance(sub, list) else []
            )
        return [t for v in value.values() for t in _policy_texts(v)]
    return []


def _statements(value, path="Resources"):
    """Every IAM policy statement anywhere under value, with where it is."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Statement":
                for i, st in enumerate(inner if isinstance(inner, list) else [inner]):
                    yield f"{path}.Statement[{i}]", st
            else:
                yield from _statements(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _statements(inner, f"{path}[{i}]")


def iam_violations(template: dict) -> list[str]:
    """Why the template is not least privilege (empty when it is)."""
    problems = []
    resources = template.get("Resources", {})
    log_groups = {lid for lid, r in resources.items() if r.get("Type") == "AWS::Logs::LogGroup"}
    buckets = {lid for lid, r in resources.items() if r.get("Type") == "AWS::S3::Bucket"}

    def find_key(value, key, path):
        if isinstance(value, dict):
            for k, v in value.items():
                if k == key:
                    yield f"{path}.{k}", v
                yield from find_key(v, key, f"{path}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from find_key(v, key, f"{path}[{i}]")

    for where, value in find_key(template, "ManagedPolicyArns", "template"):
        problems.append(f"{where}: managed policies are not allowed ({json.dumps(value)})")
    for lid, r in resources.items():
        if r.get("Type") == "AWS::Serverless::Function":
            props = r.get("Properties") or {}
            if "Policies" in props:
                problems.append(f"{lid}: SAM Policies (use an explicit AWS::IAM::Role)")
            if "Role" not in props:
                problems.append(f"{lid}: no explicit Role (SAM would create one with managed policies)")
    if "Policies" in (template.get("Globals", {}).get("Function") or {}):
        problems.append("Globals.Function: SAM Policies")

    for where, st in _statements(resources):
        if not isinstance(st, dict):
            problems.append(f"{where}: not a statement")
            continue
        for key in ("NotAction", "NotResource", "NotPrincipal"):
            if key in st:
                problems.append(f"{where}: {key} grants everything else")
        if st.get("Effect") == "Deny":
            continue  # a Deny grants nothing: its wildcards only widen what it refuses
        # A key policy's Resource "*" is the key itself; kms:* to the account's root is the
        # key's default policy, which hands the key's administration to IAM; and
        # kms:GenerateDataKey* is the grant AWS documents for a service publishing to an
        # encrypted SNS topic.
        key_policy = ".KeyPolicy." in where
        root = json.dumps(st.get("Principal")) == json.dumps(
            {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}})
        actions = _policy_texts(st.get("Action", []))
        for action in actions:
            if key_policy and (action == "kms:GenerateDataKey*" or (action == "kms:*" and root)):
                continue
            if "*" in action or "?" in action:
                problems.append(f"{where}: wildcard action {action!r}")
        for text in _policy_texts(st.get("Resource", [])):
            if "*" not in text and "?" not in text or (key_policy and text == "*"):
                continue
            m = _LOG_STREAM_WILDCARD.match(text)
            if m and m.group(1) in log_groups and set(actions) <= {"logs:CreateLogStream", "logs:PutLogEvents"}:
                continue
            m = _BODY_OBJECTS_WILDCARD.match(text)
            if m and m.group(1) in buckets and set(actions) <= {"s3:PutObject", "s3:GetObject"}:
                continue
            problems.append(f"{where}: wildcard resource {text!r}")
        principal = st.get("Principal")
        if principal is not None and "*" in json.dumps(principal):
            problems.append(f"{where}: wildcard principal")
    return problems


def _grants(role: dict) -> set[tuple[str, str]]:
    """(action, resource) pairs of a role's inline policies, resources as compact JSON."""
    out = set()
    for policy in role["Properties"]["Policies"]:
        for st in policy["PolicyDocument"]["Statement"]:
            assert st["Effect"] == "Allow"
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            res = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            out |= {(a, json.dumps(r, sort_keys=True)) for a in actions for r in res}
    return out


class LeastPrivilegeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.template = load_template(TEMPLATE_PATH)
        cls.resources = cls.template["Resources"]

    def test_the_body_bucket_is_private_encrypted_tls_only_and_expires_after_the_queues(self):
        bucket = self.resources["BodyBucket"]
        self.assertEqual((bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]), ("Retain", "Retain"))
        props = bucket["Properties"]
        rules = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        self.assertEqual([r["ServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in rules], ["AES256"])
        self.assertEqual(
            props["PublicAccessBlockConfiguration"],
            {"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
        )
        self.assertEqual(props["OwnershipControls"], {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
        (rule,) = props["LifecycleConfiguration"]["Rules"]
        self.assertEqual((rule["Status"], rule["Prefix"]), ("Enabled", "bodies/"))
        self.assertEqual(rule["ExpirationInDays"], {"Ref": "BodyRetentionDays"})
        # No body expires before a message that refers to it can.
        parameter = self.template["Parameters"]["BodyRetentionDays"]
        longest_queue = max(
            int(r["Properties"]["MessageRetentionPeriod"])
            for r in self.resources.values() if r["Type"] == "AWS::SQS::Queue"
        )
        self.assertGreaterEqual(parameter["MinValue"] * 86400, longest_queue)
        self.assertGreaterEqual(parameter["Default"], parameter["MinValue"])
        # Every request without TLS is refused, on the bucket and on every object.
        policy = self.resources["BodyBucketPolicy"]["Properties"]
        self.assertEqual(policy["Bucket"], {"Ref": "BodyBucket"})
        (deny,) = policy["PolicyDocument"]["Statement"]
        self.assertEqual((deny["Effect"], deny["Principal"], deny["Action"]), ("Deny", "*", "s3:*"))
        self.assertEqual(deny["Resource"], [{"Fn::GetAtt": ["BodyBucket", "Arn"]}, {"Fn::Sub": "${BodyBucket.Arn}/*"}])
        self.assertEqual(deny["Condition"], {"Bool": {"aws:SecureTransport": "false"}})

    def test_the_body_objects_wildcard_is_allowed_only_for_object_reads_and_writes_under_bodies(self):
        bad = load_template(
            textwrap.dedent(
                """\
                Resources:
                  B: {Type: AWS::S3::Bucket}
                  R:
                    Type: AWS::IAM::Role
                    Properties:
                      Policies:
                        - PolicyName: p
                          PolicyDocument:
                            Statement:
                              - {Effect: Allow, Action: s3:DeleteObject, Resource: !Sub "${B.Arn}/bodies/*"}
                              - {Effect: Allow, Action: s3:GetObject, Resource: !Sub "${B.Arn}/*"}
                              - {Effect: Allow, Action: s3:GetObject, Resource: !Sub "${Other.Arn}/bodies/*"}
                              - {Effect: Allow, Action: s3:PutObject, Resource: !Sub "${B.Arn}/bodies/*"}
                """
            )
        )
        problems = iam_violations(bad)
        self.assertEqual(len(problems), 3, problems)
        self.assertTrue(all("wildcard resource" in p for p in problems), problems)
        self.assertFalse(any("Statement[3]" in p for p in problems), problems)

    def test_template_has_no_wildcards_managed_policies_or_sam_policies(self):
        self.assertEqual(iam_violations(self.template), [])

    def test_checker_catches_what_it_must(self):
        bad = load_template(
            textwrap.dedent(
                """\
                Globals:
                  Function:
                    Policies: [AWSLambdaBasicExecutionRole]
                Resources:
                  LG: {Type: AWS::Logs::LogGroup}
                  F:
                    Type: AWS::Serverless::Function
                    Properties:
                      Policies: [SQSPollerPolicy: {QueueName: q}]
                  R:
                    Type: AWS::IAM::Role
                    Properties:
                      ManagedPolicyArns: [arn:aws:iam::aws:policy/AmazonSQSFullAccess]
                      Policies:
                        - PolicyName: p
                          PolicyDocument:
                            Statement:
                              - {Effect: Allow, Action: "sqs:*", Resource: !GetAtt Q.Arn}
                              - {Effect: Allow, Action: dynamodb:GetItem, Resource: "*"}
                              - Effect: Allow
                                Action: dynamodb:Query
                                Resource: !Sub "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/t/*"
                              - {Effect: Allow, Action: [sqs:SendMessage, "sqs:Get*"], Resource: !Join ["", ["arn:aws:sqs:*:", "q"]]}
                              - {Effect: Allow, NotAction: iam:PassRole, Resource: !GetAtt Q.Arn}
                              - Effect: Allow
                                Action: sqs:SendMessage
                                Resource: !Sub "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${LG}:log-stream:*"
                              - Effect: Allow
                                Action: logs:PutLogEvents
                                Resource: !Sub "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Other}:log-stream:*"
                  P:
                    Type: AWS::SQS::QueuePolicy
                    Properties:
                      PolicyDocument:
                        Statement: {Effect: Allow, Principal: "*", Action: sqs:SendMessage, Resource: !GetAtt Q.Arn}
                """
            )
        )
        problems = "\n".join(iam_violations(bad))
        for expected in (
            "managed policies are not allowed",
            "F: SAM Policies",
            "F: no explicit Role",
            "Globals.Function: SAM Policies",
            "wildcard action 'sqs:*'",
            "wildcard resource '*'",
            "table/t/*",
            "wildcard action 'sqs:Get*'",
            "wildcard resource 'arn:aws:sqs:*:'",
            "NotAction grants everything else",
            "${LG}:log-stream:*'",  # the log exception is for logs actions only
            "${Other}:log-stream:*'",  # ... and only on a log group of the template
            "wildcard principal",
        ):
            self.assertIn(expected, problems)
        self.assertEqual(len(iam_violations(bad)), 13, problems)

    def test_each_role_grants_exactly_what_its_code_uses(self):
        def arn(lid):
            return json.dumps({"Fn::GetAtt": [lid, "Arn"]}, sort_keys=True)

        def logs(lid):
            base = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${%sLogGroup}" % lid
            return {
                (a, json.dumps({"Fn::Sub": r})) for a in ("logs:CreateLogStream", "logs:PutLogEvents")
                for r in (base, base + ":log-stream:*")
            }

        consume = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility")
        expected = {
            "Ingest": {
                ("sqs:SendMessage", arn("MainQueue")),
                ("secretsmanager:GetSecretValue", json.dumps({"Ref": "SourcesSecret"})),
                ("s3:PutObject", json.dumps({"Fn::Sub": "${BodyBucket.Arn}/bodies/*"})),
            },
            "Processor": {(a, arn("MainQueue")) for a in consume}
            | {
                ("sqs:SendMessage", arn("DeadLetterQueue")),
                ("dynamodb:UpdateItem", arn("IdempotencyTable")),
                ("dynamodb:PutItem", arn("EventsTable")),
                ("events:PutEvents", json.dumps({"Fn::If": [
                    "CreatesEventBus",
                    {"Fn::GetAtt": ["EventBus", "Arn"]},
                    {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}"},
                ]}, sort_keys=True)),
                ("s3:GetObject", json.dumps({"Fn::Sub": "${BodyBucket.Arn}/bodies/*"})),
            },
            "Reprocess": {(a, arn("DeadLetterQueue")) for a in consume}
            | {
                ("sqs:SendMessage", arn("MainQueue")),
                ("sqs:SendMessage", arn("DeadLetterQueue")),
                ("dynamodb:GetItem", arn("IdempotencyTable")),
                ("dynamodb:GetItem", arn("EventsTable")),
                ("dynamodb:GetItem", arn("DeadLetterLedgerTable")),
                ("dynamodb:UpdateItem", arn("DeadLetterLedgerTable")),
            },
        }
        roles = {lid for lid, r in self.resources.items() if r["Type"] == "AWS::IAM::Role"}
        self.assertEqual(roles, {f"{name}Role" for name in expected})
        for name, grants in expected.items():
            with self.subTest(name):
                role = self.resources[f"{name}Role"]
                self.assertEqual(_grants(role), grants | logs(name))
                trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
                self.assertEqual(
                    trust, [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
                )
                fn = self.resources[f"{name}Function"]["Properties"]
                self.assertEqual(fn["Role"], {"Fn::GetAtt": [f"{name}Role", "Arn"]})

    def test_each_function_logs_to_its_own_log_group_with_retention(self):
        ctx = Context(template=self.template, stack_name="st")
        for lid, short in FUNCTIONS.items():
            name = lid.removesuffix("Function")
            with self.subTest(lid):
                fn_name = resolve(self.resources[lid]["Properties"]["FunctionName"], ctx)
                self.assertEqual(fn_name, f"st-{short}")
                group = self.resources[f"{name}LogGroup"]["Properties"]
                self.assertEqual(resolve(group["LogGroupName"], ctx), f"/aws/lambda/{fn_name}")
                self.assertEqual(group["RetentionInDays"], {"Ref": "LogRetentionDays"})

    def test_every_queue_is_encrypted_and_refuses_requests_without_tls(self):
        queues = {lid for lid, r in self.resources.items() if r["Type"] == "AWS::SQS::Queue"}
        for lid in queues:
            self.assertIs(self.resources[lid]["Properties"].get("SqsManagedSseEnabled"), True, lid)
        policies = [r["Properties"] for r in self.resources.values() if r["Type"] == "AWS::SQS::QueuePolicy"]
        self.assertEqual(sorted(q["Ref"] for p in policies for q in p["Queues"]), sorted(queues), "one policy per queue")
        for policy in policies:
            queue = policy["Queues"][0]["Ref"]
            deny = [
                s for s in policy["PolicyDocument"]["Statement"]
                if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            ]
            self.assertEqual(len(deny), 1, queue)
            self.assertEqual((deny[0]["Principal"], deny[0]["Action"], deny[0]["Resource"]),
                             ("*", "sqs:*", {"Fn::GetAtt": [queue, "Arn"]}))

    def queue_policy_denials(self, operators: str, secure: bool) -> dict[tuple[str, str], bool]:
        """(queue, principal) -> whether the resolved queue policy denies that principal
        SendMessage, evaluated as the local emulator evaluates it (moto_iam.py)."""
        import moto_iam

        ctx = Context(template=self.template, stack_name="st", account_id="111122223333",
                      overrides={"OperatorPrincipalArns": operators})
        queues = ("MainQueue", "DeadLetterQueue", "ParkingQueue")
        for lid in queues:
            ctx.resources[lid] = ResolvedResource(ref=lid, attributes={"Arn": f"arn:aws:sqs:us-east-1:111122223333:{lid}"})
        principals = {name: f"arn:aws:iam::111122223333:role/st-{name}" for name in ("IngestRole", "ProcessorRole", "ReprocessRole")}
        for lid, arn in principals.items():
            ctx.resources[lid] = ResolvedResource(ref=lid, attributes={"Arn": arn})
        principals["operator"] = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Ops_0123"
        principals["other"] = "arn:aws:iam::111122223333:role/some-other-app"
        context = {"aws:SecureTransport": "true" if secure else "false", "aws:PrincipalAccount": "111122223333"}
        denials = {}
        for lid, resource in self.resources.items():
            if resource["Type"] != "AWS::SQS::QueuePolicy":
                continue
            props = resolve(resource["Properties"], ctx)
            queue = props["Queues"][0]
            for name, arn in principals.items():
                denial = moto_iam.queue_policy_denial(json.dumps(props["PolicyDocument"]), "sqs:SendMessage",
                                                      ctx.resources[queue].attributes["Arn"], {**context, "aws:PrincipalArn": arn})
                denials[(queue, name)] = denial is not None
        return denials

    def test_only_the_principals_with_a_reason_may_send_to_each_queue(self):
        senders = {
            "MainQueue": {"IngestRole", "ReprocessRole"},
            "DeadLetterQueue": {"ProcessorRole", "ReprocessRole"},
            "ParkingQueue": set(),
        }
        for operators, operator_sends in (("", False), ("arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Ops_*", True)):
            denials = self.queue_policy_denials(operators, secure=True)
            for (queue, principal), was_denied in denials.items():
                with self.subTest(operators=operators, queue=queue, principal=principal):
                    may_send = principal in senders[queue] or (principal == "operator" and operator_sends)
                    self.assertEqual(was_denied, not may_send)
        several = "arn:aws:iam::111122223333:user/ana, arn:aws:iam::111122223333:role/aws-reserved/*"
        self.assertFalse(self.queue_policy_denials(several, secure=True)[("ParkingQueue", "operator")])
        self.assertTrue(all(self.queue_policy_denials(several, secure=False).values()), "without TLS nobody sends")

    def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(self):
        topic = self.resources["AlarmTopic"]["Properties"]
        self.assertEqual(topic["KmsMasterKeyId"], {"Ref": "AlarmTopicKey"})
        key = self.resources["AlarmTopicKey"]["Properties"]
        self.assertIs(key["EnableKeyRotation"], True)
        statements = {s["Sid"]: s for s in key["KeyPolicy"]["Statement"]}
        cloudwatch = statements["CloudWatchAlarmsPublish"]
        self.assertEqual(cloudwatch["Principal"], {"Service": "cloudwatch.amazonaws.com"})
        self.assertEqual(sorted(cloudwatch["Action"]), ["kms:Decrypt", "kms:GenerateDataKey*"])
        self.assertEqual(cloudwatch["Condition"]["StringEquals"], {"aws:SourceAccount": {"Ref": "AWS::AccountId"}})
        ctx = Context(template=self.template, stack_name="st", account_id="111122223333")
        self.assertEqual(resolve(statements["AccountAdministersThroughIam"]["Principal"], ctx),
                         {"AWS": "arn:aws:iam::111122223333:root"})

    def test_function_environment_is_unchanged_by_the_roles(self):
        # The code reads these names; the IAM change must not touch them.
        names = {
            lid: set(self.resources[lid]["Properties"]["Environment"]["Variables"]) for lid in FUNCTIONS
        }
        self.assertEqual(
            names["IngestFunction"],
            {
                "HOOKLINE_QUEUE_URL",
                "HOOKLINE_SOURCES_SECRET_ID",
                "HOOKLINE_SOURCES_TTL_SECONDS",
                "HOOKLINE_SOURCES_MAX_STALENESS_SECONDS",
                "HOOKLINE_BODY_BUCKET",
                "HOOKLINE_INLINE_MESSAGE_BYTES",
            },
        )
        self.assertIn("HOOKLINE_EVENTS_TABLE", names["ProcessorFunction"])
        self.assertIn("HOOKLINE_EVENT_BUS", names["ProcessorFunction"])
        self.assertIn("HOOKLINE_BODY_BUCKET", names["ProcessorFunction"])
        self.assertIn("HOOKLINE_LEDGER_TABLE", names["ReprocessFunction"])
        self.assertIn("HOOKLINE_EVENTS_TABLE", names["ReprocessFunction"])

    def test_tables_survive_teardown(self):
        for lid in ("IdempotencyTable", "EventsTable", "DeadLetterLedgerTable"):
            self.assertEqual(self.resources[lid].get("DeletionPolicy"), "Retain", lid)
            self.assertEqual(self.resources[lid].get("UpdateReplacePolicy"), "Retain", lid)

    @unittest.skipUnless((REPO_ROOT / ".venv-sam/bin/python").exists(), "needs .venv-sam (make venv-sam)")
    def test_sam_transform_adds_no_role_and_no_managed_policy(self):
        script = textwrap.dedent(
            """\
            import json, sys
            from pathlib import Path
            sys.path.insert(0, sys.argv[1])
            from provision import load_template
            from samtranslator.translator.transform import transform
            class NoManagedPolicies:
                def load(self):
                    return {}
            t = load_template(Path(sys.argv[2]))
            for r in t["Resources"].values():
                if r["Type"] == "AWS::Serverless::Function":
                    r["Properties"]["CodeUri"] = "s3://bucket/key"  # what sam deploy uploads
            print(json.dumps(transform(t, {}, NoManagedPolicies())))
            """
        )
        env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
        result = subprocess.run(
            [str(REPO_ROOT / ".venv-sam/bin/python"), "-c", script, str(HERE), str(TEMPLATE_PATH)],
            capture_output=True, text=True, timeout=120, env=env,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        out = json.loads(result.stdout)
        self.assertEqual(iam_violations(out), [])
        roles = sorted(lid for lid, r in out["Resources"].items() if r["Type"] == "AWS::IAM::Role")
        self.assertEqual(roles, ["IngestRole", "ProcessorRole", "ReprocessRole"])
        for lid in FUNCTIONS:
            self.assertEqual(out["Resources"][lid]["Properties"]["Role"], {"Fn::GetAtt": [lid.replace("Function", "Role"), "Arn"]})


class ObservabilityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.template = load_template(TEMPLATE_PATH)
        cls.resources = cls.template["Resources"]

    def alarms(self):
        return {lid: r["Properties"] for lid, r in self.resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}

    def test_alarms_go_to_the_topic(self):
        alarms = self.alarms()
        got = {
            (p["Namespace"], p["MetricName"], json.dumps(p["Dimensions"][0]["Value"], sort_keys=True),
             p["ComparisonOperator"], json.dumps(p["Threshold"]))
            for p in alarms.values()
        }
        queue = lambda q: json.dumps({"Fn::GetAtt": [q, "QueueName"]}, sort_keys=True)  # noqa: E731
        expected = {
            ("AWS/SQS", "ApproximateNumberOfMessagesVisible", queue("DeadLetterQueue"), "GreaterThanThreshold", "0"),
            ("AWS/SQS", "ApproximateNumberOfMessagesVisible", queue("ParkingQueue"), "GreaterThanThreshold", "0"),
            ("AWS/SQS", "ApproximateAgeOfOldestMessage", queue("MainQueue"), "GreaterThanThreshold",
             json.dumps({"Ref": "OldestMessageAlarmSeconds"})),
            # Ingest's own metric: a sources secret that cannot be refreshed.
            ("Hookline", "SourcesConfigStaleSeconds", '"ingest"', "GreaterThanThreshold", "0"),
            # The processor's own: events it could not put on the EventBridge bus.
            ("Hookline", "EventBridgeFailures", '"processor"', "GreaterThanThreshold", "0"),
        } | {
            ("AWS/Lambda", metric, json.dumps({"Ref": fn}), "GreaterThanThreshold", "0")
            for fn in FUNCTIONS for metric in ("Errors", "Throttles")
        }
        self.assertEqual(got, expected)
        for lid, p in alarms.items():
            self.assertEqual(p["AlarmActions"], [{"Ref": "AlarmTopic"}], lid)
            self.assertEqual(p["TreatMissingData"], "notBreaching", lid)
        self.assertEqual(self.template["Parameters"]["OldestMessageAlarmSeconds"]["Default"], 300)

    def test_email_subscription_is_optional(self):
        sub = self.resources["AlarmEmailSubscription"]
        self.assertEqual(sub["Condition"], "HasAlarmEmail")
        self.assertEqual(sub["Properties"]["TopicArn"], {"Ref": "AlarmTopic"})
        self.assertFalse(provision.evaluate_condition("HasAlarmEmail", Context(template=self.template)))
        ctx = Context(template=self.template, overrides={"AlarmEmail": "ops@example.com"})
        self.assertTrue(provision.evaluate_condition("HasAlarmEmail", ctx))

    def test_dashboard_body_is_json_with_every_metric(self):
        ctx = Context(template=self.template, stack_name="st", account_id="111122223333")
        for q, name in (("MainQueue", "st-main"), ("DeadLetterQueue", "st-dlq"), ("ParkingQueue", "st-parking")):
            ctx.resources[q] = ResolvedResource(ref=f"http://q/{name}", attributes={"QueueName": name})
        for lid, short in FUNCTIONS.items():
            ctx.resources[lid] = ResolvedResource(ref=f"st-{short}")
        body = json.loads(resolve(self.resources["Dashboard"]["Properties"]["DashboardBody"], ctx))
        metrics, expressions = set(), []
        for widget in body["widgets"]:
            self.assertEqual(widget["properties"]["region"], "us-east-1")
            for line in widget["properties"]["metrics"]:
                if isinstance(line[0], dict):
                    expressions.append(line[0]["expression"])
                else:
                    metrics.add(tuple(line))
        self.assertIn("SEARCH('{Hookline,Function,Source} MetricName=\"Accepted\"', 'Sum', 60)", expressions)
        self.assertIn("SEARCH('{Hookline,Function,Reason} MetricName=\"Rejected\"', 'Sum', 60)", expressions)
        self.assertIn(("Hookline", "EnqueueFailed", "Function", "ingest"), metrics)
        for m in ("Processed", "Duplicates", "TransientFailures", "PermanentFailures", "PayloadConflicts",
                  "EventBridgeFailures"):
            self.assertIn(("Hookline", m, "Function", "processor"), metrics)
        for m in ("DeadLettersSeen", "Replayed", "Parked"):
            self.assertIn(("Hookline", m, "Function", "reprocess"), metrics)
        for q in ("st-main", "st-dlq", "st-parking"):
            for m in ("ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"):
                self.assertIn(("AWS/SQS", m, "QueueName", q), metrics)

    def test_outputs(self):
        outputs = self.template["Outputs"]
        self.assertEqual(outputs["AlarmTopicArn"]["Value"], {"Ref": "AlarmTopic"})
        self.assertIn("${Dashboard}", outputs["DashboardUrl"]["Value"]["Fn::Sub"])


class ReadmeTest(unittest.TestCase):
    def test_every_parameter_is_in_the_readme_table(self):
        readme = (REPO_ROOT / "README.md").read_text()
        match = re.search(r"^## Template parameters\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
        self.assertIsNotNone(match, "README.md has no '## Template parameters' section")
        rows = [line for line in match.group(1).splitlines() if line.startswith("|")]
        names = {m.group(1) for line in rows[2:] for m in [re.match(r"\|\s*`(\w+)`", line)] if m}
        parameters = set(load_template(TEMPLATE_PATH)["Parameters"])
        self.assertEqual(parameters - names, set(), "parameters missing from the README table")
        self.assertEqual(names - parameters, set(), "README table rows naming no parameter")


@unittest.skipUnless(shutil.which("curl"), "curl is needed by moto.sh")
class EndToEndTest(MotoServer, unittest.TestCase):
    """Provision into a real moto server started by moto.sh on a spare port."""

    port = os.environ.get("HOOKLINE_TEST_MOTO_PORT", "4599")
    tmp_prefix = "hookline-e2e-"

    def setUp(self):
        reset = moto_sh("reset", self.env)
        self.assertEqual(reset.returncode, 0, reset.stderr)

    def client(self, service: str):
        return provision.boto3_session_factory(self.endpoint, "us-east-1")(service)

    def run_provision(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, str(HERE / "provision.py"), *args],
            env=self.env, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
        )
        self.assertEqual(result.returncode, 0, f"provision failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def test_status_answers(self):
        status = moto_sh("status", self.env)
        self.assertEqual(status.returncode, 0, status.stdout + status.stderr)
        self.assertIn(f"running on {self.endpoint}", status.stdout)

    def test_provision_template_twice(self):
        env_file = self.tmp / "local.env"
        common = ["--stack-name", "e2e", "--env-file", str(env_file), "--extra", "HOOKLINE_EXTRA=yes"]
        first = self.run_provision(*common, "--secret-value", f"SourcesSecret={SOURCES_JSON}")
        self.assertIn("created   MainQueue", first)
        self.assertRegex(first, r"skipped   \d+ resources not emulated or not enabled \(.*3 AWS::Serverless::Function")
        self.assertNotIn("skip       IngestFunction", first, "one summary line, not a line per resource")
        self.assertNotIn("RedriveAllowPolicy skipped", first)

        sqs = self.client("sqs")
        urls = {q: sqs.get_queue_url(QueueName=f"e2e-{q}")["QueueUrl"] for q in ("main", "dlq", "parking")}
        attrs = {
            q: sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["All"])["Attributes"] for q, u in urls.items()
        }
        self.assertEqual(
            json.loads(attrs["main"]["RedrivePolicy"]),
            {"deadLetterTargetArn": attrs["dlq"]["QueueArn"], "maxReceiveCount": 10},
        )
        self.assertEqual(
            json.loads(attrs["dlq"]["RedrivePolicy"]),
            {"deadLetterTargetArn": attrs["parking"]["QueueArn"], "maxReceiveCount": 2},
        )
        self.assertNotIn("RedrivePolicy", attrs["parking"])
        self.assertEqual(attrs["main"]["VisibilityTimeout"], "180")
        for q in attrs:
            self.assertEqual(attrs[q]["MessageRetentionPeriod"], "1209600", q)

        # The template's RedriveAllowPolicy ARN (built by hand to avoid a cycle) is the real one.
        ctx = Context(template=load_template(TEMPLATE_PATH), stack_name="e2e", account_id="123456789012")
        rap = resolve(load_template(TEMPLATE_PATH)["Resources"]["DeadLetterQueue"]["Properties"]["RedriveAllowPolicy"], ctx)
        self.assertEqual(rap["sourceQueueArns"], [attrs["main"]["QueueArn"]])

        # Exactly what the template declares: every queue and table, by name and key attributes.
        template = load_template(TEMPLATE_PATH)
        declared = {lid: r for lid, r in template["Resources"].items()}
        queue_names = sorted(
            resolve(r["Properties"]["QueueName"], ctx) for r in declared.values() if r["Type"] == "AWS::SQS::Queue"
        )
        self.assertEqual(
            sorted(u.rsplit("/", 1)[1] for u in sqs.list_queues(QueueNamePrefix="e2e-").get("QueueUrls", [])),
            queue_names,
        )
        for lid, r in declared.items():
            if r["Type"] == "AWS::SQS::Queue" and "VisibilityTimeout" in r["Properties"]:
                name = resolve(r["Properties"]["QueueName"], ctx)
                url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
                got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
                self.assertEqual(got["VisibilityTimeout"], str(resolve(r["Properties"]["VisibilityTimeout"], ctx)), lid)
        # The body bucket, with what the template sets (moto stores it; it applies no lifecycle).
        s3 = self.client("s3")
        self.assertIn("created   BodyBucket (bucket) e2e-bodybucket", first)
        encryption = s3.get_bucket_encryption(Bucket="e2e-bodybucket")["ServerSideEncryptionConfiguration"]
        self.assertEqual(encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256")
        block = s3.get_public_access_block(Bucket="e2e-bodybucket")["PublicAccessBlockConfiguration"]
        self.assertEqual(set(block.values()), {True})
        (lifecycle,) = s3.get_bucket_lifecycle_configuration(Bucket="e2e-bodybucket")["Rules"]
        self.assertEqual((lifecycle["Expiration"]["Days"], lifecycle["Filter"]["Prefix"]), (14, "bodies/"))
        policy = json.loads(s3.get_bucket_policy(Bucket="e2e-bodybucket")["Policy"])
        self.assertEqual(policy["Statement"][0]["Resource"], ["arn:aws:s3:::e2e-bodybucket", "arn:aws:s3:::e2e-bodybucket/*"])
        dynamodb = self.client("dynamodb")
        tables = {lid: r for lid, r in declared.items() if r["Type"] == "AWS::DynamoDB::Table"}
        self.assertGreaterEqual(len(tables), 3)
        for lid, r in tables.items():
            described = dynamodb.describe_table(TableName=resolve(r["Properties"]["TableName"], ctx))["Table"]
            self.assertEqual(described["KeySchema"], r["Properties"]["KeySchema"], lid)
            self.assertEqual(described["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST", lid)
            ttl = r["Properties"].get("TimeToLiveSpecification")
            if ttl:
                got = dynamodb.describe_time_to_live(TableName=described["TableName"])["TimeToLiveDescription"]
                self.assertEqual(got.get("AttributeName"), ttl["AttributeName"], lid)

        sm = self.client("secretsmanager")
        self.assertEqual(sm.get_secret_value(SecretId="e2e-sources")["SecretString"], SOURCES_JSON.read_text())
        arn = sm.describe_secret(SecretId="e2e-sources")["ARN"]

        env = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if not line.startswith("#"))
        self.assertEqual(env["AWS_ENDPOINT_URL"], self.endpoint)
        self.assertEqual(env["AWS_REGION"], "us-east-1")
        self.assertEqual(env["HOOKLINE_QUEUE_URL"], urls["main"])
        self.assertEqual(env["HOOKLINE_SOURCES_SECRET_ID"], arn)
        self.assertEqual(env["HOOKLINE_SOURCES_TTL_SECONDS"], "60")
        self.assertEqual(env["HOOKLINE_RESOURCE_DEAD_LETTER_QUEUE"], urls["dlq"])
        self.assertEqual(env["HOOKLINE_RESOURCE_SOURCES_SECRET"], arn)
        self.assertEqual(list(env)[-1], "HOOKLINE_EXTRA")

        # Each function as the local Lambda host runs it: its own environment, not the union.
        document = json.loads((self.tmp / "local.functions.json").read_text())
        self.assertEqual(document["common_environment"]["AWS_ENDPOINT_URL"], self.endpoint)
        functions = {f["name"]: f for f in document["functions"]}
        self.assertEqual(sorted(functions), ["ingest", "processor", "reprocess"])
        for name, f in functions.items():
            resource = template["Resources"][f["logical_id"]]
            self.assertEqual(f["timeout_seconds"], int(resolve(resource["Properties"]["Timeout"], ctx)), name)
            self.assertEqual(f["environment"]["AWS_LAMBDA_LOG_FORMAT"], "JSON", name)
            self.assertEqual(f["environment"]["AWS_LAMBDA_LOG_LEVEL"], "INFO", name)
            self.assertEqual(f["environment"]["HOOKLINE_EXTRA"], "yes", name)
            own = set(resource["Properties"].get("Environment", {}).get("Variables", {}))
            globals_ = set(template["Globals"]["Function"]["Environment"]["Variables"])
            self.assertEqual(
                set(f["environment"]) - {"AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL", "HOOKLINE_EXTRA"},
                own | globals_,
                name,
            )
        self.assertNotIn("HOOKLINE_EVENTS_TABLE", functions["ingest"]["environment"])
        self.assertEqual(functions["processor"]["environment"]["HOOKLINE_QUEUE_URL"], urls["main"])

        # Second run: same value -> nothing new; changed parameter -> attribute updated.
        second = self.run_provision(*common, "--secret-value", f"SourcesSecret={SOURCES_JSON}",
                                    "--param", "MainQueueMaxReceiveCount=7", "--param", "ProcessorTimeout=60")
        self.assertIn("updated   MainQueue", second)
        self.assertIn("unchanged SourcesSecret", second)
        main = sqs.get_queue_attributes(QueueUrl=urls["main"], AttributeNames=["All"])["Attributes"]
        self.assertEqual(json.loads(main["RedrivePolicy"])["maxReceiveCount"], 7)
        self.assertEqual(main["VisibilityTimeout"], "360")
        self.assertEqual(len(sm.list_secret_version_ids(SecretId=arn)["Versions"]), 1)

        # Third run with another value: a new secret version, same ARN.
        other = self.tmp / "other.json"
        other.write_text('{"sources":{"x":{"scheme":"github","secrets":["s"]}}}')
        third = self.run_provision(*common, "--secret-value", f"SourcesSecret={other}")
        self.assertIn("updated   SourcesSecret", third)
        self.assertEqual(sm.get_secret_value(SecretId=arn)["SecretString"], other.read_text())
        self.assertEqual(
            sm.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"], SOURCES_JSON.read_text()
        )

    def test_the_event_bus_is_created_unless_the_stack_is_given_one(self):
        events, iam = self.client("events"), self.client("iam")

        def role_bus(stack: str) -> str:
            document = iam.get_role_policy(RoleName=f"{stack}-ProcessorRole", PolicyName="processor")["PolicyDocument"]
            (statement,) = [st for st in document["Statement"] if st["Sid"] == "PublishEvents"]
            return statement["Resource"]

        def processor_bus(env_file) -> str:
            """The processor's HOOKLINE_EVENT_BUS, which no other function has."""
            document = json.loads(provision.functions_file(env_file).read_text())
            buses = {f["name"]: f["environment"].get("HOOKLINE_EVENT_BUS") for f in document["functions"]}
            self.assertEqual({name for name, bus in buses.items() if bus is not None}, {"processor"})
            return buses["processor"]

        env_file = self.tmp / "bus.env"
        common = ["--stack-name", "e2e", "--env-file", str(env_file), "--secret-value", f"SourcesSecret={SOURCES_JSON}"]
        first = self.run_provision(*common)
        bus = events.describe_event_bus(Name="e2e-events")
        self.assertIn(f"created   EventBus (event bus) {bus['Arn']}", first)
        self.assertEqual(bus["Arn"], "arn:aws:events:us-east-1:123456789012:event-bus/e2e-events")
        self.assertEqual(role_bus("e2e"), bus["Arn"], "GetAtt EventBus.Arn")
        env = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if not line.startswith("#"))
        self.assertEqual(env["HOOKLINE_EVENT_BUS"], "e2e-events", "Ref EventBus")
        self.assertEqual(env["HOOKLINE_RESOURCE_EVENT_BUS"], "e2e-events")
        self.assertEqual(processor_bus(env_file), "e2e-events")
        self.assertIn("unchanged EventBus", self.run_provision(*common))

        # Given an existing bus, the stack creates none and the processor puts on that one.
        events.create_event_bus(Name="shared-bus")
        shared_env = self.tmp / "shared.env"
        shared = self.run_provision("--stack-name", "e2e-shared", "--env-file", str(shared_env),
                                    "--secret-value", f"SourcesSecret={SOURCES_JSON}", "--param", "EventBusName=shared-bus")
        self.assertNotIn("EventBus (event bus)", shared)
        self.assertRegex(shared, r"skipped .*1 AWS::Events::EventBus")
        self.assertEqual(sorted(b["Name"] for b in events.list_event_buses()["EventBuses"]),
                         ["default", "e2e-events", "shared-bus"])
        env = dict(line.split("=", 1) for line in shared_env.read_text().splitlines() if not line.startswith("#"))
        self.assertEqual(env["HOOKLINE_EVENT_BUS"], "shared-bus")
        self.assertNotIn("HOOKLINE_RESOURCE_EVENT_BUS", env)
        self.assertEqual(processor_bus(shared_env), "shared-bus")
        self.assertEqual(role_bus("e2e-shared"), events.describe_event_bus(Name="shared-bus")["Arn"])

    def test_tables_secrets_and_fifo_from_another_template(self):
        template = self.tmp / "tables.yaml"
        template.write_text(
            textwrap.dedent(
                """\
                Parameters:
                  Prefix: {Type: String, Default: t}
                Resources:
                  DedupTable:
                    Type: AWS::DynamoDB::Table
                    Properties:
                      TableName: !Sub "${AWS::StackName}-${Prefix}-dedup"
                      BillingMode: PAY_PER_REQUEST
                      AttributeDefinitions:
                        - {AttributeName: pk, AttributeType: S}
                        - {AttributeName: source, AttributeType: S}
                      KeySchema: [{AttributeName: pk, KeyType: HASH}]
                      GlobalSecondaryIndexes:
                        - IndexName: by-source
                          KeySchema: [{AttributeName: source, KeyType: HASH}]
                          Projection: {ProjectionType: KEYS_ONLY}
                      TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
                  Ordered:
                    Type: AWS::SQS::Queue
                    Properties:
                      FifoQueue: true
                      ContentBasedDeduplication: true
                      DelaySeconds: 2
                  Generated:
                    Type: AWS::SecretsManager::Secret
                    Properties:
                      GenerateSecretString:
                        SecretStringTemplate: '{"user":"hook"}'
                        GenerateStringKey: password
                        PasswordLength: 20
                        ExcludePunctuation: true
                  Alarm:
                    Type: AWS::CloudWatch::Alarm
                Outputs:
                  T: {Value: !GetAtt DedupTable.Arn}
                """
            )
        )
        env_file = self.tmp / "tables.env"
        args = ["--template", str(template), "--stack-name", "e2e", "--env-file", str(env_file)]
        first = self.run_provision(*args, "--verbose")
        self.assertIn("skip       Alarm (AWS::CloudWatch::Alarm)", first)
        secret_before = self.client("secretsmanager").get_secret_value(SecretId="e2e-Generated")["SecretString"]
        second = self.run_provision(*args)
        self.assertIn("updated   DedupTable", second)

        ddb = self.client("dynamodb")
        table = ddb.describe_table(TableName="e2e-t-dedup")["Table"]
        self.assertEqual(table["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST")
        self.assertEqual([g["IndexName"] for g in table["GlobalSecondaryIndexes"]], ["by-source"])
        ttl = ddb.describe_time_to_live(TableName="e2e-t-dedup")["TimeToLiveDescription"]
        self.assertEqual((ttl["TimeToLiveStatus"], ttl["AttributeName"]), ("ENABLED", "expires_at"))

        sqs = self.client("sqs")
        url = sqs.get_queue_url(QueueName="e2e-Ordered.fifo")["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        self.assertEqual((attrs["FifoQueue"], attrs["ContentBasedDeduplication"], attrs["DelaySeconds"]),
                         ("true", "true", "2"))

        secret = json.loads(self.client("secretsmanager").get_secret_value(SecretId="e2e-Generated")["SecretString"])
        self.assertEqual(secret["user"], "hook")
        self.assertEqual(len(secret["password"]), 20)
        self.assertEqual(json.loads(secret_before), secret)  # not regenerated on the second run

        env = env_file.read_text()
        self.assertIn("HOOKLINE_RESOURCE_DEDUP_TABLE=e2e-t-dedup\n", env)
        self.assertIn(f"HOOKLINE_RESOURCE_ORDERED={url}\n", env)

    def test_unreachable_emulator_fails_clearly(self):
        result = subprocess.run(
            [sys.executable, str(HERE / "provision.py"), "--endpoint-url", "http://127.0.0.1:9",
             "--env-file", str(self.tmp / "never.env")],
            capture_output=True, text=True, timeout=60, cwd=REPO_ROOT,
        )
        self.assertEqual(result.returncode, 1)
        self.assertIn("cannot reach the emulator", result.stderr)
        self.assertFalse((self.tmp / "never.env").exists())

    def test_refuses_remote_endpoint(self):
        result = subprocess.run(
            [sys.executable, str(HERE / "provision.py"), "--endpoint-url", "https://sqs.example.invalid"],
            capture_output=True, text=True, timeout=60, cwd=REPO_ROOT,
        )
        self.assertEqual(result.returncode, 1)
        self.assertIn("not on this machine", result.stderr)


if __name__ == "__main__":
    unittest.main()
