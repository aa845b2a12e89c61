"""A customer as the API answers it.

Stored values are already in wire form but for money (a Decimal) and the version,
so this only orders the keys as the schema declares them and converts those two:
marshmallow's per-field ``dump`` machinery is not on the request path, and
tests/unit/test_schemas.py holds :func:`dump_customer` equal to ``CustomerSchema().dump``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from chalicelib.customers.model import RESPONSE_FIELDS, Export, HistoryEntry


def money_json(value: Decimal | int) -> int | float:
    """An amount as a JSON number: whole amounts as integers, others as the float with the same digits."""
    number = Decimal(value)
    return int(number) if number == number.to_integral_value() else float(number)


def dump_customer(customer: Mapping[str, Any]) -> dict[str, Any]:
    shown = {name: customer[name] for name in RESPONSE_FIELDS if name in customer}
    if "lifetime_value" in shown:
        shown["lifetime_value"] = money_json(shown["lifetime_value"])
    if "version" in shown:
        shown["version"] = int(shown["version"])
    if "preferred_communication_channels" in shown:
        shown["preferred_communication_channels"] = list(shown["preferred_communication_channels"])
    return shown


def _wire(value: Any) -> Any:
    if isinstance(value, Decimal):
        return money_json(value)
    if isinstance(value, list | tuple | set):
        return [_wire(element) for element in value]
    return value


def dump_entry(entry: HistoryEntry) -> dict[str, Any]:
    """One history entry: what changed (each field from/to), when, by whom, in which request."""
    return {
        "version": entry.version,
        "change": entry.change,
        "occurred_at": entry.occurred_at,
        "actor": entry.actor,
        "request_id": entry.request_id,
        "changes": {
            name: {"from": _wire(change.get("from")), "to": _wire(change.get("to"))}
            for name, change in entry.changes.items()
        },
        "redacted": entry.redacted,
    }


def dump_event(entry: HistoryEntry) -> dict[str, Any]:
    """One item of GET /events: the change event's detail with its type."""
    detail = entry.detail()
    customer = detail.pop("customer")
    return {
        "event_id": detail.pop("event_id"),
        "type": entry.event_type,
        **detail,
        "customer": None if customer is None else dump_customer(customer),
    }


def dump_export(export: Export) -> dict[str, Any]:
    customer = dump_customer(export.customer)
    if export.deleted_at is not None:
        customer["deleted_at"] = export.deleted_at
        customer["restorable_until"] = export.restorable_until
    return {
        "customer": customer,
        "history": [dump_entry(entry) for entry in export.history],
        "exported_at": export.exported_at,
    }
