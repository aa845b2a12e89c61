"""phone_number_e164: derived by the use cases on every write that sets the phone, never sent by a client."""

from __future__ import annotations

import pytest

from chalicelib.customers.service import CustomerService
from tests.service.conftest import TOKEN_SECRET
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.support import FakeClock, live, new_customer


@pytest.mark.parametrize(
    ("phone", "e164"),
    [
        ("(555) 123-4567", "+15551234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("555-123-4567 x89", "+15551234567"),
        ("555-0123", None),  # no area code: no E.164 form
    ],
)
def test_create_customer_stores_the_phone_as_given_and_its_e164_form(
    service: CustomerService, repository: InMemoryCustomerRepository, phone: str, e164: str | None
) -> None:
    created = service.create_customer(new_customer(phone_number=phone)).customer

    assert (created["phone_number"], created["phone_number_e164"]) == (phone, e164)
    assert live(repository, created["customer_id"]) == created


def test_create_customer_without_a_phone_has_no_e164_field(service: CustomerService) -> None:
    assert "phone_number_e164" not in service.create_customer(new_customer()).customer


def test_update_of_the_phone_recomputes_its_e164_form(
    service: CustomerService, repository: InMemoryCustomerRepository
) -> None:
    customer_id = service.create_customer(new_customer(phone_number="555-123-4567")).customer["customer_id"]

    moved = service.update_customer(customer_id, {"phone_number": "+44 20 7946 0958"})
    local = service.update_customer(customer_id, {"phone_number": "555-0123"})

    assert moved["phone_number_e164"] == "+442079460958"
    assert local["phone_number_e164"] is None
    assert live(repository, customer_id)["phone_number_e164"] is None


def test_update_without_the_phone_keeps_its_e164_form(service: CustomerService) -> None:
    customer_id = service.create_customer(new_customer(phone_number="555-123-4567")).customer["customer_id"]

    assert service.update_customer(customer_id, {"city": "Paris"})["phone_number_e164"] == "+15551234567"


def test_update_of_phone_and_email_together_recomputes_the_e164_form(service: CustomerService) -> None:
    customer_id = service.create_customer(new_customer(phone_number="555-123-4567")).customer["customer_id"]

    updated = service.update_customer(
        customer_id, {"phone_number": "(555) 765-4321", "email_address": "moved@example.com"}
    )

    assert updated["phone_number_e164"] == "+15557654321"


def test_national_numbers_are_read_in_the_services_region(
    repository: InMemoryCustomerRepository, clock: FakeClock
) -> None:
    british = CustomerService(repository, token_secret=TOKEN_SECRET, clock=clock, phone_region="GB")

    created = british.create_customer(new_customer(phone_number="020 7946 0958")).customer

    assert created["phone_number_e164"] == "+442079460958"
