"""The in-memory store keeps the port's promises: the service tests are only as good as it is.

Creates, updates, pages and hooks here; soft delete, restore, erasure, the stream and
the TTL sweep in test_fake_repository_lifecycle.py.
"""

from __future__ import annotations

import json
import uuid

import pytest

from chalicelib.customers.criteria import Criteria
from chalicelib.customers.errors import (
    CustomerAlreadyExists,
    CustomerNotFound,
    EmailAlreadyInUse,
    IdempotencyKeyTaken,
    StoreBusy,
    WriteConflict,
)
from chalicelib.customers.model import Customer, Stamp, StoredCustomer
from chalicelib.customers.search import customer_terms
from tests.service.fake_builders import CREATED, LATER, a_customer, a_record, soft_delete
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.support import FakeClock, live, stored


@pytest.fixture
def ada(repository: InMemoryCustomerRepository) -> Customer:
    customer = a_customer(email_address="ada@example.com")
    repository.create(customer, CREATED)
    return customer


# --- create ---------------------------------------------------------------------------------


def test_create_stores_the_customer_with_its_request_and_key(
    repository: InMemoryCustomerRepository, clock: FakeClock
) -> None:
    customer = a_customer()
    repository.create(customer, CREATED, a_record(customer, clock, key="key-1"))

    assert stored(repository, customer["customer_id"]) == StoredCustomer(
        customer["customer_id"],
        1,
        customer,
        updated_at=CREATED.at,
        updated_by=CREATED.by,
        request_id=CREATED.request_id,
        idempotency_key="key-1",
        search_terms=customer_terms(customer),
    )


def test_create_refused_for_a_taken_email_stores_neither_customer_nor_record(
    repository: InMemoryCustomerRepository, ada: Customer, clock: FakeClock
) -> None:
    newcomer = a_customer(email_address="ADA@example.com")

    with pytest.raises(EmailAlreadyInUse):
        repository.create(newcomer, CREATED, a_record(newcomer, clock))

    assert repository.stored_ids() == {ada["customer_id"]}
    assert repository.idempotency_record("k") is None
    assert len(repository.stream.records) == 1  # only ada's own create


@pytest.mark.parametrize("state", ["live", "deleted", "erased"])
def test_create_with_a_taken_id_in_any_state_is_customer_already_exists(
    repository: InMemoryCustomerRepository, ada: Customer, clock: FakeClock, state: str
) -> None:
    if state != "live":
        item = soft_delete(repository, ada, clock)
        if state == "erased":
            repository.erase(item, LATER)

    with pytest.raises(CustomerAlreadyExists):
        repository.create({**ada, "email_address": "other@example.com"}, CREATED)

    assert repository.email_owner("other@example.com") is None


def test_create_with_a_live_key_is_idempotency_key_taken_before_anything_else(
    repository: InMemoryCustomerRepository, ada: Customer, clock: FakeClock
) -> None:
    first = a_customer()
    repository.create(first, CREATED, a_record(first, clock))

    # Same id and email as a stored customer too: the key is what the answer names
    with pytest.raises(IdempotencyKeyTaken):
        repository.create(ada, CREATED, a_record(ada, clock))


def test_an_expired_record_is_absent_for_lookups_and_for_creates(
    repository: InMemoryCustomerRepository, clock: FakeClock
) -> None:
    first = a_customer()
    repository.create(first, CREATED, a_record(first, clock, ttl=10))
    clock.advance(11)

    assert repository.idempotency_record("k") is None
    second = a_customer()
    repository.create(second, CREATED, a_record(second, clock))
    record = repository.idempotency_record("k")
    assert record is not None
    assert (record.customer_id, record.customer) == (second["customer_id"], second)


# --- update and apply_changes -----------------------------------------------------------------


def test_update_without_expected_version_stamps_the_write_and_bumps_the_version(
    repository: InMemoryCustomerRepository, ada: Customer
) -> None:
    updated = repository.update(ada["customer_id"], {"city": "Paris"}, LATER)

    assert (updated["city"], updated["version"], updated["updated_at"]) == ("Paris", 2, LATER.at)
    assert (updated["updated_by"], updated["created_by"]) == (LATER.by, CREATED.by)
    item = stored(repository, ada["customer_id"])
    assert (item.customer, item.version, item.updated_by, item.request_id) == (updated, 2, "editor", "req-later")


def test_a_write_without_a_request_id_does_not_keep_the_previous_writes(
    repository: InMemoryCustomerRepository, ada: Customer
) -> None:
    repository.update(ada["customer_id"], {"city": "Paris"}, Stamp(LATER.at, "script"))

    assert stored(repository, ada["customer_id"]).request_id is None


@pytest.mark.parametrize("state", ["missing", "deleted", "erased"])
def test_update_of_a_customer_that_is_not_live_is_customer_not_found(
    repository: InMemoryCustomerRepository, ada: Customer, clock: FakeClock, state: str
) -> None:
    customer_id = str(uuid.uuid4()) if state == "missing" else ada["customer_id"]
    if state != "missing":
        item = soft_delete(repository, ada, clock)
        if state == "erased":
            repository.erase(item, LATER)
    before = repository.read(customer_id)

    for expected_version in (None, 1, 2, 3):
        with pytest.raises(CustomerNotFound):
            repository.update(customer_id, {"city": "Paris"}, LATER, expected_version=expected_version)

    assert repository.read(customer_id) == before


def test_update_at_another_version_is_write_conflict_and_changes_nothing(
    repository: InMemoryCustomerRepository, ada: Customer
) -> None:
    with pytest.raises(WriteConflict):
        repository.update(ada["customer_id"], {"city": "Paris"}, LATER, expected_version=2)

    assert live(repository, ada["customer_id"]) == ada


def test_update_refuses_to_change_the_address_without_moving_its_claim(
    repository: InMemoryCustomerRepository, ada: Customer
) -> None:
    with pytest.raises(AssertionError):
        repository.update(ada["customer_id"], {"email_address": "new@example.com"}, LATER)


def test_apply_changes_to_a_taken_address_changes_nothing(
    repository: InMemoryCustomerRepository, ada: Customer
) -> None:
    grace = a_customer(email_address="grace@example.com")
    repository.create(grace, CREATED)

    with pytest.raises(EmailAlreadyInUse):
        repository.apply_changes(ada, {"email_address": "grace@example.com", "city": "X"}, LATER)

    assert live(repository, ada["customer_id"]) == ada
    assert repository.email_owner("ada@example.com") == ada["customer_id"]
    assert repository.email_owner("grace@example.com") == grace["customer_id"]


def test_apply_changes_from_a_stale_read_is_write_conflict_and_moves_no_claim(
    repository: InMemoryCustomerRepository, ada: Customer
) -> None:
    repository.update(ada["customer_id"], {"city": "Paris"}, LATER)

    with pytest.raises(WriteConflict):
        repository.apply_changes(ada, {"email_address": "new@example.com"}, LATER)

    assert repository.email_owner("new@example.com") is None
    assert repository.email_owner("ada@example.com") == ada["customer_id"]


def test_apply_changes_moving_the_email_of_a_deleted_customer_is_write_conflict(
    repository: InMemoryCustomerRepository, ada: Customer, clock: FakeClock
) -> None:
    soft_delete(repository, ada, clock)

    with pytest.raises(WriteConflict):
        repository.apply_changes({**ada, "version": 2}, {"email_address": "new@example.com"}, LATER)

    assert repository.email_owner("new@example.com") is None


# --- reads, pages, positions, hooks --------------------------------------------------------------


def test_returned_customers_are_copies(repository: InMemoryCustomerRepository, ada: Customer) -> None:
    read = live(repository, ada["customer_id"])
    read["preferred_communication_channels"].append("pigeon")
    ada["city"] = "mutated after create"

    assert live(repository, ada["customer_id"])["preferred_communication_channels"] == ["email"]
    assert "city" not in live(repository, ada["customer_id"])


def test_positions_are_json_and_recognised_only_by_their_own_listing(repository: InMemoryCustomerRepository) -> None:
    for _ in range(3):
        repository.create(a_customer(customer_status="active"), CREATED)
    unfiltered = repository.page(1, None).next_position
    active = repository.page(1, None, Criteria(customer_status="active")).next_position
    assert unfiltered is not None
    assert active is not None

    assert json.loads(json.dumps(unfiltered)) == unfiltered
    assert repository.is_position(unfiltered)
    assert not repository.is_position(unfiltered, Criteria(customer_status="active"))
    assert repository.is_position(active, Criteria(customer_status="active"))
    assert not repository.is_position(active, Criteria(customer_status="inactive"))
    assert not repository.is_position(active)
    assert not repository.is_position({"after": "not-a-uuid"})
    assert not repository.is_position({**unfiltered, "extra": 1})


def test_page_refuses_a_position_it_does_not_issue(repository: InMemoryCustomerRepository) -> None:
    with pytest.raises(AssertionError):
        repository.page(5, {"customer_id": str(uuid.uuid4())})


def test_fail_next_fails_that_many_calls_then_stops(repository: InMemoryCustomerRepository, ada: Customer) -> None:
    repository.fail_next("read", StoreBusy, times=2)

    for _ in range(2):
        with pytest.raises(StoreBusy):
            repository.read(ada["customer_id"])
    assert live(repository, ada["customer_id"]) == ada
    assert repository.pending_hooks() == 0


def test_before_next_runs_once_per_queued_call(repository: InMemoryCustomerRepository, ada: Customer) -> None:
    ran: list[int] = []
    repository.before_next("read", lambda: ran.append(len(ran)), times=2)

    for _ in range(3):
        repository.read(ada["customer_id"])

    assert ran == [0, 1]
