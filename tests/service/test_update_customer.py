"""update_customer: blind and conditional writes, email moves, retries on contention, the metric."""

from __future__ import annotations

import uuid

import pytest

from chalicelib.customers.conditions import Preconditions
from chalicelib.customers.errors import (
    CustomerNotFound,
    EmailAlreadyInUse,
    PreconditionFailed,
    StoreBusy,
    WriteConflict,
)
from chalicelib.customers.model import Customer
from chalicelib.customers.retry import CONFLICT_ATTEMPTS
from chalicelib.customers.service import CustomerService
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.support import (
    FakeClock,
    MetricRecorder,
    another_writer,
    if_match,
    if_match_any,
    if_none_match,
    if_none_match_any,
    new_customer,
)

# --- blind updates (no precondition, email kept) ----------------------------------------------


def test_update_customer_blind_bumps_version_by_one_and_stamps_updated_at(
    service: CustomerService, customer: Customer, clock: FakeClock
) -> None:
    updated = service.update_customer(customer["customer_id"], {"city": "Paris", "state": "IDF"})

    assert updated["version"] == customer["version"] + 1
    assert updated["updated_at"] == clock.stamp != customer["updated_at"]
    assert updated["created_at"] == customer["created_at"]
    assert (updated["city"], updated["state"]) == ("Paris", "IDF")
    assert updated["first_name"] == customer["first_name"]  # untouched fields stay
    assert service.get_customer(customer["customer_id"]).customer == updated


def test_update_customer_blind_writes_once_without_reading(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    repository.calls.clear()

    service.update_customer(customer["customer_id"], {"city": "Paris"})

    assert repository.calls == {"update": 1}


def test_update_customer_blind_twice_bumps_version_each_time(service: CustomerService, customer: Customer) -> None:
    service.update_customer(customer["customer_id"], {"city": "Paris"})
    updated = service.update_customer(customer["customer_id"], {"city": "Rome"})

    assert updated["version"] == 3


@pytest.mark.parametrize("preconditions", [Preconditions(), if_match_any()])
def test_update_customer_that_does_not_exist_is_customer_not_found(
    service: CustomerService, repository: InMemoryCustomerRepository, preconditions: Preconditions
) -> None:
    with pytest.raises(CustomerNotFound):
        service.update_customer(str(uuid.uuid4()), {"city": "Paris"}, preconditions)
    assert len(repository) == 0


def test_update_customer_counts_customers_updated(
    service: CustomerService, customer: Customer, metrics: MetricRecorder
) -> None:
    service.update_customer(customer["customer_id"], {"city": "Paris"})

    assert metrics.names == ["CustomersCreated", "CustomersUpdated"]


def test_update_customer_refused_does_not_count_customers_updated(
    service: CustomerService, customer: Customer, metrics: MetricRecorder
) -> None:
    with pytest.raises(PreconditionFailed):
        service.update_customer(customer["customer_id"], {"city": "Paris"}, if_match(7))

    assert metrics.names == ["CustomersCreated"]


# --- If-Match / If-None-Match -------------------------------------------------------------------


def test_update_customer_with_current_if_match_is_applied(service: CustomerService, customer: Customer) -> None:
    updated = service.update_customer(customer["customer_id"], {"city": "Paris"}, if_match(1))

    assert updated["version"] == 2
    assert updated["city"] == "Paris"


def test_update_customer_with_stale_if_match_is_precondition_failed(
    service: CustomerService, customer: Customer
) -> None:
    # Given someone else updated the customer to version 2
    service.update_customer(customer["customer_id"], {"city": "Paris"})

    # When a client still holding version 1 writes
    with pytest.raises(PreconditionFailed):
        service.update_customer(customer["customer_id"], {"city": "Rome"}, if_match(1))

    # Then nothing changed
    stored = service.get_customer(customer["customer_id"]).customer
    assert (stored["city"], stored["version"]) == ("Paris", 2)


def test_update_customer_with_single_if_match_writes_once_without_reading(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    repository.calls.clear()

    service.update_customer(customer["customer_id"], {"city": "Paris"}, if_match(1))

    assert repository.calls == {"update": 1}


def test_update_customer_with_if_match_losing_to_a_concurrent_write_is_precondition_failed(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    # Given another request's write lands just before ours
    repository.before_next("update", another_writer(repository, customer["customer_id"]))

    with pytest.raises(PreconditionFailed):
        service.update_customer(customer["customer_id"], {"city": "Mine"}, if_match(1))

    stored = service.get_customer(customer["customer_id"]).customer
    assert (stored["city"], stored["version"]) == ("Changed concurrently", 2)


def test_update_customer_with_single_if_match_that_does_not_exist_is_customer_not_found(
    service: CustomerService,
) -> None:
    with pytest.raises(CustomerNotFound):
        service.update_customer(str(uuid.uuid4()), {"city": "Paris"}, if_match(1))


def test_update_customer_with_if_match_listing_the_current_version_is_applied(
    service: CustomerService, customer: Customer
) -> None:
    updated = service.update_customer(customer["customer_id"], {"city": "Paris"}, if_match(1, 5))

    assert (updated["city"], updated["version"]) == ("Paris", 2)


def test_update_customer_with_if_match_listing_only_other_versions_is_precondition_failed(
    service: CustomerService, customer: Customer
) -> None:
    with pytest.raises(PreconditionFailed):
        service.update_customer(customer["customer_id"], {"city": "Paris"}, if_match(2, 3))

    assert service.get_customer(customer["customer_id"]).customer == customer


def test_update_customer_with_if_none_match_star_on_existing_is_precondition_failed(
    service: CustomerService, customer: Customer
) -> None:
    with pytest.raises(PreconditionFailed):
        service.update_customer(customer["customer_id"], {"city": "Paris"}, if_none_match_any())

    assert service.get_customer(customer["customer_id"]).customer == customer


def test_update_customer_with_if_none_match_naming_current_version_is_precondition_failed(
    service: CustomerService, customer: Customer
) -> None:
    with pytest.raises(PreconditionFailed):
        service.update_customer(customer["customer_id"], {"city": "Paris"}, if_none_match(1))


def test_update_customer_with_if_none_match_naming_another_version_is_applied(
    service: CustomerService, customer: Customer
) -> None:
    updated = service.update_customer(customer["customer_id"], {"city": "Paris"}, if_none_match(4))

    assert (updated["city"], updated["version"]) == ("Paris", 2)


def test_update_customer_with_if_none_match_that_does_not_exist_is_customer_not_found(
    service: CustomerService,
) -> None:
    with pytest.raises(CustomerNotFound):
        service.update_customer(str(uuid.uuid4()), {"city": "Paris"}, if_none_match_any())


# --- email changes ------------------------------------------------------------------------------


def test_update_customer_email_change_moves_the_claim_and_frees_the_old_address(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer, clock: FakeClock
) -> None:
    # When
    updated = service.update_customer(customer["customer_id"], {"email_address": "lovelace@example.com"})

    # Then the customer holds the new address, version and time moved on
    assert updated["email_address"] == "lovelace@example.com"
    assert (updated["version"], updated["updated_at"]) == (2, clock.stamp)
    assert service.get_customer(customer["customer_id"]).customer == updated
    assert repository.email_owner("lovelace@example.com") == customer["customer_id"]
    # and the old address is free for another customer, the new one is not
    other = service.create_customer(new_customer(email_address="ada@example.com")).customer
    assert repository.email_owner("ada@example.com") == other["customer_id"]
    with pytest.raises(EmailAlreadyInUse):
        service.create_customer(new_customer(email_address="Lovelace@Example.com"))


@pytest.mark.parametrize("taken", ["grace@example.com", "GRACE@example.com"])
def test_update_customer_to_a_taken_email_is_email_already_in_use_and_nothing_changes(
    service: CustomerService,
    repository: InMemoryCustomerRepository,
    customer: Customer,
    metrics: MetricRecorder,
    taken: str,
) -> None:
    # Given another customer holding the address
    grace = service.create_customer(new_customer(email_address="grace@example.com")).customer

    # When the first customer asks for it, together with another change
    with pytest.raises(EmailAlreadyInUse):
        service.update_customer(customer["customer_id"], {"email_address": taken, "city": "Paris"})

    # Then neither customer nor any claim changed
    assert service.get_customer(customer["customer_id"]).customer == customer
    assert repository.email_owner("ada@example.com") == customer["customer_id"]
    assert repository.email_owner("grace@example.com") == grace["customer_id"]
    assert "CustomersUpdated" not in metrics.names


def test_update_customer_email_case_only_change_keeps_the_claim(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    updated = service.update_customer(customer["customer_id"], {"email_address": "Ada@Example.COM"})

    assert (updated["email_address"], updated["version"]) == ("Ada@Example.COM", 2)
    assert repository.email_owner("ada@example.com") == customer["customer_id"]
    with pytest.raises(EmailAlreadyInUse):
        service.create_customer(new_customer(email_address="ada@example.com"))


def test_update_customer_to_its_own_email_is_applied(service: CustomerService, customer: Customer) -> None:
    updated = service.update_customer(customer["customer_id"], {"email_address": "ada@example.com", "city": "Bath"})

    assert (updated["city"], updated["version"]) == ("Bath", 2)


def test_update_customer_email_change_with_current_if_match_moves_the_claim(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    updated = service.update_customer(customer["customer_id"], {"email_address": "new@example.com"}, if_match(1))

    assert updated["email_address"] == "new@example.com"
    assert repository.email_owner("new@example.com") == customer["customer_id"]


def test_update_customer_email_change_with_stale_if_match_is_precondition_failed_and_keeps_the_claim(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    service.update_customer(customer["customer_id"], {"city": "Paris"})

    with pytest.raises(PreconditionFailed):
        service.update_customer(customer["customer_id"], {"email_address": "new@example.com"}, if_match(1))

    assert repository.email_owner("new@example.com") is None
    assert repository.email_owner("ada@example.com") == customer["customer_id"]


def test_update_customer_email_change_of_a_missing_customer_is_customer_not_found(
    service: CustomerService, repository: InMemoryCustomerRepository
) -> None:
    with pytest.raises(CustomerNotFound):
        service.update_customer(str(uuid.uuid4()), {"email_address": "new@example.com"})

    assert repository.email_owner("new@example.com") is None


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
    assert repository.calls["get"] == CONFLICT_ATTEMPTS  # every attempt reads afresh
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


def test_update_customer_deleted_between_read_and_write_is_customer_not_found(
    service: CustomerService, repository: InMemoryCustomerRepository, customer: Customer
) -> None:
    repository.before_next("apply_changes", lambda: repository.delete(repository.get(customer["customer_id"])))

    with pytest.raises(CustomerNotFound):
        service.update_customer(customer["customer_id"], {"email_address": "new@example.com"})

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
            repository.get(customer["customer_id"]),
            {"email_address": "new@example.com"},
            updated_at="2030-01-01T00:00:00Z",
        )

    repository.before_next("apply_changes", same_move)

    # When we move it there too
    updated = service.update_customer(customer["customer_id"], {"email_address": "new@example.com", "city": "Paris"})

    # Then our write is retried on a fresh read (the address is the customer's own by then), not refused as taken
    assert repository.calls["apply_changes"] == 3  # the concurrent move, our conflicted attempt, our retry
    assert (updated["email_address"], updated["city"], updated["version"]) == ("new@example.com", "Paris", 3)
    assert repository.email_owner("new@example.com") == customer["customer_id"]
