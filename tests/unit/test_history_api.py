"""A customer's history (GET /customers/{id}/history) and export, as the stream consumer writes them.

Changes reach the history through the table's stream: ``deliver_changes()`` hands
the stream's records to the consumer exactly as Lambda (or the local poller) would.
The same classes run against moto here and against DynamoDB Local in tests/integration.
"""

from __future__ import annotations

import math
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import app
from chalicelib import wiring
from chalicelib.config import get_settings
from chalicelib.customers.model import WRITABLE_FIELDS
from scripts.local.stream_poller import lambda_record
from tests.support import JSON, Api, assert_error, body, create, new_customer
from tests.support.hostile import tamper
from tests.support.stream import (
    SETTLE_SECONDS,
    deliver_changes,
    follow_events,
    history_items,
    history_of,
    poller,
    stream_arn,
)
from tests.unit.test_lifecycle_api import expire_restore_window, mentions, moment, path, remove_item


def set_fields(customer: dict[str, Any]) -> list[str]:
    """The writable fields a customer has, in the API's order."""
    return [name for name in WRITABLE_FIELDS if name in customer]


def changed(api: Api, customer: dict[str, Any], times: int) -> dict[str, Any]:
    """``times`` updates, each changing the city: the customer afterwards."""
    for number in range(times):
        response = api.put(path(customer), {"city": f"City {number}"})
        assert response.status_code == 200, response.body
        customer = body(response)
    return customer


def page(api: Api, customer_id: str, query: str) -> Any:
    return api.get(f"/customers/{customer_id}/history?{query}")


class TestHistoryEntries:
    def test_created_entry_lists_every_set_field_from_null(self, api: Api) -> None:
        fields = new_customer(city="Austin", phone_number="555-0100", lifetime_value=Decimal("12.50"))
        response = api.post("/customers", {**fields, "preferred_communication_channels": ["email", "text"]})
        customer = body(response)
        deliver_changes()
        (entry,) = history_of(api, customer["customer_id"])
        assert entry == {
            "version": 1,
            "change": "created",
            "occurred_at": customer["created_at"],
            "actor": "local",
            "request_id": response.headers["X-Request-Id"],
            "changes": {name: {"from": None, "to": customer[name]} for name in set_fields(customer)},
            "redacted": False,
        }
        assert entry["changes"]["lifetime_value"]["to"] == Decimal("12.5")
        assert entry["changes"]["preferred_communication_channels"]["to"] == ["email", "text"]

    def test_updated_entry_lists_only_the_fields_that_changed(self, api: Api) -> None:
        customer = create(api, city="Austin", state="TX", lifetime_value=10)
        email = f"new.{customer['email_address']}"
        changes = {"city": "Dallas", "state": "TX", "lifetime_value": Decimal("20.25"), "email_address": email}
        response = api.put(path(customer), changes)
        updated = body(response)
        deliver_changes()
        entry = history_of(api, customer["customer_id"])[0]
        assert entry == {
            "version": 2,
            "change": "updated",
            "occurred_at": updated["updated_at"],
            "actor": "local",
            "request_id": response.headers["X-Request-Id"],
            "changes": {
                "city": {"from": "Austin", "to": "Dallas"},
                "email_address": {"from": customer["email_address"], "to": email},
                "lifetime_value": {"from": 10, "to": Decimal("20.25")},
            },
            "redacted": False,
        }

    def test_deleted_and_restored_entries_name_no_fields_and_their_requests(self, api: Api) -> None:
        customer = create(api)
        deleted = api.delete(path(customer))
        restored = api.post(path(customer, "/restore"))
        deliver_changes()
        newest, previous, _ = history_of(api, customer["customer_id"])
        assert (newest["version"], newest["change"], newest["changes"]) == (3, "restored", {})
        assert (previous["version"], previous["change"], previous["changes"]) == (2, "deleted", {})
        assert newest["request_id"] == restored.headers["X-Request-Id"]
        assert previous["request_id"] == deleted.headers["X-Request-Id"]
        assert newest["occurred_at"] == body(restored)["updated_at"]
        assert {newest["actor"], previous["actor"]} == {"local"}

    def test_changes_are_in_the_api_field_order(self, api: Api) -> None:
        customer = create(api, city="Austin", state="TX", postal_code="73301", phone_number="555-0101")
        deliver_changes()
        (entry,) = history_of(api, customer["customer_id"])
        assert list(entry["changes"]) == set_fields(customer)
        (event,) = follow_events(api)[0]
        assert event["changed_fields"] == set_fields(customer)

    def test_history_is_newest_first(self, api: Api) -> None:
        customer = changed(api, create(api), 3)
        api.delete(path(customer))
        deliver_changes()
        entries = history_of(api, customer["customer_id"])
        assert [e["version"] for e in entries] == [5, 4, 3, 2, 1]
        assert [e["change"] for e in entries] == ["deleted", "updated", "updated", "updated", "created"]
        moments = [moment(e["occurred_at"]) for e in entries]
        assert moments == sorted(moments, reverse=True)

    def test_a_created_customer_has_an_empty_history_until_its_change_is_delivered(self, api: Api) -> None:
        customer = create(api)
        response = api.get(path(customer, "/history"))
        assert response.status_code == 200
        assert body(response) == {"history": [], "next_token": None}
        deliver_changes()
        assert len(history_of(api, customer["customer_id"])) == 1

    def test_history_outlives_the_delete_and_the_restore_window(self, api: Api) -> None:
        customer = create(api)
        api.delete(path(customer))
        deliver_changes()
        expire_restore_window(customer["customer_id"])
        assert [e["change"] for e in history_of(api, customer["customer_id"])] == ["deleted", "created"]

    def test_redelivery_from_the_start_of_the_stream_writes_no_duplicate(self, api: Api) -> None:
        customer = changed(api, create(api), 2)
        api.delete(path(customer))
        other = create(api)
        deliver_changes()
        entries, items = history_of(api, customer["customer_id"]), history_items()
        events, _ = follow_events(api)
        assert poller(fresh=True).poll_once() == 5  # TRIM_HORIZON: every record again
        time.sleep(SETTLE_SECONDS)
        assert history_of(api, customer["customer_id"]) == entries
        assert history_items() == items
        assert len(history_of(api, other["customer_id"])) == 1
        assert follow_events(api)[0] == events

    def test_a_removed_item_becomes_a_purged_entry(self, api: Api) -> None:
        customer = create(api)
        api.delete(path(customer))
        remove_item(customer["customer_id"])
        deliver_changes()
        purged = history_of(api, customer["customer_id"])[0]
        # Removed by hand here, so the record names no service principal (TTL's would).
        assert {k: v for k, v in purged.items() if k != "occurred_at"} == {
            "version": 3,
            "change": "purged",
            "actor": "unknown",
            "request_id": None,
            "changes": {},
            "redacted": False,
        }
        assert abs(moment(purged["occurred_at"]) - datetime.now(UTC)) < timedelta(minutes=2)
        event = follow_events(api)[0][-1]
        assert (event["type"], event["version"], event["customer"]) == ("customer.purged", 3, None)

    def test_a_ttl_removal_read_from_the_stream_is_a_purged_entry_made_by_dynamodb(self, api: Api) -> None:
        """The record GetRecords returns when TTL removes an item, handed over by the local poller as Lambda would."""
        customer = create(api)
        api.delete(path(customer))
        deliver_changes()
        key = {"customer_id": {"S": customer["customer_id"]}}
        item = wiring.dynamodb_client().get_item(TableName=get_settings().customers_table, Key=key)["Item"]
        removal = {
            "eventID": uuid.uuid4().hex,
            "eventName": "REMOVE",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {
                "ApproximateCreationDateTime": datetime.now(UTC),
                "Keys": key,
                "OldImage": item,
                "SequenceNumber": "9" * 21,
                "SizeBytes": 100,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
            # GetRecords' spelling (boto3 answers with these names); Lambda's event says type and principalId.
            "userIdentity": {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"},
        }
        event = {"Records": [lambda_record(removal, stream_arn(), "us-east-1")]}
        assert app.record_changes(event) == {"batchItemFailures": []}
        time.sleep(SETTLE_SECONDS)
        purged = history_of(api, customer["customer_id"])[0]
        assert (purged["version"], purged["change"]) == (3, "purged")
        assert purged["actor"] == "dynamodb.amazonaws.com"


class TestHistoryPaging:
    def test_pages_of_any_size_walk_every_entry_once_newest_first(self, api: Api) -> None:
        customer = changed(api, create(api), 6)
        deliver_changes()
        for limit in (1, 2, 3, 7, 100):
            seen: list[int] = []
            pages = 0
            query = f"limit={limit}"
            while True:
                response = page(api, customer["customer_id"], query)
                assert response.status_code == 200, response.body
                pages += 1
                current = body(response)
                assert 0 < len(current["history"]) <= limit
                seen += [entry["version"] for entry in current["history"]]
                if current["next_token"] is None:
                    break
                query = f"limit={limit}&next_token={current['next_token']}"
            assert seen == [7, 6, 5, 4, 3, 2, 1], limit
            assert pages == math.ceil(7 / limit), limit  # the last page says it is the last

    def test_default_page_is_25(self, api: Api) -> None:
        customer = changed(api, create(api), 26)
        deliver_changes()
        first = body(api.get(path(customer, "/history")))
        assert len(first["history"]) == 25
        assert first["next_token"] is not None

    def test_another_customers_token_is_400_naming_next_token(self, api: Api) -> None:
        mine, theirs = changed(api, create(api), 2), changed(api, create(api), 2)
        deliver_changes()
        token = body(page(api, theirs["customer_id"], "limit=1"))["next_token"]
        assert token is not None
        response = page(api, mine["customer_id"], f"limit=1&next_token={token}")
        assert_error(response, 400, "validation_error", "next_token")

    def test_tokens_of_other_listings_are_400(self, api: Api) -> None:
        customer = changed(api, create(api), 2)
        create(api)
        deliver_changes()
        list_token = body(api.get("/customers?limit=1"))["next_token"]
        cursor = body(api.get("/events?limit=1"))["next_cursor"]
        for token in (list_token, cursor):
            response = page(api, customer["customer_id"], f"next_token={token}")
            assert_error(response, 400, "validation_error", "next_token")

    def test_garbage_and_tampered_tokens_are_400(self, api: Api) -> None:
        customer = changed(api, create(api), 2)
        deliver_changes()
        token = body(page(api, customer["customer_id"], "limit=1"))["next_token"]
        for bad in ("garbage", "a.b", tamper(token), "x" * 3000):
            response = page(api, customer["customer_id"], f"next_token={bad}")
            assert_error(response, 400, "validation_error", "next_token")

    def test_bad_limit_is_400(self, api: Api) -> None:
        customer = create(api)
        for limit in ("0", "101", "abc", "-1", "2.5", ""):
            assert_error(page(api, customer["customer_id"], f"limit={limit}"), 400, "validation_error", "limit")

    def test_unknown_or_repeated_parameter_is_400(self, api: Api) -> None:
        customer = create(api)
        for query in ("after=x", "sort=asc", "limit=1&limit=2"):
            name = query.split("=")[0]
            assert_error(page(api, customer["customer_id"], query), 400, "validation_error", name)

    def test_bad_id_is_400_and_unknown_id_is_404(self, api: Api) -> None:
        assert_error(api.get("/customers/not-a-uuid/history"), 400, "validation_error", "customer_id")
        assert_error(api.get(f"/customers/{uuid.uuid4()}/history"), 404, "not_found")


def assert_redacted(entry: dict[str, Any]) -> None:
    assert entry["redacted"] is True
    assert all(change == {"from": None, "to": None} for change in entry["changes"].values()), entry


class TestHistoryAfterErasure:
    def test_erasure_redacts_delivered_entries_at_once_and_adds_a_final_erased_entry(self, api: Api) -> None:
        customer = create(api, first_name=f"Gone{uuid.uuid4().hex[:6]}", city="Erasedton")
        api.put(path(customer), {"city": "Elsewhere"})
        deliver_changes()
        erasure = api.post(path(customer, "/erasure"))
        before_delivery = history_of(api, customer["customer_id"])
        assert [e["change"] for e in before_delivery] == ["updated", "created"]
        for entry in before_delivery:
            assert_redacted(entry)
        assert set(before_delivery[1]["changes"]) == set(set_fields(customer))  # the names stay
        deliver_changes()
        erased, *rest = history_of(api, customer["customer_id"])
        assert rest == before_delivery
        assert_redacted(erased)
        assert (erased["version"], erased["change"], erased["actor"]) == (3, "erased", "local")
        assert erased["request_id"] == erasure.headers["X-Request-Id"]
        assert erased["occurred_at"] == body(erasure)["erased_at"]
        secrets = {customer["first_name"], customer["email_address"], "Erasedton", "Elsewhere"}
        assert mentions(history_items(customer["customer_id"]), secrets) == set()

    def test_changes_delivered_after_the_erasure_are_written_redacted(self, api: Api) -> None:
        customer = create(api, first_name=f"Late{uuid.uuid4().hex[:6]}")
        api.put(path(customer), {"city": "Lateville"})
        api.delete(path(customer))
        api.post(path(customer, "/erasure"))
        assert body(api.get(path(customer, "/history"))) == {"history": [], "next_token": None}
        deliver_changes()
        entries = history_of(api, customer["customer_id"])
        assert [(e["version"], e["change"]) for e in entries] == [
            (4, "erased"),
            (3, "deleted"),
            (2, "updated"),
            (1, "created"),
        ]
        for entry in entries:
            assert_redacted(entry)
        assert set(entries[-1]["changes"]) == set(set_fields(customer))
        assert mentions(history_items(customer["customer_id"]), {customer["first_name"], "Lateville"}) == set()
        assert all("customer" not in item for item in history_items(customer["customer_id"]))

    def test_erasure_after_the_purge_redacts_the_history_and_ends_it_with_erased(self, api: Api) -> None:
        customer = create(api, first_name=f"Purged{uuid.uuid4().hex[:6]}", city="Purgeton")
        api.delete(path(customer))
        deliver_changes()
        remove_item(customer["customer_id"])
        deliver_changes()
        api.post(path(customer, "/erasure"))
        entries = history_of(api, customer["customer_id"])
        assert [e["change"] for e in entries] == ["purged", "deleted", "created"]
        for entry in entries:
            assert_redacted(entry)
        deliver_changes()
        entries = history_of(api, customer["customer_id"])
        assert [(e["version"], e["change"]) for e in entries[:2]] == [(4, "erased"), (3, "purged")]
        assert mentions(history_items(customer["customer_id"]), {customer["first_name"], "Purgeton"}) == set()

    def test_erasure_between_the_removal_and_its_delivery_still_ends_the_history_with_erased(self, api: Api) -> None:
        """TTL removed the item, and the erasure came before the consumer saw the removal: both changes count."""
        customer = create(api)
        api.delete(path(customer))
        deliver_changes()
        remove_item(customer["customer_id"])
        erasure = api.post(path(customer, "/erasure"))
        assert erasure.status_code == 200
        deliver_changes()
        entries = history_of(api, customer["customer_id"])
        assert [e["change"] for e in entries] == ["erased", "purged", "deleted", "created"]
        assert entries[0]["request_id"] == erasure.headers["X-Request-Id"]
        events, _ = follow_events(api, f"customer_id={customer['customer_id']}")
        assert events[-1]["type"] == "customer.erased"


class TestExport:
    def test_export_holds_the_customer_and_its_whole_history_oldest_first(self, api: Api) -> None:
        customer = changed(api, create(api, city="Exportville"), 2)
        deliver_changes()
        response = api.get(path(customer, "/export"))
        assert response.status_code == 200, response.body
        assert (
            response.headers["Content-Disposition"] == f'attachment; filename="customer-{customer["customer_id"]}.json"'
        )
        export = body(response)
        assert set(export) == {"customer", "history", "exported_at"}
        assert export["customer"] == body(api.get(path(customer)))
        assert export["history"] == list(reversed(history_of(api, customer["customer_id"])))
        assert [entry["version"] for entry in export["history"]] == [1, 2, 3]
        assert abs(moment(export["exported_at"]) - datetime.now(UTC)) < timedelta(seconds=30)

    def test_export_of_a_soft_deleted_customer_says_until_when_it_can_be_restored(self, api: Api) -> None:
        customer = create(api)
        api.delete(path(customer))
        deliver_changes()
        until = assert_error(api.get(path(customer)), 404, "customer_deleted")["details"]["restorable_until"]
        export = body(api.get(path(customer, "/export")))
        assert export["customer"]["restorable_until"] == until
        assert abs(moment(export["customer"]["deleted_at"]) - datetime.now(UTC)) < timedelta(seconds=30)
        assert export["customer"]["email_address"] == customer["email_address"]
        assert [entry["change"] for entry in export["history"]] == ["created", "deleted"]

    def test_export_answers_for_upper_case_ids_with_the_canonical_file_name(self, api: Api) -> None:
        customer = create(api)
        response = api.get(path(customer["customer_id"].upper(), "/export"))
        assert response.status_code == 200
        assert customer["customer_id"] in response.headers["Content-Disposition"]

    def test_export_errors(self, api: Api) -> None:
        erased = create(api)
        api.post(path(erased, "/erasure"))
        assert_error(api.get(path(erased, "/export")), 410, "customer_erased")
        assert_error(api.get(path(str(uuid.uuid4()), "/export")), 404, "not_found")
        assert_error(api.get("/customers/nope/export"), 400, "validation_error", "customer_id")
        live = create(api)
        assert_error(api.get(path(live, "/export?format=csv")), 400, "validation_error", "format")
        assert api.post(path(live, "/export"), headers=JSON).status_code == 405
