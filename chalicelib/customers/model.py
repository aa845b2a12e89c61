"""What a customer is, and what the use cases hand back.

The TypedDicts are the one spelling of the customer's keys: a misspelt key is a
type error, not a silent ``None``. Values are already validated and normalised
(the edge's schemas do that), in exactly the form storage keeps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import NotRequired, TypedDict


class CustomerChanges(TypedDict, total=False):
    """Any subset of the writable fields: what an update sends."""

    first_name: str
    last_name: str
    date_of_birth: str
    address: str
    city: str
    state: str
    postal_code: str
    phone_number: str
    email_address: str
    customer_acquisition_date: str
    preferred_communication_channels: list[str]
    is_loyalty_member: str
    customer_status: str
    lifetime_value: Decimal


class NewCustomer(TypedDict):
    """A create's fields after the schema applied its defaults."""

    first_name: str
    last_name: str
    email_address: str
    preferred_communication_channels: list[str]
    is_loyalty_member: str
    customer_status: str
    lifetime_value: Decimal
    customer_acquisition_date: NotRequired[str]  # the creation time when not given
    date_of_birth: NotRequired[str]
    address: NotRequired[str]
    city: NotRequired[str]
    state: NotRequired[str]
    postal_code: NotRequired[str]
    phone_number: NotRequired[str]


class Customer(NewCustomer):
    """A stored customer: its fields plus what the server owns."""

    customer_id: str
    created_at: str
    updated_at: str
    version: int


WRITABLE_FIELDS = tuple(CustomerChanges.__annotations__)
SERVER_FIELDS = ("customer_id", "created_at", "updated_at", "version")
# Every key a customer may have, in the order the API answers with them.
RESPONSE_FIELDS = ("customer_id", *WRITABLE_FIELDS, "created_at", "updated_at", "version")

# The fields a list can be filtered by, exactly (each is served by an index in storage).
FILTERABLE_FIELDS = ("customer_status", "is_loyalty_member", "state", "email_address")


@dataclass(frozen=True)
class Filter:
    field: str
    value: str


@dataclass(frozen=True)
class CustomerPage:
    customers: list[Customer]
    next_token: str | None


@dataclass(frozen=True)
class CreateResult:
    customer: Customer
    replayed: bool  # True when an Idempotency-Key found the customer an earlier request created


@dataclass(frozen=True)
class CustomerRead:
    customer: Customer
    not_modified: bool  # If-None-Match named the current version: the client's copy is current


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)
    email_taken: list[str] = field(default_factory=list)


_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def is_customer_id(value: object) -> bool:
    return isinstance(value, str) and _UUID_RE.fullmatch(value) is not None


def email_key(email_address: str) -> str:
    """Email addresses are unique regardless of case: this is the form they are compared in."""
    return email_address.lower()


def format_utc(moment: datetime) -> str:
    """The one timestamp format the API stores and returns: UTC with ``Z``."""
    # isoformat, not strftime: glibc's %Y does not zero-pad years before 1000.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
