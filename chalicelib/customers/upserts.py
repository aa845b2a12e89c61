"""Upsert: update the live customer an email address (or an import's id) names, or create one.

The batch route's ``upsert`` and every row of an import go through here, so "the same
file twice creates nothing new" and "an upsert never silently does nothing" hold for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.customers.errors import (
    CustomerAlreadyExists,
    CustomerDeleted,
    CustomerErased,
    EmailAlreadyInUse,
    ValidationFailed,
)
from chalicelib.customers.lifecycle import Lifecycle
from chalicelib.customers.model import SYSTEM, NewCustomer, Origin, Patch, Upserted, format_epoch
from chalicelib.customers.ports import CustomerRepository

if TYPE_CHECKING:
    from chalicelib.customers.service import CustomerService

_ATTEMPTS = 3


class DeletedNotRestored(CustomerDeleted):
    """An import naming a soft-deleted customer: restore it first (an import never undoes a delete)."""

    message = "The customer with this id was deleted; restore it before importing it again."


@dataclass(frozen=True)
class KnownHolder:
    customer_id: str | None  # None: nobody held the address


class Upserts:
    def __init__(self, service: CustomerService, repository: CustomerRepository, lifecycle: Lifecycle) -> None:
        self._service = service
        self._repository = repository
        self._lifecycle = lifecycle

    def upsert(
        self,
        patch: Patch,
        new: NewCustomer | None,
        *,
        customer_id: str | None = None,
        cannot_create: ValidationFailed | None = None,
        record_key: str | None = None,
        origin: Origin = SYSTEM,
        known_holder: KnownHolder | None = None,
    ) -> Upserted:
        """Update the live customer holding the patch's email address, or create one from ``new``.

        ``known_holder``: who held the address a moment ago (a batch reads every address's holder in
        one request), so the first attempt need not look it up; a wrong guess is a lost race, settled
        by looking again like any other.

        ``customer_id`` (an import keeping a file's ids) names the customer instead: it is updated
        if live, created with that id if nothing has it, and refused if it was erased or deleted
        (re-importing an old export must not bring anyone back) or if its address is another's.
        A create that finds the address just taken, or an update that finds its customer just
        deleted, looks again: an upsert never silently does nothing.
        """
        address = patch.changes.get("email_address")
        if address is None:
            raise ValidationFailed(
                "Invalid request body.",
                details={"email_address": ["Required: an upsert finds the customer by its email address."]},
            )

        guesses = [] if known_holder is None else [known_holder.customer_id]

        def attempt() -> Upserted:
            if customer_id is not None:
                return self._upsert_by_id(customer_id, address, patch, new, cannot_create, record_key, origin)
            holder = guesses.pop() if guesses else self._repository.holder_of(address)
            if holder is not None:
                changed = self._service.change_customer(holder, patch, origin=origin)
                return Upserted(changed.customer, created=False, written=changed.written)
            return self._upsert_create(new, None, cannot_create, record_key, origin)

        # Races with another writer of the same address or id: the address claimed, or its holder
        # deleted, between the look-up and the write. Looking again settles it.
        for _ in range(_ATTEMPTS - 1):
            try:
                return attempt()
            except DeletedNotRestored:
                raise  # the file's id is deleted: looking again changes nothing
            except (EmailAlreadyInUse, CustomerDeleted, CustomerAlreadyExists):
                continue
        return attempt()

    def _upsert_by_id(
        self,
        customer_id: str,
        address: str,
        patch: Patch,
        new: NewCustomer | None,
        cannot_create: ValidationFailed | None,
        record_key: str | None,
        origin: Origin,
    ) -> Upserted:
        stored = self._repository.read(customer_id)
        if stored is not None and not self._lifecycle.purged(stored):
            if stored.erased_at is not None:
                raise CustomerErased()
            if not stored.is_live:
                raise DeletedNotRestored(format_epoch(stored.purge_at or 0))
            changed = self._service.change_customer(customer_id, patch, origin=origin)
            return Upserted(changed.customer, created=False, written=changed.written)
        holder = self._repository.holder_of(address)
        if holder is not None:
            raise EmailAlreadyInUse(holder)  # the file's id would take another customer's address
        return self._upsert_create(new, customer_id, cannot_create, record_key, origin)

    def _upsert_create(
        self,
        new: NewCustomer | None,
        customer_id: str | None,
        cannot_create: ValidationFailed | None,
        record_key: str | None,
        origin: Origin,
    ) -> Upserted:
        if new is None:
            raise cannot_create or ValidationFailed("Invalid request body.")
        created = self._service.create_with_key(new, record_key, origin, customer_id)
        return Upserted(created.customer, created=True, written=not created.replayed)
