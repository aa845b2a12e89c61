"""Sorted lists, ranges and filters in any combination (``GET /customers``) through the public HTTP interface.

Every expected order is worked out from the customers the API created
(tests/support/listing.py), then compared with what pages of a few customers
each answer, next_token after next_token. The classes also run on DynamoDB Local
in tests/integration, through the ``api`` fixture each folder defines.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.storage.listing import READ_FACTOR
from chalicelib.storage.tables import SHARDS
from tests.support import Api, assert_error, create
from tests.support.listing import SORTS, first_page, ids, in_order, listing, walk, walk_with_costs
from tests.support.stream import deliver_changes

# first name, last name, lifetime value, state, status, loyalty: ties in every order but the id.
PEOPLE = (
    ("Zoë", "Ávila", "1500", "IL", "active", "y"),
    ("ana", "avila", "250.50", "il", "inactive", "n"),
    ("Ana", "Avila", "1500", "Il", "active", "n"),
    ("Bob", "de", "0", "OR", "canceled", "y"),
    ("Al", "de la Cruz", "99.99", "Québec", "active", "y"),
    ("Al", "Dean", "1500.01", "QUEBEC", "inactive", "n"),
    ("Émile", "Zola", "1499.99", "OR", "active", "y"),
    ("Ed", "zola", "1500", "WA", "active", "n"),
    ("Øyvind", "Østby", "42", "WA", "canceled", "n"),
)
UPDATED_LATER = (6, 0)  # updated after everyone was created, in this order


def make_people(api: Api) -> list[dict[str, Any]]:
    """The customers of PEOPLE, in creation order, as they stand after the updates (updated order != created)."""
    made = [
        create(
            api,
            first_name=first,
            last_name=last,
            lifetime_value=Decimal(value),
            state=state,
            customer_status=status,
            is_loyalty_member=loyalty,
        )
        for first, last, value, state, status, loyalty in PEOPLE
    ]
    for position in UPDATED_LATER:
        response = api.put(f"/customers/{made[position]['customer_id']}", {"city": "Later"})
        assert response.status_code == 200, response.body
    now = {customer["customer_id"]: customer for customer in walk(api)}
    assert len(now) == len(made)
    return [now[customer["customer_id"]] for customer in made]


Predicate = Callable[[dict[str, Any]], bool]


def matching(customers: list[dict[str, Any]], keep: Predicate, sort: str) -> list[str]:
    return in_order([c for c in customers if keep(c)], sort)


class TestSortedPages:
    @pytest.fixture
    def people(self, api: Api) -> list[dict[str, Any]]:
        return make_people(api)

    def test_default_order_is_newest_first(self, api: Api, people: list[dict[str, Any]]) -> None:
        # Given customers created one after another
        # When listing them without an order, a page of 2 at a time
        seen = ids(walk(api, limit=2))
        # Then the last created comes first and the first created last, exactly as with -created_at
        assert seen == ids(people)[::-1]
        assert seen == ids(walk(api, limit=4, sort="-created_at"))

    @pytest.mark.parametrize("sort", SORTS)
    def test_sorted_pages_follow_the_order_across_tokens(
        self, api: Api, people: list[dict[str, Any]], sort: str
    ) -> None:
        # Given customers with ties in names, values and states
        expected = in_order(people, sort)
        # When walking the list in that order, 2 or 3 at a time, and in one page
        # Then every page continues exactly where the last one stopped
        for limit in (2, 3, 100):
            assert ids(walk(api, limit=limit, sort=sort)) == expected, (sort, limit)

    def test_sort_by_last_name_folds_accents_and_case_then_first_name_then_id(
        self, api: Api, people: list[dict[str, Any]]
    ) -> None:
        # Given customers called Ávila, avila and Avila, de, de la Cruz and Dean, Zola and zola, and Østby
        # When listing by last name
        names = [(c["first_name"], c["last_name"]) for c in walk(api, limit=3, sort="last_name")]
        # Then the names come folded: accents and case ignored, "de" < "de la Cruz" < "Dean", Østby last
        anas = names[:2]
        assert sorted(anas) == [("Ana", "Avila"), ("ana", "avila")]
        assert names[2:] == [
            ("Zoë", "Ávila"),
            ("Bob", "de"),
            ("Al", "de la Cruz"),
            ("Al", "Dean"),
            ("Ed", "zola"),
            ("Émile", "Zola"),
            ("Øyvind", "Østby"),
        ]

    def test_sort_by_last_name_is_by_code_point_beyond_the_basic_plane(self, api: Api) -> None:
        # Given customers named with characters from the top of the basic plane and beyond it
        # (UTF-16 would put the ones beyond before U+FA0E; DynamoDB compares UTF-8 bytes: code points)
        names = ["\U00020000", "\ufffd", "\ufa0e", "\U0001f600", "z", "\u00f8"] * 2
        made = [create(api, first_name=f"F{i:02}", last_name=name) for i, name in enumerate(names)]
        expected = ids(sorted(made, key=lambda c: (c["last_name"], c["first_name"])))
        # When listing by last name, 1, 2 and 5 at a time, both ways
        # Then the order is by code point, across every page
        for limit in (1, 2, 5):
            assert ids(walk(api, limit=limit, sort="last_name")) == expected, limit
            assert ids(walk(api, limit=limit, sort="-last_name")) == expected[::-1], limit

    def test_sort_by_lifetime_value_is_numeric(self, api: Api, people: list[dict[str, Any]]) -> None:
        # Given values from 0 to 1500.01, with ties at 1500
        # When listing by value, highest first
        values = [c["lifetime_value"] for c in walk(api, limit=2, sort="-lifetime_value")]
        # Then the values come as numbers (99.99 below 250.50, 1500.01 above 1500)
        assert values == sorted((Decimal(p[2]) for p in PEOPLE), reverse=True)

    def test_sort_by_updated_at_follows_later_updates(self, api: Api, people: list[dict[str, Any]]) -> None:
        # Given two customers updated after everyone was created
        # When listing by last update, most recent first
        seen = ids(walk(api, limit=2, sort="-updated_at"))
        # Then the updated ones come first, the later update first
        assert seen[:2] == [people[0]["customer_id"], people[6]["customer_id"]]

    def test_sorted_lists_follow_changes_at_once(self, api: Api, people: list[dict[str, Any]]) -> None:
        # Given the customer with the lowest value and the first name in the list
        lowest = in_order(people, "lifetime_value")[0]
        first = in_order(people, "last_name")[0]
        # When the one gets the highest value and the other a name after Østby
        assert api.put(f"/customers/{lowest}", {"lifetime_value": 999999}).status_code == 200
        assert api.put(f"/customers/{first}", {"last_name": "Øz"}).status_code == 200
        # Then, with no wait, the lists put them at the other end
        now = walk(api)
        assert ids(walk(api, limit=3, sort="lifetime_value")) == in_order(now, "lifetime_value")
        assert ids(walk(api, limit=3, sort="lifetime_value"))[-1] == lowest
        assert ids(walk(api, limit=3, sort="last_name"))[-1] == first
        assert ids(walk(api, limit=3, sort="-updated_at"))[:2] == [first, lowest]

    def test_sorted_page_goes_on_after_its_last_customer_is_deleted(
        self, api: Api, people: list[dict[str, Any]]
    ) -> None:
        for sort in ("last_name", "-lifetime_value", "created_at", "-created_at"):
            # Given the first page of a sorted list
            expected = in_order(people, sort)
            page = first_page(api, limit=3, sort=sort)
            shown, token = ids(page["customers"]), page["next_token"]
            assert shown == expected[:3]
            # When the last customer it showed is deleted before the next page is asked for
            assert api.delete(f"/customers/{shown[-1]}").status_code == 204
            rest = ids(walk_after(api, token, limit=3, sort=sort))
            # Then the next pages go on right after it, with every later customer once
            assert rest == expected[3:], sort
            assert api.post(f"/customers/{shown[-1]}/restore").status_code == 200


def walk_after(api: Api, token: str, limit: int, **params: Any) -> list[dict[str, Any]]:
    """The rest of a listing from ``token`` on, every page followed."""
    customers: list[dict[str, Any]] = []
    next_token: str | None = token
    for _ in range(1000):
        if next_token is None:
            return customers
        page = first_page(api, limit=limit, next_token=next_token, **params)
        assert len(page["customers"]) <= limit
        customers += page["customers"]
        next_token = page["next_token"]
    raise AssertionError("the walk did not end")


class TestRanges:
    @pytest.fixture
    def people(self, api: Api) -> list[dict[str, Any]]:
        return make_people(api)

    def test_created_after_is_inclusive_and_created_before_exclusive(
        self, api: Api, people: list[dict[str, Any]]
    ) -> None:
        # Given customers created one after another, and the moment the fourth was created
        by_creation = in_order(people, "created_at")
        moment = next(c["created_at"] for c in people if c["customer_id"] == by_creation[3])
        # When listing those created after it, and those created before it
        after = ids(walk(api, limit=2, created_after=moment))
        before = ids(walk(api, limit=2, created_before=moment))
        # Then the fourth is among the first and not the second, and together they are everyone once
        assert after == by_creation[3:][::-1]
        assert before == by_creation[:3][::-1]

    def test_created_range_with_both_ends(self, api: Api, people: list[dict[str, Any]]) -> None:
        # Given the moments the second and sixth customers were created
        by_creation = in_order(people, "created_at")
        moments = {c["customer_id"]: c["created_at"] for c in people}
        after, before = moments[by_creation[1]], moments[by_creation[5]]
        # When listing between them, oldest first, 1 at a time
        # Then the second to the fifth are listed
        assert (
            ids(walk(api, limit=1, created_after=after, created_before=before, sort="created_at")) == by_creation[1:5]
        )

    def test_created_range_far_from_everyone_is_empty(self, api: Api, people: list[dict[str, Any]]) -> None:
        assert walk(api, created_before="2000-01-01T00:00:00Z") == []
        assert walk(api, created_after="2999-01-01T00:00:00Z", sort="last_name") == []
        assert ids(walk(api, created_after="2000-01-01T00:00:00+05:00")) == in_order(people, "-created_at")

    @pytest.mark.parametrize(
        ("params", "keep"),
        [
            ({"min_lifetime_value": "1500"}, lambda c: c["lifetime_value"] >= 1500),
            ({"min_lifetime_value": "1500.00"}, lambda c: c["lifetime_value"] >= 1500),
            ({"max_lifetime_value": "1500"}, lambda c: c["lifetime_value"] <= 1500),
            ({"max_lifetime_value": "99.99"}, lambda c: c["lifetime_value"] <= Decimal("99.99")),
            (
                {"min_lifetime_value": "99.99", "max_lifetime_value": "1500"},
                lambda c: Decimal("99.99") <= c["lifetime_value"] <= 1500,
            ),
            ({"min_lifetime_value": "1500", "max_lifetime_value": "1500.00"}, lambda c: c["lifetime_value"] == 1500),
            ({"min_lifetime_value": "0", "max_lifetime_value": "0"}, lambda c: c["lifetime_value"] == 0),
            ({"min_lifetime_value": "1500.02"}, lambda c: False),
        ],
    )
    def test_value_ranges_are_inclusive_in_every_order(
        self, api: Api, people: list[dict[str, Any]], params: dict[str, str], keep: Predicate
    ) -> None:
        # Given customers with values from 0 to 1500.01, three of them at exactly 1500
        # When listing a value range in each order, 2 at a time
        # Then exactly the customers within it (ends included) are listed, in that order
        for sort in ("-lifetime_value", "lifetime_value", "last_name", "-created_at"):
            assert ids(walk(api, limit=2, sort=sort, **params)) == matching(people, keep, sort), (sort, params)

    @pytest.mark.parametrize(
        ("params", "keep"),
        [
            (
                {"customer_status": "active", "min_lifetime_value": "1500", "sort": "last_name"},
                lambda c: c["customer_status"] == "active" and c["lifetime_value"] >= 1500,
            ),
            (
                {"state": "il", "max_lifetime_value": "1500", "sort": "-lifetime_value"},
                lambda c: c["state"].upper() == "IL" and c["lifetime_value"] <= 1500,
            ),
            (
                {"is_loyalty_member": "y", "sort": "-updated_at", "min_lifetime_value": "42"},
                lambda c: c["is_loyalty_member"] == "y" and c["lifetime_value"] >= 42,
            ),
            (
                {"state": "quebec", "customer_status": "inactive", "sort": "created_at"},
                lambda c: c["state"] in ("Québec", "QUEBEC") and c["customer_status"] == "inactive",
            ),
            (
                {"customer_status": "canceled", "is_loyalty_member": "n", "state": "WA", "sort": "-last_name"},
                lambda c: (c["customer_status"], c["is_loyalty_member"], c["state"]) == ("canceled", "n", "WA"),
            ),
        ],
    )
    def test_ranges_combine_with_filters_and_orders(
        self, api: Api, people: list[dict[str, Any]], params: dict[str, str], keep: Predicate
    ) -> None:
        # Given customers differing in status, state, loyalty and value
        sort = params["sort"]
        # When listing with several criteria in an order, 1 and 2 at a time
        # Then exactly the customers meeting all of them are listed, in that order
        for limit in (1, 2):
            assert ids(walk(api, limit=limit, **params)) == matching(people, keep, sort), (params, limit)

    def test_created_range_combines_with_filters_and_other_orders(self, api: Api, people: list[dict[str, Any]]) -> None:
        # Given the moment the third customer was created
        by_creation = in_order(people, "created_at")
        moment = next(c["created_at"] for c in people if c["customer_id"] == by_creation[2])
        later = set(by_creation[2:])
        # When combining the range with a filter and each order
        for sort in SORTS:
            seen = ids(walk(api, limit=2, created_after=moment, customer_status="active", sort=sort))
            # Then the customers created since and active are listed, in that order
            assert seen == matching(
                people, lambda c: c["customer_id"] in later and c["customer_status"] == "active", sort
            )
        early = ids(walk(api, limit=2, created_before=moment, state="IL", sort="lifetime_value"))
        assert early == matching(
            people, lambda c: c["customer_id"] in by_creation[:2] and c["state"].upper() == "IL", "lifetime_value"
        )

    def test_email_filter_combines_with_ranges(self, api: Api, people: list[dict[str, Any]]) -> None:
        # Given a customer with a value of 1500.01
        target = next(c for c in people if c["lifetime_value"] == Decimal("1500.01"))
        address = target["email_address"].upper()
        # When looking it up by email with a range it meets, and one it does not
        # Then it is listed for the first only
        assert ids(walk(api, email_address=address, min_lifetime_value="1500.01")) == [target["customer_id"]]
        assert walk(api, email_address=address, max_lifetime_value="1500") == []
        found = walk(api, email_address=address, created_after=target["created_at"], sort="last_name")
        assert ids(found) == [target["customer_id"]]
        assert walk(api, email_address=address, created_before=target["created_at"]) == []


class TestStateFilter:
    def test_state_filter_ignores_case_and_accents_in_every_order(self, api: Api) -> None:
        # Given customers in IL written three ways, in Québec written two ways, and elsewhere
        people = make_people(api)
        illinois = {c["customer_id"] for c in people if c["state"] in ("IL", "il", "Il")}
        quebec = {c["customer_id"] for c in people if c["state"] in ("Québec", "QUEBEC")}
        assert (len(illinois), len(quebec)) == (3, 2)
        # When filtering by the state written any way, in any order
        for sort in ("-created_at", "last_name", "-lifetime_value", "updated_at"):
            for state in ("IL", "il", "iL"):
                assert ids(walk(api, limit=2, state=state, sort=sort)) == matching(
                    people, lambda c: c["customer_id"] in illinois, sort
                )
            for state in ("quebec", "QUÉBEC", "Que\u0301bec"):
                assert set(ids(walk(api, limit=1, state=state, sort=sort))) == quebec, (state, sort)
        # Then a state nobody is in lists nobody
        assert walk(api, state="ILL") == []


class TestDeletedCustomersInLists:
    def test_deleted_customers_never_appear_in_sorted_filtered_or_ranged_lists(self, api: Api) -> None:
        # Given customers, one of them deleted
        people = make_people(api)
        target = people[2]  # Ana Avila: IL, active, 1500
        assert api.delete(f"/customers/{target['customer_id']}").status_code == 204
        rest = [c for c in people if c["customer_id"] != target["customer_id"]]
        lists: list[dict[str, str]] = [
            *({"sort": sort} for sort in SORTS),
            {"state": "IL", "sort": "last_name"},
            {"customer_status": "active", "sort": "-lifetime_value"},
            {"min_lifetime_value": "1500", "max_lifetime_value": "1500"},
            {"created_after": target["created_at"], "sort": "created_at"},
            {"email_address": target["email_address"]},
        ]
        # When listing in every order, filter and range
        # Then it is in none of them, and everyone else is where they were
        for params in lists:
            seen = ids(walk(api, limit=2, **params))
            assert target["customer_id"] not in seen, params
        for sort in SORTS:
            assert ids(walk(api, limit=2, sort=sort)) == in_order(rest, sort)
        # And once restored, it is back in every list (its update time is the restore's)
        assert api.post(f"/customers/{target['customer_id']}/restore").status_code == 200
        now = walk(api)
        assert len(now) == len(people)
        for sort in SORTS:
            assert ids(walk(api, limit=3, sort=sort)) == in_order(now, sort), sort
        assert target["customer_id"] in ids(walk(api, state="il", min_lifetime_value="1500", sort="last_name"))

    def test_deleted_customers_never_appear_even_after_the_consumer_ran(self, api: Api) -> None:
        # Given a deleted customer whose change was delivered, and an erased one
        people = make_people(api)
        deleted, erased = people[0], people[1]
        api.delete(f"/customers/{deleted['customer_id']}")
        api.post(f"/customers/{erased['customer_id']}/erasure")
        deliver_changes()
        gone = {deleted["customer_id"], erased["customer_id"]}
        # When listing in every order
        # Then neither appears
        for sort in SORTS:
            assert gone.isdisjoint(ids(walk(api, limit=4, sort=sort))), sort


RARE = 2  # customers that meet the combination, among POPULATION
POPULATION = 30


class TestShortPages:
    """A combination no index answers alone: each page reads a bounded number of candidates, and may come back short."""

    @pytest.fixture
    def crowd(self, api: Api) -> list[dict[str, Any]]:
        """POPULATION customers in IL; RARE of them canceled, loyal, valued 5000 or more and called Quill."""
        rare = {7, 22}
        made = [
            create(
                api,
                first_name=f"P{i:02}",
                last_name="Quill" if i in rare else f"Common{i:02}",
                state="IL",
                customer_status="canceled" if i in rare else "active",
                is_loyalty_member="y" if i in rare else "n",
                lifetime_value=Decimal(5000 + i) if i in rare else Decimal(i),
            )
            for i in range(POPULATION)
        ]
        return made

    @pytest.mark.parametrize(
        ("params", "anyone"),
        [
            ({"state": "IL", "customer_status": "canceled"}, True),
            ({"customer_status": "active", "is_loyalty_member": "y", "sort": "-created_at"}, False),
            ({"sort": "last_name", "min_lifetime_value": "5000"}, True),
            ({"sort": "-lifetime_value", "is_loyalty_member": "y", "state": "il"}, True),
            ({"sort": "updated_at", "created_after": "2000-01-01T00:00:00Z", "customer_status": "canceled"}, True),
            ({"q": "quill", "sort": "-created_at"}, True),
            ({"q": "qu", "sort": "lifetime_value", "state": "IL"}, True),
        ],
        ids=["state+status", "nobody", "name+min", "value+loyalty+state", "updated+range+status", "q-new", "q-value"],
    )
    def test_rare_matches_come_in_short_pages_at_a_bounded_cost(
        self, api: Api, crowd: list[dict[str, Any]], params: dict[str, str], anyone: bool
    ) -> None:
        # Given many customers, of which the RARE Quills (or nobody) meet the combination
        rare = [c for c in crowd if c["last_name"] == "Quill"] if anyone else []
        sort = params.get("sort", "-created_at")
        limit = 2
        # When walking the list 2 at a time
        walked = walk_with_costs(api, limit, **params)
        # Then the pages together are exactly the matches, in order
        assert ids(walked.customers) == in_order(rare, sort)
        # And no page is longer than the limit, while some come back short with a token to go on
        assert all(len(page["customers"]) <= limit for page in walked.pages)
        assert any(len(page["customers"]) < limit and page["next_token"] for page in walked.pages)
        # And each page reads at most READ_FACTOR * limit candidates, never with a Scan
        for cost in walked.costs:
            assert set(cost.operations) <= {"Query", "BatchGetItem"}, cost
            assert cost.keys_read <= READ_FACTOR * limit, cost
            assert cost.query_items <= READ_FACTOR * limit + SHARDS * limit, cost
            assert all(query_limit <= limit for query_limit in cost.query_limits), cost

    def test_combination_one_index_answers_reads_no_wasted_candidate(
        self, api: Api, crowd: list[dict[str, Any]]
    ) -> None:
        # Given a combination one index answers by itself (a value range in value order)
        # When listing it 2 at a time
        walked = walk_with_costs(api, 2, sort="-lifetime_value", min_lifetime_value="5000")
        # Then one full page holds both matches, read with no wasted candidate
        assert ids(walked.customers) == in_order([c for c in crowd if c["lifetime_value"] >= 5000], "-lifetime_value")
        assert walked.costs[0].keys_read == 2

    def test_short_pages_refuse_tokens_of_other_listings(self, api: Api, crowd: list[dict[str, Any]]) -> None:
        # Given a token from a page of a combination
        token = first_page(api, limit=2, state="IL", customer_status="canceled")["next_token"]
        assert token is not None
        # When it is used with another combination, order or range
        # Then it is refused, naming next_token
        for params in (
            {"state": "IL"},
            {"state": "IL", "customer_status": "active"},
            {"state": "OR", "customer_status": "canceled"},
            {"state": "IL", "customer_status": "canceled", "sort": "created_at"},
            {"state": "IL", "customer_status": "canceled", "min_lifetime_value": "1"},
            {"state": "IL", "customer_status": "canceled", "created_before": "2999-01-01T00:00:00Z"},
            {"state": "IL", "customer_status": "canceled", "is_loyalty_member": "y"},
        ):
            assert_error(api.get(listing(limit=2, next_token=token, **params)), 400, "validation_error", "next_token")
        # While the same combination, the state written another way, goes on with it
        assert api.get(listing(limit=2, next_token=token, state="il", customer_status="canceled")).status_code == 200


class TestSortedTokens:
    def test_sorted_token_continues_only_the_same_order_and_ranges(self, api: Api) -> None:
        # Given a token from each of two listings
        for i in range(5):
            create(api, lifetime_value=Decimal(100 * i))
        by_name = first_page(api, limit=2, sort="last_name")["next_token"]
        by_value = first_page(api, limit=2, sort="lifetime_value", min_lifetime_value="100")["next_token"]
        assert by_name is not None
        assert by_value is not None
        # When each is used with another order or range
        # Then it is refused, naming next_token
        for params, token in (
            ({"sort": "-last_name"}, by_name),
            ({"sort": "created_at"}, by_name),
            ({}, by_name),
            ({"sort": "last_name", "created_after": "2000-01-01T00:00:00Z"}, by_name),
            ({"sort": "lifetime_value"}, by_value),
            ({"sort": "lifetime_value", "min_lifetime_value": "200"}, by_value),
            ({"sort": "-lifetime_value", "min_lifetime_value": "100"}, by_value),
            ({"sort": "lifetime_value", "min_lifetime_value": "100", "max_lifetime_value": "900"}, by_value),
        ):
            assert_error(api.get(listing(limit=2, next_token=token, **params)), 400, "validation_error", "next_token")


BAD_MOMENTS = (
    "yesterday",
    "2024-13-01T00:00:00Z",
    "2024-05-01",
    "2024-02-30T00:00:00Z",
    "1714567800",
    "",
    "2024-05-01T25:00Z",
    "0001-01-01T00:00:00+01:00",
)
BAD_AMOUNTS = ("-1", "1e3", "1500.001", "abc", "", "1,500", "1000000000000", " 5", "NaN", "Infinity", "0x10")


class TestListValidation:
    def test_unknown_sort_is_400_naming_sort(self, api: Api) -> None:
        for sort in ("name", "+created_at", "created", "--created_at", "LAST_NAME", "", "last_name,"):
            assert_error(api.get(listing(sort=sort)), 400, "validation_error", "sort")

    @pytest.mark.parametrize("name", ["created_after", "created_before"])
    def test_bad_moment_is_400_naming_it(self, api: Api, name: str) -> None:
        for value in BAD_MOMENTS:
            assert_error(api.get(listing(**{name: value})), 400, "validation_error", name)

    @pytest.mark.parametrize("name", ["min_lifetime_value", "max_lifetime_value"])
    def test_bad_amount_is_400_naming_it(self, api: Api, name: str) -> None:
        for value in BAD_AMOUNTS:
            assert_error(api.get(listing(**{name: value})), 400, "validation_error", name)

    def test_created_after_not_before_created_before_is_400_naming_created_before(self, api: Api) -> None:
        for after, before in (
            ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z"),
            ("2024-05-01T12:00:01Z", "2024-05-01T12:00:00Z"),
            ("2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00Z"),  # the same moment
            ("2024-05-01T12:00:00.250000Z", "2024-05-01T12:00:00.250000Z"),
        ):
            response = api.get(listing(created_after=after, created_before=before))
            error = assert_error(response, 400, "validation_error", "created_before")
            assert "created_after" not in error["details"]

    def test_min_above_max_is_400_naming_max_lifetime_value(self, api: Api) -> None:
        for low, high in (("1500.01", "1500"), ("1", "0"), ("0.01", "0.00")):
            response = api.get(listing(min_lifetime_value=low, max_lifetime_value=high))
            error = assert_error(response, 400, "validation_error", "max_lifetime_value")
            assert "min_lifetime_value" not in error["details"]

    def test_every_bad_parameter_is_named_at_once(self, api: Api) -> None:
        response = api.get(listing(sort="name", created_after="soon", min_lifetime_value="-1", q=" "))
        assert_error(response, 400, "validation_error", "sort", "created_after", "min_lifetime_value", "q")

    def test_list_parameter_given_twice_is_400_naming_it(self, api: Api) -> None:
        for name, value in (
            ("sort", "last_name"),
            ("created_after", "2024-05-01T00:00:00Z"),
            ("min_lifetime_value", "1"),
            ("state", "IL"),
        ):
            assert_error(api.get(f"/customers?{name}={value}&{name}={value}"), 400, "validation_error", name)

    def test_equal_value_bounds_and_adjacent_moments_are_valid(self, api: Api) -> None:
        for params in (
            {"min_lifetime_value": "1500", "max_lifetime_value": "1500.00"},
            {"created_after": "2024-05-01T12:00:00.000001Z", "created_before": "2024-05-01T12:00:00.000002Z"},
            {"created_after": "2024-05-01T12:00:00Z", "created_before": "2024-05-01T12:00:01Z"},
            {"max_lifetime_value": "999999999999.99", "min_lifetime_value": "0"},
        ):
            response = api.get(listing(**params))
            assert response.status_code == 200, (params, response.body)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class TestWholeSecondBounds:
    """Range ends given in whole seconds (the usual way to write them) against creation times with microseconds."""

    def test_created_after_a_whole_second_includes_customers_created_later_in_that_second(self, api: Api) -> None:
        # Given a customer, and the whole second it was created in (at or before its creation time)
        target = create(api)
        second = target["created_at"][:19] + "Z"
        assert moment(second) <= moment(target["created_at"])
        # When listing those created from that second on, in two orders
        # Then the customer is listed
        assert ids(walk(api, created_after=second)) == [target["customer_id"]]
        assert ids(walk(api, created_after=second, sort="last_name")) == [target["customer_id"]]

    def test_created_before_a_whole_second_excludes_customers_created_later_in_that_second(self, api: Api) -> None:
        # Given a customer, and the whole second it was created in
        target = create(api)
        second = target["created_at"][:19] + "Z"
        # When listing those created before that second, in two orders
        # Then the customer, created after it, is not listed
        assert walk(api, created_before=second) == []
        assert walk(api, created_before=second, sort="lifetime_value") == []

    def test_range_ends_are_compared_as_moments_not_as_text(self, api: Api) -> None:
        # Given ends a fraction of a second apart, one of them written in whole seconds
        # When created_after is a microsecond after created_before
        # Then the answer is 400 naming created_before
        response = api.get(listing(created_after="2024-05-01T12:00:00.000001Z", created_before="2024-05-01T12:00:00Z"))
        assert_error(response, 400, "validation_error", "created_before")
        # And when created_before is half a second after created_after, the range is answered
        response = api.get(listing(created_after="2024-05-01T12:00:00Z", created_before="2024-05-01T12:00:00.5Z"))
        assert response.status_code == 200, response.body


class TestKeysOfUnusualValues:
    def test_long_names_in_every_shard_still_page_to_the_end_with_tokens_the_api_accepts(self, api: Api) -> None:
        # Given customers whose names are 100 Cyrillic letters (each folded name far longer in bytes)
        people = [create(api, first_name="Ж" * 99 + chr(0x430 + n), last_name="Щ" * 100) for n in range(16)]
        deliver_changes()
        # When a name order and a search are walked three at a time
        for params in ({"sort": "last_name"}, {"sort": "-last_name"}, {"q": "щщ"}):
            found = walk(api, limit=3, **params)
            # Then every page's token is taken back and the walk ends with each customer once
            assert sorted(ids(found)) == sorted(ids(people)), params

    def test_a_state_that_folds_to_thousands_of_characters_is_stored_and_filtered(self, api: Api) -> None:
        # Given a state of 100 characters each of which folds to 18 (over DynamoDB's key limit if kept whole)
        state = "\ufdfa" * 100
        customer = create(api, state=state)
        # When the list is filtered by it, Then the customer is found, and by another state not
        assert ids(walk(api, state=state)) == [customer["customer_id"]]
        assert walk(api, state="\ufdfa" * 5) == []
