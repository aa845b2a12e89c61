"""PrivacyService.erase: a tombstone every use case answers "erased", a free email, a dead key, redacted history."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable

import pytest

from chalicelib.customers.errors import CustomerErased, CustomerNotFound, WriteConflict
from chalicelib.customers.model import Customer, Erasure, Origin, Stamp, StoredCustomer
from chalicelib.customers.privacy import PrivacyService
from chalicelib.customers.service import CustomerService
from tests.service.fake_history import InMemoryHistoryRepository
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.support import (
    CONCURRENT_STAMP,
    Delivery,
    FakeClock,
    MetricRecorder,
    another_writer,
    if_match,
    new_customer,
    stored,
)

KEY = "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e"
ERASER = Origin("dpo@example.com", "req-erase")


@pytest.fixture(params=["live", "deleted"])
def erased(request: pytest.FixtureRequest, service: CustomerService, privacy: PrivacyService, clock: FakeClock) -> str:
    """The id of a customer (ada@example.com, made with an Idempotency-Key) erased while live or soft-deleted."""
    customer = service.create_customer(new_customer(email_address="ada@example.com"), idempotency_key=KEY).customer
    clock.advance(60)
    if request.param == "deleted":
        service.delete_customer(customer["customer_id"])
        clock.advance(60)
    privacy.erase(customer["customer_id"], origin=ERASER)
    clock.advance(60)
    return customer["customer_id"]


def test_erase_returns_when_and_leaves_a_tombstone_with_nothing_personal(
    service: CustomerService, privacy: PrivacyService, repository: InMemoryCustomerRepository, clock: FakeClock
) -> None:
    customer = service.create_customer(new_customer(city="London")).customer
    clock.advance(60)

    erasure = privacy.erase(customer["customer_id"], origin=ERASER)

    assert erasure == Erasure(customer["customer_id"], clock.stamp)
    assert stored(repository, customer["customer_id"]) == StoredCustomer(
        customer["customer_id"],
        2,
        None,
        updated_at=clock.stamp,
        updated_by="dpo@example.com",
        request_id="req-erase",
        erased_at=clock.stamp,
    )


@pytest.mark.parametrize(
    "use_case",
    [
        lambda service, privacy, customer_id: service.get_customer(customer_id),
        lambda service, privacy, customer_id: service.restore_customer(customer_id),
        lambda service, privacy, customer_id: service.update_customer(customer_id, {"city": "Paris"}),
        lambda service, privacy, customer_id: service.update_customer(customer_id, {"city": "Paris"}, if_match(3)),
        lambda service, privacy, customer_id: service.update_customer(customer_id, {"email_address": "x@example.com"}),
        lambda service, privacy, customer_id: service.delete_customer(customer_id),
        lambda service, privacy, customer_id: privacy.export(customer_id),
    ],
    ids=["get", "restore", "update", "update-if-match", "update-email", "delete", "export"],
)
def test_every_use_case_answers_an_erased_customer_with_customer_erased(
    service: CustomerService,
    privacy: PrivacyService,
    repository: InMemoryCustomerRepository,
    erased: str,
    use_case: Callable[[CustomerService, PrivacyService, str], object],
) -> None:
    tombstone = stored(repository, erased)

    with pytest.raises(CustomerErased):
        use_case(service, privacy, erased)

    assert stored(repository, erased) == tombstone
    assert repository.email_owner("x@example.com") is None


def test_erased_customer_is_in_no_list_and_its_email_is_free(
    service: CustomerService, repository: InMemoryCustomerRepository, erased: str
) -> None:
    assert service.list_customers().customers == []
    assert repository.email_owner("ada@example.com") is None

    newcomer = service.create_customer(new_customer(email_address="ADA@example.com")).customer

    assert repository.email_owner("ada@example.com") == newcomer["customer_id"]


def test_retrying_the_create_that_made_an_erased_customer_is_customer_erased_and_creates_nothing(
    service: CustomerService, repository: InMemoryCustomerRepository, erased: str, metrics: MetricRecorder
) -> None:
    # When the client retries its original create, same key, same body (the email is free by now)
    with pytest.raises(CustomerErased):
        service.create_customer(new_customer(email_address="ada@example.com"), idempotency_key=KEY)

    # Then no customer is made again, and the key's record keeps no data, only whom it made
    assert repository.stored_ids() == {erased}
    assert repository.email_owner("ada@example.com") is None
    record = repository.idempotency_record(f"POST /customers {KEY}")
    assert record is not None
    assert (record.customer_id, record.customer, record.fingerprint) == (erased, None, None)
    assert metrics.names.count("CustomersCreated") == 1


def test_erasing_again_answers_the_same_erasure_and_writes_nothing(
    privacy: PrivacyService, repository: InMemoryCustomerRepository, erased: str, clock: FakeClock
) -> None:
    tombstone = stored(repository, erased)
    clock.advance(3600)

    again = privacy.erase(erased)

    assert again == Erasure(erased, tombstone.erased_at or "")
    assert stored(repository, erased) == tombstone
    assert repository.calls["erase"] == 1


def test_erase_counts_customers_erased_once(privacy: PrivacyService, erased: str, metrics: MetricRecorder) -> None:
    privacy.erase(erased)

    assert metrics.names.count("CustomersErased") == 1


def test_erase_of_a_customer_that_never_existed_is_customer_not_found(privacy: PrivacyService) -> None:
    with pytest.raises(CustomerNotFound):
        privacy.erase(str(uuid.uuid4()))


def test_erase_of_a_soft_deleted_customer_leaves_the_address_to_whoever_took_it(
    service: CustomerService, privacy: PrivacyService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    service.delete_customer(customer["customer_id"])
    grace = service.create_customer(new_customer(email_address="ada@example.com")).customer

    privacy.erase(customer["customer_id"])

    assert repository.email_owner("ada@example.com") == grace["customer_id"]
    assert service.get_customer(grace["customer_id"]).customer == grace


def test_erase_losing_to_a_concurrent_write_is_retried_and_erases_that_write_too(
    privacy: PrivacyService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    repository.before_next("erase", another_writer(repository, customer["customer_id"]))

    privacy.erase(customer["customer_id"])

    assert repository.calls["erase"] == 2
    tombstone = stored(repository, customer["customer_id"])
    assert (tombstone.version, tombstone.customer, tombstone.erased_at is not None) == (3, None, True)


def test_erase_conflicting_on_every_attempt_is_write_conflict_and_erases_nothing(
    privacy: PrivacyService, repository: InMemoryCustomerRepository, customer: Customer, metrics: MetricRecorder
) -> None:
    repository.fail_next("erase", WriteConflict, times=5)

    with pytest.raises(WriteConflict):
        privacy.erase(customer["customer_id"])

    assert stored(repository, customer["customer_id"]).is_live
    assert "CustomersErased" not in metrics.names


def test_erase_redacts_the_history_already_written(
    service: CustomerService,
    privacy: PrivacyService,
    history: InMemoryHistoryRepository,
    customer: Customer,
    deliver: Delivery,
) -> None:
    customer_id = customer["customer_id"]
    service.update_customer(customer_id, {"city": "Paris", "phone_number": "555-0100"})
    service.delete_customer(customer_id)
    deliver()

    privacy.erase(customer_id)

    entries = history.entries(customer_id)
    assert [(entry.version, entry.change) for entry in entries] == [(1, "created"), (2, "updated"), (3, "deleted")]
    assert all(entry.redacted and entry.customer is None for entry in entries)
    assert entries[1].changes == {"city": {"from": None, "to": None}, "phone_number": {"from": None, "to": None}}
    assert all(value is None for entry in entries for change in entry.changes.values() for value in change.values())
    # what happened, when and by whom stays
    assert [entry.actor for entry in entries] == ["system"] * 3


def test_history_written_after_the_erasure_ran_is_redacted_and_goes_out_redacted(
    service: CustomerService,
    privacy: PrivacyService,
    history: InMemoryHistoryRepository,
    customer: Customer,
    deliver: Delivery,
) -> None:
    # Given the erasure runs before the consumer reached the customer's earlier changes
    customer_id = customer["customer_id"]
    service.update_customer(customer_id, {"city": "Paris"})
    privacy.erase(customer_id)

    deliver()

    entries = history.entries(customer_id)
    assert [(entry.version, entry.change) for entry in entries] == [(1, "created"), (2, "updated"), (3, "erased")]
    assert all(entry.redacted and entry.customer is None for entry in entries)
    assert entries[1].changes == {"city": {"from": None, "to": None}}


def test_an_erasure_racing_another_erasure_of_the_same_customer_answers_that_erasure(
    privacy: PrivacyService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    # Given a client's retried erasure request lands while its first one is being written
    def first_request() -> None:
        first = Stamp(CONCURRENT_STAMP, "dpo@example.com", "req-first")
        repository.erase(stored(repository, customer["customer_id"]), first)

    repository.before_next("erase", first_request)

    # Then the retry answers like any repeated erasure: the one erasure, not "erased" as an error
    assert privacy.erase(customer["customer_id"]) == Erasure(customer["customer_id"], CONCURRENT_STAMP)
    assert stored(repository, customer["customer_id"]).request_id == "req-first"


def test_an_erasure_asked_after_the_restore_window_still_leaves_no_personal_data_in_the_history(
    service: CustomerService,
    privacy: PrivacyService,
    repository: InMemoryCustomerRepository,
    history: InMemoryHistoryRepository,
    customer: Customer,
    clock: FakeClock,
    deliver: Delivery,
) -> None:
    # Given a deleted customer whose window ended, its history (with its data) written
    service.update_customer(customer["customer_id"], {"city": "Paris"})
    service.delete_customer(customer["customer_id"])
    clock.advance(31 * 24 * 3600)
    deliver()

    # When the person asks for erasure (however the service answers that)
    with contextlib.suppress(CustomerNotFound):
        privacy.erase(customer["customer_id"])

    # Then the history keeps nothing personal (TTL removes the item itself; nothing ever removes the history)
    assert history.entries(customer["customer_id"])
    assert all(entry.redacted and entry.customer is None for entry in history.entries(customer["customer_id"]))
