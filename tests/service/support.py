"""What the service tests hand the service besides the store: a clock, a metrics recorder, inputs."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from chalicelib.customers.conditions import Preconditions, VersionCondition
from chalicelib.customers.model import NewCustomer, format_utc
from chalicelib.customers.ports import CustomerRepository

START = datetime.fromisoformat("2024-05-01T12:00:00+00:00")
CONCURRENT_STAMP = "2024-05-01T12:00:00.5Z"
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
    """A concurrent request's write, for a repository hook to land between the service's read and write."""

    def write() -> None:
        repository.update(customer_id, {"city": city}, updated_at=CONCURRENT_STAMP)

    return write
