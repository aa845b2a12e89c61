"""get_customer: not found, If-Match (412 when it does not match), If-None-Match (not modified)."""

from __future__ import annotations

import uuid

import pytest

from chalicelib.customers.conditions import Preconditions
from chalicelib.customers.errors import CustomerNotFound, PreconditionFailed
from chalicelib.customers.model import Customer
from chalicelib.customers.service import CustomerService
from tests.service.support import if_match, if_match_any, if_none_match, if_none_match_any, new_customer


@pytest.fixture
def customer(service: CustomerService) -> Customer:
    """A customer at version 2."""
    created = service.create_customer(new_customer()).customer
    return service.update_customer(created["customer_id"], {"city": "Salem"})


def test_get_customer_returns_the_stored_customer(service: CustomerService, customer: Customer) -> None:
    read = service.get_customer(customer["customer_id"])

    assert read.customer == customer
    assert read.not_modified is False


def test_get_customer_that_does_not_exist_is_customer_not_found(service: CustomerService) -> None:
    with pytest.raises(CustomerNotFound):
        service.get_customer(str(uuid.uuid4()))


@pytest.mark.parametrize("preconditions", [if_match(2), if_match(1, 2), if_match_any()])
def test_get_customer_with_matching_if_match_returns_it(
    service: CustomerService, customer: Customer, preconditions: Preconditions
) -> None:
    read = service.get_customer(customer["customer_id"], preconditions)

    assert read.customer == customer
    assert read.not_modified is False


@pytest.mark.parametrize("preconditions", [if_match(1), if_match(1, 3)])
def test_get_customer_with_stale_if_match_is_precondition_failed(
    service: CustomerService, customer: Customer, preconditions: Preconditions
) -> None:
    with pytest.raises(PreconditionFailed):
        service.get_customer(customer["customer_id"], preconditions)


def test_get_customer_with_if_match_that_does_not_exist_is_customer_not_found(service: CustomerService) -> None:
    with pytest.raises(CustomerNotFound):
        service.get_customer(str(uuid.uuid4()), if_match(1))


@pytest.mark.parametrize("preconditions", [if_none_match(2), if_none_match(1, 2), if_none_match_any()])
def test_get_customer_with_if_none_match_naming_its_version_is_not_modified(
    service: CustomerService, customer: Customer, preconditions: Preconditions
) -> None:
    read = service.get_customer(customer["customer_id"], preconditions)

    assert read.not_modified is True
    assert read.customer == customer


def test_get_customer_with_if_none_match_naming_an_old_version_is_modified(
    service: CustomerService, customer: Customer
) -> None:
    read = service.get_customer(customer["customer_id"], if_none_match(1))

    assert read.not_modified is False
    assert read.customer == customer
