"""The batch use case: many operations in one request, each on its own or all together, replayable by key.

Each operation goes through the single-customer use case of its kind, so a batch's
results are what those routes would answer. An atomic batch reads first, decides every
write against what it read, and stores them in one transaction; a write that lost a
race makes it read and decide again, like any other use case.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.customers.bulk import (
    BatchRejected,
    Operation,
    Outcome,
    Result,
    fingerprint,
    outcome_record,
    run_grouped,
)
from chalicelib.customers.errors import (
    DomainError,
    EmailAlreadyInUse,
    IdempotencyKeyReused,
    RequestInProgress,
    StoreBusy,
    StoreUnavailable,
    ValidationFailed,
    WriteConflict,
)
from chalicelib.customers.model import Customer, Origin, Stamp, after_write, email_key
from chalicelib.customers.ports import (
    BatchRecord,
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

BATCH_SCOPE = "POST /customers/batch"
# Where each create of a keyed batch keeps its own record: no client key can spell one (a batch's
# record is "<BATCH_SCOPE> <key>", with a space where this has "#").
OPERATION_SCOPE = f"{BATCH_SCOPE}#operation"
# Outcomes a retry should not be told again: they say "try again" (throttled, out of time, contended).
_TEMPORARY = (StoreUnavailable, WriteConflict, RequestInProgress)
# How long a keyed batch's claim holds while it runs: a retry within it hears "in progress"; one
# after it (the first attempt died) runs the batch again, its creates protected by their own keys.
BATCH_LEASE_SECONDS = 120
_METRICS = {"created": "CustomersCreated", "updated": "CustomersUpdated", "deleted": "CustomersDeleted"}


@dataclass(frozen=True)
class _Ledger:
    """Where a keyed batch's outcomes go once it is done."""

    key: str
    fingerprint: str
    expires_at: int

    def finished(self, outcomes: list[dict[str, Any]]) -> BatchRecord:
        return BatchRecord(self.key, self.fingerprint, outcomes, self.expires_at)


@dataclass(frozen=True)
class BatchResult:
    outcomes: list[Outcome]
    replayed: bool  # True when an Idempotency-Key found the outcomes of an earlier request


def _error_types() -> dict[str, type[DomainError]]:
    found: dict[str, type[DomainError]] = {}
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        kind = pending.pop()
        found[kind.__name__] = kind
        pending.extend(kind.__subclasses__())
    return found


def _recorded_error(record: dict[str, Any], operation: Operation) -> DomainError:
    """The error a recorded outcome had; a validation failure is worked out again from the same body.

    (Validation details may quote the input, so the record keeps only that it was one: see bulk.outcome_record.)
    """
    if record["type"] == ValidationFailed.__name__:
        return operation.invalid or operation.cannot_create or ValidationFailed("Invalid request body.")
    kind = _error_types().get(record["type"], DomainError)
    error = kind.__new__(kind)
    DomainError.__init__(error, record["message"], record["details"])
    return error


class Batches:
    def __init__(self, service: CustomerService, repository: CustomerRepository, *, workers: int) -> None:
        self._service = service
        self._repository = repository
        self._workers = workers  # operations of different customers in flight at once

    def run(
        self, operations: Sequence[Operation], *, atomic: bool, idempotency_key: str | None, origin: Origin
    ) -> BatchResult:
        """The outcomes in input order; raises BatchRejected when an atomic batch wrote nothing.

        With an Idempotency-Key, the same batch again answers the first one's outcomes; its
        record holds no personal data (customers are shown as they are now).
        """
        if idempotency_key is None:
            return BatchResult(self._run(operations, atomic, None, origin), replayed=False)
        key = f"{BATCH_SCOPE} {idempotency_key}"
        signature = fingerprint(operations, atomic=atomic)
        now = self._service.now_seconds()
        existing = self._repository.claim_batch(BatchRecord(key, signature, None, now + BATCH_LEASE_SECONDS))
        if existing is not None:
            if existing.fingerprint != signature:
                raise IdempotencyKeyReused()
            if existing.outcomes is None:
                raise RequestInProgress()
            return BatchResult(self._replayed(operations, existing.outcomes), replayed=True)
        ledger = _Ledger(key, signature, now + self._service.idempotency_ttl)
        try:
            outcomes = self._run(operations, atomic, idempotency_key, origin, ledger)
        except BaseException:
            # Nothing to replay: the key may be used again (a rerun's creates are protected by their own keys).
            self._repository.release_batch(key)
            raise
        if any(isinstance(outcome.error, _TEMPORARY) for outcome in outcomes):
            # A retry must run those again, not hear "try again" replayed: forget the key. What did
            # apply is safe to run again (a create's own key replays it; an update finds nothing to change).
            self._repository.release_batch(key)
            return BatchResult(outcomes, replayed=False)
        if not atomic:  # an atomic batch stored its record with its writes
            self._repository.finish_batch(ledger.finished([outcome_record(outcome) for outcome in outcomes]))
        return BatchResult(outcomes, replayed=False)

    def _run(
        self,
        operations: Sequence[Operation],
        atomic: bool,
        batch_key: str | None,
        origin: Origin,
        ledger: _Ledger | None = None,
    ) -> list[Outcome]:
        if atomic:
            return self._atomically(operations, batch_key, origin, ledger)
        addresses = set().union(*(operation.addresses() for operation in operations))
        return run_grouped(
            operations,
            lambda index, operation: self._apply(index, operation, batch_key, origin),
            holders=self._repository.holders_of(addresses),
            workers=self._workers,
        )

    def _replayed(self, operations: Sequence[Operation], records: list[dict[str, Any]]) -> list[Outcome]:
        outcomes = []
        for operation, record in zip(operations, records, strict=True):
            customer_id = record.get("customer_id")
            if "error" in record:
                error = _recorded_error(record["error"], operation)
                outcomes.append(Outcome(operation.kind, None, customer_id=customer_id, error=error))
                continue
            customer = None
            if customer_id is not None and record["result"] != "deleted":
                stored = self._repository.read(customer_id)
                customer = stored.customer if stored is not None and stored.is_live else None
            outcomes.append(Outcome(operation.kind, record["result"], customer, customer_id))
        return outcomes

    @staticmethod
    def _record_key(batch_key: str | None, index: int) -> str | None:
        """Each create of a keyed batch has a key of its own: a rerun of the batch never creates it twice."""
        return None if batch_key is None else f"{OPERATION_SCOPE} {index} {batch_key}"

    def _apply(self, index: int, operation: Operation, batch_key: str | None, origin: Origin) -> Outcome:
        """One operation through its single-customer use case; its failure is its outcome."""
        service = self._service
        try:
            if operation.invalid is not None:
                raise operation.invalid
            if operation.kind == "create":
                assert operation.new is not None
                created = service.create_with_key(operation.new, self._record_key(batch_key, index), origin)
                return Outcome("create", "created", created.customer, created.customer["customer_id"])
            if operation.kind == "update":
                assert operation.customer_id is not None
                assert operation.patch is not None
                changed = service.change_customer(
                    operation.customer_id, operation.patch, operation.preconditions, origin=origin
                )
                result: Result = "updated" if changed.written else "unchanged"
                return Outcome("update", result, changed.customer, operation.customer_id)
            if operation.kind == "upsert":
                assert operation.patch is not None
                upserted = service.upserts.upsert(
                    operation.patch,
                    operation.new,
                    customer_id=operation.customer_id,
                    cannot_create=operation.cannot_create,
                    record_key=self._record_key(batch_key, index),
                    origin=origin,
                )
                upsert_result: Result = (
                    "created" if upserted.created else "updated" if upserted.written else "unchanged"
                )
                return Outcome("upsert", upsert_result, upserted.customer, upserted.customer["customer_id"])
            assert operation.customer_id is not None
            service.delete_customer(operation.customer_id, operation.preconditions, origin=origin)
            return Outcome("delete", "deleted", customer_id=operation.customer_id)
        except DomainError as error:
            return Outcome(operation.kind, None, customer_id=operation.customer_id, error=error)

    # --- all or nothing -------------------------------------------------------------------

    def _atomically(
        self, operations: Sequence[Operation], batch_key: str | None, origin: Origin, ledger: _Ledger | None
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
                if outcome.result in _METRICS:
                    self._service.count(_METRICS[outcome.result])
            return outcomes
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _attempt(
        self,
        operations: Sequence[Operation],
        batch_key: str | None,
        origin: Origin,
        ledger: _Ledger | None,
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
            record_key = self._record_key(batch_key, index)
            replayed = None if record_key is None else service.replayed_create(record_key, operation.new)
            if replayed is not None:  # this batch ran before and its transaction was stored
                return Outcome(operation.kind, "created", replayed, replayed["customer_id"]), None
            customer = service.new_customer(operation.new, str(uuid.uuid4()), stamp)
            record = None if record_key is None else service.create_record(record_key, operation.new, customer)
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
