"""GDPR requests about one person: hand over their data (Art. 15 and 20) or erase it (Art. 17).

Erasure is irreversible and reaches everything the app stores and reads back:
the customer becomes a tombstone with nothing personal (so it answers 410 and no
retried create can bring it back), its email claim and its create's idempotency
record are emptied, and every history entry keeps only what happened, when and by
whom. Redaction is done here, at once; the consumer repeats it when the erasure
reaches the stream, which also covers entries it writes after this returns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib.customers.errors import CustomerErased, CustomerNotFound
from chalicelib.customers.lifecycle import Lifecycle
from chalicelib.customers.model import SYSTEM, Erasure, Export, Origin, Stamp, format_epoch, format_utc
from chalicelib.customers.ports import CustomerRepository, HistoryRepository
from chalicelib.customers.retry import retry_on_conflict


class PrivacyService:
    def __init__(
        self,
        customers: CustomerRepository,
        history: HistoryRepository,
        *,
        clock: Callable[[], datetime],
        count: Callable[[str], None],
    ) -> None:
        self._customers = customers
        self._history = history
        self._clock = clock
        self._count = count
        self._lifecycle = Lifecycle(customers, clock)

    def export(self, customer_id: str) -> Export:
        """Everything stored about a live or soft-deleted customer: its record and its whole history."""
        stored = self._lifecycle.existing(customer_id)
        assert stored.customer is not None  # existing() refuses an erased customer
        restorable_until = None if stored.purge_at is None else format_epoch(stored.purge_at)
        return Export(
            stored.customer,
            stored.deleted_at,
            restorable_until,
            self._history.entries(customer_id),
            format_utc(self._clock()),
        )

    def erase(self, customer_id: str, *, origin: Origin = SYSTEM) -> Erasure:
        """Erase a live, deleted or purged customer. Asked again, it finishes any redaction left and answers the same.

        A purged customer (past its window, perhaps removed by TTL) still has its history: it is
        erased too, and a tombstone is left where the item was, so the id answers 410 from then on.
        """

        def erase() -> tuple[int, str]:
            stored = self._customers.read(customer_id)
            if stored is not None and stored.erased_at is not None:
                raise CustomerErased()
            stamp = Stamp(format_utc(self._clock()), origin.actor, origin.request_id)
            if stored is not None:
                self._customers.erase(stored, stamp)
                return stored.version, stamp.at
            entries = self._history.entries(customer_id)
            if not entries:
                raise CustomerNotFound()
            last = max(entries, key=lambda entry: entry.version)
            # Removed, so a purge is recorded at the next version, or soon will be: the erasure follows it.
            purged = last.version if last.change == "purged" else last.version + 1
            self._customers.bury(customer_id, purged + 1, stamp)
            return purged, stamp.at

        try:
            version, erased_at = retry_on_conflict(erase)
        except CustomerErased:  # erased before (or by a concurrent retry of this request): answer as a repeat
            stored = self._customers.read(customer_id)
            assert stored is not None
            assert stored.erased_at is not None
            self._history.redact(customer_id, stored.version)
            return Erasure(customer_id, stored.erased_at)
        self._history.redact(customer_id, version)
        self._count("CustomersErased")
        return Erasure(customer_id, erased_at)
