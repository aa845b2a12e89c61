"""Read the tables directly, to assert what is really stored after a request."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from chalicelib import wiring
from chalicelib.config import get_settings

_deserializer = TypeDeserializer()


def scan(table: str) -> list[dict[str, Any]]:
    client = wiring.dynamodb_client()
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend({k: _deserializer.deserialize(v) for k, v in item.items()} for item in page["Items"])
    return items


def snapshot() -> dict[str, list[dict[str, Any]]]:
    settings = get_settings()
    return {
        table: sorted(scan(table), key=repr)
        for table in (settings.customers_table, settings.emails_table, settings.idempotency_table)
    }


def assert_no_half_written_state() -> None:
    """Every customer owns exactly its email record, and every email record belongs to a customer."""
    settings = get_settings()
    customers = {c["customer_id"]: c for c in scan(settings.customers_table)}
    claims = {e["email_key"]: e["customer_id"] for e in scan(settings.emails_table)}
    for customer_id, customer in customers.items():
        assert claims.get(customer["email_address"].lower()) == customer_id, f"customer {customer_id} lost its email"
    for key, owner in claims.items():
        assert owner in customers, f"email record {key!r} points at a missing customer"
        assert customers[owner]["email_address"].lower() == key, f"email record {key!r} is stale"
