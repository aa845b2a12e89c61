"""History and change events on the live `make run` stack: the poller feeds the consumer as Lambda would."""

from __future__ import annotations

import time
from typing import Any

import requests

from tests.e2e.stack import LiveStack

TIMEOUT = 30
VISIBLE_WITHIN_SECONDS = 2.0  # the promise for the local stack


def history_versions(stack: LiveStack, customer_id: str) -> list[int]:
    response = requests.get(f"{stack.base_url}/customers/{customer_id}/history", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return [entry["version"] for entry in response.json()["history"]]


def wait_for_version(stack: LiveStack, customer_id: str, version: int) -> float:
    """Seconds until the history shows ``version`` (fails past twice the promise, to say by how much)."""
    started = time.monotonic()
    while version not in history_versions(stack, customer_id):
        assert time.monotonic() - started < 2 * VISIBLE_WITHIN_SECONDS, f"version {version} never reached history"
        time.sleep(0.05)
    return time.monotonic() - started


def test_each_change_reaches_the_history_within_two_seconds(live_stack: LiveStack) -> None:
    created = requests.post(
        f"{live_stack.base_url}/customers",
        json={"first_name": "Ada", "last_name": "Lovelace", "email_address": "ada.history@example.com"},
        timeout=TIMEOUT,
    )
    assert created.status_code == 201
    customer_id = created.json()["customer_id"]
    lags = [wait_for_version(live_stack, customer_id, 1)]
    url = f"{live_stack.base_url}/customers/{customer_id}"
    assert requests.put(url, json={"city": "Oslo"}, timeout=TIMEOUT).status_code == 200
    lags.append(wait_for_version(live_stack, customer_id, 2))
    assert requests.delete(url, timeout=TIMEOUT).status_code == 204
    lags.append(wait_for_version(live_stack, customer_id, 3))
    assert requests.post(f"{url}/restore", timeout=TIMEOUT).status_code == 200
    lags.append(wait_for_version(live_stack, customer_id, 4))
    assert max(lags) < VISIBLE_WITHIN_SECONDS, lags
    entries = requests.get(f"{url}/history", timeout=TIMEOUT).json()["history"]
    assert [entry["change"] for entry in entries] == ["restored", "deleted", "updated", "created"]
    assert entries[2]["changes"] == {"city": {"from": None, "to": "Oslo"}}


def test_the_event_feed_shows_every_change_once_in_version_order(live_stack: LiveStack) -> None:
    created = requests.post(
        f"{live_stack.base_url}/customers",
        json={"first_name": "Grace", "last_name": "Hopper", "email_address": "grace.feed@example.com"},
        timeout=TIMEOUT,
    ).json()
    url = f"{live_stack.base_url}/customers/{created['customer_id']}"
    for city in ("Rome", "Paris", "Lima"):
        assert requests.put(url, json={"city": city}, timeout=TIMEOUT).status_code == 200
    seen: list[dict[str, Any]] = []
    cursor = None
    deadline = time.monotonic() + 15  # the feed holds changes back for its settle window (5 s locally)
    while len([e for e in seen if e["customer_id"] == created["customer_id"]]) < 4:
        assert time.monotonic() < deadline, seen
        params = {"limit": "100", **({"after": cursor} if cursor else {})}
        page = requests.get(f"{live_stack.base_url}/events", params=params, timeout=TIMEOUT).json()
        seen += page["events"]
        cursor = page["next_cursor"]
        time.sleep(0.2)
    ids = [event["event_id"] for event in seen]
    assert len(ids) == len(set(ids)), "an event was seen twice"
    mine = [event for event in seen if event["customer_id"] == created["customer_id"]]
    assert [event["version"] for event in mine] == [1, 2, 3, 4]
    assert [event["customer"]["city"] for event in mine[1:]] == ["Rome", "Paris", "Lima"]
