"""Tables made by an earlier version (no indexes) gain the filter indexes when the stack starts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from boto3.dynamodb.types import TypeSerializer

from chalicelib import wiring
from chalicelib.config import get_settings
from chalicelib.customers.criteria import Criteria
from chalicelib.storage.provisioning import create_missing_tables
from chalicelib.storage.tables import BY_EMAIL, BY_LOYALTY, BY_STATE, BY_STATUS, CUSTOMERS
from scripts.local.dynamodb_local import DynamoDBLocal
from scripts.local.ports import free_port
from tests.support import forget_cached_wiring, stage_environment_for


@pytest.fixture
def fresh_dynamodb_local() -> Iterator[DynamoDBLocal]:
    """Its own instance: after the rest of the suite, the shared one left index builds pending for minutes."""
    with DynamoDBLocal(port=free_port()) as server:
        yield server


def test_existing_table_without_indexes_gains_them(
    fresh_dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch
) -> None:
    dynamodb_local = fresh_dynamodb_local
    for name, value in stage_environment_for(uuid.uuid4().hex[:12]).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DYNAMODB_ENDPOINT_URL", dynamodb_local.endpoint)
    forget_cached_wiring()
    settings = get_settings()
    client = wiring.dynamodb_client()
    old_shape = {
        key: value
        for key, value in CUSTOMERS.create_table_request(settings.customers_table).items()
        if key != "GlobalSecondaryIndexes"
    }
    old_shape["AttributeDefinitions"] = [{"AttributeName": "customer_id", "AttributeType": "S"}]
    client.create_table(**old_shape)
    # Given a customer written by the earlier version: no index keys
    old = {
        "customer_id": str(uuid.uuid4()),
        "first_name": "Old",
        "last_name": "Timer",
        "email_address": "Old@Example.com",
        "customer_status": "inactive",
        "is_loyalty_member": "y",
        "state": "OR",
        "version": 1,
    }
    client.put_item(TableName=settings.customers_table, Item={k: TypeSerializer().serialize(v) for k, v in old.items()})
    try:
        # When the stack starts
        create_missing_tables(client, settings)
        # Then the table has every index, and the old customer is found by each filter
        indexes = client.describe_table(TableName=settings.customers_table)["Table"]["GlobalSecondaryIndexes"]
        assert {index["IndexName"] for index in indexes} == {index.name for index in CUSTOMERS.indexes}
        for index, value in (
            (BY_STATUS, "inactive"),
            (BY_LOYALTY, "y"),
            (BY_STATE, "OR"),
            (BY_EMAIL, "old@example.com"),
        ):
            assert index.field is not None
            page = wiring.components().repository.page(10, None, Criteria(**{str(index.field): value}))  # type: ignore[arg-type]
            assert [c["customer_id"] for c in page.customers] == [old["customer_id"]], index.name
    finally:
        forget_cached_wiring()
