"""Consumed capacity of everything one botocore client does, as DynamoDB reports it.

A hook asks every call that can say for ``ReturnConsumedCapacity`` (``TOTAL``, or
``INDEXES`` for each table's and index's share); another adds up the answers into
the open :class:`Reading`, read and write units apart, per table and per
``table/index``. It also counts what a listing reads: the items its Queries
return (the candidates fetched from an index) and the keys its BatchGetItems ask
for (the candidates read back from the table).

Standard library only, and nothing of the app: bench/capacity.py copies this file
into an older tree and runs it there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


@dataclass
class Reading:
    """What the calls made while it was open consumed."""

    rcu: float = 0.0
    wcu: float = 0.0
    # Units by table or "table/index", read and write apart: {"r": {...}, "w": {...}}.
    where: dict[str, dict[str, float]] = field(default_factory=lambda: {"r": {}, "w": {}})
    calls: list[str] = field(default_factory=list)
    query_items: int = 0  # items the Queries returned
    batch_get_keys: int = 0  # keys the BatchGetItems asked for (retried ones again)

    def add(self, operation: str, consumed: dict[str, Any]) -> None:
        kind = "w" if operation in WRITE_OPERATIONS else "r"
        units = float(consumed.get("CapacityUnits", 0.0))
        if kind == "w":
            self.wcu += units
        else:
            self.rcu += units
        table = str(consumed.get("TableName", "?"))
        shares = {
            f"{table}/{name}": float(share.get("CapacityUnits", 0.0))
            for kind_of_index in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
            for name, share in (consumed.get(kind_of_index) or {}).items()
        }
        # Without a per-table figure (TOTAL only), whatever is not an index's is the table's.
        table_share = (consumed.get("Table") or {}).get("CapacityUnits")
        shares[table] = float(units - sum(shares.values()) if table_share is None else table_share)
        for name, share in shares.items():
            self.where[kind][name] = self.where[kind].get(name, 0.0) + share

    def as_dict(self) -> dict[str, Any]:
        return {
            "rcu": self.rcu,
            "wcu": self.wcu,
            "where": self.where,
            "calls": self.calls,
            "query_items": self.query_items,
            "batch_get_keys": self.batch_get_keys,
        }


class Meter:
    """Hooks on one botocore client; calls made while no reading is open are asked too, but counted nowhere."""

    def __init__(self, client: Any, detail: str = "INDEXES") -> None:
        self._reading: Reading | None = None
        self._detail = detail
        client.meta.events.register("before-parameter-build.dynamodb.*", self._ask)
        client.meta.events.register("after-call.dynamodb.*", self._count)

    def _ask(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params["ReturnConsumedCapacity"] = self._detail
        if self._reading is not None and model.name == "BatchGetItem":
            self._reading.batch_get_keys += sum(len(request["Keys"]) for request in params["RequestItems"].values())

    def _count(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if self._reading is None:
            return
        consumed = parsed.get("ConsumedCapacity")
        entries = consumed if isinstance(consumed, list) else [] if consumed is None else [consumed]
        self._reading.calls.append(str(model.name))
        if model.name == "Query":
            self._reading.query_items += len(parsed.get("Items", []))
        for entry in entries:
            self._reading.add(str(model.name), entry)

    @contextlib.contextmanager
    def reading(self) -> Iterator[Reading]:
        self._reading = Reading()
        try:
            yield self._reading
        finally:
            self._reading = None
