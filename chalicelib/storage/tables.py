"""The table definitions: the one source for local setup, tests and deploy templates.

A leaf module (it imports nothing of the project), so settings, provisioning,
template generation and tests can all read it without pulling in a client.

Customers and their email-uniqueness records live in two tables so that a page of
customers is a page of customers: a Scan of the customers table never has to skip
uniqueness records, and each table's IAM grant can be scoped on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IndexSpec:
    """A global secondary index: a Query on ``hash_key`` (and optionally sorted by ``range_key``)."""

    name: str
    hash_key: str
    range_key: str | None = None
    field: str | None = None  # the customer field whose value the hash key is made of
    sharded: bool = False  # hash key is "<value>#<shard>", the shard taken from the customer id
    # Non-key attributes copied into the index (None: all). Every GSI write is billed: an update
    # of an attribute not projected costs the index nothing.
    projected: tuple[str, ...] | None = None

    @property
    def shard_count(self) -> int:
        return FILTER_SHARDS if self.sharded else 1

    def definition(self) -> dict[str, Any]:
        keys = [{"AttributeName": self.hash_key, "KeyType": "HASH"}]
        if self.range_key is not None:
            keys.append({"AttributeName": self.range_key, "KeyType": "RANGE"})
        projection: dict[str, Any] = {"ProjectionType": "ALL"}
        if self.projected is not None:
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


# The list filters. Status, loyalty and state have few values, so each index key is
# "<value>#<shard>" with the shard taken from the customer id: one status spreads over
# FILTER_SHARDS partitions instead of making one hot partition, and a filtered page
# queries the shards in turn. Email is unique: its index key is the lower-cased address.
FILTER_SHARDS = 4
BY_STATUS = IndexSpec("by_status", "status_key", "customer_id", field="customer_status", sharded=True)
BY_LOYALTY = IndexSpec("by_loyalty", "loyalty_key", "customer_id", field="is_loyalty_member", sharded=True)
BY_STATE = IndexSpec("by_state", "state_key", "customer_id", field="state", sharded=True)
BY_EMAIL = IndexSpec("by_email", "email_key", field="email_address")

STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"
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
    indexes=(BY_STATUS, BY_LOYALTY, BY_STATE, BY_EMAIL),
    stream=True,
)
# One item per lower-cased email address, naming the customer that owns it.
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

ALL_TABLES: tuple[TableSpec, ...] = (CUSTOMERS, CUSTOMER_EMAILS, IDEMPOTENCY_RECORDS, CUSTOMER_HISTORY)
