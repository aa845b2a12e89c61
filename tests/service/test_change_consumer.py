"""ChangeConsumer: one entry and one event per change, in order, idempotent; failures stop the batch or park.

Batches are the fake store's stream records, handed over as Lambda would (a failed
record is retried from itself: the test hands the rest of the batch back).
"""

from __future__ import annotations

import pytest

from chalicelib.customers.consumer import ChangeConsumer
from chalicelib.customers.errors import StoreUnavailable
from chalicelib.customers.model import Customer, Stamp
from chalicelib.customers.service import CustomerService
from tests.service.conftest import MAX_ATTEMPTS
from tests.service.fake_history import InMemoryHistoryRepository
from tests.service.fake_outbound import RecordingParkingLot, RecordingPublisher
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.fake_stream import STREAM_ARN, StreamRecord, poison_record
from tests.service.support import FakeClock, MetricRecorder, new_customer, stored

POISON = poison_record()
POISON_NUMBER = POISON["dynamodb"]["SequenceNumber"]


def number(record: StreamRecord) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def kinds(history: InMemoryHistoryRepository, customer: Customer) -> list[tuple[int, str]]:
    return [(entry.version, entry.change) for entry in history.entries(customer["customer_id"])]


@pytest.fixture
def changed(service: CustomerService, customer: Customer) -> Customer:
    """The conftest's customer, updated and deleted: three records on the stream, none delivered."""
    service.update_customer(customer["customer_id"], {"city": "Paris"})
    service.delete_customer(customer["customer_id"])
    return customer


def test_each_change_becomes_one_entry_and_one_event_in_order(
    consumer: ChangeConsumer,
    repository: InMemoryCustomerRepository,
    history: InMemoryHistoryRepository,
    publisher: RecordingPublisher,
    changed: Customer,
    consumer_metrics: MetricRecorder,
) -> None:
    assert consumer.consume(repository.stream.take()) == []

    customer_id = changed["customer_id"]
    assert kinds(history, changed) == [(1, "created"), (2, "updated"), (3, "deleted")]
    assert publisher.event_ids == [f"{customer_id}:1", f"{customer_id}:2", f"{customer_id}:3"]
    assert publisher.published == history.entries(customer_id)
    assert all(history.is_published(customer_id, version) for version in (1, 2, 3))
    assert consumer_metrics.names == ["ChangesRecorded", "ChangeEventsPublished"] * 3


def test_a_redelivered_batch_writes_no_second_entry_and_publishes_no_second_event(
    consumer: ChangeConsumer,
    repository: InMemoryCustomerRepository,
    history: InMemoryHistoryRepository,
    publisher: RecordingPublisher,
    changed: Customer,
) -> None:
    batch = repository.stream.take()
    consumer.consume(batch)
    entries = history.entries(changed["customer_id"])

    assert consumer.consume(batch) == []

    assert history.entries(changed["customer_id"]) == entries
    assert len(publisher.published) == 3


def test_a_record_that_is_no_change_writes_and_publishes_nothing(
    consumer: ChangeConsumer,
    repository: InMemoryCustomerRepository,
    history: InMemoryHistoryRepository,
    publisher: RecordingPublisher,
    customer: Customer,
) -> None:
    created = repository.stream.take()
    # A rewrite of the item at the same version (an index backfill) reaches the stream too
    item = stored(repository, customer["customer_id"])
    backfill = repository.stream.append(item, item, recorded_at="2024-05-01T12:05:00Z")

    assert consumer.consume([*created, backfill]) == []

    assert kinds(history, customer) == [(1, "created")]
    assert len(publisher.published) == 1


def test_a_failed_publish_reports_the_record_and_its_redelivery_publishes_the_entry_once(
    consumer: ChangeConsumer,
    repository: InMemoryCustomerRepository,
    history: InMemoryHistoryRepository,
    publisher: RecordingPublisher,
    customer: Customer,
    consumer_metrics: MetricRecorder,
) -> None:
    batch = repository.stream.take()
    publisher.fail_next()

    assert consumer.consume(batch) == [number(batch[0])]

    # The entry is written, its event not out yet
    customer_id = customer["customer_id"]
    assert kinds(history, customer) == [(1, "created")]
    assert not history.is_published(customer_id, 1)
    assert publisher.published == []
    assert "ChangeRecordsFailed" in consumer_metrics.names

    # The stream delivers it again: the same entry goes out, once
    assert consumer.consume(batch) == []
    assert consumer.consume(batch) == []
    assert publisher.published == history.entries(customer_id)
    assert history.is_published(customer_id, 1)


def test_a_failure_to_mark_an_event_published_publishes_it_again_with_the_same_event_id(
    consumer: ChangeConsumer,
    repository: InMemoryCustomerRepository,
    history: InMemoryHistoryRepository,
    publisher: RecordingPublisher,
    customer: Customer,
) -> None:
    # At least once: a subscriber deduplicates by event_id
    batch = repository.stream.take()
    history.fail_next("mark_published", StoreUnavailable)

    assert consumer.consume(batch) == [number(batch[0])]
    assert consumer.consume(batch) == []

    assert publisher.event_ids == [f"{customer['customer_id']}:1"] * 2
    assert history.is_published(customer["customer_id"], 1)


def test_the_batch_stops_at_its_first_failure_and_reports_only_that_record(
    consumer: ChangeConsumer,
    service: CustomerService,
    repository: InMemoryCustomerRepository,
    history: InMemoryHistoryRepository,
    publisher: RecordingPublisher,
    customer: Customer,
) -> None:
    other = service.create_customer(new_customer()).customer
    first, later = repository.stream.take()

    assert consumer.consume([first, POISON, later]) == [POISON_NUMBER]

    assert kinds(history, customer) == [(1, "created")]
    assert history.entries(other["customer_id"]) == []  # after the failure: untouched
    assert len(publisher.published) == 1
    assert history.failures(f"{STREAM_ARN}#{POISON_NUMBER}") == 1


def test_a_record_failing_max_attempts_times_is_parked_whole_and_the_batch_goes_on(
    consumer: ChangeConsumer,
    repository: InMemoryCustomerRepository,
    history: InMemoryHistoryRepository,
    parking: RecordingParkingLot,
    customer: Customer,
    consumer_metrics: MetricRecorder,
) -> None:
    batch = [POISON, *repository.stream.take()]
    for _ in range(MAX_ATTEMPTS - 1):
        assert consumer.consume(batch) == [POISON_NUMBER]
        assert parking.parked == []
        assert history.entries(customer["customer_id"]) == []

    assert consumer.consume(batch) == []

    assert parking.parked == [(POISON, f"UnknownRecord: '{POISON_NUMBER}'")]
    assert kinds(history, customer) == [(1, "created")]
    assert consumer_metrics.names.count("ChangeRecordsFailed") == MAX_ATTEMPTS
    assert consumer_metrics.names.count("ChangeRecordsParked") == 1


def test_a_failure_to_count_the_attempt_reports_the_record_failed_and_parks_nothing(
    consumer: ChangeConsumer,
    repository: InMemoryCustomerRepository,
    history: InMemoryHistoryRepository,
    parking: RecordingParkingLot,
    customer: Customer,
) -> None:
    history.fail_next("count_failure", StoreUnavailable)

    assert consumer.consume([POISON, *repository.stream.take()]) == [POISON_NUMBER]

    assert parking.parked == []
    assert history.entries(customer["customer_id"]) == []


def test_a_failure_to_park_reports_the_record_failed_and_the_next_delivery_parks_it(
    consumer: ChangeConsumer,
    repository: InMemoryCustomerRepository,
    history: InMemoryHistoryRepository,
    parking: RecordingParkingLot,
    customer: Customer,
) -> None:
    batch = [POISON, *repository.stream.take()]
    for _ in range(MAX_ATTEMPTS - 1):
        consumer.consume(batch)
    parking.fail_next()

    assert consumer.consume(batch) == [POISON_NUMBER]
    assert parking.parked == []
    assert history.entries(customer["customer_id"]) == []

    assert consumer.consume(batch) == []
    assert [record for record, _ in parking.parked] == [POISON]
    assert kinds(history, customer) == [(1, "created")]


def test_an_erased_change_redacts_the_entries_written_before_it(
    consumer: ChangeConsumer,
    service: CustomerService,
    repository: InMemoryCustomerRepository,
    history: InMemoryHistoryRepository,
    publisher: RecordingPublisher,
    customer: Customer,
) -> None:
    customer_id = customer["customer_id"]
    service.update_customer(customer_id, {"city": "Paris"})
    consumer.consume(repository.stream.take())
    assert history.entries(customer_id)[1].changes == {"city": {"from": "London", "to": "Paris"}}

    # When the store erases it (without the use case's own redaction) and the consumer reaches it
    repository.erase(stored(repository, customer_id), Stamp("2024-05-01T13:00:00Z", "dpo"))
    assert consumer.consume(repository.stream.take()) == []

    entries = history.entries(customer_id)
    assert kinds(history, customer) == [(1, "created"), (2, "updated"), (3, "erased")]
    assert all(entry.redacted and entry.customer is None for entry in entries)
    assert entries[1].changes == {"city": {"from": None, "to": None}}
    erased_event = publisher.published[-1]
    assert (erased_event.event_type, erased_event.customer) == ("customer.erased", None)
    assert "city" in erased_event.detail()["changed_fields"]


def test_entries_completed_after_an_erasure_go_out_redacted(
    consumer: ChangeConsumer,
    service: CustomerService,
    repository: InMemoryCustomerRepository,
    history: InMemoryHistoryRepository,
    publisher: RecordingPublisher,
    customer: Customer,
) -> None:
    # Given the erasure redacted (reserved) versions the consumer had not reached yet
    service.update_customer(customer["customer_id"], {"city": "Paris"})
    history.redact(customer["customer_id"], 2)

    consumer.consume(repository.stream.take())

    assert [entry.version for entry in publisher.published] == [1, 2]
    assert all(entry.redacted and entry.customer is None for entry in publisher.published)
    assert all(entry.detail()["customer"] is None for entry in publisher.published)
    assert publisher.published[1].changes == {"city": {"from": None, "to": None}}


def test_without_an_event_bus_the_entries_are_still_recorded(
    repository: InMemoryCustomerRepository,
    history: InMemoryHistoryRepository,
    parking: RecordingParkingLot,
    changed: Customer,
    clock: FakeClock,
    consumer_metrics: MetricRecorder,
) -> None:
    consumer = ChangeConsumer(
        history,
        decode=repository.stream.decode,
        publisher=None,
        parking=parking,
        max_attempts=MAX_ATTEMPTS,
        clock=clock,
        count=consumer_metrics,
    )

    assert consumer.consume(repository.stream.take()) == []

    assert kinds(history, changed) == [(1, "created"), (2, "updated"), (3, "deleted")]
    assert "ChangeEventsPublished" not in consumer_metrics.names
