"""The marshmallow schemas on their own: what a body or parameter may say, and what comes back.

Bodies reach the schemas already parsed with ``json.loads(parse_float=Decimal)``, so
JSON numbers with a fraction or exponent arrive as ``Decimal``; the tests use
``Decimal`` wherever a real request would.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.api.errors import shape_of
from chalicelib.api.parameters import parse_customer_id
from chalicelib.api.representation import dump_customer
from chalicelib.api.schemas import (
    CustomerSchema,
    load_customer_changes,
    load_list_query,
    load_new_customer,
)
from chalicelib.customers.errors import ValidationFailed
from chalicelib.customers.model import RESPONSE_FIELDS

VALID_CUSTOMER: dict[str, Any] = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email_address": "ada@example.com",
}
READ_ONLY = ("customer_id", "created_at", "updated_at", "version")
# Every field a client may send, as the schema itself declares them.
WRITABLE = tuple(name for name, field in CustomerSchema().fields.items() if not field.dump_only)
ALL_FIELDS = WRITABLE + READ_ONLY
LOADERS = pytest.mark.parametrize("load", [load_new_customer, load_customer_changes], ids=["create", "update"])
UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)


def new_customer(**changes: Any) -> dict[str, Any]:
    return {**VALID_CUSTOMER, **changes}


def rejected(load: Any, body: Any) -> dict[str, Any]:
    """Load ``body``, expect a ValidationFailed and return its details."""
    with pytest.raises(ValidationFailed) as caught:
        load(body)
    assert shape_of(caught.value).status == 400
    assert caught.value.details, "a rejection must say what is wrong"
    return caught.value.details


# --- Strategies ----------------------------------------------------------------------------

# Any text a JSON string can decode to, lone surrogates included ("\ud800" is valid JSON).
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.decimals(allow_nan=False, allow_infinity=False)
    | any_text
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(any_text, children, max_size=5),
    max_leaves=20,
)
# Valid values for each writable field, so that some generated bodies load.
VALID_VALUES: dict[str, list[Any]] = {
    "first_name": ["Ada", "  Zoë  "],
    "last_name": ["Lovelace", "O'Brien"],
    "date_of_birth": ["1990-05-17", "1900-01-01"],
    "address": ["12 St James's Square"],
    "city": ["London"],
    "state": ["CA"],
    "postal_code": ["SW1Y 4JH"],
    "phone_number": ["+1 (555) 010-2030", "555-0100 x12"],
    "email_address": ["ada@example.com", "Zoë@example.org"],
    "customer_acquisition_date": ["2024-01-01T10:00:00+02:00", "2024-01-01T10:00:00"],
    "preferred_communication_channels": [[], ["email", "text"]],
    "is_loyalty_member": ["y", "n"],
    "customer_status": ["active", "canceled"],
    "lifetime_value": [0, Decimal("19.99")],
}
assert set(VALID_VALUES) == set(WRITABLE)
# Small JSON values: a body has many keys, and big values only slow generation down.
small_json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(any_text, children, max_size=3),
    max_leaves=4,
)
field_keys = st.sampled_from(ALL_FIELDS) | any_text
valid_fields = st.fixed_dictionaries(
    {}, optional={name: st.sampled_from(values) for name, values in VALID_VALUES.items()}
)
# Valid fields with a little noise (any key, any value) on top.
noisy_bodies = st.builds(
    lambda valid, noise: {**valid, **noise}, valid_fields, st.dictionaries(field_keys, small_json_values, max_size=2)
)
customer_bodies = (
    st.dictionaries(field_keys, small_json_values, max_size=len(ALL_FIELDS) + 2)
    | noisy_bodies
    | noisy_bodies.map(lambda body: {**VALID_CUSTOMER, **body})
)
money = st.decimals(
    min_value=Decimal(0), max_value=Decimal("999999999999.99"), places=2, allow_nan=False, allow_infinity=False
)


def outcome(load: Any, body: Any) -> tuple[Any, ValidationFailed | None]:
    """``(result, None)`` or ``(None, error)``; any other exception propagates and fails the test."""
    try:
        return load(body), None
    except ValidationFailed as error:
        return None, error


def assert_loaded_or_rejected(load: Any, body: Any) -> None:
    result, error = outcome(load, body)
    if error is not None:
        assert shape_of(error).status == 400
        assert error.details
        if isinstance(body, dict):
            # Every key the client may not send (read-only or unknown) is named.
            assert {key for key in body if key not in WRITABLE} <= set(error.details)
        return
    assert isinstance(result, dict)
    assert set(result) <= set(WRITABLE)
    # Whatever loads can be dumped and rendered as JSON.
    json.dumps(dump_customer(result))


# --- 1. Property: any JSON loads or is rejected, never crashes ----------------------------


@PROPERTY_SETTINGS
@given(body=json_values)
def test_load_new_customer_any_json_returns_dict_or_validation_failed(body: Any) -> None:
    assert_loaded_or_rejected(load_new_customer, body)


@PROPERTY_SETTINGS
@given(body=json_values)
def test_load_customer_changes_any_json_returns_dict_or_validation_failed(body: Any) -> None:
    assert_loaded_or_rejected(load_customer_changes, body)


@PROPERTY_SETTINGS
@given(body=customer_bodies)
def test_load_new_customer_any_field_values_returns_dict_or_names_forbidden_keys(body: dict[str, Any]) -> None:
    assert_loaded_or_rejected(load_new_customer, body)


@PROPERTY_SETTINGS
@given(body=customer_bodies)
def test_load_customer_changes_any_field_values_returns_dict_or_names_forbidden_keys(body: dict[str, Any]) -> None:
    assert_loaded_or_rejected(load_customer_changes, body)


# --- 2. Property: lifetime_value round-trips exactly ----------------------------------------


@PROPERTY_SETTINGS
@given(value=money)
def test_lifetime_value_two_places_loads_as_same_decimal(value: Decimal) -> None:
    loaded = load_customer_changes({"lifetime_value": value})["lifetime_value"]
    assert loaded == value
    assert str(loaded) == str(value)


@PROPERTY_SETTINGS
@given(value=money)
def test_lifetime_value_dumps_to_json_number_with_same_value(value: Decimal) -> None:
    dumped = dump_customer({"lifetime_value": value})["lifetime_value"]
    assert isinstance(dumped, int | float)
    assert not isinstance(dumped, bool)
    text = json.dumps({"lifetime_value": dumped})
    assert json.loads(text, parse_float=Decimal)["lifetime_value"] == value


@pytest.mark.parametrize(
    ("value", "json_text"),
    [
        (Decimal("19.99"), "19.99"),
        (Decimal("0.10"), "0.1"),
        (Decimal("5.00"), "5"),
        (Decimal("0"), "0"),
        (Decimal("999999999999.99"), "999999999999.99"),
        (Decimal("123456789012.34"), "123456789012.34"),
    ],
)
def test_dump_customer_lifetime_value_renders_exact_digits(value: Decimal, json_text: str) -> None:
    assert json.dumps(dump_customer({"lifetime_value": value})["lifetime_value"]) == json_text


def test_lifetime_value_full_json_round_trip_keeps_cents() -> None:
    # Given a body as the API parses it
    body = json.loads('{"lifetime_value": 19.99}', parse_float=Decimal)
    # When it is loaded, then dumped and rendered
    text = json.dumps(dump_customer(load_customer_changes(body)))
    # Then the client sees exactly what it sent
    assert text == '{"lifetime_value": 19.99}'


# --- 3. Targeted rejections -----------------------------------------------------------------


@LOADERS
@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        "12.5",
        "0",
        -1,
        Decimal("-0.01"),
        Decimal("1.001"),
        Decimal("19.999"),
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        Decimal("-Infinity"),
        Decimal("1E+400"),
        Decimal("1000000000000.00"),
        [],
        {"amount": 1},
    ],
    ids=repr,
)
def test_lifetime_value_invalid_is_rejected(load: Any, value: Any) -> None:
    assert "lifetime_value" in rejected(load, new_customer(lifetime_value=value))


@LOADERS
@pytest.mark.parametrize("name", WRITABLE)
def test_null_for_any_field_is_rejected(load: Any, name: str) -> None:
    assert name in rejected(load, new_customer(**{name: None}))


@LOADERS
@pytest.mark.parametrize(
    "email",
    [
        "ada lovelace@example.com",
        " ada@example.com",
        "ada@example.com ",
        "ada\t@example.com",
        "ada\u00a0@example.com",  # no-break space
        "ada\u200b@example.com",  # zero-width space
        "\ufeffada@example.com",  # byte order mark
        "ada.example.com",
        "ada@",
        "@example.com",
        "",
        "a" * 250 + "@example.com",
    ],
    ids=repr,
)
def test_email_address_invalid_is_rejected(load: Any, email: str) -> None:
    assert "email_address" in rejected(load, new_customer(email_address=email))


def test_date_of_birth_in_the_future_is_rejected() -> None:
    # Two days after today in UTC is after today everywhere on Earth (at most UTC+14).
    future = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    assert "date_of_birth" in rejected(load_new_customer, new_customer(date_of_birth=future))


@LOADERS
@pytest.mark.parametrize(
    "value",
    [
        "2020-02-30",
        "2021-02-29",
        "2020-13-01",
        "20200101",
        "2020-1-1",
        "2020-01-01T00:00:00",
        "1899-12-31",
        "0001-01-01",
        "01/02/2020",
        "",
        "\uff12\uff10\uff12\uff10-01-01",  # full-width digits
        20200101,
        {"year": 2020},
    ],
    ids=repr,
)
def test_date_of_birth_invalid_is_rejected(load: Any, value: Any) -> None:
    assert "date_of_birth" in rejected(load, new_customer(date_of_birth=value))


@pytest.mark.parametrize("value", ["1900-01-01", "2000-02-29", "1990-05-17"])
def test_date_of_birth_real_past_date_is_accepted_unchanged(value: str) -> None:
    assert load_customer_changes({"date_of_birth": value}) == {"date_of_birth": value}


@LOADERS
@pytest.mark.parametrize(
    "value",
    [
        "2024-01-01",
        "garbage",
        "2024-01-01 10:00:00",
        "2024-01-01T25:00:00Z",
        "2024-02-30T10:00:00Z",
        "2024-01-01T10:00:00+99:00",
        "9999-12-31T23:59:59-01:00",  # no UTC equivalent
        "1704103200",
        1704103200,
        "\uff12\uff10\uff12\uff14-01-01T00:00:00Z",  # full-width digits
        "",
    ],
    ids=repr,
)
def test_customer_acquisition_date_invalid_is_rejected(load: Any, value: Any) -> None:
    assert "customer_acquisition_date" in rejected(load, new_customer(customer_acquisition_date=value))


@LOADERS
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("customer_status", "Active"),
        ("customer_status", "ACTIVE"),
        ("customer_status", "deleted"),
        ("customer_status", " active"),
        ("is_loyalty_member", "Y"),
        ("is_loyalty_member", "yes"),
        ("is_loyalty_member", True),
        ("preferred_communication_channels", ["email", "email"]),
        ("preferred_communication_channels", ["fax"]),
        ("preferred_communication_channels", ["Email"]),
        ("preferred_communication_channels", "email"),
        ("preferred_communication_channels", [None]),
    ],
    ids=repr,
)
def test_enum_and_channel_invalid_is_rejected(load: Any, name: str, value: Any) -> None:
    assert name in rejected(load, new_customer(**{name: value}))


@LOADERS
def test_unknown_field_is_rejected_by_name(load: Any) -> None:
    assert "nickname" in rejected(load, new_customer(nickname="Countess"))


@LOADERS
@pytest.mark.parametrize("name", READ_ONLY)
def test_read_only_field_is_rejected_by_name(load: Any, name: str) -> None:
    value = 1 if name == "version" else UUID
    details = rejected(load, new_customer(**{name: value}))
    assert name in details
    assert details[name] == ["Read-only field; the server sets it."]


def test_all_read_only_fields_are_named_at_once() -> None:
    body = new_customer(customer_id=UUID, created_at="x", updated_at="y", version=3, first_name=7)
    details = rejected(load_new_customer, body)
    assert set(READ_ONLY) | {"first_name"} <= set(details)


@LOADERS
@pytest.mark.parametrize(
    ("name", "limit"),
    [
        ("first_name", 100),
        ("last_name", 100),
        ("address", 200),
        ("city", 100),
        ("state", 100),
        ("postal_code", 20),
        ("phone_number", 32),
    ],
)
def test_string_over_max_length_is_rejected(load: Any, name: str, limit: int) -> None:
    # A possible phone number padded with inner spaces, so that only the length is wrong.
    value = "1" * limit if name != "phone_number" else "+1 555 123 4567".ljust(limit - 3) + "x89"
    longer = "1" * (limit + 1) if name != "phone_number" else "+1 555 123 4567".ljust(limit - 2) + "x89"
    assert name in rejected(load, new_customer(**{name: longer}))
    assert load(new_customer(**{name: value}))[name] == value


@LOADERS
@pytest.mark.parametrize("name", ["first_name", "last_name", "city"])
@pytest.mark.parametrize(
    "bad",
    ["\x00", "\x1b", "\x7f", "\n", "\u2028", "\u2029", chr(0xD800), chr(0xDFFF)],  # chr(): lone surrogates
    ids=repr,
)
def test_name_with_control_character_or_lone_surrogate_is_rejected(load: Any, name: str, bad: str) -> None:
    assert name in rejected(load, new_customer(**{name: f"Ada{bad}Lovelace"}))


@LOADERS
@pytest.mark.parametrize("name", ["first_name", "last_name", "address", "email_address", "phone_number"])
@pytest.mark.parametrize("value", [{"text": "Ada"}, ["Ada"], 42, Decimal("4.2"), True], ids=repr)
def test_non_string_where_string_belongs_is_rejected(load: Any, name: str, value: Any) -> None:
    assert name in rejected(load, new_customer(**{name: value}))


@LOADERS
@pytest.mark.parametrize("name", ["first_name", "last_name"])
@pytest.mark.parametrize("value", ["", "   ", "\t"], ids=repr)
def test_blank_name_is_rejected(load: Any, name: str, value: str) -> None:
    assert name in rejected(load, new_customer(**{name: value}))


@pytest.mark.parametrize("name", ["first_name", "last_name", "email_address"])
def test_load_new_customer_missing_required_field_is_rejected(name: str) -> None:
    body = {k: v for k, v in VALID_CUSTOMER.items() if k != name}
    assert name in rejected(load_new_customer, body)


def test_load_customer_changes_empty_body_is_rejected() -> None:
    assert rejected(load_customer_changes, {}) == {"_schema": ["Name at least one field to change."]}


@LOADERS
@pytest.mark.parametrize("body", [None, [], [VALID_CUSTOMER], "customer", 1, Decimal("1.5"), True], ids=repr)
def test_body_not_an_object_is_rejected(load: Any, body: Any) -> None:
    assert "_schema" in rejected(load, body)


@LOADERS
@pytest.mark.parametrize("phone", ["letters", "++1", "", "-555"], ids=repr)
def test_phone_number_not_starting_like_a_number_is_rejected(load: Any, phone: str) -> None:
    assert "phone_number" in rejected(load, new_customer(phone_number=phone))


@pytest.mark.parametrize("phone", ["5 hello", "1-800-FLOWERS", "555 <script>"], ids=repr)
def test_phone_number_with_trailing_text_is_rejected(phone: str) -> None:
    assert "phone_number" in rejected(load_customer_changes, {"phone_number": phone})


@pytest.mark.parametrize("json_number", ["0e1000000", "0e-1000", "1.0000000000000000000000000000000000000000"])
def test_lifetime_value_accepted_is_storable_in_dynamodb(json_number: str) -> None:
    # Given a JSON number the schema accepts (its value has at most 2 decimal places)
    body = json.loads(f'{{"lifetime_value": {json_number}}}', parse_float=Decimal)
    loaded = load_customer_changes(body)["lifetime_value"]
    # Then what is stored is exactly what the repository can serialise for DynamoDB
    TypeSerializer().serialize(loaded)


# --- 4. Accepted and normalised -------------------------------------------------------------


def test_load_new_customer_minimal_body_gets_defaults() -> None:
    assert load_new_customer(VALID_CUSTOMER) == {
        **VALID_CUSTOMER,
        "customer_status": "active",
        "is_loyalty_member": "n",
        "preferred_communication_channels": [],
        "lifetime_value": Decimal(0),
    }


def test_load_new_customer_full_body_is_accepted() -> None:
    body = {
        **VALID_CUSTOMER,
        "date_of_birth": "1915-12-10",
        "address": "12 St James's Square",
        "city": "London",
        "state": "Greater London",
        "postal_code": "SW1Y 4JH",
        "phone_number": "+44 (20) 7946.0958 ext. 12",
        "customer_acquisition_date": "2024-05-01T12:30:00Z",
        "preferred_communication_channels": ["email", "phone"],
        "is_loyalty_member": "y",
        "customer_status": "canceled",
        "lifetime_value": Decimal("1234.50"),
    }
    # Everything as sent, but the timestamp in the one stored form
    assert load_new_customer(body) == {**body, "customer_acquisition_date": "2024-05-01T12:30:00.000000Z"}


@LOADERS
@pytest.mark.parametrize("name", ["first_name", "last_name", "address", "city", "state", "postal_code"])
def test_strings_are_stripped_of_surrounding_whitespace(load: Any, name: str) -> None:
    assert load(new_customer(**{name: "   Ada Byron  "}))[name] == "Ada Byron"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2024-01-01T10:00:00", "2024-01-01T10:00:00.000000Z"),  # naive: read as UTC
        ("2024-01-01T10:00", "2024-01-01T10:00:00.000000Z"),
        ("2024-01-01T10:00:00Z", "2024-01-01T10:00:00.000000Z"),
        ("2024-01-01t10:00:00z", "2024-01-01T10:00:00.000000Z"),
        ("2024-01-01T10:00:00+00:00", "2024-01-01T10:00:00.000000Z"),
        ("2024-01-01T10:00:00+02:00", "2024-01-01T08:00:00.000000Z"),
        ("2024-01-01T01:00:00+02:00", "2023-12-31T23:00:00.000000Z"),
        ("2024-01-01T22:30:00-05:30", "2024-01-02T04:00:00.000000Z"),
        ("2024-01-01T10:00:00.5Z", "2024-01-01T10:00:00.500000Z"),
        ("2024-01-01T10:00:00.000000Z", "2024-01-01T10:00:00.000000Z"),
        ("1900-01-01T00:00:00Z", "1900-01-01T00:00:00.000000Z"),  # the earliest
    ],
)
def test_customer_acquisition_date_is_normalised_to_utc_with_z(sent: str, stored: str) -> None:
    assert load_customer_changes({"customer_acquisition_date": sent}) == {"customer_acquisition_date": stored}


@PROPERTY_SETTINGS
@given(
    # Not before 1900 nor in the future, whatever the offset it is written with.
    moment=st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime.now() - timedelta(days=1)),
    offset_minutes=st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
)
def test_customer_acquisition_date_any_offset_is_same_instant_in_utc(moment: datetime, offset_minutes: int) -> None:
    # Given an instant written with an arbitrary UTC offset
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    # When it is loaded
    stored = load_customer_changes({"customer_acquisition_date": aware.isoformat()})["customer_acquisition_date"]
    # Then it is the same instant, in the one UTC format, and loading it again changes nothing
    assert ISO_UTC.fullmatch(stored)
    assert datetime.fromisoformat(stored) == aware
    assert load_customer_changes({"customer_acquisition_date": stored}) == {"customer_acquisition_date": stored}


@LOADERS
@pytest.mark.parametrize(
    "sent", ["0001-01-01T00:00:00Z", "0999-12-31T23:59:59Z", "1899-12-31T23:59:59.999999Z", "1900-01-01T00:30:00+01:00"]
)
def test_customer_acquisition_date_before_1900_is_rejected(load: Any, sent: str) -> None:
    details = rejected(load, new_customer(customer_acquisition_date=sent))
    assert details["customer_acquisition_date"] == ["Must not be before 1900-01-01T00:00:00.000000Z."]


@LOADERS
def test_customer_acquisition_date_in_the_future_is_rejected_beyond_a_minute_of_skew(load: Any) -> None:
    now = datetime.now(UTC)
    soon, later = (now + timedelta(seconds=30)).isoformat(), (now + timedelta(seconds=90)).isoformat()
    assert "customer_acquisition_date" in load(new_customer(customer_acquisition_date=soon))
    assert rejected(load, new_customer(customer_acquisition_date=later)) == {
        "customer_acquisition_date": ["Must not be in the future."]
    }


def test_load_customer_changes_returns_only_given_fields() -> None:
    changes = {"lifetime_value": Decimal("2000.00"), "customer_status": "active"}
    assert load_customer_changes(changes) == changes


def test_load_customer_changes_adds_no_defaults() -> None:
    assert load_customer_changes({"city": "Paris"}) == {"city": "Paris"}


@pytest.mark.parametrize(
    "value", [0, 10, Decimal("0.5"), Decimal("19.99"), Decimal("1E+2"), Decimal("999999999999.99")]
)
def test_lifetime_value_valid_is_accepted(value: Any) -> None:
    assert load_customer_changes({"lifetime_value": value})["lifetime_value"] == value


def test_dump_customer_returns_server_fields_and_timestamps_unchanged() -> None:
    customer = {
        **VALID_CUSTOMER,
        "customer_id": UUID,
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-02T00:00:00Z",
        "version": Decimal(3),
        "lifetime_value": Decimal("19.99"),
        "preferred_communication_channels": ["text"],
    }
    dumped = dump_customer(customer)
    assert dumped["customer_id"] == UUID
    assert dumped["created_at"] == "2024-01-01T00:00:00Z"
    assert dumped["version"] == 3
    assert isinstance(dumped["version"], int)
    assert dumped["lifetime_value"] == 19.99
    assert json.loads(json.dumps(dumped))["preferred_communication_channels"] == ["text"]


def test_response_keys_are_the_schemas_fields_in_its_order() -> None:
    assert tuple(CustomerSchema().fields) == RESPONSE_FIELDS


@PROPERTY_SETTINGS
@given(
    valid_fields,
    money,
    st.integers(min_value=1, max_value=10**12),
    st.fixed_dictionaries({}, optional={"phone_number_e164": st.none() | st.just("+15550102030")}),
)
def test_dump_customer_is_what_the_schema_dumps(
    fields: dict[str, Any], amount: Decimal, version: int, derived: dict[str, Any]
) -> None:
    # Given any stored customer (loaded fields plus what the server owns and derives)
    stored = {
        **load_new_customer({**VALID_CUSTOMER, **fields}),
        **derived,
        "lifetime_value": amount,
        "customer_id": UUID,
        "created_at": "2024-01-01T00:00:00.000001Z",
        "updated_at": "2024-01-02T00:00:00Z",
        "version": Decimal(version),  # numbers come back from DynamoDB as Decimal
    }
    # Then the lean dump answers exactly what marshmallow's would, keys in the same order
    expected = CustomerSchema().dump(stored)
    assert dump_customer(stored) == expected
    assert list(dump_customer(stored)) == list(expected)


# --- 5. load_list_query ---------------------------------------------------------------------


@pytest.mark.parametrize("limit", ["1", "2", "25", "99", "100"])
def test_load_list_query_limit_in_range_is_accepted(limit: str) -> None:
    assert load_list_query({"limit": [limit]}) == {"limit": int(limit)}


def test_load_list_query_no_parameters_is_empty() -> None:
    assert load_list_query({}) == {}


def test_load_list_query_next_token_is_passed_through() -> None:
    assert load_list_query({"next_token": ["abc"], "limit": ["5"]}) == {"next_token": "abc", "limit": 5}


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", "", "1e2", "true", "1000000000000000000000"])
def test_load_list_query_limit_invalid_is_rejected(limit: str) -> None:
    assert "limit" in rejected(load_list_query, {"limit": [limit]})


@pytest.mark.parametrize("name", ["limit", "next_token"])
def test_load_list_query_parameter_given_twice_is_rejected(name: str) -> None:
    assert name in rejected(load_list_query, {name: ["5", "5"]})


def test_load_list_query_parameter_given_without_value_list_is_rejected() -> None:
    assert "limit" in rejected(load_list_query, {"limit": []})


def test_load_list_query_next_token_empty_or_too_long_is_rejected() -> None:
    assert "next_token" in rejected(load_list_query, {"next_token": [""]})
    assert "next_token" in rejected(load_list_query, {"next_token": ["a" * 2049]})


def test_load_list_query_unknown_parameter_is_rejected_by_name() -> None:
    details = rejected(load_list_query, {"limit": ["5"], "page": ["2"]})
    assert set(details) == {"page"}


def test_load_list_query_reports_all_problems_at_once() -> None:
    details = rejected(load_list_query, {"limit": ["0"], "next_token": ["a", "b"], "sort": ["x"]})
    assert {"limit", "next_token", "sort"} <= set(details)


@pytest.mark.parametrize("limit", ["1_0", " 5 ", "+5", "\u0663"], ids=repr)
def test_load_list_query_limit_not_plain_ascii_digits_is_rejected(limit: str) -> None:
    assert "limit" in rejected(load_list_query, {"limit": [limit]})


@settings(max_examples=100, deadline=None)
@given(params=st.dictionaries(any_text, st.lists(any_text, max_size=3), max_size=4))
def test_load_list_query_any_parameters_returns_dict_or_validation_failed(params: dict[str, list[str]]) -> None:
    result, error = outcome(load_list_query, params)
    if error is not None:
        assert error.details
        return
    assert set(result) <= {"limit", "next_token"}


# --- 6. parse_customer_id -------------------------------------------------------------------


def test_parse_customer_id_lower_case_uuid_is_returned_unchanged() -> None:
    assert parse_customer_id(UUID) == UUID


def test_parse_customer_id_upper_case_uuid_is_lower_cased() -> None:
    assert parse_customer_id(UUID.upper()) == UUID


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "",
        "{" + UUID + "}",
        UUID.replace("-", ""),
        "urn:uuid:" + UUID,
        UUID + "\n",
        " " + UUID,
        UUID[:-1] + "g",
        "../../etc",
        "../../etc/passwd",
        "a" * 1000,
        UUID[:-1] + "\u0663",  # Arabic-Indic digit three
        UUID[:-1] + "\uff13",  # full-width digit three
    ],
    ids=lambda raw: repr(raw)[:40],
)
def test_parse_customer_id_not_a_uuid_is_rejected(raw: str) -> None:
    assert rejected(parse_customer_id, raw) == {"customer_id": ["Not a valid UUID."]}


@PROPERTY_SETTINGS
@given(value=st.uuids())
def test_parse_customer_id_any_uuid_is_accepted_in_canonical_form(value: Any) -> None:
    assert parse_customer_id(str(value).upper()) == str(value)
