"""HistoryService.history: a customer's changes newest first, pages and their tokens, and when it is 404."""

from __future__ import annotations

import uuid

import pytest

from chalicelib.customers.errors import CustomerNotFound, ValidationFailed
from chalicelib.customers.history import DEFAULT_PAGE_SIZE, HistoryService
from chalicelib.customers.model import Customer, HistoryEntry, Origin
from chalicelib.customers.privacy import PrivacyService
from chalicelib.customers.service import CustomerService
from chalicelib.customers.tokens import encode_token
from tests.service.conftest import TOKEN_SECRET
from tests.service.fake_history import InMemoryHistoryRepository
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.support import Delivery, FakeClock, new_customer


def walk(history_service: HistoryService, customer_id: str, limit: int | None) -> list[list[HistoryEntry]]:
    pages: list[list[HistoryEntry]] = []
    token: str | None = None
    while True:
        page = history_service.history(customer_id, limit, token)
        pages.append(page.entries)
        token = page.next_token
        if token is None:
            return pages
        assert len(pages) < 100, "the history does not end"


def changes(service: CustomerService, customer: Customer, count: int, clock: FakeClock) -> None:
    for number in range(count):
        clock.advance(1)
        service.update_customer(customer["customer_id"], {"city": f"City {number}"})


def test_history_is_the_customers_changes_newest_first(
    history_service: HistoryService, service: CustomerService, customer: Customer, deliver: Delivery
) -> None:
    customer_id = customer["customer_id"]
    service.update_customer(customer_id, {"city": "Paris"}, origin=Origin("alice", "req-2"))
    service.delete_customer(customer_id, origin=Origin("bob", "req-3"))
    deliver()

    page = history_service.history(customer_id)

    assert [(entry.version, entry.change, entry.actor) for entry in page.entries] == [
        (3, "deleted", "bob"),
        (2, "updated", "alice"),
        (1, "created", "system"),
    ]
    assert page.entries[1].changes == {"city": {"from": "London", "to": "Paris"}}
    assert page.next_token is None


def test_history_holds_only_that_customers_entries(
    history_service: HistoryService, service: CustomerService, customer: Customer, deliver: Delivery
) -> None:
    other = service.create_customer(new_customer()).customer
    service.update_customer(other["customer_id"], {"city": "Rome"})
    deliver()

    assert [entry.customer_id for entry in history_service.history(customer["customer_id"]).entries] == [
        customer["customer_id"]
    ]


@pytest.mark.parametrize("limit", [1, 2, 3, 6, 7])
def test_history_pages_following_next_token_hold_every_entry_once_newest_first(
    history_service: HistoryService,
    service: CustomerService,
    customer: Customer,
    clock: FakeClock,
    deliver: Delivery,
    limit: int,
) -> None:
    changes(service, customer, 5, clock)
    deliver()

    pages = walk(history_service, customer["customer_id"], limit)

    assert all(len(page) == limit for page in pages[:-1])
    assert 1 <= len(pages[-1]) <= limit
    assert [entry.version for page in pages for entry in page] == [6, 5, 4, 3, 2, 1]


def test_history_without_a_limit_pages_by_the_default_size(
    history_service: HistoryService, service: CustomerService, customer: Customer, clock: FakeClock, deliver: Delivery
) -> None:
    changes(service, customer, DEFAULT_PAGE_SIZE, clock)
    deliver()

    first = history_service.history(customer["customer_id"])

    assert len(first.entries) == DEFAULT_PAGE_SIZE
    assert first.next_token is not None
    rest = history_service.history(customer["customer_id"], None, first.next_token)
    assert ([entry.version for entry in rest.entries], rest.next_token) == ([1], None)


def test_history_token_of_another_customers_history_is_validation_failed_naming_next_token(
    history_service: HistoryService,
    service: CustomerService,
    history: InMemoryHistoryRepository,
    customer: Customer,
    clock: FakeClock,
    deliver: Delivery,
) -> None:
    other = service.create_customer(new_customer()).customer
    changes(service, customer, 2, clock)
    changes(service, other, 2, clock)
    deliver()
    token = history_service.history(customer["customer_id"], 1).next_token
    assert token is not None

    with pytest.raises(ValidationFailed) as refused:
        history_service.history(other["customer_id"], 1, token)

    assert set(refused.value.details) == {"next_token"}
    assert history.calls["page"] == 1  # the first page only: refused before the store was asked


@pytest.mark.parametrize(
    "token",
    ["garbage", "e30.AAAA", encode_token({"version": 2}, secret=b"y" * 32, scope="history:history-in-memory:x")],
    ids=["garbage", "bad-signature", "other-secret"],
)
def test_history_with_a_token_it_did_not_issue_is_validation_failed_naming_next_token(
    history_service: HistoryService, customer: Customer, token: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        history_service.history(customer["customer_id"], None, token)

    assert set(refused.value.details) == {"next_token"}


def test_history_token_signed_for_the_customer_but_not_a_position_is_validation_failed(
    history_service: HistoryService, customer: Customer
) -> None:
    scope = f"history:history-in-memory:{customer['customer_id']}"
    forged = encode_token({"after": "anything"}, secret=TOKEN_SECRET, scope=scope)

    with pytest.raises(ValidationFailed) as refused:
        history_service.history(customer["customer_id"], None, forged)

    assert set(refused.value.details) == {"next_token"}


def test_history_of_an_id_that_never_existed_is_customer_not_found(history_service: HistoryService) -> None:
    with pytest.raises(CustomerNotFound):
        history_service.history(str(uuid.uuid4()))


def test_history_of_a_live_customer_whose_entries_are_not_written_yet_is_an_empty_page(
    history_service: HistoryService, customer: Customer
) -> None:
    page = history_service.history(customer["customer_id"])

    assert (page.entries, page.next_token) == ([], None)


def test_history_outlives_a_delete_and_the_ttl_removal(
    history_service: HistoryService,
    service: CustomerService,
    repository: InMemoryCustomerRepository,
    customer: Customer,
    clock: FakeClock,
    deliver: Delivery,
) -> None:
    service.delete_customer(customer["customer_id"])
    clock.advance(31 * 24 * 3600)
    repository.purge_expired()
    deliver()
    assert repository.read(customer["customer_id"]) is None

    page = history_service.history(customer["customer_id"])

    assert [(entry.version, entry.change) for entry in page.entries] == [(3, "purged"), (2, "deleted"), (1, "created")]


def test_history_of_an_erased_customer_is_redacted_entries(
    history_service: HistoryService,
    service: CustomerService,
    privacy: PrivacyService,
    customer: Customer,
    deliver: Delivery,
) -> None:
    service.update_customer(customer["customer_id"], {"city": "Paris"})
    deliver()
    privacy.erase(customer["customer_id"])
    deliver()

    entries = history_service.history(customer["customer_id"]).entries

    assert [(entry.version, entry.change) for entry in entries] == [(3, "erased"), (2, "updated"), (1, "created")]
    assert all(entry.redacted and entry.customer is None for entry in entries)
    assert entries[1].changes == {"city": {"from": None, "to": None}}
