"""Where a keyed batch is remembered: its claim while it runs, its outcomes once done (the idempotency table).

The batch's records share the table, the key syntax and the expiry rule of a create's
Idempotency-Key record, under their own scope (``POST /customers/batch <key>``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.customers.ports import BatchRecord
from chalicelib.storage.items import to_item, value_of
from chalicelib.storage.store_errors import error_code, store_errors
from chalicelib.storage.tables import IDEMPOTENCY_EXPIRY_ATTRIBUTE, IDEMPOTENCY_RECORDS
from chalicelib.storage.writes import key_claim

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import PutTypeDef


class BatchLedger:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def claim(self, record: BatchRecord) -> BatchRecord | None:
        claim = key_claim(
            self._table,
            {
                IDEMPOTENCY_RECORDS.hash_key: record.key,
                "fingerprint": record.fingerprint,
                IDEMPOTENCY_EXPIRY_ATTRIBUTE: record.expires_at,
            },
        )
        claim["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"  # a taken key's record, without a read
        with store_errors():
            try:
                self._client.put_item(**claim)
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
                old: dict[str, Any] = dict(error.response.get("Item") or {})  # type: ignore[call-overload]
                outcomes = old.get("outcomes")
                return BatchRecord(
                    record.key,
                    str(old.get("fingerprint", {}).get("S", "")),
                    None if outcomes is None else value_of(outcomes),
                    int(old.get(IDEMPOTENCY_EXPIRY_ATTRIBUTE, {}).get("N", "0")),
                )
        return None

    def finished_put(self, record: BatchRecord) -> PutTypeDef:
        """The finished record, over this run's own claim (still there, still without outcomes)."""
        return {
            "TableName": self._table,
            "Item": to_item(
                {
                    IDEMPOTENCY_RECORDS.hash_key: record.key,
                    "fingerprint": record.fingerprint,
                    "outcomes": record.outcomes,
                    IDEMPOTENCY_EXPIRY_ATTRIBUTE: record.expires_at,
                }
            ),
            "ConditionExpression": "attribute_exists(idempotency_key) AND attribute_not_exists(outcomes)",
        }

    def finish(self, record: BatchRecord) -> None:
        put = self.finished_put(record)
        with store_errors():
            self._client.put_item(TableName=put["TableName"], Item=put["Item"])

    def release(self, key: str) -> None:
        """Delete the claim of a batch that wrote nothing; a finished batch's record stays."""
        with store_errors():
            try:
                self._client.delete_item(
                    TableName=self._table,
                    Key={IDEMPOTENCY_RECORDS.hash_key: {"S": key}},
                    ConditionExpression="attribute_not_exists(outcomes)",
                )
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
