"""delete_customer (a soft delete): hidden and restorable, frees the email, preconditions, retries, the metric."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from chalicelib.customers.conditions import Preconditions
from chalicelib.customers.errors import (
    CustomerDeleted,
    CustomerNotFound,
    PreconditionFailed,
    StoreBusy,
    WriteConflict,
)
from chalicelib.customers.model import Customer, format_utc
from chalicelib.customers.retry import CONFLICT_ATTEMPTS
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
    stored,
)

RESTORE_WINDOW_DAYS = 30  # the service's default


def test_delete_customer_hides_it_until_its_restore_window_ends(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer, clock: FakeClock
) -> None:
    service.delete_customer(customer["customer_id"])

    # Every read answers "deleted", saying until when it can be restored
    with pytest.raises(CustomerDeleted) as hidden:
        service.get_customer(customer["customer_id"])
    assert isinstance(hidden.value, CustomerNotFound)  # a 404 to a client, with its own code
    window_end = clock.now + timedelta(days=RESTORE_WINDOW_DAYS)
    assert hidden.value.details == {"restorable_until": format_utc(window_end)}
    assert service.list_customers().customers == []
    # while the store keeps it, one version on, stamped with the delete
    item = stored(repository, customer["customer_id"])
    assert (item.version, item.deleted_at, item.purge_at) == (2, clock.stamp, int(window_end.timestamp()))
    assert item.customer is not None
    assert item.customer["first_name"] == customer["first_name"]
    assert repository.live_ids() == set()


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


def test_delete_customer_twice_is_customer_deleted_the_second_time_and_changes_nothing(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer, metrics: MetricRecorder
) -> None:
    service.delete_customer(customer["customer_id"])
    deleted = stored(repository, customer["customer_id"])

    with pytest.raises(CustomerDeleted):
        service.delete_customer(customer["customer_id"])

    assert stored(repository, customer["customer_id"]) == deleted
    assert metrics.names == ["CustomersCreated", "CustomersDeleted"]


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

    assert repository.live_ids() == set()
    assert stored(repository, customer["customer_id"]).version == 2


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
    repository.before_next("soft_delete", another_writer(repository, customer["customer_id"]))

    service.delete_customer(customer["customer_id"])

    assert repository.calls["soft_delete"] == 2
    assert repository.live_ids() == set()
    assert repository.email_owner("ada@example.com") is None
    # the retry deleted the version the other write made: nothing of it was lost
    item = stored(repository, customer["customer_id"])
    assert item.customer is not None
    assert (item.customer["city"], item.version) == ("Changed concurrently", 3)
    assert metrics.names == ["CustomersCreated", "CustomersDeleted"]


def test_delete_customer_with_if_match_losing_to_a_concurrent_write_is_precondition_failed(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    repository.before_next("soft_delete", another_writer(repository, customer["customer_id"]))

    with pytest.raises(PreconditionFailed):
        service.delete_customer(customer["customer_id"], if_match(1))

    assert service.get_customer(customer["customer_id"]).customer["city"] == "Changed concurrently"


def test_delete_customer_conflicting_on_every_attempt_is_write_conflict_after_conflict_attempts(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer, metrics: MetricRecorder
) -> None:
    repository.before_next("soft_delete", another_writer(repository, customer["customer_id"]), CONFLICT_ATTEMPTS)

    with pytest.raises(WriteConflict):
        service.delete_customer(customer["customer_id"])

    assert repository.calls["soft_delete"] == CONFLICT_ATTEMPTS
    assert service.get_customer(customer["customer_id"]).customer["version"] == 1 + CONFLICT_ATTEMPTS
    assert repository.email_owner("ada@example.com") == customer["customer_id"]
    assert "CustomersDeleted" not in metrics.names


def test_delete_customer_with_store_busy_at_first_is_retried_and_deletes(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    repository.fail_next("soft_delete", StoreBusy)

    service.delete_customer(customer["customer_id"])

    assert repository.calls["soft_delete"] == 2
    assert repository.live_ids() == set()


def test_delete_customer_with_store_busy_on_every_attempt_is_store_busy_after_conflict_attempts(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer, metrics: MetricRecorder
) -> None:
    repository.fail_next("soft_delete", StoreBusy, times=CONFLICT_ATTEMPTS)

    with pytest.raises(StoreBusy):
        service.delete_customer(customer["customer_id"])

    assert repository.calls["soft_delete"] == CONFLICT_ATTEMPTS
    assert repository.live_ids() == {customer["customer_id"]}
    assert repository.email_owner("ada@example.com") == customer["customer_id"]
    assert "CustomersDeleted" not in metrics.names
