"""list_customers: page size, walking next_token, filters, and tokens that must be refused."""

from __future__ import annotations

import base64

import pytest

from chalicelib.customers.criteria import EVERYONE, Criteria
from chalicelib.customers.errors import ValidationFailed
from chalicelib.customers.model import Customer
from chalicelib.customers.service import DEFAULT_PAGE_SIZE, CustomerService
from chalicelib.customers.tokens import encode_token
from tests.service.conftest import TOKEN_SECRET
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.support import FakeClock, new_customer


def create_many(service: CustomerService, count: int, **fields: str) -> list[Customer]:
    return [service.create_customer(new_customer(**fields)).customer for _ in range(count)]


def walk(service: CustomerService, limit: int | None, where: Criteria = EVERYONE) -> list[list[Customer]]:
    """Every page of a listing, following next_token to the end."""
    pages: list[list[Customer]] = []
    token: str | None = None
    while True:
        page = service.list_customers(limit, token, where)
        pages.append(page.customers)
        token = page.next_token
        if token is None:
            return pages
        assert len(pages) < 100, "the listing does not end"


def ids(customers: list[Customer]) -> list[str]:
    return [customer["customer_id"] for customer in customers]


def assert_invalid_next_token(refused: pytest.ExceptionInfo[ValidationFailed]) -> None:
    assert set(refused.value.details) == {"next_token"}


def assert_refused_by_its_signature(
    refused: pytest.ExceptionInfo[ValidationFailed], repository: InMemoryCustomerRepository
) -> None:
    """Refused by the service's own check, the store never consulted.

    DynamoDB's positions do not say which filter they belong to, so the signature's
    scope is the only thing keeping one listing's token out of another.
    """
    assert_invalid_next_token(refused)
    assert repository.calls["is_position"] == 0
    assert repository.calls["page"] == 0


def test_list_customers_of_an_empty_store_is_one_empty_last_page(service: CustomerService) -> None:
    page = service.list_customers()

    assert page.customers == []
    assert page.next_token is None


def test_list_customers_without_limit_pages_by_25(service: CustomerService) -> None:
    # Given more customers than one default page
    created = create_many(service, DEFAULT_PAGE_SIZE + 5)

    # When
    first = service.list_customers()
    second = service.list_customers(next_token=first.next_token)

    # Then the default page holds 25 and the next one the rest
    assert DEFAULT_PAGE_SIZE == 25
    assert len(first.customers) == 25
    assert first.next_token is not None
    assert len(second.customers) == 5
    assert second.next_token is None
    assert sorted(ids(first.customers + second.customers)) == sorted(ids(created))


def test_list_customers_walking_next_token_visits_everyone_exactly_once(service: CustomerService) -> None:
    created = create_many(service, 23)

    pages = walk(service, limit=5)

    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    visited = [customer_id for page in pages for customer_id in ids(page)]
    assert sorted(visited) == sorted(ids(created))  # nobody twice, nobody missed


def test_list_customers_returns_customers_as_stored(service: CustomerService, clock: FakeClock) -> None:
    created = service.create_customer(new_customer()).customer
    clock.advance(5)
    updated = service.update_customer(created["customer_id"], {"city": "Paris"})

    assert service.list_customers().customers == [updated]


def test_list_customers_with_exactly_limit_customers_has_no_next_token(service: CustomerService) -> None:
    create_many(service, 4)

    page = service.list_customers(limit=4)

    assert len(page.customers) == 4
    assert page.next_token is None


def test_list_customers_never_returns_more_than_limit(service: CustomerService) -> None:
    create_many(service, 6)

    assert [len(page) for page in walk(service, limit=1)] == [1] * 6


def test_list_customers_filtered_returns_only_matches_across_pages(service: CustomerService) -> None:
    # Given a mix of statuses
    inactive = create_many(service, 5, customer_status="inactive")
    create_many(service, 6, customer_status="active")

    # When the inactive ones are listed two at a time
    pages = walk(service, limit=2, where=Criteria(customer_status="inactive"))

    # Then every page holds only matches, and all of them once
    listed = [customer for page in pages for customer in page]
    assert all(customer["customer_status"] == "inactive" for customer in listed)
    assert sorted(ids(listed)) == sorted(ids(inactive))
    assert all(len(page) <= 2 for page in pages)


def test_list_customers_filtered_by_a_field_some_lack_skips_those(service: CustomerService) -> None:
    oregon = create_many(service, 2, state="OR")
    create_many(service, 2)  # no state at all
    create_many(service, 1, state="WA")

    page = service.list_customers(where=Criteria(state="OR"))

    assert sorted(ids(page.customers)) == sorted(ids(oregon))


@pytest.mark.parametrize("asked", ["grace@example.com", "GRACE@EXAMPLE.COM", "Grace@Example.com"])
def test_list_customers_filtered_by_email_ignores_case(service: CustomerService, asked: str) -> None:
    grace = service.create_customer(new_customer(email_address="Grace@example.com")).customer
    create_many(service, 3)

    page = service.list_customers(where=Criteria(email_address=asked))

    assert page.customers == [grace]
    assert page.next_token is None


def test_list_customers_filtered_with_no_match_is_empty(service: CustomerService) -> None:
    create_many(service, 3)

    page = service.list_customers(where=Criteria(customer_status="canceled"))

    assert (page.customers, page.next_token) == ([], None)


@pytest.fixture
def unfiltered_token(service: CustomerService) -> str:
    create_many(service, 3, customer_status="active", state="OR")
    token = service.list_customers(limit=1).next_token
    assert token is not None
    return token


@pytest.fixture
def active_token(service: CustomerService, unfiltered_token: str) -> str:
    token = service.list_customers(limit=1, where=Criteria(customer_status="active")).next_token
    assert token is not None
    return token


def test_list_customers_with_a_token_continues_where_the_page_ended(
    service: CustomerService, unfiltered_token: str
) -> None:
    first = service.list_customers(limit=1).customers

    rest = service.list_customers(limit=10, next_token=unfiltered_token).customers

    assert len(rest) == 2
    assert first[0] not in rest


def tampered(token: str) -> str:
    payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    start = raw.index(b'"after":"') + len(b'"after":"')
    raw[start] ^= 0x01  # one bit of the customer id the position continues after
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode() + "." + signature


def test_list_customers_with_a_tampered_token_is_validation_failed_naming_next_token(
    service: CustomerService, unfiltered_token: str, repository: InMemoryCustomerRepository
) -> None:
    repository.calls.clear()
    with pytest.raises(ValidationFailed) as refused:
        service.list_customers(next_token=tampered(unfiltered_token))

    assert_refused_by_its_signature(refused, repository)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "!!!.???", "é.ü", "eyJ2IjoxfQ.AAAA"])
def test_list_customers_with_a_malformed_token_is_validation_failed_naming_next_token(
    service: CustomerService, garbage: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        service.list_customers(next_token=garbage)

    assert_invalid_next_token(refused)


@pytest.mark.parametrize(
    "where",
    [Criteria(customer_status="inactive"), Criteria(state="active"), EVERYONE],
    ids=["another-filter-value", "another-filtered-field", "unfiltered"],
)
def test_list_customers_with_a_token_from_another_listing_is_validation_failed(
    service: CustomerService, active_token: str, repository: InMemoryCustomerRepository, where: Criteria
) -> None:
    # Given a token issued for customer_status=active
    repository.calls.clear()
    # When it is used for any other listing
    with pytest.raises(ValidationFailed) as refused:
        service.list_customers(next_token=active_token, where=where)
    # Then its signature refuses it before the store is asked
    assert_refused_by_its_signature(refused, repository)


def test_list_customers_filtered_with_a_token_from_the_unfiltered_listing_is_validation_failed(
    service: CustomerService, unfiltered_token: str, repository: InMemoryCustomerRepository
) -> None:
    repository.calls.clear()
    with pytest.raises(ValidationFailed) as refused:
        service.list_customers(next_token=unfiltered_token, where=Criteria(customer_status="active"))

    assert_refused_by_its_signature(refused, repository)


def test_list_customers_filtered_with_its_own_token_continues(service: CustomerService, active_token: str) -> None:
    page = service.list_customers(limit=10, next_token=active_token, where=Criteria(customer_status="active"))

    assert len(page.customers) == 2


def test_list_customers_with_a_token_signed_with_another_secret_is_validation_failed(
    repository: InMemoryCustomerRepository, service: CustomerService
) -> None:
    # Given a token another deployment (another secret) issued over the same store
    create_many(service, 2)
    foreign = CustomerService(repository, token_secret=b"y" * 32).list_customers(limit=1).next_token
    assert foreign is not None

    repository.calls.clear()
    with pytest.raises(ValidationFailed) as refused:
        service.list_customers(next_token=foreign)

    assert_refused_by_its_signature(refused, repository)


def test_list_customers_with_a_token_from_another_store_is_validation_failed(
    service: CustomerService, clock: FakeClock, repository: InMemoryCustomerRepository
) -> None:
    # Given a token issued with the same secret over another store (another stage's table)
    other = CustomerService(InMemoryCustomerRepository(clock=clock, name="customers-other"), token_secret=TOKEN_SECRET)
    create_many(other, 2)
    foreign = other.list_customers(limit=1).next_token
    assert foreign is not None

    repository.calls.clear()
    with pytest.raises(ValidationFailed) as refused:
        service.list_customers(next_token=foreign)

    assert_refused_by_its_signature(refused, repository)


def test_list_customers_with_a_signed_token_whose_position_the_store_does_not_issue_is_validation_failed(
    service: CustomerService, repository: InMemoryCustomerRepository
) -> None:
    # Given a genuinely signed token for this listing whose position is not one this store
    # issues (another storage layout's shape): the signature alone does not make it valid
    token = encode_token(
        {"customer_id": "3f0c2a52-8a0e-4c1e-9a8e-2b6f1c0d4a01"},
        secret=TOKEN_SECRET,
        scope=f"customers:list:{repository.name}:sort=-created_at",
    )

    with pytest.raises(ValidationFailed) as refused:
        service.list_customers(next_token=token)

    assert refused.value.details["next_token"] == ["Not a valid token for this listing."]
    assert repository.calls["page"] == 0  # refused before the store was asked
