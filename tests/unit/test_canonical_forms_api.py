"""One canonical form for emails, phones and timestamps, through the HTTP interface (moto).

The address and the number are kept as the customer typed them; uniqueness and the
email filter compare canonical keys; phone_number_e164 is derived on every write;
timestamps are always written with six fractional digits.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.config import get_settings
from chalicelib.customers.model import email_key, format_utc
from tests.support import Api, assert_error, body, create, new_customer
from tests.support.store import assert_no_half_written_state, scan

FIXED_WIDTH = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


def refused(api: Api, field: str, **fields: Any) -> dict[str, Any]:
    """POST a customer with ``fields`` and expect a 400 naming ``field``; nothing is stored."""
    error = assert_error(api.post("/customers", new_customer(**fields)), 400, "validation_error", field)
    assert body(api.get("/customers"))["customers"] == []
    return error


class TestCanonicalEmails:
    """Uniqueness, the filter and the 409 compare one canonical key; the address is kept as typed."""

    @pytest.mark.parametrize(
        "address",
        [
            "ann@localhost",
            "ann@[127.0.0.1]",
            "ann@example",
            "\uff49\uff44\uff4e@example.com",  # full-width idn
            "\u212aate@example.com",  # KELVIN SIGN K
            "a" * 65 + "@example.com",
        ],
        ids=ascii,
    )
    def test_create_with_an_address_the_rules_refuse_is_400_naming_email_address(self, api: Api, address: str) -> None:
        refused(api, "email_address", email_address=address)

    def test_a_compatibility_character_is_refused_with_a_message_to_type_the_plain_one(self, api: Api) -> None:
        create(api, email_address="Kate@example.com")

        error = assert_error(
            api.post("/customers", new_customer(email_address="\u212aate@example.com")),
            400,
            "validation_error",
            "email_address",
        )

        assert "type the plain character" in error["details"]["email_address"][0]

    @pytest.mark.parametrize("address", ["a" * 64 + "@example.com", "idn@münchen.de", "O'Brien+tag@sub.example.co.uk"])
    def test_create_keeps_the_address_as_typed(self, api: Api, address: str) -> None:
        created = create(api, email_address=address)

        assert created["email_address"] == address
        assert body(api.get(f"/customers/{created['customer_id']}"))["email_address"] == address

    @pytest.mark.parametrize(
        ("first", "second"),
        [
            ("idn@münchen.de", "idn@xn--mnchen-3ya.de"),  # Unicode and IDNA spellings of one domain
            ("idn@xn--mnchen-3ya.de", "IDN@MÜNCHEN.DE"),
            ("M\u00fcller@example.com", "Mu\u0308ller@example.com"),  # composed and decomposed ü
            ("Straße@example.com", "STRASSE@example.com"),  # case-folded
        ],
        ids=ascii,
    )
    def test_two_spellings_of_one_mailbox_are_409_naming_the_holder(self, api: Api, first: str, second: str) -> None:
        holder = create(api, email_address=first)

        error = assert_error(
            api.post("/customers", new_customer(email_address=second)), 409, "email_in_use", "email_address"
        )

        assert error["details"]["customer_id"] == holder["customer_id"]
        assert error["details"]["email_address"] == ["Already used by another customer."]
        assert [c["customer_id"] for c in body(api.get("/customers"))["customers"]] == [holder["customer_id"]]

    def test_a_retried_create_finds_its_own_record_through_the_409(self, api: Api) -> None:
        # Given a create without Idempotency-Key that was stored although its answer was lost
        fields = new_customer(email_address="grace@example.com")
        stored = body(api.post("/customers", fields))
        # When the client retries it
        retry = assert_error(api.post("/customers", fields), 409, "email_in_use")
        # Then the 409 says which customer holds the address: its own
        found = api.get(f"/customers/{retry['details']['customer_id']}")
        assert body(found) == stored

    def test_an_email_change_to_a_taken_address_is_409_naming_the_holder(self, api: Api) -> None:
        holder = create(api, email_address="idn@münchen.de")
        other = create(api)

        response = api.put(f"/customers/{other['customer_id']}", {"email_address": "IDN@xn--mnchen-3ya.de"})

        error = assert_error(response, 409, "email_in_use", "email_address")
        assert error["details"]["customer_id"] == holder["customer_id"]

    def test_a_restore_to_a_taken_address_is_409_naming_the_holder(self, api: Api) -> None:
        deleted = create(api, email_address="ann@example.com")
        assert api.delete(f"/customers/{deleted['customer_id']}").status_code == 204
        holder = create(api, email_address="ANN@EXAMPLE.COM")

        error = assert_error(api.post(f"/customers/{deleted['customer_id']}/restore"), 409, "email_in_use")

        assert error["details"]["customer_id"] == holder["customer_id"]

    def test_the_email_filter_finds_any_spelling_of_the_address(self, api: Api) -> None:
        customer = create(api, email_address="idn@xn--mnchen-3ya.de")
        create(api, email_address="other@example.com")

        for spelling in ("IDN@MÜNCHEN.DE", "idn@mu\u0308nchen.de", "idn@xn--mnchen-3ya.de"):
            response = api.get(f"/customers?email_address={quote(spelling)}")
            assert response.status_code == 200, response.body
            assert body(response)["customers"] == [customer], ascii(spelling)

    def test_the_claim_and_index_hold_the_canonical_key(self, api: Api) -> None:
        customer = create(api, email_address="IDN@MÜNCHEN.DE")

        claims = scan(get_settings().emails_table)

        assert [(c["email_key"], c["customer_id"]) for c in claims] == [
            ("idn@xn--mnchen-3ya.de", customer["customer_id"])
        ]
        assert email_key(customer["email_address"]) == "idn@xn--mnchen-3ya.de"
        assert_no_half_written_state()


class TestPhoneNumbers:
    """Possible numbers as people type them, and phone_number_e164 derived on every write."""

    @pytest.mark.parametrize(
        ("phone", "e164"),
        [
            ("(555) 123-4567", "+15551234567"),
            ("+44 20 7946 0958", "+442079460958"),
            ("555.123.4567", "+15551234567"),
            ("555-0123", None),  # the seed's form: no area code, no E.164 form
            ("555-123-4567 x89", "+15551234567"),
        ],
    )
    def test_create_accepts_the_phone_formats_people_type(self, api: Api, phone: str, e164: str | None) -> None:
        created = create(api, phone_number=phone)

        assert created["phone_number"] == phone
        assert created["phone_number_e164"] == e164
        assert list(created).index("phone_number_e164") == list(created).index("phone_number") + 1
        assert body(api.get(f"/customers/{created['customer_id']}")) == created

    @pytest.mark.parametrize("phone", ["1", "555", "call me", "call me 555-123-4567", "1-800-FLOWERS"])
    def test_create_with_what_cannot_be_a_phone_number_is_400_naming_phone_number(self, api: Api, phone: str) -> None:
        refused(api, "phone_number", phone_number=phone)

    def test_a_customer_without_a_phone_has_no_e164_field(self, api: Api) -> None:
        assert "phone_number_e164" not in create(api)

    def test_an_update_of_the_phone_recomputes_its_e164_form(self, api: Api) -> None:
        customer = create(api, phone_number="555-123-4567")
        path = f"/customers/{customer['customer_id']}"

        moved = body(api.put(path, {"phone_number": "+44 20 7946 0958"}))
        kept = body(api.put(path, {"city": "London"}))
        local = body(api.put(path, {"phone_number": "555-0123"}))

        assert (moved["phone_number_e164"], kept["phone_number_e164"], local["phone_number_e164"]) == (
            "+442079460958",
            "+442079460958",
            None,
        )
        assert body(api.get(path))["phone_number_e164"] is None

    @pytest.mark.parametrize("method", ["POST", "PUT"])
    def test_a_client_cannot_send_phone_number_e164(self, api: Api, method: str) -> None:
        customer = create(api)
        path = "/customers" if method == "POST" else f"/customers/{customer['customer_id']}"
        sent = new_customer(phone_number="555-123-4567", phone_number_e164="+15550000000")

        error = assert_error(api.request(method, path, sent), 400, "validation_error", "phone_number_e164")

        assert error["details"]["phone_number_e164"] == ["Read-only field; the server sets it."]

    def test_erasure_removes_the_e164_form_with_the_phone(self, api: Api) -> None:
        customer = create(api, phone_number="(555) 123-4567")

        assert api.post(f"/customers/{customer['customer_id']}/erasure").status_code == 200

        (item,) = scan(get_settings().customers_table)
        assert "phone_number" not in item
        assert "phone_number_e164" not in item


class TestAcquisitionDate:
    """Not in the future (a minute of clock skew allowed) and not before 1900."""

    @pytest.mark.parametrize(
        "when",
        ["in five minutes", "2999-01-01T00:00:00Z", "1899-12-31T23:59:59Z", "0001-01-01T00:00:00Z"],
    )
    def test_an_acquisition_date_in_the_future_or_before_1900_is_400_naming_it(self, api: Api, when: str) -> None:
        # "in five minutes" is worked out when the test runs, not when the suite is collected
        if when == "in five minutes":
            when = format_utc(datetime.now(UTC) + timedelta(minutes=5))
        refused(api, "customer_acquisition_date", customer_acquisition_date=when)

    def test_an_acquisition_date_within_the_clock_skew_is_accepted(self, api: Api) -> None:
        soon = datetime.now(UTC) + timedelta(seconds=30)

        created = create(api, customer_acquisition_date=soon.isoformat())

        assert created["customer_acquisition_date"] == format_utc(soon)

    def test_an_update_to_a_future_acquisition_date_is_400(self, api: Api) -> None:
        customer = create(api)
        response = api.put(
            f"/customers/{customer['customer_id']}", {"customer_acquisition_date": "2999-01-01T00:00:00Z"}
        )
        assert_error(response, 400, "validation_error", "customer_acquisition_date")


class TestTimestamps:
    """Always six fractional digits, so that string order is time order."""

    def test_every_timestamp_is_written_with_six_fractional_digits(self, api: Api) -> None:
        given = create(api, customer_acquisition_date="2024-05-01T12:30:00Z")
        defaulted = create(api)
        updated = body(api.put(f"/customers/{given['customer_id']}", {"city": "Paris"}))

        assert given["customer_acquisition_date"] == "2024-05-01T12:30:00.000000Z"
        for customer in (given, defaulted, updated):
            for name in ("created_at", "updated_at", "customer_acquisition_date"):
                assert len(customer[name]) == 27, (name, customer[name])
                assert FIXED_WIDTH.fullmatch(customer[name]), (name, customer[name])
        assert defaulted["customer_acquisition_date"] == defaulted["created_at"]
