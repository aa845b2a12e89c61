"""CustomerService: the business rules, named after the use cases.

It takes and returns plain dicts (already validated by the schemas), owns the
rules that span several writes (defaults, versions, email uniqueness, seeding)
and leaves every DynamoDB detail to :class:`CustomerRepository`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from chalicelib.config import Settings, get_settings
from chalicelib.cursors import decode_cursor, encode_cursor
from chalicelib.errors import (
    CustomerAlreadyExists,
    EmailAlreadyInUse,
    Forbidden,
    IdempotencyKeyReused,
    PreconditionFailed,
    RequestInProgress,
    ValidationFailed,
    WriteConflict,
)
from chalicelib.fields import format_utc
from chalicelib.preconditions import Preconditions
from chalicelib.repository import Customer, CustomerRepository, IdempotencyKeyTaken, IdempotencyRecord, email_key
from chalicelib.schemas import is_customer_id, load_new_customer
from chalicelib.seed_data import SAMPLE_CUSTOMERS
from chalicelib.tables import BY_EMAIL, BY_LOYALTY, BY_STATE, BY_STATUS, CUSTOMERS, FILTER_SHARDS, IndexSpec

DEFAULT_PAGE_SIZE = 25
UNCONDITIONAL = Preconditions()
IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
_CREATE_SCOPE = "POST /customers"
# A write that reads first retries when another request changed the customer in
# between; a handful of tries resolves any realistic contention.
MAX_WRITE_ATTEMPTS = 5


@dataclass(frozen=True)
class CustomerPage:
    customers: list[Customer]
    next_token: str | None


@dataclass(frozen=True)
class CreateResult:
    customer: Customer
    replayed: bool  # True when an Idempotency-Key found the customer an earlier request created


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)
    email_taken: list[str] = field(default_factory=list)


FILTER_INDEXES = {
    "customer_status": BY_STATUS,
    "is_loyalty_member": BY_LOYALTY,
    "state": BY_STATE,
    "email_address": BY_EMAIL,
}


def _foreign_token() -> ValidationFailed:
    """Signed by us but not a position this listing issues: a token from another listing."""
    return ValidationFailed(
        "Invalid query parameters.", details={"next_token": ["Not a valid token for this listing."]}
    )


def _is_index_cursor(cursor: dict[str, Any], index: IndexSpec) -> bool:
    shard, key = cursor.get("shard"), cursor.get("key")
    if not isinstance(shard, int) or not 0 <= shard < FILTER_SHARDS or set(cursor) != {"shard", "key"}:
        return False
    if key is None:
        return True
    expected = {name for name in (index.hash_key, index.range_key, CUSTOMERS.hash_key) if name}
    return isinstance(key, dict) and set(key) == expected and all(isinstance(v, str) for v in key.values())


def _fingerprint(fields: Customer) -> str:
    """What makes two creates "the same request": their validated, normalised fields."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class CustomerService:
    def __init__(
        self,
        repository: CustomerRepository,
        *,
        cursor_secret: bytes,
        seed_enabled: bool = True,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._seed_enabled = seed_enabled
        self._repository = repository
        self._cursor_secret = cursor_secret
        # Tied to the table, so a token from another stage or deployment never verifies here.
        self._list_scope = f"customers:list:{repository.customers_table}"
        self._clock = clock

    def _now(self) -> str:
        return format_utc(self._clock())

    def create_customer(
        self, fields: Customer, *, idempotency_key: str | None = None, customer_id: str | None = None
    ) -> CreateResult:
        """A new customer with a fresh UUID, version 1 and its email claimed.

        With an Idempotency-Key the request is recorded in the same transaction as
        the customer, so a retry either finds the record (and gets the original
        customer back) or finds nothing at all: there is no window in which the
        customer exists without its record or the reverse.
        """
        now = self._now()
        customer = {
            "customer_acquisition_date": now,
            **fields,
            "customer_id": customer_id or str(uuid.uuid4()),
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        if idempotency_key is None:
            try:
                self._repository.create(customer)
            except CustomerAlreadyExists:
                if customer_id is not None:
                    raise
                # A fresh UUID4 cannot collide: our own transaction was applied by an attempt
                # whose answer was lost, and the retry found it (DynamoDB's request token makes
                # this rare; stores without it make it routine).
                return CreateResult(self._repository.get(customer["customer_id"]), replayed=False)
            return CreateResult(customer, replayed=False)
        key = f"{_CREATE_SCOPE} {idempotency_key}"
        fingerprint = _fingerprint(fields)
        expires_at = int(self._clock().timestamp()) + IDEMPOTENCY_TTL_SECONDS
        try:
            self._repository.create(customer, IdempotencyRecord(key, fingerprint, customer, expires_at))
        except IdempotencyKeyTaken:
            original = self._repository.idempotency_record(key)
            if original is None:  # expired between the two calls: let the client retry afresh
                raise RequestInProgress() from None
            if original.fingerprint != fingerprint:
                raise IdempotencyKeyReused() from None
            return CreateResult(original.customer, replayed=True)
        return CreateResult(customer, replayed=False)

    def get_customer(self, customer_id: str) -> Customer:
        return self._repository.get(customer_id)

    def update_customer(
        self, customer_id: str, changes: Customer, preconditions: Preconditions = UNCONDITIONAL
    ) -> Customer:
        """Apply a partial update; a changed email moves its uniqueness claim atomically.

        Preconditions are enforced by the write's own condition on the version: a read
        only tells which version to make the write conditional on, and a write whose
        condition failed is re-read to tell 404, 412 and "changed meanwhile" apart.
        """
        moves_email = "email_address" in changes
        if not moves_email and preconditions.any_existing_version:
            # No read needed: one UpdateItem that requires the customer to exist.
            return self._repository.update(customer_id, changes, updated_at=self._now())
        expected = preconditions.single_version
        if not moves_email and expected is not None:
            try:
                return self._repository.update(customer_id, changes, updated_at=self._now(), expected_version=expected)
            except WriteConflict:
                raise PreconditionFailed() from None
        for _ in range(MAX_WRITE_ATTEMPTS):
            current = self._current(customer_id, preconditions)
            try:
                if not moves_email or email_key(changes["email_address"]) == email_key(current["email_address"]):
                    return self._repository.update(
                        customer_id, changes, updated_at=self._now(), expected_version=current["version"]
                    )
                return self._repository.update_with_new_email(current, changes, updated_at=self._now())
            except WriteConflict:
                continue
        raise WriteConflict()

    def delete_customer(self, customer_id: str, preconditions: Preconditions = UNCONDITIONAL) -> None:
        """Delete the customer and free its email address in the same transaction."""
        for _ in range(MAX_WRITE_ATTEMPTS):
            current = self._current(customer_id, preconditions)
            try:
                self._repository.delete(current)
                return
            except WriteConflict:
                continue
        raise WriteConflict()

    def _current(self, customer_id: str, preconditions: Preconditions) -> Customer:
        """The stored customer, provided its version passes the client's preconditions."""
        current = self._repository.get(customer_id)
        if not preconditions.allow(current["version"]):
            raise PreconditionFailed()
        return current

    def list_customers(
        self, limit: int | None = None, next_token: str | None = None, filter_by: tuple[str, str] | None = None
    ) -> CustomerPage:
        """A page of customers, all of them (a bounded Scan) or one filter's (an index Query).

        Tokens are signed for one listing: a token from another filter (or none) is refused.
        """
        if filter_by is not None:
            return self._filtered_page(limit or DEFAULT_PAGE_SIZE, next_token, *filter_by)
        start_key = None
        if next_token is not None:
            start_key = self._decode(next_token, self._list_scope)
            if set(start_key) != {CUSTOMERS.hash_key} or not is_customer_id(start_key[CUSTOMERS.hash_key]):
                raise _foreign_token()
        page = self._repository.page(limit or DEFAULT_PAGE_SIZE, start_key)
        token = None
        if page.last_key is not None:
            token = encode_cursor(page.last_key, secret=self._cursor_secret, scope=self._list_scope)
        return CustomerPage(page.customers, token)

    def _filtered_page(self, limit: int, next_token: str | None, field: str, value: str) -> CustomerPage:
        index = FILTER_INDEXES[field]
        key_value = email_key(value) if field == "email_address" else value
        scope = f"{self._list_scope}:{field}={key_value}"
        cursor = None
        if next_token is not None:
            cursor = self._decode(next_token, scope)
            if not _is_index_cursor(cursor, index):
                raise _foreign_token()
        customers, following = self._repository.query_page(index, key_value, limit, cursor)
        token = None if following is None else encode_cursor(following, secret=self._cursor_secret, scope=scope)
        return CustomerPage(customers, token)

    def _decode(self, token: str, scope: str) -> dict[str, Any]:
        return decode_cursor(token, secret=self._cursor_secret, scope=scope)

    def seed_customers(self) -> SeedReport:
        """Insert the sample customers that are not there yet; never overwrite one."""
        if not self._seed_enabled:
            raise Forbidden("Seeding sample customers is disabled on this stage.")
        report = SeedReport()
        for sample in SAMPLE_CUSTOMERS:
            customer_id = sample["customer_id"]
            fields = load_new_customer({k: v for k, v in sample.items() if k != "customer_id"})
            try:
                self.create_customer(fields, customer_id=customer_id)
                report.created.append(customer_id)
            except CustomerAlreadyExists:
                report.already_present.append(customer_id)
            except EmailAlreadyInUse:
                report.email_taken.append(customer_id)
        return report


@lru_cache(maxsize=1)
def get_customer_service() -> CustomerService:
    """Built on first use, then shared by every request this process serves."""
    settings: Settings = get_settings()
    return CustomerService(
        CustomerRepository.from_settings(settings),
        cursor_secret=settings.pagination_secret,
        seed_enabled=settings.seed_enabled,
    )
