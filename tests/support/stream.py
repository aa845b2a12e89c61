"""The customers table's stream, fed to the consumer as Lambda would: in the tests' own process.

Unit tests (moto models streams) and integration tests (DynamoDB Local) use the
local stack's poller itself, one poll at a time, so what they see is what
`make run` and the deployed stage do.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3

import app
from chalicelib.config import get_settings
from scripts.local.stream_poller import StreamPoller, streams_client
from tests.support.api import Api, body
from tests.support.builders import follow_pages
from tests.support.store import scan

SETTLE_SECONDS = 0.06  # a little over the tests' EVENTS_SETTLE_SECONDS

_pollers: dict[str, StreamPoller] = {}


def stream_arn() -> str:
    """Found with a client of its own: Lambda knows the ARN, so the app's client never asks for it."""
    settings = get_settings()
    client = boto3.client("dynamodb", endpoint_url=settings.dynamodb_endpoint_url, region_name=settings.aws_region)
    table = client.describe_table(TableName=settings.customers_table)["Table"]
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


@dataclass
class Deliveries:
    """What a poller handed the consumer, batch by batch, and what the consumer answered each time."""

    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    answers: list[Mapping[str, Any]] = field(default_factory=list)

    def failures(self) -> list[list[str]]:
        """Per delivery, the sequence numbers the consumer asked to be retried (``batchItemFailures``)."""
        return [[str(f["itemIdentifier"]) for f in answer.get("batchItemFailures") or []] for answer in self.answers]


def watch(stream_poller: StreamPoller) -> Deliveries:
    """Record every batch ``stream_poller`` hands the consumer from now on, and its answer."""
    deliveries = Deliveries()
    handler = stream_poller.handler

    def recording(event: dict[str, Any]) -> Mapping[str, Any]:
        deliveries.batches.append(list(event["Records"]))
        answer = handler(event)
        deliveries.answers.append(answer)
        return answer

    stream_poller.handler = recording
    return deliveries


def history_items(customer_id: str | None = None) -> list[dict[str, Any]]:
    """The history table's raw items (the consumer's delivery bookkeeping left out), by customer and version."""
    items = [item for item in scan(get_settings().history_table) if not str(item["customer_id"]).startswith("#")]
    if customer_id is not None:
        items = [item for item in items if item["customer_id"] == customer_id]
    return sorted(items, key=lambda item: (str(item["customer_id"]), int(item["version"])))


def history_of(api: Api, customer_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """A customer's whole history through the API (newest first), every page followed."""
    return follow_pages(api, f"/customers/{customer_id}/history?limit={limit}", "history", limit)


def events_page(api: Api, query: str = "", after: str | None = None) -> dict[str, Any]:
    """One page of ``GET /events`` (``query`` without ``after``), asserted 200."""
    parameters = [part for part in (query, f"after={after}" if after else "") if part]
    response = api.get("/events" + ("?" + "&".join(parameters) if parameters else ""))
    assert response.status_code == 200, response.body
    page: dict[str, Any] = body(response)
    return page


def follow_events(api: Api, query: str = "", after: str | None = None) -> tuple[list[dict[str, Any]], str]:
    """Follow ``next_cursor`` until a page comes back empty ("nothing new yet"): the events seen, the cursor."""
    events: list[dict[str, Any]] = []
    for _ in range(1000):
        page = events_page(api, query, after)
        after = page["next_cursor"]
        assert isinstance(after, str)
        assert after
        if not page["events"]:
            return events, after
        events.extend(page["events"])
    raise AssertionError("the events walk did not end")
