"""The DynamoDB adapter keeps the repository port's promises where a race decides the answer.

On moto here; tests/integration reruns the class on DynamoDB Local.
"""

from __future__ import annotations

import pytest

from chalicelib import wiring
from chalicelib.customers.errors import EmailAlreadyInUse, WriteConflict
from chalicelib.customers.model import Customer, Stamp
from tests.support import Api, create


def live(customer_id: str) -> Customer:
    stored = wiring.components().repository.read(customer_id)
    assert stored is not None
    assert stored.customer is not None
    return stored.customer


class TestRepositoryContract:
    def test_email_move_on_a_stale_read_to_the_address_the_customer_now_holds_is_a_conflict(self, api: Api) -> None:
        # Given a customer read by one request, then moved to a new address by another
        repository = wiring.components().repository
        customer = create(api)
        stale = live(customer["customer_id"])
        repository.apply_changes(stale, {"email_address": "moved@example.com"}, Stamp("2030-01-01T00:00:00Z", "test"))
        # When the first request moves it to the same address from its stale read
        # Then it hears the customer changed (a fresh read finds the address is its own), not that it is taken
        with pytest.raises(WriteConflict):
            repository.apply_changes(
                stale, {"email_address": "moved@example.com"}, Stamp("2030-01-01T00:00:01Z", "test")
            )

    def test_email_move_to_another_customers_address_is_email_in_use(self, api: Api) -> None:
        repository = wiring.components().repository
        customer, other = create(api), create(api)
        with pytest.raises(EmailAlreadyInUse):
            repository.apply_changes(
                live(customer["customer_id"]),
                {"email_address": other["email_address"]},
                Stamp("2030-01-01T00:00:00Z", "test"),
            )
