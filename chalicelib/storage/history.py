"""The DynamoDB adapter of the history port: entries keyed by customer and version, and the feed index.

An entry is written only if its key is free, so a redelivered stream record
writes nothing. Its feed position is "<recorded at>|<customer id>|<version>" in a
partition per month (``feed_bucket``): the feed reads each month in order and
moves to the next once a month is exhausted up to the settle horizon.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from chalicelib.customers.model import WRITABLE_FIELDS, HistoryEntry, names_only
from chalicelib.customers.ports import EntryPage, HistoryRepository, Position
from chalicelib.storage.items import attribute, customer_from_item, to_item, value_of
from chalicelib.storage.store_errors import error_code, store_errors
from chalicelib.storage.tables import BY_FEED, HISTORY_EXPIRY_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef

# No entry was recorded before this code existed: a reader without a cursor starts here.
FEED_EPOCH = "2026-01"
_DELIVERY_PREFIX = "#delivery#"
_DELIVERY_DAYS = 2
# A filtered page reads on until it is full, but never more than this many entries per one it shows.
_READ_BUDGET = 10
_MAX_READ = 100
_FEED_KEY_NAMES = frozenset({"feed_bucket", "feed_position", "customer_id", "version"})
Item = dict[str, Any]


def _next_month(bucket: str) -> str:
    year, month = int(bucket[:4]), int(bucket[5:7])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def _is_bucket(value: object) -> bool:
    return isinstance(value, str) and len(value) == 7 and value[4] == "-" and value.replace("-", "").isdigit()


def _in_field_order(changes: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB map keeps no order: put the fields back in the API's."""
    return {
        name: changes[name]
        for name in (*WRITABLE_FIELDS, *sorted(set(changes) - set(WRITABLE_FIELDS)))
        if name in changes
    }


def entry_item(entry: HistoryEntry) -> Item:
    values: dict[str, Any] = {
        "customer_id": entry.customer_id,
        "version": entry.version,
        "change": entry.change,
        "occurred_at": entry.occurred_at,
        "actor": entry.actor,
        "changes": entry.changes,
        "redacted": entry.redacted,
    }
    if entry.request_id is not None:
        values["request_id"] = entry.request_id
    if entry.customer is not None:
        values["customer"] = entry.customer
    return to_item(values)


def entry_from_item(item: Mapping[str, Any]) -> HistoryEntry:
    customer = item.get("customer")
    return HistoryEntry(
        customer_id=item["customer_id"]["S"],
        version=int(item["version"]["N"]),
        change=item["change"]["S"],
        occurred_at=item["occurred_at"]["S"],
        actor=item["actor"]["S"],
        request_id=item["request_id"]["S"] if "request_id" in item else None,
        changes=_in_field_order(value_of(item["changes"])),
        customer=None if customer is None else customer_from_item(customer["M"]),
        redacted=bool(item.get("redacted", {}).get("BOOL", False)),
    )


class DynamoDBHistoryRepository(HistoryRepository):
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    @property
    def name(self) -> str:
        return self._table

    def _key(self, customer_id: str, version: int) -> Item:
        return {"customer_id": {"S": customer_id}, "version": {"N": str(version)}}

    def record(self, entry: HistoryEntry, *, recorded_at: str) -> HistoryEntry | None:
        feed: Item = {
            "feed_bucket": {"S": recorded_at[:7]},
            "feed_position": {"S": f"{recorded_at}|{entry.customer_id}|{entry.version:012d}"},
            "published": {"BOOL": False},
        }
        with store_errors():
            existing = self._put_new({**entry_item(entry), **feed})
            if existing is None:
                return entry
            if "change" in existing:  # written by an earlier delivery
                published = existing.get("published", {}).get("BOOL", True)
                return None if published else entry_from_item(existing)
            # Reserved by an erasure that ran first: complete it with nothing but names.
            redacted = entry.without_values()
            self._client.put_item(TableName=self._table, Item={**entry_item(redacted), **feed})
            return redacted

    def mark_published(self, customer_id: str, version: int) -> None:
        with store_errors():
            self._client.update_item(
                TableName=self._table,
                Key=self._key(customer_id, version),
                UpdateExpression="SET published = :true",
                ConditionExpression="attribute_exists(version)",
                ExpressionAttributeValues={":true": {"BOOL": True}},
            )

    def page(self, customer_id: str, limit: int, position: Position | None) -> EntryPage:
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "customer_id = :id",
            "ExpressionAttributeValues": {":id": {"S": customer_id}},
            "FilterExpression": "attribute_exists(change)",
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": limit + 1,
        }
        if position is not None:
            request["ExclusiveStartKey"] = self._key(customer_id, int(position["version"]))
        with store_errors():
            response = self._client.query(**request)
        entries = [entry_from_item(item) for item in response.get("Items", [])]
        if len(entries) > limit:
            return EntryPage(entries[:limit], {"version": entries[limit - 1].version})
        last = response.get("LastEvaluatedKey")
        return EntryPage(entries, {"version": int(last["version"]["N"])} if last else None)

    def entries(self, customer_id: str) -> list[HistoryEntry]:
        return [entry_from_item(item) for item in self._all(customer_id) if "change" in item]

    def _all(self, customer_id: str) -> list[Item]:
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "customer_id = :id",
            "ExpressionAttributeValues": {":id": {"S": customer_id}},
            "ConsistentRead": True,
        }
        items: list[Item] = []
        while True:
            with store_errors():
                response = self._client.query(**request)
            items += response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if not last:
                return items
            request["ExclusiveStartKey"] = last

    def redact(self, customer_id: str, through_version: int) -> None:
        """Every stored entry up to the version loses its values; a missing one is reserved, already redacted."""
        stored = {int(item["version"]["N"]): item for item in self._all(customer_id)}
        for version in range(1, through_version + 1):
            item = stored.get(version)
            if item is None:
                item = self._reserve(customer_id, version)
                if item is None:
                    continue
            unredacted = not item.get("redacted", {}).get("BOOL", False) or "customer" in item
            if "change" in item and unredacted:
                self._redact(item)

    def _reserve(self, customer_id: str, version: int) -> Item | None:
        """A placeholder the consumer will complete redacted; the entry itself if it was written meanwhile."""
        with store_errors():
            return self._put_new({**self._key(customer_id, version), "redacted": {"BOOL": True}})

    def _put_new(self, item: Item) -> Item | None:
        """Write the item if its key is free; else the item already there (returned by the refusal, no read)."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(version)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return None
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            return cast(Item, error.response.get("Item") or {})

    def _redact(self, item: Item) -> None:
        changes = cast(dict[str, Any], value_of(item.get("changes", {"M": {}})))
        with store_errors():
            self._client.update_item(
                TableName=self._table,
                Key=self._key(item["customer_id"]["S"], int(item["version"]["N"])),
                UpdateExpression="SET redacted = :true, changes = :changes REMOVE customer",
                ConditionExpression="attribute_exists(version)",
                ExpressionAttributeValues={":true": {"BOOL": True}, ":changes": attribute(names_only(changes))},
            )

    def feed(
        self, limit: int, position: Position | None, *, horizon: str, kinds: Collection[str] | None = None
    ) -> EntryPage:
        bucket = str((position or {}).get("bucket") or FEED_EPOCH)
        start: dict[str, str] | None = (position or {}).get("key")
        last_bucket = horizon[:7]
        entries: list[HistoryEntry] = []
        budget = _READ_BUDGET * limit  # entries a filtered page may read, matching or not
        while True:
            request: QueryInputTypeDef = {
                "TableName": self._table,
                "IndexName": BY_FEED.name,
                "KeyConditionExpression": "feed_bucket = :bucket AND feed_position < :horizon",
                "ExpressionAttributeValues": {":bucket": {"S": bucket}, ":horizon": {"S": horizon}},
                # Unfiltered, every entry read is shown: read exactly what the page still needs.
                "Limit": min(_MAX_READ, budget) if kinds else limit - len(entries),
            }
            _only(request, kinds)
            if start:
                request["ExclusiveStartKey"] = _typed_feed_key(start)
            with store_errors():
                response = self._client.query(**request)
            budget -= int(response.get("ScannedCount", 0))
            for item in response.get("Items", []):
                entries.append(entry_from_item(item))
                start = _plain_feed_key(item)
                if len(entries) == limit:
                    return EntryPage(entries, {"bucket": bucket, "key": start})
            last = response.get("LastEvaluatedKey")
            if last:  # more in this month (a filter skipped some, or 1 MB was reached): read on
                start = _plain_feed_key(last)
                if kinds and budget <= 0:
                    return EntryPage(entries, {"bucket": bucket, "key": start})
                continue
            if bucket >= last_bucket:
                return EntryPage(entries, {"bucket": bucket, "key": start})
            bucket, start = _next_month(bucket), None

    def customer_feed(
        self, customer_id: str, limit: int, position: Position | None, *, horizon: str, kinds: Collection[str] | None
    ) -> EntryPage:
        after = int((position or {}).get("version", 0))
        entries: list[HistoryEntry] = []
        budget = _READ_BUDGET * limit
        while True:
            with store_errors():
                response = self._client.query(
                    TableName=self._table,
                    KeyConditionExpression="customer_id = :id AND version > :after",
                    ExpressionAttributeValues={":id": {"S": customer_id}, ":after": {"N": str(after)}},
                    ConsistentRead=True,
                    Limit=min(_MAX_READ, budget) if kinds else limit - len(entries),
                )
            items = response.get("Items", [])
            budget -= len(items)
            for item in items:
                if "feed_position" not in item or item["feed_position"]["S"] >= horizon:
                    # Not written yet, or not settled: nothing after it may be shown before it.
                    return EntryPage(entries, {"version": after})
                entry = entry_from_item(item)
                if kinds is None or entry.change in kinds:
                    entries.append(entry)
                after = entry.version
                if len(entries) == limit:
                    return EntryPage(entries, {"version": after})
            if not response.get("LastEvaluatedKey") or (kinds and budget <= 0):
                return EntryPage(entries, {"version": after})

    def is_position(self, position: Position, customer_id: str | None = None) -> bool:
        if customer_id is not None:
            version = position.get("version")
            return set(position) == {"version"} and isinstance(version, int) and not isinstance(version, bool)
        if not position:
            return True
        key = position.get("key")
        if set(position) != {"bucket", "key"} or not _is_bucket(position["bucket"]):
            return False
        if key is None:
            return True
        return isinstance(key, dict) and set(key) == _FEED_KEY_NAMES and all(isinstance(v, str) for v in key.values())

    def count_failure(self, delivery: str) -> int:
        with store_errors():
            response = self._client.update_item(
                TableName=self._table,
                Key=self._key(_DELIVERY_PREFIX + delivery, 0),
                UpdateExpression="ADD attempts :one SET #expires = :expires",
                ExpressionAttributeNames={"#expires": HISTORY_EXPIRY_ATTRIBUTE},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":expires": {"N": str(int(time.time()) + _DELIVERY_DAYS * 86400)},
                },
                ReturnValues="UPDATED_NEW",
            )
        return int(response["Attributes"]["attempts"]["N"])


def _only(request: QueryInputTypeDef, kinds: Collection[str] | None) -> None:
    if not kinds:
        return
    names = sorted(kinds)
    request["FilterExpression"] = f"change IN ({', '.join(f':k{i}' for i in range(len(names)))})"
    values = dict(request["ExpressionAttributeValues"])
    values.update({f":k{i}": {"S": name} for i, name in enumerate(names)})
    request["ExpressionAttributeValues"] = values


def _plain_feed_key(item: Mapping[str, Any]) -> dict[str, str]:
    return {
        "feed_bucket": item["feed_bucket"]["S"],
        "feed_position": item["feed_position"]["S"],
        "customer_id": item["customer_id"]["S"],
        "version": item["version"]["N"],
    }


def _typed_feed_key(key: Mapping[str, str]) -> Item:
    return {
        "feed_bucket": {"S": key["feed_bucket"]},
        "feed_position": {"S": key["feed_position"]},
        "customer_id": {"S": key["customer_id"]},
        "version": {"N": key["version"]},
    }
