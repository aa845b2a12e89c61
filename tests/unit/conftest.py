from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from tests.support import Api, api_on, stage_environment_for


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The API over moto's in-memory DynamoDB, fresh for each test."""
    monkeypatch.delenv("DYNAMODB_ENDPOINT_URL", raising=False)
    with mock_aws(), api_on(monkeypatch, stage_environment_for("unit")) as api:
        yield api
