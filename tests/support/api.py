"""The test environment and a JSON-speaking wrapper around Chalice's test client."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from chalice.test import Client, HTTPResponse

from app import app
from chalicelib import wiring
from chalicelib.observability import SERVICE, logger
from chalicelib.storage.tables import ALL_TABLES

JSON = {"Content-Type": "application/json"}
TEST_SECRET = "test-pagination-secret-0123456789abcdef"


def stage_environment_for(suffix: str) -> dict[str, str]:
    """A stage that is not ``local``, so nothing defaults to a DynamoDB Local endpoint."""
    return {
        "STAGE": "test",
        "PAGINATION_SECRET": TEST_SECRET,
        **{spec.name_variable: f"{spec.base_name}-{suffix}" for spec in ALL_TABLES},
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        # No bus unless a test makes one, and a settle window short enough to read the feed at once.
        "EVENT_BUS_NAME": "",
        "EVENTS_SETTLE_SECONDS": "0.05",
        # moto's in-memory DynamoDB is not thread-safe (its transact_write_items deep-copies the
        # tables while another thread writes them: "dictionary changed size during iteration"),
        # so on moto a batch runs one operation at a time. DynamoDB and DynamoDB Local are, and
        # the integration and e2e tiers run batches with the default 8 workers.
        "BATCH_WORKERS": "1",
    }


def forget_cached_wiring() -> None:
    """Settings, clients and the service are cached per process; tests change the environment."""
    wiring.reset()


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value))


@dataclass
class Api:
    """The public HTTP interface, through chalice.test.Client."""

    client: Client

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> HTTPResponse:
        payload = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
        if body is not None:
            payload = json.dumps(body, default=_default).encode()
        sent_headers = dict(JSON if payload is not None and headers is None else headers or {})
        return self.client.http.request(method, path, headers=sent_headers, body=payload or b"")

    def get(self, path: str, **kwargs: Any) -> HTTPResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> HTTPResponse:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> HTTPResponse:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> HTTPResponse:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> HTTPResponse:
        return self.request("DELETE", path, **kwargs)


def body(response: HTTPResponse) -> Any:
    """Parse a response body the way a client should: numbers as Decimal, exactly."""
    return json.loads(response.body, parse_float=Decimal)


@contextmanager
def api_on(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> Iterator[Api]:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    forget_cached_wiring()
    wiring.create_missing_tables()
    try:
        with Client(app, stage_name="test") as client:
            yield Api(client)
    finally:
        forget_cached_wiring()


class JsonLogs:
    """Every line the service logs during a test, as the JSON objects Lambda would ship."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(logger.registered_formatter)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]

    def text(self) -> str:
        return self.stream.getvalue()


@contextmanager
def captured_json_logs() -> Iterator[JsonLogs]:
    logs = JsonLogs()
    target = logging.getLogger(SERVICE)
    target.addHandler(logs.handler)
    try:
        yield logs
    finally:
        target.removeHandler(logs.handler)
