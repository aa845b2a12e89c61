"""The ports: everything the use cases need from storage and the outside world, and nothing of how.

DynamoDB's adapters (``chalicelib/storage/``) and the in-memory fakes of the
service tests both subclass them, so the fast tests exercise the very contract
production uses. Positions are opaque: the service signs them into tokens and
hands them back, and only storage knows what is inside.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.customers.criteria import EVERYONE, Criteria
from chalicelib.customers.errors import DomainError
from chalicelib.customers.model import (
    Customer,
    CustomerChanges,
    HistoryEntry,
    Stamp,
    StoredCustomer,
)

# Where a listing continues: JSON-serialisable, meaningful only to the repository that issued it.
Position = dict[str, Any]


@dataclass(frozen=True)
class Page:
    customers: list[Customer]
    next_position: Position | None  # None on the last page


@dataclass(frozen=True)
class IdempotencyRecord:
    key: str
    fingerprint: str | None  # None once the customer it created was erased
    customer_id: str
    customer: Customer | None  # the customer as created; None once erased
    expires_at: int


@dataclass(frozen=True)
class BatchRecord:
    """What an Idempotency-Key of a batch remembers: the request's fingerprint and, once done, its outcomes.

    ``outcomes`` hold no personal data (results, customer ids and errors), so erasing a
    customer leaves nothing of it here; ``None`` while the batch is still running.
    """

    key: str
    fingerprint: str
    outcomes: list[dict[str, Any]] | None
    expires_at: int


@dataclass(frozen=True)
class NewCustomerWrite:
    """Part of an atomic batch: store a new customer and claim its email."""

    customer: Customer
    idempotency: IdempotencyRecord | None = None


@dataclass(frozen=True)
class ChangeWrite:
    """Part of an atomic batch: change the customer as read (moving its email claim if the address changes)."""

    current: Customer
    changes: CustomerChanges
    removals: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DeleteWrite:
    """Part of an atomic batch: soft-delete the customer as read, freeing its email."""

    current: Customer
    purge_at: int


@dataclass(frozen=True)
class UnchangedCheck:
    """Part of an atomic batch that writes nothing for this customer: it must still be live at the version read."""

    current: Customer


PlannedWrite = NewCustomerWrite | ChangeWrite | DeleteWrite | UnchangedCheck


class WritesRefused(Exception):
    """An atomic batch's transaction was cancelled: why, for each write that failed (by its position)."""

    def __init__(self, failures: dict[int, DomainError]) -> None:
        super().__init__(sorted(failures))
        self.failures = failures


@dataclass(frozen=True)
class EntryPage:
    entries: list[HistoryEntry]
    next_position: Position | None


@dataclass(frozen=True)
class StreamChange:
    """One record of the customers table's change stream, decoded: the item before and after."""

    sequence_number: str
    old: StoredCustomer | None  # None for an insert
    new: StoredCustomer | None  # None for a removal
    removed_by: str | None  # the service principal of a removal DynamoDB made itself (TTL)
    recorded_at: str  # when DynamoDB recorded the change


class CustomerRepository(ABC):
    @property
    @abstractmethod
    def name(self) -> str:
        """Identifies this store (its table): tokens signed for one store never verify on another."""

    @abstractmethod
    def read(self, customer_id: str) -> StoredCustomer | None:
        """The customer in whatever state it is stored (strongly consistent), or None."""

    @abstractmethod
    def create(self, customer: Customer, stamp: Stamp, idempotency: IdempotencyRecord | None = None) -> None:
        """Store the customer, claim its email and record the request, all or nothing.

        Raises CustomerAlreadyExists, EmailAlreadyInUse, IdempotencyKeyTaken, RequestInProgress.
        """

    @abstractmethod
    def idempotency_record(self, key: str) -> IdempotencyRecord | None:
        """The live record for ``key``, or None if there is none or it has expired."""

    @abstractmethod
    def holder_of(self, email_address: str) -> str | None:
        """The id of the live customer whose email claim this address is (canonical form), or None."""

    @abstractmethod
    def holders_of(self, addresses: Collection[str]) -> dict[str, str]:
        """Which live customer holds each of these canonical addresses (those nobody holds are left out)."""

    @abstractmethod
    def update(
        self,
        customer_id: str,
        changes: CustomerChanges,
        stamp: Stamp,
        *,
        expected_version: int | None = None,
        removals: frozenset[str] = frozenset(),
    ) -> Customer:
        """Apply changes that keep the email claim (no email in ``changes``) to a live customer, without a read.

        Writes nothing when the customer already has every value and none of the ``removals``:
        the stored customer comes back as it is (same version, same ``updated_at``).
        Raises CustomerNotFound when it is not live, or WriteConflict when the stored version is
        not ``expected_version``.
        """

    @abstractmethod
    def apply_changes(
        self, current: Customer, changes: CustomerChanges, stamp: Stamp, removals: frozenset[str] = frozenset()
    ) -> Customer:
        """Apply changes to the customer as read, moving its email claim if the address changes.

        Raises WriteConflict when the customer changed since ``current`` was read, EmailAlreadyInUse.
        """

    @abstractmethod
    def write_atomically(self, writes: list[PlannedWrite], stamp: Stamp, finished: BatchRecord | None = None) -> None:
        """Every write or none, in one transaction; each on the customer as it was read.

        ``finished`` is the batch's own record, stored in the same transaction over its claim.
        Raises WritesRefused naming each write that failed by position (the record's is
        ``len(writes)``): WriteConflict (changed since read, or its id taken), EmailAlreadyInUse
        (with the holder), RequestInProgress (a key, or the claim, is another run's).
        """

    @abstractmethod
    def claim_batch(self, record: BatchRecord) -> BatchRecord | None:
        """Record that a keyed batch started; the live record of the key instead, if there is one."""

    @abstractmethod
    def finish_batch(self, record: BatchRecord) -> None:
        """Store the finished batch's outcomes under its key."""

    @abstractmethod
    def release_batch(self, key: str) -> None:
        """Forget a keyed batch that wrote nothing, so the key may be used again."""

    @abstractmethod
    def soft_delete(self, current: Customer, stamp: Stamp, *, purge_at: int) -> None:
        """Hide the customer until ``purge_at`` and free its email; WriteConflict if it changed since read."""

    @abstractmethod
    def restore(self, stored: StoredCustomer, stamp: Stamp) -> Customer:
        """Bring a soft-deleted customer back with its email claimed again.

        Raises EmailAlreadyInUse, or WriteConflict if it changed (or its window ended) since read.
        """

    @abstractmethod
    def erase(self, stored: StoredCustomer, stamp: Stamp) -> None:
        """Reduce the customer to a tombstone holding nothing personal, free its email, empty its create's record.

        Raises WriteConflict if it changed since read.
        """

    @abstractmethod
    def bury(self, customer_id: str, version: int, stamp: Stamp) -> None:
        """A tombstone at ``version`` where nothing is stored any more (a purged customer's history remains).

        Raises WriteConflict if an item is there.
        """

    @abstractmethod
    def page(self, limit: int, position: Position | None, where: Criteria = EVERYONE) -> Page:
        """Up to ``limit`` live customers meeting ``where``, in its order, from ``position``.

        The cost is bounded by ``limit``; a page may hold fewer (even none) and still have a next position.
        """

    @abstractmethod
    def is_position(self, position: Position, where: Criteria = EVERYONE) -> bool:
        """Whether ``position`` is one this repository issues for this listing."""


class HistoryRepository(ABC):
    """History entries, keyed by customer and version; the event feed is the same entries in recorded order."""

    @property
    @abstractmethod
    def name(self) -> str:
        """Identifies this store, as CustomerRepository.name does."""

    @abstractmethod
    def record(self, entry: HistoryEntry, *, recorded_at: str) -> HistoryEntry | None:
        """Write the entry unless it is there already; the entry as stored while its event is unpublished.

        An entry that erasure reserved (redacted before the consumer reached it) is completed
        redacted, and it is that redacted entry whose event goes out. Idempotent: a redelivered
        change writes nothing new, and once its event is marked published answers None.
        """

    @abstractmethod
    def mark_published(self, customer_id: str, version: int) -> None:
        """Note that the entry's event went out, so a redelivery does not publish it again."""

    @abstractmethod
    def page(self, customer_id: str, limit: int, position: Position | None) -> EntryPage:
        """Up to ``limit`` of the customer's entries, newest first."""

    @abstractmethod
    def entries(self, customer_id: str) -> list[HistoryEntry]:
        """Every entry of the customer, oldest first."""

    @abstractmethod
    def redact(self, customer_id: str, through_version: int) -> None:
        """Null every value of the customer's entries up to ``through_version``, reserving the missing ones."""

    @abstractmethod
    def feed(
        self, limit: int, position: Position | None, *, horizon: str, kinds: Collection[str] | None = None
    ) -> EntryPage:
        """Entries recorded before ``horizon``, oldest first, from ``position``; optionally only some kinds.

        May answer fewer than ``limit`` (even none) with a position when a filter skipped entries:
        a page never reads more than a fixed multiple of ``limit``.
        """

    @abstractmethod
    def customer_feed(
        self, customer_id: str, limit: int, position: Position | None, *, horizon: str, kinds: Collection[str] | None
    ) -> EntryPage:
        """One customer's entries recorded before ``horizon``, in version order."""

    @abstractmethod
    def is_position(self, position: Position, customer_id: str | None = None) -> bool:
        """Whether ``position`` is one this repository issues for that listing (history or feed)."""

    @abstractmethod
    def count_failure(self, delivery: str) -> int:
        """Count one more failed attempt at a stream record; the count so far, this one included."""


class EventPublisher(ABC):
    @abstractmethod
    def publish(self, entry: HistoryEntry) -> None:
        """Send the entry's change event; raises on failure (the stream then redelivers it)."""


class SearchIndex(ABC):
    """The prefix-search index, kept in step with the customers by the change stream's consumer."""

    @abstractmethod
    def follow(self, old: StoredCustomer | None, new: StoredCustomer | None) -> None:
        """Make the index find ``new`` (if live) and no longer find ``old``; repeating it changes nothing."""


class ParkingLot(ABC):
    @abstractmethod
    def park(self, record: Mapping[str, Any], reason: str) -> None:
        """Keep a stream record the consumer gave up on, whole, for an operator to inspect and replay."""
