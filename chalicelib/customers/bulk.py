"""Many operations in one request: each on its own, or all or nothing (the batch route and the import tool).

A batch is a list of the single-customer use cases, so each operation keeps the
rules, errors, history and events of its own route. What is added here is the
order: operations that touch the same customer (by id or by email address) run one
after another in input order, and the rest run side by side. An atomic batch reads
everything first, decides every write, and hands them to storage as one transaction.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from chalicelib.customers.conditions import UNCONDITIONAL, Preconditions
from chalicelib.customers.errors import DomainError, ValidationFailed
from chalicelib.customers.model import Customer, NewCustomer, Patch, email_key

T = TypeVar("T")
OperationKind = Literal["create", "update", "upsert", "delete"]
Result = Literal["created", "updated", "unchanged", "deleted"]

MAX_OPERATIONS = 100
MAX_ATOMIC_OPERATIONS = 25  # each takes up to 3 of a transaction's 100 items, with room to spare


@dataclass(frozen=True)
class Operation:
    """One operation of a batch, validated by the edge.

    ``invalid`` is why its body was refused (its result is that 400); ``new`` is the body as a
    create (an upsert's, when nobody holds the address), and ``cannot_create`` why it cannot be one.
    """

    kind: OperationKind
    customer_id: str | None = None
    patch: Patch | None = None
    new: NewCustomer | None = None
    cannot_create: ValidationFailed | None = None
    preconditions: Preconditions = UNCONDITIONAL
    invalid: ValidationFailed | None = None

    def addresses(self) -> set[str]:
        """The canonical email addresses it names (to create, to upsert by, or to move a customer to)."""
        named = [self.patch.changes.get("email_address") if self.patch else None]
        named.append(self.new["email_address"] if self.new else None)
        return {email_key(address) for address in named if address is not None}


@dataclass(frozen=True)
class Outcome:
    """What one operation did (``result``), or why it did nothing (``error``)."""

    kind: OperationKind
    result: Result | None
    customer: Customer | None = None
    customer_id: str | None = None
    error: DomainError | None = None


class BatchRejected(DomainError):
    """An atomic batch wrote nothing: ``failures`` says, for each operation that failed, why."""

    def __init__(self, failures: dict[int, DomainError], total: int) -> None:
        super().__init__(f"No operation was applied: {len(failures)} of {total} failed.")
        self.failures = dict(sorted(failures.items()))

    @property
    def invalid(self) -> bool:
        """Some operation was refused as invalid (the whole answer is then a 400, else a 409)."""
        return any(isinstance(error, ValidationFailed) for error in self.failures.values())


def in_order_groups(operations: Sequence[Operation], holders: Mapping[str, str]) -> list[list[int]]:
    """The operations' indexes in groups that may touch the same customer, each group in input order.

    An operation touches the customer it names by id, every address it names, and the customer
    holding each of those addresses now (``holders``, canonical address -> id): so an upsert by
    address and a delete by id of that address's holder share a group, and so do a create and
    the delete that frees its address. Union-find over those keys.
    """
    parent = list(range(len(operations)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    first_with: dict[str, int] = {}
    for index, operation in enumerate(operations):
        addresses = operation.addresses()
        ids = {operation.customer_id, *(holders.get(address) for address in addresses)} - {None}
        for key in {*(f"id {name}" for name in ids), *(f"email {address}" for address in addresses)}:
            other = first_with.setdefault(key, index)
            parent[root(index)] = root(other)
    groups: dict[int, list[int]] = {}
    for index in range(len(operations)):
        groups.setdefault(root(index), []).append(index)
    return list(groups.values())


def run_side_by_side(work: Callable[[T], None], items: Sequence[T], *, workers: int) -> None:
    """``work`` on every item, ``workers`` at a time (one: in order, in this thread).

    Each thread runs in a copy of the caller's context, so the request's deadline and log keys follow it.
    """
    if workers <= 1 or len(items) <= 1:
        for item in items:
            work(item)
        return
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        for future in [pool.submit(contextvars.copy_context().run, work, item) for item in items]:
            future.result()


def run_grouped(
    operations: Sequence[Operation],
    apply: Callable[[int, Operation], Outcome],
    *,
    holders: Mapping[str, str],
    workers: int,
    done: Mapping[int, Outcome] | None = None,
) -> list[Outcome]:
    """Every operation through ``apply``: groups side by side, each group in order; outcomes in input order.

    ``done``: operations already applied (each the first of its group), whose outcome is known.
    """
    outcomes: list[Outcome | None] = [None] * len(operations)
    for index, outcome in (done or {}).items():
        outcomes[index] = outcome

    def run(group: list[int]) -> None:
        for index in group:
            if outcomes[index] is None:
                outcomes[index] = apply(index, operations[index])

    run_side_by_side(run, in_order_groups(operations, holders), workers=workers)
    return [outcome for outcome in outcomes if outcome is not None]


def fingerprint(operations: Sequence[Operation], *, atomic: bool) -> str:
    """What makes two batches "the same request" for an Idempotency-Key: their validated operations."""

    def plain(operation: Operation) -> dict[str, Any]:
        preconditions = operation.preconditions.if_match
        return {
            "kind": operation.kind,
            "customer_id": operation.customer_id,
            "changes": None if operation.patch is None else operation.patch.changes,
            "removals": None if operation.patch is None else sorted(operation.patch.removals),
            "new": operation.new,
            "if_match": None if preconditions is None else [preconditions.any_version, sorted(preconditions.versions)],
            "invalid": None if operation.invalid is None else operation.invalid.details,
        }

    document = {"atomic": atomic, "operations": [plain(operation) for operation in operations]}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def outcome_record(outcome: Outcome) -> dict[str, Any]:
    """An outcome as a keyed batch's record keeps it: no personal data, only what happened and to whom."""
    record: dict[str, Any] = {"kind": outcome.kind, "result": outcome.result, "customer_id": outcome.customer_id}
    if isinstance(outcome.error, ValidationFailed):
        # Its details quote what was sent (an unknown field's name, say): the replay works them out again.
        record["error"] = {"type": ValidationFailed.__name__}
    elif outcome.error is not None:
        record["error"] = {
            "type": type(outcome.error).__name__,
            "message": outcome.error.message,
            "details": outcome.error.details,
        }
    return record
