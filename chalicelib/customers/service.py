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
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import cast

from chalicelib.customers.batches import Batches, BatchResult
from chalicelib.customers.bulk import Operation, Outcome
from chalicelib.customers.canonical import phone_e164
from chalicelib.customers.conditions import UNCONDITIONAL, Preconditions
from chalicelib.customers.criteria import EVERYONE, Criteria
from chalicelib.customers.errors import (
    CustomerAlreadyExists,
    CustomerDeleted,
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
    Changed,
    CreateResult,
    Customer,
    CustomerChanges,
    CustomerPage,
    CustomerRead,
    DerivedFields,
    NewCustomer,
    Origin,
    Patch,
    SeedReport,
    Stamp,
    StoredChanges,
    Upserted,
    format_epoch,
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
_UPSERT_ATTEMPTS = 3


class _DeletedNotRestored(CustomerDeleted):
    """An import naming a soft-deleted customer: restore it first (an import never undoes a delete)."""

    message = "The customer with this id was deleted; restore it before importing it again."


def _fingerprint(fields: NewCustomer) -> str:
    """What makes two creates "the same request": their validated, normalised fields."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _written_by(customer: Customer, stamp: Stamp) -> bool:
    """Whether this write's stamp is on the customer (a write that found nothing to change leaves the old one)."""
    return customer["updated_at"] == stamp.at and customer.get("updated_by") == stamp.by


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
        self._batches = Batches(self, repository)
        # Tied to the store, so a token from another stage or deployment never verifies here.
        self._list_scope = f"customers:list:{repository.name}"

    def _now(self) -> str:
        return format_utc(self._clock())

    def now_seconds(self) -> int:
        return int(self._clock().timestamp())

    @property
    def idempotency_ttl(self) -> int:
        return IDEMPOTENCY_TTL_SECONDS

    def stamp(self, origin: Origin) -> Stamp:
        """What a write records about itself: now, who asks, in which request."""
        return Stamp(self._now(), origin.actor, origin.request_id)

    _stamp = stamp

    def purge_at(self) -> int:
        """When a customer deleted now leaves for good: the end of its restore window."""
        return self.now_seconds() + self._restore_window_seconds

    def create_customer(
        self, fields: NewCustomer, *, idempotency_key: str | None = None, origin: Origin = SYSTEM
    ) -> CreateResult:
        """A new customer with a fresh UUID, version 1 and its email claimed.

        With an Idempotency-Key the request is recorded in the same transaction as
        the customer, so a retry either finds the record (and gets the original
        customer back) or finds nothing at all: there is no window in which the
        customer exists without its record or the reverse.
        """
        record_key = None if idempotency_key is None else f"{_CREATE_SCOPE} {idempotency_key}"
        return self.create_with_key(fields, record_key, origin)

    def create_with_key(self, fields: NewCustomer, record_key: str | None, origin: Origin) -> CreateResult:
        """:meth:`create_customer` with the idempotency record's whole key (a batch scopes its own)."""
        result = retry_on_conflict(lambda: self._create(fields, record_key, origin))
        if not result.replayed:
            self._count("CustomersCreated")
        return result

    def create_record(self, record_key: str, fields: NewCustomer, customer: Customer) -> IdempotencyRecord:
        """The idempotency record a keyed create stores with its customer."""
        expires_at = self.now_seconds() + IDEMPOTENCY_TTL_SECONDS
        return IdempotencyRecord(record_key, _fingerprint(fields), customer["customer_id"], customer, expires_at)

    def replayed_create(self, record_key: str, fields: NewCustomer) -> Customer | None:
        """The customer an earlier create with this key made (None: there was none), as :meth:`_replay` rules."""
        if self._repository.idempotency_record(record_key) is None:
            return None
        return self._replay(record_key, _fingerprint(fields)).customer

    def _create(
        self, fields: NewCustomer, record_key: str | None, origin: Origin, customer_id: str | None = None
    ) -> CreateResult:
        """``record_key``: the idempotency record's key, its scope (the route, or the batch) included."""
        stamp = self._stamp(origin)
        customer = self._new(fields, customer_id or str(uuid.uuid4()), stamp)
        if record_key is None:
            try:
                self._repository.create(customer, stamp)
            except CustomerAlreadyExists:
                if customer_id is not None:
                    raise  # an id from outside: someone else may have it
                # A fresh UUID4 cannot collide: our own transaction was applied by an attempt
                # whose answer was lost, and the retry found it (DynamoDB's request token makes
                # this rare; stores without it make it routine).
                return CreateResult(self._lifecycle.live(customer["customer_id"]), replayed=False)
            return CreateResult(customer, replayed=False)
        record = self.create_record(record_key, fields, customer)
        try:
            self._repository.create(customer, stamp, record)
        except IdempotencyKeyTaken:
            return self._replay(record_key, record.fingerprint or "")
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

    def stored_changes(self, patch: Patch) -> StoredChanges:
        """The patch's changes as stored: with what the server derives from them."""
        return {**patch.changes, **self._derived(patch.changes.get("phone_number"))}

    def new_customer(self, fields: NewCustomer, customer_id: str, stamp: Stamp) -> Customer:
        """A customer as a create stores it: defaults, derived fields, stamps, version 1."""
        return self._new(fields, customer_id, stamp)

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
        removals: frozenset[str] = frozenset(),
    ) -> Customer:
        """Apply a partial update (or a merge patch's removals); a changed email moves its claim atomically.

        An update that changes nothing writes nothing: the customer comes back as it is, with
        its version (and ETag), so a client re-sending what it has is not a change in history.
        """
        return self.change_customer(customer_id, Patch(changes, removals), preconditions, origin=origin).customer

    def change_customer(
        self, customer_id: str, patch: Patch, preconditions: Preconditions = UNCONDITIONAL, *, origin: Origin = SYSTEM
    ) -> Changed:
        """:meth:`update_customer`, saying whether anything was written (a batch answers "unchanged")."""
        try:
            changed = self._change(customer_id, patch, preconditions, origin)
        except CustomerNotFound:
            self._lifecycle.live(customer_id)  # the precise reason: deleted (restorable), erased or never there
            raise
        if changed.written:
            self._count("CustomersUpdated")
        return changed

    def _change(self, customer_id: str, patch: Patch, preconditions: Preconditions, origin: Origin) -> Changed:
        """Preconditions are enforced by the write's own condition on the version.

        A read only tells which version to make the write conditional on, and a write whose
        condition failed is re-read to tell 404, 410, 412, "changed meanwhile" and "nothing to change"
        apart. A changed phone number gets its E.164 form recomputed in the same write.
        """
        stored = self.stored_changes(patch)
        removals = patch.stored_removals
        # A change of a searched field (an email moving its claim, a name its search terms) needs
        # the customer as it is; any other is one conditional write, which writes nothing if
        # the customer already is as asked.
        touched = set(patch.changes) | patch.removals
        if SEARCHED_FIELDS.isdisjoint(touched) and preconditions.any_existing_version:

            def unread() -> Changed:
                stamp = self._stamp(origin)
                updated = self._repository.update(customer_id, stored, stamp, removals=removals)
                return Changed(updated, _written_by(updated, stamp))

            return retry_on_conflict(unread)
        expected = preconditions.single_version
        if SEARCHED_FIELDS.isdisjoint(touched) and expected is not None:
            stamp = self._stamp(origin)
            try:
                updated = self._repository.update(
                    customer_id, stored, stamp, expected_version=expected, removals=removals
                )
            except WriteConflict:
                raise PreconditionFailed() from None
            return Changed(updated, _written_by(updated, stamp))

        def read_first() -> Changed:
            current = self._current(customer_id, preconditions)
            if patch.changes_nothing(current):
                return Changed(current, written=False)
            return Changed(self._repository.apply_changes(current, stored, self._stamp(origin), removals), True)

        return retry_on_conflict(read_first)

    def upsert_customer(
        self,
        patch: Patch,
        new: NewCustomer | None,
        *,
        customer_id: str | None = None,
        cannot_create: ValidationFailed | None = None,
        record_key: str | None = None,
        origin: Origin = SYSTEM,
    ) -> Upserted:
        """Update the live customer holding the patch's email address, or create one from ``new``.

        ``customer_id`` (an import keeping a file's ids) names the customer instead: it is updated
        if live, created with that id if nothing has it, and refused if it was erased or deleted
        (re-importing an old export must not bring anyone back) or if its address is another's.
        A create that finds the address just taken, or an update that finds its customer just
        deleted, looks again: an upsert never silently does nothing.
        """
        address = patch.changes.get("email_address")
        if address is None:
            raise ValidationFailed(
                "Invalid request body.",
                details={"email_address": ["Required: an upsert finds the customer by its email address."]},
            )

        def attempt() -> Upserted:
            if customer_id is not None:
                return self._upsert_by_id(customer_id, address, patch, new, cannot_create, record_key, origin)
            holder = self._repository.holder_of(address)
            if holder is not None:
                changed = self.change_customer(holder, patch, origin=origin)
                return Upserted(changed.customer, created=False, written=changed.written)
            return self._upsert_create(new, None, cannot_create, record_key, origin)

        # Races with another writer of the same address or id: the address claimed, or its holder
        # deleted, between the look-up and the write. Looking again settles it.
        for _ in range(_UPSERT_ATTEMPTS - 1):
            try:
                return attempt()
            except (EmailAlreadyInUse, CustomerDeleted, CustomerAlreadyExists):
                continue
        return attempt()

    def _upsert_by_id(
        self,
        customer_id: str,
        address: str,
        patch: Patch,
        new: NewCustomer | None,
        cannot_create: ValidationFailed | None,
        record_key: str | None,
        origin: Origin,
    ) -> Upserted:
        stored = self._repository.read(customer_id)
        if stored is not None and not self._lifecycle.purged(stored):
            if stored.erased_at is not None:
                raise CustomerErased()
            if not stored.is_live:
                raise _DeletedNotRestored(format_epoch(stored.purge_at or 0))
            changed = self.change_customer(customer_id, patch, origin=origin)
            return Upserted(changed.customer, created=False, written=changed.written)
        holder = self._repository.holder_of(address)
        if holder is not None:
            raise EmailAlreadyInUse(holder)  # the file's id would take another customer's address
        return self._upsert_create(new, customer_id, cannot_create, record_key, origin)

    def _upsert_create(
        self,
        new: NewCustomer | None,
        customer_id: str | None,
        cannot_create: ValidationFailed | None,
        record_key: str | None,
        origin: Origin,
    ) -> Upserted:
        if new is None:
            raise cannot_create or ValidationFailed("Invalid request body.")
        created = retry_on_conflict(lambda: self._create(new, record_key, origin, customer_id))
        if not created.replayed:
            self._count("CustomersCreated")
        return Upserted(created.customer, created=True, written=not created.replayed)

    def delete_customer(
        self, customer_id: str, preconditions: Preconditions = UNCONDITIONAL, *, origin: Origin = SYSTEM
    ) -> None:
        """Hide the customer for the restore window and free its email address, in one transaction."""

        def soft_delete() -> None:
            current = self._current(customer_id, preconditions)
            self._repository.soft_delete(current, self._stamp(origin), purge_at=self.purge_at())

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

    def run_batch(
        self,
        operations: Sequence[Operation],
        *,
        atomic: bool = False,
        idempotency_key: str | None = None,
        origin: Origin = SYSTEM,
    ) -> BatchResult:
        """Many operations, each like its own route (or all or nothing): see chalicelib/customers/batches.py."""
        return self._batches.run(operations, atomic=atomic, idempotency_key=idempotency_key, origin=origin)

    def apply_operations(self, operations: Sequence[Operation], *, origin: Origin = SYSTEM) -> list[Outcome]:
        """A batch without a key, each operation on its own: what the import tool sends, a chunk at a time."""
        return self.run_batch(operations, origin=origin).outcomes

    def count_written(self, outcome: Outcome) -> None:
        """Count an atomic batch's operation the way its own route counts it."""
        metric = {"created": "CustomersCreated", "updated": "CustomersUpdated", "deleted": "CustomersDeleted"}
        if outcome.result in metric:
            self._count(metric[outcome.result])

    def current(self, customer_id: str, preconditions: Preconditions = UNCONDITIONAL) -> Customer:
        """The live customer, provided its version passes the client's preconditions."""
        return self._current(customer_id, preconditions)

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
