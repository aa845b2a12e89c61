"""The DynamoDB operations each deployed function makes, per table (logical id): what the alarms watch.

DynamoDB publishes ``SystemErrors`` per table *and operation*, with no per-table total, so an
alarm must name every operation the app makes. This is that list, and it is not hand-kept
in the dark: tests/unit/test_iam_policy.py records every call each function makes while
serving every route (the consumer: every kind of change) and asserts the recording is
exactly this, and that each policy grants exactly the matching actions.
"""

from __future__ import annotations

from collections.abc import Mapping

DYNAMODB_CALLS: Mapping[str, Mapping[str, frozenset[str]]] = {
    "api": {
        "CustomersTable": frozenset({"BatchGetItem", "GetItem", "Query", "TransactWriteItems", "UpdateItem"}),
        "CustomerEmailsTable": frozenset({"BatchGetItem", "GetItem", "TransactWriteItems"}),
        "IdempotencyTable": frozenset({"DeleteItem", "GetItem", "PutItem", "TransactWriteItems"}),
        "CustomerSearchTable": frozenset({"Query"}),
        "CustomerHistoryTable": frozenset({"PutItem", "Query", "UpdateItem"}),
    },
    "consumer": {
        "CustomerSearchTable": frozenset({"BatchWriteItem"}),
        "CustomerHistoryTable": frozenset({"PutItem", "Query", "UpdateItem"}),
    },
}


def operations_on(logical_id: str) -> tuple[str, ...]:
    """Every operation any function makes on the table, sorted (the order of the alarm's metrics)."""
    return tuple(sorted({op for calls in DYNAMODB_CALLS.values() for op in calls.get(logical_id, frozenset())}))
