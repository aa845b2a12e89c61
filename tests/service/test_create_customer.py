"""create_customer: defaults, server-owned fields, email uniqueness, retries and the metric."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import pytest

from chalicelib.customers.errors import EmailAlreadyInUse, StoreBusy
from chalicelib.customers.model import is_customer_id
from chalicelib.customers.retry import CONFLICT_ATTEMPTS
from chalicelib.customers.service import CustomerService
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.support import FakeClock, MetricRecorder, new_customer


def test_create_customer_without_acquisition_date_defaults_it_to_the_creation_time(
    service: CustomerService, clock: FakeClock
) -> None:
    # Given create fields without customer_acquisition_date
    fields = new_customer()
    assert "customer_acquisition_date" not in fields

    # When
    customer = service.create_customer(fields).customer

    # Then the acquisition date is the moment of creation, in the API's UTC format
    assert customer["customer_acquisition_date"] == clock.stamp == "2024-05-01T12:00:00.000000Z"


def test_create_customer_keeps_a_given_acquisition_date(service: CustomerService) -> None:
    customer = service.create_customer(new_customer(customer_acquisition_date="2020-02-02T02:02:02Z")).customer

    assert customer["customer_acquisition_date"] == "2020-02-02T02:02:02Z"


def test_create_customer_starts_at_version_1_with_created_at_equal_to_updated_at(
    service: CustomerService, clock: FakeClock
) -> None:
    customer = service.create_customer(new_customer()).customer

    assert customer["version"] == 1
    assert customer["created_at"] == customer["updated_at"] == clock.stamp


def test_create_customer_gives_a_fresh_uuid4_each_time(service: CustomerService) -> None:
    first = service.create_customer(new_customer()).customer["customer_id"]
    second = service.create_customer(new_customer()).customer["customer_id"]

    assert is_customer_id(first)
    assert uuid.UUID(first).version == 4
    assert first != second


def test_create_customer_stores_exactly_what_it_returns(service: CustomerService) -> None:
    fields = new_customer(city="Springfield", state="IL", phone_number="555-0100")

    result = service.create_customer(fields)

    assert result.replayed is False
    assert service.get_customer(result.customer["customer_id"]).customer == result.customer
    returned: Mapping[str, object] = result.customer
    assert {name: returned.get(name) for name in fields} == fields


def test_create_customer_claims_the_email_address(
    service: CustomerService, repository: InMemoryCustomerRepository
) -> None:
    customer = service.create_customer(new_customer(email_address="grace@example.com")).customer

    assert repository.email_owner("grace@example.com") == customer["customer_id"]


@pytest.mark.parametrize("second_address", ["grace@example.com", "GRACE@Example.COM"])
def test_create_customer_with_a_taken_email_is_email_already_in_use_and_stores_nothing(
    service: CustomerService, repository: InMemoryCustomerRepository, metrics: MetricRecorder, second_address: str
) -> None:
    # Given a customer holding the address
    first = service.create_customer(new_customer(email_address="grace@example.com")).customer

    # When another create uses it, in any case
    with pytest.raises(EmailAlreadyInUse) as refused:
        service.create_customer(new_customer(email_address=second_address, first_name="Other"))

    # Then it is refused, naming the field and the customer holding it, and the store holds only the first
    assert "email_address" in refused.value.details
    assert refused.value.details["customer_id"] == first["customer_id"]
    assert repository.stored_ids() == {first["customer_id"]}
    assert repository.email_owner(second_address) == first["customer_id"]
    assert metrics.names == ["CustomersCreated"]


def test_create_customer_counts_customers_created_once(service: CustomerService, metrics: MetricRecorder) -> None:
    service.create_customer(new_customer())

    assert metrics.names == ["CustomersCreated"]


def test_create_customer_when_store_busy_at_first_is_retried_and_created_once(
    service: CustomerService, repository: InMemoryCustomerRepository, metrics: MetricRecorder, sleeps: list[float]
) -> None:
    # Given a store whose transactions are cancelled by others on all attempts but the last
    repository.fail_next("create", StoreBusy, times=CONFLICT_ATTEMPTS - 1)

    # When
    customer = service.create_customer(new_customer()).customer

    # Then the last attempt created it, once, after a pause before each retry
    assert repository.calls["create"] == CONFLICT_ATTEMPTS
    assert repository.stored_ids() == {customer["customer_id"]}
    assert metrics.names == ["CustomersCreated"]
    assert len(sleeps) == CONFLICT_ATTEMPTS - 1


def test_create_customer_when_store_busy_on_every_attempt_is_store_busy_and_stores_nothing(
    service: CustomerService, repository: InMemoryCustomerRepository, metrics: MetricRecorder
) -> None:
    repository.fail_next("create", StoreBusy, times=CONFLICT_ATTEMPTS)

    with pytest.raises(StoreBusy):
        service.create_customer(new_customer())

    assert repository.calls["create"] == CONFLICT_ATTEMPTS
    assert len(repository) == 0
    assert metrics.names == []


def test_create_customer_without_key_whose_answer_was_lost_returns_the_stored_customer(
    service: CustomerService, repository: InMemoryCustomerRepository, metrics: MetricRecorder
) -> None:
    # Given a store that commits the create but whose answer is lost: the transport's
    # resend of the same transaction finds the customer id taken (by this very create)
    repository.lose_next_create_answer()

    # When
    result = service.create_customer(new_customer(email_address="lost@example.com"))

    # Then the service recognises its own write: the stored customer, created once, counted once
    assert result.replayed is False
    assert repository.stored_ids() == {result.customer["customer_id"]}
    assert service.get_customer(result.customer["customer_id"]).customer == result.customer
    assert result.customer["email_address"] == "lost@example.com"
    assert metrics.names == ["CustomersCreated"]
