"""The canonical forms on their own: examples, and properties over any text.

``chalicelib.customers.canonical`` is the one place the email and phone rules live;
these tests hold what its callers rely on: ``check_*`` only ever raises ValueError,
the ``*_key``/``phone_*`` functions never raise, and a key is a fixed point.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chalicelib.customers.canonical import (
    PHONE_REGIONS,
    check_email,
    check_phone,
    email_key,
    phone_e164,
    phone_national_digits,
)
from chalicelib.customers.model import format_utc

PROPERTY_SETTINGS = settings(max_examples=500, deadline=None)

# Any text, lone surrogates and every category included.
any_text = st.text(st.characters(exclude_categories=()), max_size=80)
# Text shaped like an address, so that many examples get past the syntax check.
address_characters = st.characters(categories=("Ll", "Lu", "Lo", "Lm", "Lt", "Mn", "Nd"), include_characters=".-_+'")
local_parts = st.text(address_characters, min_size=1, max_size=70)
labels = st.text(
    st.characters(categories=("Ll", "Lu", "Lo", "Mn", "Nd"), include_characters="-"), min_size=1, max_size=20
)
domains = st.builds(lambda parts, tld: ".".join([*parts, tld]), st.lists(labels, min_size=1, max_size=3), labels)
addresses = st.builds(lambda local, domain: f"{local}@{domain}", local_parts, domains) | any_text
# Text shaped like a phone number: digits and what people type around them.
phone_pieces = st.sampled_from([*string.digits, " ", "(", ")", "-", ".", "/", "+", " x", " ext. "])
phone_texts = st.lists(phone_pieces, max_size=20).map("".join)
phone_shaped = st.from_regex(
    r"(\+[0-9]{1,3} )?\(?[0-9]{2,4}\)?[ .-]?[0-9]{3,4}[ .-]?[0-9]{2,4}( x[0-9]{1,4})?", fullmatch=True
)
phones = phone_shaped | phone_texts | any_text
regions = st.sampled_from(["US", "GB", "DE", "IN", "FR"])


def accepted(check: Callable[..., None], *args: str) -> bool:
    """True if the check passes, False if it raises ValueError (with a message); anything else fails the test."""
    message = None
    try:
        check(*args)
    except ValueError as error:
        message = str(error)
    assert message != "", "a refusal must say why"
    return message is None


# --- email: examples --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "ann@localhost",  # a domain needs a dot
        "ann@example",
        "ann@[127.0.0.1]",  # no literal address
        "ann@[IPv6:::1]",
        "\uff49\uff44\uff4e@example.com",  # full-width letters: a compatibility form
        "\u212aate@example.com",  # KELVIN SIGN, which NFC itself turns into K
        "ann@\uff45xample.com",  # full-width in the domain
        "a" * 65 + "@example.com",  # the local part is at most 64 characters
        "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".com",  # 259 in all
        "ann@example.invalid",  # special-use names
        "ann@example.test",
        '"ann"@example.com',  # no quoted local part
        "Ann <ann@example.com>",  # no display name
        "ann@@example.com",
        "x\ud800@example.com",
    ],
    ids=ascii,
)
def test_check_email_refuses(address: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        check_email(address)


def test_check_email_says_to_type_the_plain_character() -> None:
    with pytest.raises(ValueError, match=r"KELVIN SIGN.*type the plain character"):
        check_email("\u212aate@example.com")


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("Ann@Example.COM", "ann@example.com"),
        ("idn@münchen.de", "idn@xn--mnchen-3ya.de"),
        ("idn@xn--mnchen-3ya.de", "idn@xn--mnchen-3ya.de"),
        ("IDN@MÜNCHEN.DE", "idn@xn--mnchen-3ya.de"),
        ("idn@mu\u0308nchen.de", "idn@xn--mnchen-3ya.de"),  # decomposed ü
        ("M\u00fcller@example.com", "m\u00fcller@example.com"),
        ("Mu\u0308ller@example.com", "m\u00fcller@example.com"),
        ("STRASSE@example.com", "strasse@example.com"),
        ("Straße@example.com", "strasse@example.com"),  # case-folded, not only lower-cased
        ("a" * 64 + "@example.com", "a" * 64 + "@example.com"),
    ],
    ids=ascii,
)
def test_email_key_of_an_accepted_address(address: str, key: str) -> None:
    check_email(address)
    assert email_key(address) == key


@pytest.mark.parametrize(
    ("stored", "key"),
    [
        ("A" * 65 + "@Example.com", "a" * 65 + "@example.com"),
        ("Ann@localhost", "ann@localhost"),
        ("ann@EXAMPLE", "ann@example"),
        ("no at sign", "no at sign"),
    ],
)
def test_email_key_of_a_legacy_value_is_its_case_folded_nfc_form(stored: str, key: str) -> None:
    assert email_key(stored) == key


# --- email: properties ------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(address=addresses)
@example("a" * 64 + "@example.com")
@example("\u03b1\u0345@example.com")  # GREEK YPOGEGRAMMENI case-folds to iota
@example("\u0130@example.com")  # İ case-folds to i + COMBINING DOT ABOVE
@example("ß" * 40 + "@example.com")  # case-folding makes the local part longer than 64
def test_an_accepted_address_has_a_stable_canonical_key(address: str) -> None:
    key = email_key(address)  # total, whatever the text
    if not accepted(check_email, address):
        return
    assert email_key(key) == key
    local, _, domain = key.rpartition("@")
    assert unicodedata.is_normalized("NFC", key)
    assert domain == domain.lower()
    assert domain.isascii()
    assert local == unicodedata.normalize("NFC", local.casefold())
    # Another spelling of the same mailbox has the same key.
    assert email_key(unicodedata.normalize("NFD", address)) == key
    if address.isascii():
        assert email_key(address.upper()) == key


@PROPERTY_SETTINGS
@given(address=any_text)
def test_email_key_never_raises_and_check_email_raises_only_value_error(address: str) -> None:
    email_key(address)
    accepted(check_email, address)


# --- phone: examples --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "e164"),
    [
        ("(555) 123-4567", "+15551234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("555.123.4567", "+15551234567"),
        ("555-123-4567 x89", "+15551234567"),  # the extension is not part of E.164
        ("555-123-4567 ext. 89", "+15551234567"),
        ("+1 (555) 010-2030", "+15550102030"),
        ("555-0123", None),  # no area code: possible locally, no E.164 form
    ],
)
def test_check_phone_accepts_what_people_type(phone: str, e164: str | None) -> None:
    check_phone(phone, "US")
    assert phone_e164(phone, "US") == e164


@pytest.mark.parametrize(
    ("phone", "reason"),
    [
        ("1", "Not a valid phone number"),
        ("555", "Too few digits"),
        ("call me", "Not a valid phone number"),
        ("call me 555-123-4567", "Not a valid phone number"),  # phonenumbers alone would find a number in it
        ("1-800-FLOWERS", "Not a valid phone number"),
        ("++1 555 123 4567", "Not a valid phone number"),
        ("1" * 30, "Too many digits"),
        ("+999 123 4567", "country calling code"),
        ("555-123-4567 x", "Not a valid phone number"),
        ("+31 0000100", "Not a possible phone number"),  # its E.164 form would read back as another number
        ("+31 000000", "Not a valid phone number"),  # only zeros
    ],
)
def test_check_phone_refuses_what_cannot_be_a_phone_number(phone: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_phone(phone, "US")


def test_the_region_reads_national_numbers() -> None:
    assert phone_e164("020 7946 0958", "GB") == "+442079460958"
    assert phone_e164("020 7946 0958", "US") is None
    assert phone_e164("+1 555 123 4567", "GB") == "+15551234567"  # an international number ignores it


@pytest.mark.parametrize(
    ("phone", "digits"),
    [
        ("+1 (555) 123-4567", "5551234567"),
        ("555.123.4567", "5551234567"),
        ("555-0123", "5550123"),
        ("+44 20 7946 0958", "2079460958"),
        ("call 555", "555"),  # not a phone number: the digits of the text
        ("", ""),
    ],
)
def test_phone_national_digits(phone: str, digits: str) -> None:
    assert phone_national_digits(phone, "US") == digits


def test_phone_regions_are_the_ones_phonenumbers_knows() -> None:
    assert phonenumbers.SUPPORTED_REGIONS == PHONE_REGIONS


# --- phone: properties ------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(phone=phones, region=regions)
def test_an_accepted_phone_has_an_e164_form_that_reparses_to_itself(phone: str, region: str) -> None:
    e164 = phone_e164(phone, region)  # total, whatever the text
    digits = phone_national_digits(phone, region)
    assert digits.isdigit() or digits == ""
    if not accepted(check_phone, phone, region):
        assert e164 is None
        return
    if e164 is not None:
        assert e164.startswith("+")
        assert e164[1:].isdigit()
        check_phone(e164, region)
        assert phone_e164(e164, region) == e164
        assert e164.endswith(phone_national_digits(phone, region))


@PROPERTY_SETTINGS
@given(phone=any_text, region=st.sampled_from(sorted(PHONE_REGIONS)) | st.text(max_size=3))
def test_phone_functions_never_raise_but_value_error(phone: str, region: str) -> None:
    phone_e164(phone, region)
    phone_national_digits(phone, region)
    accepted(check_phone, phone, region)


# --- timestamps -------------------------------------------------------------------------------

moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC))


@PROPERTY_SETTINGS
@given(first=moments, second=moments)
def test_format_utc_is_fixed_width_and_sorts_in_time_order(first: datetime, second: datetime) -> None:
    a, b = format_utc(first), format_utc(second)
    assert len(a) == len(b) == len("2024-05-01T12:30:00.000000Z")
    assert (a < b) == (first < second)
    assert (a == b) == (first == second)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2024, 5, 1, 12, 30, tzinfo=UTC), "2024-05-01T12:30:00.000000Z"),
        (datetime(2024, 5, 1, 12, 30, 0, 123000, tzinfo=UTC), "2024-05-01T12:30:00.123000Z"),
        (datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC), "0999-12-31T23:59:59.000000Z"),
        (datetime(2024, 5, 1, 16, 30, tzinfo=timezone(timedelta(hours=2))), "2024-05-01T14:30:00.000000Z"),
    ],
)
def test_format_utc_examples(moment: datetime, text: str) -> None:
    assert format_utc(moment) == text
