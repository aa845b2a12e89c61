"""The service over the in-memory store, with a clock that stands still and a metrics recorder."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from chalicelib.customers import retry
from chalicelib.customers.model import Customer
from chalicelib.customers.service import CustomerService
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.support import FakeClock, MetricRecorder, new_customer

TOKEN_SECRET = b"x" * 32


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def metrics() -> MetricRecorder:
    return MetricRecorder()


@pytest.fixture
def repository(clock: FakeClock) -> Iterator[InMemoryCustomerRepository]:
    store = InMemoryCustomerRepository(clock=clock)
    yield store
    # A fault or concurrent writer a test queued but never triggered means the test did not test it.
    assert store.pending_hooks() == 0, "a hook the test queued never fired"


@pytest.fixture
def service(repository: InMemoryCustomerRepository, clock: FakeClock, metrics: MetricRecorder) -> CustomerService:
    return CustomerService(repository, token_secret=TOKEN_SECRET, clock=clock, count=metrics)


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
