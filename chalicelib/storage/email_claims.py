"""Who holds an email address: the claims table, read on its own (an upsert's look-up, a batch's grouping).

Claims are written and freed only inside the customer's own transactions (see
customer_requests.py); these reads are consistent, so a claim just made is seen.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from chalicelib.customers.model import email_key
from chalicelib.storage.store_errors import store_errors
from chalicelib.storage.tables import CUSTOMER_EMAILS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_BATCH_GET_LIMIT = 100  # keys per BatchGetItem


class EmailClaims:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def holder_of(self, email_address: str) -> str | None:
        with store_errors():
            response = self._client.get_item(
                TableName=self._table,
                Key={CUSTOMER_EMAILS.hash_key: {"S": email_key(email_address)}},
                ConsistentRead=True,
            )
        item = response.get("Item")
        return None if item is None else str(item["customer_id"]["S"])

    def holders_of(self, addresses: Collection[str]) -> dict[str, str]:
        """One consistent BatchGetItem of the claims per 100 addresses (what is unprocessed is asked again)."""
        holders: dict[str, str] = {}
        ordered = sorted(addresses)
        for start in range(0, len(ordered), _BATCH_GET_LIMIT):
            keys = [{CUSTOMER_EMAILS.hash_key: {"S": key}} for key in ordered[start : start + _BATCH_GET_LIMIT]]
            request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                with store_errors():
                    response = self._client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    holders[str(item[CUSTOMER_EMAILS.hash_key]["S"])] = str(item["customer_id"]["S"])
                request = dict(response.get("UnprocessedKeys") or {})
        return holders
