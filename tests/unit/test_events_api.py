"""The change-event feed (GET /events) and the events published to EventBridge.

The feed classes run against moto here and against DynamoDB Local in
tests/integration; publishing needs moto's EventBridge and SQS, so it runs here only.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support import Api, assert_error, body, create, forget_cached_wiring
from tests.support.hostile import tamper
from tests.support.stream import (
    SETTLE_SECONDS,
    deliver_changes,
    events_page,
    follow_events,
    history_items,
    history_of,
    poller,
    watch,
)
from tests.unit.test_lifecycle_api import path

EVENT_KEYS = {"event_id", "type", "customer_id", "version", "occurred_at", "actor", "changed_fields", "customer"}


def keyed(events: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    return [(e["customer_id"], e["version"], e["type"]) for e in events]


def recorded_event_ids() -> set[str]:
    """Every entry the consumer wrote, as event ids."""
    return {f"{item['customer_id']}:{item['version']}" for item in history_items() if "change" in item}


def assert_each_once_in_version_order(events: list[dict[str, Any]]) -> None:
    event_ids = [e["event_id"] for e in events]
    assert len(event_ids) == len(set(event_ids)), "an event was seen twice"
    assert set(event_ids) == recorded_event_ids(), "an event was never seen"
    versions: dict[str, list[int]] = {}
    for event in events:
        versions.setdefault(event["customer_id"], []).append(event["version"])
    for customer_id, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), (customer_id, seen)


class TestEventsFeed:
    def test_feed_is_oldest_first_and_each_event_says_what_changed(self, api: Api) -> None:
        a, b = create(api), create(api)
        updated = body(api.put(path(a), {"city": "Feedville"}))
        api.delete(path(b))
        restored = body(api.post(path(b, "/restore")))
        deliver_changes()
        events, _ = follow_events(api)
        ida, idb = a["customer_id"], b["customer_id"]
        assert keyed(events) == [
            (ida, 1, "customer.created"),
            (idb, 1, "customer.created"),
            (ida, 2, "customer.updated"),
            (idb, 2, "customer.deleted"),
            (idb, 3, "customer.restored"),
        ]
        for event in events:
            assert set(event) == EVENT_KEYS
            assert event["event_id"] == f"{event['customer_id']}:{event['version']}"
            assert event["actor"] == "local"
        created, _, changed, deleted, back = events
        assert created["customer"] == a
        assert (changed["customer"], changed["changed_fields"]) == (updated, ["city"])
        assert changed["occurred_at"] == updated["updated_at"]
        assert (deleted["customer"], deleted["changed_fields"]) == (None, [])
        assert (back["customer"], back["changed_fields"]) == (restored, [])
        history = {entry["version"]: entry for entry in history_of(api, ida)}
        assert created["changed_fields"] == list(history[1]["changes"])

    def test_following_the_cursor_while_writes_go_on_sees_every_event_once_in_version_order(self, api: Api) -> None:
        customers = [create(api) for _ in range(3)]
        seen: list[dict[str, Any]] = []
        cursor = None
        for round_number in range(8):
            for index, customer in enumerate(customers):
                if (round_number + index) % 2 == 0:
                    api.put(path(customer), {"city": f"Round {round_number}"})
            if round_number % 3 == 1:
                customers.append(create(api))
            if round_number == 5:
                api.delete(path(customers[0]))
            if round_number % 2:
                poller().poll_once()  # delivered just now: the feed holds these back until they settle
            else:
                deliver_changes()
            for _ in range(round_number % 3):
                page = events_page(api, "limit=3", cursor)
                assert len(page["events"]) <= 3
                seen += page["events"]
                cursor = page["next_cursor"]
        deliver_changes()
        rest, _ = follow_events(api, "limit=4", cursor)
        assert_each_once_in_version_order(seen + rest)

    def test_an_empty_page_keeps_a_cursor_that_sees_what_comes_next(self, api: Api) -> None:
        start = events_page(api)
        assert start["events"] == []
        first = create(api)
        deliver_changes()
        assert keyed(follow_events(api, after=start["next_cursor"])[0]) == [
            (first["customer_id"], 1, "customer.created")
        ]
        seen, cursor = follow_events(api)
        assert len(seen) == 1
        empty = events_page(api, after=cursor)
        assert empty["events"] == []
        second = create(api)
        api.put(path(second), {"city": "Later"})
        deliver_changes()
        for usable in (cursor, empty["next_cursor"]):
            later, _ = follow_events(api, after=usable)
            assert keyed(later) == [
                (second["customer_id"], 1, "customer.created"),
                (second["customer_id"], 2, "customer.updated"),
            ]

    def test_pages_are_bounded_by_limit_and_25_by_default(self, api: Api) -> None:
        customers = [create(api) for _ in range(13)]
        for customer in customers:
            api.put(path(customer), {"city": "Twice"})
        deliver_changes()
        assert len(events_page(api)["events"]) == 25
        pages = 0
        cursor = None
        seen: list[dict[str, Any]] = []
        while True:
            page = events_page(api, "limit=7", cursor)
            if not page["events"]:
                break
            assert len(page["events"]) <= 7
            seen += page["events"]
            cursor, pages = page["next_cursor"], pages + 1
        assert len(seen) == 26
        assert pages == 4
        assert_each_once_in_version_order(seen)

    def test_type_filter_gives_only_and_every_event_of_that_type(self, api: Api) -> None:
        customers = [create(api) for _ in range(4)]
        for customer in customers[:2]:
            api.put(path(customer), {"city": "Filtered"})
        api.delete(path(customers[3]))
        deliver_changes()
        expected = {"created": 4, "updated": 2, "deleted": 1, "restored": 0, "erased": 0, "purged": 0}
        for kind, count in expected.items():
            events, _ = follow_events(api, f"type=customer.{kind}&limit=100")
            assert len(events) == count, kind
            assert {e["type"] for e in events} <= {f"customer.{kind}"}

    def test_a_type_filtered_page_is_empty_only_when_no_matching_event_is_left(self, api: Api) -> None:
        customers = [create(api) for _ in range(6)]
        api.put(path(customers[0]), {"city": "The one update"})
        deliver_changes()
        events, _ = follow_events(api, "type=customer.updated&limit=2")
        assert keyed(events) == [(customers[0]["customer_id"], 2, "customer.updated")]

    def test_a_customer_and_type_filtered_page_is_empty_only_when_no_matching_event_is_left(self, api: Api) -> None:
        customer = create(api)
        for number in range(3):
            api.put(path(customer), {"city": f"Update {number}"})
        api.delete(path(customer))
        deliver_changes()
        events, _ = follow_events(api, f"customer_id={customer['customer_id']}&type=customer.deleted&limit=2")
        assert keyed(events) == [(customer["customer_id"], 5, "customer.deleted")]

    def test_customer_filter_gives_that_customers_events_in_version_order(self, api: Api) -> None:
        mine, other = create(api), create(api)
        for number in range(3):
            api.put(path(mine), {"city": f"Mine {number}"})
            api.put(path(other), {"city": f"Other {number}"})
        api.delete(path(mine))
        deliver_changes()
        events, cursor = follow_events(api, f"customer_id={mine['customer_id'].upper()}&limit=2")
        assert [(e["customer_id"], e["version"]) for e in events] == [(mine["customer_id"], v) for v in range(1, 6)]
        api.post(path(mine, "/restore"))
        deliver_changes()
        later, _ = follow_events(api, f"customer_id={mine['customer_id']}&limit=2", cursor)
        assert keyed(later) == [(mine["customer_id"], 6, "customer.restored")]

    def test_a_cursor_from_one_filter_is_400_with_another(self, api: Api) -> None:
        a, b = create(api), create(api)
        deliver_changes()
        queries = [
            "",
            "type=customer.created",
            "type=customer.updated",
            f"customer_id={a['customer_id']}",
            f"customer_id={b['customer_id']}",
            f"customer_id={a['customer_id']}&type=customer.created",
        ]
        cursors = {query: events_page(api, query)["next_cursor"] for query in queries}
        for issued, cursor in cursors.items():
            assert events_page(api, issued, cursor)["events"] == []  # valid where it was issued
            for query in queries:
                if query != issued:
                    separator = "&" if query else ""
                    response = api.get(f"/events?{query}{separator}after={cursor}")
                    assert_error(response, 400, "validation_error", "after")

    def test_a_bad_cursor_is_400_naming_after(self, api: Api) -> None:
        customer = create(api)
        create(api)
        api.put(path(customer), {"city": "Paged"})
        deliver_changes()
        cursor = events_page(api, "limit=1")["next_cursor"]
        list_token = body(api.get("/customers?limit=1"))["next_token"]
        history_token = body(api.get(path(customer, "/history?limit=1")))["next_token"]
        for bad in ("garbage", "a.b", tamper(cursor), list_token, history_token, "x" * 3000):
            assert_error(api.get(f"/events?after={bad}"), 400, "validation_error", "after")

    def test_bad_parameters_are_400_naming_them(self, api: Api) -> None:
        for query, name in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=abc", "limit"),
            ("type=created", "type"),
            ("type=customer.bogus", "type"),
            ("customer_id=not-a-uuid", "customer_id"),
            ("since=yesterday", "since"),
            ("after=a&after=b", "after"),
        ]:
            assert_error(api.get(f"/events?{query}"), 400, "validation_error", name)

    def test_an_erased_customers_events_stay_without_the_customer_then_end_with_erased(self, api: Api) -> None:
        target = create(api)
        api.put(path(target), {"city": "Before erasure"})
        deliver_changes()
        before, cursor = follow_events(api)
        assert all(event["customer"] is not None for event in before)
        api.post(path(target, "/erasure"))
        other = create(api)
        deliver_changes()
        events, _ = follow_events(api)
        assert keyed(events) == [
            (target["customer_id"], 1, "customer.created"),
            (target["customer_id"], 2, "customer.updated"),
            (target["customer_id"], 3, "customer.erased"),
            (other["customer_id"], 1, "customer.created"),
        ]
        assert [e["customer"] for e in events[:3]] == [None, None, None]
        assert events[1]["changed_fields"] == ["city"]  # names only: their values are gone
        assert keyed(follow_events(api, after=cursor)[0]) == keyed(events[2:])


def queue_messages(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message in the queue now (received and deleted), its body parsed."""
    messages: list[dict[str, Any]] = []
    while True:
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        batch = received.get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            messages.append(json.loads(message["Body"], parse_float=Decimal))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


class TestEventBridgePublishing:
    """Deployed stages publish each change to their bus; moto's bus routes them to an SQS queue here."""

    @pytest.fixture
    def queue(self, api: Api, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
        events, sqs = boto3.client("events", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
        bus = "customer-api-test"
        events.create_event_bus(Name=bus)
        queue_url = sqs.create_queue(QueueName="customer-changes")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        pattern = json.dumps({"source": ["customer-api"]})
        events.put_rule(Name="customer-changes", EventBusName=bus, EventPattern=pattern)
        events.put_targets(Rule="customer-changes", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
        monkeypatch.setenv("EVENT_BUS_NAME", bus)
        forget_cached_wiring()
        return sqs, queue_url

    def test_each_change_is_published_once_with_its_detail(self, api: Api, queue: tuple[Any, str]) -> None:
        target = create(api)
        api.put(path(target), {"city": "Published"})
        api.delete(path(target))
        api.post(path(target, "/restore"))
        deliver_changes()
        messages = queue_messages(*queue)
        feed, _ = follow_events(api)
        assert (
            [m["detail-type"] for m in messages]
            == [e["type"] for e in feed]
            == [
                "customer.created",
                "customer.updated",
                "customer.deleted",
                "customer.restored",
            ]
        )
        for message, event in zip(messages, feed, strict=True):
            assert message["source"] == "customer-api"
            assert message["detail"] == {name: value for name, value in event.items() if name != "type"}
        assert messages[1]["detail"]["changed_fields"] == ["city"]
        assert messages[2]["detail"]["customer"] is None
        assert all(item["published"] for item in history_items())

    def test_redelivery_publishes_no_second_event(self, api: Api, queue: tuple[Any, str]) -> None:
        target = create(api)
        api.put(path(target), {"city": "Once"})
        deliver_changes()
        assert len(queue_messages(*queue)) == 2
        assert poller(fresh=True).poll_once() == 2
        time.sleep(SETTLE_SECONDS)
        assert queue_messages(*queue) == []

    def test_a_record_that_cannot_be_published_is_retried_then_parked_whole(
        self, api: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
        monkeypatch.setenv("PARKED_RECORDS_DIR", str(tmp_path))
        monkeypatch.setenv("STREAM_MAX_ATTEMPTS", "3")
        forget_cached_wiring()
        target = create(api)
        stream = poller(fresh=True)
        deliveries = watch(stream)
        assert stream.poll_once() == 1
        record = deliveries.batches[0][0]
        number = record["dynamodb"]["SequenceNumber"]
        # Reported failed: the entry is written, its event not published, and the shard waits.
        assert deliveries.failures() == [[number]]
        assert [e["change"] for e in history_of(api, target["customer_id"])] == ["created"]
        assert [item["published"] for item in history_items()] == [False]
        assert list(tmp_path.iterdir()) == []
        stream.poll_once()
        stream.poll_once()
        assert deliveries.failures() == [[number], [number], []]
        (parked,) = tmp_path.iterdir()
        document = json.loads(parked.read_text())
        assert document["record"] == record  # whole: keys, images, sequence number
        assert document["record"]["dynamodb"]["NewImage"]["email_address"] == {"S": target["email_address"]}
        assert "PutEvents" in document["reason"]
        # The shard moved on: the next change is delivered, the parked one never again.
        monkeypatch.setenv("EVENT_BUS_NAME", "")
        forget_cached_wiring()
        api.put(path(target), {"city": "Moved on"})
        assert stream.poll_once() == 1
        assert deliveries.failures()[-1] == []
        assert deliveries.batches[-1][0]["dynamodb"]["SequenceNumber"] != number
        assert [e["version"] for e in history_of(api, target["customer_id"])] == [2, 1]
