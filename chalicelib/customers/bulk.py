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
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from chalicelib.customers.conditions import UNCONDITIONAL, Preconditions
from chalicelib.customers.errors import DomainError, ValidationFailed
from chalicelib.customers.model import Customer, NewCustomer, Patch, email_key

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

    def touches(self) -> set[str]:
        """The customers it may touch, by id and by canonical address: operations sharing one run in order."""
        keys = set() if self.customer_id is None else {f"id {self.customer_id}"}
        addresses = [self.patch.changes.get("email_address") if self.patch else None]
        addresses.append(self.new["email_address"] if self.new else None)
        for address in addresses:
            if address is not None:
                try:
                    keys.add(f"email {email_key(address)}")
                except ValueError:  # an address the rules refuse never reaches here; be safe anyway
                    keys.add(f"email {address}")
        return keys


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


def in_order_groups(operations: Sequence[Operation]) -> list[list[int]]:
    """The operations' indexes in groups that share a customer, each group in input order.

    Union-find over the keys each operation touches: an update that moves a customer to an
    address joins the group of every other operation on that address.
    """
    parent = list(range(len(operations)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    first_with: dict[str, int] = {}
    for index, operation in enumerate(operations):
        for key in operation.touches():
            other = first_with.setdefault(key, index)
            parent[root(index)] = root(other)
    groups: dict[int, list[int]] = {}
    for index in range(len(operations)):
        groups.setdefault(root(index), []).append(index)
    return list(groups.values())


def run_grouped(
    operations: Sequence[Operation], apply: Callable[[int, Operation], Outcome], *, workers: int
) -> list[Outcome]:
    """Every operation through ``apply``: groups side by side, each group in order; outcomes in input order.

    Each thread runs in a copy of the caller's context, so the request's deadline and log keys follow it.
    """
    outcomes: list[Outcome | None] = [None] * len(operations)

    def run(group: list[int]) -> None:
        for index in group:
            outcomes[index] = apply(index, operations[index])

    groups = in_order_groups(operations)
    if workers <= 1 or len(groups) == 1:
        for group in groups:
            run(group)
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(groups))) as pool:
            for future in [pool.submit(contextvars.copy_context().run, run, group) for group in groups]:
                future.result()
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
    if outcome.error is not None:
        record["error"] = {
            "type": type(outcome.error).__name__,
            "message": outcome.error.message,
            "details": outcome.error.details,
        }
    return record
