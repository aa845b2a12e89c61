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


def follow_pages(api: Api, path: str, key: str, limit: int) -> list[dict[str, Any]]:
    """Every item of a paginated listing (``path`` with its query, ``limit`` included), each page followed once.

    Each page must be a 200 of at most ``limit`` items; a walk that never ends fails.
    """
    items: list[dict[str, Any]] = []
    url = path
    for _ in range(1000):
        response = api.get(url)
        assert response.status_code == 200, response.body
        page = body(response)
        assert len(page[key]) <= limit
        items.extend(page[key])
        if page["next_token"] is None:
            return items
        url = f"{path}&next_token={page['next_token']}"
    raise AssertionError(f"the walk of {path} did not end")


def all_customers(api: Api, limit: int = 100) -> list[dict[str, Any]]:
    return follow_pages(api, f"/customers?limit={limit}", "customers", limit)
