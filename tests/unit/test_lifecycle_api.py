"""Soft delete, restore and erasure over HTTP: what each answers, and what the store holds afterwards.

The same classes run against moto here and against DynamoDB Local in
tests/integration, through the ``api`` fixture each folder defines.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.config import get_settings
from chalicelib.customers.model import WRITABLE_FIELDS
from chalicelib.storage.items import INDEX_KEYS
from tests.support import JSON, Api, all_customers, assert_error, body, create, new_customer
from tests.support.store import scan
from tests.support.stream import deliver_changes

UTC_TIMESTAMP = "%Y-%m-%dT%H:%M:%S.000000Z"  # whole seconds, written with the fixed six digits
RESTORE_WINDOW = timedelta(days=30)


def path(customer: dict[str, Any] | str, suffix: str = "") -> str:
    customer_id = customer if isinstance(customer, str) else customer["customer_id"]
    return f"/customers/{customer_id}{suffix}"


def stored(customer_id: str) -> dict[str, Any]:
    """The customer's raw item, whatever its state."""
    (item,) = [item for item in scan(get_settings().customers_table) if item["customer_id"] == customer_id]
    return item


def expire_restore_window(customer_id: str, seconds_ago: int = 60) -> None:
    """Move a soft-deleted customer's ``purge_at`` into the past, as if its 30 days were over (TTL not run)."""
    wiring.dynamodb_client().update_item(
        TableName=get_settings().customers_table,
        Key={"customer_id": {"S": customer_id}},
        UpdateExpression="SET purge_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - seconds_ago)}},
    )


def remove_item(customer_id: str) -> None:
    """Remove the customer's item outright, as DynamoDB's TTL does some time after its window ended."""
    wiring.dynamodb_client().delete_item(
        TableName=get_settings().customers_table, Key={"customer_id": {"S": customer_id}}
    )


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def ids(customers: list[dict[str, Any]]) -> set[str]:
    return {str(customer["customer_id"]) for customer in customers}


def listed(api: Api, query: str) -> set[str]:
    response = api.get(f"/customers?{query}&limit=100")
    assert response.status_code == 200, response.body
    return ids(body(response)["customers"])


class TestSoftDelete:
    def test_deleted_customer_is_hidden_from_get_the_list_and_every_filter(self, api: Api) -> None:
        traits = {"customer_status": "inactive", "is_loyalty_member": "y", "state": "OR"}
        target, control = create(api, **traits), create(api, **traits)
        assert api.delete(path(target)).status_code == 204
        assert_error(api.get(path(target)), 404, "customer_deleted", "restorable_until")
        assert ids(all_customers(api, limit=1)) == {control["customer_id"]}
        for name, value in traits.items():
            assert listed(api, f"{name}={value}") == {control["customer_id"]}, name
        assert listed(api, f"email_address={target['email_address']}") == set()
        assert listed(api, f"email_address={control['email_address']}") == {control["customer_id"]}

    def test_delete_frees_the_email_address_at_once(self, api: Api) -> None:
        target = create(api)
        api.delete(path(target))
        successor = create(api, email_address=target["email_address"].upper())
        assert listed(api, f"email_address={target['email_address']}") == {successor["customer_id"]}

    def test_second_delete_is_404_customer_deleted_with_the_same_window(self, api: Api) -> None:
        target = create(api)
        assert api.delete(path(target)).status_code == 204
        first = assert_error(api.get(path(target)), 404, "customer_deleted")
        second = assert_error(api.delete(path(target)), 404, "customer_deleted")
        assert second["details"]["restorable_until"] == first["details"]["restorable_until"]
        assert stored(target["customer_id"])["version"] == 2  # the second delete changed nothing

    def test_restorable_until_is_the_restore_window_ahead(self, api: Api) -> None:
        target = create(api)
        before = datetime.now(UTC).replace(microsecond=0)
        api.delete(path(target))
        after = datetime.now(UTC)
        until = assert_error(api.get(path(target)), 404, "customer_deleted")["details"]["restorable_until"]
        assert datetime.strptime(until, UTC_TIMESTAMP)  # whole seconds, UTC
        assert before + RESTORE_WINDOW <= moment(until) <= after + RESTORE_WINDOW

    @pytest.mark.parametrize(
        ("changes", "headers"),
        [
            ({"city": "Nowhere"}, JSON),
            ({"city": "Nowhere"}, {**JSON, "If-Match": '"2"'}),
            ({"email_address": "moved.after.delete@example.com"}, JSON),
        ],
        ids=["plain", "if-match", "email"],
    )
    def test_put_on_deleted_customer_is_404_customer_deleted_and_changes_nothing(
        self, api: Api, changes: dict[str, Any], headers: dict[str, str]
    ) -> None:
        target = create(api, city="Somewhere")
        api.delete(path(target))
        response = api.put(path(target), changes, headers=headers)
        assert_error(response, 404, "customer_deleted", "restorable_until")
        item = stored(target["customer_id"])
        assert (item["version"], item["city"]) == (2, "Somewhere")
        create(api, email_address="moved.after.delete@example.com")  # not claimed either


class TestRestore:
    def test_restore_brings_the_customer_back_with_the_next_version_and_its_etag(self, api: Api) -> None:
        target = create(api, state="WA", customer_status="inactive")
        api.put(path(target), {"city": "Olympia"})
        before = body(api.get(path(target)))
        api.delete(path(target))
        response = api.post(path(target, "/restore"))
        assert response.status_code == 200, response.body
        restored = body(response)
        assert response.headers["ETag"] == '"4"'
        assert restored["version"] == 4
        unchanged = {k: v for k, v in before.items() if k not in ("version", "updated_at", "updated_by")}
        assert {k: restored[k] for k in unchanged} == unchanged
        assert restored["updated_by"] == "local"
        assert body(api.get(path(target))) == restored
        assert listed(api, "state=WA") == listed(api, "customer_status=inactive") == {target["customer_id"]}
        assert listed(api, f"email_address={target['email_address']}") == {target["customer_id"]}
        assert_error(api.post("/customers", new_customer(email_address=target["email_address"])), 409, "email_in_use")

    def test_restore_when_the_address_was_taken_meanwhile_is_409_email_in_use(self, api: Api) -> None:
        target = create(api)
        api.delete(path(target))
        successor = create(api, email_address=target["email_address"])
        assert_error(api.post(path(target, "/restore")), 409, "email_in_use", "email_address")
        assert_error(api.get(path(target)), 404, "customer_deleted")
        assert stored(target["customer_id"])["version"] == 2
        assert listed(api, f"email_address={target['email_address']}") == {successor["customer_id"]}
        # Once the address is free again, the restore goes through.
        api.delete(path(successor))
        assert api.post(path(target, "/restore")).status_code == 200

    def test_restore_of_a_live_customer_is_409_customer_not_deleted(self, api: Api) -> None:
        target = create(api)
        assert_error(api.post(path(target, "/restore")), 409, "customer_not_deleted")
        assert stored(target["customer_id"])["version"] == 1

    def test_restore_of_a_customer_that_never_existed_is_404_not_found(self, api: Api) -> None:
        assert_error(api.post(path(str(uuid.uuid4()), "/restore")), 404, "not_found")

    def test_restore_past_the_window_is_404_not_found_and_the_customer_is_gone(self, api: Api) -> None:
        target = create(api)
        api.delete(path(target))
        expire_restore_window(target["customer_id"])
        assert_error(api.post(path(target, "/restore")), 404, "not_found")
        assert_error(api.get(path(target)), 404, "not_found")
        assert_error(api.put(path(target), {"city": "Late"}), 404, "not_found")
        assert_error(api.delete(path(target)), 404, "not_found")
        assert_error(api.get(path(target, "/export")), 404, "not_found")
        create(api, email_address=target["email_address"])

    def test_restore_of_an_erased_customer_is_410(self, api: Api) -> None:
        target = create(api)
        api.delete(path(target))
        api.post(path(target, "/erasure"))
        assert_error(api.post(path(target, "/restore")), 410, "customer_erased")

    def test_restore_honours_if_match(self, api: Api) -> None:
        target = create(api)
        api.delete(path(target))  # version 2 now
        for stale in ('"1"', '"3"', 'W/"2"'):
            response = api.post(path(target, "/restore"), headers={"If-Match": stale})
            assert_error(response, 412, "precondition_failed")
        assert_error(api.get(path(target)), 404, "customer_deleted")
        response = api.post(path(target, "/restore"), headers={"If-Match": '"2"'})
        assert response.status_code == 200, response.body
        assert response.headers["ETag"] == '"3"'

    def test_restore_with_the_etag_from_before_the_delete_is_412(self, api: Api) -> None:
        target = create(api)
        etag = api.get(path(target)).headers["ETag"]
        api.delete(path(target))
        assert_error(api.post(path(target, "/restore"), headers={"If-Match": etag}), 412, "precondition_failed")

    def test_restore_with_a_bad_id_is_400(self, api: Api) -> None:
        assert_error(api.post("/customers/not-a-uuid/restore"), 400, "validation_error", "customer_id")


PERSONAL = {
    "date_of_birth": "1977-07-07",
    "address": "12 Erasure Lane",
    "city": "Forgetton",
    "state": "Zedlandia",
    "postal_code": "QX4 7ZT",
    "phone_number": "+1 555 0199",
}


def personal_values(customer: dict[str, Any]) -> set[str]:
    return {str(customer[name]) for name in ("first_name", "last_name", "email_address", *PERSONAL)}


def mentions(item: Any, values: set[str]) -> set[str]:
    """Which of ``values`` appear anywhere in an item (keys, strings, nested), case-insensitively."""
    text = repr(item).lower()
    return {value for value in values if value.lower() in text}


class TestErasure:
    def test_erasure_answers_its_time_and_then_every_route_but_history_is_410(self, api: Api) -> None:
        target = create(api)
        response = api.post(path(target, "/erasure"))
        assert response.status_code == 200, response.body
        answer = body(response)
        assert set(answer) == {"customer_id", "erased_at"}
        assert answer["customer_id"] == target["customer_id"]
        assert abs(moment(answer["erased_at"]) - datetime.now(UTC)) < timedelta(seconds=30)
        for response in (
            api.get(path(target)),
            api.post(path(target, "/restore")),
            api.get(path(target, "/export")),
            api.put(path(target), {"city": "Back"}),
            api.put(path(target), {"email_address": "back@example.com"}),
            api.delete(path(target)),
        ):
            assert_error(response, 410, "customer_erased")
        assert api.get(path(target, "/history")).status_code == 200
        assert all_customers(api) == []

    def test_erasing_again_answers_the_same_erased_at(self, api: Api) -> None:
        target = create(api)
        first = body(api.post(path(target, "/erasure")))
        again = api.post(path(target, "/erasure"))
        assert again.status_code == 200
        assert body(again) == first

    def test_erasure_of_a_soft_deleted_customer(self, api: Api) -> None:
        target = create(api)
        api.delete(path(target))
        assert api.post(path(target, "/erasure")).status_code == 200
        assert_error(api.get(path(target)), 410, "customer_erased")

    def test_erasure_past_the_window_leaves_a_tombstone_that_answers_410(self, api: Api) -> None:
        target = create(api, **PERSONAL)
        api.delete(path(target))
        expire_restore_window(target["customer_id"])
        assert api.post(path(target, "/erasure")).status_code == 200
        for response in (api.get(path(target)), api.post(path(target, "/restore")), api.get(path(target, "/export"))):
            assert_error(response, 410, "customer_erased")
        item = stored(target["customer_id"])
        assert "erased_at" in item
        assert "purge_at" not in item  # TTL never removes the tombstone
        assert mentions(item, personal_values(target)) == set()

    def test_erasure_after_the_item_was_removed_leaves_a_tombstone_that_answers_410(self, api: Api) -> None:
        target = create(api)
        api.delete(path(target))
        deliver_changes()
        remove_item(target["customer_id"])
        deliver_changes()
        assert_error(api.get(path(target)), 404, "not_found")
        first = api.post(path(target, "/erasure"))
        assert first.status_code == 200, first.body
        assert_error(api.get(path(target)), 410, "customer_erased")
        assert_error(api.post(path(target, "/restore")), 410, "customer_erased")
        assert body(api.post(path(target, "/erasure"))) == body(first)
        item = stored(target["customer_id"])
        assert (item["version"], item["erased_at"]) == (4, body(first)["erased_at"])  # after the purge's 3

    def test_erasure_of_a_customer_that_never_existed_is_404(self, api: Api) -> None:
        assert_error(api.post(path(str(uuid.uuid4()), "/erasure")), 404, "not_found")

    @pytest.mark.parametrize("deleted_first", [False, True], ids=["live", "soft-deleted"])
    def test_no_table_holds_personal_data_of_the_erased_customer(self, api: Api, deleted_first: bool) -> None:
        fields = new_customer(first_name=f"Erin{uuid.uuid4().hex[:6]}", last_name="Forgotten", **PERSONAL)
        response = api.post("/customers", fields, headers={**JSON, "Idempotency-Key": "erase-me"})
        target = body(response)
        old_email = target["email_address"]
        api.put(path(target), {"email_address": f"second.{old_email}"})
        secrets = personal_values(target) | {f"second.{old_email}"}
        if deleted_first:
            api.delete(path(target))
        api.post(path(target, "/erasure"))
        settings = get_settings()
        item = stored(target["customer_id"])
        assert not set(item) & {*WRITABLE_FIELDS, "created_by", *INDEX_KEYS, "purge_at", "idempotency_key"}
        assert item["version"] == (4 if deleted_first else 3)
        assert "erased_at" in item
        for table in (settings.customers_table, settings.emails_table, settings.idempotency_table):
            for stored_item in scan(table):
                assert mentions(stored_item, secrets) == set(), (table, stored_item)
        claims = [claim for claim in scan(settings.emails_table) if claim["customer_id"] == target["customer_id"]]
        assert claims == []
        (record,) = scan(settings.idempotency_table)
        assert record["customer_id"] == target["customer_id"]
        assert "customer" not in record
        assert "fingerprint" not in record

    def test_replaying_the_erased_customers_create_is_410_and_creates_nothing(self, api: Api) -> None:
        fields = new_customer()
        headers = {**JSON, "Idempotency-Key": "create-then-erase"}
        target = body(api.post("/customers", fields, headers=headers))
        api.post(path(target, "/erasure"))
        assert_error(api.post("/customers", fields, headers=headers), 410, "customer_erased")
        assert_error(api.post("/customers", new_customer(), headers=headers), 410, "customer_erased")
        assert all_customers(api) == []
        assert [item["customer_id"] for item in scan(get_settings().customers_table)] == [target["customer_id"]]
        assert scan(get_settings().emails_table) == []

    def test_the_erased_customers_address_is_free(self, api: Api) -> None:
        target = create(api)
        api.post(path(target, "/erasure"))
        successor = create(api, email_address=target["email_address"])
        assert listed(api, f"email_address={target['email_address']}") == {successor["customer_id"]}


class TestReplayAfterDelete:
    def test_replay_after_delete_is_404_customer_deleted_without_the_customer(self, api: Api) -> None:
        fields = new_customer(first_name=f"Del{uuid.uuid4().hex[:6]}", city="Replayville")
        headers = {**JSON, "Idempotency-Key": "create-then-delete"}
        target = body(api.post("/customers", fields, headers=headers))
        api.delete(path(target))
        response = api.post("/customers", fields, headers=headers)
        error = assert_error(response, 404, "customer_deleted", "restorable_until")
        assert set(body(response)) == {"error"}
        assert set(error["details"]) == {"restorable_until"}
        assert mentions(response.body.decode(), {fields["first_name"], fields["email_address"], "Replayville"}) == set()
        assert "ETag" not in response.headers
        assert "Idempotent-Replayed" not in response.headers
        assert len(scan(get_settings().customers_table)) == 1

    def test_replay_after_restore_answers_the_original_create_again(self, api: Api) -> None:
        fields = new_customer()
        headers = {**JSON, "Idempotency-Key": "create-delete-restore"}
        original = body(api.post("/customers", fields, headers=headers))
        api.delete(path(original))
        api.post(path(original, "/restore"))
        replay = api.post("/customers", fields, headers=headers)
        assert replay.status_code == 201
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert body(replay) == original


class TestProvenanceAndVersions:
    def test_created_by_and_updated_by_are_local_when_auth_is_off(self, api: Api) -> None:
        created = create(api)
        assert (created["created_by"], created["updated_by"]) == ("local", "local")
        updated = body(api.put(path(created), {"city": "Stamped"}))
        assert (updated["created_by"], updated["updated_by"]) == ("local", "local")
        assert body(api.get(path(created)))["updated_by"] == "local"
        assert list(created)[-5:] == ["created_at", "created_by", "updated_at", "updated_by", "version"]

    @pytest.mark.parametrize("field", ["created_by", "updated_by"])
    def test_created_by_and_updated_by_are_read_only(self, api: Api, field: str) -> None:
        assert_error(api.post("/customers", new_customer(**{field: "mallory"})), 400, "validation_error", field)
        target = create(api)
        assert_error(api.put(path(target), {field: "mallory"}), 400, "validation_error", field)
        assert body(api.get(path(target)))[field] == "local"

    def test_every_kind_of_change_bumps_the_version_by_one(self, api: Api) -> None:
        target = create(api)
        versions = [target["version"]]
        versions.append(body(api.put(path(target), {"city": "One"}))["version"])
        versions.append(body(api.put(path(target), {"email_address": f"v3.{target['email_address']}"}))["version"])
        api.delete(path(target))
        versions.append(stored(target["customer_id"])["version"])
        versions.append(body(api.post(path(target, "/restore")))["version"])
        api.post(path(target, "/erasure"))
        versions.append(stored(target["customer_id"])["version"])
        assert versions == [1, 2, 3, 4, 5, 6]
