"""Ctrl-C as a request to stop at the next safe point, so an interrupted run leaves nothing half done.

The first Ctrl-C (or SIGTERM) only sets a flag: the import finishes the rows it has
in flight and starts no more, the export stops reading and removes its partial file,
and either says how far it got. A second Ctrl-C stops at once (KeyboardInterrupt),
for someone who will not wait; each row is still written whole or not at all.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType, TracebackType

EXIT_INTERRUPTED = 130  # what a shell reports for a command stopped by SIGINT
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupt:
    def __init__(self, what_happens: str) -> None:
        self.what_happens = what_happens  # said on the first Ctrl-C: "Stopping after the rows in flight"
        self.requested = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> Interrupt:
        for signum in _SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print(f"\n{self.what_happens} (Ctrl-C again to stop at once)...", file=sys.stderr, flush=True)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)  # type: ignore[arg-type]
