"""The use cases over the in-memory stores, with a clock that stands still and metrics recorders.

The stream consumer runs on the same clock: a test that delivers the stream (``deliver``)
gets history entries recorded at the clock's time, and moves the clock past
SETTLE_SECONDS for the events feed to show them.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from chalicelib.customers import retry
from chalicelib.customers.consumer import ChangeConsumer
from chalicelib.customers.history import HistoryService
from chalicelib.customers.model import Customer
from chalicelib.customers.privacy import PrivacyService
from chalicelib.customers.service import CustomerService
from tests.service.fake_history import InMemoryHistoryRepository
from tests.service.fake_outbound import RecordingParkingLot, RecordingPublisher
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.support import Delivery, FakeClock, MetricRecorder, new_customer

TOKEN_SECRET = b"x" * 32
SETTLE_SECONDS = 5.0
MAX_ATTEMPTS = 3


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def metrics() -> MetricRecorder:
    return MetricRecorder()


@pytest.fixture
def consumer_metrics() -> MetricRecorder:
    """The consumer's metrics, apart from the use cases' so that each test reads only the ones it means."""
    return MetricRecorder()


# A fault or concurrent writer a test queued but never triggered means the test did not test it.
_NEVER_FIRED = "a hook the test queued never fired"


@pytest.fixture
def repository(clock: FakeClock) -> Iterator[InMemoryCustomerRepository]:
    store = InMemoryCustomerRepository(clock=clock)
    yield store
    assert store.pending_hooks() == 0, _NEVER_FIRED


@pytest.fixture
def history() -> Iterator[InMemoryHistoryRepository]:
    store = InMemoryHistoryRepository()
    yield store
    assert store.pending_hooks() == 0, _NEVER_FIRED


@pytest.fixture
def publisher() -> Iterator[RecordingPublisher]:
    bus = RecordingPublisher()
    yield bus
    assert bus.pending_hooks() == 0, _NEVER_FIRED


@pytest.fixture
def parking() -> Iterator[RecordingParkingLot]:
    lot = RecordingParkingLot()
    yield lot
    assert lot.pending_hooks() == 0, _NEVER_FIRED


@pytest.fixture
def service(repository: InMemoryCustomerRepository, clock: FakeClock, metrics: MetricRecorder) -> CustomerService:
    return CustomerService(repository, token_secret=TOKEN_SECRET, clock=clock, count=metrics)


@pytest.fixture
def consumer(
    repository: InMemoryCustomerRepository,
    history: InMemoryHistoryRepository,
    publisher: RecordingPublisher,
    parking: RecordingParkingLot,
    clock: FakeClock,
    consumer_metrics: MetricRecorder,
) -> ChangeConsumer:
    return ChangeConsumer(
        history,
        decode=repository.stream.decode,
        publisher=publisher,
        parking=parking,
        max_attempts=MAX_ATTEMPTS,
        clock=clock,
        count=consumer_metrics,
    )


@pytest.fixture
def deliver(repository: InMemoryCustomerRepository, consumer: ChangeConsumer) -> Delivery:
    return Delivery(repository.stream, consumer)


@pytest.fixture
def history_service(
    repository: InMemoryCustomerRepository, history: InMemoryHistoryRepository, clock: FakeClock
) -> HistoryService:
    return HistoryService(repository, history, token_secret=TOKEN_SECRET, settle_seconds=SETTLE_SECONDS, clock=clock)


@pytest.fixture
def privacy(
    repository: InMemoryCustomerRepository,
    history: InMemoryHistoryRepository,
    clock: FakeClock,
    metrics: MetricRecorder,
) -> PrivacyService:
    return PrivacyService(repository, history, clock=clock, count=metrics)


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The retry loop's back-off pauses, recorded instead of slept, so the tier stays fast."""
    pauses: list[float] = []
    monkeypatch.setattr(retry, "time", SimpleNamespace(sleep=pauses.append))
    return pauses


@pytest.fixture
def customer(service: CustomerService, clock: FakeClock) -> Customer:
    """A customer at version 1 holding ada@example.com (in London); the clock then moves on a minute.

    test_get_customer.py has its own, at version 2.
    """
    created = service.create_customer(new_customer(email_address="ada@example.com", city="London")).customer
    clock.advance(60)
    return created
