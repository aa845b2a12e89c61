"""Search, sorted lists and combinations on the live `make run` stack, over real HTTP.

The local stream poller feeds the search index as Lambda would: a new customer
is found by ``q`` a moment after it is created, never at once by promise, so the
tests poll with a deadline.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

import requests

from tests.e2e.stack import LiveStack
from tests.support.listing import eventually, in_order

TIMEOUT = 30
SEARCHABLE_WITHIN_SECONDS = 10.0


def tag() -> str:
    """Letters no other customer's names start with."""
    return "e" + "".join(chr(ord("a") + int(ch, 16)) for ch in uuid.uuid4().hex[:10])


def create(stack: LiveStack, **fields: Any) -> dict[str, Any]:
    body = {"first_name": "Ada", "last_name": "Doe", "email_address": f"{uuid.uuid4().hex[:12]}@example.com", **fields}
    response = requests.post(f"{stack.base_url}/customers", json=body, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    customer: dict[str, Any] = response.json(parse_float=Decimal)
    return customer


def walk(stack: LiveStack, limit: int = 100, **params: Any) -> list[dict[str, Any]]:
    """Every customer of a listing, its pages of ``limit`` followed over HTTP."""
    customers: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(1000):
        query = {"limit": str(limit), **params, **({"next_token": token} if token else {})}
        response = requests.get(f"{stack.base_url}/customers", params=query, timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        page = response.json(parse_float=Decimal)
        assert len(page["customers"]) <= limit
        customers += page["customers"]
        token = page["next_token"]
        if token is None:
            return customers
    raise AssertionError(f"the walk of {params} did not end")


def ids(customers: list[dict[str, Any]]) -> list[str]:
    return [str(customer["customer_id"]) for customer in customers]


def wait_until_found(stack: LiveStack, q: str, count: int) -> float:
    """Seconds until ``q`` finds ``count`` customers (fails past the deadline)."""
    started = time.monotonic()
    while len(walk(stack, q=q)) < count:
        assert time.monotonic() - started < SEARCHABLE_WITHIN_SECONDS, f"{q!r} did not find {count} customers"
        time.sleep(0.1)
    return time.monotonic() - started


def history_shows(stack: LiveStack, customer_id: str, version: int) -> bool:
    response = requests.get(f"{stack.base_url}/customers/{customer_id}/history", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return version in [entry["version"] for entry in response.json()["history"]]


def test_search_finds_new_customers_in_name_order_once_the_poller_fed_the_index(live_stack: LiveStack) -> None:
    # Given customers with accented, differently cased and shared last names, created out of order
    word = tag()
    names = [("Zoë", f"{word}ávila"), ("ana", f"{word.upper()}Avila"), ("Émile", f"{word}Zola"), ("Ed", f"{word}zola")]
    made = [create(live_stack, first_name=first, last_name=last) for first, last in names]
    # When the poller has fed the search index
    wait_until_found(live_stack, word, len(made))
    # Then the search answers them by folded last name, then first name, however it is written and paged
    expected = ids([made[1], made[0], made[3], made[2]])
    assert expected == in_order(made, "last_name")
    assert ids(walk(live_stack, q=word)) == expected
    assert ids(walk(live_stack, limit=1, q=word.upper())) == expected
    assert ids(walk(live_stack, limit=3, q=f"{word}AVI")) == expected[:2]
    assert ids(walk(live_stack, limit=2, q=f"zoe {word}áv", sort="-last_name")) == expected[1:2]


def test_search_hides_a_deleted_customer_at_once_and_finds_it_again_once_restored(live_stack: LiveStack) -> None:
    # Given a customer the search finds
    word = tag()
    target = create(live_stack, last_name=word, phone_number="555-314-1592")
    wait_until_found(live_stack, word, 1)
    url = f"{live_stack.base_url}/customers/{target['customer_id']}"
    # When it is deleted
    assert requests.delete(url, timeout=TIMEOUT).status_code == 204
    # Then the search no longer finds it, with no wait
    assert walk(live_stack, q=word) == []
    # And once restored, and the poller has handed on the restore (the consumer keeps the search index
    # before the history), it is found again by its name and its phone digits
    assert requests.post(f"{url}/restore", timeout=TIMEOUT).status_code == 200
    eventually(lambda: history_shows(live_stack, target["customer_id"], 3), SEARCHABLE_WITHIN_SECONDS, "the restore")
    assert ids(walk(live_stack, q=word)) == [target["customer_id"]]
    assert ids(walk(live_stack, q="(555) 314-15")) == [target["customer_id"]]


def test_sorted_filtered_ranged_combination_pages_over_http(live_stack: LiveStack) -> None:
    # Given customers in a state of their own (written in several cases), with values on both sides of a range
    state = tag()
    made = [
        create(
            live_stack,
            last_name=f"{state}{chr(ord('a') + i)}",
            state=(state, state.upper(), state.capitalize())[i % 3],
            customer_status=("active", "inactive")[i % 2],
            lifetime_value=250 * i,
        )
        for i in range(9)
    ]
    middle = made[2]["created_at"]

    # created one after another: from the third on, active, valued 500 to 1750
    keep = [c for c in made[2:] if c["customer_status"] == "active" and 500 <= c["lifetime_value"] <= 1750]
    assert len(keep) == 3  # values 500, 1000, 1500
    # When listing them by a combination, highest value first, one at a time
    seen = walk(
        live_stack,
        limit=1,
        state=state.upper(),
        customer_status="active",
        min_lifetime_value="500",
        max_lifetime_value="1750.00",
        created_after=middle,
        sort="-lifetime_value",
    )
    # Then exactly those meeting every criterion come back, in that order
    assert ids(seen) == in_order(keep, "-lifetime_value")
    # And the same customers in the other orders, the search text narrowing too
    for sort in ("last_name", "-created_at", "updated_at"):
        assert ids(walk(live_stack, limit=2, state=state, customer_status="active", sort=sort)) == in_order(
            [c for c in made if c["customer_status"] == "active"], sort
        )
    assert ids(walk(live_stack, limit=2, q=f"{state}c", sort="-created_at", state=state)) == [made[2]["customer_id"]]
