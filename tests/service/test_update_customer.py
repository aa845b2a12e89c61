"""update_customer: blind and conditional writes, email moves, the metric (contention: ..._contention.py)."""

from __future__ import annotations

import uuid

import pytest

from chalicelib.customers.conditions import Preconditions
from chalicelib.customers.errors import (
    CustomerNotFound,
    EmailAlreadyInUse,
    PreconditionFailed,
)
from chalicelib.customers.model import Customer
from chalicelib.customers.service import CustomerService
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.support import (
    FakeClock,
    MetricRecorder,
    another_writer,
    if_match,
    if_match_any,
    if_none_match,
    if_none_match_any,
    new_customer,
)

# --- blind updates (no precondition, email kept) ----------------------------------------------


def test_update_customer_blind_bumps_version_by_one_and_stamps_updated_at(
    service: CustomerService, customer: Customer, clock: FakeClock
) -> None:
    updated = service.update_customer(customer["customer_id"], {"city": "Paris", "state": "IDF"})

    assert updated["version"] == customer["version"] + 1
    assert updated["updated_at"] == clock.stamp != customer["updated_at"]
    assert updated["created_at"] == customer["created_at"]
    assert (updated["city"], updated["state"]) == ("Paris", "IDF")
    assert updated["first_name"] == customer["first_name"]  # untouched fields stay
    assert service.get_customer(customer["customer_id"]).customer == updated


def test_update_customer_blind_writes_once_without_reading(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    repository.calls.clear()

    service.update_customer(customer["customer_id"], {"city": "Paris"})

    assert repository.calls == {"update": 1}


def test_update_customer_blind_twice_bumps_version_each_time(service: CustomerService, customer: Customer) -> None:
    service.update_customer(customer["customer_id"], {"city": "Paris"})
    updated = service.update_customer(customer["customer_id"], {"city": "Rome"})

    assert updated["version"] == 3


@pytest.mark.parametrize("preconditions", [Preconditions(), if_match_any()])
def test_update_customer_that_does_not_exist_is_customer_not_found(
    service: CustomerService, repository: InMemoryCustomerRepository, preconditions: Preconditions
) -> None:
    with pytest.raises(CustomerNotFound):
        service.update_customer(str(uuid.uuid4()), {"city": "Paris"}, preconditions)
    assert len(repository) == 0


def test_update_customer_counts_customers_updated(
    service: CustomerService, customer: Customer, metrics: MetricRecorder
) -> None:
    service.update_customer(customer["customer_id"], {"city": "Paris"})

    assert metrics.names == ["CustomersCreated", "CustomersUpdated"]


def test_update_customer_refused_does_not_count_customers_updated(
    service: CustomerService, customer: Customer, metrics: MetricRecorder
) -> None:
    with pytest.raises(PreconditionFailed):
        service.update_customer(customer["customer_id"], {"city": "Paris"}, if_match(7))

    assert metrics.names == ["CustomersCreated"]


# --- If-Match / If-None-Match -------------------------------------------------------------------


def test_update_customer_with_current_if_match_is_applied(service: CustomerService, customer: Customer) -> None:
    updated = service.update_customer(customer["customer_id"], {"city": "Paris"}, if_match(1))

    assert updated["version"] == 2
    assert updated["city"] == "Paris"


def test_update_customer_with_stale_if_match_is_precondition_failed(
    service: CustomerService, customer: Customer
) -> None:
    # Given someone else updated the customer to version 2
    service.update_customer(customer["customer_id"], {"city": "Paris"})

    # When a client still holding version 1 writes
    with pytest.raises(PreconditionFailed):
        service.update_customer(customer["customer_id"], {"city": "Rome"}, if_match(1))

    # Then nothing changed
    stored = service.get_customer(customer["customer_id"]).customer
    assert (stored["city"], stored["version"]) == ("Paris", 2)


def test_update_customer_with_single_if_match_writes_once_without_reading(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    repository.calls.clear()

    service.update_customer(customer["customer_id"], {"city": "Paris"}, if_match(1))

    assert repository.calls == {"update": 1}


def test_update_customer_with_if_match_losing_to_a_concurrent_write_is_precondition_failed(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    # Given another request's write lands just before ours
    repository.before_next("update", another_writer(repository, customer["customer_id"]))

    with pytest.raises(PreconditionFailed):
        service.update_customer(customer["customer_id"], {"city": "Mine"}, if_match(1))

    stored = service.get_customer(customer["customer_id"]).customer
    assert (stored["city"], stored["version"]) == ("Changed concurrently", 2)


def test_update_customer_with_single_if_match_that_does_not_exist_is_customer_not_found(
    service: CustomerService,
) -> None:
    with pytest.raises(CustomerNotFound):
        service.update_customer(str(uuid.uuid4()), {"city": "Paris"}, if_match(1))


def test_update_customer_with_if_match_listing_the_current_version_is_applied(
    service: CustomerService, customer: Customer
) -> None:
    updated = service.update_customer(customer["customer_id"], {"city": "Paris"}, if_match(1, 5))

    assert (updated["city"], updated["version"]) == ("Paris", 2)


def test_update_customer_with_if_match_listing_only_other_versions_is_precondition_failed(
    service: CustomerService, customer: Customer
) -> None:
    with pytest.raises(PreconditionFailed):
        service.update_customer(customer["customer_id"], {"city": "Paris"}, if_match(2, 3))

    assert service.get_customer(customer["customer_id"]).customer == customer


def test_update_customer_with_if_none_match_star_on_existing_is_precondition_failed(
    service: CustomerService, customer: Customer
) -> None:
    with pytest.raises(PreconditionFailed):
        service.update_customer(customer["customer_id"], {"city": "Paris"}, if_none_match_any())

    assert service.get_customer(customer["customer_id"]).customer == customer


def test_update_customer_with_if_none_match_naming_current_version_is_precondition_failed(
    service: CustomerService, customer: Customer
) -> None:
    with pytest.raises(PreconditionFailed):
        service.update_customer(customer["customer_id"], {"city": "Paris"}, if_none_match(1))


def test_update_customer_with_if_none_match_naming_another_version_is_applied(
    service: CustomerService, customer: Customer
) -> None:
    updated = service.update_customer(customer["customer_id"], {"city": "Paris"}, if_none_match(4))

    assert (updated["city"], updated["version"]) == ("Paris", 2)


def test_update_customer_with_if_none_match_that_does_not_exist_is_customer_not_found(
    service: CustomerService,
) -> None:
    with pytest.raises(CustomerNotFound):
        service.update_customer(str(uuid.uuid4()), {"city": "Paris"}, if_none_match_any())


# --- email changes ------------------------------------------------------------------------------


def test_update_customer_email_change_moves_the_claim_and_frees_the_old_address(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer, clock: FakeClock
) -> None:
    # When
    updated = service.update_customer(customer["customer_id"], {"email_address": "lovelace@example.com"})

    # Then the customer holds the new address, version and time moved on
    assert updated["email_address"] == "lovelace@example.com"
    assert (updated["version"], updated["updated_at"]) == (2, clock.stamp)
    assert service.get_customer(customer["customer_id"]).customer == updated
    assert repository.email_owner("lovelace@example.com") == customer["customer_id"]
    # and the old address is free for another customer, the new one is not
    other = service.create_customer(new_customer(email_address="ada@example.com")).customer
    assert repository.email_owner("ada@example.com") == other["customer_id"]
    with pytest.raises(EmailAlreadyInUse):
        service.create_customer(new_customer(email_address="Lovelace@Example.com"))


@pytest.mark.parametrize("taken", ["grace@example.com", "GRACE@example.com"])
def test_update_customer_to_a_taken_email_is_email_already_in_use_and_nothing_changes(
    service: CustomerService,
    repository: InMemoryCustomerRepository,
    customer: Customer,
    metrics: MetricRecorder,
    taken: str,
) -> None:
    # Given another customer holding the address
    grace = service.create_customer(new_customer(email_address="grace@example.com")).customer

    # When the first customer asks for it, together with another change
    with pytest.raises(EmailAlreadyInUse):
        service.update_customer(customer["customer_id"], {"email_address": taken, "city": "Paris"})

    # Then neither customer nor any claim changed
    assert service.get_customer(customer["customer_id"]).customer == customer
    assert repository.email_owner("ada@example.com") == customer["customer_id"]
    assert repository.email_owner("grace@example.com") == grace["customer_id"]
    assert "CustomersUpdated" not in metrics.names


def test_update_customer_email_case_only_change_keeps_the_claim(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    updated = service.update_customer(customer["customer_id"], {"email_address": "Ada@Example.COM"})

    assert (updated["email_address"], updated["version"]) == ("Ada@Example.COM", 2)
    assert repository.email_owner("ada@example.com") == customer["customer_id"]
    with pytest.raises(EmailAlreadyInUse):
        service.create_customer(new_customer(email_address="ada@example.com"))


def test_update_customer_to_its_own_email_is_applied(service: CustomerService, customer: Customer) -> None:
    updated = service.update_customer(customer["customer_id"], {"email_address": "ada@example.com", "city": "Bath"})

    assert (updated["city"], updated["version"]) == ("Bath", 2)


def test_update_customer_email_change_with_current_if_match_moves_the_claim(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    updated = service.update_customer(customer["customer_id"], {"email_address": "new@example.com"}, if_match(1))

    assert updated["email_address"] == "new@example.com"
    assert repository.email_owner("new@example.com") == customer["customer_id"]


def test_update_customer_email_change_with_stale_if_match_is_precondition_failed_and_keeps_the_claim(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    service.update_customer(customer["customer_id"], {"city": "Paris"})

    with pytest.raises(PreconditionFailed):
        service.update_customer(customer["customer_id"], {"email_address": "new@example.com"}, if_match(1))

    assert repository.email_owner("new@example.com") is None
    assert repository.email_owner("ada@example.com") == customer["customer_id"]


def test_update_customer_email_change_of_a_missing_customer_is_customer_not_found(
    service: CustomerService, repository: InMemoryCustomerRepository
) -> None:
    with pytest.raises(CustomerNotFound):
        service.update_customer(str(uuid.uuid4()), {"email_address": "new@example.com"})

    assert repository.email_owner("new@example.com") is None
