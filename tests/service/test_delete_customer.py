"""delete_customer: frees the email, not found, preconditions, retries on contention, the metric."""

from __future__ import annotations

import uuid

import pytest

from chalicelib.customers.conditions import Preconditions
from chalicelib.customers.errors import CustomerNotFound, PreconditionFailed, StoreBusy, WriteConflict
from chalicelib.customers.model import Customer
from chalicelib.customers.retry import CONFLICT_ATTEMPTS
from chalicelib.customers.service import CustomerService
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.support import (
    MetricRecorder,
    another_writer,
    if_match,
    if_match_any,
    if_none_match,
    if_none_match_any,
    new_customer,
)


def test_delete_customer_removes_it(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    service.delete_customer(customer["customer_id"])

    with pytest.raises(CustomerNotFound):
        service.get_customer(customer["customer_id"])
    assert len(repository) == 0


def test_delete_customer_frees_its_email_address(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    service.delete_customer(customer["customer_id"])

    assert repository.email_owner("ada@example.com") is None
    newcomer = service.create_customer(new_customer(email_address="ADA@example.com")).customer
    assert repository.email_owner("ada@example.com") == newcomer["customer_id"]


def test_delete_customer_that_does_not_exist_is_customer_not_found(
    service: CustomerService, metrics: MetricRecorder
) -> None:
    with pytest.raises(CustomerNotFound):
        service.delete_customer(str(uuid.uuid4()))

    assert metrics.names == []


def test_delete_customer_twice_is_customer_not_found_the_second_time(
    service: CustomerService, customer: Customer
) -> None:
    service.delete_customer(customer["customer_id"])

    with pytest.raises(CustomerNotFound):
        service.delete_customer(customer["customer_id"])


def test_delete_customer_counts_customers_deleted_once(
    service: CustomerService, customer: Customer, metrics: MetricRecorder
) -> None:
    service.delete_customer(customer["customer_id"])

    assert metrics.names == ["CustomersCreated", "CustomersDeleted"]


@pytest.mark.parametrize("preconditions", [if_match(1), if_match(1, 2), if_match_any(), if_none_match(2)])
def test_delete_customer_with_passing_preconditions_deletes_it(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer, preconditions: Preconditions
) -> None:
    service.delete_customer(customer["customer_id"], preconditions)

    assert len(repository) == 0


@pytest.mark.parametrize("preconditions", [if_match(2), if_none_match(1), if_none_match_any()])
def test_delete_customer_with_failing_preconditions_is_precondition_failed_and_keeps_it(
    service: CustomerService,
    repository: InMemoryCustomerRepository,
    customer: Customer,
    metrics: MetricRecorder,
    preconditions: Preconditions,
) -> None:
    with pytest.raises(PreconditionFailed):
        service.delete_customer(customer["customer_id"], preconditions)

    assert service.get_customer(customer["customer_id"]).customer == customer
    assert repository.email_owner("ada@example.com") == customer["customer_id"]
    assert metrics.names == ["CustomersCreated"]


def test_delete_customer_with_stale_if_match_is_precondition_failed(
    service: CustomerService, customer: Customer
) -> None:
    # Given the customer moved to version 2 after the client read it
    service.update_customer(customer["customer_id"], {"city": "Paris"})

    with pytest.raises(PreconditionFailed):
        service.delete_customer(customer["customer_id"], if_match(1))

    assert service.get_customer(customer["customer_id"]).customer["version"] == 2


def test_delete_customer_with_if_match_that_does_not_exist_is_customer_not_found(service: CustomerService) -> None:
    with pytest.raises(CustomerNotFound):
        service.delete_customer(str(uuid.uuid4()), if_match(1))


def test_delete_customer_losing_to_a_concurrent_write_is_retried_and_deletes(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer, metrics: MetricRecorder
) -> None:
    # Given another request's write lands between our read and our delete
    repository.before_next("delete", another_writer(repository, customer["customer_id"]))

    service.delete_customer(customer["customer_id"])

    assert repository.calls["delete"] == 2
    assert len(repository) == 0
    assert repository.email_owner("ada@example.com") is None
    assert metrics.names == ["CustomersCreated", "CustomersDeleted"]


def test_delete_customer_with_if_match_losing_to_a_concurrent_write_is_precondition_failed(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    repository.before_next("delete", another_writer(repository, customer["customer_id"]))

    with pytest.raises(PreconditionFailed):
        service.delete_customer(customer["customer_id"], if_match(1))

    assert service.get_customer(customer["customer_id"]).customer["city"] == "Changed concurrently"


def test_delete_customer_conflicting_on_every_attempt_is_write_conflict_after_conflict_attempts(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer, metrics: MetricRecorder
) -> None:
    repository.before_next("delete", another_writer(repository, customer["customer_id"]), CONFLICT_ATTEMPTS)

    with pytest.raises(WriteConflict):
        service.delete_customer(customer["customer_id"])

    assert repository.calls["delete"] == CONFLICT_ATTEMPTS
    assert service.get_customer(customer["customer_id"]).customer["version"] == 1 + CONFLICT_ATTEMPTS
    assert repository.email_owner("ada@example.com") == customer["customer_id"]
    assert "CustomersDeleted" not in metrics.names


def test_delete_customer_with_store_busy_at_first_is_retried_and_deletes(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    repository.fail_next("delete", StoreBusy)

    service.delete_customer(customer["customer_id"])

    assert repository.calls["delete"] == 2
    assert len(repository) == 0


def test_delete_customer_with_store_busy_on_every_attempt_is_store_busy_after_conflict_attempts(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer, metrics: MetricRecorder
) -> None:
    repository.fail_next("delete", StoreBusy, times=CONFLICT_ATTEMPTS)

    with pytest.raises(StoreBusy):
        service.delete_customer(customer["customer_id"])

    assert repository.calls["delete"] == CONFLICT_ATTEMPTS
    assert repository.stored_ids() == {customer["customer_id"]}
    assert "CustomersDeleted" not in metrics.names
