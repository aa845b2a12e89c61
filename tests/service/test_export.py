"""PrivacyService.export: everything stored about a live or soft-deleted customer, history oldest first."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from chalicelib.customers.errors import CustomerErased, CustomerNotFound
from chalicelib.customers.model import Customer, Export, format_utc
from chalicelib.customers.privacy import PrivacyService
from chalicelib.customers.service import CustomerService
from tests.service.fake_history import InMemoryHistoryRepository
from tests.service.support import Delivery, FakeClock, MetricRecorder


def test_export_of_a_live_customer_is_its_record_and_whole_history_oldest_first(
    service: CustomerService,
    privacy: PrivacyService,
    history: InMemoryHistoryRepository,
    customer: Customer,
    clock: FakeClock,
    deliver: Delivery,
) -> None:
    updated = service.update_customer(customer["customer_id"], {"city": "Paris"})
    service.update_customer(customer["customer_id"], {"city": "Rome"})
    deliver()
    clock.advance(60)

    export = privacy.export(customer["customer_id"])

    current = service.get_customer(customer["customer_id"]).customer
    assert export == Export(current, None, None, history.entries(customer["customer_id"]), clock.stamp)
    assert [(entry.version, entry.change) for entry in export.history] == [
        (1, "created"),
        (2, "updated"),
        (3, "updated"),
    ]
    assert export.history[1].customer == updated  # the values as they were, not redacted


def test_export_of_a_soft_deleted_customer_says_when_and_until_when_it_can_be_restored(
    service: CustomerService, privacy: PrivacyService, customer: Customer, clock: FakeClock, deliver: Delivery
) -> None:
    service.delete_customer(customer["customer_id"])
    deleted_at = clock.now
    deliver()
    clock.advance(3600)

    export = privacy.export(customer["customer_id"])

    assert export.deleted_at == format_utc(deleted_at)
    assert export.restorable_until == format_utc(deleted_at + timedelta(days=30))
    assert export.customer["first_name"] == customer["first_name"]
    assert export.customer["version"] == 2
    assert [entry.change for entry in export.history] == ["created", "deleted"]


def test_export_before_the_consumer_wrote_any_entry_has_an_empty_history(
    privacy: PrivacyService, customer: Customer
) -> None:
    export = privacy.export(customer["customer_id"])

    assert (export.customer, export.history) == (customer, [])


def test_export_counts_nothing_and_changes_nothing(
    privacy: PrivacyService, service: CustomerService, customer: Customer, metrics: MetricRecorder
) -> None:
    privacy.export(customer["customer_id"])

    assert metrics.names == ["CustomersCreated"]
    assert service.get_customer(customer["customer_id"]).customer == customer


def test_export_of_an_erased_customer_is_customer_erased(privacy: PrivacyService, customer: Customer) -> None:
    privacy.erase(customer["customer_id"])

    with pytest.raises(CustomerErased):
        privacy.export(customer["customer_id"])


def test_export_of_a_customer_that_never_existed_is_customer_not_found(privacy: PrivacyService) -> None:
    with pytest.raises(CustomerNotFound):
        privacy.export(str(uuid.uuid4()))
