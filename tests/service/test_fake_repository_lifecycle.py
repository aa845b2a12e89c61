"""The in-memory store's lifecycle writes keep the adapter's conditions: soft delete, restore, erase, TTL."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.customers.criteria import Criteria
from chalicelib.customers.errors import EmailAlreadyInUse, WriteConflict
from chalicelib.customers.model import Customer, Stamp, StoredCustomer
from tests.service.fake_builders import CREATED, LATER, WINDOW, a_customer, a_record, soft_delete
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.fake_stream import TTL_PRINCIPAL
from tests.service.support import FakeClock, stored


@pytest.fixture
def ada(repository: InMemoryCustomerRepository) -> Customer:
    customer = a_customer(email_address="ada@example.com")
    repository.create(customer, CREATED)
    return customer


# --- soft_delete, restore, erase ----------------------------------------------------------------


def test_soft_delete_hides_the_customer_until_purge_at_and_frees_its_email(
    repository: InMemoryCustomerRepository, ada: Customer, clock: FakeClock
) -> None:
    item = soft_delete(repository, ada, clock)

    assert item.customer == {**ada, "updated_at": LATER.at, "updated_by": LATER.by, "version": 2}
    assert (item.version, item.deleted_at, item.purge_at) == (2, LATER.at, int(clock().timestamp()) + WINDOW)
    assert (item.updated_by, item.request_id, item.is_live) == ("editor", "req-later", False)
    assert repository.email_owner("ada@example.com") is None
    assert repository.page(10, None).customers == []
    assert repository.page(10, None, Criteria(email_address="ada@example.com")).customers == []


def test_soft_delete_from_a_stale_read_or_twice_is_write_conflict(
    repository: InMemoryCustomerRepository, ada: Customer, clock: FakeClock
) -> None:
    repository.update(ada["customer_id"], {"city": "Paris"}, LATER)
    with pytest.raises(WriteConflict):
        repository.soft_delete(ada, LATER, purge_at=2_000_000_000)
    assert repository.email_owner("ada@example.com") == ada["customer_id"]

    deleted = soft_delete(repository, ada, clock)
    assert deleted.customer is not None
    with pytest.raises(WriteConflict):
        repository.soft_delete(deleted.customer, LATER, purge_at=2_000_000_000)


def test_restore_claims_the_email_again_and_makes_it_live_one_version_on(
    repository: InMemoryCustomerRepository, ada: Customer, clock: FakeClock
) -> None:
    deleted = soft_delete(repository, ada, clock)
    again = Stamp("2024-05-01T14:00:00Z", "restorer", "req-restore")

    restored = repository.restore(deleted, again)

    assert restored == {**ada, "updated_at": again.at, "updated_by": "restorer", "version": 3}
    item = stored(repository, ada["customer_id"])
    assert (item.customer, item.deleted_at, item.purge_at, item.request_id) == (restored, None, None, "req-restore")
    assert repository.email_owner("ada@example.com") == ada["customer_id"]
    assert repository.page(10, None).customers == [restored]


def test_restore_refuses_a_live_customer_a_stale_read_and_an_ended_window_as_write_conflict(
    repository: InMemoryCustomerRepository, ada: Customer, clock: FakeClock
) -> None:
    with pytest.raises(WriteConflict):
        repository.restore(stored(repository, ada["customer_id"]), LATER)
    deleted = soft_delete(repository, ada, clock)
    with pytest.raises(WriteConflict):
        repository.restore(replace(deleted, version=1), LATER)

    clock.advance(WINDOW)  # purge_at itself is past the window
    with pytest.raises(WriteConflict):
        repository.restore(deleted, LATER)
    assert stored(repository, ada["customer_id"]) == deleted


def test_restore_to_a_taken_address_is_email_already_in_use_unless_it_changed_since_read(
    repository: InMemoryCustomerRepository, ada: Customer, clock: FakeClock
) -> None:
    deleted = soft_delete(repository, ada, clock)
    grace = a_customer(email_address="ADA@example.com")
    repository.create(grace, CREATED)

    with pytest.raises(EmailAlreadyInUse):
        repository.restore(deleted, LATER)
    with pytest.raises(WriteConflict):  # a changed customer outranks the claim: only a fresh read can tell
        repository.restore(replace(deleted, version=1), LATER)

    assert stored(repository, ada["customer_id"]) == deleted
    assert repository.email_owner("ada@example.com") == grace["customer_id"]


def test_erase_of_a_live_customer_leaves_a_tombstone_frees_its_email_and_empties_its_record(
    repository: InMemoryCustomerRepository, clock: FakeClock
) -> None:
    customer = a_customer(email_address="eve@example.com")
    repository.create(customer, CREATED, a_record(customer, clock, key="key-1"))

    repository.erase(stored(repository, customer["customer_id"]), LATER)

    assert stored(repository, customer["customer_id"]) == StoredCustomer(
        customer["customer_id"], 2, None, LATER.at, "editor", "req-later", erased_at=LATER.at
    )
    assert repository.email_owner("eve@example.com") is None
    record = repository.idempotency_record("key-1")
    assert record is not None
    assert (record.customer_id, record.customer, record.fingerprint) == (customer["customer_id"], None, None)
    assert repository.page(10, None).customers == []


def test_erase_of_a_deleted_customer_leaves_its_address_to_whoever_took_it(
    repository: InMemoryCustomerRepository, ada: Customer, clock: FakeClock
) -> None:
    deleted = soft_delete(repository, ada, clock)
    grace = a_customer(email_address="ada@example.com")
    repository.create(grace, CREATED)

    repository.erase(deleted, LATER)

    assert stored(repository, ada["customer_id"]).erased_at == LATER.at
    assert repository.email_owner("ada@example.com") == grace["customer_id"]


def test_erase_from_a_stale_read_or_twice_is_write_conflict(
    repository: InMemoryCustomerRepository, ada: Customer
) -> None:
    read = stored(repository, ada["customer_id"])
    repository.update(ada["customer_id"], {"city": "Paris"}, LATER)
    with pytest.raises(WriteConflict):
        repository.erase(read, LATER)
    assert repository.email_owner("ada@example.com") == ada["customer_id"]

    repository.erase(stored(repository, ada["customer_id"]), LATER)
    with pytest.raises(WriteConflict):
        repository.erase(stored(repository, ada["customer_id"]), LATER)


def test_erase_leaves_a_record_its_key_made_for_another_customer_since(
    repository: InMemoryCustomerRepository, clock: FakeClock
) -> None:
    first = a_customer()
    repository.create(first, CREATED, a_record(first, clock, key="key-1", ttl=10))
    clock.advance(11)  # the record expired; the key is reused by another create
    second = a_customer()
    repository.create(second, CREATED, a_record(second, clock, key="key-1"))

    repository.erase(stored(repository, first["customer_id"]), LATER)

    assert repository.idempotency_record("key-1") == a_record(second, clock, key="key-1")


# --- the stream and the TTL sweep -------------------------------------------------------------


def test_every_write_reaches_the_stream_once_with_its_old_and_new_item(
    repository: InMemoryCustomerRepository, ada: Customer, clock: FakeClock
) -> None:
    created = stored(repository, ada["customer_id"])
    repository.update(ada["customer_id"], {"city": "Paris"}, LATER)
    updated = stored(repository, ada["customer_id"])
    with pytest.raises(WriteConflict):  # a refused write leaves no record
        repository.update(ada["customer_id"], {"city": "Rome"}, LATER, expected_version=1)
    deleted = soft_delete(repository, ada, clock)

    changes = repository.stream.changes()
    assert [(change.old, change.new) for change in changes] == [(None, created), (created, updated), (updated, deleted)]
    assert [record["eventName"] for record in repository.stream.records] == ["INSERT", "MODIFY", "MODIFY"]
    assert len({change.sequence_number for change in changes}) == 3


def test_purge_expired_removes_only_soft_deleted_items_past_their_window_as_dynamodb(
    repository: InMemoryCustomerRepository, ada: Customer, clock: FakeClock
) -> None:
    keep, erased = a_customer(), a_customer()
    repository.create(keep, CREATED)
    repository.create(erased, CREATED)
    repository.erase(stored(repository, erased["customer_id"]), LATER)
    deleted = soft_delete(repository, ada, clock)
    clock.advance(WINDOW - 1)
    assert repository.purge_expired() == []

    clock.advance(1)
    assert repository.purge_expired() == [ada["customer_id"]]

    assert repository.read(ada["customer_id"]) is None
    assert repository.stored_ids() == {keep["customer_id"], erased["customer_id"]}
    removal = repository.stream.changes()[-1]
    assert (removal.old, removal.new, removal.removed_by) == (deleted, None, TTL_PRINCIPAL)
    assert repository.stream.records[-1]["userIdentity"] == {"type": "Service", "principalId": TTL_PRINCIPAL}
