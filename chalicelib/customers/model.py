"""What a customer is, and what the use cases hand back.

The TypedDicts are the one spelling of the customer's keys: a misspelt key is a
type error, not a silent ``None``. Values are already validated and normalised
(the edge's schemas do that), in exactly the form storage keeps.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, NotRequired, TypedDict, cast

from chalicelib.customers import canonical


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


class DerivedFields(TypedDict, total=False):
    """What the server derives from the fields a write sets, on every write that sets them.

    ``phone_number_e164``: the phone number in E.164 (None: it has none); absent when the
    customer has no phone, and on customers stored before it was derived.
    """

    phone_number_e164: str | None


class StoredChanges(CustomerChanges, DerivedFields, total=False):
    """An update as stored: the client's changes plus what the server derives from them."""


class Customer(NewCustomer, DerivedFields):
    """A stored customer: its fields plus what the server owns."""

    customer_id: str
    created_at: str
    updated_at: str
    version: int
    # Who made the customer and its latest change; absent on customers stored before they were recorded.
    created_by: NotRequired[str]
    updated_by: NotRequired[str]


WRITABLE_FIELDS = tuple(CustomerChanges.__annotations__)
# The optional fields without a default: a merge patch may remove them (send null). The others are
# required or have a default, so a customer without them would not be a customer the API describes.
REMOVABLE_FIELDS = ("date_of_birth", "address", "city", "state", "postal_code", "phone_number")
# Each derived field and the writable one it comes from: shown right after it, read-only, erased with it.
DERIVED_FIELDS = {"phone_number_e164": "phone_number"}
if set(DERIVED_FIELDS) != set(DerivedFields.__annotations__):
    raise RuntimeError("every derived field needs its source in DERIVED_FIELDS")
# What the server keeps about every customer besides its fields, in the order it is shown.
_STAMPS = ("created_at", "created_by", "updated_at", "updated_by", "version")
SERVER_FIELDS = ("customer_id", *DERIVED_FIELDS, *_STAMPS)


def _shown(names: Iterable[str]) -> Iterator[str]:
    for name in names:
        yield name
        yield from (derived for derived, source in DERIVED_FIELDS.items() if source == name)


# Every key a customer may have, in the order the API answers with them.
RESPONSE_FIELDS = ("customer_id", *_shown(WRITABLE_FIELDS), *_STAMPS)


@dataclass(frozen=True)
class Origin:
    """Who asks, as the edge knows it: the authenticated principal (or ``local``) and the request's id."""

    actor: str
    request_id: str | None = None


# Writes made by the app itself (seeding from a script, tests) rather than on a caller's behalf.
SYSTEM = Origin("system")


@dataclass(frozen=True)
class Stamp:
    """What every write records about itself: when, who (the authenticated principal) and which request."""

    at: str
    by: str
    request_id: str | None = None


def names_only(fields: Iterable[str]) -> dict[str, dict[str, None]]:
    """Changes of these fields with every value gone: what an erased customer's history keeps."""
    return {name: {"from": None, "to": None} for name in fields}


@dataclass(frozen=True)
class Patch:
    """A merge patch (RFC 7396) of a customer: the fields to set, and the removable fields to remove."""

    changes: CustomerChanges
    removals: frozenset[str] = frozenset()

    @property
    def stored_removals(self) -> frozenset[str]:
        """What storage removes: the fields named, and what the server derived from them."""
        derived = {name for name, source in DERIVED_FIELDS.items() if source in self.removals}
        return self.removals | derived

    def changes_nothing(self, customer: Customer) -> bool:
        """True when the customer already has every value sent and none of the fields removed.

        Only the client's fields count: what the server derives from them follows them.
        """
        current: dict[str, Any] = dict(customer)
        return all(current.get(name, _ABSENT) == value for name, value in self.changes.items()) and not any(
            name in current for name in self.removals
        )


_ABSENT = object()


def after_write(
    customer: Customer, changes: CustomerChanges, stamp: Stamp, removals: frozenset[str] = frozenset()
) -> Customer:
    """The customer as a write that bumped its version left it (what storage answers without a read)."""
    updated: dict[str, Any] = {
        **customer,
        **copy.deepcopy(changes),
        "updated_at": stamp.at,
        "updated_by": stamp.by,
        "version": customer["version"] + 1,
    }
    for name in removals:
        updated.pop(name, None)
    return cast(Customer, updated)


@dataclass(frozen=True)
class StoredCustomer:
    """A customer as stored, whatever its state: live, soft-deleted (restorable until ``purge_at``) or erased.

    The use cases decide what each state means to a caller (the restore window is
    theirs to enforce: DynamoDB's TTL removes an expired item only some time later).
    """

    customer_id: str
    version: int
    customer: Customer | None  # None once erased: nothing personal is kept
    updated_at: str
    updated_by: str | None = None  # who made the latest change (the item's stamp, for its stream record)
    request_id: str | None = None  # the request that made it
    deleted_at: str | None = None
    purge_at: int | None = None  # epoch seconds at which the restore window ends
    erased_at: str | None = None
    idempotency_key: str | None = None  # the key of the create that made it, so erasure can empty its record
    search_terms: tuple[str, ...] = ()  # what a prefix search finds it by (customers/search.py); none once erased

    @property
    def is_live(self) -> bool:
        return self.deleted_at is None and self.erased_at is None


ChangeKind = Literal["created", "updated", "deleted", "restored", "erased", "purged"]
CHANGE_KINDS: tuple[ChangeKind, ...] = ("created", "updated", "deleted", "restored", "erased", "purged")
# The changes where the event carries no customer: it is hidden or gone.
CHANGES_WITHOUT_CUSTOMER = frozenset({"deleted", "erased", "purged"})


@dataclass(frozen=True)
class HistoryEntry:
    """One change of one customer: its history entry and, published, its change event."""

    customer_id: str
    version: int
    change: ChangeKind
    occurred_at: str
    actor: str
    request_id: str | None
    changes: dict[str, dict[str, Any]]  # field -> {"from": old or None, "to": new or None}
    customer: Customer | None = None  # the customer after the change (None when deleted, erased, purged)
    redacted: bool = False

    @property
    def event_id(self) -> str:
        return f"{self.customer_id}:{self.version}"

    @property
    def event_type(self) -> str:
        return f"customer.{self.change}"

    @property
    def changed_fields(self) -> list[str]:
        return list(self.changes)

    def without_values(self) -> HistoryEntry:
        """The entry as erasure leaves it: what happened, when and by whom, and the names of the fields."""
        return replace(self, changes=names_only(self.changes), customer=None, redacted=True)

    def detail(self) -> dict[str, Any]:
        """The change event's ``detail``: what a subscriber needs to deduplicate, order and act on it."""
        return {
            "event_id": self.event_id,
            "customer_id": self.customer_id,
            "version": self.version,
            "occurred_at": self.occurred_at,
            "actor": self.actor,
            "changed_fields": self.changed_fields,
            "customer": None if self.customer is None else dict(self.customer),
        }


# The fields a list can be filtered by, exactly (each is served by an index in storage).
FILTERABLE_FIELDS = ("customer_status", "is_loyalty_member", "state", "email_address")


@dataclass(frozen=True)
class CustomerPage:
    customers: list[Customer]
    next_token: str | None


@dataclass(frozen=True)
class CreateResult:
    customer: Customer
    replayed: bool  # True when an Idempotency-Key found the customer an earlier request created


@dataclass(frozen=True)
class Changed:
    customer: Customer
    written: bool  # False when the customer already was as asked: nothing was stored


@dataclass(frozen=True)
class Upserted:
    customer: Customer
    created: bool  # True when no live customer had the address (or the id) and one was created
    written: bool  # False for an update that changed nothing, or a create its Idempotency-Key replayed


@dataclass(frozen=True)
class CustomerRead:
    customer: Customer
    not_modified: bool  # If-None-Match named the current version: the client's copy is current


@dataclass(frozen=True)
class HistoryPage:
    entries: list[HistoryEntry]
    next_token: str | None


@dataclass(frozen=True)
class EventPage:
    events: list[HistoryEntry]
    next_cursor: str  # always present: an empty page means nothing new yet


@dataclass(frozen=True)
class Export:
    customer: Customer
    deleted_at: str | None
    restorable_until: str | None
    history: list[HistoryEntry]  # oldest first
    exported_at: str


@dataclass(frozen=True)
class Erasure:
    customer_id: str
    erased_at: str


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)
    email_taken: list[str] = field(default_factory=list)


_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def is_customer_id(value: object) -> bool:
    return isinstance(value, str) and _UUID_RE.fullmatch(value) is not None


def email_key(email_address: str) -> str:
    """The form addresses are unique and filtered in (:func:`chalicelib.customers.canonical.email_key`)."""
    return canonical.email_key(email_address)


def format_utc(moment: datetime) -> str:
    """The one timestamp format the API stores and returns: UTC, always six fractional digits, ``Z``.

    Fixed width, so that the strings sort in time order (the events feed and sorted
    lists compare them as strings): ``2024-05-01T12:30:00.000000Z``, never ``...:00Z``.
    """
    # isoformat, not strftime: glibc's %Y does not zero-pad years before 1000.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def format_epoch(seconds: int) -> str:
    return format_utc(datetime.fromtimestamp(seconds, UTC))
