"""A second writer lands between the app's read and its conditional write: nothing is lost."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import JSON, Api, assert_error, body, create
from tests.support.interleave import ConcurrentWriter


def path(customer: dict[str, Any]) -> str:
    return f"/customers/{customer['customer_id']}"


class TestInterleavedWriters:
    def test_email_change_retries_and_keeps_the_concurrent_change(self, api: Api) -> None:
        customer = create(api)
        with ConcurrentWriter(customer["customer_id"], "TransactWriteItems") as other:
            response = api.put(path(customer), {"email_address": "after.race@example.com"})
        assert other.done == 1
        assert response.status_code == 200
        stored = body(api.get(path(customer)))
        assert stored["email_address"] == "after.race@example.com"
        assert stored["city"] == "Changed concurrently"
        assert stored["version"] == 3

    def test_same_email_update_retries_and_keeps_the_concurrent_change(self, api: Api) -> None:
        customer = create(api)
        with ConcurrentWriter(customer["customer_id"], "UpdateItem") as other:
            response = api.put(path(customer), {"email_address": customer["email_address"].upper(), "state": "OR"})
        assert other.done == 1
        assert response.status_code == 200
        stored = body(api.get(path(customer)))
        assert (stored["city"], stored["state"], stored["version"]) == ("Changed concurrently", "OR", 3)

    def test_delete_retries_after_a_concurrent_change(self, api: Api) -> None:
        customer = create(api)
        with ConcurrentWriter(customer["customer_id"], "TransactWriteItems") as other:
            assert api.delete(path(customer)).status_code == 204
        assert other.done == 1
        assert_error(api.get(path(customer)), 404, "customer_deleted")

    @pytest.mark.parametrize(
        ("changes", "operation"),
        [
            ({"city": "Mine"}, "UpdateItem"),
            ({"email_address": "mine@example.com"}, "TransactWriteItems"),
        ],
    )
    def test_if_match_put_loses_to_a_concurrent_change_with_412(
        self, api: Api, changes: dict[str, Any], operation: str
    ) -> None:
        customer = create(api)
        headers = {**JSON, "If-Match": '"1"'}
        with ConcurrentWriter(customer["customer_id"], operation) as other:
            response = api.put(path(customer), changes, headers=headers)
        assert other.done == 1
        assert_error(response, 412, "precondition_failed")
        stored = body(api.get(path(customer)))
        assert stored["city"] == "Changed concurrently"
        assert stored["email_address"] == customer["email_address"]

    def test_if_match_delete_loses_to_a_concurrent_change_with_412(self, api: Api) -> None:
        customer = create(api)
        with ConcurrentWriter(customer["customer_id"], "TransactWriteItems") as other:
            response = api.delete(path(customer), headers={"If-Match": '"1"'})
        assert other.done == 1
        assert_error(response, 412, "precondition_failed")
        assert body(api.get(path(customer)))["city"] == "Changed concurrently"

    def test_writer_that_keeps_losing_gets_409_conflict_and_changes_nothing(self, api: Api) -> None:
        customer = create(api)
        with ConcurrentWriter(customer["customer_id"], "TransactWriteItems", times=100) as other:
            response = api.put(path(customer), {"email_address": "never@example.com"})
        assert other.done == 5  # one per attempt
        assert_error(response, 409, "conflict")
        assert body(api.get(path(customer)))["email_address"] == customer["email_address"]
        # The address it tried to claim is still free.
        create(api, email_address="never@example.com")
