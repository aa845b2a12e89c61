"""The composition root: Settings -> DynamoDB client -> repository -> service, built once per process.

Nothing is built at import (Chalice's test client sets a stage's environment
only while a request runs, and `chalice package` imports app.py with no AWS at
all); the first request builds everything and later ones reuse it. Tests and
the bench call :func:`reset` after changing the environment.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib import deadline
from chalicelib.config import Settings, get_settings
from chalicelib.customers.service import CustomerService, utc_now
from chalicelib.observability import count
from chalicelib.storage.client import build_client
from chalicelib.storage.repository import DynamoDBCustomerRepository

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.customers.consumer import ChangeConsumer
    from chalicelib.customers.history import HistoryService
    from chalicelib.customers.model import Customer
    from chalicelib.customers.privacy import PrivacyService
    from chalicelib.storage.history import DynamoDBHistoryRepository
    from chalicelib.storage.provisioning import BackfillReport

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class Components:
    settings: Settings
    client: DynamoDBClient
    repository: DynamoDBCustomerRepository
    service: CustomerService


@dataclass(frozen=True)
class HistoryComponents:
    """Built on the first use of history, events, export or erasure: a GET by id never pays for their imports."""

    history: DynamoDBHistoryRepository
    service: HistoryService
    privacy: PrivacyService


_lock = threading.Lock()  # `chalice local` serves requests in threads
_components: Components | None = None
_client_override: DynamoDBClient | None = None
_history: HistoryComponents | None = None
_consumer: ChangeConsumer | None = None


def components() -> Components:
    global _components
    if _components is None:
        with _lock:
            if _components is None:
                _components = _build(get_settings())
    return _components


def _build(settings: Settings) -> Components:
    deadline.configure(
        deadline.Limits(fallback_seconds=settings.request_budget_seconds, reserve_seconds=settings.call_seconds)
    )
    client = _client_override or build_client(settings)
    repository = DynamoDBCustomerRepository.from_settings(client, settings)
    service = CustomerService(
        repository,
        token_secret=settings.pagination_secret,
        seed_enabled=settings.seed_enabled,
        restore_window_days=settings.restore_window_days,
        count=count,
        phone_region=settings.default_phone_region,
        batch_workers=settings.batch_workers,
    )
    return Components(settings, client, repository, service)


def customer_service() -> CustomerService:
    return components().service


def history_components() -> HistoryComponents:
    global _history
    built = components()
    if _history is None:
        with _lock:
            if _history is None:
                _history = _build_history(built)
    return _history


def _build_history(built: Components) -> HistoryComponents:
    from chalicelib.customers.history import HistoryService
    from chalicelib.customers.privacy import PrivacyService
    from chalicelib.storage.history import DynamoDBHistoryRepository

    settings = built.settings
    history = DynamoDBHistoryRepository(built.client, settings.history_table)
    service = HistoryService(
        built.repository,
        history,
        token_secret=settings.pagination_secret,
        settle_seconds=settings.events_settle_seconds,
        clock=utc_now,
    )
    return HistoryComponents(history, service, PrivacyService(built.repository, history, clock=utc_now, count=count))


def history_service() -> HistoryService:
    return history_components().service


def privacy_service() -> PrivacyService:
    return history_components().privacy


def change_consumer() -> ChangeConsumer:
    """The stream consumer, with its event bus and parking lot: built only in the process that consumes."""
    global _consumer
    built = components()
    history = history_components().history
    if _consumer is None:
        with _lock:
            if _consumer is None:
                _consumer = _build_consumer(built, history)
    return _consumer


def _build_consumer(built: Components, history: DynamoDBHistoryRepository) -> ChangeConsumer:
    from chalicelib.customers.consumer import ChangeConsumer
    from chalicelib.customers.ports import ParkingLot
    from chalicelib.storage import outbound, stream_records
    from chalicelib.storage.search_index import DynamoDBSearchIndex

    settings = built.settings
    publisher = None
    if settings.event_bus_name is not None:
        publisher = outbound.EventBridgePublisher(settings.event_bus_name, settings.aws_region)
    parking: ParkingLot = outbound.LoggingParkingLot()
    if settings.parked_records_queue_url is not None:
        parking = outbound.QueueParkingLot(settings.parked_records_queue_url, settings.aws_region)
    elif settings.parked_records_dir is not None:
        parking = outbound.DirectoryParkingLot(settings.parked_records_dir)
    return ChangeConsumer(
        history,
        decode=stream_records.decode,
        publisher=publisher,
        parking=parking,
        max_attempts=settings.stream_max_attempts,
        clock=utc_now,
        count=count,
        search=DynamoDBSearchIndex(built.client, settings.search_table),
    )


def dynamodb_client() -> DynamoDBClient:
    """The process's client: for provisioning, scripts and tests that look at the store directly."""
    return components().client


def create_missing_tables(
    refused: Callable[[Customer], bool] | None = None,
) -> tuple[list[str], BackfillReport | None]:
    """Create the current settings' missing tables and upgrade existing ones (for `make run`, tests, bench).

    Never on the Lambda's path. ``refused`` tells which stored customers today's rules would refuse.
    """
    from chalicelib.storage import provisioning  # imported here: provisioning is not on the Lambda's path

    built = components()
    return provisioning.create_missing_tables(built.client, built.settings, refused=refused)


def reset(*, client: DynamoDBClient | None = None) -> None:
    """Forget settings and everything built from them (tests and the bench change the environment).

    ``client`` replaces the DynamoDB client from then on: the bench's in-memory stub.
    """
    global _components, _client_override, _consumer, _history
    with _lock:
        _components = None
        _history = None
        _consumer = None
        _client_override = client
        get_settings.cache_clear()
