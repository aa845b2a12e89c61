"""Recording fakes of the consumer's outbound ports: the event bus and the parking lot.

Each remembers what it was given and can be told to fail its next calls (an event bus
refusing events, a queue that cannot be reached), the way the store fakes' hooks do.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from chalicelib.customers.model import HistoryEntry
from chalicelib.customers.ports import EventPublisher, ParkingLot


class EventBusDown(RuntimeError):
    """The event bus refused the event."""


class ParkingLotDown(RuntimeError):
    """The parking lot could not take the record."""


class _Failing:
    def __init__(self) -> None:
        self._failures = 0
        self.attempts = 0

    def fail_next(self, times: int = 1) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        self._failures += times

    def pending_hooks(self) -> int:
        return self._failures

    def _attempt(self, error: type[Exception]) -> None:
        self.attempts += 1
        if self._failures:
            self._failures -= 1
            raise error(f"failed on purpose (attempt {self.attempts})")


class RecordingPublisher(EventPublisher, _Failing):
    def __init__(self) -> None:
        super().__init__()
        self.published: list[HistoryEntry] = []

    def publish(self, entry: HistoryEntry) -> None:
        self._attempt(EventBusDown)
        self.published.append(copy.deepcopy(entry))

    @property
    def event_ids(self) -> list[str]:
        return [entry.event_id for entry in self.published]


class RecordingParkingLot(ParkingLot, _Failing):
    def __init__(self) -> None:
        super().__init__()
        self.parked: list[tuple[dict[str, Any], str]] = []

    def park(self, record: Mapping[str, Any], reason: str) -> None:
        self._attempt(ParkingLotDown)
        self.parked.append((copy.deepcopy(dict(record)), reason))
