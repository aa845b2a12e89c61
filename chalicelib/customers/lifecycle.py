"""What a stored customer's state means to a caller: live, deleted (restorable), purged or erased.

One place for the rule every use case applies before acting: a soft-deleted
customer past its restore window counts as gone whether or not DynamoDB's TTL has
removed it yet (TTL deletes some time after expiry, not at it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib.customers.errors import CustomerDeleted, CustomerErased, CustomerNotFound
from chalicelib.customers.model import Customer, StoredCustomer, format_epoch
from chalicelib.customers.ports import CustomerRepository


class Lifecycle:
    def __init__(self, repository: CustomerRepository, clock: Callable[[], datetime]) -> None:
        self._repository = repository
        self._clock = clock

    def existing(self, customer_id: str) -> StoredCustomer:
        """Live or restorable; raises CustomerNotFound (never there, or purged) or CustomerErased."""
        stored = self._repository.read(customer_id)
        if stored is None or self.purged(stored):
            raise CustomerNotFound()
        if stored.erased_at is not None:
            raise CustomerErased()
        return stored

    def purged(self, stored: StoredCustomer) -> bool:
        return stored.purge_at is not None and stored.purge_at <= self._clock().timestamp()

    def live(self, customer_id: str) -> Customer:
        """The live customer; raises CustomerDeleted (with when its window ends) when it is hidden."""
        stored = self.existing(customer_id)
        return self.live_customer(stored)

    @staticmethod
    def live_customer(stored: StoredCustomer) -> Customer:
        if not stored.is_live or stored.customer is None:
            raise CustomerDeleted(format_epoch(stored.purge_at or 0))
        return stored.customer
