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

from chalicelib.customers.model import RESPONSE_FIELDS


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
