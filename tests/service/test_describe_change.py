"""describe_change: what one stream record means, for every kind of change the use cases make.

The changes come from the use cases themselves, through the fake store's stream, so the
items before and after are the ones the service really writes.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from chalicelib.customers.changes import UNKNOWN_ACTOR, describe_change
from chalicelib.customers.model import WRITABLE_FIELDS, Customer, HistoryEntry, Origin
from chalicelib.customers.ports import StreamChange
from chalicelib.customers.privacy import PrivacyService
from chalicelib.customers.service import CustomerService
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.fake_stream import TTL_PRINCIPAL
from tests.service.support import FakeClock, new_customer

ALICE = Origin("alice", "req-1")


def last_change(repository: InMemoryCustomerRepository) -> StreamChange:
    return repository.stream.changes()[-1]


def described(repository: InMemoryCustomerRepository) -> HistoryEntry:
    entry = describe_change(last_change(repository))
    assert entry is not None
    return entry


@pytest.fixture
def created(service: CustomerService, clock: FakeClock) -> Customer:
    fields = new_customer(city="London", phone_number="555-0100", lifetime_value=Decimal("12.50"))
    customer = service.create_customer(fields, origin=Origin("creator", "req-create")).customer
    clock.advance(60)
    return customer


def test_a_create_is_created_with_every_field_it_set_from_none(
    repository: InMemoryCustomerRepository, created: Customer
) -> None:
    entry = described(repository)

    set_fields = [name for name in WRITABLE_FIELDS if name in created]
    assert entry == HistoryEntry(
        created["customer_id"],
        1,
        "created",
        occurred_at=created["created_at"],
        actor="creator",
        request_id="req-create",
        changes={name: {"from": None, "to": dict(created)[name]} for name in set_fields},
        customer=created,
    )
    assert entry.changed_fields == set_fields  # in the API's field order
    assert {"city", "phone_number", "lifetime_value", "customer_acquisition_date"} <= set(set_fields)
    assert "address" not in entry.changes  # never set: not a change


def test_an_update_is_updated_with_only_the_fields_that_changed(
    service: CustomerService, repository: InMemoryCustomerRepository, created: Customer, clock: FakeClock
) -> None:
    updated = service.update_customer(
        created["customer_id"],
        {"city": "Paris", "phone_number": "555-0100", "address": "1 Rue de Rivoli"},
        origin=ALICE,
    )

    entry = described(repository)

    assert (entry.change, entry.version, entry.actor, entry.request_id) == ("updated", 2, "alice", "req-1")
    assert entry.occurred_at == clock.stamp
    assert entry.changes == {  # the phone number was sent unchanged: not a change
        "address": {"from": None, "to": "1 Rue de Rivoli"},
        "city": {"from": "London", "to": "Paris"},
    }
    assert entry.customer == updated
    assert not entry.redacted


def test_an_email_move_is_an_update_of_the_address(
    service: CustomerService, repository: InMemoryCustomerRepository, created: Customer
) -> None:
    service.update_customer(created["customer_id"], {"email_address": "moved@example.com"})

    entry = described(repository)

    assert entry.change == "updated"
    assert entry.changes == {"email_address": {"from": created["email_address"], "to": "moved@example.com"}}


def test_a_delete_is_deleted_with_no_changes_and_no_customer(
    service: CustomerService, repository: InMemoryCustomerRepository, created: Customer, clock: FakeClock
) -> None:
    service.delete_customer(created["customer_id"], origin=ALICE)

    entry = described(repository)

    assert entry == HistoryEntry(
        created["customer_id"], 2, "deleted", clock.stamp, "alice", "req-1", changes={}, customer=None
    )


def test_a_restore_is_restored_with_no_changes_and_the_customer_back(
    service: CustomerService, repository: InMemoryCustomerRepository, created: Customer, clock: FakeClock
) -> None:
    service.delete_customer(created["customer_id"])
    clock.advance(60)
    restored = service.restore_customer(created["customer_id"], origin=ALICE)

    entry = described(repository)

    assert entry == HistoryEntry(
        created["customer_id"], 3, "restored", clock.stamp, "alice", "req-1", changes={}, customer=restored
    )


@pytest.mark.parametrize("deleted_first", [False, True])
def test_an_erasure_is_erased_naming_the_fields_without_a_value_redacted(
    service: CustomerService,
    privacy: PrivacyService,
    repository: InMemoryCustomerRepository,
    created: Customer,
    clock: FakeClock,
    deleted_first: bool,
) -> None:
    if deleted_first:
        service.delete_customer(created["customer_id"])
    privacy.erase(created["customer_id"], origin=Origin("dpo", "req-erase"))

    entry = described(repository)

    set_fields = [name for name in WRITABLE_FIELDS if name in created]
    assert entry == HistoryEntry(
        created["customer_id"],
        3 if deleted_first else 2,
        "erased",
        clock.stamp,
        "dpo",
        "req-erase",
        changes={name: {"from": None, "to": None} for name in set_fields},
        customer=None,
        redacted=True,
    )


def test_a_ttl_removal_is_purged_one_version_on_by_the_principal_that_removed_it(
    service: CustomerService, repository: InMemoryCustomerRepository, created: Customer, clock: FakeClock
) -> None:
    service.delete_customer(created["customer_id"])
    clock.advance(31 * 24 * 3600)
    repository.purge_expired()

    entry = described(repository)

    assert entry == HistoryEntry(
        created["customer_id"],
        3,
        "purged",
        occurred_at=last_change(repository).recorded_at,
        actor=TTL_PRINCIPAL,
        request_id=None,
        changes={},
        customer=None,
    )
    assert entry.occurred_at == clock.stamp


def test_a_removal_no_principal_made_is_purged_by_an_unknown_actor(
    service: CustomerService, repository: InMemoryCustomerRepository, created: Customer
) -> None:
    service.delete_customer(created["customer_id"])
    deleted = last_change(repository).new
    by_hand = StreamChange("1", deleted, None, removed_by=None, recorded_at="2024-06-01T00:00:00Z")

    entry = describe_change(by_hand)

    assert entry is not None
    assert (entry.change, entry.actor, entry.occurred_at) == ("purged", UNKNOWN_ACTOR, "2024-06-01T00:00:00Z")


def test_a_change_without_a_recorded_actor_is_by_an_unknown_actor(
    repository: InMemoryCustomerRepository, created: Customer
) -> None:
    change = last_change(repository)
    assert change.new is not None
    legacy = replace(change, new=replace(change.new, updated_by=None, request_id=None))

    entry = describe_change(legacy)

    assert entry is not None
    assert (entry.actor, entry.request_id) == (UNKNOWN_ACTOR, None)


def test_a_modify_that_keeps_the_version_is_no_change(
    repository: InMemoryCustomerRepository, created: Customer
) -> None:
    # Like a backfill of index keys: the item is rewritten, its version is not
    change = last_change(repository)
    backfill = StreamChange("2", change.new, change.new, removed_by=None, recorded_at=change.recorded_at)

    assert describe_change(backfill) is None


def test_removing_a_tombstone_is_no_change(
    privacy: PrivacyService, repository: InMemoryCustomerRepository, created: Customer
) -> None:
    privacy.erase(created["customer_id"])
    tombstone = last_change(repository).new
    removal = StreamChange("3", tombstone, None, removed_by=None, recorded_at="2024-06-01T00:00:00Z")

    assert describe_change(removal) is None
