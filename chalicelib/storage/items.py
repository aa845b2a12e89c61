"""Customers as DynamoDB items and back, with the index keys each item carries.

DynamoDB's attribute-value format is small (strings, numbers, lists, maps,
booleans, null, sets); it is encoded here rather than with boto3's
TypeSerializer, so the Lambda never imports boto3 (see client.py), and decoded
with no per-value dispatch for strings, which most attributes are.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from decimal import Decimal
from typing import Any, cast

from chalicelib.customers.criteria import order_key
from chalicelib.customers.model import FILTERABLE_FIELDS, Customer, Stamp, StoredCustomer, email_key
from chalicelib.customers.search import customer_terms, fold_key
from chalicelib.storage.tables import (
    CREATED_ORDER,
    CUSTOMERS,
    LIST_SHARD,
    NAME_ORDER,
    PURGE_AT_ATTRIBUTE,
    SHARDS,
    UPDATED_ORDER,
    VALUE_ORDER,
    IndexSpec,
)

# Each UpdateItem stamps the customer with a fresh id and refuses to apply over its own
# stamp. UpdateItem has no idempotency token (transactions do), so without it a write
# whose answer was lost would be applied twice by botocore's retry (version +2), or
# refused by its own version condition and reported as a conflict.
WRITE_ID = "write_id"
# The lifecycle and provenance of an item, kept beside the customer's fields but never part of them:
# which request wrote it last (for its stream record), when it was soft-deleted or erased, and
# the Idempotency-Key of the create that made it (so that erasure can empty that record).
REQUEST_ID = "request_id"
DELETED_AT = "deleted_at"
PURGE_AT = PURGE_AT_ATTRIBUTE
ERASED_AT = "erased_at"
IDEMPOTENCY_KEY = "idempotency_key"

# The index serving each filterable field: exactly the fields the domain declares.
INDEX_FOR_FIELD: dict[str, IndexSpec] = {index.field: index for index in CUSTOMERS.indexes if index.field}
if set(INDEX_FOR_FIELD) != set(FILTERABLE_FIELDS):
    raise RuntimeError("every filterable field needs exactly one index in chalicelib/storage/tables.py")

# What a live customer's item lacks; the condition of every write that requires one, and the list's filter.
LIVE_ONLY = f"attribute_not_exists({DELETED_AT}) AND attribute_not_exists({ERASED_AT})"

# The hash keys of the indexes: without them a customer is in none (a soft delete removes them).
INDEX_KEYS = tuple(dict.fromkeys(index.hash_key for index in CUSTOMERS.indexes))
ORDER_KEYS = (CREATED_ORDER, UPDATED_ORDER, NAME_ORDER, VALUE_ORDER)
# The folded texts a prefix search finds the customer by (customers/search.py), worked out when
# it is written: the search index is made of them, and a result is checked against them.
SEARCH_TERMS = "search_terms"
# Everything derived from the customer's fields for its indexes; personal data among it (names,
# terms) goes with the customer's fields when it is erased.
DERIVED_KEYS = (*INDEX_KEYS, *ORDER_KEYS, SEARCH_TERMS)
_STORAGE_ONLY = frozenset({WRITE_ID, REQUEST_ID, DELETED_AT, PURGE_AT, ERASED_AT, IDEMPOTENCY_KEY, *DERIVED_KEYS})

# DynamoDB keeps 38 significant digits; a number with more would be rounded, so it is refused.
_MAX_DIGITS = 38

Item = dict[str, Any]


def _number(value: int | Decimal) -> str:
    number = Decimal(value)
    if not number.is_finite() or len(number.as_tuple().digits) > _MAX_DIGITS:
        raise ValueError(f"DynamoDB cannot store the number {value!r} exactly")
    return str(number)


def attribute(value: Any) -> dict[str, Any]:
    """The attribute value of a Python value (what boto3's TypeSerializer would produce)."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):  # before int: True is an int
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": _number(value)}
    if isinstance(value, list | tuple):
        return {"L": [attribute(element) for element in value]}
    if isinstance(value, Mapping):
        return {"M": {str(name): attribute(element) for name, element in value.items()}}
    if value is None:
        return {"NULL": True}
    if isinstance(value, Set) and value and all(isinstance(element, str) for element in value):
        return {"SS": sorted(value)}
    raise TypeError(f"no DynamoDB attribute type for {type(value).__name__}")


def value_of(attribute_value: Mapping[str, Any]) -> Any:
    """The Python value of an attribute value (what boto3's TypeDeserializer would produce)."""
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
    if kind == "NULL":
        return None
    if kind == "SS":
        return set(raw)
    if kind == "NS":
        return {Decimal(element) for element in raw}
    if kind == "B":
        return bytes(raw)
    raise TypeError(f"unknown DynamoDB attribute type {kind!r}")


def to_item(values: Mapping[str, Any]) -> Item:
    return {name: attribute(value) for name, value in values.items()}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value_of(value) for name, value in item.items()}


def shard_of(customer_id: str) -> int:
    return int(customer_id[:8], 16) % SHARDS


def sharded(value: str, shard: int) -> str:
    """The hash key of a value in one shard: one spelling for every sharded index and the search table."""
    return f"{value}#{shard}"


def index_value(index: IndexSpec, value: str, shard: int | None = None) -> str:
    """The hash key ``index`` stores for a field value (and, when sharded, a shard)."""
    if index.field == "email_address":
        return email_key(value)
    if index.field == "state":
        value = fold_key(value)  # compared ignoring case (and accents)
    return sharded(value, shard or 0) if index.sharded else value


def changed_keys(customer_id: str, values: Mapping[str, Any]) -> dict[str, str]:
    """The derived keys that ``values`` (some changes, or a whole customer) determine on their own."""
    shard = shard_of(customer_id)
    keys: dict[str, Any] = {
        index.hash_key: index_value(index, values[field], shard)
        for field, index in INDEX_FOR_FIELD.items()
        if field in values
    }
    for name, order_field in ((VALUE_ORDER, "lifetime_value"), (UPDATED_ORDER, "updated_at")):
        if order_field in values:
            keys[name] = order_key({**values, "customer_id": customer_id}, order_field)
    return keys


def removed_keys(removals: Set[str]) -> tuple[str, ...]:
    """The index keys that go with removed fields: without its state, a customer is in no state's index."""
    return tuple(index.hash_key for field, index in INDEX_FOR_FIELD.items() if field in removals)


def derived_keys(customer: Mapping[str, Any]) -> dict[str, Any]:
    """Every index key and search term of a whole customer (a write path: phone terms import phonenumbers)."""
    customer_id = str(customer["customer_id"])
    return {
        **changed_keys(customer_id, customer),
        LIST_SHARD: str(shard_of(customer_id)),
        CREATED_ORDER: order_key(customer, "created_at"),
        NAME_ORDER: order_key(customer, "last_name"),
        SEARCH_TERMS: list(customer_terms(customer)),
    }


def customer_item(customer: Customer, stamp: Stamp | None = None, idempotency_key: str | None = None) -> Item:
    """The item of a whole customer, index keys (and the write's provenance) included."""
    values: dict[str, Any] = {**customer, **derived_keys(customer)}
    if stamp is not None and stamp.request_id is not None:
        values[REQUEST_ID] = stamp.request_id
    if idempotency_key is not None:
        values[IDEMPOTENCY_KEY] = idempotency_key
    return to_item(values)


def search_terms_of(item: Mapping[str, Any]) -> tuple[str, ...]:
    """The stored search terms; a customer written before they existed is found by its names and email."""
    stored = item.get(SEARCH_TERMS)
    if stored is None:
        return customer_terms(
            {name: value_of(item[name]) for name in ("first_name", "last_name", "email_address") if name in item}
        )
    return tuple(str(term["S"]) for term in stored["L"])


def _text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return None if value is None else str(value["S"])


def stored_from_item(item: Mapping[str, Any]) -> StoredCustomer:
    """The item in whatever state it is: a live or deleted customer, or an erased one's tombstone."""
    erased_at = _text(item, ERASED_AT)
    purge_at = item.get(PURGE_AT)
    return StoredCustomer(
        customer_id=str(item["customer_id"]["S"]),
        version=int(item["version"]["N"]),
        customer=None if erased_at is not None else customer_from_item(item),
        updated_at=_text(item, "updated_at") or "",
        updated_by=_text(item, "updated_by"),
        request_id=_text(item, REQUEST_ID),
        deleted_at=_text(item, DELETED_AT),
        purge_at=None if purge_at is None else int(Decimal(purge_at["N"])),
        erased_at=erased_at,
        idempotency_key=_text(item, IDEMPOTENCY_KEY),
        search_terms=() if erased_at is not None else search_terms_of(item),
    )


def customer_from_item(item: Mapping[str, Any]) -> Customer:
    # Most attributes are strings: they are taken as they are, without a call per value.
    customer = {
        name: value["S"] if "S" in value else value_of(value)
        for name, value in item.items()
        if name not in _STORAGE_ONLY
    }
    customer["version"] = int(customer["version"])
    return cast(Customer, customer)
