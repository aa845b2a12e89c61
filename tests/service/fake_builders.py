"""Items for the stores' own contract tests: customers and history entries as the use cases hand them over."""

from __future__ import annotations

import uuid
from typing import cast

from chalicelib.customers.model import ChangeKind, Customer, HistoryEntry, Stamp, StoredCustomer
from chalicelib.customers.ports import IdempotencyRecord
from tests.service.fake_repository import InMemoryCustomerRepository
from tests.service.support import FakeClock, live, new_customer, stored

CREATED = Stamp("2024-05-01T12:00:00Z", "creator", "req-create")
LATER = Stamp("2024-05-01T13:00:00Z", "editor", "req-later")
WINDOW = 3600


def a_customer(**fields: str) -> Customer:
    return cast(
        Customer,
        {
            **new_customer(**fields),
            "customer_id": str(uuid.uuid4()),
            "created_at": CREATED.at,
            "created_by": CREATED.by,
            "updated_at": CREATED.at,
            "updated_by": CREATED.by,
            "version": 1,
        },
    )


def a_record(customer: Customer, clock: FakeClock, key: str = "k", ttl: int = 100) -> IdempotencyRecord:
    return IdempotencyRecord(key, "fingerprint", customer["customer_id"], customer, int(clock().timestamp()) + ttl)


def soft_delete(repository: InMemoryCustomerRepository, customer: Customer, clock: FakeClock) -> StoredCustomer:
    repository.soft_delete(live(repository, customer["customer_id"]), LATER, purge_at=int(clock().timestamp()) + WINDOW)
    return stored(repository, customer["customer_id"])


ADA = "00000000-0000-4000-8000-00000000000a"
BOB = "00000000-0000-4000-8000-00000000000b"
T1, T2, T3 = "2024-05-01T12:00:01.000000Z", "2024-05-01T12:00:02.000000Z", "2024-05-01T12:00:03.000000Z"


def an_entry(customer_id: str = ADA, version: int = 1, change: ChangeKind = "updated") -> HistoryEntry:
    customer = cast(Customer, {"customer_id": customer_id, "city": f"City {version}", "version": version})
    return HistoryEntry(
        customer_id,
        version,
        change,
        occurred_at=T1,
        actor="tester",
        request_id=f"req-{version}",
        changes={"city": {"from": f"City {version - 1}", "to": f"City {version}"}},
        customer=customer,
    )


def redacted(entry: HistoryEntry) -> HistoryEntry:
    return entry.without_values()
