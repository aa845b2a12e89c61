"""The search table: one item per customer and prefix of its search terms, kept in step by the consumer.

Each change of a customer swaps the items of its old terms for those of its new
ones: only the difference is written (an update of a field nobody searches by
writes nothing), puts and deletes are idempotent, so a redelivered stream record
changes nothing, and a customer that is deleted or erased leaves no item behind.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from chalicelib.customers.model import StoredCustomer
from chalicelib.customers.ports import SearchIndex
from chalicelib.customers.search import name_order, prefixes
from chalicelib.storage.items import shard_of
from chalicelib.storage.store_errors import store_errors
from chalicelib.storage.tables import CUSTOMER_SEARCH, SEARCH_PREFIX_LENGTH

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef

_BATCH_WRITE_LIMIT = 25
_Key = tuple[str, str]  # (term, name order)


def search_keys(stored: StoredCustomer | None) -> dict[_Key, str]:
    """The search items a stored customer should have: their keys, each naming the customer."""
    if stored is None or not stored.is_live or stored.customer is None:
        return {}
    shard = shard_of(stored.customer_id)
    order = name_order(stored.customer)
    return {
        (f"{prefix}#{shard}", order): stored.customer_id
        for prefix in prefixes(stored.search_terms, SEARCH_PREFIX_LENGTH)
    }


class DynamoDBSearchIndex(SearchIndex):
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def follow(self, old: StoredCustomer | None, new: StoredCustomer | None) -> None:
        before, after = search_keys(old), search_keys(new)
        requests: list[WriteRequestTypeDef] = [
            {"DeleteRequest": {"Key": self._key(key)}} for key in before if key not in after
        ]
        requests += [
            {"PutRequest": {"Item": {**self._key(key), "customer_id": {"S": customer_id}}}}
            for key, customer_id in after.items()
            if key not in before
        ]
        self.write(requests)

    def write(self, requests: list[WriteRequestTypeDef]) -> None:
        """BatchWriteItem in batches of 25, retrying what DynamoDB left unprocessed."""
        for offset in range(0, len(requests), _BATCH_WRITE_LIMIT):
            batch = requests[offset : offset + _BATCH_WRITE_LIMIT]
            pause = 0.05
            while batch:
                with store_errors():
                    response = self._client.batch_write_item(RequestItems={self._table: batch})
                batch = cast("list[WriteRequestTypeDef]", response.get("UnprocessedItems", {}).get(self._table, []))
                if batch:
                    time.sleep(pause)
                    pause = min(pause * 2, 1.0)

    @staticmethod
    def _key(key: _Key) -> dict[str, Any]:
        term, order = key
        return {CUSTOMER_SEARCH.hash_key: {"S": term}, str(CUSTOMER_SEARCH.range_key): {"S": order}}
