"""An in-memory history store behind the HistoryRepository port, mirroring the DynamoDB adapter.

* ``record`` writes an entry once per (customer, version): a redelivery writes nothing and
  answers the stored entry while its event is unpublished, None once it is marked published;
  a slot an erasure reserved is completed redacted (values nulled, no customer), and that
  redacted entry is the answer;
* ``redact`` nulls the values of every entry up to a version (changes' from/to become None,
  the customer goes, ``redacted`` is set) and reserves the versions not written yet;
* ``page`` is one customer's written entries, newest first, with ``{"version": v}`` positions;
* the feed orders entries by their position ``"<recorded_at>|<customer_id>|<version:012d>"``
  and shows only those strictly before the horizon; one page reads at most ``limit``
  entries, so a kinds filter may answer fewer (even none) with a position to go on from;
  its positions are ``{"after": feed position}`` (``{}`` too: the start);
* ``customer_feed`` walks one customer's slots in version order, at most ``limit`` of them
  (reserved ones count, as the adapter's Query reads them), and stops at the first that is
  not written yet or not settled: nothing after it may be shown before it;
* ``count_failure`` counts attempts per delivery.

Refused calls (a position it does not issue, marking an entry that is not there) are
AssertionError or LookupError: a broken caller, not store behaviour.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from chalicelib.customers.model import HistoryEntry
from chalicelib.customers.ports import EntryPage, HistoryRepository, Position
from tests.service.fake_hooks import Hooks

Method = Literal[
    "record",
    "mark_published",
    "page",
    "entries",
    "redact",
    "feed",
    "customer_feed",
    "is_position",
    "count_failure",
]


@dataclass
class _Slot:
    entry: HistoryEntry | None  # None: reserved by an erasure, not written yet
    feed_position: str | None = None
    published: bool = False


def feed_position(entry: HistoryEntry, recorded_at: str) -> str:
    return f"{recorded_at}|{entry.customer_id}|{entry.version:012d}"


class InMemoryHistoryRepository(HistoryRepository, Hooks[Method]):
    def __init__(self, *, name: str = "history-in-memory") -> None:
        super().__init__()
        self._name = name
        self._slots: dict[tuple[str, int], _Slot] = {}
        self._failures: Counter[str] = Counter()

    # --- the port ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    def record(self, entry: HistoryEntry, *, recorded_at: str) -> HistoryEntry | None:
        self._enter("record")
        key = (entry.customer_id, entry.version)
        position = feed_position(entry, recorded_at)
        slot = self._slots.get(key)
        if slot is None:
            self._slots[key] = _Slot(copy.deepcopy(entry), position)
            return copy.deepcopy(entry)
        if slot.entry is not None:  # written by an earlier delivery
            return None if slot.published else copy.deepcopy(slot.entry)
        # Reserved by an erasure that ran first: complete it with nothing but names.
        redacted = entry.without_values()
        self._slots[key] = _Slot(copy.deepcopy(redacted), position)
        return copy.deepcopy(redacted)

    def mark_published(self, customer_id: str, version: int) -> None:
        self._enter("mark_published")
        slot = self._slots.get((customer_id, version))
        if slot is None:
            raise LookupError(f"no history entry {customer_id} v{version} to mark published")
        slot.published = True

    def page(self, customer_id: str, limit: int, position: Position | None) -> EntryPage:
        self._enter("page")
        if position is not None and not self._is_position(position, customer_id):
            raise AssertionError(f"page() was handed a position is_position() refuses: {position!r}")
        newest_first = [entry for entry in reversed(self._written(customer_id))]
        if position is not None:
            newest_first = [entry for entry in newest_first if entry.version < position["version"]]
        if len(newest_first) > limit:
            return EntryPage(copy.deepcopy(newest_first[:limit]), {"version": newest_first[limit - 1].version})
        return EntryPage(copy.deepcopy(newest_first), None)

    def entries(self, customer_id: str) -> list[HistoryEntry]:
        self._enter("entries")
        return copy.deepcopy(self._written(customer_id))

    def redact(self, customer_id: str, through_version: int) -> None:
        self._enter("redact")
        for version in range(1, through_version + 1):
            slot = self._slots.get((customer_id, version))
            if slot is None:
                self._slots[(customer_id, version)] = _Slot(None)
            elif slot.entry is not None and (not slot.entry.redacted or slot.entry.customer is not None):
                slot.entry = slot.entry.without_values()

    def feed(
        self, limit: int, position: Position | None, *, horizon: str, kinds: Collection[str] | None = None
    ) -> EntryPage:
        self._enter("feed")
        if position is not None and not self._is_position(position, None):
            raise AssertionError(f"feed() was handed a position is_position() refuses: {position!r}")
        after = str((position or {}).get("after", ""))
        settled = sorted(
            (slot.feed_position, slot.entry)
            for slot in self._slots.values()
            if slot.entry is not None and slot.feed_position is not None and after < slot.feed_position < horizon
        )
        read = settled[:limit]
        # The adapter filters after reading (DynamoDB's FilterExpression), and no kinds means all.
        entries = [entry for _, entry in read if not kinds or entry.change in kinds]
        return EntryPage(copy.deepcopy(entries), {"after": read[-1][0] if read else after})

    def customer_feed(
        self, customer_id: str, limit: int, position: Position | None, *, horizon: str, kinds: Collection[str] | None
    ) -> EntryPage:
        self._enter("customer_feed")
        if position is not None and not self._is_position(position, customer_id):
            raise AssertionError(f"customer_feed() was handed a position is_position() refuses: {position!r}")
        after = int((position or {}).get("version", 0))
        versions = sorted(version for (owner, version) in self._slots if owner == customer_id and version > after)
        entries: list[HistoryEntry] = []
        for version in versions[:limit]:
            slot = self._slots[(customer_id, version)]
            if slot.entry is None or slot.feed_position is None or slot.feed_position >= horizon:
                break  # not written yet, or not settled: nothing after it may be shown before it
            after = version
            if kinds is None or slot.entry.change in kinds:
                entries.append(copy.deepcopy(slot.entry))
        return EntryPage(entries, {"version": after})

    def is_position(self, position: Position, customer_id: str | None = None) -> bool:
        self._enter("is_position")
        return self._is_position(position, customer_id)

    def count_failure(self, delivery: str) -> int:
        self._enter("count_failure")
        self._failures[delivery] += 1
        return self._failures[delivery]

    # --- what a test may look at ------------------------------------------------------------

    def entry(self, customer_id: str, version: int) -> HistoryEntry | None:
        """The written entry, or None when the slot is empty or only reserved."""
        slot = self._slots.get((customer_id, version))
        return None if slot is None else copy.deepcopy(slot.entry)

    def is_reserved(self, customer_id: str, version: int) -> bool:
        slot = self._slots.get((customer_id, version))
        return slot is not None and slot.entry is None

    def is_published(self, customer_id: str, version: int) -> bool:
        slot = self._slots.get((customer_id, version))
        return slot is not None and slot.published

    def recorded_at(self, customer_id: str, version: int) -> str | None:
        slot = self._slots.get((customer_id, version))
        return None if slot is None or slot.feed_position is None else slot.feed_position.split("|")[0]

    def failures(self, delivery: str) -> int:
        return self._failures[delivery]

    def all_entries(self) -> list[HistoryEntry]:
        """Every written entry of every customer, in feed order."""
        written = [(slot.feed_position or "", slot.entry) for slot in self._slots.values() if slot.entry is not None]
        return copy.deepcopy([entry for _, entry in sorted(written, key=lambda pair: pair[0])])

    # --- internals --------------------------------------------------------------------------

    def _written(self, customer_id: str) -> list[HistoryEntry]:
        """The customer's written entries, oldest first (reserved slots are not entries)."""
        return [
            slot.entry
            for (owner, _), slot in sorted(self._slots.items(), key=lambda item: item[0])
            if owner == customer_id and slot.entry is not None
        ]

    @staticmethod
    def _is_position(position: Position, customer_id: str | None) -> bool:
        if customer_id is not None:
            version = position.get("version")
            return set(position) == {"version"} and isinstance(version, int) and not isinstance(version, bool)
        if not position:
            return True
        return set(position) == {"after"} and isinstance(position["after"], str)
