"""Pages of customers at a cost bounded by the page, and the positions where they continue.

A position is what the next page needs and nothing else: the Scan's start key,
or for an index the shard being read and the start key within it. The service
only signs and returns positions; :func:`is_position` is how it learns that a
(genuinely signed) position belongs to the listing it is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.customers.model import Customer, Filter, is_customer_id
from chalicelib.customers.ports import Page, Position
from chalicelib.storage.items import INDEX_FOR_FIELD, LIVE_ONLY, customer_from_item, index_value
from chalicelib.storage.store_errors import store_errors
from chalicelib.storage.tables import CUSTOMERS, IndexSpec

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef, ScanInputTypeDef


def _plain(key: dict[str, Any]) -> dict[str, str]:
    return {name: value["S"] for name, value in key.items()}


def _typed(key: dict[str, str]) -> dict[str, Any]:
    return {name: {"S": value} for name, value in key.items()}


def _key_names(index: IndexSpec) -> set[str]:
    return {name for name in (index.hash_key, index.range_key, CUSTOMERS.hash_key) if name}


def is_position(position: Position, where: Filter | None) -> bool:
    if where is None:
        return set(position) == {CUSTOMERS.hash_key} and is_customer_id(position[CUSTOMERS.hash_key])
    index = INDEX_FOR_FIELD.get(where.field)
    shard, key = position.get("shard"), position.get("key")
    if index is None or set(position) != {"shard", "key"} or isinstance(shard, bool) or not isinstance(shard, int):
        return False
    if not 0 <= shard < index.shard_count:
        return False
    if key is None:
        return True
    return isinstance(key, dict) and set(key) == _key_names(index) and all(isinstance(v, str) for v in key.values())


def scan_page(client: DynamoDBClient, table: str, limit: int, position: Position | None) -> Page:
    """One bounded Scan call: at most ``limit + 1`` items, so the last page has no next position.

    Reading one item more than the page tells whether another page exists, and
    its predecessor's key is a valid ``ExclusiveStartKey`` because a Scan walks
    the table in a fixed order.
    """
    # Soft-deleted customers and erased tombstones are not listed. The Scan still reads them (its
    # Limit counts items read, not returned), so a page may come back short, with a next_token;
    # the filters' indexes hold live customers only (a delete removes its index keys).
    request: ScanInputTypeDef = {"TableName": table, "Limit": limit + 1, "FilterExpression": LIVE_ONLY}
    if position is not None:
        request["ExclusiveStartKey"] = _typed(position)
    with store_errors():
        response = client.scan(**request)
    customers = [customer_from_item(item) for item in response.get("Items", [])]
    if len(customers) > limit:
        customers = customers[:limit]
        return Page(customers, {CUSTOMERS.hash_key: customers[-1]["customer_id"]})
    last = response.get("LastEvaluatedKey")
    # DynamoDB stops a Scan at 1 MB: a short page may still have a successor.
    return Page(customers, _plain(dict(last)) if last else None)


def index_page(client: DynamoDBClient, table: str, limit: int, position: Position | None, where: Filter) -> Page:
    """A page of the customers whose ``where.field`` is ``where.value``, from the index serving it.

    A sharded index is read shard after shard, each step one Query bounded by what
    the page still needs (plus one item, to know whether the shard has more): at most
    FILTER_SHARDS bounded calls, whatever the table's size.
    """
    index = INDEX_FOR_FIELD[where.field]
    shard = int(position["shard"]) if position else 0
    start = position.get("key") if position else None
    customers: list[Customer] = []
    for step in range(shard, index.shard_count):
        room = limit - len(customers)
        request: QueryInputTypeDef = {
            "TableName": table,
            "IndexName": index.name,
            "KeyConditionExpression": "#key = :key",
            "ExpressionAttributeNames": {"#key": index.hash_key},
            "ExpressionAttributeValues": {":key": {"S": index_value(index, where.value, step)}},
            "Limit": room + 1,
        }
        if start:
            request["ExclusiveStartKey"] = _typed(start)
        with store_errors():
            response = client.query(**request)
        items = response.get("Items", [])
        if len(items) > room:
            customers += [customer_from_item(item) for item in items[:room]]
            last = items[room - 1]
            return Page(customers, {"shard": step, "key": {name: last[name]["S"] for name in _key_names(index)}})
        customers += [customer_from_item(item) for item in items]
        last_key = response.get("LastEvaluatedKey")
        if last_key:  # DynamoDB stopped at 1 MB: continue from there
            return Page(customers, {"shard": step, "key": _plain(dict(last_key))})
        start = None
        if len(customers) == limit and step + 1 < index.shard_count:
            return Page(customers, {"shard": step + 1, "key": None})
    return Page(customers, None)
