"""Reading what changed: a customer's history, and the change-event feed for clients that poll.

Both read the entries the stream consumer writes. The feed holds back entries
younger than the settle window, so a reader's cursor never moves past an entry
that is still being written (entries are positioned by when they were recorded,
and one may land a moment after a younger one is visible): following
``next_cursor`` sees every event exactly once, each customer's in version order.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from chalicelib.customers.errors import CustomerNotFound, ValidationFailed
from chalicelib.customers.model import EventPage, HistoryPage, format_utc
from chalicelib.customers.ports import CustomerRepository, HistoryRepository, Position
from chalicelib.customers.tokens import decode_token, encode_token

DEFAULT_PAGE_SIZE = 25


def _foreign(parameter: str) -> ValidationFailed:
    return ValidationFailed("Invalid query parameters.", details={parameter: ["Not a valid token for this listing."]})


class HistoryService:
    def __init__(
        self,
        customers: CustomerRepository,
        history: HistoryRepository,
        *,
        token_secret: bytes,
        settle_seconds: float,
        clock: Callable[[], datetime],
    ) -> None:
        self._customers = customers
        self._history = history
        self._secret = token_secret
        self._settle = timedelta(seconds=settle_seconds)
        self._clock = clock

    def history(self, customer_id: str, limit: int | None = None, next_token: str | None = None) -> HistoryPage:
        """The customer's changes, newest first; it outlives a delete, and an erasure leaves it redacted.

        404 only for an id that never existed: a customer whose first entry the consumer
        has not written yet still has a (for now empty) history.
        """
        scope = f"history:{self._history.name}:{customer_id}"
        position = self._position(next_token, "next_token", scope, customer_id)
        page = self._history.page(customer_id, limit or DEFAULT_PAGE_SIZE, position)
        if not page.entries and position is None and self._customers.read(customer_id) is None:
            raise CustomerNotFound()
        token = None
        if page.next_position is not None:
            token = encode_token(page.next_position, secret=self._secret, scope=scope)
        return HistoryPage(page.entries, token)

    def events(
        self,
        after: str | None = None,
        limit: int | None = None,
        *,
        customer_id: str | None = None,
        kinds: Collection[str] | None = None,
    ) -> EventPage:
        """Change events oldest first, from ``after`` (a cursor this listing issued) or from the start."""
        scope = f"events:{self._history.name}:{customer_id or '*'}:{','.join(sorted(kinds or ()))}"
        position = self._position(after, "after", scope, customer_id)
        horizon = format_utc(self._clock() - self._settle)
        size = limit or DEFAULT_PAGE_SIZE
        if customer_id is None:
            page = self._history.feed(size, position, horizon=horizon, kinds=kinds)
        else:
            page = self._history.customer_feed(customer_id, size, position, horizon=horizon, kinds=kinds)
        following = page.next_position if page.next_position is not None else (position or {})
        return EventPage(page.entries, encode_token(following, secret=self._secret, scope=scope))

    def _position(self, token: str | None, parameter: str, scope: str, customer_id: str | None) -> Position | None:
        if token is None:
            return None
        position = decode_token(token, secret=self._secret, scope=scope, parameter=parameter)
        if not self._history.is_position(position, customer_id):
            raise _foreign(parameter)
        return position
