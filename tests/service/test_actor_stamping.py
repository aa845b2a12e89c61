"""Who, when and which request: every write is stamped from its Origin, and every change takes the next version."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chalicelib.customers.model import SYSTEM, Customer, CustomerChanges, Origin
from chalicelib.customers.privacy import PrivacyService
from chalicelib.customers.service import CustomerService
from tests.service.fake_history import InMemoryHistoryRepository
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.support import Delivery, FakeClock, new_customer, stored

ALICE = Origin("alice", "req-alice")
BOB = Origin("bob", "req-bob")


@pytest.fixture
def by_alice(service: CustomerService, clock: FakeClock) -> Customer:
    created = service.create_customer(new_customer(email_address="ada@example.com"), origin=ALICE).customer
    clock.advance(60)
    return created


def test_create_is_created_and_updated_by_its_actor_in_its_request(
    repository: InMemoryCustomerRepository, by_alice: Customer
) -> None:
    assert (by_alice["created_by"], by_alice["updated_by"]) == ("alice", "alice")
    item = stored(repository, by_alice["customer_id"])
    assert (item.updated_by, item.request_id) == ("alice", "req-alice")


def test_create_with_an_idempotency_key_is_stamped_too(
    service: CustomerService, repository: InMemoryCustomerRepository
) -> None:
    created = service.create_customer(new_customer(), idempotency_key="key-1", origin=BOB).customer

    assert (created["created_by"], stored(repository, created["customer_id"]).request_id) == ("bob", "req-bob")


@pytest.mark.parametrize(
    "changes", [{"city": "Paris"}, {"email_address": "moved@example.com"}], ids=["blind", "email-move"]
)
def test_update_is_updated_by_its_actor_and_keeps_who_created_it(
    service: CustomerService,
    repository: InMemoryCustomerRepository,
    by_alice: Customer,
    clock: FakeClock,
    changes: CustomerChanges,
) -> None:
    updated = service.update_customer(by_alice["customer_id"], changes, origin=BOB)

    assert (updated["created_by"], updated["updated_by"], updated["updated_at"]) == ("alice", "bob", clock.stamp)
    assert updated["created_at"] == by_alice["created_at"]
    item = stored(repository, by_alice["customer_id"])
    assert (item.customer, item.updated_by, item.request_id) == (updated, "bob", "req-bob")


def test_delete_restore_and_erase_are_stamped_by_their_actors(
    service: CustomerService,
    privacy: PrivacyService,
    repository: InMemoryCustomerRepository,
    by_alice: Customer,
    clock: FakeClock,
) -> None:
    customer_id = by_alice["customer_id"]

    service.delete_customer(customer_id, origin=BOB)
    deleted = stored(repository, customer_id)
    clock.advance(60)
    restored = service.restore_customer(customer_id, origin=Origin("carol", "req-carol"))
    clock.advance(60)
    privacy.erase(customer_id, origin=Origin("dpo", "req-dpo"))
    erased = stored(repository, customer_id)

    assert (deleted.updated_by, deleted.request_id) == ("bob", "req-bob")
    assert (restored["updated_by"], restored["created_by"]) == ("carol", "alice")
    assert (erased.updated_by, erased.request_id, erased.updated_at) == ("dpo", "req-dpo", clock.stamp)


def test_writes_without_an_origin_are_the_systems_and_carry_no_previous_request(
    service: CustomerService, repository: InMemoryCustomerRepository, by_alice: Customer
) -> None:
    updated = service.update_customer(by_alice["customer_id"], {"city": "Paris"})

    assert updated["updated_by"] == SYSTEM.actor == "system"
    assert stored(repository, by_alice["customer_id"]).request_id is None  # not alice's request any more


def test_the_history_says_who_made_each_change_in_which_request(
    service: CustomerService,
    history: InMemoryHistoryRepository,
    by_alice: Customer,
    deliver: Delivery,
) -> None:
    service.update_customer(by_alice["customer_id"], {"city": "Paris"}, origin=BOB)
    service.delete_customer(by_alice["customer_id"])
    deliver()

    assert [(entry.actor, entry.request_id) for entry in history.entries(by_alice["customer_id"])] == [
        ("alice", "req-alice"),
        ("bob", "req-bob"),
        ("system", None),
    ]


def test_every_change_takes_the_next_version(
    service: CustomerService,
    privacy: PrivacyService,
    repository: InMemoryCustomerRepository,
    history: InMemoryHistoryRepository,
    by_alice: Customer,
    deliver: Delivery,
) -> None:
    customer_id = by_alice["customer_id"]
    writes: list[Callable[[], object]] = [
        lambda: service.update_customer(customer_id, {"city": "Paris"}),
        lambda: service.update_customer(customer_id, {"email_address": "moved@example.com"}),
        lambda: service.delete_customer(customer_id),
        lambda: service.restore_customer(customer_id),
        lambda: privacy.erase(customer_id),
    ]
    versions = [stored(repository, customer_id).version]
    for write in writes:
        write()
        versions.append(stored(repository, customer_id).version)
    deliver()

    assert versions == [1, 2, 3, 4, 5, 6]
    assert [(entry.version, entry.change) for entry in history.entries(customer_id)] == [
        (1, "created"),
        (2, "updated"),
        (3, "updated"),
        (4, "deleted"),
        (5, "restored"),
        (6, "erased"),
    ]
