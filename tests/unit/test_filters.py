"""List filters served by indexes: paginated, complete, and never a Scan."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import wiring
from tests.support import Api, assert_error, body, create
from tests.support.builders import follow_pages


def walk(api: Api, query: str, limit: int = 4) -> list[dict[str, Any]]:
    return follow_pages(api, f"/customers?{query}&limit={limit}", "customers", limit)


class TestFilteredListing:
    @pytest.fixture
    def population(self, api: Api) -> list[dict[str, Any]]:
        statuses = ["active", "inactive", "canceled"]
        return [
            create(
                api,
                customer_status=statuses[i % 3],
                is_loyalty_member="y" if i % 2 else "n",
                state=["OR", "WA", "CA", "NY"][i % 4],
            )
            for i in range(26)
        ]

    @pytest.mark.parametrize(
        ("field", "value"),
        [("customer_status", "active"), ("customer_status", "canceled"), ("is_loyalty_member", "y"), ("state", "WA")],
    )
    def test_filter_walk_returns_exactly_the_matching_customers_once(
        self, api: Api, population: list[dict[str, Any]], field: str, value: str
    ) -> None:
        seen = walk(api, f"{field}={value}")
        ids = [c["customer_id"] for c in seen]
        assert len(ids) == len(set(ids))
        assert set(ids) == {c["customer_id"] for c in population if c[field] == value}
        assert all(c[field] == value for c in seen)

    def test_email_filter_is_exact_and_ignores_case(self, api: Api, population: list[dict[str, Any]]) -> None:
        target = population[5]
        page = body(api.get(f"/customers?email_address={target['email_address'].upper()}"))
        assert [c["customer_id"] for c in page["customers"]] == [target["customer_id"]]
        assert page["next_token"] is None
        assert body(api.get("/customers?email_address=nobody@example.com")) == {"customers": [], "next_token": None}

    def test_changes_move_customers_between_filters(self, api: Api, population: list[dict[str, Any]]) -> None:
        customer = next(c for c in population if c["customer_status"] == "active")
        api.put(
            f"/customers/{customer['customer_id']}",
            {"customer_status": "canceled", "email_address": "moved@example.com"},
        )
        assert customer["customer_id"] not in {c["customer_id"] for c in walk(api, "customer_status=active")}
        assert customer["customer_id"] in {c["customer_id"] for c in walk(api, "customer_status=canceled")}
        moved = body(api.get("/customers?email_address=MOVED@example.com"))["customers"]
        assert [c["customer_id"] for c in moved] == [customer["customer_id"]]
        api.delete(f"/customers/{customer['customer_id']}")
        assert body(api.get("/customers?email_address=moved@example.com"))["customers"] == []

    def test_filtered_pages_are_index_queries_never_scans(self, api: Api, population: list[dict[str, Any]]) -> None:
        calls: list[tuple[str, Any]] = []

        def record(model: Any, params: dict[str, Any], **kwargs: Any) -> None:
            calls.append((model.name, params.get("IndexName")))

        events = wiring.dynamodb_client().meta.events
        events.register("provide-client-params.dynamodb", record)
        try:
            walk(api, "customer_status=inactive")
            walk(api, "state=OR")
        finally:
            events.unregister("provide-client-params.dynamodb", record)
        assert calls
        assert {name for name, _ in calls} == {"Query", "BatchGetItem"}
        assert {index for name, index in calls if name == "Query"} == {"by_status_created", "by_state_created"}

    def test_token_of_one_listing_is_refused_by_another(self, api: Api, population: list[dict[str, Any]]) -> None:
        active = body(api.get("/customers?customer_status=active&limit=2"))["next_token"]
        unfiltered = body(api.get("/customers?limit=2"))["next_token"]
        for query in (
            f"customer_status=inactive&next_token={active}",
            f"state=OR&next_token={active}",
            f"next_token={active}",
            f"customer_status=active&next_token={unfiltered}",
        ):
            assert_error(api.get(f"/customers?{query}"), 400, "validation_error", "next_token")

    def test_combined_filters_answer_the_customers_meeting_all_of_them(
        self, api: Api, population: list[dict[str, Any]]
    ) -> None:
        expected = {c["customer_id"] for c in population if c["customer_status"] == "active" and c.get("state") == "OR"}
        found = walk(api, "customer_status=active&state=OR")
        assert {c["customer_id"] for c in found} == expected
        assert all(c["customer_status"] == "active" and c["state"] == "OR" for c in found)

    @pytest.mark.parametrize(
        "query", ["customer_status=gone", "is_loyalty_member=yes", "email_address=not-an-email", "state="]
    )
    def test_bad_filter_values_are_400(self, api: Api, query: str) -> None:
        assert_error(api.get(f"/customers?{query}"), 400, "validation_error", query.split("=")[0])
