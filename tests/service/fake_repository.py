"""An in-memory store behind the repository port: what the service tests run on instead of DynamoDB.

It subclasses the very port the DynamoDB adapter implements and keeps the adapter's
promises, condition for condition and in the adapter's order of precedence:

* ``create`` is all or nothing: a live idempotency record (IdempotencyKeyTaken), a taken
  id (CustomerAlreadyExists) or a taken email, compared by ``email_key``
  (EmailAlreadyInUse) refuses the whole write;
* ``update`` requires the customer to exist and, with ``expected_version``, to be at it;
* ``apply_changes`` moves the email claim when the address changes ignoring case, and
  claims the new address, frees the old one and updates the customer together or not at all;
* ``delete`` removes the customer as read and frees its email, or raises WriteConflict;
* idempotency records expire ``expires_at`` seconds after the epoch, by the clock it is given;
* ``page`` walks the customers in id order, at most ``limit`` a page, with positions of its
  own shape (``{"after": id}``, plus ``"filter"`` for a filtered listing) that ``is_position``
  recognises and nothing else does.

What it cannot produce by itself (a busy store, a concurrent transaction on an idempotency
key, an answer lost after the write committed, another writer landing between a read and a
write) a test asks for explicitly through the hooks at the bottom: they model the store's
behaviour, the service under test is never stubbed.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from chalicelib.customers.errors import (
    CustomerAlreadyExists,
    CustomerNotFound,
    EmailAlreadyInUse,
    IdempotencyKeyTaken,
    WriteConflict,
)
from chalicelib.customers.model import FILTERABLE_FIELDS, Customer, CustomerChanges, Filter, email_key, is_customer_id
from chalicelib.customers.ports import CustomerRepository, IdempotencyRecord, Page, Position

Method = Literal["get", "create", "idempotency_record", "update", "apply_changes", "delete", "page", "is_position"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Fault:
    error: Callable[[], Exception]
    remaining: int


class InMemoryCustomerRepository(CustomerRepository):
    def __init__(self, *, clock: Callable[[], datetime] = _utc_now, name: str = "customers-in-memory") -> None:
        self._name = name
        self._clock = clock
        self._customers: dict[str, Customer] = {}
        self._email_claims: dict[str, str] = {}  # email_key -> the customer_id that owns it
        self._records: dict[str, IdempotencyRecord] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._before: dict[str, list[Callable[[], None]]] = {}
        self._answers_to_lose = 0
        # How often each method was called (by the service, or by a hook's concurrent writer).
        self.calls: Counter[str] = Counter()

    # --- the port ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    def get(self, customer_id: str) -> Customer:
        self._enter("get")
        stored = self._customers.get(customer_id)
        if stored is None:
            raise CustomerNotFound()
        return copy.deepcopy(stored)

    def create(self, customer: Customer, idempotency: IdempotencyRecord | None = None) -> None:
        self._enter("create")
        self._create(customer, idempotency)
        if self._answers_to_lose:
            self._answers_to_lose -= 1
            # The write committed but its answer was lost; the transport sends the same
            # transaction again, and its conditions now fail on the request's own writes.
            self._create(customer, idempotency)
            raise AssertionError("a create sent twice cannot succeed twice")

    def idempotency_record(self, key: str) -> IdempotencyRecord | None:
        self._enter("idempotency_record")
        record = self._records.get(key)
        if record is None or record.expires_at < self._clock().timestamp():
            return None
        return copy.deepcopy(record)

    def update(
        self, customer_id: str, changes: CustomerChanges, *, updated_at: str, expected_version: int | None = None
    ) -> Customer:
        self._enter("update")
        return self._update(customer_id, changes, updated_at, expected_version)

    def apply_changes(self, current: Customer, changes: CustomerChanges, *, updated_at: str) -> Customer:
        self._enter("apply_changes")
        new_email = changes.get("email_address")
        if new_email is None or email_key(new_email) == email_key(current["email_address"]):
            return self._update(current["customer_id"], changes, updated_at, current["version"])
        customer_id = current["customer_id"]
        new_key, old_key = email_key(new_email), email_key(current["email_address"])
        # The adapter's transaction: claim the new address, free the old one, update the
        # customer at the version read. Its answer is read in this order: the customer changed
        # since it was read (a failed release or version) is WriteConflict, whatever the claim
        # says (the claim may be this customer's own, taken by a concurrent move to the same
        # address); otherwise a failed claim is EmailAlreadyInUse. Nothing is applied unless
        # all three hold.
        old_owner = self._email_claims.get(old_key)
        stored = self._customers.get(customer_id)
        if (old_owner not in (None, customer_id)) or stored is None or stored["version"] != current["version"]:
            raise WriteConflict()
        if new_key in self._email_claims:
            raise EmailAlreadyInUse()
        self._email_claims.pop(old_key, None)
        self._email_claims[new_key] = customer_id
        updated: Customer = {
            **stored,
            **copy.deepcopy(changes),
            "updated_at": updated_at,
            "version": stored["version"] + 1,
        }
        self._customers[customer_id] = updated
        return copy.deepcopy(updated)

    def delete(self, current: Customer) -> None:
        self._enter("delete")
        customer_id = current["customer_id"]
        stored = self._customers.get(customer_id)
        claim = email_key(current["email_address"])
        owner = self._email_claims.get(claim)
        if stored is None or stored["version"] != current["version"] or owner not in (None, customer_id):
            raise WriteConflict()
        del self._customers[customer_id]
        self._email_claims.pop(claim, None)

    def page(self, limit: int, position: Position | None, where: Filter | None = None) -> Page:
        self._enter("page")
        if limit < 1:
            raise ValueError(f"page() takes a positive limit, not {limit}")
        if where is not None and where.field not in FILTERABLE_FIELDS:
            raise ValueError(f"{where.field} is not a filterable field")
        if position is not None and not self._is_position(position, where):
            raise AssertionError(f"page() was handed a position is_position() refuses: {position!r}")
        after = position["after"] if position is not None else ""
        ids = [
            customer_id
            for customer_id in sorted(self._customers)
            if customer_id > after and (where is None or self._matches(self._customers[customer_id], where))
        ]
        # One more than the page tells whether a next page exists, so the last page has no position.
        customers = [copy.deepcopy(self._customers[customer_id]) for customer_id in ids[:limit]]
        if len(ids) <= limit:
            return Page(customers, None)
        next_position: Position = {"after": ids[limit - 1]}
        if where is not None:
            next_position["filter"] = self._filter_key(where)
        return Page(customers, next_position)

    def is_position(self, position: Position, where: Filter | None = None) -> bool:
        self._enter("is_position")
        return self._is_position(position, where)

    # --- what a test may look at ------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._customers)

    def stored_ids(self) -> set[str]:
        return set(self._customers)

    def email_owner(self, address: str) -> str | None:
        """The id of the customer holding ``address`` (in any case), or None when it is free."""
        return self._email_claims.get(email_key(address))

    # --- hooks: store behaviour a test asks for ---------------------------------------------

    def fail_next(self, method: Method, error: Callable[[], Exception], times: int = 1) -> None:
        """The next ``times`` calls of ``method`` raise ``error()`` without touching the store.

        E.g. ``StoreBusy`` (another transaction held an item), ``WriteConflict``,
        ``RequestInProgress`` (a concurrent transaction on the same idempotency key).
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        self._faults.setdefault(method, []).append(_Fault(error, times))

    def before_next(self, method: Method, action: Callable[[], None], times: int = 1) -> None:
        """Run ``action`` at the start of each of the next ``times`` calls of ``method``.

        This is another writer landing between the service's read and its write, or time
        passing between two calls; ``action`` may use this repository.
        """
        self._before.setdefault(method, []).extend([action] * times)

    def lose_next_create_answer(self) -> None:
        """The next create is applied, but the caller hears what sending it again would answer."""
        self._answers_to_lose += 1

    def pending_hooks(self) -> int:
        """How many queued faults and actions have not fired yet (a test's hooks should all fire)."""
        return sum(fault.remaining for faults in self._faults.values() for fault in faults) + sum(
            len(actions) for actions in self._before.values()
        )

    # --- internals --------------------------------------------------------------------------

    def _enter(self, method: Method) -> None:
        self.calls[method] += 1
        actions = self._before.get(method)
        if actions:
            actions.pop(0)()
        faults = self._faults.get(method)
        if faults:
            fault = faults[0]
            fault.remaining -= 1
            if fault.remaining == 0:
                faults.pop(0)
            raise fault.error()

    def _create(self, customer: Customer, idempotency: IdempotencyRecord | None) -> None:
        # The adapter's condition on the record compares with whole seconds.
        now = int(self._clock().timestamp())
        if idempotency is not None:
            existing = self._records.get(idempotency.key)
            if existing is not None and not existing.expires_at < now:
                raise IdempotencyKeyTaken()
        if customer["customer_id"] in self._customers:
            raise CustomerAlreadyExists()
        if email_key(customer["email_address"]) in self._email_claims:
            raise EmailAlreadyInUse()
        self._customers[customer["customer_id"]] = copy.deepcopy(customer)
        self._email_claims[email_key(customer["email_address"])] = customer["customer_id"]
        if idempotency is not None:
            self._records[idempotency.key] = copy.deepcopy(idempotency)

    def _update(
        self, customer_id: str, changes: CustomerChanges, updated_at: str, expected_version: int | None
    ) -> Customer:
        stored = self._customers.get(customer_id)
        if stored is None:
            raise CustomerNotFound()
        if expected_version is not None and stored["version"] != expected_version:
            raise WriteConflict()
        new_email = changes.get("email_address")
        if new_email is not None and email_key(new_email) != email_key(stored["email_address"]):
            # The adapter would write the address without moving its claim: a broken caller.
            raise AssertionError("update() keeps the email claim; an address change goes through apply_changes()")
        updated: Customer = {
            **stored,
            **copy.deepcopy(changes),
            "updated_at": updated_at,
            "version": stored["version"] + 1,
        }
        self._customers[customer_id] = updated
        return copy.deepcopy(updated)

    @staticmethod
    def _filter_key(where: Filter) -> dict[str, str]:
        value = email_key(where.value) if where.field == "email_address" else where.value
        return {"field": where.field, "value": value}

    def _matches(self, customer: Customer, where: Filter) -> bool:
        value = _fields(customer).get(where.field)
        if not isinstance(value, str):
            return False
        if where.field == "email_address":
            return email_key(value) == email_key(where.value)
        return value == where.value

    def _is_position(self, position: Position, where: Filter | None) -> bool:
        expected_keys = {"after"} if where is None else {"after", "filter"}
        if set(position) != expected_keys or not is_customer_id(position["after"]):
            return False
        return where is None or position["filter"] == self._filter_key(where)


def _fields(customer: Customer) -> Mapping[str, Any]:
    return customer
