"""The DynamoDB adapter of the repository port: conditional writes and transactions.

Every write is conditional, the email-uniqueness records move with their
customers inside one transaction, and every failure leaves as a domain error.
The client is handed in (built once per process by ``chalicelib/wiring.py``), so
tests give it moto's or DynamoDB Local's.
"""

from __future__ import annotations

import time
import uuid
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
    ChangeWrite,
    CustomerRepository,
    IdempotencyRecord,
    NewCustomerWrite,
    Page,
    PlannedWrite,
    Position,
    WritesRefused,
)
from chalicelib.customers.search import SEARCHED_FIELDS
from chalicelib.storage import listing
from chalicelib.storage.items import (
    DELETED_AT,
    DERIVED_KEYS,
    ERASED_AT,
    IDEMPOTENCY_KEY,
    INDEX_KEYS,
    LIVE_ONLY,
    PURGE_AT,
    REQUEST_ID,
    WRITE_ID,
    attribute,
    changed_keys,
    customer_from_item,
    customer_item,
    derived_keys,
    removed_keys,
    stored_from_item,
    to_item,
    value_of,
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
from chalicelib.storage.updates import Expression
from chalicelib.storage.writes import (
    LIVE,
    NOT_ERASED,
    RESTORABLE,
    Cancelled,
    empty_idempotency_record,
    idempotency_put,
    key_claim,
    stamp_expression,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import DeleteTypeDef, PutTypeDef, TransactWriteItemTypeDef, UpdateTypeDef


def _require_a_difference(request: UpdateTypeDef, changes: CustomerChanges, removals: frozenset[str]) -> None:
    """Add to the update's condition that some value differs: a write that would change nothing is refused.

    A missing attribute compares as neither equal nor unequal, hence the ``attribute_not_exists``.
    """
    names = dict(request.get("ExpressionAttributeNames", {}))
    values = dict(request.get("ExpressionAttributeValues", {}))
    differences = []
    for position, (name, value) in enumerate(changes.items()):
        names[f"#d{position}"] = name
        values[f":d{position}"] = attribute(value)
        differences.append(f"attribute_not_exists(#d{position}) OR #d{position} <> :d{position}")
    for position, name in enumerate(sorted(removals)):
        names[f"#x{position}"] = name
        differences.append(f"attribute_exists(#x{position})")
    if differences:
        request["ConditionExpression"] = f"{request['ConditionExpression']} AND ({' OR '.join(differences)})"
        request["ExpressionAttributeNames"] = names
        request["ExpressionAttributeValues"] = values


class DynamoDBCustomerRepository(CustomerRepository):
    def __init__(
        self, client: DynamoDBClient, customers_table: str, emails_table: str, idempotency_table: str, search_table: str
    ) -> None:
        self._client = client
        self._customers = customers_table
        self._emails = emails_table
        self._idempotency = idempotency_table
        self._lister = Lister(client, customers_table, search_table)

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
        items = self._create_items(customer, stamp, idempotency)
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

    def _create_items(
        self, customer: Customer, stamp: Stamp, idempotency: IdempotencyRecord | None
    ) -> list[TransactWriteItemTypeDef]:
        """The customer (never over an existing id), its email claim and the request's record."""
        key = None if idempotency is None else idempotency.key
        items: list[TransactWriteItemTypeDef] = [
            {
                "Put": {
                    "TableName": self._customers,
                    "Item": customer_item(customer, stamp, key),
                    "ConditionExpression": "attribute_not_exists(customer_id)",
                }
            },
            {"Put": self._claim_email(customer["email_address"], customer["customer_id"])},
        ]
        if idempotency is not None:
            items.append({"Put": idempotency_put(self._idempotency, idempotency)})
        return items

    def holder_of(self, email_address: str) -> str | None:
        with store_errors():
            response = self._client.get_item(
                TableName=self._emails, Key=self._email_key(email_address), ConsistentRead=True
            )
        item = response.get("Item")
        return None if item is None else str(item["customer_id"]["S"])

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
        request = self._update_request(customer_id, changes, stamp, expected_version, write_id, current, removals)
        if current is None:
            _require_a_difference(request, changes, removals)
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

    def _change_items(
        self, current: Customer, changes: CustomerChanges, stamp: Stamp, removals: frozenset[str]
    ) -> list[TransactWriteItemTypeDef]:
        """The customer's update at the version read; with a new address, its claim and the old one's release."""
        customer_id = current["customer_id"]
        update: TransactWriteItemTypeDef = {
            "Update": self._update_request(
                customer_id, changes, stamp, current["version"], current=current, removals=removals
            )
        }
        new_email = changes.get("email_address")
        if new_email is None or email_key(new_email) == email_key(current["email_address"]):
            return [update]
        return [
            {"Put": self._claim_email(new_email, customer_id)},
            {"Delete": self._release_email(current)},
            update,
        ]

    def _move_email(
        self, current: Customer, changes: CustomerChanges, new_email: str, stamp: Stamp, removals: frozenset[str]
    ) -> Customer:
        """Claim the new address, free the old one and update the customer, atomically."""
        items = self._change_items(current, changes, stamp, removals)
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
        self._transact(self._delete_items(current, stamp, purge_at), conflict_on=(0, 1))

    def _delete_items(self, current: Customer, stamp: Stamp, purge_at: int) -> list[TransactWriteItemTypeDef]:
        expression = stamp_expression(stamp).set(DELETED_AT, stamp.at).set(PURGE_AT, purge_at).remove(*INDEX_KEYS)
        update = self._lifecycle_update(current["customer_id"], expression, current["version"], LIVE)
        return [{"Update": update}, {"Delete": self._release_email(current)}]

    def restore(self, stored: StoredCustomer, stamp: Stamp) -> Customer:
        assert stored.customer is not None, "an erased customer is never restored"
        customer = stored.customer
        keys = derived_keys({**customer, "updated_at": stamp.at})
        expression = stamp_expression(stamp).set_all(keys, prefix="k")
        expression.remove(DELETED_AT, PURGE_AT)
        update = self._lifecycle_update(stored.customer_id, expression, stored.version, RESTORABLE)
        claim = self._claim_email(customer["email_address"], stored.customer_id)
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
            {"Update": self._lifecycle_update(stored.customer_id, expression, stored.version, NOT_ERASED)}
        ]
        if stored.is_live and stored.customer is not None:
            items.append({"Delete": self._release_email(stored.customer)})
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

    def _lifecycle_update(self, customer_id: str, expression: Expression, version: int, state: str) -> UpdateTypeDef:
        """An update of the customer's state, conditional on the version read and the state it must be in."""
        expression.values[":expected"] = {"N": str(version)}
        if state == RESTORABLE:
            expression.values[":now"] = {"N": str(int(time.time()))}
        return self._versioned_update(customer_id, expression, f"#version = :expected AND {state}")

    def _versioned_update(self, customer_id: str, expression: Expression, condition: str) -> UpdateTypeDef:
        """An UpdateItem of the customer that takes the next version, on ``condition``."""
        expression.names["#version"] = "version"
        expression.values[":one"] = {"N": "1"}
        return {
            "TableName": self._customers,
            "Key": self._customer_key(customer_id),
            "UpdateExpression": expression.update_expression + " ADD #version :one",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": expression.names,
            "ExpressionAttributeValues": expression.values,
        }

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

    def write_atomically(self, writes: list[PlannedWrite], stamp: Stamp) -> None:
        """One transaction of every write's items; a cancellation says which write failed, and why."""
        items: list[TransactWriteItemTypeDef] = []
        owners: list[int] = []  # the write each item belongs to
        for position, write in enumerate(writes):
            if isinstance(write, NewCustomerWrite):
                made = self._create_items(write.customer, stamp, write.idempotency)
            elif isinstance(write, ChangeWrite):
                made = self._change_items(write.current, write.changes, stamp, write.removals)
            else:
                made = self._delete_items(write.current, stamp, write.purge_at)
            items.extend(made)
            owners.extend([position] * len(made))
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
        claim = key_claim(
            self._idempotency,
            {
                IDEMPOTENCY_RECORDS.hash_key: record.key,
                "fingerprint": record.fingerprint,
                IDEMPOTENCY_EXPIRY_ATTRIBUTE: record.expires_at,
            },
        )
        claim["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"  # a taken key's record, without a read
        with store_errors():
            try:
                self._client.put_item(**claim)
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
                old: dict[str, Any] = dict(error.response.get("Item") or {})  # type: ignore[call-overload]
                outcomes = old.get("outcomes")
                return BatchRecord(
                    record.key,
                    str(old.get("fingerprint", {}).get("S", "")),
                    None if outcomes is None else value_of(outcomes),
                    int(old.get(IDEMPOTENCY_EXPIRY_ATTRIBUTE, {}).get("N", "0")),
                )
        return None

    def finish_batch(self, record: BatchRecord) -> None:
        with store_errors():
            self._client.put_item(
                TableName=self._idempotency,
                Item=to_item(
                    {
                        IDEMPOTENCY_RECORDS.hash_key: record.key,
                        "fingerprint": record.fingerprint,
                        "outcomes": record.outcomes,
                        IDEMPOTENCY_EXPIRY_ATTRIBUTE: record.expires_at,
                    }
                ),
            )

    def release_batch(self, key: str) -> None:
        with store_errors():
            self._client.delete_item(
                TableName=self._idempotency,
                Key={IDEMPOTENCY_RECORDS.hash_key: {"S": key}},
                ConditionExpression="attribute_not_exists(outcomes)",
            )

    def page(self, limit: int, position: Position | None, where: Criteria = EVERYONE) -> Page:
        return self._lister.page(where, limit, position)

    def is_position(self, position: Position, where: Criteria = EVERYONE) -> bool:
        return listing.is_position(position, self._lister.source(where))

    def _read(self, customer_id: str) -> dict[str, Any] | None:
        with store_errors():
            response = self._client.get_item(
                TableName=self._customers, Key=self._customer_key(customer_id), ConsistentRead=True
            )
        return response.get("Item")

    def _customer_key(self, customer_id: str) -> dict[str, Any]:
        return {CUSTOMERS.hash_key: {"S": customer_id}}

    def _email_key(self, address: str) -> dict[str, Any]:
        return {CUSTOMER_EMAILS.hash_key: {"S": email_key(address)}}

    def _claim_email(self, address: str, customer_id: str) -> PutTypeDef:
        return {
            "TableName": self._emails,
            "Item": {**self._email_key(address), "customer_id": {"S": customer_id}},
            "ConditionExpression": "attribute_not_exists(email_key)",
            # A taken address's claim comes back with the cancellation: who holds it, without a read.
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def _release_email(self, current: Customer) -> DeleteTypeDef:
        return {
            "TableName": self._emails,
            "Key": {CUSTOMER_EMAILS.hash_key: {"S": self._held_claim(current)}},
            "ConditionExpression": "attribute_not_exists(email_key) OR customer_id = :id",
            "ExpressionAttributeValues": {":id": {"S": current["customer_id"]}},
        }

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

    def _update_request(
        self,
        customer_id: str,
        changes: CustomerChanges,
        stamp: Stamp,
        expected_version: int | None,
        write_id: str | None = None,
        current: Customer | None = None,
        removals: frozenset[str] = frozenset(),
    ) -> UpdateTypeDef:
        """The customer's UpdateItem, its index keys and search terms re-derived (from ``current`` when given).

        A removed field takes its index key with it (a customer without a state is in no state's index).
        """
        if current is not None:
            keys = derived_keys(after_write(current, changes, stamp, removals))
        else:
            keys = changed_keys(customer_id, {**changes, "updated_at": stamp.at})
        expression = stamp_expression(stamp, write_id).set_all({**changes, **keys})
        expression.remove(*sorted(removals), *removed_keys(removals))
        condition = (
            f"attribute_exists(customer_id) AND {LIVE_ONLY}"
            " AND (attribute_not_exists(#write_id) OR #write_id <> :write_id)"
        )
        if expected_version is not None:
            condition += " AND #version = :expected"
            expression.values[":expected"] = {"N": str(expected_version)}
        return self._versioned_update(customer_id, expression, condition)
