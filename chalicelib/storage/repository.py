"""The DynamoDB adapter of the repository port: conditional writes and transactions.

Every write is conditional, the email-uniqueness records move with their
customers inside one transaction, and every failure leaves as a domain error.
The client is handed in (built once per process by ``chalicelib/wiring.py``), so
tests give it moto's or DynamoDB Local's.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.config import Settings
from chalicelib.customers.criteria import EVERYONE, Criteria
from chalicelib.customers.errors import (
    CustomerAlreadyExists,
    CustomerNotFound,
    DomainError,
    EmailAlreadyInUse,
    IdempotencyKeyTaken,
    RequestInProgress,
    WriteConflict,
)
from chalicelib.customers.model import (
    DERIVED_FIELDS,
    WRITABLE_FIELDS,
    Customer,
    CustomerChanges,
    Patch,
    Stamp,
    StoredCustomer,
    after_write,
    email_key,
)
from chalicelib.customers.ports import (
    BatchRecord,
    CustomerRepository,
    IdempotencyRecord,
    Page,
    PlannedWrite,
    Position,
    WritesRefused,
)
from chalicelib.customers.search import SEARCHED_FIELDS
from chalicelib.storage import listing
from chalicelib.storage.batch_ledger import BatchLedger
from chalicelib.storage.customer_requests import CustomerRequests, require_a_difference
from chalicelib.storage.email_claims import EmailClaims
from chalicelib.storage.items import (
    DELETED_AT,
    DERIVED_KEYS,
    ERASED_AT,
    IDEMPOTENCY_KEY,
    PURGE_AT,
    REQUEST_ID,
    WRITE_ID,
    customer_from_item,
    derived_keys,
    stored_from_item,
    to_item,
)
from chalicelib.storage.listing import Lister
from chalicelib.storage.store_errors import (
    CONDITION_FAILED,
    TRANSACTION_CONFLICT,
    cancellation_codes,
    cancelled_string,
    error_code,
    store_errors,
)
from chalicelib.storage.tables import (
    BY_EMAIL,
    CUSTOMER_EMAILS,
    CUSTOMER_SEARCH,
    CUSTOMERS,
    IDEMPOTENCY_EXPIRY_ATTRIBUTE,
    IDEMPOTENCY_RECORDS,
)
from chalicelib.storage.writes import (
    NOT_ERASED,
    RESTORABLE,
    Cancelled,
    empty_idempotency_record,
    stamp_expression,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


class DynamoDBCustomerRepository(CustomerRepository):
    def __init__(
        self, client: DynamoDBClient, customers_table: str, emails_table: str, idempotency_table: str, search_table: str
    ) -> None:
        self._client = client
        self._customers = customers_table
        self._emails = emails_table
        self._idempotency = idempotency_table
        self._lister = Lister(client, customers_table, search_table)
        self._requests = CustomerRequests(customers_table, emails_table, idempotency_table, self._held_claim)
        self._ledger = BatchLedger(client, idempotency_table)
        self._claims = EmailClaims(client, emails_table)

    @classmethod
    def from_settings(cls, client: DynamoDBClient, settings: Settings) -> DynamoDBCustomerRepository:
        return cls(
            client,
            settings.table(CUSTOMERS),
            settings.table(CUSTOMER_EMAILS),
            settings.table(IDEMPOTENCY_RECORDS),
            settings.table(CUSTOMER_SEARCH),
        )

    @property
    def name(self) -> str:
        return self._customers

    def read(self, customer_id: str) -> StoredCustomer | None:
        item = self._read(customer_id)
        return None if item is None else stored_from_item(item)

    def create(self, customer: Customer, stamp: Stamp, idempotency: IdempotencyRecord | None = None) -> None:
        """Never overwrites: a taken id, email or live idempotency record cancels the whole transaction."""
        items = self._requests.create_items(customer, stamp, idempotency)
        with store_errors():
            try:
                self._client.transact_write_items(TransactItems=items)
            except ClientError as error:
                customer_taken, email_taken, key_taken = cancellation_codes(error, 3)
                if idempotency is not None and key_taken == CONDITION_FAILED:
                    raise IdempotencyKeyTaken() from error
                if idempotency is not None and key_taken == TRANSACTION_CONFLICT:
                    raise RequestInProgress() from error
                if customer_taken == CONDITION_FAILED:
                    raise CustomerAlreadyExists() from error
                if email_taken == CONDITION_FAILED:
                    raise EmailAlreadyInUse(cancelled_string(error, 1, "customer_id")) from error
                raise

    def holder_of(self, email_address: str) -> str | None:
        return self._claims.holder_of(email_address)

    def holders_of(self, addresses: Collection[str]) -> dict[str, str]:
        return self._claims.holders_of(addresses)

    def idempotency_record(self, key: str) -> IdempotencyRecord | None:
        with store_errors():
            response = self._client.get_item(
                TableName=self._idempotency, Key={IDEMPOTENCY_RECORDS.hash_key: {"S": key}}, ConsistentRead=True
            )
        item = response.get("Item")
        if item is None:
            return None
        expires_at = int(item[IDEMPOTENCY_EXPIRY_ATTRIBUTE]["N"])
        if expires_at < time.time():  # DynamoDB deletes expired items lazily (within days)
            return None
        customer = customer_from_item(item["customer"]["M"]) if "customer" in item else None
        fingerprint = item["fingerprint"]["S"] if "fingerprint" in item else None
        return IdempotencyRecord(key, fingerprint, item["customer_id"]["S"], customer, expires_at)

    def update(
        self,
        customer_id: str,
        changes: CustomerChanges,
        stamp: Stamp,
        *,
        expected_version: int | None = None,
        removals: frozenset[str] = frozenset(),
    ) -> Customer:
        """One conditional UpdateItem: no read first, and the new customer comes back with the write.

        Its condition also requires some value to differ, so a write that would change nothing
        is refused by DynamoDB itself (no new version, no stream record) and the customer is
        read back as it is. Changes of a searched field need the whole customer (its search
        terms and name order are made of several fields): those go through :meth:`apply_changes`.
        """
        touched = set(changes) | removals
        if not SEARCHED_FIELDS.isdisjoint(touched):
            raise ValueError(f"an update of {sorted(SEARCHED_FIELDS & touched)} needs the current customer")
        return self._update(customer_id, changes, stamp, expected_version, removals=removals)

    def _update(
        self,
        customer_id: str,
        changes: CustomerChanges,
        stamp: Stamp,
        expected_version: int | None,
        current: Customer | None = None,
        removals: frozenset[str] = frozenset(),
    ) -> Customer:
        write_id = uuid.uuid4().hex
        request = self._requests.update_request(
            customer_id, changes, stamp, expected_version, write_id, current, removals
        )
        if current is None:
            require_a_difference(request, changes, removals)
        with store_errors():
            try:
                response = self._client.update_item(**request, ReturnValues="ALL_NEW")
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
                item = self._read(customer_id)
                if item is None or not stored_from_item(item).is_live:
                    raise CustomerNotFound() from error
                stored = customer_from_item(item)
                if item.get(WRITE_ID) == {"S": write_id}:
                    # botocore retried after our first attempt was applied but its answer was
                    # lost; the condition refused the second application. The write is ours.
                    return stored
                as_expected = expected_version is None or stored["version"] == expected_version
                if as_expected and Patch(changes, removals).changes_nothing(stored):
                    return stored  # nothing to change: nothing was written
                raise WriteConflict() from error
        return customer_from_item(response["Attributes"])

    def apply_changes(
        self, current: Customer, changes: CustomerChanges, stamp: Stamp, removals: frozenset[str] = frozenset()
    ) -> Customer:
        new_email = changes.get("email_address")
        if new_email is None or email_key(new_email) == email_key(current["email_address"]):
            return self._update(current["customer_id"], changes, stamp, current["version"], current, removals)
        return self._move_email(current, changes, new_email, stamp, removals)

    def _move_email(
        self, current: Customer, changes: CustomerChanges, new_email: str, stamp: Stamp, removals: frozenset[str]
    ) -> Customer:
        """Claim the new address, free the old one and update the customer, atomically."""
        items = self._requests.change_items(current, changes, stamp, removals)
        with store_errors():
            try:
                self._client.transact_write_items(TransactItems=items)
            except ClientError as error:
                claim, release, version = cancellation_codes(error, 3)
                # The customer changed since it was read (maybe moving to this very address):
                # only a fresh read can tell whether the address is someone else's.
                if CONDITION_FAILED in (release, version):
                    raise WriteConflict() from error
                if claim == CONDITION_FAILED:
                    raise EmailAlreadyInUse(cancelled_string(error, 0, "customer_id")) from error
                raise
        return after_write(current, changes, stamp, removals)

    def soft_delete(self, current: Customer, stamp: Stamp, *, purge_at: int) -> None:
        """Hide it (out of every index) until ``purge_at``, when TTL removes it, and free its email at once."""
        self._transact(self._requests.delete_items(current, stamp, purge_at), conflict_on=(0, 1))

    def restore(self, stored: StoredCustomer, stamp: Stamp) -> Customer:
        assert stored.customer is not None, "an erased customer is never restored"
        customer = stored.customer
        keys = derived_keys({**customer, "updated_at": stamp.at})
        expression = stamp_expression(stamp).set_all(keys, prefix="k")
        expression.remove(DELETED_AT, PURGE_AT)
        update = self._requests.lifecycle_update(stored.customer_id, expression, stored.version, RESTORABLE)
        claim = self._requests.claim_email(customer["email_address"], stored.customer_id)
        try:
            self._transact([{"Put": claim}, {"Update": update}], conflict_on=(1,))
        except Cancelled as cancelled:
            if cancelled.codes[0] == CONDITION_FAILED:
                raise EmailAlreadyInUse(cancelled_string(cancelled.error, 0, "customer_id")) from cancelled.error
            raise cancelled.error from None
        return after_write(customer, {}, stamp)

    def erase(self, stored: StoredCustomer, stamp: Stamp) -> None:
        """One transaction: the tombstone, the email claim (if still its own), the create's idempotency record."""
        expression = stamp_expression(stamp).set(ERASED_AT, stamp.at)
        expression.remove(
            *WRITABLE_FIELDS, *DERIVED_FIELDS, "created_by", *DERIVED_KEYS, DELETED_AT, PURGE_AT, IDEMPOTENCY_KEY
        )
        items: list[TransactWriteItemTypeDef] = [
            {"Update": self._requests.lifecycle_update(stored.customer_id, expression, stored.version, NOT_ERASED)}
        ]
        if stored.is_live and stored.customer is not None:
            items.append({"Delete": self._requests.release_email(stored.customer)})
        if stored.idempotency_key is not None:
            items.append(
                {"Update": empty_idempotency_record(self._idempotency, stored.idempotency_key, stored.customer_id)}
            )
        try:
            self._transact(items, conflict_on=tuple(range(len(items) - (stored.idempotency_key is not None))))
        except Cancelled as cancelled:
            if stored.idempotency_key is None or cancelled.codes[-1] != CONDITION_FAILED:
                raise cancelled.error from None
            # Its record has expired and gone: nothing to empty there.
            self.erase(replace(stored, idempotency_key=None), stamp)

    def bury(self, customer_id: str, version: int, stamp: Stamp) -> None:
        tombstone: dict[str, Any] = {
            "customer_id": customer_id,
            "version": version,
            "updated_at": stamp.at,
            "updated_by": stamp.by,
            ERASED_AT: stamp.at,
        }
        if stamp.request_id is not None:
            tombstone[REQUEST_ID] = stamp.request_id
        with store_errors():
            try:
                self._client.put_item(
                    TableName=self._customers,
                    Item=to_item(tombstone),
                    ConditionExpression="attribute_not_exists(customer_id)",
                )
            except ClientError as error:
                if error_code(error) == "ConditionalCheckFailedException":
                    raise WriteConflict() from error
                raise

    def _transact(self, items: list[TransactWriteItemTypeDef], *, conflict_on: tuple[int, ...]) -> None:
        """One transaction; a failed condition on an item of ``conflict_on`` means "changed since read"."""
        with store_errors():
            try:
                self._client.transact_write_items(TransactItems=items)
            except ClientError as error:
                codes = cancellation_codes(error, len(items))
                if any(codes[index] == CONDITION_FAILED for index in conflict_on):
                    raise WriteConflict() from error
                if CONDITION_FAILED in codes:
                    raise Cancelled(error, codes) from error
                raise

    def write_atomically(self, writes: list[PlannedWrite], stamp: Stamp, finished: BatchRecord | None = None) -> None:
        """One transaction of every write's items; a cancellation says which write failed, and why."""
        items, owners = self._requests.atomic_items(writes, stamp)
        if finished is not None:
            items.append({"Put": self._ledger.finished_put(finished)})
            owners.append(len(writes))
        with store_errors():
            try:
                self._client.transact_write_items(TransactItems=items)
            except ClientError as error:
                codes = cancellation_codes(error, len(items))
                if CONDITION_FAILED not in codes:
                    raise
                failures: dict[int, DomainError] = {}
                for number, (code, position) in enumerate(zip(codes, owners, strict=True)):
                    if code == CONDITION_FAILED and position not in failures:
                        failures[position] = self._refusal(items[number], error, number)
                raise WritesRefused(failures) from error

    def _refusal(self, item: TransactWriteItemTypeDef, error: ClientError, number: int) -> DomainError:
        """Why one item of a cancelled transaction failed its condition."""
        put = item.get("Put")
        if put is not None and put["TableName"] == self._emails:
            return EmailAlreadyInUse(cancelled_string(error, number, "customer_id"))
        if put is not None and put["TableName"] == self._idempotency:
            return RequestInProgress()  # another run of the same batch got there first
        return WriteConflict()  # changed since read (or a new id taken, which a UUID4 never is)

    def claim_batch(self, record: BatchRecord) -> BatchRecord | None:
        return self._ledger.claim(record)

    def finish_batch(self, record: BatchRecord) -> None:
        self._ledger.finish(record)

    def release_batch(self, key: str) -> None:
        self._ledger.release(key)

    def page(self, limit: int, position: Position | None, where: Criteria = EVERYONE) -> Page:
        return self._lister.page(where, limit, position)

    def is_position(self, position: Position, where: Criteria = EVERYONE) -> bool:
        return listing.is_position(position, self._lister.source(where))

    def _read(self, customer_id: str) -> dict[str, Any] | None:
        with store_errors():
            response = self._client.get_item(
                TableName=self._customers, Key=self._requests.customer_key(customer_id), ConsistentRead=True
            )
        return response.get("Item")

    def _held_claim(self, current: Customer) -> str:
        """The claim's key: the canonical address, or (a Unicode domain, an "ß") maybe the older rules' one.

        The backfill moves such claims unless another customer holds the canonical key; the item says which.
        """
        canonical = email_key(current["email_address"])
        legacy = current["email_address"].lower()
        if legacy == canonical:
            return canonical
        item = self._read(current["customer_id"]) or {}
        return str(item.get(BY_EMAIL.hash_key, {}).get("S") or legacy)
