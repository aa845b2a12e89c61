"""The in-memory store keeps the port's promises: the service tests are only as good as it is."""

from __future__ import annotations

import json
import uuid
from typing import cast

import pytest

from chalicelib.customers.errors import (
    CustomerAlreadyExists,
    CustomerNotFound,
    EmailAlreadyInUse,
    IdempotencyKeyTaken,
    StoreBusy,
    WriteConflict,
)
from chalicelib.customers.model import Customer, Filter
from chalicelib.customers.ports import IdempotencyRecord
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.support import FakeClock, new_customer

STAMP = "2024-05-01T12:00:00Z"


def a_customer(**fields: str) -> Customer:
    return cast(
        Customer,
        {
            **new_customer(**fields),
            "customer_id": str(uuid.uuid4()),
            "created_at": STAMP,
            "updated_at": STAMP,
            "version": 1,
        },
    )


def a_record(customer: Customer, clock: FakeClock, key: str = "k", ttl: int = 100) -> IdempotencyRecord:
    return IdempotencyRecord(key, "fingerprint", customer, int(clock().timestamp()) + ttl)


@pytest.fixture
def stored(repository: InMemoryCustomerRepository) -> Customer:
    customer = a_customer(email_address="ada@example.com")
    repository.create(customer)
    return customer


def test_create_refused_for_a_taken_email_stores_neither_customer_nor_record(
    repository: InMemoryCustomerRepository, stored: Customer, clock: FakeClock
) -> None:
    newcomer = a_customer(email_address="ADA@example.com")

    with pytest.raises(EmailAlreadyInUse):
        repository.create(newcomer, a_record(newcomer, clock))

    assert repository.stored_ids() == {stored["customer_id"]}
    assert repository.idempotency_record("k") is None


def test_create_with_a_taken_id_is_customer_already_exists(
    repository: InMemoryCustomerRepository, stored: Customer
) -> None:
    with pytest.raises(CustomerAlreadyExists):
        repository.create({**stored, "email_address": "other@example.com"})

    assert repository.email_owner("other@example.com") is None


def test_create_with_a_live_key_is_idempotency_key_taken_before_anything_else(
    repository: InMemoryCustomerRepository, stored: Customer, clock: FakeClock
) -> None:
    first = a_customer()
    repository.create(first, a_record(first, clock))

    # Same id and email as a stored customer too: the key is what the answer names
    with pytest.raises(IdempotencyKeyTaken):
        repository.create(stored, a_record(stored, clock))


def test_an_expired_record_is_absent_for_lookups_and_for_creates(
    repository: InMemoryCustomerRepository, clock: FakeClock
) -> None:
    first = a_customer()
    repository.create(first, a_record(first, clock, ttl=10))
    clock.advance(11)

    assert repository.idempotency_record("k") is None
    second = a_customer()
    repository.create(second, a_record(second, clock))
    record = repository.idempotency_record("k")
    assert record is not None
    assert record.customer == second


def test_update_without_expected_version_requires_only_existence(
    repository: InMemoryCustomerRepository, stored: Customer
) -> None:
    updated = repository.update(stored["customer_id"], {"city": "Paris"}, updated_at="later")

    assert (updated["city"], updated["version"], updated["updated_at"]) == ("Paris", 2, "later")
    with pytest.raises(CustomerNotFound):
        repository.update(str(uuid.uuid4()), {"city": "Paris"}, updated_at="later")


def test_update_at_another_version_is_write_conflict_and_changes_nothing(
    repository: InMemoryCustomerRepository, stored: Customer
) -> None:
    with pytest.raises(WriteConflict):
        repository.update(stored["customer_id"], {"city": "Paris"}, updated_at="later", expected_version=2)

    assert repository.get(stored["customer_id"]) == stored


def test_update_refuses_to_change_the_address_without_moving_its_claim(
    repository: InMemoryCustomerRepository, stored: Customer
) -> None:
    with pytest.raises(AssertionError):
        repository.update(stored["customer_id"], {"email_address": "new@example.com"}, updated_at="later")


def test_apply_changes_to_a_taken_address_changes_nothing(
    repository: InMemoryCustomerRepository, stored: Customer
) -> None:
    grace = a_customer(email_address="grace@example.com")
    repository.create(grace)

    with pytest.raises(EmailAlreadyInUse):
        repository.apply_changes(stored, {"email_address": "grace@example.com", "city": "X"}, updated_at="later")

    assert repository.get(stored["customer_id"]) == stored
    assert repository.email_owner("ada@example.com") == stored["customer_id"]
    assert repository.email_owner("grace@example.com") == grace["customer_id"]


def test_apply_changes_from_a_stale_read_is_write_conflict_and_moves_no_claim(
    repository: InMemoryCustomerRepository, stored: Customer
) -> None:
    repository.update(stored["customer_id"], {"city": "Paris"}, updated_at="later")

    with pytest.raises(WriteConflict):
        repository.apply_changes(stored, {"email_address": "new@example.com"}, updated_at="later")

    assert repository.email_owner("new@example.com") is None
    assert repository.email_owner("ada@example.com") == stored["customer_id"]


def test_delete_from_a_stale_read_is_write_conflict(repository: InMemoryCustomerRepository, stored: Customer) -> None:
    repository.update(stored["customer_id"], {"city": "Paris"}, updated_at="later")

    with pytest.raises(WriteConflict):
        repository.delete(stored)

    assert repository.email_owner("ada@example.com") == stored["customer_id"]


def test_returned_customers_are_copies(repository: InMemoryCustomerRepository, stored: Customer) -> None:
    read = repository.get(stored["customer_id"])
    read["preferred_communication_channels"].append("pigeon")
    stored["city"] = "mutated after create"

    assert repository.get(stored["customer_id"])["preferred_communication_channels"] == ["email"]
    assert "city" not in repository.get(stored["customer_id"])


def test_positions_are_json_and_recognised_only_by_their_own_listing(repository: InMemoryCustomerRepository) -> None:
    for _ in range(3):
        repository.create(a_customer(customer_status="active", email_address=f"{uuid.uuid4().hex}@example.com"))
    unfiltered = repository.page(1, None).next_position
    active = repository.page(1, None, Filter("customer_status", "active")).next_position
    assert unfiltered is not None
    assert active is not None

    assert json.loads(json.dumps(unfiltered)) == unfiltered
    assert repository.is_position(unfiltered)
    assert not repository.is_position(unfiltered, Filter("customer_status", "active"))
    assert repository.is_position(active, Filter("customer_status", "active"))
    assert not repository.is_position(active, Filter("customer_status", "inactive"))
    assert not repository.is_position(active)
    assert not repository.is_position({"after": "not-a-uuid"})
    assert not repository.is_position({**unfiltered, "extra": 1})


def test_page_refuses_a_position_it_does_not_issue(repository: InMemoryCustomerRepository) -> None:
    with pytest.raises(AssertionError):
        repository.page(5, {"customer_id": str(uuid.uuid4())})


def test_fail_next_fails_that_many_calls_then_stops(repository: InMemoryCustomerRepository, stored: Customer) -> None:
    repository.fail_next("get", StoreBusy, times=2)

    for _ in range(2):
        with pytest.raises(StoreBusy):
            repository.get(stored["customer_id"])
    assert repository.get(stored["customer_id"]) == stored
    assert repository.pending_hooks() == 0


def test_before_next_runs_once_per_queued_call(repository: InMemoryCustomerRepository, stored: Customer) -> None:
    ran: list[int] = []
    repository.before_next("get", lambda: ran.append(len(ran)), times=2)

    for _ in range(3):
        repository.get(stored["customer_id"])

    assert ran == [0, 1]
