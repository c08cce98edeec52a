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

    python moto_server.py -H 127.0.0.1 -p 4566     (the same options as moto_server)
"""

from __future__ import annotations

import copy
import sys
import threading
import types

import moto.dynamodb.models as dynamodb_models
import moto.server as server
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

import moto_fast_paths  # noqa: F401  (patches moto on import)
import moto_iam  # authorization against the resources AWS checks (patches moto on import)
import moto_move_tasks  # SQS message move tasks and RedriveAllowPolicy (patches moto on import)

_dynamodb = threading.Lock()
_dispatch = server.DomainDispatcherApplication.__call__


def _call(self, environ, start_response):
    path = environ.get("PATH_INFO", "")
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
