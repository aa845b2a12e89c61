"""The DynamoDB requests that write a customer: built here, sent (and their answers read) by the repository.

Each write is a list of transaction items, so a single-customer write and an atomic
batch send exactly the same conditions: a create never overwrites, an update requires
the version read, a delete frees the email claim only while it is the customer's own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.customers.model import Customer, CustomerChanges, Stamp, after_write, email_key
from chalicelib.customers.ports import ChangeWrite, IdempotencyRecord, NewCustomerWrite, PlannedWrite, UnchangedCheck
from chalicelib.storage.items import (
    DELETED_AT,
    INDEX_KEYS,
    LIVE_ONLY,
    PURGE_AT,
    attribute,
    changed_keys,
    customer_item,
    derived_keys,
    removed_keys,
)
from chalicelib.storage.tables import CUSTOMER_EMAILS, CUSTOMERS
from chalicelib.storage.updates import Expression
from chalicelib.storage.writes import LIVE, RESTORABLE, idempotency_put, stamp_expression

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import DeleteTypeDef, PutTypeDef, TransactWriteItemTypeDef, UpdateTypeDef


def require_a_difference(request: UpdateTypeDef, changes: CustomerChanges, removals: frozenset[str]) -> None:
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


class CustomerRequests:
    """The requests of one stage's tables; ``held_claim`` finds the key of a customer's email claim."""

    def __init__(
        self, customers_table: str, emails_table: str, idempotency_table: str, held_claim: Callable[[Customer], str]
    ) -> None:
        self._customers = customers_table
        self._emails = emails_table
        self._idempotency = idempotency_table
        self._held_claim = held_claim

    def create_items(
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
            {"Put": self.claim_email(customer["email_address"], customer["customer_id"])},
        ]
        if idempotency is not None:
            items.append({"Put": idempotency_put(self._idempotency, idempotency)})
        return items

    def change_items(
        self, current: Customer, changes: CustomerChanges, stamp: Stamp, removals: frozenset[str]
    ) -> list[TransactWriteItemTypeDef]:
        """The customer's update at the version read; with a new address, its claim and the old one's release."""
        customer_id = current["customer_id"]
        update: TransactWriteItemTypeDef = {
            "Update": self.update_request(
                customer_id, changes, stamp, current["version"], current=current, removals=removals
            )
        }
        new_email = changes.get("email_address")
        if new_email is None or email_key(new_email) == email_key(current["email_address"]):
            return [update]
        return [
            {"Put": self.claim_email(new_email, customer_id)},
            {"Delete": self.release_email(current)},
            update,
        ]

    def atomic_items(
        self, writes: list[PlannedWrite], stamp: Stamp
    ) -> tuple[list[TransactWriteItemTypeDef], list[int]]:
        """An atomic batch's transaction items, and for each item the position of the write it belongs to."""
        items: list[TransactWriteItemTypeDef] = []
        owners: list[int] = []
        for position, write in enumerate(writes):
            if isinstance(write, NewCustomerWrite):
                made = self.create_items(write.customer, stamp, write.idempotency)
            elif isinstance(write, ChangeWrite):
                made = self.change_items(write.current, write.changes, stamp, write.removals)
            elif isinstance(write, UnchangedCheck):
                made = [self.unchanged_check(write.current)]
            else:
                made = self.delete_items(write.current, stamp, write.purge_at)
            items.extend(made)
            owners.extend([position] * len(made))
        return items, owners

    def unchanged_check(self, current: Customer) -> TransactWriteItemTypeDef:
        """A transaction's check that the customer is still live at the version read (it writes nothing)."""
        return {
            "ConditionCheck": {
                "TableName": self._customers,
                "Key": self.customer_key(current["customer_id"]),
                "ConditionExpression": f"#version = :expected AND {LIVE_ONLY}",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":expected": {"N": str(current["version"])}},
            }
        }

    def delete_items(self, current: Customer, stamp: Stamp, purge_at: int) -> list[TransactWriteItemTypeDef]:
        expression = stamp_expression(stamp).set(DELETED_AT, stamp.at).set(PURGE_AT, purge_at).remove(*INDEX_KEYS)
        update = self.lifecycle_update(current["customer_id"], expression, current["version"], LIVE)
        return [{"Update": update}, {"Delete": self.release_email(current)}]

    def lifecycle_update(self, customer_id: str, expression: Expression, version: int, state: str) -> UpdateTypeDef:
        """An update of the customer's state, conditional on the version read and the state it must be in."""
        expression.values[":expected"] = {"N": str(version)}
        if state == RESTORABLE:
            expression.values[":now"] = {"N": str(int(time.time()))}
        return self.versioned_update(customer_id, expression, f"#version = :expected AND {state}")

    def versioned_update(self, customer_id: str, expression: Expression, condition: str) -> UpdateTypeDef:
        """An UpdateItem of the customer that takes the next version, on ``condition``."""
        expression.names["#version"] = "version"
        expression.values[":one"] = {"N": "1"}
        return {
            "TableName": self._customers,
            "Key": self.customer_key(customer_id),
            "UpdateExpression": expression.update_expression + " ADD #version :one",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": expression.names,
            "ExpressionAttributeValues": expression.values,
        }

    def customer_key(self, customer_id: str) -> dict[str, Any]:
        return {CUSTOMERS.hash_key: {"S": customer_id}}

    def email_key(self, address: str) -> dict[str, Any]:
        return {CUSTOMER_EMAILS.hash_key: {"S": email_key(address)}}

    def claim_email(self, address: str, customer_id: str) -> PutTypeDef:
        return {
            "TableName": self._emails,
            "Item": {**self.email_key(address), "customer_id": {"S": customer_id}},
            "ConditionExpression": "attribute_not_exists(email_key)",
            # A taken address's claim comes back with the cancellation: who holds it, without a read.
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def release_email(self, current: Customer) -> DeleteTypeDef:
        return {
            "TableName": self._emails,
            "Key": {CUSTOMER_EMAILS.hash_key: {"S": self._held_claim(current)}},
            "ConditionExpression": "attribute_not_exists(email_key) OR customer_id = :id",
            "ExpressionAttributeValues": {":id": {"S": current["customer_id"]}},
        }

    def update_request(
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
        return self.versioned_update(customer_id, expression, condition)
