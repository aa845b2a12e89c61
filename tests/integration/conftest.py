from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from scripts.local.dynamodb_local import DynamoDBLocal
from scripts.local.ports import free_port
from tests.support import Api, api_on, stage_environment_for


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    """One in-memory DynamoDB Local for the session, stopped at the end."""
    with DynamoDBLocal(port=free_port()) as server:
        yield server


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, dynamodb_local: DynamoDBLocal) -> Iterator[Api]:
    """The API over the real DynamoDB Local, with tables of its own for each test."""
    monkeypatch.setenv("DYNAMODB_ENDPOINT_URL", dynamodb_local.endpoint)
    # DynamoDB Local is thread-safe: batches run with the default workers here (moto's tier runs one at a time).
    environment = {**stage_environment_for(uuid.uuid4().hex[:12]), "BATCH_WORKERS": "8"}
    with api_on(monkeypatch, environment) as api:
        yield api
