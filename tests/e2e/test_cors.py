"""CORS on the local stage (which allows any origin): preflights pass, and errors carry the headers too."""

from __future__ import annotations

import requests

from tests.e2e.stack import LiveStack

ORIGIN = "http://localhost:3000"


def test_preflight_allows_the_headers_the_api_uses(live_stack: LiveStack) -> None:
    response = requests.options(
        f"{live_stack.base_url}/customers",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "idempotency-key",
        },
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Idempotency-Key" in response.headers["Access-Control-Allow-Headers"]


def test_success_and_error_answers_both_carry_cors_headers(live_stack: LiveStack) -> None:
    ok = requests.get(f"{live_stack.base_url}/customers", headers={"Origin": ORIGIN}, timeout=10)
    error = requests.get(f"{live_stack.base_url}/customers/not-a-uuid", headers={"Origin": ORIGIN}, timeout=10)
    assert ok.status_code == 200
    assert error.status_code == 400
    for response in (ok, error):
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "ETag" in response.headers["Access-Control-Expose-Headers"]
