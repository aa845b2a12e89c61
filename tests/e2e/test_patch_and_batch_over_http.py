"""PATCH with merge patches and POST /customers/batch on the live `make run` stack, over real HTTP.

History and the search index are written by the local stream poller a moment
after each change, as Lambda would: the tests poll for them with a deadline.
"""

from __future__ import annotations

import random
import uuid
from decimal import Decimal
from typing import Any

import requests

from tests.e2e.stack import LiveStack
from tests.support.listing import eventually

TIMEOUT = 30
WITHIN_SECONDS = 10.0
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def new_fields(**overrides: Any) -> dict[str, Any]:
    return {
        "first_name": "Ada",
        "last_name": "Patch",
        "email_address": f"{uuid.uuid4().hex[:12]}@example.com",
        **overrides,
    }


def create(stack: LiveStack, **fields: Any) -> dict[str, Any]:
    response = requests.post(f"{stack.base_url}/customers", json=new_fields(**fields), timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    customer: dict[str, Any] = response.json(parse_float=Decimal)
    return customer


def url(stack: LiveStack, customer: dict[str, Any] | str, suffix: str = "") -> str:
    customer_id = customer if isinstance(customer, str) else customer["customer_id"]
    return f"{stack.base_url}/customers/{customer_id}{suffix}"


def get(stack: LiveStack, customer: dict[str, Any]) -> dict[str, Any]:
    response = requests.get(url(stack, customer), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json(parse_float=Decimal)
    return result


def search(stack: LiveStack, q: str) -> list[str]:
    response = requests.get(f"{stack.base_url}/customers", params={"q": q, "limit": "100"}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next_token"] is None
    return [customer["customer_id"] for customer in page["customers"]]


def history(stack: LiveStack, customer: dict[str, Any]) -> list[dict[str, Any]]:
    response = requests.get(url(stack, customer, "/history"), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["history"]
    return entries


def has_version(stack: LiveStack, customer: dict[str, Any], version: int) -> bool:
    return version in [entry["version"] for entry in history(stack, customer)]


def post_batch(stack: LiveStack, operations: list[dict[str, Any]], **extra: Any) -> requests.Response:
    return requests.post(f"{stack.base_url}/customers/batch", json={"operations": operations, **extra}, timeout=TIMEOUT)


def count(stack: LiveStack) -> int:
    seen, token = 0, None
    for _ in range(1000):
        params = {"limit": "100", **({"next_token": token} if token else {})}
        page = requests.get(f"{stack.base_url}/customers", params=params, timeout=TIMEOUT).json()
        seen += len(page["customers"])
        token = page["next_token"]
        if token is None:
            return seen
    raise AssertionError("the walk did not end")


def test_a_merge_patch_removes_fields_from_the_customer_its_history_and_the_search(live_stack: LiveStack) -> None:
    digits = f"555{random.randint(200, 999)}{random.randint(0, 9999):04d}"  # noqa: S311
    customer = create(live_stack, phone_number=f"{digits[:3]}-{digits[3:6]}-{digits[6:]}", city="Austin", state="TX")
    eventually(lambda: search(live_stack, digits) == [customer["customer_id"]], WITHIN_SECONDS, "the search by phone")

    response = requests.patch(
        url(live_stack, customer),
        data=b'{"phone_number": null, "city": null, "lifetime_value": 42}',
        headers={**MERGE_PATCH, "If-Match": '"1"'},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    updated = response.json()
    assert not {"phone_number", "phone_number_e164", "city"} & set(updated)
    assert (updated["state"], updated["lifetime_value"], updated["version"]) == ("TX", 42, 2)
    assert get(live_stack, customer) == updated

    eventually(lambda: search(live_stack, digits) == [], WITHIN_SECONDS, "the removal from the search")
    eventually(lambda: has_version(live_stack, customer, 2), WITHIN_SECONDS, "the update's history entry")
    entry = history(live_stack, customer)[0]
    assert entry["change"] == "updated"
    assert entry["changes"] == {
        "phone_number": {"from": customer["phone_number"], "to": None},
        "city": {"from": "Austin", "to": None},
        "lifetime_value": {"from": 0, "to": 42},
    }

    again = requests.patch(url(live_stack, customer), data=b'{"city": null}', headers=MERGE_PATCH, timeout=TIMEOUT)
    assert again.status_code == 200, again.text
    assert again.headers["ETag"] == '"2"'  # a removal of an absent field changes nothing
    wrong = requests.patch(
        url(live_stack, customer), data=b"{}", headers={"Content-Type": "text/plain"}, timeout=TIMEOUT
    )
    assert wrong.status_code == 415, wrong.text


def test_a_batch_answers_every_operation_and_applies_all_but_the_failures(live_stack: LiveStack) -> None:
    holder, target = create(live_stack), create(live_stack, city="Austin")
    fresh = new_fields()
    operations = [
        {"op": "create", "body": fresh},
        {"op": "update", "customer_id": target["customer_id"], "body": {"city": None}},
        {"op": "create", "body": new_fields(email_address=holder["email_address"].upper())},
        {"op": "update", "customer_id": str(uuid.uuid4()), "body": {"city": "Nowhere"}},
        {"op": "delete", "customer_id": holder["customer_id"], "if_match": '"5"'},
        {"op": "upsert", "body": {"email_address": fresh["email_address"], "city": "Oslo"}},
        {"op": "create", "body": {"first_name": "Nameless"}},
    ]
    response = post_batch(live_stack, operations)
    assert response.status_code == 207, response.text
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(7))
    assert [r["status"] for r in results] == [201, 200, 409, 404, 412, 200, 400]
    assert results[2]["error"]["code"] == "email_in_use"
    assert results[2]["error"]["details"]["customer_id"] == holder["customer_id"]
    assert results[3]["error"]["code"] == "not_found"
    assert results[4]["error"]["code"] == "precondition_failed"
    assert {"last_name", "email_address"} <= set(results[6]["error"]["details"])
    created = results[0]["customer"]
    assert results[5]["customer"]["customer_id"] == created["customer_id"]
    assert get(live_stack, created)["city"] == "Oslo"
    assert "city" not in get(live_stack, target)
    assert get(live_stack, holder) == holder
    eventually(lambda: has_version(live_stack, created, 2), WITHIN_SECONDS, "the upsert's history entry")
    assert [entry["change"] for entry in history(live_stack, created)] == ["updated", "created"]


def test_an_atomic_batch_with_a_failure_writes_nothing(live_stack: LiveStack) -> None:
    target, holder = create(live_stack, city="Austin"), create(live_stack)
    before = count(live_stack)
    operations = [
        {"op": "create", "body": new_fields()},
        {"op": "update", "customer_id": target["customer_id"], "body": {"city": None}},
        {"op": "create", "body": new_fields(email_address=holder["email_address"])},
        {"op": "delete", "customer_id": str(uuid.uuid4())},
    ]
    response = post_batch(live_stack, operations, atomic=True)
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "batch_failed"
    assert sorted(failure["index"] for failure in error["details"]["failures"]) == [2, 3]
    assert get(live_stack, target) == target
    assert count(live_stack) == before
    # Had the batch written anything for the target, this write would be its version 3, not 2.
    assert requests.put(url(live_stack, target), json={"state": "OR"}, timeout=TIMEOUT).status_code == 200
    eventually(lambda: has_version(live_stack, target, 2), WITHIN_SECONDS, "the put's history entry")
    assert [entry["version"] for entry in history(live_stack, target)] == [2, 1]
    assert history(live_stack, target)[0]["changes"] == {"state": {"from": None, "to": "OR"}}

    retried = post_batch(live_stack, [operations[0], operations[1]], atomic=True)
    assert retried.status_code == 207, retried.text
    assert [r["status"] for r in retried.json()["results"]] == [201, 200]
    assert count(live_stack) == before + 1
