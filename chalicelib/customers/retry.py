"""The one retry loop for contention, with one attempt budget.

Three kinds of retry exist, and they do not multiply:

* botocore retries a single call on throttling, 5xx and lost connections
  (``DYNAMODB_MAX_ATTEMPTS``, 3 by default, with its own backoff);
* this loop repeats a whole use-case step (read, then conditional write) when the
  write lost a race: the version moved (:class:`WriteConflict`) or another
  transaction held an item (:class:`StoreBusy`), neither of which botocore retries;
* nothing else retries. Storage never loops on its own.

So one write makes at most ``CONFLICT_ATTEMPTS`` attempts of a few calls each, and
the request's time budget (``chalicelib/deadline.py``) stops it sooner if needed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from chalicelib.customers.errors import StoreBusy, WriteConflict
from chalicelib.observability import logger

T = TypeVar("T")
# Five attempts resolve any realistic contention on one customer; more would only
# hold the client longer before it hears 409 (or 503 for a busy store).
CONFLICT_ATTEMPTS = 5


def retry_on_conflict(step: Callable[[], T], attempts: int = CONFLICT_ATTEMPTS) -> T:
    """Run ``step`` until it neither conflicts nor finds the store busy; the last failure propagates."""
    for attempt in range(1, attempts + 1):
        try:
            return step()
        except StoreBusy:
            if attempt == attempts:
                logger.warning("DynamoDB transaction contention outlasted the retries", extra={"attempts": attempts})
                raise
            # Another transaction is finishing: give it a few milliseconds, jittered.
            time.sleep(random.uniform(0.005, 0.02) * attempt)  # noqa: S311 - jitter, not crypto
        except WriteConflict:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")
