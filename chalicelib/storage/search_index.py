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
from chalicelib.storage.items import shard_of, sharded
from chalicelib.storage.store_errors import store_errors
from chalicelib.storage.tables import CUSTOMER_SEARCH, SEARCH_PREFIX_LENGTH

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef

_BATCH_WRITE_LIMIT = 25
_Key = tuple[str, str]  # (term, name order)


def search_keys(stored: StoredCustomer | None, *, live_only: bool = True) -> dict[_Key, str]:
    """The search items a stored customer should have (``live_only``) or may have: keys, each naming it."""
    if stored is None or stored.customer is None or (live_only and not stored.is_live):
        return {}
    shard = shard_of(stored.customer_id)
    order = name_order(stored.customer)
    return {
        (sharded(prefix, shard), order): stored.customer_id
        for prefix in prefixes(stored.search_terms, SEARCH_PREFIX_LENGTH)
    }


class DynamoDBSearchIndex(SearchIndex):
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def follow(self, old: StoredCustomer | None, new: StoredCustomer | None) -> None:
        self._apply(old, new, put_all=False)

    def rebuild(self, old: StoredCustomer | None, new: StoredCustomer | None) -> None:
        """Like :meth:`follow`, but putting every item ``new`` should have, present or not (the backfill)."""
        self._apply(old, new, put_all=True)

    def _apply(self, old: StoredCustomer | None, new: StoredCustomer | None, *, put_all: bool) -> None:
        after = search_keys(new)
        # Whatever the old image could have left is removed, even when it was not live (a delete
        # whose record was parked, a backfill racing a deletion): an erasure clears every item.
        requests: list[WriteRequestTypeDef] = [
            {"DeleteRequest": {"Key": self._key(key)}} for key in search_keys(old, live_only=False) if key not in after
        ]
        # What the index holds already: the items of a live old image (none of a deleted one: a restore puts them back).
        present = {} if put_all else search_keys(old)
        requests += [self._put(key, customer_id) for key, customer_id in after.items() if key not in present]
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

    def _put(self, key: _Key, customer_id: str) -> WriteRequestTypeDef:
        return {"PutRequest": {"Item": {**self._key(key), "customer_id": {"S": customer_id}}}}

    @staticmethod
    def _key(key: _Key) -> dict[str, Any]:
        term, order = key
        return {CUSTOMER_SEARCH.hash_key: {"S": term}, str(CUSTOMER_SEARCH.range_key): {"S": order}}
