"""An atomic batch: read everything, decide every write, store them all in one transaction or none.

A write that lost a race (the customer changed since it was read, another transaction held an
item, an upsert's free address was claimed meanwhile) makes it read and decide again, like any
use case; anything else refused writes nothing and names every operation that failed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from chalicelib.customers.bulk import BatchRejected, Operation, Outcome, outcome_record
from chalicelib.customers.errors import (
    DomainError,
    EmailAlreadyInUse,
    RequestInProgress,
    StoreBusy,
    ValidationFailed,
    WriteConflict,
)
from chalicelib.customers.ledger import Ledger, record_key
from chalicelib.customers.model import Customer, Origin, Stamp, after_write, email_key
from chalicelib.customers.ports import (
    ChangeWrite,
    CustomerRepository,
    DeleteWrite,
    NewCustomerWrite,
    PlannedWrite,
    UnchangedCheck,
    WritesRefused,
)
from chalicelib.customers.retry import CONFLICT_ATTEMPTS

if TYPE_CHECKING:
    from chalicelib.customers.service import CustomerService

METRICS = {"created": "CustomersCreated", "updated": "CustomersUpdated", "deleted": "CustomersDeleted"}


class AtomicBatch:
    def __init__(self, service: CustomerService, repository: CustomerRepository) -> None:
        self._service = service
        self._repository = repository

    def run(
        self, operations: Sequence[Operation], batch_key: str | None, origin: Origin, ledger: Ledger | None
    ) -> list[Outcome]:
        """All or nothing; a keyed batch's finished record is written in the same transaction."""
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                last = attempt == CONFLICT_ATTEMPTS
                outcomes = self._attempt(operations, batch_key, origin, ledger, last=last)
            except (WriteConflict, StoreBusy):
                if attempt == CONFLICT_ATTEMPTS:
                    raise
                continue  # something changed since it was read, or another transaction held an item: again
            for outcome in outcomes:  # counted as their own routes count them
                if outcome.result in METRICS:
                    self._service.count(METRICS[outcome.result])
            return outcomes
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _attempt(
        self,
        operations: Sequence[Operation],
        batch_key: str | None,
        origin: Origin,
        ledger: Ledger | None,
        *,
        last: bool,
    ) -> list[Outcome]:
        stamp = self._service.stamp(origin)
        failures: dict[int, DomainError] = {}
        outcomes: list[Outcome] = []
        writes: list[PlannedWrite] = []
        operation_of: list[int] = []  # each write's operation
        upsert_creates: set[int] = set()  # writes whose address an upsert found free: taken since, it updates
        for index, operation in enumerate(operations):
            try:
                outcome, write = self._plan(index, operation, batch_key, stamp)
            except DomainError as error:
                failures[index] = error
                outcome, write = Outcome(operation.kind, None, customer_id=operation.customer_id, error=error), None
            outcomes.append(outcome)
            if write is not None:
                if operation.kind == "upsert" and isinstance(write, NewCustomerWrite):
                    upsert_creates.add(len(writes))
                writes.append(write)
                operation_of.append(index)
        if failures:
            # Nothing will be written; the transaction would also have refused any address taken.
            failures.update(self._taken_addresses(writes, operation_of))
            raise BatchRejected(failures, len(operations))
        _refuse_shared_items(writes, operation_of)
        finished = None if ledger is None else ledger.finished([outcome_record(outcome) for outcome in outcomes])
        if writes or finished is not None:
            try:
                self._repository.write_atomically(writes, stamp, finished)
            except WritesRefused as refused:
                lost_races = all(
                    isinstance(error, WriteConflict)
                    or (isinstance(error, EmailAlreadyInUse) and position in upsert_creates)
                    for position, error in refused.failures.items()
                )
                if lost_races and not last:
                    raise WriteConflict() from None
                if len(writes) in refused.failures:  # the batch's own record: another run took the key over
                    raise RequestInProgress() from None
                failed = {operation_of[position]: error for position, error in refused.failures.items()}
                raise BatchRejected(failed, len(operations)) from None
        return outcomes

    def _taken_addresses(self, writes: list[PlannedWrite], operation_of: list[int]) -> dict[int, DomainError]:
        """The planned writes whose new address another customer holds: a rejected batch names them too."""
        claims = {}
        for write, index in zip(writes, operation_of, strict=True):
            if isinstance(write, NewCustomerWrite):
                claims[index] = (write.customer["customer_id"], write.customer["email_address"])
            elif isinstance(write, ChangeWrite) and "email_address" in write.changes:
                claims[index] = (write.current["customer_id"], write.changes["email_address"])
        holders = self._repository.holders_of({email_key(address) for _, address in claims.values()})
        taken: dict[int, DomainError] = {}
        for index, (customer_id, address) in claims.items():
            holder = holders.get(email_key(address))
            if holder is not None and holder != customer_id:
                taken[index] = EmailAlreadyInUse(holder)
        return taken

    def _plan(
        self, index: int, operation: Operation, batch_key: str | None, stamp: Stamp
    ) -> tuple[Outcome, PlannedWrite | None]:
        """What the operation would answer, and the write that makes it so (None: nothing to write)."""
        service = self._service
        if operation.invalid is not None:
            raise operation.invalid
        if operation.kind == "delete":
            assert operation.customer_id is not None
            current = service.current(operation.customer_id, operation.preconditions)
            return Outcome("delete", "deleted", customer_id=current["customer_id"]), DeleteWrite(
                current, service.purge_at()
            )
        assert operation.patch is not None or operation.kind == "create"
        target = operation.customer_id
        if operation.kind == "upsert":
            assert operation.patch is not None
            target = self._repository.holder_of(operation.patch.changes["email_address"])
        if target is None:  # a create, or an upsert that nobody's address answers
            if operation.new is None:
                raise operation.cannot_create or ValidationFailed("Invalid request body.")
            key = record_key(batch_key, index)
            replayed = None if key is None else service.replayed_create(key, operation.new)
            if replayed is not None:  # this batch ran before and its transaction was stored
                return Outcome(operation.kind, "created", replayed, replayed["customer_id"]), None
            customer = service.new_customer(operation.new, str(uuid.uuid4()), stamp)
            record = None if key is None else service.create_record(key, operation.new, customer)
            return Outcome(operation.kind, "created", customer, customer["customer_id"]), NewCustomerWrite(
                customer, record
            )
        assert operation.patch is not None
        current = service.current(target, operation.preconditions)
        if operation.patch.changes_nothing(current):
            # Nothing to write, but the transaction checks it is still as read (its If-Match held).
            return Outcome(operation.kind, "unchanged", current, target), UnchangedCheck(current)
        changes = service.stored_changes(operation.patch)
        removals = operation.patch.stored_removals
        written: Customer = after_write(current, changes, stamp, removals)
        return Outcome(operation.kind, "updated", written, target), ChangeWrite(current, changes, removals)


def _refuse_shared_items(writes: list[PlannedWrite], operation_of: list[int]) -> None:
    """One transaction may write each item once: two writes of one customer or one address are refused.

    The edge refuses the same id twice before anything is read; this also catches an upsert that
    found a customer another operation names, and two operations claiming (or one freeing and
    another claiming) one address.
    """
    seen: dict[str, int] = {}
    problems: dict[str, list[str]] = {}
    for write, index in zip(writes, operation_of, strict=True):
        for item, what in _items_of(write):
            earlier = seen.setdefault(item, index)
            if earlier != index:
                problems[str(index)] = [
                    f"Touches the same {what} as operation {earlier}: an atomic batch writes each "
                    f"customer and each email address once."
                ]
    if problems:
        raise ValidationFailed("Invalid batch request.", details={"operations": problems})


def _items_of(write: PlannedWrite) -> list[tuple[str, str]]:
    if isinstance(write, NewCustomerWrite):
        customer = write.customer
        return [(f"id {customer['customer_id']}", "customer"), (_address(customer["email_address"]), "email address")]
    items = [(f"id {write.current['customer_id']}", "customer")]
    if isinstance(write, UnchangedCheck):
        return items
    if isinstance(write, DeleteWrite):
        return [*items, (_address(write.current["email_address"]), "email address")]
    new_address = write.changes.get("email_address")
    if new_address is not None and email_key(new_address) != email_key(write.current["email_address"]):
        items += [(_address(new_address), "email address"), (_address(write.current["email_address"]), "email address")]
    return items


def _address(address: str) -> str:
    return f"email {email_key(address)}"
