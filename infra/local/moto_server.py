"""moto's server, with DynamoDB requests made atomic the way DynamoDB's are.

moto serves requests on many threads and its DynamoDB backend takes no lock: a
TransactWriteItems snapshots whole tables, writes, and on a cancelled condition puts the
snapshot back, so concurrent writes can be lost or half-applied (seen in the chaos run: a
transaction reported cancelled whose writes stayed, and a COMPLETED marker written without
the event item of the same transaction). DynamoDB itself never does that: every request,
and every transaction, is atomic. This runs moto's own server with one lock around each
DynamoDB request; everything else (SQS long polls included) stays concurrent.

    python moto_server.py -H 127.0.0.1 -p 4566     (the same options as moto_server)
"""

from __future__ import annotations

import sys
import threading

import moto.server as server

_dynamodb = threading.Lock()
_dispatch = server.DomainDispatcherApplication.__call__


def _call(self, environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with _dynamodb:
            # The backend works while the response is produced: consume it under the lock.
            return list(_dispatch(self, environ, start_response))
    return _dispatch(self, environ, start_response)


server.DomainDispatcherApplication.__call__ = _call

if __name__ == "__main__":
    sys.exit(server.main())
