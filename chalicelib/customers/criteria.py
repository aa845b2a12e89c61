"""What a list asks for: filters, a prefix search, ranges and an order, in any combination.

The criteria are plain values (the edge has validated them); storage picks the
index that serves them best and uses :meth:`Criteria.admits` for whatever that
index cannot answer by itself, on each candidate it reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from chalicelib.customers.model import Customer, email_key
from chalicelib.customers.search import fold_key, matches, name_order, query_text

# Each order, ascending; a leading "-" reverses it.
ORDERS = ("created_at", "updated_at", "last_name", "lifetime_value")
SORTS = tuple(f"{sign}{order}" for order in ORDERS for sign in ("", "-"))
DEFAULT_SORT = "-created_at"
SEARCH_SORT = "last_name"  # a search's results, unless another order is asked for


# Lifetime values are at most 999999999999.99: fifteen characters, zero-padded, sort as numbers.
_VALUE_WIDTH = 15


def value_text(value: Decimal | int) -> str:
    return f"{Decimal(value):0{_VALUE_WIDTH}.2f}"


def order_key(customer: Mapping[str, Any], order_field: str) -> str:
    """The customer's place in one of the orders: a string, ending in its id, so no two customers tie."""
    if order_field == "last_name":
        return name_order(customer)
    customer_id = customer["customer_id"]
    if order_field == "lifetime_value":
        return f"{value_text(customer.get('lifetime_value', 0))}|{customer_id}"
    return f"{customer[order_field]}|{customer_id}"


@dataclass(frozen=True)
class Criteria:
    customer_status: str | None = None
    is_loyalty_member: str | None = None
    state: str | None = None
    email_address: str | None = None
    q: str | None = None
    created_after: str | None = None  # inclusive; a UTC timestamp in the stored (fixed-width) form
    created_before: str | None = None  # exclusive
    min_lifetime_value: Decimal | None = None  # inclusive
    max_lifetime_value: Decimal | None = None  # inclusive
    sort: str | None = None  # None: newest first, or by name for a search

    @property
    def order(self) -> str:
        """The order asked for, or the default: ``-created_at``, or by name when searching."""
        return self.sort or (SEARCH_SORT if self.q is not None else DEFAULT_SORT)

    @property
    def descending(self) -> bool:
        return self.order.startswith("-")

    @property
    def order_field(self) -> str:
        return self.order.removeprefix("-")

    # Worked out once per listing, not per candidate (a page may check hundreds).
    @cached_property
    def text(self) -> str | None:
        """The folded query text, if this is a search."""
        return None if self.q is None else query_text(self.q)

    @cached_property
    def folded_state(self) -> str | None:
        return None if self.state is None else fold_key(self.state)

    @cached_property
    def email(self) -> str | None:
        return None if self.email_address is None else email_key(self.email_address)

    def admits(self, customer: Customer, terms: Iterable[str]) -> bool:
        """Whether a live customer (with its stored search terms) meets every criterion."""
        values: Mapping[str, Any] = customer
        if self.customer_status is not None and values.get("customer_status") != self.customer_status:
            return False
        if self.is_loyalty_member is not None and values.get("is_loyalty_member") != self.is_loyalty_member:
            return False
        if self.state is not None and fold_key(str(values.get("state", ""))) != self.folded_state:
            return False
        if self.email_address is not None and email_key(str(values.get("email_address", ""))) != self.email:
            return False
        created = str(values.get("created_at", ""))
        if self.created_after is not None and created < self.created_after:
            return False
        if self.created_before is not None and created >= self.created_before:
            return False
        value = Decimal(values.get("lifetime_value", 0))
        if self.min_lifetime_value is not None and value < self.min_lifetime_value:
            return False
        if self.max_lifetime_value is not None and value > self.max_lifetime_value:
            return False
        text = self.text
        return text is None or matches(terms, text)

    def scope(self) -> str:
        """A canonical spelling of the listing, so a token signed for one never continues another."""
        parts = {
            **asdict(self),
            "sort": self.order,
            "q": self.text,
            "state": self.folded_state,
            "email_address": self.email,
        }
        return ";".join(f"{name}={value}" for name, value in sorted(parts.items()) if value is not None)


EVERYONE = Criteria()
