"""Tables made by an earlier version (no indexes) gain the filter indexes when the stack starts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from chalicelib import repository
from chalicelib.config import get_settings
from chalicelib.tables import CUSTOMERS
from scripts.dynamodb_local import DynamoDBLocal, free_port
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
    client = repository.dynamodb_client(settings)
    old_shape = {
        key: value
        for key, value in CUSTOMERS.create_table_request(settings.customers_table).items()
        if key != "GlobalSecondaryIndexes"
    }
    old_shape["AttributeDefinitions"] = [{"AttributeName": "customer_id", "AttributeType": "S"}]
    client.create_table(**old_shape)
    try:
        repository.create_missing_tables(settings)
        indexes = client.describe_table(TableName=settings.customers_table)["Table"]["GlobalSecondaryIndexes"]
        assert {index["IndexName"] for index in indexes} == {index.name for index in CUSTOMERS.indexes}
    finally:
        forget_cached_wiring()
