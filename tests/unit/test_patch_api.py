"""PATCH /customers/{id} (RFC 7396 merge patch) and writes that change nothing, through the public HTTP interface.

The store-sensitive classes (removal from every index, preconditions, no-op
writes) run against moto here and against DynamoDB Local in tests/integration,
through the ``api`` fixture each folder defines. History and search are written
by the stream consumer: ``deliver_changes()`` hands it the stream, as Lambda would.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from tests.support import JSON, Api, all_customers, assert_error, body, create
from tests.support.listing import ids, walk
from tests.support.store import snapshot
from tests.support.stream import deliver_changes, follow_events, history_of
from tests.unit.test_lifecycle_api import listed, path

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
# The optional fields without a default: the only ones a null may remove.
REMOVABLE: dict[str, Any] = {
    "date_of_birth": "1980-02-29",
    "address": "1 Patch Street",
    "city": "Austin",
    "state": "TX",
    "postal_code": "73301",
    "phone_number": "555-123-4567",
}
# Writable fields that are required or have a default: a null for any of them is 400.
NOT_REMOVABLE = (
    "first_name",
    "last_name",
    "email_address",
    "customer_acquisition_date",
    "preferred_communication_channels",
    "is_loyalty_member",
    "customer_status",
    "lifetime_value",
)
READ_ONLY = ("customer_id", "created_at", "updated_at", "version", "created_by", "updated_by", "phone_number_e164")


def patch(api: Api, customer: dict[str, Any] | str, changes: Any, **headers: str) -> Any:
    """A merge patch, sent as ``application/merge-patch+json`` (plus ``headers``)."""
    return api.patch(path(customer), changes, headers={**MERGE_PATCH, **headers})


def patched(api: Api, customer: dict[str, Any] | str, changes: Any) -> dict[str, Any]:
    response = patch(api, customer, changes)
    assert response.status_code == 200, response.body
    result: dict[str, Any] = body(response)
    return result


def current(api: Api, customer: dict[str, Any]) -> dict[str, Any]:
    response = api.get(path(customer))
    assert response.status_code == 200, response.body
    result: dict[str, Any] = body(response)
    return result


class TestPatchCustomer:
    """What a merge patch may say, and how the route reads it (store-independent: moto only)."""

    def test_patch_sets_the_fields_sent_keeps_the_rest_and_answers_like_put(self, api: Api) -> None:
        customer = create(api, city="Austin", state="TX", preferred_communication_channels=["email", "phone"])
        response = patch(api, customer, {"city": "Dallas", "preferred_communication_channels": ["text"]})
        assert response.status_code == 200, response.body
        updated = body(response)
        assert response.headers["ETag"] == '"2"'
        assert updated["version"] == 2
        assert updated["city"] == "Dallas"
        assert updated["preferred_communication_channels"] == ["text"]  # arrays are replaced, never merged
        assert updated["state"] == "TX"
        assert updated["email_address"] == customer["email_address"]
        assert updated["created_at"] == customer["created_at"]
        assert updated["updated_at"] > customer["updated_at"]
        assert current(api, customer) == updated

    def test_patch_sets_and_removes_in_one_request(self, api: Api) -> None:
        customer = create(api, city="Austin", postal_code="73301")
        updated = patched(api, customer, {"city": None, "lifetime_value": Decimal("12.50"), "address": "2 Main St"})
        assert "city" not in updated
        assert updated["postal_code"] == "73301"
        assert updated["lifetime_value"] == Decimal("12.5")
        assert updated["address"] == "2 Main St"
        assert current(api, customer) == updated

    def test_null_for_a_field_that_cannot_be_removed_is_400_naming_it(self, api: Api) -> None:
        customer = create(api, city="Austin")
        for name in NOT_REMOVABLE:
            response = patch(api, customer, {name: None, "city": "Rome"})
            error = assert_error(response, 400, "validation_error", name)
            assert "city" not in error["details"], name
        assert current(api, customer) == customer

    def test_several_nulls_that_cannot_be_removed_are_named_together(self, api: Api) -> None:
        customer = create(api, city="Austin")
        response = patch(
            api, customer, {"first_name": None, "email_address": None, "lifetime_value": None, "city": None}
        )
        error = assert_error(response, 400, "validation_error")
        assert set(error["details"]) == {"first_name", "email_address", "lifetime_value"}
        assert current(api, customer) == customer  # the removable city was not removed either

    def test_read_only_and_unknown_fields_are_400_naming_them(self, api: Api) -> None:
        customer = create(api)
        for name in (*READ_ONLY, "nickname"):
            for value in ("x", None):
                response = patch(api, customer, {name: value, "city": "Paris"})
                assert_error(response, 400, "validation_error", name)
        assert current(api, customer) == customer

    def test_empty_patch_is_400_like_put(self, api: Api) -> None:
        customer = create(api)
        assert_error(patch(api, customer, {}), 400, "validation_error", "_schema")
        assert_error(api.patch(path(customer), {}), 400, "validation_error", "_schema")

    def test_values_are_validated_as_in_put(self, api: Api) -> None:
        customer = create(api, phone_number="555-123-4567")
        response = patch(
            api,
            customer,
            {"email_address": "not an email", "phone_number": "", "date_of_birth": "2999-01-01", "state": 7},
        )
        assert_error(response, 400, "validation_error", "email_address", "phone_number", "date_of_birth", "state")
        assert current(api, customer) == customer

    @pytest.mark.parametrize(
        "content_type",
        [
            "application/merge-patch+json",
            "application/merge-patch+json; charset=utf-8",
            "application/json",
            "Application/JSON; charset=UTF-8",
        ],
    )
    def test_merge_patch_and_json_content_types_are_accepted(self, api: Api, content_type: str) -> None:
        customer = create(api, city="Austin")
        response = api.patch(path(customer), {"city": None}, headers={"Content-Type": content_type})
        assert response.status_code == 200, response.body
        assert "city" not in body(response)

    @pytest.mark.parametrize(
        "content_type", ["text/plain", "application/json-patch+json", "application/merge-patch+json; charset=latin-1"]
    )
    def test_other_content_types_are_415(self, api: Api, content_type: str) -> None:
        customer = create(api, city="Austin")
        response = api.patch(path(customer), raw='{"city": null}', headers={"Content-Type": content_type})
        assert_error(response, 415, "unsupported_media_type")
        assert current(api, customer) == customer

    def test_missing_content_type_is_415(self, api: Api) -> None:
        customer = create(api, city="Austin")
        assert_error(api.patch(path(customer), raw='{"city": null}', headers={}), 415, "unsupported_media_type")

    @pytest.mark.parametrize("raw", ["{", "[]", "null", '"city"', '[{"op": "remove", "path": "/city"}]'])
    def test_a_body_that_is_not_a_json_object_is_400_invalid_body(self, api: Api, raw: str) -> None:
        customer = create(api, city="Austin")
        assert_error(api.patch(path(customer), raw=raw, headers=MERGE_PATCH), 400, "invalid_body")
        assert current(api, customer) == customer

    def test_bad_id_and_query_parameters_are_400(self, api: Api) -> None:
        assert_error(patch(api, "not-a-uuid", {"city": "Rome"}), 400, "validation_error", "customer_id")
        customer = create(api)
        response = api.patch(path(customer) + "?dry_run=1", {"city": "Rome"}, headers=MERGE_PATCH)
        assert_error(response, 400, "validation_error", "dry_run")

    def test_put_with_null_stays_400_and_points_at_patch(self, api: Api) -> None:
        customer = create(api, phone_number="555-123-4567")
        error = assert_error(api.put(path(customer), {"phone_number": None}), 400, "validation_error", "phone_number")
        assert "PATCH" in f"{error['message']} {error['details']}"
        assert current(api, customer) == customer

    def test_put_stays_a_partial_update(self, api: Api) -> None:
        customer = create(api, city="Austin", state="TX")
        response = api.put(path(customer), {"city": "Dallas"})
        assert response.status_code == 200, response.body
        assert (body(response)["city"], body(response)["state"]) == ("Dallas", "TX")


class TestPatchRemoval:
    """A removed field is gone from every place that shows or finds the customer."""

    @pytest.mark.parametrize("name", list(REMOVABLE))
    def test_null_removes_the_field_from_get_list_and_export(self, api: Api, name: str) -> None:
        customer = create(api, **REMOVABLE)
        other = create(api, **REMOVABLE)
        updated = patched(api, customer, {name: None})
        assert name not in updated
        assert updated["version"] == 2
        assert {k: v for k, v in updated.items() if k not in ("updated_at", "version", "phone_number_e164")} == {
            k: v for k, v in customer.items() if k not in (name, "updated_at", "version", "phone_number_e164")
        }
        assert name not in current(api, customer)
        (listed_customer,) = [c for c in all_customers(api) if c["customer_id"] == customer["customer_id"]]
        assert listed_customer == updated
        export = api.get(path(customer, "/export"))
        assert export.status_code == 200, export.body
        assert body(export)["customer"] == updated
        assert current(api, other) == other  # the other customer keeps the field

    def test_removing_every_removable_field_at_once(self, api: Api) -> None:
        customer = create(api, **REMOVABLE)
        updated = patched(api, customer, dict.fromkeys(REMOVABLE))
        assert not set(updated) & {*REMOVABLE, "phone_number_e164"}
        assert current(api, customer) == updated

    def test_removing_the_phone_number_removes_its_e164_form(self, api: Api) -> None:
        customer = create(api, phone_number="555-123-4567")
        assert customer["phone_number_e164"] == "+15551234567"
        updated = patched(api, customer, {"phone_number": None})
        assert "phone_number" not in updated
        assert "phone_number_e164" not in updated
        assert "phone_number_e164" not in current(api, customer)
        # And a new number derives its form again.
        assert patched(api, customer, {"phone_number": "(555) 765-4321"})["phone_number_e164"] == "+15557654321"

    def test_removing_the_state_takes_the_customer_out_of_the_state_filter(self, api: Api) -> None:
        target, control = create(api, state="OR"), create(api, state="OR")
        assert listed(api, "state=OR") == {target["customer_id"], control["customer_id"]}
        patched(api, target, {"state": None})
        assert listed(api, "state=OR") == {control["customer_id"]}
        assert listed(api, "state=OR&sort=-created_at") == {control["customer_id"]}
        patched(api, target, {"state": "or"})  # and back in (the filter ignores case)
        assert listed(api, "state=OR") == {target["customer_id"], control["customer_id"]}

    def test_removing_the_phone_number_stops_the_search_finding_it_by_digits(self, api: Api) -> None:
        target = create(api, phone_number="555-123-4567")
        control = create(api, phone_number="555-123-9999")
        deliver_changes()
        assert ids(walk(api, q="5551234567")) == [target["customer_id"]]
        patched(api, target, {"phone_number": None})
        deliver_changes()
        assert ids(walk(api, q="5551234567")) == []
        assert ids(walk(api, q="555123")) == [control["customer_id"]]
        assert ids(walk(api, q=target["email_address"])) == [target["customer_id"]]  # still found otherwise

    def test_the_history_shows_each_removed_field_going_to_null(self, api: Api) -> None:
        customer = create(api, city="Austin", phone_number="555-123-4567", state="TX")
        response = patch(api, customer, {"city": None, "phone_number": None, "state": "TX"})
        assert response.status_code == 200, response.body
        deliver_changes()
        entry = history_of(api, customer["customer_id"])[0]
        assert entry["version"] == 2
        assert entry["change"] == "updated"
        assert entry["request_id"] == response.headers["X-Request-Id"]
        assert entry["changes"] == {
            "city": {"from": "Austin", "to": None},
            "phone_number": {"from": "555-123-4567", "to": None},
        }
        (event,) = [e for e in follow_events(api)[0] if e["version"] == 2]
        assert event["type"] == "customer.updated"
        assert "city" not in event["customer"]
        assert "phone_number" not in event["customer"]


class TestPatchConditions:
    """Preconditions, missing, deleted and erased customers, and email uniqueness: as PUT."""

    def test_if_match_current_succeeds_and_stale_is_412(self, api: Api) -> None:
        customer = create(api, city="Austin")
        response = patch(api, customer, {"city": None}, **{"If-Match": '"1"'})
        assert response.status_code == 200, response.body
        assert response.headers["ETag"] == '"2"'
        after = current(api, customer)
        assert_error(patch(api, customer, {"state": "TX"}, **{"If-Match": '"1"'}), 412, "precondition_failed")
        assert current(api, customer) == after

    def test_if_none_match_star_on_an_existing_customer_is_412(self, api: Api) -> None:
        customer = create(api, city="Austin")
        assert_error(patch(api, customer, {"city": None}, **{"If-None-Match": "*"}), 412, "precondition_failed")
        assert current(api, customer) == customer

    def test_malformed_if_match_is_400_naming_the_header(self, api: Api) -> None:
        customer = create(api)
        assert_error(patch(api, customer, {"city": "x"}, **{"If-Match": "1"}), 400, "validation_error", "If-Match")

    def test_unknown_deleted_and_erased_customers(self, api: Api) -> None:
        assert_error(patch(api, str(uuid.uuid4()), {"city": None}), 404, "not_found")
        deleted = create(api, city="Austin")
        api.delete(path(deleted))
        assert_error(patch(api, deleted, {"city": None}), 404, "customer_deleted", "restorable_until")
        erased = create(api)
        api.post(path(erased, "/erasure"))
        assert_error(patch(api, erased, {"city": "Back"}), 410, "customer_erased")
        assert all_customers(api) == []

    def test_email_change_to_a_taken_address_is_409_naming_the_holder(self, api: Api) -> None:
        holder = create(api, email_address="holder@example.com")
        other = create(api, city="Austin")
        response = patch(api, other, {"email_address": "HOLDER@example.com", "city": None})
        error = assert_error(response, 409, "email_in_use", "email_address")
        assert error["details"]["customer_id"] == holder["customer_id"]
        assert current(api, other) == other

    def test_email_change_moves_the_claim(self, api: Api) -> None:
        customer = create(api, email_address="before@example.com")
        patched(api, customer, {"email_address": "after@example.com"})
        assert create(api, email_address="Before@example.com")["email_address"] == "Before@example.com"
        response = api.post("/customers", {"first_name": "A", "last_name": "B", "email_address": "AFTER@example.com"})
        assert_error(response, 409, "email_in_use")


class TestNoOpWrites:
    """A PUT or PATCH that changes nothing: 200 with the customer as stored, no write, no version, no history."""

    def test_the_same_put_twice_changes_nothing_the_second_time(self, api: Api) -> None:
        customer = create(api)
        changes = {"city": "Oslo", "lifetime_value": Decimal("10.50"), "preferred_communication_channels": ["email"]}
        first = api.put(path(customer), changes)
        assert first.status_code == 200, first.body
        before = snapshot()
        second = api.put(path(customer), changes)
        assert second.status_code == 200, second.body
        assert body(second) == body(first)
        assert body(second)["version"] == 2
        assert second.headers["ETag"] == first.headers["ETag"] == '"2"'
        assert body(second)["updated_at"] == body(first)["updated_at"]
        assert snapshot() == before
        deliver_changes()
        assert [entry["version"] for entry in history_of(api, customer["customer_id"])] == [2, 1]
        assert [e["version"] for e in follow_events(api, f"customer_id={customer['customer_id']}")[0]] == [1, 2]

    def test_the_same_patch_twice_changes_nothing_the_second_time(self, api: Api) -> None:
        customer = create(api, city="Austin", phone_number="555-123-4567")
        changes = {"city": None, "phone_number": None, "state": "TX"}
        first = patch(api, customer, changes)
        assert first.status_code == 200, first.body
        second = patch(api, customer, changes)
        assert second.status_code == 200, second.body
        assert body(second) == body(first) == current(api, customer)
        assert second.headers["ETag"] == '"2"'
        deliver_changes()
        assert [entry["change"] for entry in history_of(api, customer["customer_id"])] == ["updated", "created"]

    def test_a_null_for_an_absent_field_is_a_no_op(self, api: Api) -> None:
        customer = create(api, state="TX")
        response = patch(api, customer, {"city": None, "phone_number": None, "state": "TX"})
        assert response.status_code == 200, response.body
        assert body(response) == customer
        assert response.headers["ETag"] == '"1"'
        assert body(response)["updated_at"] == customer["created_at"]
        deliver_changes()
        assert [entry["change"] for entry in history_of(api, customer["customer_id"])] == ["created"]

    def test_a_no_op_still_honours_preconditions(self, api: Api) -> None:
        customer = create(api, city="Austin")
        api.put(path(customer), {"state": "TX"})  # version 2
        stale = {**JSON, "If-Match": '"1"'}
        assert_error(api.put(path(customer), {"city": "Austin"}, headers=stale), 412, "precondition_failed")
        assert_error(patch(api, customer, {"city": "Austin"}, **{"If-Match": '"1"'}), 412, "precondition_failed")
        assert_error(patch(api, customer, {"phone_number": None}, **{"If-None-Match": "*"}), 412, "precondition_failed")
        response = patch(api, customer, {"city": "Austin"}, **{"If-Match": '"2"'})
        assert response.status_code == 200, response.body
        assert response.headers["ETag"] == '"2"'

    def test_a_no_op_on_a_deleted_customer_is_still_404(self, api: Api) -> None:
        customer = create(api, city="Austin")
        api.delete(path(customer))
        assert_error(patch(api, customer, {"city": "Austin"}), 404, "customer_deleted")
        assert_error(api.put(path(customer), {"city": "Austin"}), 404, "customer_deleted")

    def test_an_equal_list_is_a_no_op_and_a_reordered_list_is_a_change(self, api: Api) -> None:
        customer = create(api, preferred_communication_channels=["email", "phone"])
        same = patch(api, customer, {"preferred_communication_channels": ["email", "phone"]})
        assert same.status_code == 200, same.body
        assert body(same)["version"] == 1
        assert same.headers["ETag"] == '"1"'
        reordered = patch(api, customer, {"preferred_communication_channels": ["phone", "email"]})
        assert reordered.status_code == 200, reordered.body
        assert body(reordered)["version"] == 2
        assert body(reordered)["preferred_communication_channels"] == ["phone", "email"]
        deliver_changes()
        (entry, _) = history_of(api, customer["customer_id"])
        assert entry["changes"] == {
            "preferred_communication_channels": {"from": ["email", "phone"], "to": ["phone", "email"]}
        }

    def test_a_write_changing_one_of_several_fields_is_a_change(self, api: Api) -> None:
        customer = create(api, city="Austin", state="TX")
        response = api.put(path(customer), {"city": "Austin", "state": "WA"})
        assert response.status_code == 200, response.body
        assert body(response)["version"] == 2
        deliver_changes()
        assert history_of(api, customer["customer_id"])[0]["changes"] == {"state": {"from": "TX", "to": "WA"}}
