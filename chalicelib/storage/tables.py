"""The table definitions: the one source for local setup, tests and deploy templates.

A leaf module (it imports nothing of the project), so settings, provisioning,
template generation and tests can all read it without pulling in a client.

Customers and their email-uniqueness records live in two tables so that a page of
customers is a page of customers: a Scan of the customers table never has to skip
uniqueness records, and each table's IAM grant can be scoped on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True)
class IndexSpec:
    """A global secondary index: a Query on ``hash_key`` (and optionally sorted by ``range_key``)."""

    name: str
    hash_key: str
    range_key: str | None = None
    field: str | None = None  # the customer field whose value the hash key is made of
    sharded: bool = False  # hash key is "<value>#<shard>", the shard taken from the customer id
    # Non-key attributes copied into the index (None: all; empty: keys only). Every GSI write is
    # billed: an update of an attribute not projected costs the index nothing.
    projected: tuple[str, ...] | None = None

    @property
    def shard_count(self) -> int:
        return SHARDS if self.sharded else 1

    def definition(self) -> dict[str, Any]:
        keys = [{"AttributeName": self.hash_key, "KeyType": "HASH"}]
        if self.range_key is not None:
            keys.append({"AttributeName": self.range_key, "KeyType": "RANGE"})
        projection: dict[str, Any] = {"ProjectionType": "ALL"}
        if self.projected == ():
            projection = {"ProjectionType": "KEYS_ONLY"}
        elif self.projected is not None:
            projection = {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(self.projected)}
        return {"IndexName": self.name, "KeySchema": keys, "Projection": projection}


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    base_name: str  # the stage's table is "<base_name>-<stage>" (chalicelib/stages.py)
    hash_key: str
    name_setting: str  # the Settings attribute that holds this stage's table name
    name_variable: str  # the environment variable that overrides it
    ttl_attribute: str | None = None  # epoch seconds after which DynamoDB deletes the item
    indexes: tuple[IndexSpec, ...] = ()
    range_key: str | None = None
    number_keys: frozenset[str] = frozenset()  # key attributes of type N (every other key is S)
    stream: bool = False  # DynamoDB Streams with old and new images: the source of history and events

    def attribute_definitions(self) -> list[dict[str, str]]:
        names = {self.hash_key, *([self.range_key] if self.range_key else [])}
        for index in self.indexes:
            names.update(key for key in (index.hash_key, index.range_key) if key is not None)
        return [
            {"AttributeName": name, "AttributeType": "N" if name in self.number_keys else "S"} for name in sorted(names)
        ]

    def key_schema(self) -> list[dict[str, str]]:
        keys = [{"AttributeName": self.hash_key, "KeyType": "HASH"}]
        if self.range_key is not None:
            keys.append({"AttributeName": self.range_key, "KeyType": "RANGE"})
        return keys

    def create_table_request(self, table_name: str) -> dict[str, Any]:
        """Keyword arguments for DynamoDB ``CreateTable`` (on-demand billing)."""
        request: dict[str, Any] = {
            "TableName": table_name,
            "KeySchema": self.key_schema(),
            "AttributeDefinitions": self.attribute_definitions(),
            "BillingMode": "PAY_PER_REQUEST",
        }
        if self.indexes:
            request["GlobalSecondaryIndexes"] = [index.definition() for index in self.indexes]
        if self.stream:
            request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": STREAM_VIEW_TYPE}
        return request


# Every index of the customers table is sharded: its hash key is "<value>#<shard>" (or, for the
# sorted lists, the shard alone), the shard taken from the customer id. One status, or the
# whole table in one order, then spreads over SHARDS partitions instead of making one hot
# partition; a page queries every shard and merges them in order (storage/listing.py).
# Every range key ends in "|<customer id>", so two customers never tie and the merge is exact.
# The indexes project keys only: a page takes its customers from the table in one BatchGetItem
# (consistent, so a customer deleted a moment ago never shows), and an update of a field that is
# no index's key costs the indexes nothing.
SHARDS = 4
LIST_SHARD = "list_shard"
CREATED_ORDER = "created_order"  # "<created_at>|<id>"
UPDATED_ORDER = "updated_order"  # "<updated_at>|<id>"
NAME_ORDER = "name_order"  # "<last name>\x01<first name>\x01<id>", folded for search (customers/search.py)
VALUE_ORDER = "value_order"  # "<lifetime value, 15 characters zero-padded>|<id>"
BY_CREATED = IndexSpec("by_created", LIST_SHARD, CREATED_ORDER, sharded=True, projected=())
BY_UPDATED = IndexSpec("by_updated", LIST_SHARD, UPDATED_ORDER, sharded=True, projected=())
BY_NAME = IndexSpec("by_name", LIST_SHARD, NAME_ORDER, sharded=True, projected=())
BY_VALUE = IndexSpec("by_value", LIST_SHARD, VALUE_ORDER, sharded=True, projected=())
# The filters, newest first within each value (the default order): a filter with the default
# order, and a creation-time range on top, is answered exactly by its index.
BY_STATUS = IndexSpec(
    "by_status_created", "status_key", CREATED_ORDER, field="customer_status", sharded=True, projected=()
)
BY_LOYALTY = IndexSpec(
    "by_loyalty_created", "loyalty_key", CREATED_ORDER, field="is_loyalty_member", sharded=True, projected=()
)
BY_STATE = IndexSpec("by_state_created", "state_key", CREATED_ORDER, field="state", sharded=True, projected=())
# Email is unique: its index key is the canonical address (customers/canonical.py), one item at most.
BY_EMAIL = IndexSpec("by_email", "email_key", field="email_address", projected=())
# The index of each sort order (the field the API sorts by -> the index that serves it).
ORDER_INDEXES = {
    "created_at": BY_CREATED,
    "updated_at": BY_UPDATED,
    "last_name": BY_NAME,
    "lifetime_value": BY_VALUE,
}

STREAM_VIEW_TYPE: Final = "NEW_AND_OLD_IMAGES"
# A soft-deleted customer carries the epoch second its restore window ends: DynamoDB's
# TTL removes it some time after (the app treats it as gone from that second on).
PURGE_AT_ATTRIBUTE = "purge_at"

# One item per customer, keyed by its UUID. Its stream feeds history and events.
CUSTOMERS = TableSpec(
    "CustomersTable",
    "customers",
    hash_key="customer_id",
    name_setting="customers_table",
    name_variable="CUSTOMERS_TABLE",
    ttl_attribute=PURGE_AT_ATTRIBUTE,
    indexes=(BY_CREATED, BY_UPDATED, BY_NAME, BY_VALUE, BY_STATUS, BY_LOYALTY, BY_STATE, BY_EMAIL),
    stream=True,
)
# One item per canonical email address (customers/canonical.py), naming the customer that owns it.
CUSTOMER_EMAILS = TableSpec(
    "CustomerEmailsTable",
    "customer-emails",
    hash_key="email_key",
    name_setting="emails_table",
    name_variable="CUSTOMER_EMAILS_TABLE",
)

# One item per Idempotency-Key of a create, holding the customer it created; kept 24 hours.
IDEMPOTENCY_EXPIRY_ATTRIBUTE = "expires_at"
IDEMPOTENCY_RECORDS = TableSpec(
    "IdempotencyTable",
    "customer-idempotency",
    hash_key="idempotency_key",
    name_setting="idempotency_table",
    name_variable="IDEMPOTENCY_TABLE",
    ttl_attribute=IDEMPOTENCY_EXPIRY_ATTRIBUTE,
)

# One item per change of a customer, keyed by its id and the version the change made,
# written by the stream consumer (conditionally: a redelivered record writes nothing).
# The feed index orders every change by when it was recorded, in one partition per month:
# GET /events reads it oldest first. Items of the consumer's own bookkeeping (delivery
# attempts of a failing record) live here too, under their own keys, and expire.
# Without ``published``: marking an event sent does not rewrite the index's copy.
BY_FEED = IndexSpec(
    "by_feed",
    "feed_bucket",
    "feed_position",
    projected=("change", "occurred_at", "actor", "request_id", "changes", "customer", "redacted"),
)
HISTORY_EXPIRY_ATTRIBUTE = "expires_at"
CUSTOMER_HISTORY = TableSpec(
    "CustomerHistoryTable",
    "customer-history",
    hash_key="customer_id",
    range_key="version",
    number_keys=frozenset({"version"}),
    name_setting="history_table",
    name_variable="CUSTOMER_HISTORY_TABLE",
    ttl_attribute=HISTORY_EXPIRY_ATTRIBUTE,
    indexes=(BY_FEED,),
)

# Prefix search: one item per customer and per distinct prefix (up to SEARCH_PREFIX_LENGTH
# characters) of each text it is found by (first, last and full name, email, phone digits),
# keyed "<prefix>#<shard>" and sorted by the customer's name order. A search Queries the shards
# of its prefix and merges them: exactly the order the API promises, at the page's cost.
# Maintained from the change stream by the consumer (so a write costs the API nothing more);
# results are read back from the customers table, so a deleted customer never shows, and a
# query longer than the indexed prefix is checked against the customer's stored terms.
SEARCH_PREFIX_LENGTH = 8
CUSTOMER_SEARCH = TableSpec(
    "CustomerSearchTable",
    "customer-search",
    hash_key="term",
    range_key=NAME_ORDER,
    name_setting="search_table",
    name_variable="CUSTOMER_SEARCH_TABLE",
)

ALL_TABLES: tuple[TableSpec, ...] = (
    CUSTOMERS,
    CUSTOMER_EMAILS,
    IDEMPOTENCY_RECORDS,
    CUSTOMER_HISTORY,
    CUSTOMER_SEARCH,
)
