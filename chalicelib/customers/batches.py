"""The batch use case: many operations in one request, each on its own or all together, replayable by key.

Each operation goes through the single-customer use case of its kind, so a batch's
results are what those routes would answer. An atomic batch reads first, decides every
write against what it read, and stores them in one transaction; a write that lost a
race makes it read and decide again, like any other use case.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.customers.atomic_batches import AtomicBatch
from chalicelib.customers.bulk import (
    Operation,
    Outcome,
    Result,
    fingerprint,
    outcome_record,
    run_grouped,
    run_side_by_side,
)
from chalicelib.customers.errors import (
    DomainError,
    IdempotencyKeyReused,
    RequestInProgress,
    StoreUnavailable,
    ValidationFailed,
    WriteConflict,
)
from chalicelib.customers.ledger import BATCH_SCOPE, Ledger, record_key
from chalicelib.customers.model import Origin, email_key
from chalicelib.customers.ports import (
    BatchRecord,
    CustomerRepository,
    NewCustomerWrite,
    WritesRefused,
)
from chalicelib.customers.upserts import KnownHolder

if TYPE_CHECKING:
    from chalicelib.customers.service import CustomerService

# Outcomes a retry should not be told again: they say "try again" (throttled, out of time, contended).
_TEMPORARY = (StoreUnavailable, WriteConflict, RequestInProgress)
# How long a keyed batch's claim holds while it runs: a retry within it hears "in progress"; one
# after it (the first attempt died) runs the batch again, its creates protected by their own keys.
BATCH_LEASE_SECONDS = 120
_CREATES_PER_TRANSACTION = 40  # two items each (the customer, its claim), of a transaction's 100


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
        self._atomic = AtomicBatch(service, repository)

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
        ledger = Ledger(key, signature, now + self._service.idempotency_ttl)
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
        ledger: Ledger | None = None,
    ) -> list[Outcome]:
        if atomic:
            return self._atomic.run(operations, batch_key, origin, ledger)
        addresses = set().union(*(operation.addresses() for operation in operations))
        holders = self._repository.holders_of(addresses)
        # Who holds an address is known (as of the read above) to the first operation naming it.
        first_naming: dict[str, int] = {}
        for index, operation in enumerate(operations):
            for address in operation.addresses():
                first_naming.setdefault(address, index)

        done = {} if batch_key is not None else self._create_together(operations, holders, first_naming, origin)

        def apply(index: int, operation: Operation) -> Outcome:
            known = None
            if operation.kind == "upsert" and operation.patch is not None and operation.customer_id is None:
                address = email_key(operation.patch.changes["email_address"])
                if first_naming.get(address) == index:
                    known = KnownHolder(holders.get(address))
            return self._apply(index, operation, batch_key, origin, known)

        return run_grouped(operations, apply, holders=holders, workers=self._workers, done=done)

    def _create_together(
        self,
        operations: Sequence[Operation],
        holders: Mapping[str, str],
        first_naming: Mapping[str, int],
        origin: Origin,
    ) -> dict[int, Outcome]:
        """The creates nobody's address stands in the way of, a transaction of many at a time (an import's rows).

        Each is the first operation naming its address, which nobody held a moment ago, so it comes
        first in its group. Writing them together changes nothing a client can see (each customer
        still has its own item, claim, history and event) and saves a round trip per customer; if
        a transaction is refused (an address claimed meanwhile), its creates run one by one as usual.
        """
        fresh = [
            index
            for index, operation in enumerate(operations)
            if operation.invalid is None
            and operation.customer_id is None
            and operation.new is not None
            and operation.kind in ("create", "upsert")
            and first_naming.get(email_key(operation.new["email_address"])) == index
            and email_key(operation.new["email_address"]) not in holders
        ]
        chunks = [
            fresh[start : start + _CREATES_PER_TRANSACTION] for start in range(0, len(fresh), _CREATES_PER_TRANSACTION)
        ]
        done: dict[int, Outcome] = {}

        def write(chunk: list[int]) -> None:
            stamp = self._service.stamp(origin)
            customers = {}
            for index in chunk:
                new = operations[index].new
                assert new is not None
                customers[index] = self._service.new_customer(new, str(uuid.uuid4()), stamp)
            try:
                self._repository.write_atomically(
                    [NewCustomerWrite(customer) for customer in customers.values()], stamp
                )
            except (WritesRefused, StoreUnavailable):
                return  # one by one, then
            for index, customer in customers.items():
                done[index] = Outcome(operations[index].kind, "created", customer, customer["customer_id"])
                self._service.count("CustomersCreated")

        run_side_by_side(write, chunks, workers=self._workers)
        return done

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

    def _apply(
        self, index: int, operation: Operation, batch_key: str | None, origin: Origin, known: KnownHolder | None
    ) -> Outcome:
        """One operation through its single-customer use case; its failure is its outcome."""
        service = self._service
        try:
            if operation.invalid is not None:
                raise operation.invalid
            if operation.kind == "create":
                assert operation.new is not None
                created = service.create_with_key(operation.new, record_key(batch_key, index), origin)
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
                    record_key=record_key(batch_key, index),
                    origin=origin,
                    known_holder=known,
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
