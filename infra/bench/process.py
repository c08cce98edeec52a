#!/usr/bin/env python3
"""Process-level benchmarks of the three release binaries, one run, one table of ratios.

    .venv/bin/python infra/bench/process.py [--cold-reps 10] [--load-events 2000] ...

What it does (see docs/performance.md for what each row means and the cost model built on it):

  a. cold start: each release binary (target/lambda/<fn>/bootstrap) is spawned against a
     local Lambda runtime API (infra/local/runtime_api.py), with a real sample event already
     queued; the time from spawn to the response of that first event, median of N spawns,
     against a Python handler doing the same work with boto3 under a minimal Python
     runtime-API client (infra/bench/python/).
  b. peak RSS (VmHWM) of each function's process after a sustained load through that
     runtime API.
  c. stripped release binary sizes.
  d. end-to-end webhooks/s: signed webhooks -> ingest -> SQS -> processor -> DynamoDB, against
     a raw boto3 send/receive/put/delete loop on the same emulator.
  e. DynamoDB, SQS and Secrets Manager requests per processed (and per poison) message,
     counted by an HTTP proxy in front of the emulator.

Everything runs against its own moto server (infra/local/moto.sh, port 4590 by default) with
the resources of template.yaml (infra/local/provision.py). Ports: moto 4590, counting proxy
4591, runtime APIs 4592-4597. Every process it starts is stopped on exit. Exit status: 0 when
every row was measured, 1 when a measurement failed, or (with --strict) a row missed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra" / "local"))
from event_source_mapping import acknowledged, sqs_event  # noqa: E402  (the local ESM's event shape)
from runtime_api import Invocation, QuietServer, RuntimeApi  # noqa: E402  (the runtime API protocol)

FUNCTIONS = ("ingest", "processor", "reprocess")
PYTHON_DIR = ROOT / "infra" / "bench" / "python"
MB = 1024 * 1024
# How ingest writes a JSON body: as itself, the envelope's last member, after this text.
JSON_BODY_MEMBER = '"body_encoding":"json","body":'

# Targets (issue "Performance: benchmarks that compare, and a cost model").
COLD_START_TARGET_MS = 20.0
COLD_START_RATIO_TARGET = 10.0
COLD_BATCH_OF_3_REPS = 5
PEAK_RSS_TARGET_MB = 32.0
MIB = 1024 * 1024
# The largest body a source can accept (functions/domain: MAX_BODY_BYTES): its base64 and the
# envelope's reserve fit one SQS message.
MAX_BODY_BYTES = (MIB - 64 * 1024) // 4 * 3
BULK_SOURCE = {"scheme": "stripe", "secrets": ["whsec_bench_bulk_bodies"], "max_body_bytes": MAX_BODY_BYTES}
BINARY_SIZE_TARGET_MB = 6.0
DYNAMODB_PER_MESSAGE_TARGET = 2.0


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


class BenchError(Exception):
    """A measurement could not be made; printed without a traceback."""


# --------------------------------------------------------------------------------------
# The functions' runtime API (infra/local/runtime_api.py, the one the local Lambda host serves
# too), fed one invocation at a time by the benchmarks.


class BenchRuntime:
    """One function's runtime API on 127.0.0.1:port; one function process at a time, each a
    round started by `reset()`, so that a stopped process's last `next` gets nothing later."""

    def __init__(self, port: int, function_name: str, timeout_ms: int = 30_000):
        self.function_name = function_name
        self.pending: queue.Queue[Invocation] = queue.Queue()
        self.failed_init: bytes | None = None
        self.closed = False
        self.api = RuntimeApi(function_name, self, port=port, default_timeout_ms=timeout_ms)
        self.port = self.api.port

    @property
    def first_next_at(self) -> float | None:
        return self.api.first_next_at

    # The runtime API's InvocationSource.
    def next(self) -> Invocation | None:
        pending = self.pending
        while True:
            try:
                return pending.get(timeout=0.5)
            except queue.Empty:
                if self.closed or pending is not self.pending:
                    return None  # a process of an earlier round: give it nothing

    def requeue(self, invocation: Invocation) -> None:
        self.pending.put(invocation)  # its process was gone: the next one's

    def finished(self, invocation: Invocation) -> None:
        pass

    def init_error(self, body: bytes) -> None:
        self.failed_init = body

    def reset(self) -> None:
        """Forget the previous process: its pending `next` gets nothing from now on."""
        self.pending = queue.Queue()
        self.failed_init = None
        self.api.first_next_at = None

    def wait(self, invocation: Invocation, process: subprocess.Popen | None, timeout: float = 60.0) -> Invocation:
        deadline = time.monotonic() + timeout
        while not invocation.done.wait(0.05):
            if self.failed_init is not None:
                raise BenchError(f"{self.function_name}: init error: {self.failed_init[:500].decode(errors='replace')}")
            if process is not None and process.poll() is not None:
                raise BenchError(f"{self.function_name}: the process exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise BenchError(f"{self.function_name}: no response within {timeout:.0f} s")
        return invocation

    def submit(self, payload: bytes) -> Invocation:
        invocation = Invocation(payload)
        self.pending.put(invocation)
        return invocation

    def invoke(self, payload, process: subprocess.Popen | None, timeout: float = 60.0) -> Invocation:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.wait(self.submit(data), process, timeout)

    def close(self) -> None:
        self.closed = True
        self.api.close()


# --------------------------------------------------------------------------------------
# A counting proxy in front of the emulator: every AWS request, by caller, service and operation.


def classify(headers, body: bytes) -> tuple[str, str, list[str]]:
    """(service, operation, resources) of one AWS request (JSON or query protocol)."""
    target = headers.get("X-Amz-Target") or ""
    resources: list[str] = []
    if target:
        prefix, _, operation = target.partition(".")
        service = {"DynamoDB_20120810": "DynamoDB", "AmazonSQS": "SQS", "secretsmanager": "SecretsManager"}.get(
            prefix, prefix
        )
        try:
            document = json.loads(body or b"{}")
        except ValueError:
            document = {}
        if "QueueUrl" in document:
            resources.append(document["QueueUrl"].rstrip("/").rsplit("/", 1)[-1])
        if "TableName" in document:
            resources.append(document["TableName"])
        if "SecretId" in document:
            resources.append("sources-secret")
        for item in document.get("TransactItems", []):
            for action in item.values():
                resources.append(action.get("TableName", "?"))
        for table in document.get("RequestItems", {}):
            resources.append(table)
        return service, operation, resources
    form = urllib.parse.parse_qs(body.decode(errors="replace"))
    operation = (form.get("Action") or ["?"])[0]
    queue_url = (form.get("QueueUrl") or [""])[0]
    if queue_url:
        resources.append(queue_url.rstrip("/").rsplit("/", 1)[-1])
    return "SQS" if queue_url else "?", operation, resources


def item_bytes(value) -> int:
    """DynamoDB's size of an attribute value (names counted by the caller)."""
    (kind, v), = value.items()
    if kind in ("S",):
        return len(v.encode())
    if kind == "B":
        return len(base64.b64decode(v))
    if kind == "N":
        return (len(v.lstrip("-").replace(".", "").lstrip("0")) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + item_bytes(x) for k, x in v.items())
    if kind == "L":
        return 3 + sum(1 + item_bytes(x) for x in v)
    return len(json.dumps(v))


class CountingProxy:
    HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "upgrade", "te"}

    def __init__(self, port: int, upstream_port: int):
        self.counts: Counter = Counter()
        self.failures: Counter = Counter()  # 5xx answers of the emulator (the SDK retries them)
        self.intervals: list[tuple[float, float]] = []  # (received, answered) per request, perf_counter
        self.put_item_sizes: list[int] = []
        self.lock = threading.Lock()
        proxy = self
        local = threading.local()

        def upstream() -> http.client.HTTPConnection:
            if getattr(local, "conn", None) is None:
                local.conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
            return local.conn

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args):
                pass

            def _forward(self):
                received = time.perf_counter()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                service, operation, resources = classify(self.headers, body)
                caller = "functions" if "aws-sdk-rust" in (self.headers.get("User-Agent") or "") else "harness"
                resource = "+".join(sorted(set(resources))) or "-"  # one count per request
                with proxy.lock:
                    proxy.counts[(caller, service, operation, resource)] += 1
                    # The events table's item, as DynamoDB sizes it (its write units follow).
                    if service == "DynamoDB" and operation == "PutItem" and caller == "functions":
                        item = json.loads(body).get("Item", {})
                        proxy.put_item_sizes.append(sum(len(k.encode()) + item_bytes(v) for k, v in item.items()))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in CountingProxy.HOP}
                for attempt in range(2):
                    conn = upstream()
                    try:
                        conn.request(self.command, self.path, body=body, headers=headers)
                        response = conn.getresponse()
                        data = response.read()
                        break
                    except (http.client.HTTPException, OSError):
                        conn.close()
                        local.conn = None
                        if attempt:
                            raise
                self.send_response(response.status)
                for k, v in response.getheaders():
                    if k.lower() not in CountingProxy.HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                with proxy.lock:
                    proxy.intervals.append((received, time.perf_counter()))
                    if response.status >= 500:
                        proxy.failures[(caller, service, operation, resource)] += 1

            do_POST = do_GET = do_PUT = do_DELETE = _forward  # noqa: N815

        self.server = QuietServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="counting-proxy", daemon=True).start()

    def take(self) -> tuple[Counter, list[int]]:
        """The counts since the last take, then zero."""
        with self.lock:
            counts, sizes = self.counts, self.put_item_sizes
            self.counts, self.put_item_sizes, self.intervals = Counter(), [], []
        return counts, sizes

    def take_failures(self) -> Counter:
        with self.lock:
            failures, self.failures = self.failures, Counter()
        return failures

    def aws_wait(self, start: float, end: float) -> float:
        """Seconds within [start, end] during which at least one request was at the emulator."""
        with self.lock:
            spans = sorted((max(a, start), min(b, end)) for a, b in self.intervals if b > start and a < end)
            self.intervals = []
        total, cursor = 0.0, start
        for a, b in spans:
            a = max(a, cursor)
            if b > a:
                total += b - a
                cursor = b
        return total

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------------------
# Processes.


class Processes:
    """Every process this script spawns, stopped by its own pid on exit."""

    def __init__(self):
        self.live: list[subprocess.Popen] = []

    def spawn(self, argv: list[str], env: dict, log_path: Path, cwd: Path) -> subprocess.Popen:
        log_file = open(log_path, "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(argv, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=cwd, close_fds=True)
        process._bench_log = log_file  # type: ignore[attr-defined]
        self.live.append(process)
        return process

    def stop(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.kill()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        process._bench_log.close()  # type: ignore[attr-defined]
        if process in self.live:
            self.live.remove(process)

    def stop_all(self) -> None:
        for process in list(self.live):
            self.stop(process)


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set size) of a live process, in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise BenchError(f"no VmHWM for pid {pid}")


# --------------------------------------------------------------------------------------
# Events: real samples from events/, re-signed now and made unique per use.


class Events:
    def __init__(self):
        self.ingest_sample = json.loads((ROOT / "events/ingest/stripe-valid.json").read_text())
        self.stripe_payload = json.loads(self.ingest_sample["body"])
        sources = json.loads((ROOT / "infra/local/sources.json").read_text())["sources"]
        self.stripe_secret = sources["stripe"]["secrets"][0].encode()
        self.bulk_secret = BULK_SOURCE["secrets"][0].encode()
        self.batch_sample = json.loads((ROOT / "events/processor/good-batch.json").read_text())
        self.counter = 0

    def unique(self, tag: str) -> str:
        self.counter += 1
        return f"evt_bench_{tag}_{self.counter}_{uuid.uuid4().hex[:8]}"

    def stripe_body(self, event_id: str, poison: bool = False) -> bytes:
        payload = dict(self.stripe_payload, id=event_id)
        if poison:
            payload["hookline_fault"] = "poison"
        return (json.dumps(payload, indent=2) + "\n").encode()

    def ingest_event(self, tag: str, poison: bool = False) -> tuple[dict, str]:
        """An API Gateway (HTTP API, v2) event of a Stripe webhook signed now; and its event id."""
        event_id = self.unique(tag)
        body = self.stripe_body(event_id, poison)
        t = str(int(time.time()))
        signature = hmac.new(self.stripe_secret, t.encode() + b"." + body, hashlib.sha256).hexdigest()
        event = json.loads(json.dumps(self.ingest_sample))
        event["body"] = body.decode()
        event["headers"]["stripe-signature"] = f"t={t},v1={signature}"
        event["requestContext"]["requestId"] = f"bench-{event_id}"
        event["requestContext"]["timeEpoch"] = int(time.time() * 1000)
        return event, f"stripe:{event_id}"

    def large_ingest_event(self, tag: str, size: int) -> dict:
        """An event carrying a pretty-printed JSON body of `size` bytes for the `bulk` source."""
        event, _ = self.ingest_event(tag)
        body = json.loads(event["body"])
        body["padding"] = ""
        text = json.dumps(body, indent=2) + "\n"
        body["padding"] = "x" * (size - len(text.encode()))
        raw = (json.dumps(body, indent=2) + "\n").encode()
        assert len(raw) == size, (len(raw), size)
        t = str(int(time.time()))
        signature = hmac.new(self.bulk_secret, t.encode() + b"." + raw, hashlib.sha256).hexdigest()
        event["body"] = raw.decode()
        event["headers"]["stripe-signature"] = f"t={t},v1={signature}"
        event["rawPath"] = event["requestContext"]["http"]["path"] = "/webhooks/bulk"
        event["pathParameters"] = {"source": "bulk"}
        return event

    def envelope(self, event_id: str) -> str:
        body = self.stripe_body(event_id).decode()
        return json.dumps(
            {
                "version": 2,
                "source": "stripe",
                "event_id": f"stripe:{event_id}",
                "scheme": "stripe",
                "received_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "content_type": "application/json; charset=utf-8",
                "headers": {"user-agent": "hookline-sample/stripe"},
            },
            separators=(",", ":"),
        )[:-1] + f",{JSON_BODY_MEMBER}{body}}}"  # as ingest writes a JSON body

    def sqs_batch(self, tag: str, size: int, dead_letter: bool = False) -> dict:
        """An SQS event like events/processor/good-batch.json, with `size` new events; as dead
        letters (a transient failure with replay budget left) when `dead_letter`."""
        template = self.batch_sample["Records"][0]
        records = []
        for _ in range(size):
            event_id = self.unique(tag)
            record = json.loads(json.dumps(template))
            record["messageId"] = str(uuid.uuid4())
            record["receiptHandle"] = base64.b64encode(uuid.uuid4().bytes).decode()
            record["body"] = self.envelope(event_id)
            attributes = {
                "hookline.source": "stripe",
                "hookline.event_id": f"stripe:{event_id}",
                "hookline.scheme": "stripe",
            }
            if dead_letter:
                record["eventSourceARN"] = record["eventSourceARN"].replace("-main", "-dlq")
                attributes.update(
                    {
                        "hookline.error_kind": "transient",
                        "hookline.error_class": "PaymentApiTimeout",
                        "hookline.error_message": "bench: upstream timed out",
                        "hookline.receive_count": "5",
                        "hookline.original_message_id": str(uuid.uuid4()),
                    }
                )
            record["messageAttributes"] = {k: {"stringValue": v, "dataType": "String"} for k, v in attributes.items()}
            records.append(record)
        return {"Records": records}


# --------------------------------------------------------------------------------------
# The bench.


def cold_start_detail(c: dict) -> str:
    return (
        f"median {c['median_ms']:7.1f}  init {c['init_median_ms']:7.1f}  "
        f"waiting for the emulator {c['aws_wait_median_ms']:6.1f}  own {c['own_median_ms']:7.1f}  "
        f"min..max {c['min_ms']:.1f}..{c['max_ms']:.1f}  RSS after 1 event {c['rss_after_first_event_mb']:.1f} MiB"
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Row:
    name: str
    measured: str
    compared: str
    ratio: str
    target: str
    result: str  # PASS | MISS | info


class Bench:
    def __init__(self, args):
        self.args = args
        self.run_dir = Path(tempfile.mkdtemp(prefix="hookline-bench-"))
        self.moto_port = args.moto_port
        self.endpoint = f"http://127.0.0.1:{self.moto_port}"
        self.proxy_endpoint = f"http://127.0.0.1:{args.proxy_port}"
        self.processes = Processes()
        self.apis: dict[str, BenchRuntime] = {}
        self.proxy: CountingProxy | None = None
        self.moto_started = False
        self.events = Events()
        self.rows: list[Row] = []
        self.results: dict = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self.failed = False

    # ---- infrastructure ----------------------------------------------------------------

    def moto_env(self) -> dict:
        env = dict(os.environ)
        env.update(
            HOOKLINE_MOTO_PORT=str(self.moto_port),
            HOOKLINE_RUN_DIR=str(self.run_dir),
            # Purging between phases keeps queues shallow (moto slows down with depth).
            MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR="false",
        )
        return env

    def start(self) -> None:
        self.binaries = {f: ROOT / "target" / "lambda" / f / "bootstrap" for f in FUNCTIONS}
        if not all(b.is_file() for b in self.binaries.values()) or self.args.build:
            log("release binaries missing: running infra/local/build.sh (4-5 minutes)")
            subprocess.run([str(ROOT / "infra/local/build.sh")], cwd=ROOT, check=True)
        log(f"run dir {self.run_dir}; moto on {self.endpoint}")
        subprocess.run([str(ROOT / "infra/local/moto.sh"), "start"], env=self.moto_env(), check=True, cwd=ROOT)
        self.moto_started = True
        self.provision()
        self.memory = self.template_memory()
        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        cfg = BotoConfig(retries={"max_attempts": 2, "mode": "standard"}, max_pool_connections=20)
        self.sqs = session.client("sqs", endpoint_url=self.endpoint, config=cfg)
        self.dynamodb = session.client("dynamodb", endpoint_url=self.endpoint, config=cfg)
        self.counted_sqs = session.client("sqs", endpoint_url=self.proxy_endpoint, config=cfg)
        self.main_queue = self.config["HOOKLINE_RESOURCE_MAIN_QUEUE"]
        self.dlq = self.config["HOOKLINE_RESOURCE_DEAD_LETTER_QUEUE"]
        self.parking = self.config["HOOKLINE_RESOURCE_PARKING_QUEUE"]
        self.events_table = self.config["HOOKLINE_RESOURCE_EVENTS_TABLE"]
        for offset, name in enumerate(FUNCTIONS):
            self.apis[name] = BenchRuntime(self.args.api_port + offset, name)
            self.apis["py-" + name] = BenchRuntime(self.args.api_port + 3 + offset, "py-" + name)
        self.proxy = CountingProxy(self.args.proxy_port, self.moto_port)

    def provision(self, reset: bool = False) -> None:
        """The template's queues, tables and secret in this run's moto (emptied first when
        `reset`: moto's TransactWriteItems copies every table, so it slows as tables grow)."""
        if reset:
            subprocess.run([str(ROOT / "infra/local/moto.sh"), "reset"], env=self.moto_env(), check=True, cwd=ROOT)
        env_file = self.run_dir / "bench.env"
        provision_env = dict(os.environ, AWS_ENDPOINT_URL=self.endpoint, HOOKLINE_MOTO_PORT=str(self.moto_port))
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "infra/local/provision.py"),
                "--stack-name",
                "hookline-bench",
                "--env-file",
                str(env_file),
                "--secret-value",
                f"SourcesSecret={self.sources_file()}",
            ],
            env=provision_env,
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.config = {}
        for line in env_file.read_text().splitlines():
            if line and not line.startswith("#") and "=" in line:
                k, _, v = line.partition("=")
                self.config[k] = v

    def stop(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):  # a second signal must not cut the cleanup short
            signal.signal(signum, signal.SIG_IGN)
        self.processes.stop_all()
        for api in self.apis.values():
            api.close()
        if self.proxy:
            self.proxy.close()
        if self.moto_started:
            subprocess.run([str(ROOT / "infra/local/moto.sh"), "stop"], env=self.moto_env(), cwd=ROOT, check=False)
        if self.args.keep_run_dir:
            log(f"kept {self.run_dir}")
        else:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def template_memory(self) -> dict[str, int]:
        """MemorySize of each function as template.yaml configures it (defaults resolved)."""
        from provision import load_template  # noqa: PLC0415

        template = load_template(ROOT / "template.yaml")
        memory = {}
        for name in FUNCTIONS:
            resource = template["Resources"][f"{name.capitalize()}Function"]["Properties"]
            size = resource["MemorySize"]
            if isinstance(size, dict) and "Ref" in size:
                size = template["Parameters"][size["Ref"]]["Default"]
            memory[name] = int(size)
        return memory

    def function_env(self, name: str, endpoint: str, extra: dict | None = None) -> dict:
        api = self.apis[name]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "HOME": str(self.run_dir),
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.port}",
            "AWS_LAMBDA_FUNCTION_NAME": f"hookline-bench-{name}",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory.get(name.removeprefix("py-"), 128)),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/hookline-bench-{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        env.update(self.config)
        env["AWS_ENDPOINT_URL"] = endpoint
        env.update(extra or {})
        return env

    def spawn(
        self, name: str, endpoint: str | None = None, extra: dict | None = None, binary: Path | None = None
    ) -> subprocess.Popen:
        """Starts one function process on its runtime API (Rust: the release binary, or
        `binary`; py-*: the Python handler under infra/bench/python/runtime_client.py)."""
        env = self.function_env(name, endpoint or self.endpoint, extra)
        if name.startswith("py-"):
            env["_HANDLER"] = f"{name[3:]}_handler.handler"
            env["LAMBDA_TASK_ROOT"] = str(PYTHON_DIR)
            env.pop("PYTHONDONTWRITEBYTECODE", None)  # Lambda's Python ships compiled bytecode
            argv = [sys.executable, str(PYTHON_DIR / "runtime_client.py")]
            cwd = PYTHON_DIR
        else:
            argv = [str(binary or self.binaries[name])]
            cwd = self.run_dir
        return self.processes.spawn(argv, env, self.run_dir / f"{name}.log", cwd)

    def purge(self, *queues: str) -> None:
        for url in queues:
            self.sqs.purge_queue(QueueUrl=url)

    # ---- a. cold start ------------------------------------------------------------------

    def first_event(self, name: str, records: int):
        """The event a cold start is timed on (one webhook for ingest, an SQS batch of
        `records` for the others), and a check of the function's answer."""
        base = name.removeprefix("py-")
        if base == "ingest":
            event, _ = self.events.ingest_event("cold")

            def ok(result):
                return result.get("statusCode") == 202

            return event, ok
        batch = self.events.sqs_batch("cold", records, dead_letter=base == "reprocess")

        def ok(result):
            # processor: every record acknowledged; reprocess: every dead letter replayed.
            return result.get("batchItemFailures") == []

        return batch, ok

    def cold_start(self, name: str, records: int = 1, reps: int | None = None) -> dict:
        """Spawn to the response of the first event, through the counting proxy, which also
        measures how much of that time the process spent waiting for the emulator."""
        assert self.proxy is not None
        api = self.apis[name]
        samples, inits, rss, waits = [], [], [], []
        for rep in range((reps or self.args.cold_reps) + 1):  # the first spawn warms the page cache: not counted
            event, ok = self.first_event(name, records)
            api.reset()
            invocation = api.submit(json.dumps(event).encode())
            self.proxy.take()
            started = time.perf_counter()
            process = self.spawn(name, self.proxy_endpoint)
            try:
                api.wait(invocation, process)
                if invocation.kind != "response" or not ok(invocation.json()):
                    raise BenchError(f"{name}: unexpected first answer: {invocation.body[:300]!r}")
                if rep:
                    samples.append((invocation.finished_at - started) * 1000)
                    waits.append(self.proxy.aws_wait(started, invocation.finished_at) * 1000)
                    inits.append(((api.first_next_at or invocation.finished_at) - started) * 1000)
                    rss.append(peak_rss_mb(process.pid))
            finally:
                self.processes.stop(process)
        self.purge(self.main_queue)
        return {
            "median_ms": median(samples),
            "min_ms": min(samples),
            "max_ms": max(samples),
            "init_median_ms": median(inits),
            "aws_wait_median_ms": median(waits),
            "own_median_ms": median([t - w for t, w in zip(samples, waits)]),
            "samples_ms": [round(s, 2) for s in samples],
            "rss_after_first_event_mb": median(rss),
        }

    # ---- b. peak RSS under load ----------------------------------------------------------

    def sources_file(self) -> Path:
        """The local sources document and `bulk`, a source taking the largest bodies any can."""
        document = json.loads((ROOT / "infra/local/sources.json").read_text())
        document["sources"]["bulk"] = BULK_SOURCE
        path = self.run_dir / "bench-sources.json"
        path.write_text(json.dumps(document))
        return path

    def load(self, name: str, events: int, large: bool = False) -> dict:
        """`events` webhooks back to back through one process; its peak RSS at the end. With
        `large`, ingest gets bodies of the largest size a source accepts (202) and of 1 MiB,
        which no source accepts (413 once the event is read), in turn."""
        api = self.apis[name]
        base = name.removeprefix("py-")
        api.reset()
        process = self.spawn(name)
        handled = failed = 0
        if base == "processor":
            self.provision(reset=True)  # moto's transactions copy every table: start from empty ones
        try:
            started = time.perf_counter()
            invocations = 0
            while handled < events:
                if base == "ingest":
                    if large:
                        size, expected = [(MAX_BODY_BYTES, 202), (MIB, 413)][handled % 2]
                        event = self.events.large_ingest_event("large", size)
                    else:
                        (event, _), expected = self.events.ingest_event("load"), 202
                    result = api.invoke(event, process).json()
                    if result.get("statusCode") != expected:
                        raise BenchError(f"{name}: load answer {result.get('statusCode')}, expected {expected}")
                    handled += 1
                else:
                    size = min(10, events - handled)
                    batch = self.events.sqs_batch("load", size, dead_letter=base == "reprocess")
                    result = api.invoke(batch, process).json()
                    # A record the emulator failed (timeouts, moto's 500s under load) is counted,
                    # not fatal: this phase measures memory.
                    failed += len(result.get("batchItemFailures") or [])
                    handled += size
                invocations += 1
                if invocations % 100 == 0 and base != "processor":
                    self.purge(self.main_queue)  # ingest and replays fill the main queue
            elapsed = time.perf_counter() - started
            peak = peak_rss_mb(process.pid)
        finally:
            self.processes.stop(process)
        self.purge(self.main_queue)
        return {
            "events": handled,
            "failed_records": failed,
            "invocations": invocations,
            "seconds": elapsed,
            "peak_rss_mb": peak,
        }

    # ---- c. binary sizes ---------------------------------------------------------------

    def binary_sizes(self) -> dict:
        out = {}
        for name, path in self.binaries.items():
            described = subprocess.run(["file", "-b", str(path)], capture_output=True, text=True).stdout.strip()
            sections = subprocess.run(["readelf", "-S", "-W", str(path)], capture_output=True, text=True).stdout
            zip_path = path.with_name("bootstrap.zip")
            out[name] = {
                "bytes": path.stat().st_size,
                "zip_bytes": zip_path.stat().st_size if zip_path.exists() else None,
                "stripped": ".symtab" not in sections,
                "arch": "x86-64" if "x86-64" in described else ("arm64" if "aarch64" in described else described),
                "file": described,
            }
        return out

    # ---- d/e. the pipeline ---------------------------------------------------------------

    def receive_window(self, sqs, queue_url: str, window: float, max_messages: int = 10) -> tuple[list[dict], int]:
        """Like Lambda's SQS poller with MaximumBatchingWindowInSeconds: receive until the batch
        is full or the window since the first receive has passed. Returns (messages, receives)."""
        messages: list[dict] = []
        receives = 0
        opened = time.monotonic()
        while len(messages) < max_messages:
            remaining = window - (time.monotonic() - opened)
            if messages and remaining <= 0:
                break
            wait = 1 if not messages else max(0, min(1, int(remaining)))
            reply = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=max_messages - len(messages),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            receives += 1
            got = reply.get("Messages", [])
            messages.extend(got)
            if not got and not messages:
                break  # an empty poll: let the caller check whether it is done
            if not got:
                time.sleep(0.02)
        return messages, receives

    def pipeline(self, n: int, produce, process_batch, sqs, queue_url: str, window: float, timeout: float) -> dict:
        """`produce(i)` n times on one thread while this thread consumes the queue in batches,
        `process_batch(messages) -> acknowledged messages`, deleting what was acknowledged;
        timed until all n are acknowledged."""
        errors: list[BaseException] = []

        def producer():
            try:
                for i in range(n):
                    produce(i)
            except BaseException as error:  # noqa: BLE001 - reported by the consumer
                errors.append(error)

        stats = Counter()
        started = time.perf_counter()
        thread = threading.Thread(target=producer, name="producer", daemon=True)
        thread.start()
        done = 0
        deadline = time.monotonic() + timeout
        while done < n:
            if errors:
                raise BenchError(f"producer failed: {errors[0]}")
            if time.monotonic() > deadline:
                raise BenchError(f"only {done} of {n} processed within {timeout:.0f} s")
            messages, receives = self.receive_window(sqs, queue_url, window)
            stats["receives"] += receives
            if not messages:
                stats["empty_polls"] += 1
                continue
            stats["batches"] += 1
            stats["records"] += len(messages)
            acked = process_batch(messages)
            for start in range(0, len(acked), 10):
                chunk = acked[start : start + 10]
                sqs.delete_message_batch(
                    QueueUrl=queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
                )
                stats["delete_batches"] += 1
            done += len(acked)
        elapsed = time.perf_counter() - started
        thread.join(timeout=30)
        if errors:
            raise BenchError(f"producer failed: {errors[0]}")
        return {"n": n, "seconds": elapsed, "per_second": n / elapsed, **stats}

    def hookline_pipeline(self, n: int, sqs, ingest, processor, tag: str, poison: bool = False) -> dict:
        event_ids: list[str] = []
        region = "us-east-1"
        queue_arn = f"arn:aws:sqs:{region}:123456789012:{self.main_queue.rsplit('/', 1)[-1]}"

        def produce(_i):
            event, event_id = self.events.ingest_event(tag, poison=poison)
            result = self.apis["ingest"].invoke(event, ingest).json()
            if result.get("statusCode") != 202:
                raise BenchError(f"ingest answered {result}")
            event_ids.append(event_id)

        def process_batch(messages):
            invocation = self.apis["processor"].invoke(sqs_event(messages, queue_arn, region), processor)
            response = invocation.json() if invocation.kind == "response" else None
            return acknowledged(messages, response, True)

        window = float(self.args.batching_window)
        result = self.pipeline(n, produce, process_batch, sqs, self.main_queue, window, self.args.pipeline_timeout)
        result["event_ids"] = event_ids
        return result

    def raw_pipeline(self, n: int) -> dict:
        """The emulator's ceiling for the same flow: boto3 send_message, receive, one
        conditional put_item per message, delete_message_batch; no verification, no function."""
        sqs, dynamodb = self.sqs, self.dynamodb

        def produce(i):
            event_id = f"raw:{i}:{uuid.uuid4().hex[:8]}"
            sqs.send_message(
                QueueUrl=self.main_queue,
                MessageBody=self.events.envelope(event_id),
                MessageAttributes={
                    "hookline.source": {"DataType": "String", "StringValue": "stripe"},
                    "hookline.event_id": {"DataType": "String", "StringValue": f"stripe:{event_id}"},
                    "hookline.scheme": {"DataType": "String", "StringValue": "stripe"},
                },
            )

        def process_batch(messages):
            for m in messages:
                envelope = json.loads(m["Body"])
                # The JSON body as written: the text after its member's colon (the last member).
                body = m["Body"][m["Body"].index(JSON_BODY_MEMBER) + len(JSON_BODY_MEMBER) : -1]
                dynamodb.put_item(
                    TableName=self.events_table,
                    Item={
                        "event_id": {"S": envelope["event_id"]},
                        "source": {"S": envelope["source"]},
                        "body": {"B": body.encode()},
                    },
                    ConditionExpression="attribute_not_exists(event_id)",
                )
            return messages

        return self.pipeline(
            n, produce, process_batch, sqs, self.main_queue, float(self.args.batching_window), self.args.pipeline_timeout
        )

    def verify_stored(self, event_ids: list[str]) -> int:
        """How many of event_ids are in the events table (BatchGetItem, not timed)."""
        found = 0
        for start in range(0, len(event_ids), 100):
            keys = [{"event_id": {"S": e}} for e in event_ids[start : start + 100]]
            request = {self.events_table: {"Keys": keys, "ProjectionExpression": "event_id"}}
            while request:
                reply = self.dynamodb.batch_get_item(RequestItems=request)
                found += len(reply["Responses"].get(self.events_table, []))
                request = reply.get("UnprocessedKeys") or None
        return found

    def throughput(self) -> dict:
        n = self.args.e2e_webhooks
        self.provision(reset=True)
        ingest, processor = self.spawn("ingest"), self.spawn("processor")
        try:
            self.apis["ingest"].reset()
            self.apis["processor"].reset()
            hookline = self.hookline_pipeline(n, self.sqs, ingest, processor, "e2e")
        finally:
            self.processes.stop(ingest)
            self.processes.stop(processor)
        stored = self.verify_stored(hookline.pop("event_ids"))
        if stored != n:
            raise BenchError(f"end to end: {stored} of {n} events in the events table")
        self.purge(self.main_queue)
        raw = self.raw_pipeline(n)
        return {"hookline": hookline, "raw": raw, "ratio": hookline["per_second"] / raw["per_second"]}

    def processor_with_fault_injection(self) -> Path:
        """The processor built with its `fault-injection` feature, which the deployed build
        (target/lambda) leaves out: the poison webhooks below need its payload markers. The
        same release profile; only the processor crate differs, so it builds in a minute."""
        log("building the processor with fault injection for the request counts (cargo build --release)")
        subprocess.run(
            ["cargo", "build", "--release", "--locked", "-p", "hookline-processor", "--features", "fault-injection",
             "--bin", "processor"],
            cwd=ROOT,
            check=True,
        )
        return ROOT / "target" / "release" / "processor"

    def request_counts(self) -> dict:
        """Every AWS request per processed message, counted at the proxy."""
        assert self.proxy is not None
        n, m = self.args.count_webhooks, self.args.poison_webhooks
        self.provision(reset=True)
        self.proxy.take()
        extra = {"HOOKLINE_FAULT_INJECTION": "payload_markers"}  # only for the poison webhooks below
        for name in ("ingest", "processor"):
            self.apis[name].reset()
        ingest = self.spawn("ingest", self.proxy_endpoint)
        processor = self.spawn("processor", self.proxy_endpoint, extra, self.processor_with_fault_injection())
        reprocess = None
        try:
            for name in ("ingest", "processor"):
                deadline = time.monotonic() + 30
                while self.apis[name].first_next_at is None:
                    if time.monotonic() > deadline:
                        raise BenchError(f"{name} did not finish its init")
                    time.sleep(0.01)
            init, _ = self.proxy.take()
            self.proxy.take_failures()
            logs = {f: self.run_dir / f"{f}.log" for f in ("ingest", "processor")}
            log_sizes = {f: p.stat().st_size for f, p in logs.items()}
            happy = self.hookline_pipeline(n, self.counted_sqs, ingest, processor, "count")
            happy_counts, put_sizes = self.proxy.take()
            log_bytes = {f: (p.stat().st_size - log_sizes[f]) / n for f, p in logs.items()}
            happy_failures = self.proxy.take_failures()
            stored = self.verify_stored(happy.pop("event_ids"))
            if stored != n:
                raise BenchError(f"request count run: {stored} of {n} events stored")

            poison = self.hookline_pipeline(m, self.counted_sqs, ingest, processor, "poison", poison=True)
            poison.pop("event_ids")
            self.apis["reprocess"].reset()
            reprocess = self.spawn("reprocess", self.proxy_endpoint)
            dlq_arn = f"arn:aws:sqs:us-east-1:123456789012:{self.dlq.rsplit('/', 1)[-1]}"
            deadline = time.monotonic() + self.args.pipeline_timeout
            dead_letter_stats = Counter()
            while True:
                parked = int(
                    self.sqs.get_queue_attributes(QueueUrl=self.parking, AttributeNames=["ApproximateNumberOfMessages"])[
                        "Attributes"
                    ]["ApproximateNumberOfMessages"]
                )
                if parked >= m:
                    break
                if time.monotonic() > deadline:
                    raise BenchError(f"only {parked} of {m} poison webhooks reached the parking queue")
                messages, receives = self.receive_window(self.counted_sqs, self.dlq, 0)
                dead_letter_stats["receives"] += receives
                if not messages:
                    continue
                dead_letter_stats["invocations"] += 1
                invocation = self.apis["reprocess"].invoke(sqs_event(messages, dlq_arn, "us-east-1"), reprocess)
                acked = acknowledged(messages, invocation.json() if invocation.kind == "response" else None, True)
                if acked:
                    self.counted_sqs.delete_message_batch(
                        QueueUrl=self.dlq,
                        Entries=[{"Id": str(i), "ReceiptHandle": x["ReceiptHandle"]} for i, x in enumerate(acked)],
                    )
            poison_counts, _ = self.proxy.take()
            poison_failures = self.proxy.take_failures()
        finally:
            for process in (ingest, processor, reprocess):
                if process is not None:
                    self.processes.stop(process)
        self.purge(self.main_queue, self.dlq, self.parking)
        return {
            "webhooks": n,
            "poison_webhooks": m,
            "init": init,
            "happy": happy_counts,
            "happy_emulator_5xx": happy_failures,
            "log_bytes_per_webhook": log_bytes,
            "poison_emulator_5xx": poison_failures,
            "happy_pipeline": happy,
            "poison": poison_counts,
            "poison_pipeline": poison,
            "dead_letter_polling": dict(dead_letter_stats),
            "events_item_bytes": median([float(s) for s in put_sizes]) if put_sizes else None,
        }

    # ---- the run -----------------------------------------------------------------------

    def run(self) -> None:
        started = time.perf_counter()
        self.start()
        self.results["memory_mb"] = self.memory

        only = self.args.only
        if "a" in only:
            log(f"a. cold starts: {self.args.cold_reps} spawns of each function (+1 warm-up), Rust and Python")
            cold, batch_of_3 = {}, {}
            for name in FUNCTIONS:
                for variant in (name, "py-" + name):
                    cold[variant] = self.cold_start(variant)
                    log(f"   {variant}: median {cold[variant]['median_ms']:.1f} ms")
            # The same with a batch of 3 records, for the detail lines: moto serves one DynamoDB
            # request at a time, so this measures mostly the emulator's queue (see docs).
            for name in FUNCTIONS[1:]:
                for variant in (name, "py-" + name):
                    batch_of_3[variant] = self.cold_start(variant, records=3, reps=COLD_BATCH_OF_3_REPS)
                    log(f"   {variant}, batch of 3: median {batch_of_3[variant]['median_ms']:.1f} ms")
            self.results["cold_start"] = cold
            self.results["cold_start_batch_of_3"] = batch_of_3
        if "b" in only:
            self.run_load()
        if "c" in only:
            log("c. binary sizes")
            self.results["binaries"] = self.binary_sizes()
        if "d" in only:
            log(
                f"d. end to end: {self.args.e2e_webhooks} webhooks through ingest -> SQS -> processor -> DynamoDB, "
                "then the raw boto3 loop"
            )
            self.results["throughput"] = self.throughput()
            t = self.results["throughput"]
            log(f"   hookline {t['hookline']['per_second']:.1f}/s, raw {t['raw']['per_second']:.1f}/s")
        if "e" in only:
            log(
                f"e. request counts: {self.args.count_webhooks} webhooks and {self.args.poison_webhooks} poison ones "
                "through the counting proxy"
            )
            self.results["requests"] = self.request_counts()
        self.results["seconds"] = time.perf_counter() - started

    def run_load(self) -> None:
        log(
            f"b. sustained load: {self.args.load_events} webhooks for ingest, {self.args.sqs_load_events} for "
            f"processor and reprocess, {self.args.py_load_events} per Python handler"
        )
        loads = {}
        for name in FUNCTIONS:
            # moto's TransactWriteItems copies every table (cost grows with the table) and its
            # DynamoDB slows down under load: the SQS-triggered functions get fewer webhooks.
            events = self.args.load_events if name == "ingest" else self.args.sqs_load_events
            loads[name] = self.load(name, events)
            log(f"   {name}: peak RSS {loads[name]['peak_rss_mb']:.1f} MiB, {loads[name]['events'] / loads[name]['seconds']:.0f} webhooks/s")
            if name == "ingest":
                loads["ingest-large"] = self.load("ingest", self.args.large_load_events, large=True)
                log(f"   ingest, {MAX_BODY_BYTES // 1024} KiB and 1 MiB bodies: peak RSS {loads['ingest-large']['peak_rss_mb']:.1f} MiB")
            if self.args.py_load_events:
                loads["py-" + name] = self.load("py-" + name, self.args.py_load_events)
                log(f"   py-{name}: peak RSS {loads['py-' + name]['peak_rss_mb']:.1f} MiB")
        self.results["load"] = loads

    # ---- reporting ---------------------------------------------------------------------

    @staticmethod
    def per_message(counts: Counter, n: int, caller: str | None = None) -> dict[str, float]:
        """Requests per message by 'Service Operation (resource)', summed over callers."""
        out: Counter = Counter()
        for (who, service, operation, resource), count in counts.items():
            if caller and who != caller:
                continue
            out[f"{service} {operation} ({resource.removeprefix('hookline-bench-')})"] += count
        return {k: v / n for k, v in sorted(out.items())}

    @staticmethod
    def requests_by_service(counts: Counter) -> Counter:
        out: Counter = Counter()
        for (_who, service, _operation, _resource), count in counts.items():
            out[service] += count
        return out

    def table(self) -> list[Row]:
        r = self.results
        rows: list[Row] = []
        for name in FUNCTIONS if "cold_start" in r else ():
            rust, py = r["cold_start"][name], r["cold_start"]["py-" + name]
            ratio = py["median_ms"] / rust["median_ms"]
            ok = rust["median_ms"] <= COLD_START_TARGET_MS and ratio >= COLD_START_RATIO_TARGET
            rows.append(
                Row(
                    f"a. cold start {name} (median of {self.args.cold_reps})",
                    f"{rust['median_ms']:.1f} ms",
                    f"py {py['median_ms']:.0f} ms",
                    f"{ratio:.0f}x faster",
                    f"<= {COLD_START_TARGET_MS:.0f} ms, >= {COLD_START_RATIO_TARGET:.0f}x",
                    "PASS" if ok else "MISS",
                )
            )
        for name in [*FUNCTIONS, "ingest-large"] if "load" in r else ():
            load = r["load"][name]
            py = r["load"].get("py-" + name)
            rows.append(
                Row(
                    f"b. peak RSS {name} ({load['events']} webhooks{', 720 KiB and 1 MiB bodies' if name == 'ingest-large' else ''})",
                    f"{load['peak_rss_mb']:.1f} MiB",
                    f"py {py['peak_rss_mb']:.0f} MiB" if py else "-",
                    f"{py['peak_rss_mb'] / load['peak_rss_mb']:.1f}x less" if py else "-",
                    f"<= {PEAK_RSS_TARGET_MB:.0f} MiB",
                    "PASS" if load["peak_rss_mb"] <= PEAK_RSS_TARGET_MB else "MISS",
                )
            )
        for name, info in r.get("binaries", {}).items():
            size = info["bytes"] / MB
            rows.append(
                Row(
                    f"c. binary {name} ({info['arch']}{', stripped' if info['stripped'] else ', NOT stripped'})",
                    f"{size:.2f} MiB",
                    f"zip {info['zip_bytes'] / MB:.2f} MiB" if info["zip_bytes"] else "-",
                    "-",
                    f"<= {BINARY_SIZE_TARGET_MB:.0f} MiB",
                    "PASS" if size <= BINARY_SIZE_TARGET_MB and info["stripped"] else "MISS",
                )
            )
        if "throughput" in r:
            rows.append(self.throughput_row(r["throughput"]))
        if "requests" in r:
            rows.extend(self.request_rows(r["requests"]))
        return rows

    def throughput_row(self, t: dict) -> Row:
        return Row(
            f"d. end to end webhooks/s ({t['hookline']['n']})",
            f"{t['hookline']['per_second']:.1f}/s",
            f"raw boto3 {t['raw']['per_second']:.1f}/s",
            f"{t['ratio']:.2f} of ceiling",
            "report",
            "info",
        )

    def request_rows(self, q: dict) -> list[Row]:
        rows = []
        n, m = q["webhooks"], q["poison_webhooks"]
        happy = self.requests_by_service(q["happy"])
        retried = self.requests_by_service(q["happy_emulator_5xx"])
        # An emulator 500 (moto's TransactWriteItems is not thread-safe) makes the SDK retry:
        # those retries are counted but not held against the code.
        dynamo_per = (happy["DynamoDB"] - retried["DynamoDB"]) / n
        sqs_per = (happy["SQS"] - retried["SQS"]) / n
        rows.append(
            Row(
                f"e. DynamoDB requests / webhook ({n})",
                f"{dynamo_per:.2f}",
                f"+{retried['DynamoDB'] / n:.2f} retries of emulator 5xx" if retried["DynamoDB"] else "-",
                "-",
                f"<= {DYNAMODB_PER_MESSAGE_TARGET:.0f}",
                "PASS" if dynamo_per <= DYNAMODB_PER_MESSAGE_TARGET + 1e-9 else "MISS",
            )
        )
        rows.append(Row(f"e. SQS requests / webhook ({n})", f"{sqs_per:.2f}", "-", "-", "report", "info"))
        poison = self.requests_by_service(q["poison"])
        poison_dynamo, poison_sqs = poison["DynamoDB"] / m, poison["SQS"] / m
        rows.append(
            Row(
                f"e. poison webhook: DynamoDB / SQS requests ({m})",
                f"{poison_dynamo:.2f} / {poison_sqs:.2f}",
                "-",
                "-",
                "<= 6 / <= 6",
                "PASS" if poison_dynamo <= 6 and poison_sqs <= 6 else "MISS",
            )
        )
        return rows

    def print_report(self) -> None:
        rows = self.table()
        headers = ("row", "measured", "compared with", "ratio", "target", "result")
        cells = [headers] + [(r.name, r.measured, r.compared, r.ratio, r.target, r.result) for r in rows]
        widths = [max(len(c[i]) for c in cells) for i in range(len(headers))]
        print()
        print(f"== process-level benchmarks: one run, {self.results['seconds']:.0f} s")
        for i, c in enumerate(cells):
            print("  ".join(text.ljust(widths[j]) for j, text in enumerate(c)).rstrip())
            if i == 0:
                print("  ".join("-" * w for w in widths))
        self.print_details()
        self.failed = self.failed or any(r.result == "MISS" for r in rows) and self.args.strict

    def print_details(self) -> None:
        r = self.results
        print()
        if "cold_start" in r:
            print(
                "cold start detail (ms; first event: one webhook for ingest, an SQS batch of 1 record for the "
                "others; init = spawn to the first GET /next; waiting for the emulator = time with a request at "
                "moto; own = median minus that):"
            )
            for name, c in r["cold_start"].items():
                print(f"  {name:<13} {cold_start_detail(c)}")
            batch_of_3 = r.get("cold_start_batch_of_3") or {}
            if batch_of_3:
                print(
                    f"the same with an SQS batch of 3 records (median of {COLD_BATCH_OF_3_REPS}; "
                    "moto serves one DynamoDB request at a time):"
                )
            for name, c in batch_of_3.items():
                print(f"  {name:<13} {cold_start_detail(c)}")
        if "load" in r:
            print("load detail:")
            for name, load in r["load"].items():
                print(
                    f"  {name:<13} {load['events']:5d} webhooks in {load['invocations']:4d} invocations, "
                    f"{load['seconds']:.1f} s ({load['events'] / load['seconds']:.0f}/s), "
                    f"peak RSS {load['peak_rss_mb']:.1f} MiB"
                    + (f", {load['failed_records']} records failed by the emulator" if load.get("failed_records") else "")
                )
        if "throughput" in r:
            t = r["throughput"]
            for label in ("hookline", "raw"):
                x = t[label]
                print(
                    f"end to end {label:<8}: {x['n']} in {x['seconds']:.1f} s = {x['per_second']:.1f}/s; "
                    f"{x.get('batches', 0)} batches (mean {x.get('records', 0) / max(1, x.get('batches', 1)):.1f} records), "
                    f"{x.get('receives', 0)} receives"
                )
        if "requests" in r:
            q = r["requests"]
            n, m = q["webhooks"], q["poison_webhooks"]
            print(
                f"requests per webhook ({n} webhooks, counted at the proxy; functions = the Rust binaries, "
                "harness = this script's SQS poller, as Lambda's event source mapping):"
            )
            for caller in ("functions", "harness"):
                for key, value in self.per_message(q["happy"], n, caller).items():
                    print(f"  {caller:<9} {key:<66} {value:6.3f}")
            for label in ("happy_emulator_5xx", "poison_emulator_5xx"):
                for (_who, service, operation, resource), count in q[label].items():
                    print(
                        f"  (the emulator answered 500 {count}x to {service} {operation} ({resource}) in the "
                        f"{label.split('_')[0]} run; the SDK retried each, and the retries are counted above)"
                    )
            print(
                f"requests per poison webhook ({m}; the processor dead-letters it, reprocess records and parks it "
                "at its first look and reports it again at its second, the DLQ's redrive policy moves it at the next receive):"
            )
            for caller in ("functions", "harness"):
                for key, value in self.per_message(q["poison"], m, caller).items():
                    print(f"  {caller:<9} {key:<66} {value:6.3f}")
            print("requests at the cold start of ingest and processor (once per execution environment):")
            for key, value in self.per_message(q["init"], 1).items():
                print(f"  {key:<76} {value:6.0f}")
            print(
                "log bytes per webhook written by the functions (CloudWatch Logs ingestion; Lambda adds its "
                f"START/END/REPORT lines): {q['log_bytes_per_webhook']}"
            )
            if q.get("events_item_bytes"):
                print(f"events table item size (median, by DynamoDB's size rules): {q['events_item_bytes']:.0f} bytes")
            p = q["happy_pipeline"]
            print(f"poller batches: {p.get('batches', 0)} for {n} webhooks (mean {n / max(1, p.get('batches', 1)):.1f})")
        print(f"configured memory (template.yaml, MB): {r['memory_mb']}")

    def write_json(self, path: Path) -> None:
        def plain(value):
            if isinstance(value, Counter):
                return {" | ".join(k): v for k, v in value.items()}
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        path.write_text(json.dumps(plain(self.results), indent=2) + "\n")
        log(f"results written to {path}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    env = os.environ.get
    p.add_argument("--cold-reps", type=int, default=int(env("BENCH_COLD_REPS", "10")))
    p.add_argument("--load-events", type=int, default=int(env("BENCH_LOAD_EVENTS", "2000")))
    p.add_argument("--sqs-load-events", type=int, default=int(env("BENCH_SQS_LOAD_EVENTS", "500")),
                   help="webhooks for processor and reprocess in part b (batches of 10)")
    p.add_argument("--large-load-events", type=int, default=int(env("BENCH_LARGE_LOAD_EVENTS", "100")),
                   help="ingest webhooks with the largest accepted body and 1 MiB, in turn")
    p.add_argument("--py-load-events", type=int, default=int(env("BENCH_PY_LOAD_EVENTS", "200")))
    p.add_argument("--e2e-webhooks", type=int, default=int(env("BENCH_E2E_WEBHOOKS", "300")))
    p.add_argument("--count-webhooks", type=int, default=int(env("BENCH_COUNT_WEBHOOKS", "200")))
    p.add_argument("--poison-webhooks", type=int, default=int(env("BENCH_POISON_WEBHOOKS", "10")))
    p.add_argument("--batching-window", type=float, default=1.0, help="the poller's batching window (s), as in template.yaml")
    p.add_argument("--pipeline-timeout", type=float, default=180.0)
    p.add_argument("--moto-port", type=int, default=int(env("BENCH_MOTO_PORT", "4590")))
    p.add_argument("--proxy-port", type=int, default=int(env("BENCH_PROXY_PORT", "4591")))
    p.add_argument("--api-port", type=int, default=int(env("BENCH_API_PORT", "4592")), help="first of six runtime API ports")
    p.add_argument("--only", default=env("BENCH_ONLY", "abcde"), help="the parts to run, e.g. 'ac' (default: abcde)")
    p.add_argument("--build", action="store_true", help="run infra/local/build.sh even if the binaries exist")
    p.add_argument("--json", type=Path, help="also write every measurement to this JSON file")
    p.add_argument("--keep-run-dir", action="store_true", help="keep the moto log, env file and function logs")
    p.add_argument("--strict", action="store_true", default=env("BENCH_STRICT") == "1", help="exit 1 when a row misses its target")
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    bench = Bench(args)

    def terminate(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    try:
        bench.run()
        bench.print_report()
        if args.json:
            bench.write_json(args.json)
    except (BenchError, subprocess.CalledProcessError) as error:
        log(f"error: {error}")
        return 1
    finally:
        bench.stop()
    return 1 if bench.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
