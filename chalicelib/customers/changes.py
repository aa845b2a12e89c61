"""What one change of the customers table means: its history entry (and event), from the item before and after.

The consumer calls this for every stream record, so the rules live in one pure
function: which kind of change it was, which fields it touched, who made it. A
record that changed no version (a backfill of index keys) is no change at all.
"""

from __future__ import annotations

from typing import Any

from chalicelib.customers.model import WRITABLE_FIELDS, ChangeKind, HistoryEntry, StoredCustomer, names_only
from chalicelib.customers.ports import StreamChange

UNKNOWN_ACTOR = "unknown"


def _fields(stored: StoredCustomer | None) -> dict[str, Any]:
    if stored is None or stored.customer is None:
        return {}
    customer: dict[str, Any] = dict(stored.customer)
    return {name: customer[name] for name in WRITABLE_FIELDS if name in customer}


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Only the fields that changed, in the API's field order; a field added or removed goes from/to None."""
    return {
        name: {"from": before.get(name), "to": after.get(name)}
        for name in WRITABLE_FIELDS
        if before.get(name) != after.get(name)
    }


def describe_change(change: StreamChange) -> HistoryEntry | None:
    old, new = change.old, change.new
    if new is None:
        if old is None or old.erased_at is not None:
            return None  # a tombstone removed by hand: nothing personal, nothing to tell
        # Removed by DynamoDB's TTL at the end of the restore window (or by an operator).
        return HistoryEntry(
            old.customer_id,
            old.version + 1,
            "purged",
            occurred_at=change.recorded_at,
            actor=change.removed_by or UNKNOWN_ACTOR,
            request_id=None,
            changes={},
        )
    if old is not None and old.version == new.version:
        return None
    actor = new.updated_by or UNKNOWN_ACTOR

    def entry(
        kind: ChangeKind, changes: dict[str, dict[str, Any]], *, with_customer: bool, redacted: bool = False
    ) -> HistoryEntry:
        return HistoryEntry(
            new.customer_id,
            new.version,
            kind,
            occurred_at=new.updated_at,
            actor=actor,
            request_id=new.request_id,
            changes=changes,
            customer=new.customer if with_customer else None,
            redacted=redacted,
        )

    if new.erased_at is not None:
        # The names of what was erased, never a value.
        return entry("erased", names_only(_fields(old)), with_customer=False, redacted=True)
    if old is None:
        return entry("created", _diff({}, _fields(new)), with_customer=True)
    if old.deleted_at is None and new.deleted_at is not None:
        return entry("deleted", {}, with_customer=False)
    if old.deleted_at is not None and new.deleted_at is None:
        return entry("restored", {}, with_customer=True)
    return entry("updated", _diff(_fields(old), _fields(new)), with_customer=True)
