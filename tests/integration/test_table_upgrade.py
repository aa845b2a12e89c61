"""Tables made by an earlier version gain today's indexes, and their customers today's keys, when the stack starts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from chalicelib import wiring
from chalicelib.config import get_settings
from chalicelib.customers.criteria import Criteria
from chalicelib.storage.provisioning import create_missing_tables
from chalicelib.storage.tables import CUSTOMER_EMAILS, CUSTOMERS
from scripts.backfill import would_refuse
from scripts.local.dynamodb_local import DynamoDBLocal
from scripts.local.ports import free_port
from tests.support import forget_cached_wiring, stage_environment_for

# The filter indexes of the release before (range key customer_id, every attribute projected).
_PREVIOUS_INDEXES: list[Any] = [
    {
        "IndexName": name,
        "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}, {"AttributeName": "customer_id", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"},
    }
    for name, key in (("by_status", "status_key"), ("by_loyalty", "loyalty_key"), ("by_state", "state_key"))
] + [
    {
        "IndexName": "by_email",
        "KeySchema": [{"AttributeName": "email_key", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
    }
]


@pytest.fixture
def fresh_dynamodb_local() -> Iterator[DynamoDBLocal]:
    """Its own instance: after the rest of the suite, the shared one left index builds pending for minutes."""
    with DynamoDBLocal(port=free_port()) as server:
        yield server


def _put(client: Any, table: str, values: dict[str, Any]) -> None:
    client.put_item(TableName=table, Item={k: TypeSerializer().serialize(v) for k, v in values.items()})


def test_a_table_of_the_previous_release_is_upgraded_and_its_customers_found_by_every_listing(
    fresh_dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in stage_environment_for(uuid.uuid4().hex[:12]).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DYNAMODB_ENDPOINT_URL", fresh_dynamodb_local.endpoint)
    forget_cached_wiring()
    settings = get_settings()
    client = wiring.dynamodb_client()
    # Given the customers table of a release before (its four filter indexes, no stream) and emails table
    client.create_table(
        TableName=settings.customers_table,
        KeySchema=[{"AttributeName": "customer_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("customer_id", "status_key", "loyalty_key", "state_key", "email_key")
        ],
        GlobalSecondaryIndexes=_PREVIOUS_INDEXES,
        BillingMode="PAY_PER_REQUEST",
    )
    client.create_table(**CUSTOMER_EMAILS.create_table_request(settings.emails_table))
    # and a customer it wrote: the old index keys, a timestamp without fractional seconds,
    # and a 65-character local part the old rules let through
    customer_id = str(uuid.uuid4())
    shard = int(customer_id[:8], 16) % 4
    old = {
        "customer_id": customer_id,
        "first_name": "Öld",
        "last_name": "Timer",
        "email_address": f"{'o' * 65}@Example.com",
        "customer_status": "inactive",
        "is_loyalty_member": "y",
        "state": "OR",
        "lifetime_value": 250,
        "preferred_communication_channels": ["email"],
        "customer_acquisition_date": "2024-05-01T12:30:00Z",
        "created_at": "2024-05-01T12:30:00Z",
        "updated_at": "2024-05-01T12:30:00Z",
        "version": 1,
        "status_key": f"inactive#{shard}",
        "loyalty_key": f"y#{shard}",
        "state_key": f"OR#{shard}",
        "email_key": f"{'o' * 65}@example.com",
    }
    _put(client, settings.customers_table, old)
    _put(client, settings.emails_table, {"email_key": f"{'o' * 65}@example.com", "customer_id": customer_id})
    try:
        # When the stack starts
        _, report = create_missing_tables(client, settings, refused=would_refuse)
        # Then the table has its change stream (it had none) and exactly today's indexes (the old ones
        # replaced one at a time)
        table = client.describe_table(TableName=settings.customers_table)["Table"]
        assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        indexes = table["GlobalSecondaryIndexes"]
        assert {index["IndexName"] for index in indexes} == {index.name for index in CUSTOMERS.indexes}
        # and the backfill brought the customer up to date, and counted it as one today's rules refuse
        assert report is not None
        assert (report.scanned, report.updated, report.refused) == (1, 1, [customer_id])
        # and every listing finds it: each filter (state ignoring case), a search, each order, a range
        repository = wiring.components().repository
        for criteria in (
            Criteria(customer_status="inactive"),
            Criteria(is_loyalty_member="y"),
            Criteria(state="or"),
            Criteria(email_address=f"{'O' * 65}@example.COM"),
            Criteria(q="old tim"),
            Criteria(q="ooooooooooooo"),
            Criteria(sort="last_name"),
            Criteria(sort="-lifetime_value", min_lifetime_value=Decimal(250)),
            Criteria(sort="updated_at"),
            Criteria(created_after="2024-05-01T12:00:00.000000Z", created_before="2024-05-01T13:00:00.000000Z"),
        ):
            page = repository.page(10, None, criteria)
            assert [c["customer_id"] for c in page.customers] == [customer_id], criteria
        # and its fields read as they were stored
        (stored,) = repository.page(10, None, Criteria()).customers
        assert stored["first_name"] == "Öld"
        assert stored["email_address"] == old["email_address"]
        # and running it again changes nothing
        _, again = create_missing_tables(client, settings, refused=would_refuse)
        assert again is None
    finally:
        forget_cached_wiring()
