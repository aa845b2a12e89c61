"""Tables made by an earlier version (no indexes) gain the filter indexes when the stack starts."""

from __future__ import annotations

import uuid

import pytest

from chalicelib import repository
from chalicelib.config import get_settings
from chalicelib.tables import CUSTOMERS
from scripts.dynamodb_local import DynamoDBLocal
from tests.support import forget_cached_wiring, stage_environment_for


def test_existing_table_without_indexes_gains_them(
    dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch
) -> None:
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
