"""Read the tables directly, to assert what is really stored after a request."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from chalicelib import wiring
from chalicelib.config import get_settings
from chalicelib.customers.model import email_key

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


def remove_customers(customer_ids: list[str]) -> None:
    """Take customers out of the store entirely (as if never created), their email claims too."""
    settings = get_settings()
    client = wiring.dynamodb_client()
    for customer_id in customer_ids:
        item = client.get_item(TableName=settings.customers_table, Key={"customer_id": {"S": customer_id}}).get("Item")
        if item is None:
            continue
        client.delete_item(TableName=settings.customers_table, Key={"customer_id": {"S": customer_id}})
        if "email_address" in item:
            key = email_key(item["email_address"]["S"])
            claim = client.get_item(TableName=settings.emails_table, Key={"email_key": {"S": key}}).get("Item")
            if claim is not None and claim["customer_id"]["S"] == customer_id:
                client.delete_item(TableName=settings.emails_table, Key={"email_key": {"S": key}})


def is_live(item: dict[str, Any]) -> bool:
    return "deleted_at" not in item and "erased_at" not in item


def assert_no_half_written_state() -> None:
    """Every live customer owns exactly its email record, and every email record belongs to a live customer.

    A soft-deleted customer has freed its address (another may hold it), an erased one holds none.
    """
    settings = get_settings()
    customers = {c["customer_id"]: c for c in scan(settings.customers_table) if is_live(c)}
    claims = {e["email_key"]: e["customer_id"] for e in scan(settings.emails_table)}
    for customer_id, customer in customers.items():
        assert claims.get(email_key(customer["email_address"])) == customer_id, f"customer {customer_id} lost its email"
    for key, owner in claims.items():
        assert owner in customers, f"email record {key!r} points at a missing customer"
        assert email_key(customers[owner]["email_address"]) == key, f"email record {key!r} is stale"
