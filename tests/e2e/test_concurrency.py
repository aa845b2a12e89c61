"""Racing writers against a live `chalice local` (threaded, like Lambda's concurrent invocations) on DynamoDB Local."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from tests.e2e.stack import LiveStack

TIMEOUT = 30


def race(count: int, send: Any) -> list[requests.Response]:
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(send, range(count)))


def new_customer(email: str) -> dict[str, Any]:
    return {"first_name": "Ada", "last_name": "Lovelace", "email_address": email}


def test_fifty_puts_with_one_if_match_have_exactly_one_winner(live_stack: LiveStack) -> None:
    # Given a customer at version 1
    created = requests.post(
        f"{live_stack.base_url}/customers", json=new_customer("race.put@example.com"), timeout=TIMEOUT
    )
    url = f"{live_stack.base_url}/customers/{created.json()['customer_id']}"
    etag = created.headers["ETag"]

    # When 50 writers send different changes, all conditional on that version
    def put(index: int) -> requests.Response:
        return requests.put(
            url, json={"city": f"City {index}", "lifetime_value": index}, headers={"If-Match": etag}, timeout=TIMEOUT
        )

    responses = race(50, put)
    # Then exactly one wins and 49 are told the customer changed, in the envelope
    assert Counter(r.status_code for r in responses) == {200: 1, 412: 49}
    assert all(r.json()["error"]["code"] == "precondition_failed" for r in responses if r.status_code == 412)
    winner = next(r for r in responses if r.status_code == 200).json()
    # And the stored customer is exactly the winner's write
    stored = requests.get(url, timeout=TIMEOUT)
    assert stored.json() == winner
    assert stored.json()["version"] == 2
    assert stored.headers["ETag"] == '"2"'


def test_twenty_identical_keyed_posts_create_one_customer(live_stack: LiveStack) -> None:
    key = str(uuid.uuid4())
    body = new_customer("race.keyed@example.com")

    def post(_: int) -> requests.Response:
        return requests.post(
            f"{live_stack.base_url}/customers", json=body, headers={"Idempotency-Key": key}, timeout=TIMEOUT
        )

    responses = race(20, post)
    statuses = Counter(r.status_code for r in responses)
    # Every answer is the created customer (new or replayed) or "still in progress, retry"
    assert set(statuses) <= {201, 409}
    assert statuses[201] >= 1
    created_ids = {r.json()["customer_id"] for r in responses if r.status_code == 201}
    assert len(created_ids) == 1
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "request_in_progress"
            assert response.headers["Retry-After"] == "1"
    page = requests.get(f"{live_stack.base_url}/customers?limit=100", timeout=TIMEOUT).json()
    assert [c["email_address"] for c in page["customers"]].count("race.keyed@example.com") == 1


def test_twenty_unkeyed_creates_with_one_email_make_exactly_one_customer(live_stack: LiveStack) -> None:
    def post(index: int) -> requests.Response:
        email = "race.email@example.com" if index % 2 else "Race.Email@Example.COM"
        return requests.post(f"{live_stack.base_url}/customers", json=new_customer(email), timeout=TIMEOUT)

    responses = race(20, post)
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 19}
    assert all(r.json()["error"]["code"] == "email_in_use" for r in responses if r.status_code == 409)
    page = requests.get(f"{live_stack.base_url}/customers?limit=100", timeout=TIMEOUT).json()
    assert [c["email_address"].lower() for c in page["customers"]].count("race.email@example.com") == 1


def test_concurrent_requests_each_log_their_own_metrics(live_stack: LiveStack) -> None:
    # Given twenty creates at once, on a server that serves each in its own thread
    def post(index: int) -> requests.Response:
        body = new_customer(f"metrics.{index}@example.com")
        return requests.post(f"{live_stack.base_url}/customers", json=body, timeout=TIMEOUT)

    responses = race(20, post)
    assert {r.status_code for r in responses} == {201}
    request_ids = {r.headers["X-Request-Id"] for r in responses}
    # Then each request's one log line carries exactly its own count, never a neighbour's
    lines = [json.loads(line) for line in live_stack.output().splitlines() if line.startswith("{")]
    ours = [line for line in lines if line.get("request_id") in request_ids]
    assert len(ours) == 20
    assert all(line["CustomersCreated"] == 1 and "_aws" in line for line in ours)
