"""Each request's age, so a chain of DynamoDB calls gives up with a 503 before Lambda times out.

One DynamoDB call is bounded by botocore's attempts and timeouts; a request may
make several in a row (read, conditional write, retries after a conflict). The
repository refuses to start another call once the request is older than its
budget, so the client gets the 503 envelope rather than API Gateway's bare 504.
A context variable keeps requests apart under `chalice local`, which serves
each request in its own thread.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

_started: ContextVar[float | None] = ContextVar("request_started", default=None)


def start_request() -> None:
    _started.set(time.monotonic())


def request_age() -> float:
    """Seconds since this request started; 0 outside a request (scripts, table setup)."""
    started = _started.get()
    return 0.0 if started is None else time.monotonic() - started
