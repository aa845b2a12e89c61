"""create_customer with an Idempotency-Key: replays, reuse with another body, expiry, races."""

from __future__ import annotations

import pytest

from chalicelib.customers.errors import (
    CustomerDeleted,
    EmailAlreadyInUse,
    IdempotencyKeyReused,
    RequestInProgress,
    StoreBusy,
)
from chalicelib.customers.service import IDEMPOTENCY_TTL_SECONDS, CustomerService
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.support import FakeClock, MetricRecorder, new_customer

KEY = "0b9f4c1e-7d2a-4f61-9a53-2f1d6c8e7a10"


def test_create_customer_with_same_key_and_same_body_is_replayed_with_the_same_customer(
    service: CustomerService, repository: InMemoryCustomerRepository, metrics: MetricRecorder
) -> None:
    # Given a keyed create
    fields = new_customer()
    original = service.create_customer(fields, idempotency_key=KEY)

    # When the client retries it with the same key and body
    replay = service.create_customer(fields, idempotency_key=KEY)

    # Then it gets the original customer back, marked as a replay, and nothing new exists
    assert original.replayed is False
    assert replay.replayed is True
    assert replay.customer == original.customer
    assert repository.stored_ids() == {original.customer["customer_id"]}
    assert metrics.names == ["CustomersCreated"]


def test_create_customer_replay_answers_the_original_even_after_the_customer_changed(
    service: CustomerService, clock: FakeClock
) -> None:
    fields = new_customer()
    original = service.create_customer(fields, idempotency_key=KEY).customer
    clock.advance(60)
    service.update_customer(original["customer_id"], {"city": "Elsewhere"})

    replay = service.create_customer(fields, idempotency_key=KEY)

    assert replay.replayed is True
    assert replay.customer == original
    assert replay.customer["version"] == 1


def test_create_customer_replay_after_the_customer_was_deleted_is_customer_deleted_and_creates_nothing(
    service: CustomerService, repository: InMemoryCustomerRepository, metrics: MetricRecorder
) -> None:
    # Given a keyed create whose customer was then (soft-)deleted
    fields = new_customer()
    original = service.create_customer(fields, idempotency_key=KEY).customer
    service.delete_customer(original["customer_id"])

    # When the client retries the create
    with pytest.raises(CustomerDeleted) as refused:
        service.create_customer(fields, idempotency_key=KEY)

    # Then its data is not handed out again through the key, nor is a customer made
    assert "restorable_until" in refused.value.details
    assert repository.stored_ids() == {original["customer_id"]}
    assert repository.live_ids() == set()
    assert repository.email_owner(fields["email_address"]) is None
    assert metrics.names == ["CustomersCreated", "CustomersDeleted"]


def test_create_customer_with_same_key_and_different_body_is_idempotency_key_reused(
    service: CustomerService, repository: InMemoryCustomerRepository, metrics: MetricRecorder
) -> None:
    original = service.create_customer(new_customer(), idempotency_key=KEY).customer

    with pytest.raises(IdempotencyKeyReused) as refused:
        service.create_customer(new_customer(email_address="other@example.com"), idempotency_key=KEY)

    assert "Idempotency-Key" in refused.value.details
    assert repository.stored_ids() == {original["customer_id"]}
    assert repository.email_owner("other@example.com") is None
    assert metrics.names == ["CustomersCreated"]


def test_create_customer_with_same_key_and_a_body_differing_in_one_field_is_idempotency_key_reused(
    service: CustomerService,
) -> None:
    fields = new_customer()
    service.create_customer(fields, idempotency_key=KEY)

    with pytest.raises(IdempotencyKeyReused):
        service.create_customer({**fields, "city": "Springfield"}, idempotency_key=KEY)


def test_create_customer_with_different_keys_creates_independently(
    service: CustomerService, repository: InMemoryCustomerRepository
) -> None:
    first = service.create_customer(new_customer(), idempotency_key="key-1")
    second = service.create_customer(new_customer(), idempotency_key="key-2")

    assert not first.replayed
    assert not second.replayed
    assert len(repository) == 2


def test_create_customer_with_another_key_and_the_same_email_is_email_already_in_use(
    service: CustomerService,
) -> None:
    fields = new_customer()
    service.create_customer(fields, idempotency_key="key-1")

    with pytest.raises(EmailAlreadyInUse):
        service.create_customer(fields, idempotency_key="key-2")


def test_create_customer_replay_within_24_hours_is_still_replayed(service: CustomerService, clock: FakeClock) -> None:
    fields = new_customer()
    original = service.create_customer(fields, idempotency_key=KEY).customer
    clock.advance(IDEMPOTENCY_TTL_SECONDS - 1)

    replay = service.create_customer(fields, idempotency_key=KEY)

    assert replay.replayed is True
    assert replay.customer == original


def test_create_customer_with_a_key_older_than_24_hours_creates_afresh(
    service: CustomerService, repository: InMemoryCustomerRepository, clock: FakeClock, metrics: MetricRecorder
) -> None:
    # Given a key recorded more than a day ago
    service.create_customer(new_customer(), idempotency_key=KEY)
    clock.advance(IDEMPOTENCY_TTL_SECONDS + 1)

    # When the key comes with another body
    fresh_fields = new_customer()
    fresh = service.create_customer(fresh_fields, idempotency_key=KEY)

    # Then the expired record counts as absent: a new customer, not a 422
    assert fresh.replayed is False
    assert len(repository) == 2
    assert metrics.names == ["CustomersCreated", "CustomersCreated"]
    # and the key now stands for the new request
    replay = service.create_customer(fresh_fields, idempotency_key=KEY)
    assert replay.replayed is True
    assert replay.customer == fresh.customer


def test_create_customer_whose_record_expires_between_the_two_calls_is_request_in_progress(
    service: CustomerService, repository: InMemoryCustomerRepository, clock: FakeClock
) -> None:
    # Given a live record for the key
    fields = new_customer()
    service.create_customer(fields, idempotency_key=KEY)
    # and the record expiring after the create is refused but before it is read back
    repository.before_next("idempotency_record", lambda: clock.advance(IDEMPOTENCY_TTL_SECONDS + 1))

    # When / Then the client is told to retry afresh
    with pytest.raises(RequestInProgress):
        service.create_customer(fields, idempotency_key=KEY)
    assert len(repository) == 1


def test_create_customer_racing_a_transaction_on_the_same_key_is_request_in_progress_and_not_retried(
    service: CustomerService, repository: InMemoryCustomerRepository, metrics: MetricRecorder
) -> None:
    # Given another request's transaction holding the key's record right now
    repository.fail_next("create", RequestInProgress)

    with pytest.raises(RequestInProgress):
        service.create_customer(new_customer(), idempotency_key=KEY)

    assert repository.calls["create"] == 1
    assert len(repository) == 0
    assert metrics.names == []


def test_create_customer_refused_for_its_email_does_not_remember_the_key(
    service: CustomerService, repository: InMemoryCustomerRepository
) -> None:
    # Given a keyed create refused because the email is taken
    service.create_customer(new_customer(email_address="taken@example.com"))
    with pytest.raises(EmailAlreadyInUse):
        service.create_customer(new_customer(email_address="taken@example.com"), idempotency_key=KEY)

    # When the key comes back with a corrected body
    result = service.create_customer(new_customer(email_address="free@example.com"), idempotency_key=KEY)

    # Then it creates: a refused request recorded nothing
    assert result.replayed is False
    assert len(repository) == 2


def test_create_customer_with_key_retried_after_store_busy_replays_the_customer_actually_stored(
    service: CustomerService, repository: InMemoryCustomerRepository
) -> None:
    # Given a first attempt cancelled by a busy store (each attempt mints a fresh id)
    repository.fail_next("create", StoreBusy)
    fields = new_customer()

    created = service.create_customer(fields, idempotency_key=KEY).customer
    replay = service.create_customer(fields, idempotency_key=KEY).customer

    # Then the record holds the customer the store holds
    assert repository.stored_ids() == {created["customer_id"]}
    assert replay == created == service.get_customer(created["customer_id"]).customer


def test_create_customer_with_key_whose_answer_was_lost_returns_the_one_customer_it_created(
    service: CustomerService, repository: InMemoryCustomerRepository
) -> None:
    # Given the create commits but its answer is lost (the resend finds its own record)
    repository.lose_next_create_answer()
    fields = new_customer()

    result = service.create_customer(fields, idempotency_key=KEY)

    assert repository.stored_ids() == {result.customer["customer_id"]}
    assert service.get_customer(result.customer["customer_id"]).customer == result.customer
    # and a later retry of the request gets the same customer
    assert service.create_customer(fields, idempotency_key=KEY).customer == result.customer
