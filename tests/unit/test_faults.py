"""Injected DynamoDB faults at every step of every write: a 503 with Retry-After, and nothing half-written."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.config import get_settings
from chalicelib.customers.seed_data import SAMPLE_CUSTOMERS
from tests.support import JSON, Api, assert_error, body, create, new_customer
from tests.support.faults import FAULTS, LOST_AND_RETRIED, Fault, FaultInjector, injector_on_one_attempt
from tests.support.store import assert_no_half_written_state, remove_customers, scan

REPLAYED = new_customer(email_address="replayed@example.com")
Setup = Callable[[Api], str]  # prepares what the write acts on (not faulted)
Act = Callable[[Api, str], Any]  # the write under test


def _nothing(api: Api) -> str:
    return ""


def _a_customer(api: Api) -> str:
    return str(create(api)["customer_id"])


def _no_samples(api: Api) -> str:
    """Remove the sample customers, so that seeding really creates all ten."""
    remove_customers([str(sample["customer_id"]) for sample in SAMPLE_CUSTOMERS])
    return ""


WRITES: dict[str, tuple[Setup, Act]] = {
    "create": (_nothing, lambda api, _: api.post("/customers", new_customer())),
    "create_with_idempotency_key": (
        _nothing,
        lambda api, _: api.post("/customers", new_customer(), headers={**JSON, "Idempotency-Key": str(uuid.uuid4())}),
    ),
    "update": (_a_customer, lambda api, cid: api.put(f"/customers/{cid}", {"city": "Faultville", "lifetime_value": 5})),
    "update_if_match": (
        _a_customer,
        lambda api, cid: api.put(f"/customers/{cid}", {"city": "Matchville"}, headers={**JSON, "If-Match": '"1"'}),
    ),
    "update_email": (
        _a_customer,
        lambda api, cid: api.put(f"/customers/{cid}", {"email_address": f"moved.{uuid.uuid4().hex[:8]}@example.com"}),
    ),
    "delete": (_a_customer, lambda api, cid: api.delete(f"/customers/{cid}")),
    "seed": (_no_samples, lambda api, _: api.post("/seed")),
    "create_replay": (
        lambda api: str(api.post("/customers", REPLAYED, headers={**JSON, "Idempotency-Key": "replayed"}).status_code),
        lambda api, _: api.post("/customers", REPLAYED, headers={**JSON, "Idempotency-Key": "replayed"}),
    ),
}


# A plain update is a single UpdateItem: transaction faults cannot happen to it.
CASES = [
    (write, fault)
    for write in WRITES
    for fault in FAULTS
    if not (fault.transactions_only and write in ("update", "update_if_match"))
]


def _versions() -> dict[str, tuple[int, str | None]]:
    return {c["customer_id"]: (int(c["version"]), c.get("city")) for c in scan(get_settings().customers_table)}


class TestFaults:
    @pytest.fixture
    def injector(self, api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultInjector]:
        """One attempt per call, so a fault on a call is a fault that outlasted the retries."""
        with injector_on_one_attempt(monkeypatch) as injector:
            yield injector

    @pytest.mark.parametrize(("write", "fault"), CASES, ids=[f"{w}-{f.name}" for w, f in CASES])
    def test_fault_at_each_step_is_503_and_leaves_no_half_written_state(
        self, api: Api, injector: FaultInjector, write: str, fault: Fault
    ) -> None:
        # Given how many DynamoDB calls this write makes when nothing fails
        setup, act = WRITES[write]
        target = setup(api)
        injector.arm(None)
        assert act(api, target).status_code < 300
        calls = list(injector.calls)
        steps = [
            step
            for step, operation in enumerate(calls, start=1)
            if not fault.transactions_only or operation == "TransactWriteItems"
        ]
        assert steps  # a transaction fault only happens to transactions
        for step in steps:
            target = setup(api)
            before = _versions()
            # When DynamoDB fails from that step on
            injector.arm(fault, from_call=step)
            response = act(api, target)
            injector.arm(None)
            # Then the client is told to retry later, in the envelope
            if write in ("create_with_idempotency_key", "create_replay") and fault.name == "transaction_conflict":
                assert_error(response, 409, "request_in_progress")
            else:
                assert_error(response, 503, "service_unavailable")
            assert response.headers["Retry-After"] == "1"
            # And every customer owns its email record and nothing else exists
            assert_no_half_written_state()
            # And no customer that existed before lost a version bump or changed without one
            after = _versions()
            for customer_id, (version, city) in before.items():
                if customer_id in after:
                    new_version, new_city = after[customer_id]
                    assert new_version in (version, version + 1)
                    assert (new_city != city) <= (new_version == version + 1)

    def test_transient_throttle_is_retried_and_succeeds(self, api: Api) -> None:
        # Given botocore's default of three attempts and one throttled attempt
        with FaultInjector(wiring.dynamodb_client()) as injector:
            injector.arm(FAULTS[0], from_call=1, times=1)
            response = api.post("/customers", new_customer())
        # Then the retry succeeds and the client never sees the fault
        assert response.status_code == 201
        assert injector.injected == 1

    def test_retry_after_lost_response_replays_original_customer(self, api: Api) -> None:
        fields = new_customer()
        headers = {**JSON, "Idempotency-Key": "lost-response"}
        lost = next(f for f in FAULTS if f.name == "response_lost_after_commit")
        with FaultInjector(wiring.dynamodb_client()) as injector:
            injector.arm(lost, from_call=1)
            first = api.post("/customers", fields, headers=headers)
        assert_error(first, 503, "service_unavailable")
        # The write committed; the client's retry with the same key gets the original 201.
        retry = api.post("/customers", fields, headers=headers)
        assert retry.status_code == 201
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert body(retry)["email_address"] == fields["email_address"]
        assert len(scan(get_settings().customers_table)) == 1


class TestLostResponses:
    """botocore retries a call whose answer was lost after DynamoDB applied it: it must apply once."""

    @pytest.mark.parametrize("write", [w for w in WRITES if w != "seed"], ids=str)
    def test_retried_call_after_lost_answer_applies_exactly_once(self, api: Api, write: str) -> None:
        setup, act = WRITES[write]
        target = setup(api)
        before = _versions()
        with FaultInjector(wiring.dynamodb_client()) as injector:
            # Every step in turn: the first attempt of that call is applied and its answer lost.
            injector.arm(LOST_AND_RETRIED, from_call=1, times=1)
            response = act(api, target)
        assert injector.injected == 1
        assert response.status_code < 300, response.body
        assert_no_half_written_state()
        after = _versions()
        if target in before:
            # One version bump, not two (a soft delete bumps it too)
            assert after[target][0] == before[target][0] + 1
        else:
            # One new customer, not two (a replay adds none)
            assert len(after) == len(before) + (0 if write == "create_replay" else 1)
