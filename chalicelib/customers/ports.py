"""The repository port: everything the use cases need from storage, and nothing of how it is done.

DynamoDB's adapter (``chalicelib/storage/repository.py``) and the in-memory fake
of the service tests both subclass it, so the fast tests exercise the very
contract production uses. Positions are opaque: the service signs them into
tokens and hands them back, and only storage knows what is inside.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from chalicelib.customers.model import Customer, CustomerChanges, Filter

# Where a listing continues: JSON-serialisable, meaningful only to the repository that issued it.
Position = dict[str, Any]


@dataclass(frozen=True)
class Page:
    customers: list[Customer]
    next_position: Position | None  # None on the last page


@dataclass(frozen=True)
class IdempotencyRecord:
    key: str
    fingerprint: str
    customer: Customer
    expires_at: int


class CustomerRepository(ABC):
    @property
    @abstractmethod
    def name(self) -> str:
        """Identifies this store (its table): tokens signed for one store never verify on another."""

    @abstractmethod
    def get(self, customer_id: str) -> Customer:
        """The stored customer; raises CustomerNotFound."""

    @abstractmethod
    def create(self, customer: Customer, idempotency: IdempotencyRecord | None = None) -> None:
        """Store the customer, claim its email and record the request, all or nothing.

        Raises CustomerAlreadyExists, EmailAlreadyInUse, IdempotencyKeyTaken, RequestInProgress.
        """

    @abstractmethod
    def idempotency_record(self, key: str) -> IdempotencyRecord | None:
        """The live record for ``key``, or None if there is none or it has expired."""

    @abstractmethod
    def update(
        self, customer_id: str, changes: CustomerChanges, *, updated_at: str, expected_version: int | None = None
    ) -> Customer:
        """Apply changes that keep the email claim (no email in ``changes``) without reading first.

        Raises CustomerNotFound, or WriteConflict when the stored version is not ``expected_version``.
        """

    @abstractmethod
    def apply_changes(self, current: Customer, changes: CustomerChanges, *, updated_at: str) -> Customer:
        """Apply changes to the customer as read, moving its email claim if the address changes.

        Raises WriteConflict when the customer changed since ``current`` was read, EmailAlreadyInUse.
        """

    @abstractmethod
    def delete(self, current: Customer) -> None:
        """Delete the customer as read and free its email; raises WriteConflict if it changed since."""

    @abstractmethod
    def page(self, limit: int, position: Position | None, where: Filter | None = None) -> Page:
        """Up to ``limit`` customers (matching ``where``) from ``position``, at a cost bounded by ``limit``."""

    @abstractmethod
    def is_position(self, position: Position, where: Filter | None = None) -> bool:
        """Whether ``position`` is one this repository issues for this listing."""
