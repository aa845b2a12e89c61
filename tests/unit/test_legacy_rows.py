"""Customers stored under older rules still read, list, export and write, as the OpenAPI document says.

The rules for what a request may store tightened (a 64-character local part, possible
phone numbers, acquisition dates not in the future); rows stored before must still be
served, and every answer must match the published response schema. The schema is read
strictly here: its ``email`` format, if it had one, would be judged by the current
rules, so publishing ``format: email`` (or the old phone ``pattern``) fails this test.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from jsonschema import FormatChecker  # type: ignore[import-untyped]
from openapi_schema_validator import OAS30ReadValidator

from chalicelib import wiring
from chalicelib.config import get_settings
from chalicelib.customers.canonical import check_email
from chalicelib.customers.model import Customer, email_key
from chalicelib.storage.items import customer_item
from tests.support import Api, body, create
from tests.support.store import scan

LEGACY_ADDRESS = "A" * 65 + "@Example.com"  # the old rules took a 65-character local part


def _email_by_the_current_rules(value: object) -> bool:
    if isinstance(value, str):
        check_email(value)  # raises ValueError: the format checker reports it
    return True


def strict_format_checker() -> FormatChecker:
    checker = FormatChecker()
    checker.checks("email", raises=ValueError)(_email_by_the_current_rules)
    return checker


def assert_matches(document: dict[str, Any], schema_name: str, instance: Any) -> None:
    """``instance`` is valid against ``#/components/schemas/<schema_name>`` of the served document."""
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    OAS30ReadValidator(schema, format_checker=strict_format_checker()).validate(instance)


@pytest.fixture
def document(api: Api) -> dict[str, Any]:
    result: dict[str, Any] = body(api.get("/openapi.json"))
    return result


@pytest.fixture
def legacy(api: Api) -> Customer:
    """A customer written straight to the tables, index keys and email claim included, as the repository would."""
    customer: Customer = {
        "customer_id": str(uuid.uuid4()),
        "first_name": "Old",
        "last_name": "Row",
        "email_address": LEGACY_ADDRESS,
        "phone_number": "555",  # the old pattern took any digits
        "customer_acquisition_date": "2030-01-01T00:00:00Z",  # in the future, and without a fraction
        "preferred_communication_channels": ["email"],
        "is_loyalty_member": "n",
        "customer_status": "active",
        "lifetime_value": 0,  # type: ignore[typeddict-item]  # stored as a number, read back as Decimal
        "created_at": "2024-05-01T12:00:00Z",
        "created_by": "local",
        "updated_at": "2024-05-01T12:00:00Z",
        "updated_by": "local",
        "version": 1,
    }
    settings = get_settings()
    client = wiring.dynamodb_client()
    client.put_item(TableName=settings.customers_table, Item=customer_item(customer))
    claim = {"email_key": {"S": email_key(LEGACY_ADDRESS)}, "customer_id": {"S": customer["customer_id"]}}
    client.put_item(TableName=settings.emails_table, Item=claim)
    return customer


def test_the_legacy_address_is_one_the_current_rules_refuse() -> None:
    with pytest.raises(ValueError, match="too long before the @-sign"):
        check_email(LEGACY_ADDRESS)


def test_get_of_a_legacy_customer_is_200_and_matches_the_response_schema(
    api: Api, legacy: Customer, document: dict[str, Any]
) -> None:
    response = api.get(f"/customers/{legacy['customer_id']}")

    assert response.status_code == 200
    answered = body(response)
    assert answered["email_address"] == LEGACY_ADDRESS
    assert answered["phone_number"] == "555"
    assert "phone_number_e164" not in answered  # never derived for it
    assert_matches(document, "Customer", answered)


def test_the_list_and_its_filters_serve_a_legacy_customer(api: Api, legacy: Customer, document: dict[str, Any]) -> None:
    page = body(api.get("/customers"))
    by_status = body(api.get("/customers?customer_status=active"))

    assert [c["customer_id"] for c in page["customers"]] == [legacy["customer_id"]]
    assert by_status["customers"] == page["customers"]
    assert_matches(document, "CustomerPage", page)


def test_export_of_a_legacy_customer_is_200(api: Api, legacy: Customer) -> None:
    response = api.get(f"/customers/{legacy['customer_id']}/export")

    assert response.status_code == 200
    assert body(response)["customer"]["email_address"] == LEGACY_ADDRESS


def test_a_legacy_customer_can_be_updated_and_deleted_freeing_its_address(
    api: Api, legacy: Customer, document: dict[str, Any]
) -> None:
    path = f"/customers/{legacy['customer_id']}"

    updated = api.put(path, {"city": "Salem"})
    assert updated.status_code == 200, updated.body
    assert_matches(document, "Customer", body(updated))
    assert body(updated)["email_address"] == LEGACY_ADDRESS

    assert api.delete(path).status_code == 204
    assert scan(get_settings().emails_table) == []


def test_a_legacy_customer_can_move_to_an_address_the_rules_accept(api: Api, legacy: Customer) -> None:
    response = api.put(f"/customers/{legacy['customer_id']}", {"email_address": "new.row@example.com"})

    assert response.status_code == 200, response.body
    claims = scan(get_settings().emails_table)
    assert [(c["email_key"], c["customer_id"]) for c in claims] == [("new.row@example.com", legacy["customer_id"])]


def test_new_customers_match_the_response_schema_with_the_formats_people_type(
    api: Api, document: dict[str, Any]
) -> None:
    for phone in ("(555) 123-4567", "555-0123", "+44 20 7946 0958"):
        assert_matches(document, "Customer", create(api, phone_number=phone, email_address=f"x{phone[-2:]}@münchen.de"))


def test_the_customer_schema_publishes_no_email_format_or_phone_pattern(document: dict[str, Any]) -> None:
    fields = document["components"]["schemas"]["Customer"]["properties"]

    assert "format" not in fields["email_address"]
    assert "pattern" not in fields["phone_number"]
    assert fields["phone_number_e164"] == {
        "type": "string",
        "nullable": True,
        "readOnly": True,
        "description": fields["phone_number_e164"]["description"],
    }
    # The request rules are described instead.
    assert "64 characters" in fields["email_address"]["description"]
    assert "possible number" in fields["phone_number"]["description"]
