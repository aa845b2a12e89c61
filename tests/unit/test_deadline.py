"""A request's DynamoDB calls stop at the deadline Lambda gives it, so the client hears 503, not a bare 504."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from app import app
from chalicelib import wiring
from tests.support import Api, create


class LambdaContext:
    """What Lambda hands the handler: only the part that says how long the invocation has left."""

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def get_event(customer_id: str) -> dict[str, Any]:
    path = f"/customers/{customer_id}"
    return {
        "resource": "/customers/{customer_id}",
        "path": path,
        "httpMethod": "GET",
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"customer_id": customer_id},
        "stageVariables": None,
        "requestContext": {"resourcePath": "/customers/{customer_id}", "httpMethod": "GET", "path": path},
        "body": None,
        "isBase64Encoded": False,
    }


def dynamodb_calls() -> list[str]:
    calls: list[str] = []
    wiring.dynamodb_client().meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    return calls


def test_request_with_less_time_left_than_one_call_needs_is_503_without_calling_dynamodb(api: Api) -> None:
    # Given a customer, and an invocation with 5 s left while one DynamoDB call may take 10 s
    customer = create(api)
    calls = dynamodb_calls()
    # When it is fetched
    response = app(get_event(customer["customer_id"]), LambdaContext(remaining_ms=5_000))
    # Then the client is told to retry, and no call was started that Lambda's timeout would cut off
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["error"]["code"] == "service_unavailable"
    assert response["headers"]["Retry-After"] == "1"
    assert calls == []


@pytest.mark.parametrize("remaining_ms", [25_000, 900_000])
def test_request_with_time_left_is_served(api: Api, remaining_ms: int) -> None:
    customer = create(api)
    response = app(get_event(customer["customer_id"]), LambdaContext(remaining_ms))
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["customer_id"] == customer["customer_id"]


def test_request_without_a_lambda_context_uses_the_fallback_budget(api: Api) -> None:
    response = app(get_event(str(uuid.uuid4())), None)
    assert response["statusCode"] == 404


def test_first_request_of_a_process_uses_the_configured_call_time(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given one attempt per call (a call then takes at most 4 s) and a process that has served nothing yet
    monkeypatch.setenv("DYNAMODB_MAX_ATTEMPTS", "1")
    wiring.reset()
    # When its first request has 8 s left
    response = app(get_event(str(uuid.uuid4())), LambdaContext(remaining_ms=8_000))
    # Then it is served (404: no such customer), not refused with the default call time's reserve
    assert response["statusCode"] == 404


def test_deadline_ends_with_its_request(api: Api) -> None:
    # Given a customer, then a request whose invocation had no time left (answered 503)
    customer = create(api)
    assert app(get_event(customer["customer_id"]), LambdaContext(remaining_ms=0))["statusCode"] == 503
    # When the same thread then uses the store outside any request (a script, a test, table set-up)
    # Then that work is not held to the finished request's deadline
    stored = wiring.components().repository.read(customer["customer_id"])
    assert stored is not None
    assert stored.customer_id == customer["customer_id"]
