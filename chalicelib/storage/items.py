"""Customers as DynamoDB items and back, with the index keys each item carries.

Reading is on every request's path, so the common attribute types are decoded
here directly (boto3's TypeDeserializer goes through a Decimal context and a
method lookup per value); anything rarer still goes to boto3's own code.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from chalicelib.customers.model import FILTERABLE_FIELDS, Customer, email_key
from chalicelib.storage.tables import CUSTOMERS, FILTER_SHARDS, IndexSpec

# Each UpdateItem stamps the customer with a fresh id and refuses to apply over its own
# stamp. UpdateItem has no idempotency token (transactions do), so without it a write
# whose answer was lost would be applied twice by botocore's retry (version +2), or
# refused by its own version condition and reported as a conflict.
WRITE_ID = "write_id"

# The index serving each filterable field: exactly the fields the domain declares.
INDEX_FOR_FIELD: dict[str, IndexSpec] = {index.field: index for index in CUSTOMERS.indexes if index.field}
if set(INDEX_FOR_FIELD) != set(FILTERABLE_FIELDS):
    raise RuntimeError("every filterable field needs exactly one index in chalicelib/storage/tables.py")

_STORAGE_ONLY = frozenset({WRITE_ID, *(index.hash_key for index in CUSTOMERS.indexes)})
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

Item = dict[str, Any]


def attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"S": value}
    return cast(dict[str, Any], _serializer.serialize(value))


def value_of(attribute_value: Mapping[str, Any]) -> Any:
    ((kind, raw),) = attribute_value.items()
    if kind == "S":
        return raw
    if kind == "N":
        return Decimal(raw)
    if kind == "L":
        return [value_of(element) for element in raw]
    if kind == "M":
        return {name: value_of(element) for name, element in raw.items()}
    if kind == "BOOL":
        return raw
    return _deserializer.deserialize(cast(Any, attribute_value))


def to_item(values: Mapping[str, Any]) -> Item:
    return {name: attribute(value) for name, value in values.items()}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value_of(value) for name, value in item.items()}


def shard_of(customer_id: str) -> int:
    return int(customer_id[:8], 16) % FILTER_SHARDS


def index_value(index: IndexSpec, value: str, shard: int | None = None) -> str:
    """The hash key ``index`` stores for a field value (and, when sharded, a shard)."""
    if index.field == "email_address":
        return email_key(value)
    return f"{value}#{shard}" if index.sharded else value


def index_keys(customer_id: str, values: Mapping[str, Any]) -> dict[str, str]:
    """The index attributes that ``values`` (a whole customer or some changes) determine."""
    shard = shard_of(customer_id)
    return {
        index.hash_key: index_value(index, values[field], shard)
        for field, index in INDEX_FOR_FIELD.items()
        if field in values
    }


def customer_item(customer: Customer) -> Item:
    """The item of a whole customer, index keys included."""
    return to_item({**customer, **index_keys(customer["customer_id"], customer)})


def customer_from_item(item: Mapping[str, Any]) -> Customer:
    customer: dict[str, Any] = {}
    for name, value in item.items():
        if name not in _STORAGE_ONLY:
            text = value.get("S")  # most attributes are strings: no dispatch for them
            customer[name] = text if text is not None else value_of(value)
    customer["version"] = int(customer["version"])
    return cast(Customer, customer)
