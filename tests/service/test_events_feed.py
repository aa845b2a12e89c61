"""HistoryService.events: the change-event feed, oldest first, settled, filtered, and followed by its cursor."""

from __future__ import annotations

import random
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

import pytest

from chalicelib.customers.consumer import ChangeConsumer
from chalicelib.customers.errors import ValidationFailed
from chalicelib.customers.history import HistoryService
from chalicelib.customers.model import Customer, HistoryEntry
from chalicelib.customers.privacy import PrivacyService
from chalicelib.customers.service import CustomerService
from chalicelib.customers.tokens import encode_token
from tests.service.conftest import MAX_ATTEMPTS, SETTLE_SECONDS, TOKEN_SECRET
from tests.service.fake_history import InMemoryHistoryRepository
from tests.service.fake_outbound import RecordingParkingLot
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.fake_stream import StreamRecord
from tests.service.support import Delivery, FakeClock, new_customer

SETTLED = SETTLE_SECONDS + 1


def ids(events: list[HistoryEntry]) -> list[tuple[str, int]]:
    return [(event.customer_id, event.version) for event in events]


def follow(
    history_service: HistoryService,
    cursor: str | None,
    limit: int = 2,
    *,
    customer_id: str | None = None,
    kinds: Collection[str] | None = None,
) -> tuple[list[HistoryEntry], str]:
    """Every page from ``cursor`` until one comes back empty: what a poller sees now, and where it stands."""
    seen: list[HistoryEntry] = []
    for _ in range(200):
        page = history_service.events(cursor, limit, customer_id=customer_id, kinds=kinds)
        cursor = page.next_cursor
        if not page.events:
            return seen, cursor
        seen += page.events
    raise AssertionError("the feed does not end")


def test_events_are_every_customers_changes_oldest_first(
    history_service: HistoryService, service: CustomerService, clock: FakeClock, deliver: Delivery
) -> None:
    ada = service.create_customer(new_customer()).customer
    deliver()
    clock.advance(1)
    bob = service.create_customer(new_customer()).customer
    service.update_customer(ada["customer_id"], {"city": "Paris"})
    deliver()
    clock.advance(SETTLED)

    events, _ = follow(history_service, None, limit=10)

    assert ids(events) == [(ada["customer_id"], 1), *sorted([(bob["customer_id"], 1), (ada["customer_id"], 2)])]
    assert [event.event_type for event in events if event.customer_id == ada["customer_id"]] == [
        "customer.created",
        "customer.updated",
    ]


def test_an_empty_feed_answers_no_events_and_a_cursor_that_later_sees_new_ones(
    history_service: HistoryService, customer: Customer, clock: FakeClock, deliver: Delivery
) -> None:
    page = history_service.events()
    assert page.events == []

    deliver()
    clock.advance(SETTLED)

    assert ids(history_service.events(page.next_cursor).events) == [(customer["customer_id"], 1)]


def test_the_settle_window_holds_back_entries_younger_than_it(
    history_service: HistoryService, customer: Customer, clock: FakeClock, deliver: Delivery
) -> None:
    deliver()  # recorded now

    clock.advance(SETTLE_SECONDS)
    held_back = history_service.events()  # exactly the window's age: still held back
    clock.advance(0.001)
    settled = history_service.events(held_back.next_cursor)

    assert held_back.events == []
    assert ids(settled.events) == [(customer["customer_id"], 1)]
    assert history_service.events(settled.next_cursor).events == []


def _shards(
    repository: InMemoryCustomerRepository, customers: list[Customer]
) -> Callable[[list[StreamRecord]], tuple[list[StreamRecord], list[StreamRecord]]]:
    """DynamoDB Streams shards by key: the first customer's records on one shard, the others on another."""

    def split(records: list[StreamRecord]) -> tuple[list[StreamRecord], list[StreamRecord]]:
        first: list[StreamRecord] = []
        rest: list[StreamRecord] = []
        for record in records:
            change = repository.stream.decode(record)
            item = change.new or change.old
            assert item is not None
            (first if item.customer_id == customers[0]["customer_id"] else rest).append(record)
        return first, rest

    return split


def _interleaved_run(
    service: CustomerService,
    repository: InMemoryCustomerRepository,
    history: InMemoryHistoryRepository,
    parking: RecordingParkingLot,
    clock: FakeClock,
    reader: HistoryService,
    *,
    lag_seconds: float,
) -> list[HistoryEntry]:
    """Writes, deliveries on two shards (one recorder's clock behind), clock ticks and polls, interleaved."""
    customers = [service.create_customer(new_customer()).customer for _ in range(3)]

    def lagging() -> datetime:
        return clock() - timedelta(seconds=lag_seconds)

    consumers = [
        ChangeConsumer(
            history,
            decode=repository.stream.decode,
            publisher=None,
            parking=parking,
            max_attempts=MAX_ATTEMPTS,
            clock=recorder_clock,
            count=lambda name: None,
        )
        for recorder_clock in (lagging, clock)
    ]
    queues: tuple[list[StreamRecord], list[StreamRecord]] = ([], [])
    split = _shards(repository, customers)
    rng = random.Random(20240501)  # noqa: S311 - a reproducible interleaving, not a secret
    seen: list[HistoryEntry] = []
    cursor: str | None = None
    for step in range(150):
        if rng.random() < 0.5:
            customer = rng.choice(customers)
            service.update_customer(customer["customer_id"], {"city": f"City {step}"})
        for queue, records in zip(queues, split(repository.stream.take()), strict=True):
            queue.extend(records)
        for queue, consumer in zip(queues, consumers, strict=True):
            if queue and rng.random() < 0.4:  # each shard's Lambda runs when it runs
                assert consumer.consume(queue) == []
                queue.clear()
        clock.advance(rng.choice([0, 0.25, 0.5, 1, 2]))
        page = reader.events(cursor, rng.choice([1, 2, 3]))
        seen += page.events
        cursor = page.next_cursor
    for queue, consumer in zip(queues, consumers, strict=True):
        assert consumer.consume(queue) == []
    clock.advance(SETTLED + lag_seconds)
    rest, _ = follow(reader, cursor)
    return seen + rest


def test_following_next_cursor_sees_every_event_once_each_customers_in_version_order_while_entries_arrive(
    service: CustomerService,
    repository: InMemoryCustomerRepository,
    history: InMemoryHistoryRepository,
    parking: RecordingParkingLot,
    history_service: HistoryService,
    clock: FakeClock,
) -> None:
    # A recorder's clock behind the other's by less than the settle window
    seen = _interleaved_run(service, repository, history, parking, clock, history_service, lag_seconds=2)

    assert sorted(ids(seen)) == sorted(ids(history.all_entries()))  # every event, once
    assert len(seen) > 50
    for customer_id in {event.customer_id for event in seen}:
        versions = [event.version for event in seen if event.customer_id == customer_id]
        assert versions == sorted(versions) == list(range(1, len(versions) + 1))


def test_a_settle_window_shorter_than_the_recorders_skew_would_lose_events(
    service: CustomerService,
    repository: InMemoryCustomerRepository,
    history: InMemoryHistoryRepository,
    parking: RecordingParkingLot,
    clock: FakeClock,
) -> None:
    # The same run without a window: what the window is for (and proof the run above can fail)
    reader = HistoryService(repository, history, token_secret=TOKEN_SECRET, settle_seconds=0, clock=clock)

    seen = _interleaved_run(service, repository, history, parking, clock, reader, lag_seconds=2)

    assert len(set(ids(seen))) < len(history.all_entries())


def test_events_of_one_type_only(
    history_service: HistoryService, service: CustomerService, clock: FakeClock, deliver: Delivery
) -> None:
    customers = [service.create_customer(new_customer()).customer for _ in range(4)]
    for customer in customers:
        service.update_customer(customer["customer_id"], {"city": "Paris"})
    for customer in customers[1:3]:
        service.delete_customer(customer["customer_id"])
    deliver()
    clock.advance(SETTLED)

    # Pages may come back short (even empty, with a cursor to go on from): follow them all
    deleted: list[HistoryEntry] = []
    cursor: str | None = None
    for _ in range(20):
        page = history_service.events(cursor, 1, kinds=["deleted"])
        deleted += page.events
        cursor = page.next_cursor

    assert sorted(ids(deleted)) == sorted((customer["customer_id"], 3) for customer in customers[1:3])
    assert {event.event_type for event in deleted} == {"customer.deleted"}


def test_events_of_one_customer_only_in_version_order(
    history_service: HistoryService, service: CustomerService, customer: Customer, clock: FakeClock, deliver: Delivery
) -> None:
    other = service.create_customer(new_customer()).customer
    for city in ("Paris", "Rome"):
        service.update_customer(customer["customer_id"], {"city": city})
        service.update_customer(other["customer_id"], {"city": city})
    deliver()
    clock.advance(SETTLED)

    events, _ = follow(history_service, None, limit=1, customer_id=customer["customer_id"])
    updates, _ = follow(history_service, None, customer_id=customer["customer_id"], kinds=["updated"])

    assert ids(events) == [(customer["customer_id"], version) for version in (1, 2, 3)]
    assert ids(updates) == [(customer["customer_id"], version) for version in (2, 3)]


def test_one_customers_events_stop_at_the_first_one_not_settled(
    history_service: HistoryService, service: CustomerService, customer: Customer, clock: FakeClock, deliver: Delivery
) -> None:
    deliver()
    clock.advance(SETTLED)
    service.update_customer(customer["customer_id"], {"city": "Paris"})
    deliver()

    first, cursor = follow(history_service, None, customer_id=customer["customer_id"])
    clock.advance(SETTLED)
    later, _ = follow(history_service, cursor, customer_id=customer["customer_id"])

    assert ids(first) == [(customer["customer_id"], 1)]
    assert ids(later) == [(customer["customer_id"], 2)]


def test_one_customers_events_stop_at_a_version_an_erasure_reserved_until_it_is_written(
    history_service: HistoryService,
    service: CustomerService,
    privacy: PrivacyService,
    customer: Customer,
    clock: FakeClock,
    deliver: Delivery,
) -> None:
    deliver()
    service.update_customer(customer["customer_id"], {"city": "Paris"})
    privacy.erase(customer["customer_id"])  # reserves version 2: the consumer has not written it
    clock.advance(SETTLED)

    first, cursor = follow(history_service, None, customer_id=customer["customer_id"])
    deliver()
    clock.advance(SETTLED)
    later, _ = follow(history_service, cursor, customer_id=customer["customer_id"])

    assert ids(first) == [(customer["customer_id"], 1)]
    assert [(event.version, event.change, event.redacted) for event in later] == [
        (2, "updated", True),
        (3, "erased", True),
    ]


# A listing: (one customer's events only?, the kinds asked for)
Listing = tuple[bool, list[str] | None]


@pytest.mark.parametrize(
    ("issued_for", "used_for"),
    [
        ((False, None), (False, ["deleted"])),
        ((False, ["deleted"]), (False, None)),
        ((False, ["deleted"]), (False, ["updated"])),
        ((True, None), (False, None)),
        ((False, None), (True, None)),
    ],
    ids=["feed-to-filtered", "filtered-to-feed", "one-kind-to-another", "customer-to-feed", "feed-to-customer"],
)
def test_a_cursor_of_another_listing_is_validation_failed_naming_after(
    history_service: HistoryService, customer: Customer, issued_for: Listing, used_for: Listing
) -> None:
    def events(cursor: str | None, listing: Listing) -> str:
        one_customer, kinds = listing
        customer_id = customer["customer_id"] if one_customer else None
        return history_service.events(cursor, None, customer_id=customer_id, kinds=kinds).next_cursor

    cursor = events(None, issued_for)

    with pytest.raises(ValidationFailed) as refused:
        events(cursor, used_for)

    assert set(refused.value.details) == {"after"}


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "e30.AAAA",
        encode_token({"after": "x"}, secret=b"y" * 32, scope="events:history-in-memory:*:"),
        encode_token({"version": 3}, secret=TOKEN_SECRET, scope="events:history-in-memory:*:"),
    ],
    ids=["garbage", "bad-signature", "other-secret", "signed-but-not-a-feed-position"],
)
def test_a_cursor_the_feed_did_not_issue_is_validation_failed_naming_after(
    history_service: HistoryService, cursor: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        history_service.events(cursor)

    assert set(refused.value.details) == {"after"}
