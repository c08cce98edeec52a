"""moto's server, with DynamoDB requests made atomic the way DynamoDB's are.

moto serves requests on many threads and its DynamoDB backend takes no lock: a
TransactWriteItems snapshots whole tables, writes, and on a cancelled condition puts the
snapshot back, so concurrent writes can be lost or half-applied (seen in the chaos run: a
transaction reported cancelled whose writes stayed, and a COMPLETED marker written without
the event item of the same transaction). DynamoDB itself never does that: every request,
and every transaction, is atomic. This runs moto's own server with one lock around each
DynamoDB request; everything else (SQS long polls included) stays concurrent.

moto's TransactWriteItems also deep-copies every table it touches, on every call, to roll
back a cancelled transaction: its cost and its garbage grow with the table (the full chaos
run slowed to a crawl and moto reached 24 GB). Here a transaction snapshots only the items
it touches, and a cancelled one puts exactly those back.

Its slowest Python paths (UpdateExpression parsing and validation, backend lookup) are made
cheap by moto_fast_paths, imported below; moto_iam makes its IAM authorization check the
resources AWS checks, and `POST /_hookline/iam` (body `on` or `off`) switches it on and off;
moto_move_tasks adds SQS message move tasks and RedriveAllowPolicy.

EventBridge PutEvents can be made to fail the two ways AWS documents, so a test can prove that
the processor retries exactly what failed (moto itself never fails a well-formed entry):
- an entry failure: "If an individual entry within a request fails, EventBridge continues
  processing the rest of the entries in the request"; the answer is HTTP 200 with
  `FailedEntryCount` (the number of failed entries) and, in `Entries`, in the order of the
  request, `ErrorCode` and `ErrorMessage` in place of the failed entry's `EventId`; the
  retryable codes are `InternalFailure` and `ThrottlingException`
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html,
  https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html).
  A failed entry reaches no rule's target; the other entries are moto's put_events, their
  results merged back into their positions (moto's own failures, e.g. a missing Source, count
  in FailedEntryCount too);
- a request failure: the whole call refused with a JSON 1.1 error, by default HTTP 400
  `{"__type": "ThrottlingException", "message": "Rate exceeded"}` and its `x-amzn-ErrorType`
  header (https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html); nothing
  is put.
`POST /_hookline/eventbridge-faults` with a JSON fault script replaces the script and zeroes its
counters (an empty body or `{}` clears it; an invalid script is a 400 and changes nothing);
`GET` answers the script (defaults filled in), each rule's `remaining`, and the counts of the
failures it caused, `entries_failed` and `requests_failed`. moto's reset clears it. The script:

    {"entries":  [{"detail_contains": "evt_1", "error_code": "ThrottlingException",
                   "error_message": "Rate exceeded", "times": 1}],
     "requests": [{"detail_contains": "evt_2", "error_code": "ThrottlingException",
                   "error_message": "Rate exceeded", "status": 400, "times": 2}]}

Every field is optional: `detail_contains` (absent: every entry, or every request) matches an
entry whose `Detail` text contains it (a request having such an entry); `error_code` defaults to
`InternalFailure` for an entry and `ThrottlingException` for a request, `error_message` to the
code's usual message, `status` (400-599) to 400, `times` (a positive count) to 1. A rule fails at
most `times` matching entries (requests), then is spent; an entry is failed by the first unspent
rule matching it. The request rules are tried first: a failed request consumes no entry rule.
Faults apply only to a request moto would accept as a whole (1-10 entries) and after the IAM
check (moto_iam): a denied request stays a 403 and consumes nothing.

    python moto_server.py -H 127.0.0.1 -p 4566     (the same options as moto_server)
"""

from __future__ import annotations

import copy
import json
import sys
import threading
import types
from typing import Any

import moto.dynamodb.models as dynamodb_models
import moto.server as server
from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.events.responses import EventsHandler

import moto_fast_paths  # noqa: F401  (patches moto on import)
import moto_iam  # authorization against the resources AWS checks (patches moto on import)
import moto_move_tasks  # SQS message move tasks and RedriveAllowPolicy (patches moto on import)

_dynamodb = threading.Lock()
_dispatch = server.DomainDispatcherApplication.__call__

ENTRY_RULE_FIELDS = {"detail_contains", "error_code", "error_message", "times"}
REQUEST_RULE_FIELDS = ENTRY_RULE_FIELDS | {"status"}
DEFAULT_MESSAGES = {"ThrottlingException": "Rate exceeded", "InternalFailure": "Internal failure"}
MAX_ENTRIES = 10  # PutEvents' limit: moto refuses a longer request as a whole


class EventBridgeFaultScript(ValueError):
    """A fault script `EventBridgeFaults.replace` refuses."""


def _rule(raw: Any, where: str, fields: set[str], default_code: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise EventBridgeFaultScript(f"{where}: a rule is a JSON object")
    unknown = set(raw) - fields
    if unknown:
        raise EventBridgeFaultScript(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    rule = {
        "detail_contains": raw.get("detail_contains"),
        "error_code": raw.get("error_code", default_code),
        "times": raw.get("times", 1),
    }
    if rule["detail_contains"] is not None and not isinstance(rule["detail_contains"], str):
        raise EventBridgeFaultScript(f"{where}: detail_contains is a string")
    if not isinstance(rule["error_code"], str) or not rule["error_code"]:
        raise EventBridgeFaultScript(f"{where}: error_code is a non-empty string")
    rule["error_message"] = raw.get("error_message", DEFAULT_MESSAGES.get(rule["error_code"], rule["error_code"]))
    if not isinstance(rule["error_message"], str):
        raise EventBridgeFaultScript(f"{where}: error_message is a string")
    if type(rule["times"]) is not int or rule["times"] < 1:
        raise EventBridgeFaultScript(f"{where}: times is a positive whole number")
    if "status" in fields:
        rule["status"] = raw.get("status", 400)
        if type(rule["status"]) is not int or not 400 <= rule["status"] <= 599:
            raise EventBridgeFaultScript(f"{where}: status is an HTTP error status (400-599)")
    rule["remaining"] = rule["times"]
    return rule


class PutEventsRequestFailure(JsonRESTError):
    """A whole PutEvents refused, as AWS's JSON 1.1 protocol answers it."""

    def __init__(self, rule: dict[str, Any]):
        super().__init__(rule["error_code"], rule["error_message"])
        self.code = rule["status"]
        self.content_type = "application/x-amz-json-1.1"


class EventBridgeFaults:
    """The PutEvents fault script (see the module's docstring), shared by moto's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.replace({})

    def replace(self, script: Any) -> None:
        """Replaces the script (validated whole first) and zeroes the counters."""
        if not isinstance(script, dict):
            raise EventBridgeFaultScript("the script is a JSON object")
        unknown = set(script) - {"entries", "requests"}
        if unknown:
            raise EventBridgeFaultScript(f"unknown field(s) {', '.join(sorted(unknown))}")
        rules = {}
        for kind, fields, default_code in (
            ("entries", ENTRY_RULE_FIELDS, "InternalFailure"),
            ("requests", REQUEST_RULE_FIELDS, "ThrottlingException"),
        ):
            raw = script.get(kind) or []
            if not isinstance(raw, list):
                raise EventBridgeFaultScript(f"{kind} is a list of rules")
            rules[kind] = [_rule(r, f"{kind}[{i}]", fields, default_code) for i, r in enumerate(raw)]
        with self._lock:
            self._rules = rules
            self._counts = {"entries_failed": 0, "requests_failed": 0}

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {**copy.deepcopy(self._rules), **self._counts}

    def active(self) -> bool:
        with self._lock:
            return any(rule["remaining"] for rules in self._rules.values() for rule in rules)

    @staticmethod
    def _matches(rule: dict[str, Any], entry: Any) -> bool:
        wanted = rule["detail_contains"]
        if wanted is None:
            return True
        detail = entry.get("Detail") if isinstance(entry, dict) else None
        return isinstance(detail, str) and wanted in detail

    def take(self, entries: list[Any]) -> dict[int, dict[str, str]]:
        """Spends the rules this request meets: raises PutEventsRequestFailure for a failed
        request, else answers {position: result entry} for the entries failed."""
        with self._lock:
            for rule in self._rules["requests"]:
                if rule["remaining"] and any(self._matches(rule, entry) for entry in entries):
                    rule["remaining"] -= 1
                    self._counts["requests_failed"] += 1
                    raise PutEventsRequestFailure(rule)
            failed = {}
            for position, entry in enumerate(entries):
                for rule in self._rules["entries"]:
                    if rule["remaining"] and self._matches(rule, entry):
                        rule["remaining"] -= 1
                        failed[position] = {"ErrorCode": rule["error_code"], "ErrorMessage": rule["error_message"]}
                        break
            self._counts["entries_failed"] += len(failed)
            return failed


eventbridge_faults = EventBridgeFaults()
_put_events = EventsHandler.put_events


def _put_events_with_faults(self: EventsHandler) -> str:
    entries = self._get_param("Entries")
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_ENTRIES or not eventbridge_faults.active():
        return _put_events(self)  # moto's answer, its refusal of the whole request included
    results: list[Any] = [None] * len(entries)
    results_of_failed = eventbridge_faults.take(entries)  # may raise: the whole request fails
    for position, result in results_of_failed.items():
        results[position] = result
    delivered = [position for position in range(len(entries)) if position not in results_of_failed]
    if delivered:
        for position, result in zip(delivered, self.events_backend.put_events([entries[p] for p in delivered])):
            results[position] = result
    return json.dumps({"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results})


EventsHandler.put_events = _put_events_with_faults


def _eventbridge_faults_hook(environ, start_response) -> list[bytes]:
    if environ.get("REQUEST_METHOD") == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        text = environ["wsgi.input"].read(length).strip()
        try:
            eventbridge_faults.replace(json.loads(text) if text else {})
        except (ValueError, UnicodeDecodeError) as error:  # EventBridgeFaultScript, or not JSON
            start_response("400 Bad Request", [("content-type", "text/plain")])
            return [f"invalid EventBridge fault script: {error}".encode()]
    start_response("200 OK", [("content-type", "application/json")])
    return [json.dumps(eventbridge_faults.state()).encode()]


def _call(self, environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/_hookline/eventbridge-faults":
        return _eventbridge_faults_hook(environ, start_response)
    if path == "/_hookline/iam":
        # The local stack's switch for IAM enforcement (moto_iam.py): provision.py turns it
        # off while it creates resources and on when the stack is ready.
        if environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            moto_iam.enforce(environ["wsgi.input"].read(length).strip() == b"on")
        start_response("200 OK", [("content-type", "text/plain")])
        return [b"on" if moto_iam.enforced() else b"off"]
    if path.startswith("/moto-api/reset"):
        moto_iam.enforce(False)  # a reset stack has no roles to enforce
        moto_move_tasks.reset()
        eventbridge_faults.reset()
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with _dynamodb:
            # The backend works while the response is produced: consume it under the lock.
            return list(_dispatch(self, environ, start_response))
    return _dispatch(self, environ, start_response)


server.DomainDispatcherApplication.__call__ = _call


def _deepcopy_except_tables(value, memo=None):
    # moto's transaction "backs up" a table with deepcopy and "restores" it by assigning the
    # copy back; handing it the table itself makes both no-ops, and _transact_write_items
    # rolls back the touched items instead.
    if isinstance(value, Table):
        return value
    return copy.deepcopy(value, memo)


dynamodb_models.copy = types.SimpleNamespace(deepcopy=_deepcopy_except_tables)
_transact_write = dynamodb_models.DynamoDBBackend.transact_write_items


def _touched_items(backend, transact_items):
    """(table, hash, range, deep copy of the item or None) for every item a transaction names."""
    touched = []
    for entry in transact_items:
        if len(entry) != 1:
            continue  # moto rejects it before writing anything
        op_type, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName"))
        if table is None:
            continue
        key = op.get("Item") if op_type == "Put" else op.get("Key")
        try:
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = (
                DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            )
        except (KeyError, TypeError):
            continue  # moto rejects a malformed key before writing it
        current = table.items.get(hash_value)
        if range_value is not None:
            current = (current or {}).get(range_value)
        touched.append((table, hash_value, range_value, copy.deepcopy(current)))
    return touched


def _restore(touched):
    # Reversed, so an item named twice ends at its state before the first write.
    for table, hash_value, range_value, before in reversed(touched):
        if range_value is None:
            if before is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = before
        else:
            ranges = table.items[hash_value]
            if before is None:
                ranges.pop(range_value, None)
                if not ranges:
                    del table.items[hash_value]
            else:
                ranges[range_value] = before


def _transact_write_items(self, transact_items):
    touched = _touched_items(self, transact_items)
    try:
        return _transact_write(self, transact_items)
    except Exception:
        _restore(touched)
        raise


dynamodb_models.DynamoDBBackend.transact_write_items = _transact_write_items

if __name__ == "__main__":
    sys.exit(server.main())
