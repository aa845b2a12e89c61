"""The fakes and the DynamoDB adapters (on moto) answer the same scenarios the same way.

The service tier trusts its fakes to mirror the adapters; these scenarios, run against
both, are where that trust is checked. A test that fails for ``dynamodb`` only is a place
where the adapter breaks the port's contract and the fake keeps it (the fake's docstring
lists them).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, cast

import boto3
import pytest
from moto import mock_aws

from chalicelib.customers.errors import CustomerNotFound, EmailAlreadyInUse, RequestInProgress, WriteConflict
from chalicelib.customers.model import Customer, CustomerChanges, HistoryEntry, Stamp, StoredCustomer
from chalicelib.customers.ports import (
    BatchRecord,
    ChangeWrite,
    CustomerRepository,
    DeleteWrite,
    HistoryRepository,
    IdempotencyRecord,
    NewCustomerWrite,
    UnchangedCheck,
    WritesRefused,
)
from chalicelib.customers.search import customer_terms
from chalicelib.customers.service import utc_now
from chalicelib.storage.history import DynamoDBHistoryRepository
from chalicelib.storage.repository import DynamoDBCustomerRepository
from chalicelib.storage.tables import ALL_TABLES
from tests.service.fake_builders import ADA, BOB, a_customer, an_entry, redacted
from tests.service.fake_history import InMemoryHistoryRepository
from tests.service.fake_repository import InMemoryCustomerRepository

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CREATED = Stamp("2026-02-01T12:00:00Z", "creator", "req-create")
LATER = Stamp("2026-02-01T13:00:00Z", "editor", "req-later")
# Recorded times inside the DynamoDB feed's buckets (it starts at storage.history.FEED_EPOCH).
R1, R2, R3 = "2026-02-01T12:00:01.000000Z", "2026-02-01T12:00:02.000000Z", "2026-02-01T12:00:03.000000Z"


@dataclass
class Stores:
    customers: CustomerRepository
    history: HistoryRepository


@pytest.fixture(scope="module")
def moto_client() -> Iterator[DynamoDBClient]:
    """One moto DynamoDB for the module (a client is slow to build); each test gets tables of its own."""
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
            patch.setenv(name, value)
        yield boto3.client("dynamodb", region_name="us-east-1")


@pytest.fixture(params=["fake", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Stores:
    if request.param == "fake":
        # Real time, as the adapter's conditions use it
        return Stores(InMemoryCustomerRepository(clock=utc_now), InMemoryHistoryRepository())
    client: DynamoDBClient = request.getfixturevalue("moto_client")
    suffix = uuid.uuid4().hex[:8]
    for spec in ALL_TABLES:
        client.create_table(**spec.create_table_request(f"{spec.base_name}-{suffix}"))
    customers = DynamoDBCustomerRepository(
        client,
        f"customers-{suffix}",
        f"customer-emails-{suffix}",
        f"customer-idempotency-{suffix}",
        f"customer-search-{suffix}",
    )
    return Stores(customers, DynamoDBHistoryRepository(client, f"customer-history-{suffix}"))


def created(stores: Stores, *, email: str = "ada@example.com", key: str | None = None, ttl: int = 100) -> Customer:
    customer = a_customer(email_address=email)
    record = None
    if key is not None:
        record = IdempotencyRecord(key, "fingerprint", customer["customer_id"], customer, int(time.time()) + ttl)
    stores.customers.create(customer, CREATED, record)
    return customer


def read(stores: Stores, customer_id: str) -> StoredCustomer:
    item = stores.customers.read(customer_id)
    assert item is not None
    return item


def deleted(stores: Stores, customer: Customer) -> StoredCustomer:
    current = read(stores, customer["customer_id"]).customer
    assert current is not None
    stores.customers.soft_delete(current, LATER, purge_at=int(time.time()) + 3600)
    return read(stores, customer["customer_id"])


# --- customers --------------------------------------------------------------------------------


def test_create_delete_and_restore_leave_the_same_items(stores: Stores) -> None:
    ada = created(stores, key="key-1")
    assert read(stores, ada["customer_id"]) == StoredCustomer(
        ada["customer_id"],
        1,
        ada,
        ada["updated_at"],
        "creator",
        "req-create",
        idempotency_key="key-1",
        search_terms=customer_terms(ada),
    )

    item = deleted(stores, ada)
    stamped: Customer = {**ada, "updated_at": LATER.at, "updated_by": "editor", "version": 2}
    assert (item.customer, item.version, item.deleted_at, item.request_id) == (stamped, 2, LATER.at, "req-later")
    assert stores.customers.page(10, None).customers == []

    again = Stamp("2026-02-01T14:00:00Z", "restorer", "req-restore")
    restored = stores.customers.restore(item, again)
    assert restored == {**ada, "updated_at": again.at, "updated_by": "restorer", "version": 3}
    assert read(stores, ada["customer_id"]) == StoredCustomer(
        ada["customer_id"],
        3,
        restored,
        again.at,
        "restorer",
        "req-restore",
        idempotency_key="key-1",
        search_terms=customer_terms(ada),
    )


def test_an_update_that_changes_nothing_writes_nothing_and_a_removal_takes_the_field(stores: Stores) -> None:
    ada = created(stores)
    customer_id = ada["customer_id"]
    unchanged: CustomerChanges = {"customer_status": ada["customer_status"], "lifetime_value": ada["lifetime_value"]}
    same = stores.customers.update(customer_id, unchanged, LATER)
    assert same == ada
    assert stores.customers.update(customer_id, {}, LATER, removals=frozenset({"date_of_birth"})) == ada
    assert read(stores, customer_id).version == 1

    stores.customers.update(customer_id, {"state": "IL"}, LATER)
    removed = stores.customers.update(customer_id, {}, LATER, removals=frozenset({"state"}), expected_version=2)
    assert "state" not in removed
    assert removed["version"] == 3
    assert read(stores, customer_id).customer == removed
    with pytest.raises(WriteConflict):  # a no-op at a version it no longer has
        stores.customers.update(customer_id, unchanged, LATER, expected_version=1)


def test_the_holder_of_an_address_is_found_in_any_spelling_until_it_is_deleted(stores: Stores) -> None:
    ada = created(stores)
    assert stores.customers.holder_of("ADA@Example.com") == ada["customer_id"]
    assert stores.customers.holder_of("nobody@example.com") is None
    deleted(stores, ada)
    assert stores.customers.holder_of("ada@example.com") is None


def test_an_atomic_write_applies_everything_or_names_each_failure_and_writes_nothing(stores: Stores) -> None:
    ada, eve = created(stores), created(stores, email="eve@example.com")
    bob = a_customer(email_address="bob@example.com")
    taken = a_customer(email_address="EVE@example.com")
    stale: Customer = {**ada, "version": 7}
    with pytest.raises(WritesRefused) as refused:
        stores.customers.write_atomically(
            [NewCustomerWrite(bob), NewCustomerWrite(taken), ChangeWrite(stale, {"city": "Oslo"})], LATER
        )
    assert set(refused.value.failures) == {1, 2}
    assert isinstance(refused.value.failures[1], EmailAlreadyInUse)
    assert refused.value.failures[1].holder == eve["customer_id"]
    assert isinstance(refused.value.failures[2], WriteConflict)
    assert stores.customers.read(bob["customer_id"]) is None
    assert read(stores, ada["customer_id"]).version == 1

    stores.customers.write_atomically(
        [NewCustomerWrite(bob), ChangeWrite(ada, {"city": "Oslo"}), DeleteWrite(eve, int(time.time()) + 60)], LATER
    )
    assert read(stores, bob["customer_id"]).customer == bob
    changed = read(stores, ada["customer_id"]).customer
    assert changed is not None
    assert changed.get("city") == "Oslo"
    assert read(stores, eve["customer_id"]).deleted_at == LATER.at
    assert stores.customers.holder_of("eve@example.com") is None


def test_an_atomic_write_checks_what_it_leaves_unchanged_and_stores_the_batch_record_with_it(stores: Stores) -> None:
    ada, eve = created(stores), created(stores, email="eve@example.com")
    claim = BatchRecord("batch k3", "print", None, int(time.time()) + 60)
    assert stores.customers.claim_batch(claim) is None
    done = replace(claim, outcomes=[{"kind": "update", "result": "unchanged", "customer_id": ada["customer_id"]}])
    stale: Customer = {**eve, "version": 9}
    with pytest.raises(WritesRefused) as refused:
        stores.customers.write_atomically([UnchangedCheck(ada), UnchangedCheck(stale)], LATER, done)
    assert set(refused.value.failures) == {1}
    assert stores.customers.claim_batch(claim) == claim  # still only claimed
    stores.customers.write_atomically(
        [UnchangedCheck(ada), ChangeWrite(eve, {"customer_status": "inactive"})], LATER, done
    )
    assert stores.customers.claim_batch(claim) == done
    assert (read(stores, ada["customer_id"]).version, read(stores, eve["customer_id"]).version) == (1, 2)
    with pytest.raises(WritesRefused) as again:  # a finished record is never written over
        stores.customers.write_atomically([UnchangedCheck(ada)], LATER, done)
    assert isinstance(again.value.failures[1], RequestInProgress)


def test_a_batch_claim_holds_until_it_lapses_and_is_released_or_finished(stores: Stores) -> None:
    now = int(time.time())
    claim = BatchRecord("batch k1", "print", None, now + 60)
    assert stores.customers.claim_batch(claim) is None
    assert stores.customers.claim_batch(replace(claim, fingerprint="other")) == claim
    stores.customers.release_batch("batch k1")
    assert stores.customers.claim_batch(replace(claim, fingerprint="other")) is None
    done = BatchRecord("batch k1", "other", [{"kind": "create", "result": "created", "customer_id": "x"}], now + 600)
    stores.customers.finish_batch(done)
    stores.customers.release_batch("batch k1")  # a finished batch is kept
    assert stores.customers.claim_batch(claim) == done
    lapsed = BatchRecord("batch k2", "print", None, now - 1)
    assert stores.customers.claim_batch(lapsed) is None
    assert stores.customers.claim_batch(replace(lapsed, expires_at=now + 60)) is None  # the lapsed claim is taken over


def test_updates_of_a_customer_that_is_not_live_are_customer_not_found(stores: Stores) -> None:
    ada, eve = created(stores), created(stores, email="eve@example.com")
    deleted(stores, ada)
    stores.customers.erase(read(stores, eve["customer_id"]), LATER)

    for customer_id in (ada["customer_id"], eve["customer_id"], str(uuid.uuid4())):
        for expected_version in (None, 2):
            with pytest.raises(CustomerNotFound):
                stores.customers.update(customer_id, {"city": "Paris"}, LATER, expected_version=expected_version)


def test_restore_to_a_taken_address_is_email_in_use_and_from_a_stale_read_a_conflict(stores: Stores) -> None:
    ada = created(stores)
    item = deleted(stores, ada)
    grace = created(stores, email="ADA@example.com")

    with pytest.raises(EmailAlreadyInUse):
        stores.customers.restore(item, LATER)
    with pytest.raises(WriteConflict):
        stores.customers.restore(replace(item, version=1), LATER)

    assert read(stores, ada["customer_id"]) == item
    assert read(stores, grace["customer_id"]).is_live


def test_a_taken_address_names_the_customer_holding_it_on_create_move_and_restore(stores: Stores) -> None:
    # Given Ada deleted (her address free), then Grace holding Ada's address in another spelling
    ada = created(stores)
    item = deleted(stores, ada)
    grace = created(stores, email="ADA@Example.com")
    eve = created(stores, email="eve@example.com")

    # Then each write that would claim it again says who holds it
    with pytest.raises(EmailAlreadyInUse) as on_create:
        created(stores, email="ada@EXAMPLE.com")
    current = read(stores, eve["customer_id"]).customer
    assert current is not None
    with pytest.raises(EmailAlreadyInUse) as on_move:
        stores.customers.apply_changes(current, {"email_address": "Ada@example.com"}, LATER)
    with pytest.raises(EmailAlreadyInUse) as on_restore:
        stores.customers.restore(item, LATER)
    assert on_create.value.holder == on_move.value.holder == on_restore.value.holder == grace["customer_id"]
    assert on_create.value.details == {
        "email_address": ["Already used by another customer."],
        "customer_id": grace["customer_id"],
    }


def test_erase_leaves_the_same_tombstone_and_empties_the_creates_record(stores: Stores) -> None:
    ada = created(stores, key="key-1")

    stores.customers.erase(read(stores, ada["customer_id"]), LATER)

    assert read(stores, ada["customer_id"]) == StoredCustomer(
        ada["customer_id"], 2, None, LATER.at, "editor", "req-later", erased_at=LATER.at
    )
    record = stores.customers.idempotency_record("key-1")
    assert record is not None
    assert (record.customer_id, record.customer, record.fingerprint) == (ada["customer_id"], None, None)
    created(stores, email="ada@example.com")  # the address is free
    with pytest.raises(WriteConflict):
        stores.customers.erase(read(stores, ada["customer_id"]), LATER)


def test_a_write_without_a_request_id_does_not_keep_the_previous_writes(stores: Stores) -> None:
    # The item's request id is the one its stream record attributes the change to
    ada = created(stores)

    stores.customers.update(ada["customer_id"], {"city": "Paris"}, Stamp(LATER.at, "script"))

    assert read(stores, ada["customer_id"]).request_id is None


def test_erase_leaves_a_record_its_key_made_for_another_customer_since(stores: Stores) -> None:
    # Given a key whose record expired and was then reused by another customer's create
    first = created(stores, key="key-1", ttl=-10)
    second = created(stores, email="grace@example.com", key="key-1")

    stores.customers.erase(read(stores, first["customer_id"]), LATER)

    # Then the other customer's retried create still finds its own record, not "erased"
    record = stores.customers.idempotency_record("key-1")
    assert record is not None
    assert (record.customer_id, record.customer) == (second["customer_id"], second)


# --- history ----------------------------------------------------------------------------------


def versions(entries: list[HistoryEntry]) -> list[tuple[str, int]]:
    return [(entry.customer_id, entry.version) for entry in entries]


def test_record_is_written_once_and_answers_none_once_published(stores: Stores) -> None:
    history = stores.history

    assert history.record(an_entry(), recorded_at=R1) == an_entry()
    assert history.record(an_entry(), recorded_at=R2) == an_entry()
    history.mark_published(ADA, 1)
    assert history.record(an_entry(), recorded_at=R3) is None
    assert history.entries(ADA) == [an_entry()]


def test_redact_reserves_what_is_missing_and_record_completes_it_redacted(stores: Stores) -> None:
    history = stores.history
    history.record(an_entry(version=1), recorded_at=R1)

    history.redact(ADA, 2)
    completed = history.record(an_entry(version=2), recorded_at=R2)

    assert completed == redacted(an_entry(version=2))
    assert history.entries(ADA) == [redacted(an_entry(version=1)), redacted(an_entry(version=2))]


def test_pages_of_a_customers_history_are_newest_first(stores: Stores) -> None:
    history = stores.history
    for version in range(1, 6):
        history.record(an_entry(version=version), recorded_at=R1)
    history.record(an_entry(BOB, 1), recorded_at=R1)

    seen: list[list[int]] = []
    page = history.page(ADA, 2, None)
    seen.append([entry.version for entry in page.entries])
    while page.next_position is not None:
        assert history.is_position(page.next_position, ADA)
        page = history.page(ADA, 2, page.next_position)
        seen.append([entry.version for entry in page.entries])

    assert [version for page_versions in seen for version in page_versions] == [5, 4, 3, 2, 1]
    assert all(len(page_versions) <= 2 for page_versions in seen)


def test_the_feed_is_in_recorded_order_before_the_horizon_and_its_position_goes_on(stores: Stores) -> None:
    history = stores.history
    history.record(an_entry(BOB, 1), recorded_at=R1)
    history.record(an_entry(ADA, 1, "created"), recorded_at=R1)
    history.record(an_entry(ADA, 2, "deleted"), recorded_at=R2)
    history.record(an_entry(BOB, 2, "deleted"), recorded_at=R3)

    page = history.feed(10, None, horizon=R3)
    assert versions(page.entries) == [(ADA, 1), (BOB, 1), (ADA, 2)]
    assert page.next_position is not None
    assert history.is_position(page.next_position)
    later = history.feed(10, page.next_position, horizon="2026-02-01T12:00:04.000000Z")
    assert versions(later.entries) == [(BOB, 2)]

    deletions: list[HistoryEntry] = []
    position = None
    for _ in range(6):
        filtered = history.feed(1, position, horizon="2026-02-01T12:00:04.000000Z", kinds=["deleted"])
        deletions += filtered.entries
        position = filtered.next_position
    assert versions(deletions) == [(ADA, 2), (BOB, 2)]


def test_a_customers_feed_stops_at_the_first_entry_not_written_or_not_settled(stores: Stores) -> None:
    history = stores.history
    history.record(an_entry(version=1), recorded_at=R1)
    history.redact(ADA, 2)  # 2 reserved
    history.record(an_entry(version=3), recorded_at=R1)

    page = history.customer_feed(ADA, 10, None, horizon=R2, kinds=None)
    assert versions(page.entries) == [(ADA, 1)]
    assert page.next_position is not None

    history.record(an_entry(version=2), recorded_at=R2)
    assert history.customer_feed(ADA, 10, page.next_position, horizon=R2, kinds=None).entries == []
    rest = history.customer_feed(ADA, 10, page.next_position, horizon=R3, kinds=None)
    assert versions(rest.entries) == [(ADA, 2), (ADA, 3)]
    assert cast(list[bool], [entry.redacted for entry in rest.entries]) == [True, False]


def test_failures_are_counted_per_delivery(stores: Stores) -> None:
    counts = [stores.history.count_failure(delivery) for delivery in ("arn#1", "arn#1", "arn#2")]

    assert counts == [1, 2, 1]
