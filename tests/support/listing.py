"""Listings with criteria (search, sort, ranges, filters): walking them, the orders they promise, what a page costs.

The expected orders are worked out here from the customers the API answered, the
way the API documents them, without the code under test: ``folded`` is the
documented folding (compatibility decomposition, combining marks dropped, case
folded, whitespace collapsed).
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from chalicelib import wiring
from chalicelib.config import get_settings
from tests.support.api import Api, body
from tests.support.builders import follow_pages
from tests.support.store import scan

SORTS = (
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "last_name",
    "-last_name",
    "lifetime_value",
    "-lifetime_value",
)


def listing(**params: Any) -> str:
    """``GET /customers`` with these query parameters, each percent-encoded (a ``+`` stays a ``+``)."""
    return "/customers?" + urlencode({name: str(value) for name, value in params.items()}, quote_via=quote)


def walk(api: Api, limit: int = 100, **params: Any) -> list[dict[str, Any]]:
    """Every customer of a listing, its pages of ``limit`` followed to the end."""
    return follow_pages(api, listing(limit=limit, **params), "customers", limit)


def first_page(api: Api, **params: Any) -> dict[str, Any]:
    response = api.get(listing(**params))
    assert response.status_code == 200, response.body
    page: dict[str, Any] = body(response)
    return page


def ids(customers: list[dict[str, Any]]) -> list[str]:
    return [str(customer["customer_id"]) for customer in customers]


def folded(text: str) -> str:
    """The documented folding: ``José`` -> ``jose``, ``MÜLLER`` -> ``muller``, ``  a   b `` -> ``a b``."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


_ASCENDING_KEYS: dict[str, Callable[[dict[str, Any]], tuple[Any, ...]]] = {
    "created_at": lambda c: (_moment(c["created_at"]), c["customer_id"]),
    "updated_at": lambda c: (_moment(c["updated_at"]), c["customer_id"]),
    "last_name": lambda c: (folded(c["last_name"]), folded(c["first_name"]), c["customer_id"]),
    "lifetime_value": lambda c: (Decimal(str(c.get("lifetime_value", 0))), c["customer_id"]),
}


def in_order(customers: list[dict[str, Any]], sort: str) -> list[str]:
    """The ids of ``customers`` in the order ``sort`` promises (ties broken by id; ``-`` reverses all of it)."""
    ascending = sorted(customers, key=_ASCENDING_KEYS[sort.removeprefix("-")])
    return ids(ascending[::-1] if sort.startswith("-") else ascending)


def search_items() -> list[dict[str, Any]]:
    """The search table's items, as stored."""
    return scan(get_settings().search_table)


def search_items_of(customer_id: str) -> list[dict[str, Any]]:
    return [item for item in search_items() if item.get("customer_id") == customer_id]


@dataclass
class PageCost:
    """What one page request asked of DynamoDB."""

    operations: list[str] = field(default_factory=list)
    query_limits: list[int] = field(default_factory=list)
    query_items: int = 0  # items all its Queries returned
    keys_read: int = 0  # keys all its BatchGetItems asked for


@dataclass
class CostLog:
    pages: list[PageCost] = field(default_factory=list)

    def start_page(self) -> PageCost:
        self.pages.append(PageCost())
        return self.pages[-1]


@contextmanager
def page_costs() -> Iterator[CostLog]:
    """Record every DynamoDB call the app's client makes; ``start_page`` before each request splits them."""
    log = CostLog()
    events = wiring.dynamodb_client().meta.events

    def before(model: Any, params: dict[str, Any], **kwargs: Any) -> None:
        if not log.pages:
            log.start_page()
        page = log.pages[-1]
        page.operations.append(model.name)
        if model.name == "Query":
            page.query_limits.append(int(params["Limit"]))
        if model.name == "BatchGetItem":
            page.keys_read += sum(len(request["Keys"]) for request in params["RequestItems"].values())

    def after(model: Any, parsed: dict[str, Any], **kwargs: Any) -> None:
        if model.name == "Query" and log.pages:
            log.pages[-1].query_items += len(parsed.get("Items", []))

    events.register("provide-client-params.dynamodb", before)
    events.register("after-call.dynamodb", after)
    try:
        yield log
    finally:
        events.unregister("provide-client-params.dynamodb", before)
        events.unregister("after-call.dynamodb", after)


@dataclass
class Walk:
    """Every page of a listing, as answered, and what each cost."""

    pages: list[dict[str, Any]]
    costs: list[PageCost]

    @property
    def customers(self) -> list[dict[str, Any]]:
        return [customer for page in self.pages for customer in page["customers"]]


def walk_with_costs(api: Api, limit: int, **params: Any) -> Walk:
    """Follow a listing page by page, recording the DynamoDB calls of each page."""
    pages: list[dict[str, Any]] = []
    token: str | None = None
    with page_costs() as log:
        for _ in range(1000):
            log.start_page()
            pages.append(first_page(api, limit=limit, **params, **({"next_token": token} if token else {})))
            token = pages[-1]["next_token"]
            if token is None:
                return Walk(pages, log.pages)
    raise AssertionError(f"the walk of {params} did not end")


def eventually(check: Callable[[], bool], seconds: float, what: str) -> None:
    """Wait until ``check()`` holds, failing after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} not within {seconds} s"
        time.sleep(0.1)
