"""CustomerService: the business rules, named after the use cases.

It takes validated values and returns plain ones, owns the rules that span
several writes (defaults, versions, preconditions, idempotency, seeding), and
leaves every storage detail behind the repository port. Business metrics are
counted here, where the event happens.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import cast

from chalicelib.customers.canonical import phone_e164
from chalicelib.customers.conditions import UNCONDITIONAL, Preconditions
from chalicelib.customers.criteria import EVERYONE, Criteria
from chalicelib.customers.errors import (
    CustomerAlreadyExists,
    CustomerErased,
    CustomerNotDeleted,
    CustomerNotFound,
    EmailAlreadyInUse,
    Forbidden,
    IdempotencyKeyReused,
    IdempotencyKeyTaken,
    PreconditionFailed,
    RequestInProgress,
    ValidationFailed,
    WriteConflict,
)
from chalicelib.customers.lifecycle import Lifecycle
from chalicelib.customers.model import (
    SYSTEM,
    CreateResult,
    Customer,
    CustomerChanges,
    CustomerPage,
    CustomerRead,
    DerivedFields,
    NewCustomer,
    Origin,
    SeedReport,
    Stamp,
    StoredChanges,
    format_utc,
)
from chalicelib.customers.ports import CustomerRepository, IdempotencyRecord, Position
from chalicelib.customers.retry import retry_on_conflict
from chalicelib.customers.search import SEARCHED_FIELDS
from chalicelib.customers.seed_data import SAMPLE_CUSTOMERS
from chalicelib.customers.tokens import decode_token, encode_token

DEFAULT_PAGE_SIZE = 25
IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
_CREATE_SCOPE = "POST /customers"


def _fingerprint(fields: NewCustomer) -> str:
    """What makes two creates "the same request": their validated, normalised fields."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def utc_now() -> datetime:
    return datetime.now(UTC)


def _no_metrics(name: str) -> None:
    """The default for tests and scripts that build a service without the process's metrics."""


def _foreign_token() -> ValidationFailed:
    """Signed by us but not a position this listing issues: a token from another listing."""
    return ValidationFailed(
        "Invalid query parameters.", details={"next_token": ["Not a valid token for this listing."]}
    )


class CustomerService:
    def __init__(
        self,
        repository: CustomerRepository,
        *,
        token_secret: bytes,
        seed_enabled: bool = True,
        restore_window_days: int = 30,
        clock: Callable[[], datetime] = utc_now,
        count: Callable[[str], None] = _no_metrics,
        phone_region: str = "US",
    ) -> None:
        self._repository = repository
        self._phone_region = phone_region  # where a phone number without a country code is
        self._token_secret = token_secret
        self._seed_enabled = seed_enabled
        self._restore_window_seconds = restore_window_days * 24 * 60 * 60
        self._clock = clock
        self._count = count
        self._lifecycle = Lifecycle(repository, clock)
        # Tied to the store, so a token from another stage or deployment never verifies here.
        self._list_scope = f"customers:list:{repository.name}"

    def _now(self) -> str:
        return format_utc(self._clock())

    def _stamp(self, origin: Origin) -> Stamp:
        return Stamp(self._now(), origin.actor, origin.request_id)

    def create_customer(
        self, fields: NewCustomer, *, idempotency_key: str | None = None, origin: Origin = SYSTEM
    ) -> CreateResult:
        """A new customer with a fresh UUID, version 1 and its email claimed.

        With an Idempotency-Key the request is recorded in the same transaction as
        the customer, so a retry either finds the record (and gets the original
        customer back) or finds nothing at all: there is no window in which the
        customer exists without its record or the reverse.
        """
        result = retry_on_conflict(lambda: self._create(fields, idempotency_key, origin))
        if not result.replayed:
            self._count("CustomersCreated")
        return result

    def _create(self, fields: NewCustomer, idempotency_key: str | None, origin: Origin) -> CreateResult:
        stamp = self._stamp(origin)
        customer = self._new(fields, str(uuid.uuid4()), stamp)
        if idempotency_key is None:
            try:
                self._repository.create(customer, stamp)
            except CustomerAlreadyExists:
                # A fresh UUID4 cannot collide: our own transaction was applied by an attempt
                # whose answer was lost, and the retry found it (DynamoDB's request token makes
                # this rare; stores without it make it routine).
                return CreateResult(self._lifecycle.live(customer["customer_id"]), replayed=False)
            return CreateResult(customer, replayed=False)
        key = f"{_CREATE_SCOPE} {idempotency_key}"
        fingerprint = _fingerprint(fields)
        expires_at = int(self._clock().timestamp()) + IDEMPOTENCY_TTL_SECONDS
        record = IdempotencyRecord(key, fingerprint, customer["customer_id"], customer, expires_at)
        try:
            self._repository.create(customer, stamp, record)
        except IdempotencyKeyTaken:
            return self._replay(key, fingerprint)
        return CreateResult(customer, replayed=False)

    def _replay(self, key: str, fingerprint: str) -> CreateResult:
        """The original answer to a retried create, unless the customer it made has since gone.

        A deleted customer's data is not handed out again through its key, and an erased
        one is never recreated by a retry: its record answers "erased" for as long as it lives.
        """
        original = self._repository.idempotency_record(key)
        if original is None:  # expired between the two calls: let the client retry afresh
            raise RequestInProgress() from None
        if original.customer is None:
            raise CustomerErased()
        if original.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        self._lifecycle.live(original.customer_id)
        return CreateResult(original.customer, replayed=True)

    def _derived(self, phone_number: str | None) -> DerivedFields:
        """What a write that sets these fields also stores (recomputed on every such write, never sent)."""
        if phone_number is None:
            return {}
        return {"phone_number_e164": phone_e164(phone_number, self._phone_region)}

    def _new(self, fields: NewCustomer, customer_id: str, stamp: Stamp) -> Customer:
        return {
            "customer_acquisition_date": stamp.at,
            **fields,
            **self._derived(fields.get("phone_number")),
            "customer_id": customer_id,
            "created_at": stamp.at,
            "created_by": stamp.by,
            "updated_at": stamp.at,
            "updated_by": stamp.by,
            "version": 1,
        }

    def get_customer(self, customer_id: str, preconditions: Preconditions = UNCONDITIONAL) -> CustomerRead:
        """The customer, or "not modified" when If-None-Match names its version; 412 when If-Match does not."""
        customer = self._lifecycle.live(customer_id)
        if preconditions.if_match is not None and not preconditions.if_match.matches(customer["version"]):
            raise PreconditionFailed()
        unchanged = preconditions.if_none_match is not None and preconditions.if_none_match.matches(customer["version"])
        return CustomerRead(customer, not_modified=unchanged)

    def update_customer(
        self,
        customer_id: str,
        changes: CustomerChanges,
        preconditions: Preconditions = UNCONDITIONAL,
        *,
        origin: Origin = SYSTEM,
    ) -> Customer:
        """Apply a partial update; a changed email moves its uniqueness claim atomically.

        A changed phone number gets its E.164 form recomputed in the same write.

        Preconditions are enforced by the write's own condition on the version: a read
        only tells which version to make the write conditional on, and a write whose
        condition failed is re-read to tell 404, 410, 412 and "changed meanwhile" apart.
        """
        stored: StoredChanges = {**changes, **self._derived(changes.get("phone_number"))}
        try:
            updated = self._update(customer_id, stored, preconditions, origin)
        except CustomerNotFound:
            self._lifecycle.live(customer_id)  # the precise reason: deleted (restorable), erased or never there
            raise
        self._count("CustomersUpdated")
        return updated

    def _update(
        self, customer_id: str, changes: StoredChanges, preconditions: Preconditions, origin: Origin
    ) -> Customer:
        # A change of a searched field (an email moving its claim, a name its search terms) needs
        # the customer as it is; any other is one conditional write.
        plain_change = SEARCHED_FIELDS.isdisjoint(changes)
        if plain_change and preconditions.any_existing_version:
            # No read needed: one UpdateItem that requires the customer to exist.
            return self._repository.update(customer_id, changes, self._stamp(origin))
        expected = preconditions.single_version
        if plain_change and expected is not None:
            try:
                return self._repository.update(customer_id, changes, self._stamp(origin), expected_version=expected)
            except WriteConflict:
                raise PreconditionFailed() from None
        return retry_on_conflict(
            lambda: self._repository.apply_changes(
                self._current(customer_id, preconditions), changes, self._stamp(origin)
            )
        )

    def delete_customer(
        self, customer_id: str, preconditions: Preconditions = UNCONDITIONAL, *, origin: Origin = SYSTEM
    ) -> None:
        """Hide the customer for the restore window and free its email address, in one transaction."""

        def soft_delete() -> None:
            current = self._current(customer_id, preconditions)
            purge_at = int(self._clock().timestamp()) + self._restore_window_seconds
            self._repository.soft_delete(current, self._stamp(origin), purge_at=purge_at)

        retry_on_conflict(soft_delete)
        self._count("CustomersDeleted")

    def restore_customer(
        self, customer_id: str, preconditions: Preconditions = UNCONDITIONAL, *, origin: Origin = SYSTEM
    ) -> Customer:
        """Undo a delete within its window: back in every list, its email claimed again (409 if taken since)."""

        def restore() -> Customer:
            stored = self._lifecycle.existing(customer_id)
            if stored.is_live:
                raise CustomerNotDeleted()
            if not preconditions.allow(stored.version):
                raise PreconditionFailed()
            return self._repository.restore(stored, self._stamp(origin))

        restored = retry_on_conflict(restore)
        self._count("CustomersRestored")
        return restored

    def _current(self, customer_id: str, preconditions: Preconditions) -> Customer:
        """The live customer, provided its version passes the client's preconditions."""
        current = self._lifecycle.live(customer_id)
        if not preconditions.allow(current["version"]):
            raise PreconditionFailed()
        return current

    def list_customers(
        self, limit: int | None = None, next_token: str | None = None, where: Criteria = EVERYONE
    ) -> CustomerPage:
        """A page of live customers meeting ``where``, in its order, at a cost bounded by the page.

        Tokens are signed for one listing: a token from other criteria (or none) is refused.
        """
        scope = f"{self._list_scope}:{where.scope()}"
        position: Position | None = None
        if next_token is not None:
            position = decode_token(next_token, secret=self._token_secret, scope=scope)
            if not self._repository.is_position(position, where):
                raise _foreign_token()
        page = self._repository.page(limit or DEFAULT_PAGE_SIZE, position, where)
        token = None
        if page.next_position is not None:
            token = encode_token(page.next_position, secret=self._token_secret, scope=scope)
        return CustomerPage(page.customers, token)

    def seed_customers(self, *, origin: Origin = SYSTEM) -> SeedReport:
        """Insert the sample customers that are not there yet; never overwrite one."""
        if not self._seed_enabled:
            raise Forbidden("Seeding sample customers is disabled on this stage.")
        report = SeedReport()
        for sample in SAMPLE_CUSTOMERS:
            customer_id = sample["customer_id"]
            fields = cast(NewCustomer, {name: value for name, value in sample.items() if name != "customer_id"})

            def create() -> None:
                stamp = self._stamp(origin)
                self._repository.create(self._new(fields, customer_id, stamp), stamp)  # noqa: B023

            try:
                retry_on_conflict(create)
                report.created.append(customer_id)
            except CustomerAlreadyExists:
                report.already_present.append(customer_id)
            except EmailAlreadyInUse:
                report.email_taken.append(customer_id)
        return report
