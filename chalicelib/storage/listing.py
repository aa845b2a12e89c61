"""Pages of customers in any order, with any criteria, at a cost bounded by the page.

Every listing is served by one source: an index of the customers table, or the
search table, each sharded (tables.py). A page queries each shard of the source
from where it stopped, merges the shards in the source's order, and reads the
candidates' customers from the table in one consistent BatchGetItem: a customer
deleted or changed a moment ago (while an index catches up) shows as it is now,
or not at all. What the source cannot answer by itself (a second filter, a range
on another field, a search in a sorted list) is checked on each candidate, and a
page stops after ``READ_FACTOR * limit`` candidates: it may then come back
shorter than ``limit``, with a ``next_token`` to go on.

A position is one entry per shard: the sort key of the last candidate taken from it
(the rest of its key follows: the hash key is the shard's, and every sort key ends in
the customer id), ``None`` before its first, or ``"end"`` when it has nothing more.
Tokens carry positions, so they stay small (a URL of a few KB at most).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.customers.criteria import Criteria, value_text
from chalicelib.customers.model import Customer, is_customer_id
from chalicelib.customers.ports import Page, Position
from chalicelib.customers.search import lookup_prefix
from chalicelib.storage.items import (
    INDEX_FOR_FIELD,
    index_value,
    sharded,
    stored_from_item,
)
from chalicelib.storage.store_errors import store_errors
from chalicelib.storage.tables import (
    BY_CREATED,
    BY_EMAIL,
    CUSTOMER_SEARCH,
    CUSTOMERS,
    ORDER_INDEXES,
    SEARCH_PREFIX_LENGTH,
    SHARDS,
    VALUE_ORDER,
    IndexSpec,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef

# A page takes at most this many candidates per customer it may return.
READ_FACTOR = 4
_END = "end"
# The filter whose index serves a list in creation order, most selective first.
_FILTERS_BY_SELECTIVITY = ("state", "customer_status", "is_loyalty_member")
# Above every character of a customer id: an inclusive upper bound on "<value>|<id>" keys.
_AFTER_ANY_ID = "|~"
_BATCH_GET_LIMIT = 100
_ID_LENGTH = 36


@dataclass(frozen=True)
class Source:
    """Where a listing's candidates come from, in order."""

    table: str
    index: str | None  # None: the table itself (the search table)
    hash_key: str
    range_key: str | None
    hash_values: tuple[str, ...]  # one per shard
    lower: str | None = None  # inclusive bound on the range key
    upper: str | None = None  # inclusive bound (exclusive ones are given as the bare value: keys end in "|<id>")
    descending: bool = False

    def start_key(self, hash_value: str, sort_value: str) -> dict[str, dict[str, str]]:
        """The ExclusiveStartKey after the candidate whose sort value (or, without a range key, id) is given."""
        key = {self.hash_key: {"S": hash_value}}
        if self.range_key is None:
            return {**key, CUSTOMERS.hash_key: {"S": sort_value}}
        key[self.range_key] = {"S": sort_value}
        if self.index is not None:  # a GSI's key includes the table's
            key[CUSTOMERS.hash_key] = {"S": _customer_id_of(sort_value)}
        return key


def plan(criteria: Criteria, customers_table: str, search_table: str) -> Source:
    """The source that answers ``criteria`` best: exactly where one index can, else in its order."""
    if criteria.email_address is not None:
        return _index_source(customers_table, BY_EMAIL, (index_value(BY_EMAIL, criteria.email_address),))
    order, descending = criteria.order_field, criteria.descending
    text = criteria.text
    if text is not None and order == "last_name":
        prefix = lookup_prefix(text, SEARCH_PREFIX_LENGTH)
        terms = tuple(sharded(prefix, shard) for shard in range(SHARDS))
        return Source(
            search_table, None, CUSTOMER_SEARCH.hash_key, CUSTOMER_SEARCH.range_key, terms, descending=descending
        )
    if order == "created_at":
        index = BY_CREATED
        hash_values = _shards(index)
        for name in _FILTERS_BY_SELECTIVITY:
            value = getattr(criteria, name)
            if value is not None:
                index = INDEX_FOR_FIELD[name]
                hash_values = tuple(index_value(index, value, shard) for shard in range(index.shard_count))
                break
        return _index_source(
            customers_table, index, hash_values, criteria.created_after, criteria.created_before, descending
        )
    index = ORDER_INDEXES[order]
    lower = upper = None
    if index.range_key == VALUE_ORDER:
        if criteria.min_lifetime_value is not None:
            lower = value_text(criteria.min_lifetime_value)
        if criteria.max_lifetime_value is not None:
            upper = value_text(criteria.max_lifetime_value) + _AFTER_ANY_ID
    return _index_source(customers_table, index, _shards(index), lower, upper, descending)


def _shards(index: IndexSpec) -> tuple[str, ...]:
    return tuple(str(shard) for shard in range(index.shard_count))


def _index_source(
    table: str,
    index: IndexSpec,
    hash_values: tuple[str, ...],
    lower: str | None = None,
    upper: str | None = None,
    descending: bool = False,
) -> Source:
    return Source(table, index.name, index.hash_key, index.range_key, hash_values, lower, upper, descending)


def is_position(position: Position, source: Source) -> bool:
    entries = position.get("s")
    if set(position) != {"s"} or not isinstance(entries, list) or len(entries) != len(source.hash_values):
        return False
    for entry in entries:
        if entry is None or entry == _END:
            continue
        if not isinstance(entry, str) or not is_customer_id(_customer_id_of(entry)):
            return False
    return True


def _customer_id_of(sort_value: str) -> str:
    """Every sort key ends in the customer id (after "|", or the name order's separator); an id is itself."""
    return sort_value[-_ID_LENGTH:]


@dataclass
class _Cursor:
    """One shard of the source: what has been fetched and not yet taken, and where to fetch next."""

    hash_value: str
    start: dict[str, Any] | None  # ExclusiveStartKey of the next fetch
    more: bool  # whether DynamoDB may hold more after what was fetched
    start_of_page: str | None  # where this page began in the shard
    taken: str | None = None  # sort value of the last candidate taken this page
    buffer: list[dict[str, Any]] = field(default_factory=list)

    def position(self) -> str | None:
        """Where the next page goes on: after the last candidate taken (fetched but untaken ones are read again)."""
        if not self.buffer and not self.more:
            return _END
        return self.taken if self.taken is not None else self.start_of_page


class Lister:
    def __init__(self, client: DynamoDBClient, customers_table: str, search_table: str) -> None:
        self._client = client
        self._customers = customers_table
        self._search = search_table

    def source(self, criteria: Criteria) -> Source:
        return plan(criteria, self._customers, self._search)

    def page(self, criteria: Criteria, limit: int, position: Position | None) -> Page:
        source = self.source(criteria)
        entries = position["s"] if position is not None else [None] * len(source.hash_values)
        cursors = [
            _Cursor(
                value,
                start=None if entry in (None, _END) else source.start_key(value, entry),
                more=entry != _END,
                start_of_page=entry,
            )
            for value, entry in zip(source.hash_values, entries, strict=True)
        ]
        budget = READ_FACTOR * limit
        taken = 0
        customers: list[Customer] = []
        seen: set[str] = set()
        while len(customers) < limit and taken < budget:
            need = min(limit - len(customers), budget - taken)
            candidates = self._take(source, cursors, need)
            if not candidates:
                break
            taken += len(candidates)
            found = self._hydrate([str(item[CUSTOMERS.hash_key]["S"]) for item in candidates])
            for item in candidates:
                stored = found.get(str(item[CUSTOMERS.hash_key]["S"]))
                if stored is None or stored[0]["customer_id"] in seen:
                    continue  # gone, or found twice (a search index catching up with a rename)
                seen.add(stored[0]["customer_id"])
                customer, terms = stored
                if criteria.admits(customer, terms):
                    customers.append(customer)
        if all(cursor.position() == _END for cursor in cursors):
            return Page(customers, None)
        return Page(customers, {"s": [cursor.position() for cursor in cursors]})

    def _take(self, source: Source, cursors: list[_Cursor], count: int) -> list[dict[str, Any]]:
        """The next ``count`` candidates in the source's order, merged across its shards."""
        taken: list[dict[str, Any]] = []
        while len(taken) < count:
            for cursor in cursors:
                if not cursor.buffer and cursor.more:
                    self._fetch(source, cursor, count - len(taken))
            heads = [cursor for cursor in cursors if cursor.buffer]
            if not heads:
                break
            pick = (max if source.descending else min)(heads, key=lambda cursor: _sort_value(source, cursor.buffer[0]))
            item = pick.buffer.pop(0)
            pick.taken = _sort_value(source, item)
            taken.append(item)
        return taken

    def _fetch(self, source: Source, cursor: _Cursor, count: int) -> None:
        names = {"#h": source.hash_key}
        values: dict[str, Any] = {":h": {"S": cursor.hash_value}}
        condition = "#h = :h"
        if source.range_key is not None and (source.lower is not None or source.upper is not None):
            names["#r"] = source.range_key
            if source.lower is not None and source.upper is not None:
                condition += " AND #r BETWEEN :lo AND :hi"
            elif source.lower is not None:
                condition += " AND #r >= :lo"
            else:
                condition += " AND #r <= :hi"
            if source.lower is not None:
                values[":lo"] = {"S": source.lower}
            if source.upper is not None:
                values[":hi"] = {"S": source.upper}
        request: QueryInputTypeDef = {
            "TableName": source.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not source.descending,
            "Limit": max(count, 1),
        }
        if source.index is not None:
            request["IndexName"] = source.index
        if cursor.start is not None:
            request["ExclusiveStartKey"] = cursor.start
        with store_errors():
            response = self._client.query(**request)
        cursor.buffer.extend(response.get("Items", []))
        last = response.get("LastEvaluatedKey")
        cursor.more = last is not None
        cursor.start = None if last is None else dict(last)

    def _hydrate(self, ids: list[str]) -> dict[str, tuple[Customer, tuple[str, ...]]]:
        """The live customers among ``ids``, with their search terms, read consistently."""
        found: dict[str, tuple[Customer, tuple[str, ...]]] = {}
        for offset in range(0, len(ids), _BATCH_GET_LIMIT):
            keys: list[dict[str, Any]] = [
                {CUSTOMERS.hash_key: {"S": customer_id}}
                for customer_id in dict.fromkeys(ids[offset : offset + _BATCH_GET_LIMIT])
            ]
            pause = 0.02
            while keys:
                with store_errors():
                    response = self._client.batch_get_item(
                        RequestItems={self._customers: {"Keys": keys, "ConsistentRead": True}}
                    )
                for item in response.get("Responses", {}).get(self._customers, []):
                    stored = stored_from_item(item)
                    if stored.is_live and stored.customer is not None:
                        found[stored.customer_id] = (stored.customer, stored.search_terms)
                unprocessed: dict[str, Any] = dict(response.get("UnprocessedKeys", {}))
                keys = list(unprocessed.get(self._customers, {}).get("Keys", []))
                if keys:  # throttled: DynamoDB asks for a pause before the rest
                    time.sleep(pause)
                    pause = min(pause * 2, 0.5)
        return found


def _sort_value(source: Source, item: dict[str, Any]) -> str:
    if source.range_key is None:
        return str(item[CUSTOMERS.hash_key]["S"])
    return str(item[source.range_key]["S"])
