"""Customers to send, and the assertions every tier makes about answers."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.api import Api, body


def new_customer(**overrides: Any) -> dict[str, Any]:
    """A valid create body with an email no other test uses."""
    fields: dict[str, Any] = {
        "first_name": "John",
        "last_name": "Doe",
        "email_address": f"john.{uuid.uuid4().hex[:8]}@example.com",
    }
    fields.update(overrides)
    return fields


def create(api: Api, **overrides: Any) -> dict[str, Any]:
    response = api.post("/customers", new_customer(**overrides))
    assert response.status_code == 201, response.body
    result: dict[str, Any] = body(response)
    return result


def assert_error(response: Any, status: int, code: str, *fields: str) -> dict[str, Any]:
    """The error envelope, with the expected status, code and named fields."""
    assert response.status_code == status, response.body
    error = body(response)["error"]
    assert set(error) >= {"code", "message", "details"}
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    for name in fields:
        assert name in error["details"], error
    result: dict[str, Any] = error
    return result


def all_customers(api: Api, limit: int = 100) -> list[dict[str, Any]]:
    customers: list[dict[str, Any]] = []
    path = f"/customers?limit={limit}"
    while True:
        page = body(api.get(path))
        customers.extend(page["customers"])
        if page["next_token"] is None:
            return customers
        path = f"/customers?limit={limit}&next_token={page['next_token']}"
