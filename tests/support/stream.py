"""The customers table's stream, fed to the consumer as Lambda would: in the tests' own process.

Unit tests (moto models streams) and integration tests (DynamoDB Local) use the
local stack's poller itself, one poll at a time, so what they see is what
`make run` and the deployed stage do.
"""

from __future__ import annotations

import time
from typing import Any

import app
from chalicelib import wiring
from chalicelib.config import get_settings
from scripts.local.stream_poller import StreamPoller, streams_client

SETTLE_SECONDS = 0.06  # a little over the tests' EVENTS_SETTLE_SECONDS

_pollers: dict[str, StreamPoller] = {}


def stream_arn() -> str:
    settings = get_settings()
    table = wiring.dynamodb_client().describe_table(TableName=settings.customers_table)["Table"]
    return str(table["LatestStreamArn"])


def poller(*, fresh: bool = False, **options: Any) -> StreamPoller:
    """The poller of the current tables' stream (one per stream, so it resumes where it stopped)."""
    arn = stream_arn()
    if fresh or arn not in _pollers or options:
        settings = get_settings()
        _pollers[arn] = StreamPoller(
            streams_client(settings.dynamodb_endpoint_url, settings.aws_region),
            arn,
            lambda event: app.record_changes(event),
            region=settings.aws_region,
            **options,
        )
    return _pollers[arn]


def deliver_changes() -> int:
    """Hand every change so far to the consumer and wait out the feed's settle window; the records handed."""
    handled = poller().poll_once()
    time.sleep(SETTLE_SECONDS)
    return handled
