"""Logs: one structured line per request, and never a customer's personal data."""

from __future__ import annotations

import logging
import uuid

import pytest

from chalicelib import wiring
from chalicelib.config import get_settings
from tests.support import JSON, Api, body, captured_json_logs
from tests.support.faults import FAULTS, FaultInjector
from tests.support.stream import deliver_changes

PII = {
    "first_name": "Zebulon",
    "last_name": "Quixotica",
    "email_address": "zebulon.quixotica@example.com",
    "phone_number": "555-987-6543",
    "address": "742 Evergreen Terrace",
    "city": "Shelbyvillage",
    "state": "Nowhereland",
    "postal_code": "99501",
    "date_of_birth": "1977-07-07",
}
OTHER_EMAIL = "ophelia.pii@example.com"


def test_logs_never_contain_personal_data_across_the_whole_api(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    # Every logger at the production level, not only the service's own
    with caplog.at_level(logging.INFO), captured_json_logs() as logs:
        requests_sent = exercise_every_route(api)
        text = logs.text() + caplog.text
        lines = logs.lines()
    # Nothing personal, in any spelling a formatter might produce
    for value in [*PII.values(), OTHER_EMAIL, "Zebulon Bad"]:
        for form in (value, value.lower(), value.upper(), value.replace("-", "")):
            assert form not in text, f"{form!r} leaked into the logs"
    # And one structured line per request, with what an operator needs
    request_lines = [line for line in lines if line["message"] in ("request", "request failed")]
    assert len(request_lines) == requests_sent
    for line in request_lines:
        assert {"request_id", "method", "route", "status", "latency_ms", "service", "timestamp"} <= set(line)
    assert any("exception" in line and "Traceback" in line["exception"] for line in lines)


def exercise_every_route(api: Api) -> int:
    """Every endpoint, success and failure, with personal data in bodies, headers and bad values."""
    sent = 0

    def call(method: str, path: str, payload: object = None, **kwargs: object) -> object:
        nonlocal sent
        sent += 1
        return api.request(method, path, payload, **kwargs)  # type: ignore[arg-type]

    created = call("POST", "/customers", PII, headers={**JSON, "Idempotency-Key": "pii-key"})
    customer = body(created)  # type: ignore[arg-type]
    cid = customer["customer_id"]
    call("POST", "/customers", PII, headers={**JSON, "Idempotency-Key": "pii-key"})  # replay
    call("POST", "/customers", {**PII, "city": "Else"}, headers={**JSON, "Idempotency-Key": "pii-key"})  # 422
    call("POST", "/customers", PII)  # 409 email in use
    call("POST", "/customers", {**PII, "email_address": "Zebulon Bad@example.com", "date_of_birth": "2999-01-01"})
    call("POST", "/customers", {**PII, "phone_number": PII["phone_number"] + "\x00", "first_name": None})
    call("POST", "/customers", raw='{"first_name": "Zebulon", "first_name": "Zebulon"}', headers=JSON)
    call("POST", "/customers", raw='{"first_name": "Zebulon", ', headers=JSON)
    call(
        "POST",
        "/customers",
        raw=f'{{"email_address": "{PII["email_address"]}"}}',
        headers={"Content-Type": "text/plain"},
    )
    call("POST", "/customers", raw='{"address": "' + PII["address"] * 5000 + '"}', headers=JSON)
    call("POST", "/customers", {**PII, "email_address": OTHER_EMAIL, "customer_id": str(uuid.uuid4())})
    call("GET", f"/customers/{cid}")
    call("GET", f"/customers/{cid}", headers={"If-None-Match": created.headers["ETag"]})  # type: ignore[attr-defined]
    call("GET", f"/customers/{PII['email_address']}")
    call("GET", f"/customers?limit=2&next_token={PII['email_address']}")
    call("GET", f"/customers?email={PII['email_address']}")
    call("GET", "/customers?limit=1")
    call("PUT", f"/customers/{cid}", {"city": "Zebulonia", "address": PII["address"] + " 2"})
    call("PUT", f"/customers/{cid}", {"email_address": OTHER_EMAIL}, headers={**JSON, "If-Match": '"1"'})  # 412
    call("PUT", f"/customers/{cid}", {"email_address": OTHER_EMAIL})
    call("PUT", f"/customers/{cid}", {"last_name": PII["last_name"] * 50})
    call("PUT", f"/customers/{cid}", {"phone_number": "call " + PII["phone_number"]})
    call("POST", "/seed")
    with FaultInjector(wiring.dynamodb_client()) as injector:
        injector.arm(FAULTS[0], from_call=1)
        call("PUT", f"/customers/{cid}", {"city": PII["city"]})  # 503 after retries
    call("DELETE", f"/customers/{cid}", headers={"If-Match": '"99"'})
    call("DELETE", f"/customers/{cid}")
    call("PATCH", f"/customers/{cid}", PII)
    call("POST", "/customers", {**PII, PII["email_address"]: 1, PII["first_name"]: "x"})  # personal data as keys
    call("GET", f"/customers?{PII['phone_number']}=1&{PII['last_name']}=2")  # ... and as parameter names
    call("DELETE", f"/customers/{cid}?{PII['city']}=1")
    # Restore, history, events, export and erasure, with the consumer writing history in between
    call("POST", f"/customers/{cid}/restore")
    call("POST", f"/customers/{cid}/restore")  # 409: not deleted
    deliver_changes()
    call("GET", f"/customers/{cid}/history?limit=2")
    call("GET", f"/customers/{cid}/history?next_token={PII['email_address']}")
    call("GET", "/events?limit=100")
    call("GET", f"/events?after={PII['last_name']}&type=customer.created")
    call("GET", f"/events?customer_id={PII['email_address']}")
    call("GET", f"/customers/{cid}/export")
    call("POST", f"/customers/{cid}/erasure")
    deliver_changes()
    call("GET", f"/customers/{cid}")  # 410
    call("POST", "/customers", PII, headers={**JSON, "Idempotency-Key": "pii-key"})  # 410: never recreated
    call("GET", f"/customers/{cid}/history")
    wiring.dynamodb_client().delete_table(TableName=get_settings().customers_table)
    call("PUT", f"/customers/{cid}", {"email_address": PII["email_address"]})  # 500
    return sent
