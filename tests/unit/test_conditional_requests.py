"""Optimistic concurrency (RFC 9110 conditional requests) and idempotent creates, over HTTP."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.config import get_settings
from tests.support import JSON, Api, all_customers, assert_error, body, create, new_customer


def customer_path(customer: dict[str, Any]) -> str:
    return f"/customers/{customer['customer_id']}"


class TestConditionalRequests:
    def test_put_with_current_etag_succeeds_and_returns_next_etag(self, api: Api) -> None:
        customer = create(api)
        response = api.put(
            customer_path(customer), {"city": "Oslo"}, headers={"Content-Type": "application/json", "If-Match": '"1"'}
        )
        assert response.status_code == 200
        assert response.headers["ETag"] == '"2"'

    @pytest.mark.parametrize("with_email", [False, True])
    def test_put_with_stale_etag_is_412_and_changes_nothing(self, api: Api, with_email: bool) -> None:
        customer = create(api)
        api.put(customer_path(customer), {"city": "Oslo"})  # now version 2
        current = body(api.get(customer_path(customer)))
        changes: dict[str, Any] = {"city": "Rome"}
        if with_email:
            changes["email_address"] = "stale.writer@example.com"
        response = api.put(
            customer_path(customer), changes, headers={"Content-Type": "application/json", "If-Match": '"1"'}
        )
        assert_error(response, 412, "precondition_failed")
        assert body(api.get(customer_path(customer))) == current
        # The stale writer's email was not claimed either.
        create(api, email_address="stale.writer@example.com")

    def test_put_with_one_of_several_etags_matching_succeeds(self, api: Api) -> None:
        customer = create(api)
        headers = {"Content-Type": "application/json", "If-Match": '"7", W/"1", "1"'}
        assert (
            api.put(customer_path(customer), {"email_address": "many@example.com"}, headers=headers).status_code == 200
        )

    def test_put_with_only_weak_etag_is_412(self, api: Api) -> None:
        customer = create(api)
        headers = {"Content-Type": "application/json", "If-Match": 'W/"1"'}
        assert_error(api.put(customer_path(customer), {"city": "Oslo"}, headers=headers), 412, "precondition_failed")

    def test_put_with_if_match_star_updates_existing_and_404s_absent(self, api: Api) -> None:
        customer = create(api)
        headers = {"Content-Type": "application/json", "If-Match": "*"}
        assert api.put(customer_path(customer), {"city": "Oslo"}, headers=headers).status_code == 200
        assert_error(api.put(f"/customers/{uuid.uuid4()}", {"city": "Oslo"}, headers=headers), 404, "not_found")

    def test_put_with_if_match_on_absent_customer_is_404(self, api: Api) -> None:
        headers = {"Content-Type": "application/json", "If-Match": '"1"'}
        assert_error(api.put(f"/customers/{uuid.uuid4()}", {"city": "Oslo"}, headers=headers), 404, "not_found")

    @pytest.mark.parametrize("value", ["1", "", "W/1", '"1" "2"', '"unterminated', "x" * 5000])
    def test_malformed_if_match_is_400_naming_the_header(self, api: Api, value: str) -> None:
        customer = create(api)
        headers = {"Content-Type": "application/json", "If-Match": value}
        assert_error(
            api.put(customer_path(customer), {"city": "Oslo"}, headers=headers), 400, "validation_error", "If-Match"
        )

    def test_delete_with_stale_etag_is_412_and_keeps_customer(self, api: Api) -> None:
        customer = create(api)
        api.put(customer_path(customer), {"city": "Oslo"})
        assert_error(api.delete(customer_path(customer), headers={"If-Match": '"1"'}), 412, "precondition_failed")
        assert api.get(customer_path(customer)).status_code == 200

    def test_delete_with_current_etag_deletes(self, api: Api) -> None:
        customer = create(api)
        assert api.delete(customer_path(customer), headers={"If-Match": '"1"'}).status_code == 204
        assert_error(api.get(customer_path(customer)), 404, "customer_deleted")

    def test_get_with_matching_if_none_match_is_304_without_body(self, api: Api) -> None:
        customer = create(api)
        for value in ('"1"', 'W/"1"', '"9", "1"', "*"):
            response = api.get(customer_path(customer), headers={"If-None-Match": value})
            assert response.status_code == 304, value
            assert response.body == b""
            assert response.headers["ETag"] == '"1"'

    def test_get_with_stale_if_none_match_is_200(self, api: Api) -> None:
        customer = create(api)
        api.put(customer_path(customer), {"city": "Oslo"})
        response = api.get(customer_path(customer), headers={"If-None-Match": '"1"'})
        assert response.status_code == 200
        assert body(response)["city"] == "Oslo"

    def test_tags_compare_exactly_so_leading_zeros_never_match(self, api: Api) -> None:
        customer = create(api)
        headers = {**JSON, "If-Match": '"01"'}
        assert_error(api.put(customer_path(customer), {"city": "Oslo"}, headers=headers), 412, "precondition_failed")
        assert api.get(customer_path(customer), headers={"If-None-Match": '"01"'}).status_code == 200

    def test_put_with_if_none_match_star_on_existing_customer_is_412(self, api: Api) -> None:
        customer = create(api)
        headers = {**JSON, "If-None-Match": "*"}
        assert_error(api.put(customer_path(customer), {"city": "Oslo"}, headers=headers), 412, "precondition_failed")
        assert body(api.get(customer_path(customer))) == customer

    def test_put_with_if_none_match_of_another_version_succeeds(self, api: Api) -> None:
        customer = create(api)
        headers = {**JSON, "If-None-Match": '"2"'}
        assert api.put(customer_path(customer), {"city": "Oslo"}, headers=headers).status_code == 200

    def test_delete_with_if_none_match_of_current_version_is_412(self, api: Api) -> None:
        customer = create(api)
        assert_error(api.delete(customer_path(customer), headers={"If-None-Match": '"1"'}), 412, "precondition_failed")
        assert api.get(customer_path(customer)).status_code == 200

    def test_get_with_if_match_evaluates_it(self, api: Api) -> None:
        customer = create(api)
        assert_error(api.get(customer_path(customer), headers={"If-Match": '"99"'}), 412, "precondition_failed")
        assert api.get(customer_path(customer), headers={"If-Match": '"1"'}).status_code == 200

    def test_writes_without_if_match_keep_working(self, api: Api) -> None:
        customer = create(api)
        assert (
            api.put(customer_path(customer), {"lifetime_value": 2000, "customer_status": "active"}).status_code == 200
        )
        assert api.delete(customer_path(customer)).status_code == 204


class TestIdempotentCreates:
    def test_same_key_and_body_replays_original_without_second_customer(self, api: Api) -> None:
        fields = new_customer()
        headers = {"Content-Type": "application/json", "Idempotency-Key": "order-42"}
        first = api.post("/customers", fields, headers=headers)
        api.put(f"/customers/{body(first)['customer_id']}", {"city": "Oslo"})  # later changes do not alter the replay
        again = api.post("/customers", fields, headers=headers)
        assert first.status_code == again.status_code == 201
        assert body(again) == body(first)
        assert again.headers["Location"] == first.headers["Location"]
        assert again.headers["Idempotent-Replayed"] == "true"
        assert len(all_customers(api)) == 1

    def test_same_key_different_body_is_422(self, api: Api) -> None:
        headers = {"Content-Type": "application/json", "Idempotency-Key": "order-43"}
        api.post("/customers", new_customer(), headers=headers)
        response = api.post("/customers", new_customer(), headers=headers)
        assert_error(response, 422, "idempotency_key_reused", "Idempotency-Key")
        assert len(all_customers(api)) == 1

    def test_same_body_different_keys_hits_email_uniqueness(self, api: Api) -> None:
        fields = new_customer()
        api.post("/customers", fields, headers={"Content-Type": "application/json", "Idempotency-Key": "a"})
        response = api.post("/customers", fields, headers={"Content-Type": "application/json", "Idempotency-Key": "b"})
        assert_error(response, 409, "email_in_use")

    def test_failed_keyed_create_is_not_remembered(self, api: Api) -> None:
        taken = create(api)
        fields = new_customer(email_address=taken["email_address"])
        headers = {"Content-Type": "application/json", "Idempotency-Key": "retry-me"}
        assert_error(api.post("/customers", fields, headers=headers), 409, "email_in_use")
        api.delete(customer_path(taken))
        assert api.post("/customers", fields, headers=headers).status_code == 201

    @pytest.mark.parametrize("key", ["", " ", "x" * 256, "tab\there", "ünicode", "line\nbreak"])
    def test_invalid_idempotency_key_is_400(self, api: Api, key: str) -> None:
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        assert_error(
            api.post("/customers", new_customer(), headers=headers), 400, "validation_error", "Idempotency-Key"
        )
        assert all_customers(api) == []

    def test_expired_record_not_yet_removed_by_ttl_counts_as_absent(self, api: Api) -> None:
        # Given a record DynamoDB's TTL has not deleted yet although it expired (deletion is lazy)
        settings = get_settings()
        wiring.dynamodb_client().put_item(
            TableName=settings.idempotency_table,
            Item={
                "idempotency_key": {"S": "POST /customers yesterday"},
                "fingerprint": {"S": "of another body"},
                "customer": {"M": {"customer_id": {"S": str(uuid.uuid4())}, "version": {"N": "1"}}},
                "expires_at": {"N": str(int(time.time()) - 1)},
            },
        )
        headers = {"Content-Type": "application/json", "Idempotency-Key": "yesterday"}
        # When the key is used again with a new body, it creates (no 422, no replay)
        first = api.post("/customers", new_customer(), headers=headers)
        assert first.status_code == 201
        assert "Idempotent-Replayed" not in first.headers
        # And the new record now replays
        assert body(
            api.post("/customers", new_customer(email_address=body(first)["email_address"]), headers=headers)
        ) == body(first)

    def test_longest_idempotency_key_is_accepted(self, api: Api) -> None:
        headers = {"Content-Type": "application/json", "Idempotency-Key": "k" * 255}
        assert api.post("/customers", new_customer(), headers=headers).status_code == 201
