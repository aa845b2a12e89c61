"""What every write of a customer shares: its stamp, the states it may require, its idempotency record.

Kept apart from the repository so the rules of a write read in one place: each one
says who made it, when, in which request, with a fresh write id (see items.WRITE_ID),
and each lifecycle write names the state the item must be in.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.customers.model import Stamp
from chalicelib.customers.ports import IdempotencyRecord
from chalicelib.storage.items import DELETED_AT, ERASED_AT, LIVE_ONLY, PURGE_AT, REQUEST_ID, WRITE_ID, to_item
from chalicelib.storage.tables import IDEMPOTENCY_EXPIRY_ATTRIBUTE, IDEMPOTENCY_RECORDS
from chalicelib.storage.updates import Expression

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import PutTypeDef, UpdateTypeDef

# The states a lifecycle write requires of the item, as conditions.
LIVE = LIVE_ONLY
RESTORABLE = f"attribute_exists({DELETED_AT}) AND {PURGE_AT} > :now AND attribute_not_exists({ERASED_AT})"
NOT_ERASED = f"attribute_not_exists({ERASED_AT})"


class Cancelled(Exception):
    """A transaction cancelled by a condition the caller interprets itself."""

    def __init__(self, error: ClientError, codes: list[str]) -> None:
        super().__init__(codes)
        self.error = error
        self.codes = codes


def stamp_expression(stamp: Stamp, write_id: str | None = None) -> Expression:
    """Every write says when, by whom and in which request, and carries a fresh write id (see items.WRITE_ID)."""
    expression = Expression().set("updated_at", stamp.at).set("updated_by", stamp.by)
    if stamp.request_id is not None:
        expression.set(REQUEST_ID, stamp.request_id)
    else:  # a write of the app's own: it must not pass for the previous request's
        expression.remove(REQUEST_ID)
    return expression.set(WRITE_ID, write_id or uuid.uuid4().hex)


def key_claim(table: str, values: Mapping[str, Any]) -> PutTypeDef:
    """Put an Idempotency-Key's record unless a live one is there (the key's value is in ``values``)."""
    return {
        "TableName": table,
        "Item": to_item(values),
        # An expired record counts as absent even before DynamoDB gets round to deleting it.
        "ConditionExpression": "attribute_not_exists(idempotency_key) OR expires_at < :now",
        "ExpressionAttributeValues": {":now": {"N": str(int(time.time()))}},
    }


def idempotency_put(table: str, record: IdempotencyRecord) -> PutTypeDef:
    return key_claim(
        table,
        {
            IDEMPOTENCY_RECORDS.hash_key: record.key,
            "fingerprint": record.fingerprint,
            "customer_id": record.customer_id,
            "customer": record.customer,
            IDEMPOTENCY_EXPIRY_ATTRIBUTE: record.expires_at,
        },
    )


def empty_idempotency_record(table: str, key: str, customer_id: str) -> UpdateTypeDef:
    """Keep the record (a replay must answer "erased", not create the customer again) without its data.

    Only while it is still this customer's: an expired key may have made another customer since.
    """
    return {
        "TableName": table,
        "Key": {IDEMPOTENCY_RECORDS.hash_key: {"S": key}},
        "UpdateExpression": "REMOVE #customer, fingerprint",
        "ConditionExpression": "customer_id = :id",
        "ExpressionAttributeNames": {"#customer": "customer"},
        "ExpressionAttributeValues": {":id": {"S": customer_id}},
    }
