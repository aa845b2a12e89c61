"""seed_customers: disabled stages, the 10 samples, idempotent re-runs, taken emails."""

from __future__ import annotations

import pytest

from chalicelib.customers.errors import Forbidden, StoreBusy
from chalicelib.customers.retry import CONFLICT_ATTEMPTS
from chalicelib.customers.seed_data import SAMPLE_CUSTOMERS
from chalicelib.customers.service import CustomerService
from tests.service.conftest import TOKEN_SECRET
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.support import FakeClock, new_customer

SAMPLE_IDS = [sample["customer_id"] for sample in SAMPLE_CUSTOMERS]


def test_seed_customers_when_disabled_is_forbidden_and_creates_nothing(
    repository: InMemoryCustomerRepository, clock: FakeClock
) -> None:
    service = CustomerService(repository, token_secret=TOKEN_SECRET, seed_enabled=False, clock=clock)

    with pytest.raises(Forbidden):
        service.seed_customers()

    assert len(repository) == 0
    assert repository.calls["create"] == 0


def test_seed_customers_creates_the_10_samples(service: CustomerService, clock: FakeClock) -> None:
    report = service.seed_customers()

    assert len(SAMPLE_CUSTOMERS) == 10
    assert report.created == SAMPLE_IDS
    assert (report.already_present, report.email_taken) == ([], [])
    for sample in SAMPLE_CUSTOMERS:
        stored = service.get_customer(sample["customer_id"]).customer
        assert {**stored} == {
            **sample,
            "phone_number_e164": None,  # the samples' 555-01xx numbers have no area code
            "created_at": clock.stamp,
            "created_by": "system",
            "updated_at": clock.stamp,
            "updated_by": "system",
            "version": 1,
        }


def test_seed_customers_claims_the_samples_email_addresses(
    service: CustomerService, repository: InMemoryCustomerRepository
) -> None:
    service.seed_customers()

    for sample in SAMPLE_CUSTOMERS:
        assert repository.email_owner(sample["email_address"]) == sample["customer_id"]


def test_seed_customers_a_second_time_adds_nothing_and_reports_already_present(
    service: CustomerService, repository: InMemoryCustomerRepository, clock: FakeClock
) -> None:
    # Given a seeded store
    service.seed_customers()
    before = {customer_id: service.get_customer(customer_id).customer for customer_id in SAMPLE_IDS}
    clock.advance(3600)

    # When
    report = service.seed_customers()

    # Then nothing was added or overwritten
    assert report.created == []
    assert report.already_present == SAMPLE_IDS
    assert report.email_taken == []
    assert len(repository) == 10
    assert {customer_id: service.get_customer(customer_id).customer for customer_id in SAMPLE_IDS} == before


def test_seed_customers_never_overwrites_a_changed_sample(service: CustomerService) -> None:
    service.seed_customers()
    changed = service.update_customer(SAMPLE_IDS[0], {"city": "Changed"})

    report = service.seed_customers()

    assert SAMPLE_IDS[0] in report.already_present
    assert service.get_customer(SAMPLE_IDS[0]).customer == changed


def test_seed_customers_recreates_only_the_samples_that_are_missing(
    service: CustomerService, repository: InMemoryCustomerRepository, clock: FakeClock
) -> None:
    # Given a seeded store whose fourth sample was deleted
    service.seed_customers()
    service.delete_customer(SAMPLE_IDS[3])

    # Then while it is restorable it is present (a seed never overwrites a deleted customer)
    assert service.seed_customers().already_present == SAMPLE_IDS

    # and once its restore window ended and TTL removed it, the seed recreates it, alone
    clock.advance(31 * 24 * 3600)
    assert repository.purge_expired() == [SAMPLE_IDS[3]]
    report = service.seed_customers()
    assert report.created == [SAMPLE_IDS[3]]
    assert report.already_present == SAMPLE_IDS[:3] + SAMPLE_IDS[4:]
    assert service.get_customer(SAMPLE_IDS[3]).customer["version"] == 1


def test_seed_customers_reports_a_sample_whose_email_another_customer_holds_and_creates_the_others(
    service: CustomerService, repository: InMemoryCustomerRepository
) -> None:
    # Given a customer of the API already uses the second sample's address (in another case)
    taken_sample = SAMPLE_CUSTOMERS[1]
    holder = service.create_customer(new_customer(email_address=taken_sample["email_address"].upper())).customer

    # When
    report = service.seed_customers()

    # Then that sample is skipped and reported, the others are created, the holder is untouched
    assert report.email_taken == [taken_sample["customer_id"]]
    assert report.created == [customer_id for customer_id in SAMPLE_IDS if customer_id != taken_sample["customer_id"]]
    assert report.already_present == []
    assert taken_sample["customer_id"] not in repository.stored_ids()
    assert service.get_customer(holder["customer_id"]).customer == holder
    assert len(repository) == 10


def test_seed_customers_with_store_busy_is_retried_and_creates_every_sample(
    service: CustomerService, repository: InMemoryCustomerRepository
) -> None:
    repository.fail_next("create", StoreBusy, times=CONFLICT_ATTEMPTS - 1)

    report = service.seed_customers()

    assert report.created == SAMPLE_IDS
    assert repository.calls["create"] == 10 + CONFLICT_ATTEMPTS - 1


def test_seed_customers_with_store_busy_on_every_attempt_is_store_busy(
    service: CustomerService, repository: InMemoryCustomerRepository
) -> None:
    repository.fail_next("create", StoreBusy, times=CONFLICT_ATTEMPTS)

    with pytest.raises(StoreBusy):
        service.seed_customers()

    assert len(repository) == 0
