"""update_customer under contention: the read-then-write path retries; a delete landing in between."""

from __future__ import annotations

import pytest

from chalicelib.customers.errors import (
    CustomerDeleted,
    PreconditionFailed,
    StoreBusy,
    WriteConflict,
)
from chalicelib.customers.model import Customer, CustomerChanges, Stamp
from chalicelib.customers.retry import CONFLICT_ATTEMPTS
from chalicelib.customers.service import CustomerService
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.support import (
    CONCURRENT_STAMP,
    CONCURRENT_WRITER,
    MetricRecorder,
    another_writer,
    if_match,
    if_none_match,
    live,
    stored,
)

PURGE_AT = 2_000_000_000


# --- contention: the read-then-write path retries -------------------------------------------------


def test_update_customer_email_change_losing_to_a_concurrent_write_is_retried_and_keeps_both_changes(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer, metrics: MetricRecorder
) -> None:
    # Given another request's write lands between our read and our write
    repository.before_next("apply_changes", another_writer(repository, customer["customer_id"]))

    # When
    updated = service.update_customer(customer["customer_id"], {"email_address": "new@example.com"})

    # Then our write conflicted, was retried on a fresh read, and nothing was lost
    assert repository.calls["apply_changes"] == 2
    assert (updated["email_address"], updated["city"], updated["version"]) == (
        "new@example.com",
        "Changed concurrently",
        3,
    )
    assert metrics.names.count("CustomersUpdated") == 1


def test_update_customer_with_write_conflict_on_first_attempts_is_retried_and_succeeds(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    repository.fail_next("apply_changes", WriteConflict, times=CONFLICT_ATTEMPTS - 1)

    updated = service.update_customer(customer["customer_id"], {"email_address": "new@example.com"})

    assert repository.calls["apply_changes"] == CONFLICT_ATTEMPTS
    assert repository.calls["read"] == CONFLICT_ATTEMPTS  # every attempt reads afresh
    assert (updated["email_address"], updated["version"]) == ("new@example.com", 2)


def test_update_customer_conflicting_on_every_attempt_is_write_conflict_after_conflict_attempts(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer, metrics: MetricRecorder
) -> None:
    # Given a concurrent writer winning the race on every attempt
    repository.before_next("apply_changes", another_writer(repository, customer["customer_id"]), CONFLICT_ATTEMPTS)

    with pytest.raises(WriteConflict):
        service.update_customer(customer["customer_id"], {"email_address": "new@example.com"})

    # Then exactly the attempt budget was spent, and only the other writer's changes landed
    assert repository.calls["apply_changes"] == CONFLICT_ATTEMPTS
    stored = service.get_customer(customer["customer_id"]).customer
    assert (stored["email_address"], stored["version"]) == ("ada@example.com", 1 + CONFLICT_ATTEMPTS)
    assert repository.email_owner("new@example.com") is None
    assert "CustomersUpdated" not in metrics.names


def test_update_customer_with_if_match_and_a_concurrent_write_after_the_read_is_precondition_failed(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    # Given the email change reads version 1, then another write moves it to 2
    repository.before_next("apply_changes", another_writer(repository, customer["customer_id"]))

    # When / Then the retry's fresh read shows If-Match no longer holds
    with pytest.raises(PreconditionFailed):
        service.update_customer(customer["customer_id"], {"email_address": "new@example.com"}, if_match(1))
    assert repository.email_owner("new@example.com") is None


def test_update_customer_deleted_between_read_and_write_is_customer_deleted(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    def concurrent_delete() -> None:
        stamp = Stamp(CONCURRENT_STAMP, CONCURRENT_WRITER)
        repository.soft_delete(live(repository, customer["customer_id"]), stamp, purge_at=PURGE_AT)

    repository.before_next("apply_changes", concurrent_delete)

    # The write conflicts (the customer is no longer live), and the retry's fresh read tells why
    with pytest.raises(CustomerDeleted):
        service.update_customer(customer["customer_id"], {"email_address": "new@example.com"})

    assert repository.email_owner("new@example.com") is None
    assert stored(repository, customer["customer_id"]).updated_by == CONCURRENT_WRITER


@pytest.mark.parametrize("changes", [{"city": "Paris"}, {"email_address": "new@example.com"}])
def test_update_customer_that_was_deleted_is_customer_deleted_and_changes_nothing(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer, changes: CustomerChanges
) -> None:
    service.delete_customer(customer["customer_id"])
    before = stored(repository, customer["customer_id"])

    with pytest.raises(CustomerDeleted) as refused:
        service.update_customer(customer["customer_id"], changes)

    assert set(refused.value.details) == {"restorable_until"}
    assert stored(repository, customer["customer_id"]) == before
    assert repository.email_owner("new@example.com") is None


def test_update_customer_with_store_busy_at_first_is_retried_and_succeeds(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer, sleeps: list[float]
) -> None:
    repository.fail_next("apply_changes", StoreBusy, times=2)

    updated = service.update_customer(customer["customer_id"], {"email_address": "new@example.com"})

    assert updated["email_address"] == "new@example.com"
    assert repository.calls["apply_changes"] == 3
    assert len(sleeps) == 2


def test_update_customer_with_store_busy_on_every_attempt_is_store_busy_after_conflict_attempts(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer, sleeps: list[float]
) -> None:
    repository.fail_next("apply_changes", StoreBusy, times=CONFLICT_ATTEMPTS)

    with pytest.raises(StoreBusy):
        service.update_customer(customer["customer_id"], {"email_address": "new@example.com"})

    assert repository.calls["apply_changes"] == CONFLICT_ATTEMPTS
    assert len(sleeps) == CONFLICT_ATTEMPTS - 1  # no pause after the last attempt
    assert service.get_customer(customer["customer_id"]).customer == customer


def test_update_customer_with_if_none_match_is_retried_on_conflict(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    # Given a precondition that needs a read (If-None-Match) and a conflict on the first write
    repository.fail_next("apply_changes", WriteConflict)

    updated = service.update_customer(customer["customer_id"], {"city": "Paris"}, if_none_match(9))

    assert (updated["city"], updated["version"]) == ("Paris", 2)
    assert repository.calls["apply_changes"] == 2


def test_update_customer_racing_another_move_to_the_same_email_is_retried_and_applied(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    # Given a concurrent request moves the customer to the same new address between our read and write
    def same_move() -> None:
        repository.apply_changes(
            live(repository, customer["customer_id"]),
            {"email_address": "new@example.com"},
            Stamp("2030-01-01T00:00:00Z", CONCURRENT_WRITER),
        )

    repository.before_next("apply_changes", same_move)

    # When we move it there too
    updated = service.update_customer(customer["customer_id"], {"email_address": "new@example.com", "city": "Paris"})

    # Then our write is retried on a fresh read (the address is the customer's own by then), not refused as taken
    assert repository.calls["apply_changes"] == 3  # the concurrent move, our conflicted attempt, our retry
    assert (updated["email_address"], updated["city"], updated["version"]) == ("new@example.com", "Paris", 3)
    assert repository.email_owner("new@example.com") == customer["customer_id"]
