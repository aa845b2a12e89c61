"""restore_customer: within the window (by the service's clock), the email claimed again, preconditions, races."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from chalicelib.customers.conditions import Preconditions
from chalicelib.customers.errors import (
    CustomerNotDeleted,
    CustomerNotFound,
    EmailAlreadyInUse,
    PreconditionFailed,
)
from chalicelib.customers.model import Customer, Origin, Stamp
from chalicelib.customers.privacy import PrivacyService
from chalicelib.customers.service import CustomerService
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.support import (
    CONCURRENT_STAMP,
    CONCURRENT_WRITER,
    START,
    FakeClock,
    MetricRecorder,
    if_match,
    if_none_match,
    new_customer,
    stored,
)

WINDOW = timedelta(days=30)  # the service's default restore window
# The conftest's customer is made at START and, here, deleted a minute later.
WINDOW_END = START + timedelta(seconds=60) + WINDOW


@pytest.fixture
def deleted(service: CustomerService, customer: Customer, clock: FakeClock) -> Customer:
    """The conftest's customer, deleted (at version 2) a minute after it was made; the clock then moves on."""
    service.delete_customer(customer["customer_id"])
    clock.advance(60)
    return customer


def assert_plain_not_found(refused: pytest.ExceptionInfo[CustomerNotFound]) -> None:
    """Gone for good, not "deleted, restorable until ...": no details to offer."""
    assert type(refused.value) is CustomerNotFound
    assert refused.value.details == {}


def test_restore_customer_brings_it_back_one_version_on_in_every_read_and_list(
    service: CustomerService, repository: InMemoryCustomerRepository, deleted: Customer, clock: FakeClock
) -> None:
    restored = service.restore_customer(deleted["customer_id"], origin=Origin("restorer", "req-restore"))

    assert restored == {**deleted, "version": 3, "updated_at": clock.stamp, "updated_by": "restorer"}
    assert service.get_customer(deleted["customer_id"]).customer == restored
    assert service.list_customers().customers == [restored]
    item = stored(repository, deleted["customer_id"])
    assert (item.deleted_at, item.purge_at, item.request_id) == (None, None, "req-restore")


def test_restore_customer_claims_its_email_address_again(
    service: CustomerService, repository: InMemoryCustomerRepository, deleted: Customer
) -> None:
    assert repository.email_owner("ada@example.com") is None

    service.restore_customer(deleted["customer_id"])

    assert repository.email_owner("ada@example.com") == deleted["customer_id"]
    with pytest.raises(EmailAlreadyInUse):
        service.create_customer(new_customer(email_address="ADA@example.com"))


def test_restore_customer_counts_customers_restored(
    service: CustomerService, deleted: Customer, metrics: MetricRecorder
) -> None:
    service.restore_customer(deleted["customer_id"])

    assert metrics.names == ["CustomersCreated", "CustomersDeleted", "CustomersRestored"]


def test_restore_customer_on_the_last_second_of_the_window_restores_it(
    service: CustomerService, deleted: Customer, clock: FakeClock
) -> None:
    clock.now = WINDOW_END - timedelta(seconds=1)

    assert service.restore_customer(deleted["customer_id"])["version"] == 3


@pytest.mark.parametrize("after_window_end", [timedelta(0), timedelta(days=3)])
def test_past_the_window_the_customer_is_not_found_though_the_store_still_holds_it(
    service: CustomerService,
    privacy: PrivacyService,
    repository: InMemoryCustomerRepository,
    deleted: Customer,
    clock: FakeClock,
    after_window_end: timedelta,
) -> None:
    # Given the window ended (DynamoDB's TTL removes the item only some time later)
    clock.now = WINDOW_END + after_window_end
    assert repository.read(deleted["customer_id"]) is not None

    # Then the service's own clock decides: not found, with nothing restorable offered
    with pytest.raises(CustomerNotFound) as on_get:
        service.get_customer(deleted["customer_id"])
    with pytest.raises(CustomerNotFound) as on_restore:
        service.restore_customer(deleted["customer_id"])
    with pytest.raises(CustomerNotFound) as on_export:
        privacy.export(deleted["customer_id"])
    for refused in (on_get, on_restore, on_export):
        assert_plain_not_found(refused)
    # and the store was never asked to restore it
    assert repository.calls["restore"] == 0
    assert repository.email_owner("ada@example.com") is None


def test_restore_customer_after_the_ttl_removed_it_is_customer_not_found(
    service: CustomerService, repository: InMemoryCustomerRepository, deleted: Customer, clock: FakeClock
) -> None:
    clock.now = WINDOW_END
    assert repository.purge_expired() == [deleted["customer_id"]]

    with pytest.raises(CustomerNotFound) as refused:
        service.restore_customer(deleted["customer_id"])

    assert_plain_not_found(refused)


def test_restore_customer_whose_window_ends_between_read_and_write_is_customer_not_found(
    service: CustomerService, repository: InMemoryCustomerRepository, deleted: Customer, clock: FakeClock
) -> None:
    # Given the service reads it in its last second, and the window ends before the write lands
    clock.now = WINDOW_END - timedelta(seconds=1)
    repository.before_next("restore", lambda: clock.advance(1))

    # Then the store's own condition refuses it, and the retry's fresh read tells why
    with pytest.raises(CustomerNotFound) as refused:
        service.restore_customer(deleted["customer_id"])

    assert_plain_not_found(refused)
    assert repository.calls["restore"] == 1
    assert repository.email_owner("ada@example.com") is None


def test_restore_customer_whose_address_another_customer_took_is_email_already_in_use(
    service: CustomerService, repository: InMemoryCustomerRepository, deleted: Customer, metrics: MetricRecorder
) -> None:
    # Given another customer took the address while it was deleted
    grace = service.create_customer(new_customer(email_address="Ada@Example.com")).customer
    before = stored(repository, deleted["customer_id"])

    with pytest.raises(EmailAlreadyInUse) as refused:
        service.restore_customer(deleted["customer_id"])

    # Then it stays deleted, and the address stays the other customer's
    assert "email_address" in refused.value.details
    assert stored(repository, deleted["customer_id"]) == before
    assert repository.email_owner("ada@example.com") == grace["customer_id"]
    assert "CustomersRestored" not in metrics.names


def test_restore_customer_that_is_live_is_customer_not_deleted(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    with pytest.raises(CustomerNotDeleted):
        service.restore_customer(customer["customer_id"])

    assert stored(repository, customer["customer_id"]).version == 1


def test_restore_customer_that_never_existed_is_customer_not_found(service: CustomerService) -> None:
    with pytest.raises(CustomerNotFound) as refused:
        service.restore_customer(str(uuid.uuid4()))

    assert_plain_not_found(refused)


def test_restore_customer_with_if_match_naming_the_deleted_version_restores_it(
    service: CustomerService, deleted: Customer
) -> None:
    assert service.restore_customer(deleted["customer_id"], if_match(2))["version"] == 3


@pytest.mark.parametrize("preconditions", [if_match(1), if_match(3), if_none_match(2)])
def test_restore_customer_with_failing_preconditions_is_precondition_failed_and_keeps_it_deleted(
    service: CustomerService,
    repository: InMemoryCustomerRepository,
    deleted: Customer,
    metrics: MetricRecorder,
    preconditions: Preconditions,
) -> None:
    with pytest.raises(PreconditionFailed):
        service.restore_customer(deleted["customer_id"], preconditions)

    item = stored(repository, deleted["customer_id"])
    assert (item.version, item.is_live) == (2, False)
    assert repository.calls["restore"] == 0
    assert "CustomersRestored" not in metrics.names


def test_two_restores_racing_one_restores_and_the_other_hears_customer_not_deleted(
    service: CustomerService, repository: InMemoryCustomerRepository, deleted: Customer
) -> None:
    # Given another request restores it between our read and our write
    def concurrent_restore() -> None:
        repository.restore(stored(repository, deleted["customer_id"]), Stamp(CONCURRENT_STAMP, CONCURRENT_WRITER))

    repository.before_next("restore", concurrent_restore)

    # Then our write conflicts, and the retry's fresh read finds it live
    with pytest.raises(CustomerNotDeleted):
        service.restore_customer(deleted["customer_id"])

    item = stored(repository, deleted["customer_id"])
    assert (item.version, item.updated_by) == (3, CONCURRENT_WRITER)
