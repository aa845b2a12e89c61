"""The stream consumer under DynamoDB faults at every step of a delivery: redelivered, each change is written once.

Faults come from tests/support/faults.py at botocore's transport boundary of the
process's DynamoDB client, which the consumer shares with the API; they are armed
only while the stream is delivered, so every faulted call is one of the consumer's.
The same classes run against moto here and against DynamoDB Local in tests/integration.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from chalicelib import wiring
from tests.support import Api, create
from tests.support.faults import FAULTS, LOST_AND_RETRIED, Fault, FaultInjector, injector_on_one_attempt
from tests.support.stream import Deliveries, deliver_changes, follow_events, history_items, history_of, poller, watch
from tests.unit.test_events_api import assert_each_once_in_version_order
from tests.unit.test_lifecycle_api import path

Expected = dict[str, list[str]]  # customer id -> the kinds of its changes, in version order
# What a whole entry has (a placeholder an erasure reserved has only its key and "redacted").
ENTRY_ATTRIBUTES = {
    "change",
    "occurred_at",
    "actor",
    "changes",
    "redacted",
    "feed_bucket",
    "feed_position",
    "published",
}
CONSUMER_FAULTS = [fault for fault in FAULTS if fault.name in ("internal_error", "response_lost_after_commit")]


def changes_of_every_kind(api: Api) -> Expected:
    """One customer through create, two updates (one moving its email), delete and restore; another erased.

    The second is erased before anything is delivered, so the consumer meets the
    placeholders the erasure reserved, and redacts when the erasure reaches it.
    """
    kept = create(api)
    for changes in ({"city": "Faulted"}, {"email_address": f"moved.{kept['email_address']}"}):
        assert api.put(path(kept), changes).status_code == 200
    assert api.delete(path(kept)).status_code == 204
    assert api.post(path(kept, "/restore")).status_code == 200
    erased = create(api)
    assert api.put(path(erased), {"city": "Soon gone"}).status_code == 200
    assert api.post(path(erased, "/erasure")).status_code == 200
    return {
        kept["customer_id"]: ["created", "updated", "updated", "deleted", "restored"],
        erased["customer_id"]: ["created", "updated", "erased"],
    }


@dataclass
class Ledger:
    """Every change made so far, and the feed as a reader following ``next_cursor`` since the start has seen it."""

    expected: Expected = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    cursor: str | None = None

    def assert_each_change_recorded_once(self, api: Api, new: Expected) -> None:
        """Whole entries in version order for every customer, each event seen once; ``new`` also read back."""
        self.expected.update(new)
        items = history_items()
        assert {item["customer_id"] for item in items} == set(self.expected)
        for customer_id, kinds in self.expected.items():
            mine = [item for item in items if item["customer_id"] == customer_id]
            assert [int(item["version"]) for item in mine] == list(range(1, len(kinds) + 1)), customer_id
            assert [item.get("change") for item in mine] == kinds, customer_id
            for item in mine:
                assert set(item) >= ENTRY_ATTRIBUTES, f"half-written entry {item}"
                if "erased" in kinds:
                    assert item["redacted"] is True
                    assert "customer" not in item
                    assert all(change == {"from": None, "to": None} for change in item["changes"].values())
        for customer_id, kinds in new.items():
            assert [entry["change"] for entry in reversed(history_of(api, customer_id))] == kinds
        later, self.cursor = follow_events(api, "limit=100", self.cursor)
        self.events += later
        assert len(self.events) == sum(len(kinds) for kinds in self.expected.values())
        assert_each_once_in_version_order(self.events)


class TestConsumerFaults:
    @pytest.fixture
    def deliveries(self, api: Api) -> Deliveries:
        return watch(poller(fresh=True))

    @pytest.fixture
    def injector(self, api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultInjector]:
        """One attempt per call, so a faulted call is a call that failed for good."""
        with injector_on_one_attempt(monkeypatch) as injector:
            yield injector

    def consumer_calls(self, api: Api, injector: FaultInjector, ledger: Ledger) -> list[str]:
        """The DynamoDB calls one clean delivery of :func:`changes_of_every_kind` makes."""
        new = changes_of_every_kind(api)
        injector.arm(None)
        deliver_changes()
        calls = list(injector.calls)
        ledger.assert_each_change_recorded_once(api, new)
        return calls

    @pytest.mark.parametrize("fault", CONSUMER_FAULTS, ids=lambda fault: fault.name)
    def test_a_fault_at_any_step_then_a_redelivery_records_each_change_once(
        self, api: Api, injector: FaultInjector, deliveries: Deliveries, fault: Fault
    ) -> None:
        ledger = Ledger()
        calls = self.consumer_calls(api, injector, ledger)
        assert calls.count("PutItem") >= 8  # one entry per change at least
        for step in range(1, len(calls) + 1):
            new = changes_of_every_kind(api)
            injector.arm(fault, from_call=step)
            poller().poll_once()
            assert injector.injected, f"step {step}: no call was faulted"
            injector.arm(None)
            assert deliveries.failures()[-1], f"step {step}: the consumer did not report the failed record"
            deliver_changes()
            assert deliveries.failures()[-1] == [], f"step {step}: the redelivery failed"
            ledger.assert_each_change_recorded_once(api, new)

    def test_a_fault_that_outlasts_the_attempts_parks_nothing_and_loses_nothing(
        self, api: Api, injector: FaultInjector, deliveries: Deliveries
    ) -> None:
        """More failed deliveries than STREAM_MAX_ATTEMPTS while DynamoDB is down: the consumer cannot count them
        either, so the record is not parked (here: dropped, no lot configured) but waits for the store."""
        new = changes_of_every_kind(api)
        failing = next(fault for fault in FAULTS if fault.name == "unavailable")
        for _ in range(4):
            injector.arm(failing, from_call=1)
            poller().poll_once()
        injector.arm(None)
        assert all(failed for failed in deliveries.failures())
        deliver_changes()
        Ledger().assert_each_change_recorded_once(api, new)


class TestConsumerLostResponses:
    """botocore retries a consumer's call whose answer was lost after DynamoDB applied it: no failure, no duplicate."""

    def test_a_lost_answer_at_any_step_is_retried_and_applied_once(self, api: Api) -> None:
        deliveries = watch(poller(fresh=True))
        ledger = Ledger()
        new = changes_of_every_kind(api)
        with FaultInjector(wiring.dynamodb_client()) as injector:
            deliver_changes()
            steps = len(injector.calls)
            assert steps >= 11
            ledger.assert_each_change_recorded_once(api, new)
            for step in range(1, steps + 1):
                new = changes_of_every_kind(api)
                injector.arm(LOST_AND_RETRIED, from_call=step, times=1)
                deliver_changes()
                assert injector.injected == 1, f"step {step}: no call was faulted"
                injector.arm(None)
                assert deliveries.failures()[-1] == [], f"step {step}"
                ledger.assert_each_change_recorded_once(api, new)
