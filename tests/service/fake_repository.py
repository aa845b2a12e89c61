"""An in-memory store behind the repository port: what the service tests run on instead of DynamoDB.

It subclasses the very port the DynamoDB adapter implements and keeps the adapter's
promises, condition for condition and in the adapter's order of precedence:

* ``create`` is all or nothing: a live idempotency record (IdempotencyKeyTaken), a taken
  id in any state (CustomerAlreadyExists) or a taken email, compared by ``email_key``
  (EmailAlreadyInUse) refuses the whole write;
* ``update`` requires a live customer (else CustomerNotFound) and, with ``expected_version``,
  that version (else WriteConflict);
* ``apply_changes`` moves the email claim when the address changes ignoring case: it claims
  the new address, frees the old one and updates the live customer at the version read,
  together or not at all;
* ``soft_delete`` requires the customer live at the version read and its claim its own,
  hides it until ``purge_at`` and frees its email;
* ``restore`` requires it soft-deleted at the version read with ``purge_at`` still ahead
  (else WriteConflict, which outranks the claim), then claims its email (EmailAlreadyInUse);
* ``erase`` requires it not erased at the version read; the tombstone keeps only the id,
  version, stamp and erased_at; it frees the email if the customer was live and empties the
  create's idempotency record (customer and fingerprint gone, customer_id kept);
* every write bumps the version by one and records who, when and in which request;
* idempotency records expire ``expires_at`` seconds after the epoch, by the clock it is given;
* ``page`` walks the live customers that meet the criteria in their order (the same order keys
  as the adapter's), at most ``limit`` a page and never short, with positions of its own shape
  (``{"after": order key, "listing": scope}``) that ``is_position`` recognises and nothing else does.

Every write that lands appends a record to ``stream`` (old and new item, as DynamoDB
Streams would with NEW_AND_OLD_IMAGES); a refused write appends nothing. DynamoDB's
TTL is not automatic: :meth:`purge_expired` is its sweep, some time after expiry.

Two deliberate differences from the adapter, where the adapter breaks the port (the
``dynamodb`` cases of test_adapter_parity.py fail on them): a write without a request id
does not keep the previous write's, and erasure empties the key's record only while it
is still the erased customer's.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import UTC, datetime
from typing import Literal

from chalicelib.customers.criteria import EVERYONE, Criteria, order_key
from chalicelib.customers.errors import (
    CustomerAlreadyExists,
    CustomerNotFound,
    DomainError,
    EmailAlreadyInUse,
    IdempotencyKeyTaken,
    RequestInProgress,
    WriteConflict,
)
from chalicelib.customers.model import (
    Customer,
    CustomerChanges,
    Patch,
    Stamp,
    StoredCustomer,
    after_write,
    email_key,
    format_utc,
)
from chalicelib.customers.ports import (
    BatchRecord,
    ChangeWrite,
    CustomerRepository,
    IdempotencyRecord,
    NewCustomerWrite,
    Page,
    PlannedWrite,
    Position,
    UnchangedCheck,
    WritesRefused,
)
from chalicelib.customers.search import customer_terms
from tests.service.fake_hooks import Hooks
from tests.service.fake_stream import TTL_PRINCIPAL, StreamLog

Method = Literal[
    "read",
    "create",
    "idempotency_record",
    "holder_of",
    "holders_of",
    "update",
    "apply_changes",
    "write_atomically",
    "claim_batch",
    "finish_batch",
    "release_batch",
    "soft_delete",
    "restore",
    "erase",
    "bury",
    "page",
    "is_position",
]


def _utc_now() -> datetime:
    return datetime.now(UTC)


_stamped = after_write


class InMemoryCustomerRepository(CustomerRepository, Hooks[Method]):
    def __init__(self, *, clock: Callable[[], datetime] = _utc_now, name: str = "customers-in-memory") -> None:
        super().__init__()
        self._name = name
        self._clock = clock
        self._items: dict[str, StoredCustomer] = {}
        self._email_claims: dict[str, str] = {}  # email_key -> the customer_id that owns it
        self._records: dict[str, IdempotencyRecord] = {}
        self._batches: dict[str, BatchRecord] = {}
        self._answers_to_lose = 0
        self.stream = StreamLog()

    # --- the port ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    def read(self, customer_id: str) -> StoredCustomer | None:
        self._enter("read")
        return copy.deepcopy(self._items.get(customer_id))

    def create(self, customer: Customer, stamp: Stamp, idempotency: IdempotencyRecord | None = None) -> None:
        self._enter("create")
        self._create(customer, stamp, idempotency)
        if self._answers_to_lose:
            self._answers_to_lose -= 1
            # The write committed but its answer was lost; the transport sends the same
            # transaction again, and its conditions now fail on the request's own writes.
            self._create(customer, stamp, idempotency)
            raise AssertionError("a create sent twice cannot succeed twice")

    def idempotency_record(self, key: str) -> IdempotencyRecord | None:
        self._enter("idempotency_record")
        record = self._records.get(key)
        if record is None or record.expires_at < self._clock().timestamp():
            return None
        return copy.deepcopy(record)

    def holders_of(self, addresses: Collection[str]) -> dict[str, str]:
        self._enter("holders_of")
        return {address: self._email_claims[address] for address in addresses if address in self._email_claims}

    def holder_of(self, email_address: str) -> str | None:
        self._enter("holder_of")
        return self._email_claims.get(email_key(email_address))

    def update(
        self,
        customer_id: str,
        changes: CustomerChanges,
        stamp: Stamp,
        *,
        expected_version: int | None = None,
        removals: frozenset[str] = frozenset(),
    ) -> Customer:
        self._enter("update")
        stored = self._items.get(customer_id)
        if stored is not None and stored.is_live and stored.customer is not None:
            # The adapter's condition also requires a difference; when none, it writes nothing.
            as_expected = expected_version is None or stored.version == expected_version
            if as_expected and Patch(changes, removals).changes_nothing(stored.customer):
                return copy.deepcopy(stored.customer)
        return self._update(customer_id, changes, stamp, expected_version, removals)

    def apply_changes(
        self, current: Customer, changes: CustomerChanges, stamp: Stamp, removals: frozenset[str] = frozenset()
    ) -> Customer:
        self._enter("apply_changes")
        return self._apply_changes(current, changes, stamp, removals)

    def _apply_changes(
        self, current: Customer, changes: CustomerChanges, stamp: Stamp, removals: frozenset[str]
    ) -> Customer:
        new_email = changes.get("email_address")
        if new_email is None or email_key(new_email) == email_key(current["email_address"]):
            return self._update(current["customer_id"], changes, stamp, current["version"], removals)
        customer_id = current["customer_id"]
        new_key, old_key = email_key(new_email), email_key(current["email_address"])
        # The adapter's transaction: claim the new address, free the old one, update the live
        # customer at the version read. Its answer is read in this order: the customer changed
        # since it was read (a failed release or version) is WriteConflict, whatever the claim
        # says (the claim may be this customer's own, taken by a concurrent move to the same
        # address); otherwise a failed claim is EmailAlreadyInUse. Nothing is applied unless
        # all three hold.
        old_owner = self._email_claims.get(old_key)
        stored = self._live_at(customer_id, current["version"])
        if old_owner not in (None, customer_id) or stored is None:
            raise WriteConflict()
        if new_key in self._email_claims:
            raise EmailAlreadyInUse(self._email_claims[new_key])
        self._email_claims.pop(old_key, None)
        self._email_claims[new_key] = customer_id
        return self._write_live(stored, changes, stamp, removals)

    def soft_delete(self, current: Customer, stamp: Stamp, *, purge_at: int) -> None:
        self._enter("soft_delete")
        self._soft_delete(current, stamp, purge_at)

    def write_atomically(self, writes: list[PlannedWrite], stamp: Stamp, finished: BatchRecord | None = None) -> None:
        """Every write on a copy of the store; kept only if none failed (the adapter's one transaction)."""
        self._enter("write_atomically")
        saved = copy.deepcopy((self._items, self._email_claims, self._records, self._batches)), len(self.stream)
        failures: dict[int, DomainError] = {}
        for position, write in enumerate(writes):
            try:
                if isinstance(write, NewCustomerWrite):
                    self._create(write.customer, stamp, write.idempotency)
                elif isinstance(write, ChangeWrite):
                    self._apply_changes(write.current, write.changes, stamp, write.removals)
                elif isinstance(write, UnchangedCheck):
                    if self._live_at(write.current["customer_id"], write.current["version"]) is None:
                        raise WriteConflict()
                else:
                    self._soft_delete(write.current, stamp, write.purge_at)
            except (CustomerNotFound, CustomerAlreadyExists, WriteConflict):
                failures[position] = WriteConflict()
            except EmailAlreadyInUse as taken:
                failures[position] = taken
            except IdempotencyKeyTaken:
                failures[position] = RequestInProgress()
        if finished is not None:
            claim = self._batches.get(finished.key)
            if claim is None or claim.outcomes is not None:
                failures[len(writes)] = RequestInProgress()
            else:
                self._batches[finished.key] = copy.deepcopy(finished)
        if failures:
            (self._items, self._email_claims, self._records, self._batches), count = saved
            self.stream.truncate(count)
            raise WritesRefused(failures)

    def claim_batch(self, record: BatchRecord) -> BatchRecord | None:
        self._enter("claim_batch")
        existing = self._batches.get(record.key)
        if existing is not None and not existing.expires_at < int(self._clock().timestamp()):
            return copy.deepcopy(existing)
        self._batches[record.key] = copy.deepcopy(record)
        return None

    def finish_batch(self, record: BatchRecord) -> None:
        self._enter("finish_batch")
        self._batches[record.key] = copy.deepcopy(record)

    def release_batch(self, key: str) -> None:
        self._enter("release_batch")
        existing = self._batches.get(key)
        if existing is not None and existing.outcomes is None:
            del self._batches[key]

    def _soft_delete(self, current: Customer, stamp: Stamp, purge_at: int) -> None:
        customer_id = current["customer_id"]
        stored = self._live_at(customer_id, current["version"])
        claim = email_key(current["email_address"])
        if stored is None or stored.customer is None or self._email_claims.get(claim) not in (None, customer_id):
            raise WriteConflict()
        self._email_claims.pop(claim, None)
        deleted = self._stamp(stored, stamp, customer=_stamped(stored.customer, {}, stamp))
        self._put(stored, replace(deleted, deleted_at=stamp.at, purge_at=purge_at))

    def restore(self, stored: StoredCustomer, stamp: Stamp) -> Customer:
        self._enter("restore")
        assert stored.customer is not None, "an erased customer is never restored"
        current = self._items.get(stored.customer_id)
        now = int(self._clock().timestamp())  # the adapter's condition compares with whole seconds
        restorable = (
            current is not None
            and current.version == stored.version
            and current.erased_at is None
            and current.deleted_at is not None
            and current.purge_at is not None
            and current.purge_at > now
        )
        if not restorable:
            raise WriteConflict()
        assert current is not None
        claim = email_key(stored.customer["email_address"])
        if claim in self._email_claims:
            raise EmailAlreadyInUse(self._email_claims[claim])
        self._email_claims[claim] = stored.customer_id
        restored = _stamped(stored.customer, {}, stamp)
        self._put(current, replace(self._stamp(current, stamp, customer=restored), deleted_at=None, purge_at=None))
        return copy.deepcopy(restored)

    def erase(self, stored: StoredCustomer, stamp: Stamp) -> None:
        self._enter("erase")
        customer_id = stored.customer_id
        current = self._items.get(customer_id)
        if current is None or current.version != stored.version or current.erased_at is not None:
            raise WriteConflict()
        claim = None
        if stored.is_live and stored.customer is not None:
            claim = email_key(stored.customer["email_address"])
            if self._email_claims.get(claim) not in (None, customer_id):
                raise WriteConflict()
        if claim is not None:
            self._email_claims.pop(claim, None)
        record = None if stored.idempotency_key is None else self._records.get(stored.idempotency_key)
        if record is not None and record.customer_id == customer_id:
            self._records[record.key] = replace(record, fingerprint=None, customer=None)
        tombstone = StoredCustomer(
            customer_id,
            current.version + 1,
            None,
            updated_at=stamp.at,
            updated_by=stamp.by,
            request_id=stamp.request_id,
            erased_at=stamp.at,
        )
        self._put(current, tombstone)

    def bury(self, customer_id: str, version: int, stamp: Stamp) -> None:
        self._enter("bury")
        if customer_id in self._items:
            raise WriteConflict()
        tombstone = StoredCustomer(
            customer_id,
            version,
            None,
            updated_at=stamp.at,
            updated_by=stamp.by,
            request_id=stamp.request_id,
            erased_at=stamp.at,
        )
        self._put(None, tombstone)

    def page(self, limit: int, position: Position | None, where: Criteria = EVERYONE) -> Page:
        self._enter("page")
        if limit < 1:
            raise ValueError(f"page() takes a positive limit, not {limit}")
        if position is not None and not self._is_position(position, where):
            raise AssertionError(f"page() was handed a position is_position() refuses: {position!r}")
        order = where.order_field
        matching = sorted(
            (
                stored.customer
                for stored in self._items.values()
                if stored.is_live
                and stored.customer is not None
                and where.admits(stored.customer, customer_terms(stored.customer))
            ),
            key=lambda customer: order_key(customer, order),
            reverse=where.descending,
        )
        if position is not None:
            after = position["after"]
            matching = [
                c
                for c in matching
                if (order_key(c, order) < after if where.descending else order_key(c, order) > after)
            ]
        # One more than the page tells whether a next page exists, so the last page has no position.
        customers = copy.deepcopy(matching[:limit])
        if len(matching) <= limit:
            return Page(customers, None)
        return Page(customers, {"after": order_key(customers[-1], order), "listing": where.scope()})

    def is_position(self, position: Position, where: Criteria = EVERYONE) -> bool:
        self._enter("is_position")
        return self._is_position(position, where)

    # --- what a test may look at or make happen ------------------------------------------------

    def __len__(self) -> int:
        """How many items the store holds, in any state (live, soft-deleted, tombstones)."""
        return len(self._items)

    def stored_ids(self) -> set[str]:
        """The ids of every item held, in any state."""
        return set(self._items)

    def live_ids(self) -> set[str]:
        return {customer_id for customer_id, stored in self._items.items() if stored.is_live}

    def email_owner(self, address: str) -> str | None:
        """The id of the customer holding ``address`` (in any case), or None when it is free."""
        return self._email_claims.get(email_key(address))

    def purge_expired(self) -> list[str]:
        """DynamoDB's TTL sweep, which runs some time after expiry: remove soft-deleted items past ``purge_at``.

        Each removal reaches the stream as DynamoDB's own (its service principal).
        """
        now = self._clock().timestamp()
        expired = [
            customer_id
            for customer_id, stored in sorted(self._items.items())
            if stored.purge_at is not None and stored.purge_at <= now
        ]
        for customer_id in expired:
            old = self._items.pop(customer_id)
            self.stream.append(old, None, recorded_at=format_utc(self._clock()), removed_by=TTL_PRINCIPAL)
        return expired

    def lose_next_create_answer(self) -> None:
        """The next create is applied, but the caller hears what sending it again would answer."""
        self._answers_to_lose += 1

    # --- internals --------------------------------------------------------------------------

    def _create(self, customer: Customer, stamp: Stamp, idempotency: IdempotencyRecord | None) -> None:
        # The adapter's condition on the record compares with whole seconds.
        now = int(self._clock().timestamp())
        if idempotency is not None:
            existing = self._records.get(idempotency.key)
            if existing is not None and not existing.expires_at < now:
                raise IdempotencyKeyTaken()
        customer_id = customer["customer_id"]
        if customer_id in self._items:
            raise CustomerAlreadyExists()
        holder = self._email_claims.get(email_key(customer["email_address"]))
        if holder is not None:
            raise EmailAlreadyInUse(holder)
        stored = StoredCustomer(
            customer_id,
            customer["version"],
            copy.deepcopy(customer),
            updated_at=customer["updated_at"],
            updated_by=customer.get("updated_by"),
            request_id=stamp.request_id,
            idempotency_key=None if idempotency is None else idempotency.key,
        )
        self._email_claims[email_key(customer["email_address"])] = customer_id
        if idempotency is not None:
            self._records[idempotency.key] = copy.deepcopy(idempotency)
        self._put(None, stored)

    def _update(
        self,
        customer_id: str,
        changes: CustomerChanges,
        stamp: Stamp,
        expected_version: int | None,
        removals: frozenset[str] = frozenset(),
    ) -> Customer:
        stored = self._items.get(customer_id)
        if stored is None or not stored.is_live or stored.customer is None:
            raise CustomerNotFound()
        if expected_version is not None and stored.version != expected_version:
            raise WriteConflict()
        new_email = changes.get("email_address")
        if new_email is not None and email_key(new_email) != email_key(stored.customer["email_address"]):
            # The adapter would write the address without moving its claim: a broken caller.
            raise AssertionError("update() keeps the email claim; an address change goes through apply_changes()")
        return self._write_live(stored, changes, stamp, removals)

    def _live_at(self, customer_id: str, version: int) -> StoredCustomer | None:
        """The item, if it is live at ``version``: what the adapter's lifecycle conditions require."""
        stored = self._items.get(customer_id)
        if stored is None or not stored.is_live or stored.customer is None or stored.version != version:
            return None
        return stored

    def _write_live(
        self, stored: StoredCustomer, changes: CustomerChanges, stamp: Stamp, removals: frozenset[str] = frozenset()
    ) -> Customer:
        assert stored.customer is not None
        updated = _stamped(stored.customer, changes, stamp, removals)
        self._put(stored, self._stamp(stored, stamp, customer=updated))
        return copy.deepcopy(updated)

    @staticmethod
    def _stamp(stored: StoredCustomer, stamp: Stamp, *, customer: Customer) -> StoredCustomer:
        return replace(
            stored,
            version=stored.version + 1,
            customer=customer,
            updated_at=stamp.at,
            updated_by=stamp.by,
            request_id=stamp.request_id,
        )

    def _put(self, old: StoredCustomer | None, new: StoredCustomer) -> None:
        # The adapter keeps a customer's search terms until it is erased, as this does.
        new = replace(new, search_terms=() if new.customer is None else customer_terms(new.customer))
        self._items[new.customer_id] = copy.deepcopy(new)
        self.stream.append(old, new, recorded_at=format_utc(self._clock()))

    @staticmethod
    def _is_position(position: Position, where: Criteria) -> bool:
        return (
            set(position) == {"after", "listing"}
            and isinstance(position["after"], str)
            and position["listing"] == where.scope()
        )
