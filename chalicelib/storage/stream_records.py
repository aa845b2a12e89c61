"""Records of the customers table's stream, as Lambda delivers them, decoded for the consumer.

Lambda and the local poller hand over the same shape: ``eventName`` (INSERT,
MODIFY, REMOVE), ``dynamodb`` with the keys, images and sequence number, and for
a removal DynamoDB made itself (TTL) ``userIdentity`` naming its service principal.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from chalicelib.customers.model import format_utc
from chalicelib.customers.ports import StreamChange
from chalicelib.storage.items import stored_from_item

TTL_PRINCIPAL = "dynamodb.amazonaws.com"


def decode(record: Mapping[str, Any]) -> StreamChange:
    data = record["dynamodb"]
    old, new = data.get("OldImage"), data.get("NewImage")
    identity = record.get("userIdentity") or {}
    removed_by = identity.get("principalId") if identity.get("type") == "Service" else None
    created = data.get("ApproximateCreationDateTime")
    moment = datetime.fromtimestamp(float(created), UTC) if created is not None else datetime.now(UTC)
    return StreamChange(
        sequence_number=str(data["SequenceNumber"]),
        old=None if old is None else stored_from_item(old),
        new=None if new is None else stored_from_item(new),
        removed_by=removed_by,
        recorded_at=format_utc(moment),
    )
