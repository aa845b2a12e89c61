"""Prefix search (``GET /customers?q=``) through the public HTTP interface.

The search index is kept by the change-stream consumer, so every test hands the
stream to it (``deliver_changes``) after writing and before searching, as Lambda
would a moment later. The classes also run on DynamoDB Local in tests/integration,
through the ``api`` fixture each folder defines.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from tests.support import Api, assert_error, body, create
from tests.support.listing import first_page, folded, ids, listing, search_items, search_items_of, walk
from tests.support.stream import deliver_changes


def tag() -> str:
    """Letters no other customer's names or email start with."""
    return "t" + "".join(chr(ord("a") + int(ch, 16)) for ch in uuid.uuid4().hex[:10])


def found(api: Api, q: str, **params: Any) -> list[str]:
    """The ids a search answers, every page followed."""
    return ids(walk(api, q=q, **params))


# The order search promises: folded last name, folded first name, then id. Equal ranks tie.
ORDERED_NAMES = (
    (0, "Ana", "Ávila"),
    (0, "ana", "avila"),
    (1, "Zoë", "Avila"),
    (2, "Bob", "de"),  # "de" before "de la Cruz" before "Dean"
    (3, "Al", "de la Cruz"),
    (4, "Al", "Dean"),
    (5, "Ed", "Zola"),
    (6, "Émile", "zola"),
    (7, "Øyvind", "Østby"),  # "ø" has no decomposition: it folds to itself, after "z"
)
CREATION_ORDER = (6, 2, 8, 0, 4, 1, 7, 3, 5)


class TestSearchMatching:
    def test_search_finds_customers_by_first_last_and_full_name_prefix(self, api: Api) -> None:
        # Given customers with distinct names, and one whose names share nothing with the query
        word = tag()
        ada = create(api, first_name=f"{word}ada", last_name="Lovelace")
        grace = create(api, first_name="Grace", last_name=f"{word}hopper")
        create(api, first_name="Alan", last_name="Turing")
        deliver_changes()
        # When searching by a prefix of the first name, the last name, or the full name
        # Then exactly the customers with such a name are found
        assert found(api, f"{word}ad") == [ada["customer_id"]]
        assert found(api, f"{word}h") == [grace["customer_id"]]
        assert set(found(api, word)) == {ada["customer_id"], grace["customer_id"]}
        assert found(api, f"{word}ada lo") == [ada["customer_id"]]
        assert found(api, f"{word}ada lovelace") == [ada["customer_id"]]
        assert found(api, "grace " + word[:3]) == [grace["customer_id"]]

    def test_search_matches_prefixes_only_never_the_middle_of_a_word(self, api: Api) -> None:
        # Given a customer called Lovelace
        word = tag()
        create(api, first_name=word, last_name="Lovelace")
        deliver_changes()
        # When searching for the middle or end of its names
        # Then nothing is found
        assert found(api, word[2:]) == []
        assert found(api, "velace") == []
        assert found(api, f"lovelace {word}") == []  # the full name is "first last", not "last first"

    def test_search_finds_customers_by_email_prefix(self, api: Api) -> None:
        # Given two customers whose addresses share a prefix
        word = tag()
        ada = create(api, first_name="Ada", last_name="King", email_address=f"{word}.ada@example.com")
        byron = create(api, first_name="George", last_name="Byron", email_address=f"{word}.byron@Example.org")
        deliver_changes()
        # When searching by prefixes of the addresses, in any case
        # Then the customers whose address starts so are found
        assert set(found(api, f"{word}.")) == {ada["customer_id"], byron["customer_id"]}
        assert found(api, f"{word}.ada@") == [ada["customer_id"]]
        assert found(api, f"{word.upper()}.BYRON@EXAMPLE.O") == [byron["customer_id"]]
        assert found(api, f"{word}.byron@example.org") == [byron["customer_id"]]
        assert found(api, f"{word}.ada@example.org") == []

    def test_search_finds_customers_by_national_phone_digits_however_formatted(self, api: Api) -> None:
        # Given a customer with a phone number in national form, and one with another number
        target = create(api, phone_number="555-123-4567")
        create(api, phone_number="556-123-4567")
        deliver_changes()
        # When searching by a prefix of its digits, written as people write phone numbers
        for q in (
            "5551234567",
            "555",
            "555123",
            "(555) 123",
            "555-123-45",
            "555.123.4567",
            " 555 123 ",
            "(555)123-4567",
        ):
            # Then only the customer with that number is found
            assert found(api, q) == [target["customer_id"]], q

    def test_search_never_finds_customers_by_the_middle_of_their_number(self, api: Api) -> None:
        # Given a customer with a phone number
        create(api, phone_number="555-123-4567")
        deliver_changes()
        # When searching for digits from the middle of the number
        # Then nothing is found
        assert found(api, "1234567") == []
        assert found(api, "4567") == []

    def test_search_ignores_case_and_accents_on_both_sides(self, api: Api) -> None:
        # Given customers with accented names, one of them in decomposed form, one plain
        word = tag()
        jose = create(api, first_name="José", last_name=f"{word}Müller")
        decomposed = create(api, first_name="Jose\u0301", last_name=f"{word}Muller")
        plain = create(api, first_name="Jose", last_name=f"{word}MULLER")
        strasse = create(api, first_name="Anna", last_name=f"{word}Straße")
        deliver_changes()
        everyone = {jose["customer_id"], decomposed["customer_id"], plain["customer_id"]}
        # When searching with or without accents, in any case
        # Then every spelling of the name is found
        for q in (
            f"jose {word}",
            f"JOSÉ {word}",
            f"{word}MÜLLER",
            f"{word}müller",
            f"{word}muller",
            f"{word.upper()}MU",
        ):
            assert set(found(api, q)) == everyone, q
        assert found(api, f"{word}STRASSE") == [strasse["customer_id"]]
        assert found(api, f"{word}straße") == [strasse["customer_id"]]

    def test_search_ignores_surrounding_and_repeated_whitespace(self, api: Api) -> None:
        # Given a customer whose name is written with extra spaces
        word = tag()
        target = create(api, first_name=word, last_name="de   la  Cruz")
        deliver_changes()
        # When the query has spaces around it and repeated inside it
        # Then it finds the customer as if single-spaced
        assert found(api, f"   {word}   de  la ") == [target["customer_id"]]
        assert found(api, f"{word} de la cruz") == [target["customer_id"]]
        assert found(api, "de la cr") == [target["customer_id"]]

    def test_search_finds_each_customer_once_even_when_several_of_its_texts_match(self, api: Api) -> None:
        # Given a customer whose first name, last name and email start alike
        word = tag()
        target = create(api, first_name=word, last_name=f"{word}son", email_address=f"{word}@example.com")
        deliver_changes()
        # When searching for what all of them start with
        page = first_page(api, q=word, limit=10)
        # Then it is found once
        assert ids(page["customers"]) == [target["customer_id"]]
        assert page["next_token"] is None

    def test_search_longer_than_the_indexed_prefix_matches_exactly(self, api: Api) -> None:
        # Given customers whose names and addresses agree on their first 8 characters and more
        byron = create(api, first_name="Ada", last_name="Lovelace-Byron", email_address="augusta.ada.king@example.com")
        bishop = create(
            api, first_name="Ada", last_name="Lovelace-Bishop", email_address="augusta.ada.byron@example.com"
        )
        lovelacey = create(api, first_name="Ada", last_name="Lovelacey")
        deliver_changes()
        # When the query is longer than the indexed prefix
        # Then only the customers the whole query is a prefix of are found
        assert found(api, "lovelace") == ids([bishop, byron, lovelacey])  # "-" sorts before "y"
        assert found(api, "lovelace-by") == [byron["customer_id"]]
        assert found(api, "LOVELACE-BYRON") == [byron["customer_id"]]
        assert found(api, "lovelace-byronic") == []
        assert found(api, "lovelacey") == [lovelacey["customer_id"]]
        assert found(api, "augusta.ada.k") == [byron["customer_id"]]
        assert found(api, "augusta.ada.byron@example.com") == [bishop["customer_id"]]
        assert found(api, "ada lovelace-bi") == [bishop["customer_id"]]


class TestSearchOrderAndPages:
    @pytest.fixture
    def people(self, api: Api) -> tuple[str, list[dict[str, Any]]]:
        """The customers of ORDERED_NAMES, created out of order; their email's prefix; them in the promised order."""
        word = tag()
        created: dict[int, dict[str, Any]] = {}
        for position in CREATION_ORDER:
            _, first, last = ORDERED_NAMES[position]
            created[position] = create(
                api, first_name=first, last_name=last, email_address=f"{word}.{position}@example.com"
            )
        deliver_changes()
        ordered = sorted(created.items(), key=lambda item: (ORDERED_NAMES[item[0]][0], item[1]["customer_id"]))
        return word, [customer for _, customer in ordered]

    def test_search_results_are_ordered_by_last_name_then_first_name_then_id(
        self, api: Api, people: tuple[str, list[dict[str, Any]]]
    ) -> None:
        # Given customers with accented, differently cased and tied names, found by a common prefix
        word, expected = people
        # When searching for them
        # Then they come back by folded last name, then folded first name, then id
        assert found(api, word) == ids(expected)

    @pytest.mark.parametrize("limit", [1, 2, 3])
    def test_search_pages_follow_the_order_across_tokens(
        self, api: Api, people: tuple[str, list[dict[str, Any]]], limit: int
    ) -> None:
        # Given more matches than one page holds
        word, expected = people
        # When walking the search a few at a time
        seen = found(api, word, limit=limit)
        # Then the pages together are every match once, in order
        assert seen == ids(expected)

    def test_search_descending_by_last_name_is_the_exact_reverse(
        self, api: Api, people: tuple[str, list[dict[str, Any]]]
    ) -> None:
        # Given the customers found by a common prefix
        word, expected = people
        # When asking for them by last name descending, in pages of 2
        # Then the order is exactly reversed, ties included
        assert found(api, word, sort="-last_name", limit=2) == ids(expected)[::-1]

    def test_search_by_a_name_keeps_the_order_among_its_matches(
        self, api: Api, people: tuple[str, list[dict[str, Any]]]
    ) -> None:
        # Given three customers called Avila (with and without the accent)
        _, expected = people
        avilas = [c for c in expected if folded(c["last_name"]) == "avila"]
        assert len(avilas) == 3
        # When searching for the name however it is written
        # Then exactly they come back, in the promised order
        for q in ("avila", "ÁVILA", "Ávi", "av", "a\u0301vila"):
            assert found(api, q, limit=2) == ids(avilas), q

    def test_search_in_another_order_follows_that_order(
        self, api: Api, people: tuple[str, list[dict[str, Any]]]
    ) -> None:
        # Given the customers found by a common prefix, created in a known order
        word, expected = people
        by_creation = sorted(expected, key=lambda c: (c["created_at"], c["customer_id"]))
        # When asking for the search newest first, and oldest first
        # Then the matches come in creation order, both ways
        assert found(api, word, sort="-created_at", limit=2) == ids(by_creation)[::-1]
        assert found(api, word, sort="created_at", limit=4) == ids(by_creation)

    def test_search_page_goes_on_after_its_last_customer_is_deleted_and_delivered(
        self, api: Api, people: tuple[str, list[dict[str, Any]]]
    ) -> None:
        # Given the first page of a search
        word, expected = people
        page = first_page(api, q=word, limit=3)
        shown = ids(page["customers"])
        assert shown == ids(expected[:3])
        # When the last customer it showed is deleted, and its search items removed, before the next page
        assert api.delete(f"/customers/{shown[-1]}").status_code == 204
        deliver_changes()
        assert search_items_of(shown[-1]) == []
        rest = [*page["customers"]]
        token = page["next_token"]
        while token is not None:
            following = first_page(api, q=word, limit=3, next_token=token)
            rest += following["customers"]
            token = following["next_token"]
        # Then the next pages go on right after it, with every later customer once
        assert ids(rest) == ids(expected)

    def test_search_orders_by_code_point_beyond_the_basic_plane(self, api: Api) -> None:
        # Given customers found by one prefix, named with characters from the top of the basic plane and beyond
        word = tag()
        names = ["\U00020000", "\ufffd", "\ufa0e", "\U0001f600", "z", "\u00f8"] * 2
        made = [
            create(api, first_name=f"F{i:02}", last_name=name, email_address=f"{word}.{i}@example.com")
            for i, name in enumerate(names)
        ]
        deliver_changes()
        expected = ids(sorted(made, key=lambda c: (c["last_name"], c["first_name"])))
        # When searching, 1 and 5 at a time
        # Then the order is by code point (as UTF-8 compares), across every page
        for limit in (1, 5):
            assert found(api, word, limit=limit) == expected, limit
        assert found(api, word, limit=2, sort="-last_name") == expected[::-1]

    def test_search_token_continues_only_the_same_search(
        self, api: Api, people: tuple[str, list[dict[str, Any]]]
    ) -> None:
        # Given a token from the first page of a search
        word, _ = people
        token = first_page(api, q=word, limit=2)["next_token"]
        assert token is not None
        other = first_page(api, limit=2)["next_token"]
        assert other is not None
        # When it is used with another query, order or filter, or without the query
        # Then it is refused, naming next_token
        for params in (
            {"q": word[:-1]},
            {"q": "avila"},
            {"q": word, "sort": "-last_name"},
            {"q": word, "sort": "-created_at"},
            {"q": word, "customer_status": "active"},
            {"q": word, "min_lifetime_value": "0"},
            {},
        ):
            response = api.get(listing(limit=2, next_token=token, **params))
            assert_error(response, 400, "validation_error", "next_token")
        # And a token from a plain listing does not continue a search
        assert_error(api.get(listing(q=word, limit=2, next_token=other)), 400, "validation_error", "next_token")
        # While the same search goes on with it
        assert api.get(listing(q=word, limit=2, next_token=token)).status_code == 200


class TestSearchConsistency:
    def test_search_never_finds_a_deleted_customer_even_before_the_consumer_ran(self, api: Api) -> None:
        # Given two customers found by the same name
        word = tag()
        target, control = create(api, last_name=word), create(api, last_name=word)
        deliver_changes()
        assert set(found(api, word)) == {target["customer_id"], control["customer_id"]}
        # When one is deleted and the stream not yet delivered
        assert api.delete(f"/customers/{target['customer_id']}").status_code == 204
        assert search_items_of(target["customer_id"])  # its search items are still there
        # Then the search no longer finds it, in any order
        assert found(api, word) == [control["customer_id"]]
        assert found(api, word, sort="-created_at") == [control["customer_id"]]
        assert found(api, word, limit=1) == [control["customer_id"]]
        # And once delivered, its search items are gone too
        deliver_changes()
        assert search_items_of(target["customer_id"]) == []
        assert found(api, word) == [control["customer_id"]]

    def test_search_finds_a_restored_customer_again(self, api: Api) -> None:
        # Given a deleted customer whose deletion was delivered
        word = tag()
        target = create(api, first_name="Ada", last_name=word)
        deliver_changes()
        api.delete(f"/customers/{target['customer_id']}")
        deliver_changes()
        assert found(api, word) == []
        # When it is restored and the restore delivered
        assert api.post(f"/customers/{target['customer_id']}/restore").status_code == 200
        deliver_changes()
        # Then it is found again, by every text
        assert found(api, word) == [target["customer_id"]]
        assert found(api, f"ada {word}") == [target["customer_id"]]
        assert found(api, target["email_address"]) == [target["customer_id"]]

    def test_search_never_finds_a_renamed_customer_by_its_old_name(self, api: Api) -> None:
        # Given a customer found by its name
        old, new = tag(), tag()
        target = create(api, first_name="Ada", last_name=old)
        deliver_changes()
        assert found(api, old) == [target["customer_id"]]
        # When it is renamed, and the stream not yet delivered
        response = api.put(f"/customers/{target['customer_id']}", {"last_name": new})
        assert response.status_code == 200, response.body
        # Then the old name no longer finds it (the stored texts are checked again)
        assert found(api, old) == []
        assert found(api, f"ada {old}") == []
        # And once delivered, the new name finds it, with its new name
        deliver_changes()
        (renamed,) = walk(api, q=new)
        assert (renamed["customer_id"], renamed["last_name"]) == (target["customer_id"], new)
        assert found(api, f"ada {new}") == [target["customer_id"]]
        assert found(api, old) == []

    def test_search_follows_a_changed_email_and_phone(self, api: Api) -> None:
        # Given a customer found by its email and phone
        word = tag()
        target = create(api, email_address=f"{word}.old@example.com", phone_number="555-777-1234")
        deliver_changes()
        assert found(api, f"{word}.old") == found(api, "5557771") == [target["customer_id"]]
        # When both change and the change is delivered
        changes = {"email_address": f"{word}.new@example.com", "phone_number": "555-888-1234"}
        assert api.put(f"/customers/{target['customer_id']}", changes).status_code == 200
        deliver_changes()
        # Then the new ones find it and the old ones do not
        assert found(api, f"{word}.new") == found(api, "5558881") == [target["customer_id"]]
        assert found(api, f"{word}.old") == found(api, "5557771") == []

    def test_search_is_unchanged_by_an_update_of_an_unsearched_field(self, api: Api) -> None:
        # Given a customer found by its name
        word = tag()
        target = create(api, last_name=word)
        deliver_changes()
        items = search_items_of(target["customer_id"])
        # When a field nobody searches by changes
        assert api.put(f"/customers/{target['customer_id']}", {"city": "Oslo"}).status_code == 200
        deliver_changes()
        # Then it is still found, showing the change, and its search items are the same
        (customer,) = walk(api, q=word)
        assert customer["city"] == "Oslo"
        assert sorted(search_items_of(target["customer_id"]), key=repr) == sorted(items, key=repr)

    def test_search_never_finds_an_erased_customer_and_its_search_items_are_gone(self, api: Api) -> None:
        # Given a customer found by its names, email and phone, and its search items stored
        word = tag()
        target = create(
            api,
            first_name=f"{word}erin",
            last_name=f"{word}forgotten",
            email_address=f"{word}.erin@example.com",
            phone_number="555-246-8101",
        )
        control = create(api, first_name=f"{word}erin", last_name="Kept")
        deliver_changes()
        items = search_items_of(target["customer_id"])
        assert items
        assert any(word in repr(item) for item in items)
        # When it is erased
        assert api.post(f"/customers/{target['customer_id']}/erasure").status_code == 200
        # Then no search finds it, before and after the erasure is delivered
        assert found(api, word) == [control["customer_id"]]
        assert found(api, "5552468") == []
        deliver_changes()
        assert found(api, word) == [control["customer_id"]]
        assert found(api, "5552468") == []
        # And the search table holds nothing of it: no item names it or its names
        assert search_items_of(target["customer_id"]) == []
        leftovers = [item for item in search_items() if "forgotten" in repr(item) or "5552468" in repr(item)]
        assert leftovers == []

    def test_search_after_renames_back_and_forth_finds_the_customer_once_by_its_current_name(self, api: Api) -> None:
        # Given a customer renamed back and forth
        word = tag()
        target = create(api, last_name=f"{word}a")
        for name in (f"{word}b", f"{word}a"):
            assert api.put(f"/customers/{target['customer_id']}", {"last_name": name}).status_code == 200
        deliver_changes()
        # When searching for either name
        # Then it is found once, and only by its current name
        assert found(api, word) == [target["customer_id"]]
        assert found(api, f"{word}a") == [target["customer_id"]]
        assert found(api, f"{word}b") == []


class TestSearchCombinations:
    def test_search_combines_with_filters_ranges_and_orders(self, api: Api) -> None:
        # Given customers sharing a name, differing in status, state, loyalty and value
        word = tag()
        made = [
            create(
                api,
                first_name=f"F{i}",
                last_name=f"{word}{chr(ord('a') + i)}",
                customer_status=("active", "inactive")[i % 2],
                state=("IL", "OR", "il")[i % 3],
                is_loyalty_member=("y", "n")[i % 2],
                lifetime_value=Decimal(100 * i),
            )
            for i in range(8)
        ]
        create(api, last_name="Other", customer_status="inactive", state="IL", lifetime_value=Decimal(700))
        deliver_changes()

        def expect(keep: Any) -> list[str]:
            return [c["customer_id"] for c in made if keep(c)]

        # When searching with each criterion, then they all hold, in the search's order
        assert found(api, word, customer_status="inactive", limit=2) == expect(
            lambda c: c["customer_status"] == "inactive"
        )
        assert found(api, word, state="IL", limit=2) == expect(lambda c: c["state"].upper() == "IL")
        assert found(api, word, is_loyalty_member="y", state="oR") == expect(
            lambda c: c["is_loyalty_member"] == "y" and c["state"] == "OR"
        )
        assert found(api, word, min_lifetime_value="300", max_lifetime_value="500.00", limit=2) == expect(
            lambda c: 300 <= c["lifetime_value"] <= 500
        )
        assert found(api, word, created_after=made[5]["created_at"], limit=2) == ids(made[5:])
        assert found(api, word, created_before=made[2]["created_at"]) == ids(made[:2])
        assert found(api, word, email_address=made[3]["email_address"].upper()) == ids([made[3]])
        assert found(api, "Other", email_address=made[3]["email_address"]) == []
        assert found(api, word, sort="-lifetime_value", min_lifetime_value="200", limit=3) == ids(made[2:][::-1])
        assert found(api, word, sort="updated_at", customer_status="active", limit=1) == expect(
            lambda c: c["customer_status"] == "active"
        )


class TestSearchValidation:
    def test_search_with_nothing_to_search_for_is_400_naming_q(self, api: Api) -> None:
        # Given queries with no letter or digit left once folded, too long, or not one line
        for q in ("", " ", "     ", "x" * 101, "\u0301", "\u0301\u0308\u0327", " \u0301 ", "ab\x00", "a\nb", "a\tb"):
            # When searching for each
            # Then the answer is 400 naming q
            assert_error(api.get(listing(q=q)), 400, "validation_error", "q")

    def test_search_given_twice_is_400_naming_q(self, api: Api) -> None:
        assert_error(api.get("/customers?q=ada&q=grace"), 400, "validation_error", "q")

    def test_search_of_exactly_100_characters_is_answered(self, api: Api) -> None:
        # Given a customer with a 100-character last name
        name = "L" + "o" * 99
        target = create(api, last_name=name)
        deliver_changes()
        # When searching for the whole name
        response = api.get(listing(q=name.lower()))
        # Then it is found
        assert response.status_code == 200, response.body
        assert ids(body(response)["customers"]) == [target["customer_id"]]


class TestSearchByE164:
    """A phone number is found by its national digits and by its E.164 form, however it was written."""

    def test_search_finds_a_national_number_by_its_e164_form(self, api: Api) -> None:
        # Given a customer whose phone number was written in national form, and one with another number
        target = create(api, phone_number="555-123-4567")
        create(api, phone_number="556-123-4567")
        deliver_changes()
        # When searching by a prefix of the number in E.164 form, however formatted
        for q in ("+15551234567", "+1555123", "+1 (555) 123-4567", "+1 555"):
            # Then the customer is found
            assert found(api, q) == [target["customer_id"]], q

    def test_search_finds_an_international_number_by_its_national_digits(self, api: Api) -> None:
        # Given a customer whose phone number was written with its country code
        target = create(api, phone_number="+1 555 123 4567")
        create(api, phone_number="+1 556 123 4567")
        deliver_changes()
        # When searching by its national digits, or by its E.164 form
        for q in ("5551234567", "(555) 123", "555-123", "+15551234567", "+1 555 12"):
            # Then the customer is found
            assert found(api, q) == [target["customer_id"]], q
