"""What the service tests hand the service besides the store: a clock, a metrics recorder, inputs, a delivery."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from chalicelib.customers.conditions import Preconditions, VersionCondition
from chalicelib.customers.consumer import ChangeConsumer
from chalicelib.customers.model import Customer, NewCustomer, Stamp, StoredCustomer, format_utc
from chalicelib.customers.ports import CustomerRepository
from tests.service.fake_stream import StreamLog

START = datetime.fromisoformat("2024-05-01T12:00:00+00:00")
CONCURRENT_STAMP = "2024-05-01T12:00:00.500000Z"
CONCURRENT_WRITER = "another-writer"
Writer = Callable[[], None]


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    @property
    def stamp(self) -> str:
        """The current time as the service writes it into a customer."""
        return format_utc(self.now)


@dataclass
class MetricRecorder:
    """The service's ``count`` callback: remembers every metric name it was given."""

    names: list[str] = field(default_factory=list)

    def __call__(self, name: str) -> None:
        self.names.append(name)


_serial = itertools.count(1)


def new_customer(**overrides: Any) -> NewCustomer:
    """Validated create fields (as the edge's schema hands them over) with an email no other call uses."""
    number = next(_serial)
    fields: dict[str, Any] = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email_address": f"ada.{number}@example.com",
        "preferred_communication_channels": ["email"],
        "is_loyalty_member": "n",
        "customer_status": "active",
        "lifetime_value": Decimal("0"),
    }
    fields.update(overrides)
    return cast(NewCustomer, fields)


def if_match(*versions: int) -> Preconditions:
    return Preconditions(if_match=VersionCondition(any_version=False, versions=frozenset(versions)))


def if_match_any() -> Preconditions:
    return Preconditions(if_match=VersionCondition(any_version=True, versions=frozenset()))


def if_none_match(*versions: int) -> Preconditions:
    return Preconditions(if_none_match=VersionCondition(any_version=False, versions=frozenset(versions)))


def if_none_match_any() -> Preconditions:
    return Preconditions(if_none_match=VersionCondition(any_version=True, versions=frozenset()))


def another_writer(repository: CustomerRepository, customer_id: str, city: str = "Changed concurrently") -> Writer:
    """A concurrent request's write, for a repository hook to land between the service's read and write.

    Each call writes a new value (a write of the value already stored changes nothing, so it
    would not bump the version): the first writes ``city``, the next ``city 2``, and so on.
    """
    writes = itertools.count(1)

    def write() -> None:
        number = next(writes)
        value = city if number == 1 else f"{city} {number}"
        repository.update(customer_id, {"city": value}, Stamp(CONCURRENT_STAMP, CONCURRENT_WRITER))

    return write


class Delivery:
    """The stream's shard, as Lambda drives it: hands the consumer the records written since the last delivery."""

    def __init__(self, stream: StreamLog, consumer: ChangeConsumer) -> None:
        self._stream = stream
        self._consumer = consumer

    def __call__(self) -> None:
        batch = self._stream.take()
        failed = self._consumer.consume(batch)
        assert failed == [], f"the consumer failed records {failed}"


def stored(repository: CustomerRepository, customer_id: str) -> StoredCustomer:
    """The item as the store holds it, in whatever state (a test reading behind the service's back)."""
    item = repository.read(customer_id)
    assert item is not None, f"the store holds no item {customer_id}"
    return item


def live(repository: CustomerRepository, customer_id: str) -> Customer:
    """The live customer as stored, for a concurrent writer that read it."""
    item = stored(repository, customer_id)
    assert item.is_live, f"{customer_id} is not live"
    assert item.customer is not None
    return item.customer
