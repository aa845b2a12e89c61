"""Each request's deadline, so a chain of DynamoDB calls gives up with a 503 before Lambda times out.

One DynamoDB call is bounded by botocore's attempts and timeouts; a request may
make several in a row (read, conditional write, retries after a conflict).
Storage refuses to start another call once the deadline has passed, so the
client gets the 503 envelope rather than API Gateway's bare 504.

The deadline is what Lambda says the invocation has left
(``context.get_remaining_time_in_millis()``, also under `chalice local`) minus
the longest one call can take; a fixed budget is used only where no context
says. A context variable keeps requests apart under `chalice local`, which
serves each request in its own thread.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

_deadline: ContextVar[float | None] = ContextVar("request_deadline", default=None)


@dataclass(frozen=True)
class Limits:
    fallback_seconds: float = 12.0  # the budget where no Lambda context says how long is left
    reserve_seconds: float = 10.0  # the longest one DynamoDB call can take


_limits = Limits()


def configure(limits: Limits) -> None:
    """Set from the settings by chalicelib/wiring.py when it builds the service."""
    global _limits
    _limits = limits


def start_request(lambda_context: Any) -> None:
    """Set this request's deadline from the Lambda context (or the fallback budget)."""
    remaining = getattr(lambda_context, "get_remaining_time_in_millis", None)
    limits = _limits
    budget = limits.fallback_seconds if remaining is None else max(0.0, remaining() / 1000 - limits.reserve_seconds)
    _deadline.set(time.monotonic() + budget)


def out_of_time() -> bool:
    """True once the request may not start another call; never outside a request (scripts, table setup)."""
    deadline = _deadline.get()
    return deadline is not None and time.monotonic() > deadline
