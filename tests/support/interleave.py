"""Let "another writer" change a customer at a chosen moment inside a request.

The app reads a customer, then writes conditionally on the version it read. To
prove the condition really guards the write, a botocore hook performs a direct
store write just before the app's own write is sent, exactly as a concurrent
request would land in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import wiring
from chalicelib.config import get_settings


@dataclass
class ConcurrentWriter:
    customer_id: str
    before_operation: str  # e.g. "TransactWriteItems" or "UpdateItem"
    city: str = "Changed concurrently"
    times: int = 1
    done: int = 0
    _busy: bool = False

    def __enter__(self) -> ConcurrentWriter:
        self._client = wiring.dynamodb_client()
        self._client.meta.events.register(f"before-call.dynamodb.{self.before_operation}", self._write)
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.meta.events.unregister(f"before-call.dynamodb.{self.before_operation}", self._write)

    def _write(self, **kwargs: Any) -> None:
        if self._busy or self.done >= self.times:
            return
        self._busy = True
        try:
            self._client.update_item(
                TableName=get_settings().customers_table,
                Key={"customer_id": {"S": self.customer_id}},
                UpdateExpression="SET city = :city ADD version :one",
                ExpressionAttributeValues={":city": {"S": self.city}, ":one": {"N": "1"}},
            )
            self.done += 1
        finally:
            self._busy = False
