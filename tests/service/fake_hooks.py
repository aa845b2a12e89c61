"""The fault hooks the in-memory stores share: store behaviour a test asks for, never a stubbed service.

A fake cannot produce by itself a busy store, a concurrent transaction, another writer
landing between a read and a write, or time passing between two calls; a test queues
them here, per port method, and the conftest fails any test that queued one that never fired.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

M = TypeVar("M", bound=str)


@dataclass
class _Fault:
    error: Callable[[], Exception]
    remaining: int


class Hooks(Generic[M]):
    def __init__(self) -> None:
        self._faults: dict[str, list[_Fault]] = {}
        self._before: dict[str, list[Callable[[], None]]] = {}
        # How often each method was called (by the code under test, or by a hook's concurrent writer).
        self.calls: Counter[str] = Counter()

    def fail_next(self, method: M, error: Callable[[], Exception], times: int = 1) -> None:
        """The next ``times`` calls of ``method`` raise ``error()`` without touching the store.

        E.g. ``StoreBusy`` (another transaction held an item), ``WriteConflict``,
        ``RequestInProgress`` (a concurrent transaction on the same idempotency key).
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        self._faults.setdefault(method, []).append(_Fault(error, times))

    def before_next(self, method: M, action: Callable[[], None], times: int = 1) -> None:
        """Run ``action`` at the start of each of the next ``times`` calls of ``method``.

        This is another writer landing between a read and a write, or time passing
        between two calls; ``action`` may use the store.
        """
        self._before.setdefault(method, []).extend([action] * times)

    def pending_hooks(self) -> int:
        """How many queued faults and actions have not fired yet (a test's hooks should all fire)."""
        return sum(fault.remaining for faults in self._faults.values() for fault in faults) + sum(
            len(actions) for actions in self._before.values()
        )

    def _enter(self, method: M) -> None:
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
