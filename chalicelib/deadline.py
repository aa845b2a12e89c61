"""Each request's deadline, so a chain of DynamoDB calls gives up with a 503 before Lambda times out.

One DynamoDB call is bounded by botocore's attempts and timeouts; a request may
make several in a row (read, conditional write, retries after a conflict).
Storage refuses to start another call once the deadline has passed, so the
client gets the 503 envelope rather than API Gateway's bare 504.

The deadline is what Lambda says the invocation has left
(``context.get_remaining_time_in_millis()``, also under `chalice local`), never
more than API Gateway's 29 s, minus the longest one call can take; a fixed
budget is used only where no context says. A context variable keeps requests apart under `chalice local`, which
serves each request in its own thread.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

# When the request started (monotonic) and how long Lambda said it had left, if it said.
_started: ContextVar[tuple[float, float | None] | None] = ContextVar("request_started", default=None)
# API Gateway answers 504 after 29 s whatever the function's timeout.
GATEWAY_SECONDS = 29.0


@dataclass(frozen=True)
class Limits:
    fallback_seconds: float = 12.0  # the budget where no Lambda context says how long is left
    reserve_seconds: float = 13.0  # the longest one DynamoDB call can take


_limits = Limits()


def configure(limits: Limits) -> None:
    """Set from the settings by chalicelib/wiring.py when it builds the service.

    The deadline is worked out when a call is about to start, not when the request
    starts, so the first request of a process (which builds the service) uses these too.
    """
    global _limits
    _limits = limits


def start_request(lambda_context: Any) -> None:
    remaining = getattr(lambda_context, "get_remaining_time_in_millis", None)
    _started.set((time.monotonic(), None if remaining is None else remaining() / 1000))


def end_request() -> None:
    """The request is answered: calls made afterwards in this thread (scripts, tests) have no deadline."""
    _started.set(None)


def out_of_time() -> bool:
    """True once the request may not start another call; never outside a request (scripts, table setup)."""
    started = _started.get()
    if started is None:
        return False
    at, remaining = started
    limits = _limits
    usable = limits.fallback_seconds + limits.reserve_seconds if remaining is None else min(remaining, GATEWAY_SECONDS)
    return time.monotonic() - at > usable - limits.reserve_seconds
