"""The only module that talks to DynamoDB.

It turns customer dicts into items and back, makes every write conditional, keeps
the email-uniqueness records in step with their customers inside one transaction,
and translates store failures into domain errors. The boto3 client is created once
per process: building one costs milliseconds, and a warm Lambda reuses it.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from chalicelib.config import Settings
from chalicelib.deadline import request_age
from chalicelib.errors import (
    CustomerAlreadyExists,
    CustomerNotFound,
    EmailAlreadyInUse,
    RequestInProgress,
    StoreUnavailable,
    WriteConflict,
)
from chalicelib.observability import count_throttle, logger
from chalicelib.tables import (
    ALL_TABLES,
    BY_EMAIL,
    BY_LOYALTY,
    BY_STATE,
    BY_STATUS,
    CUSTOMER_EMAILS,
    CUSTOMERS,
    FILTER_SHARDS,
    IDEMPOTENCY_EXPIRY_ATTRIBUTE,
    IDEMPOTENCY_RECORDS,
    IndexSpec,
    TableSpec,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import UpdateTypeDef
else:
    DynamoDBClient = UpdateTypeDef = Any


_TRANSIENT_ERRORS = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
        # A plain write that touches an item a transaction is writing; botocore does not retry it.
        "TransactionConflictException",
        "ReplicatedWriteConflictException",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
    }
)
# Reasons a transaction is cancelled that say "try again later", not "your condition failed".
_TRANSIENT_CANCELLATIONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)
CONDITION_FAILED = "ConditionalCheckFailed"
# Each UpdateItem stamps the customer with a fresh id and refuses to apply over its own
# stamp. UpdateItem has no idempotency token (transactions do), so without it a write
# whose answer was lost would be applied twice by botocore's retry (version +2), or
# refused by its own version condition and reported as a conflict.
WRITE_ID = "write_id"
# DynamoDB cancels a transaction that touches an item another transaction is writing;
# botocore does not retry that, so a few short, jittered retries happen here.
TRANSACTION_ATTEMPTS = 3
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

Customer = dict[str, Any]


class IdempotencyKeyTaken(Exception):
    """A live record for this Idempotency-Key exists; the service decides replay or 422."""


@dataclass(frozen=True)
class IdempotencyRecord:
    key: str
    fingerprint: str
    customer: Customer
    expires_at: int


def email_key(email_address: str) -> str:
    """Uniqueness is case-insensitive: the record is keyed by the lower-cased address."""
    return email_address.lower()


def _to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


# What each filterable field's index key is made of (see chalicelib/tables.py).
_SHARDED_INDEX_KEYS = {"customer_status": BY_STATUS, "is_loyalty_member": BY_LOYALTY, "state": BY_STATE}
_STORAGE_ONLY = frozenset({WRITE_ID, BY_STATUS.hash_key, BY_LOYALTY.hash_key, BY_STATE.hash_key, BY_EMAIL.hash_key})


def shard_of(customer_id: str) -> int:
    return int(customer_id[:8], 16) % FILTER_SHARDS


def _index_keys(customer_id: str, values: Mapping[str, Any]) -> dict[str, str]:
    """The index attributes that ``values`` (a whole customer or some changes) determine."""
    keys = {
        index.hash_key: f"{values[field]}#{shard_of(customer_id)}"
        for field, index in _SHARDED_INDEX_KEYS.items()
        if field in values
    }
    if "email_address" in values:
        keys[BY_EMAIL.hash_key] = email_key(values["email_address"])
    return keys


def _from_item(item: Mapping[str, Any]) -> Customer:
    customer = {name: _deserializer.deserialize(value) for name, value in item.items() if name not in _STORAGE_ONLY}
    customer["version"] = int(customer["version"])
    return customer


def _cancellation_codes(error: ClientError, expected: int) -> list[str]:
    """One code per transaction item ("None" where that item was fine), padded to ``expected``."""
    codes = [str(reason.get("Code") or "None") for reason in error.response.get("CancellationReasons", [])]
    return codes + ["None"] * (expected - len(codes))


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


_THROTTLES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})
_THROTTLED_CANCELLATIONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"})


def _is_throttle(error: ClientError) -> bool:
    return _error_code(error) in _THROTTLES or bool(set(_cancellation_codes(error, 0)) & _THROTTLED_CANCELLATIONS)


def _is_transient(error: ClientError) -> bool:
    code = _error_code(error)
    if code == "TransactionCanceledException":
        codes = set(_cancellation_codes(error, 0))
        return bool(codes & _TRANSIENT_CANCELLATIONS) and CONDITION_FAILED not in codes
    # A 5xx without a DynamoDB error code is a proxy or gateway failing: also worth a retry later.
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return code in _TRANSIENT_ERRORS or status >= 500


@contextmanager
def _store_errors(budget_seconds: float) -> Iterator[None]:
    """Throttling, conflicts, outages and timeouts that survive the retries become a 503.

    Permanent failures (a missing table, bad credentials, a malformed request) are
    bugs or misconfiguration and stay 500s, so "retry later" is never a lie.
    """
    if request_age() > budget_seconds:
        logger.warning("Request out of time before a DynamoDB call", extra={"budget_seconds": budget_seconds})
        raise StoreUnavailable()
    try:
        yield
    except ClientError as error:
        if _is_transient(error):
            logger.warning("DynamoDB unavailable", extra={"dynamodb_error": _error_code(error)}, exc_info=True)
            if _is_throttle(error):
                count_throttle()
            raise StoreUnavailable() from error
        raise
    except (HTTPClientError, BotocoreConnectionError) as error:  # connection failures and timeouts
        logger.warning("DynamoDB unreachable", extra={"dynamodb_error": type(error).__name__}, exc_info=True)
        raise StoreUnavailable() from error


@dataclass(frozen=True)
class Page:
    customers: list[Customer]
    last_key: dict[str, str] | None


class CustomerRepository:
    def __init__(
        self,
        client: DynamoDBClient,
        customers_table: str,
        emails_table: str,
        idempotency_table: str,
        request_budget_seconds: float = 12.0,
    ) -> None:
        self._client = client
        self._budget = request_budget_seconds
        self._customers = customers_table
        self._emails = emails_table
        self._idempotency = idempotency_table

    @property
    def customers_table(self) -> str:
        return self._customers

    @classmethod
    def from_settings(cls, settings: Settings) -> CustomerRepository:
        return cls(
            dynamodb_client(settings),
            CUSTOMERS.name(settings),
            CUSTOMER_EMAILS.name(settings),
            IDEMPOTENCY_RECORDS.name(settings),
            settings.request_budget_seconds,
        )

    def _customer_key(self, customer_id: str) -> dict[str, Any]:
        return {CUSTOMERS.hash_key: {"S": customer_id}}

    def _email_key(self, address: str) -> dict[str, Any]:
        return {CUSTOMER_EMAILS.hash_key: {"S": email_key(address)}}

    def _email_item(self, address: str, customer_id: str) -> dict[str, Any]:
        return {**self._email_key(address), "customer_id": {"S": customer_id}}

    def _transact(self, items: list[Any]) -> None:
        for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
            try:
                self._client.transact_write_items(TransactItems=items)
                return
            except ClientError as error:
                codes = set(_cancellation_codes(error, 0))
                if attempt == TRANSACTION_ATTEMPTS or "TransactionConflict" not in codes or CONDITION_FAILED in codes:
                    raise
                time.sleep(random.uniform(0.005, 0.02) * attempt)  # noqa: S311 - jitter, not crypto

    def get(self, customer_id: str) -> Customer:
        item = self._read(customer_id)
        if item is None:
            raise CustomerNotFound()
        return _from_item(item)

    def _read(self, customer_id: str) -> dict[str, Any] | None:
        with _store_errors(self._budget):
            response = self._client.get_item(
                TableName=self._customers, Key=self._customer_key(customer_id), ConsistentRead=True
            )
        return response.get("Item")

    def create(self, customer: Customer, idempotency: IdempotencyRecord | None = None) -> None:
        """Write the customer, claim its email and (if keyed) record the request, all in one transaction.

        Never overwrites: a taken id, a taken email or a live idempotency record
        cancels the whole transaction, so no partial create can exist.
        """
        items: list[Any] = [
            {
                "Put": {
                    "TableName": self._customers,
                    "Item": _to_item({**customer, **_index_keys(customer["customer_id"], customer)}),
                    "ConditionExpression": "attribute_not_exists(customer_id)",
                }
            },
            {
                "Put": {
                    "TableName": self._emails,
                    "Item": self._email_item(customer["email_address"], customer["customer_id"]),
                    "ConditionExpression": "attribute_not_exists(email_key)",
                }
            },
        ]
        if idempotency is not None:
            items.append({"Put": self._idempotency_put(idempotency)})
        with _store_errors(self._budget):
            try:
                self._transact(items)
            except ClientError as error:
                customer_taken, email_taken, key_taken = _cancellation_codes(error, 3)
                if idempotency is not None and key_taken == CONDITION_FAILED:
                    raise IdempotencyKeyTaken() from error
                if idempotency is not None and key_taken == "TransactionConflict":
                    raise RequestInProgress() from error
                if customer_taken == CONDITION_FAILED:
                    raise CustomerAlreadyExists() from error
                if email_taken == CONDITION_FAILED:
                    raise EmailAlreadyInUse() from error
                raise

    def _idempotency_put(self, record: IdempotencyRecord) -> Any:
        return {
            "TableName": self._idempotency,
            "Item": _to_item(
                {
                    IDEMPOTENCY_RECORDS.hash_key: record.key,
                    "fingerprint": record.fingerprint,
                    "customer": record.customer,
                    IDEMPOTENCY_EXPIRY_ATTRIBUTE: record.expires_at,
                }
            ),
            # DynamoDB deletes expired items lazily (within days): an expired one counts as absent.
            "ConditionExpression": "attribute_not_exists(idempotency_key) OR expires_at < :now",
            "ExpressionAttributeValues": {":now": {"N": str(int(time.time()))}},
        }

    def idempotency_record(self, key: str) -> IdempotencyRecord | None:
        """The live record for ``key``, or ``None`` if there is none or it has expired."""
        with _store_errors(self._budget):
            response = self._client.get_item(
                TableName=self._idempotency, Key={IDEMPOTENCY_RECORDS.hash_key: {"S": key}}, ConsistentRead=True
            )
        item = response.get("Item")
        if item is None:
            return None
        values = {name: _deserializer.deserialize(value) for name, value in item.items()}
        expires_at = int(values[IDEMPOTENCY_EXPIRY_ATTRIBUTE])
        if expires_at < time.time():
            return None
        customer = dict(values["customer"])
        customer["version"] = int(customer["version"])
        return IdempotencyRecord(key, str(values["fingerprint"]), customer, expires_at)

    def update(
        self, customer_id: str, changes: Customer, *, updated_at: str, expected_version: int | None = None
    ) -> Customer:
        """Apply ``changes`` and bump the version in one conditional UpdateItem.

        Without ``expected_version`` the write only requires that the customer
        exists, so it needs no read first; it raises :class:`WriteConflict` when the
        stored version is not the expected one.
        """
        write_id = uuid.uuid4().hex
        request = self._update_request(customer_id, changes, updated_at, expected_version, write_id)
        with _store_errors(self._budget):
            try:
                response = self._client.update_item(**request, ReturnValues="ALL_NEW")
            except ClientError as error:
                if _error_code(error) != "ConditionalCheckFailedException":
                    raise
                current = self._read(customer_id)
                if current is None:
                    raise CustomerNotFound() from error
                if current.get(WRITE_ID) == {"S": write_id}:
                    # botocore retried after our first attempt was applied but its answer was
                    # lost; the condition refused the second application. The write is ours.
                    return _from_item(current)
                raise WriteConflict() from error
        return _from_item(response["Attributes"])

    def update_with_new_email(self, current: Customer, changes: Customer, *, updated_at: str) -> Customer:
        """Change the email: claim the new address, free the old one and update the customer atomically."""
        customer_id = current["customer_id"]
        update = self._update_request(customer_id, changes, updated_at, current["version"])
        items: list[Any] = [
            {
                "Put": {
                    "TableName": self._emails,
                    "Item": self._email_item(changes["email_address"], customer_id),
                    "ConditionExpression": "attribute_not_exists(email_key)",
                }
            },
            {"Delete": self._release_email(current)},
            {"Update": update},
        ]
        with _store_errors(self._budget):
            try:
                self._transact(items)
            except ClientError as error:
                codes = _cancellation_codes(error, 3)
                if codes[0] == CONDITION_FAILED:
                    raise EmailAlreadyInUse() from error
                if CONDITION_FAILED in codes:
                    raise WriteConflict() from error
                raise
        return {**current, **changes, "updated_at": updated_at, "version": current["version"] + 1}

    def _release_email(self, current: Customer) -> Any:
        return {
            "TableName": self._emails,
            "Key": self._email_key(current["email_address"]),
            "ConditionExpression": "attribute_not_exists(email_key) OR customer_id = :id",
            "ExpressionAttributeValues": {":id": {"S": current["customer_id"]}},
        }

    def delete(self, current: Customer) -> None:
        """Delete the customer and free its email, provided it has not changed since read."""
        items: list[Any] = [
            {
                "Delete": {
                    "TableName": self._customers,
                    "Key": self._customer_key(current["customer_id"]),
                    "ConditionExpression": "version = :version",
                    "ExpressionAttributeValues": {":version": {"N": str(current["version"])}},
                }
            },
            {"Delete": self._release_email(current)},
        ]
        with _store_errors(self._budget):
            try:
                self._transact(items)
            except ClientError as error:
                if CONDITION_FAILED in _cancellation_codes(error, 2):
                    raise WriteConflict() from error
                raise

    def page(self, limit: int, start_key: dict[str, str] | None) -> Page:
        """One bounded Scan call: at most ``limit + 1`` items, so the last page has no next key.

        Reading one item more than the page tells whether another page exists, and
        its predecessor's key is a valid ``ExclusiveStartKey`` because a Scan walks
        the table in a fixed order.
        """
        request: dict[str, Any] = {"TableName": self._customers, "Limit": limit + 1}
        if start_key is not None:
            request["ExclusiveStartKey"] = {name: {"S": value} for name, value in start_key.items()}
        with _store_errors(self._budget):
            response = self._client.scan(**request)
        customers = [_from_item(item) for item in response.get("Items", [])]
        if len(customers) > limit:
            customers = customers[:limit]
            return Page(customers, {CUSTOMERS.hash_key: customers[-1]["customer_id"]})
        last = response.get("LastEvaluatedKey")
        # DynamoDB stops a Scan at 1 MB: a short page may still have a successor.
        return Page(customers, {name: value["S"] for name, value in last.items()} if last else None)

    def query_page(
        self, index: IndexSpec, value: str, limit: int, cursor: dict[str, Any] | None
    ) -> tuple[list[Customer], dict[str, Any] | None]:
        """A page of the customers whose index key is ``value``, and where the next page starts.

        A sharded index is read shard after shard, each step one Query bounded by what
        the page still needs (plus one item, to know whether the shard has more): at most
        FILTER_SHARDS bounded calls, whatever the table's size.
        """
        sharded = index.range_key is not None
        shard = int(cursor["shard"]) if cursor else 0
        start = cursor.get("key") if cursor else None
        customers: list[Customer] = []
        while True:
            hash_value = f"{value}#{shard}" if sharded else value
            room = limit - len(customers)
            request: dict[str, Any] = {
                "TableName": self._customers,
                "IndexName": index.name,
                "KeyConditionExpression": "#key = :key",
                "ExpressionAttributeNames": {"#key": index.hash_key},
                "ExpressionAttributeValues": {":key": {"S": hash_value}},
                "Limit": room + 1,
            }
            if start:
                request["ExclusiveStartKey"] = {name: {"S": key} for name, key in start.items()}
            with _store_errors(self._budget):
                response = self._client.query(**request)
            items = response.get("Items", [])
            if len(items) > room:
                customers += [_from_item(item) for item in items[:room]]
                last = items[room - 1]
                key = {name: last[name]["S"] for name in {index.hash_key, index.range_key, CUSTOMERS.hash_key} if name}
                return customers, {"shard": shard, "key": key}
            customers += [_from_item(item) for item in items]
            last_key = response.get("LastEvaluatedKey")
            if last_key:  # DynamoDB stopped at 1 MB: continue from there
                return customers, {"shard": shard, "key": {name: key["S"] for name, key in last_key.items()}}
            if not sharded or shard + 1 >= FILTER_SHARDS:
                return customers, None
            shard, start = shard + 1, None
            if len(customers) == limit:
                return customers, {"shard": shard, "key": None}

    def _update_request(
        self,
        customer_id: str,
        changes: Customer,
        updated_at: str,
        expected_version: int | None,
        write_id: str | None = None,
    ) -> UpdateTypeDef:
        changes = {**changes, **_index_keys(customer_id, changes)}
        names = {f"#f{i}": name for i, name in enumerate(changes)}
        values = {f":f{i}": _serializer.serialize(value) for i, value in enumerate(changes.values())}
        assignments = [f"{alias} = :{alias[1:]}" for alias in names]
        names.update({"#updated_at": "updated_at", "#version": "version", "#write_id": WRITE_ID})
        values.update(
            {":updated_at": {"S": updated_at}, ":one": {"N": "1"}, ":write_id": {"S": write_id or uuid.uuid4().hex}}
        )
        assignments += ["#updated_at = :updated_at", "#write_id = :write_id"]
        condition = "attribute_exists(customer_id) AND (attribute_not_exists(#write_id) OR #write_id <> :write_id)"
        if expected_version is not None:
            condition += " AND #version = :expected"
            values[":expected"] = {"N": str(expected_version)}
        return {
            "TableName": self._customers,
            "Key": self._customer_key(customer_id),
            "UpdateExpression": "SET " + ", ".join(assignments) + " ADD #version :one",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }


@cache
def _client(
    endpoint_url: str | None, region: str, max_attempts: int, connect_timeout: float, read_timeout: float
) -> DynamoDBClient:
    config = Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        tcp_keepalive=True,
    )
    client: DynamoDBClient = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region, config=config)
    return client


def dynamodb_client(settings: Settings) -> DynamoDBClient:
    """One client per process and endpoint."""
    return _client(
        settings.dynamodb_endpoint_url,
        settings.aws_region,
        settings.dynamodb_max_attempts,
        settings.dynamodb_connect_timeout,
        settings.dynamodb_read_timeout,
    )


def create_missing_tables(settings: Settings) -> list[str]:
    """Create every table of :mod:`chalicelib.tables` that does not exist yet; return their names."""
    client = dynamodb_client(settings)
    existing: set[str] = set()
    for page in client.get_paginator("list_tables").paginate():
        existing.update(page["TableNames"])
    created = []
    for spec in ALL_TABLES:
        name = spec.name(settings)
        if name not in existing:
            client.create_table(**spec.create_table_request(name))
            client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
            created.append(name)
        elif _add_missing_indexes(client, spec, name):
            backfill_index_keys(client, name)
        if spec.ttl_attribute is not None:
            _ensure_ttl(client, name, spec.ttl_attribute)
    return created


def _add_missing_indexes(client: DynamoDBClient, spec: TableSpec, table: str) -> bool:
    """A table made by an earlier version gains the indexes added since (one per UpdateTable call).

    Items written before an index existed lack its key and stay out of that filter until
    they are next written.
    """
    description = client.describe_table(TableName=table)["Table"]
    existing = {index["IndexName"] for index in description.get("GlobalSecondaryIndexes", [])}
    missing = [index for index in spec.indexes if index.name not in existing]
    for index in missing:
        client.update_table(
            TableName=table,
            AttributeDefinitions=spec.attribute_definitions(),  # type: ignore[arg-type]
            GlobalSecondaryIndexUpdates=[{"Create": index.definition()}],  # type: ignore[typeddict-item]
        )
        _wait_for_indexes(client, table)
    return bool(missing)


def backfill_index_keys(client: DynamoDBClient, table: str) -> int:
    """Give customers written before the filter indexes existed their index keys; return how many.

    Each update is conditional on the version read, so a concurrent write is never
    overwritten (it is simply retried on the next run).
    """
    updated = 0
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            customer = {name: _deserializer.deserialize(value) for name, value in item.items()}
            keys = _index_keys(customer["customer_id"], customer)
            if all(name in item for name in keys):
                continue
            names = {f"#k{i}": name for i, name in enumerate(keys)}
            values: dict[str, Any] = {f":k{i}": {"S": value} for i, value in enumerate(keys.values())}
            values[":version"] = item["version"]
            try:
                client.update_item(
                    TableName=table,
                    Key={CUSTOMERS.hash_key: item[CUSTOMERS.hash_key]},
                    UpdateExpression="SET " + ", ".join(f"{alias} = :{alias[1:]}" for alias in names),
                    ConditionExpression="version = :version",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
                updated += 1
            except ClientError as error:
                if _error_code(error) != "ConditionalCheckFailedException":
                    raise
    return updated


def _wait_for_indexes(client: DynamoDBClient, table: str, timeout_seconds: float = 300) -> None:
    """DynamoDB builds one new index at a time per table; the table stays ACTIVE meanwhile."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        indexes = client.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])
        if all(index.get("IndexStatus") == "ACTIVE" for index in indexes):
            return
        time.sleep(0.5)
    raise TimeoutError(f"indexes of {table} still building after {timeout_seconds:.0f}s")


def _ensure_ttl(client: DynamoDBClient, table: str, attribute: str) -> None:
    """Switch TTL on where it is off, also for tables that existed before (or a crash in between)."""
    status = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"].get("TimeToLiveStatus")
    if status in ("ENABLED", "ENABLING"):
        return
    client.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute})
