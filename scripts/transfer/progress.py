"""Progress on stderr: a tqdm bar on a terminal, a plain line every few seconds anywhere else.

A bar redraws itself in place, which a terminal shows and a CI log or a pipe turns
into one line per redraw; there, a line every ``interval`` seconds says the same
(rows done, rows/s, time left, failures so far). stdout stays for the summary, so
``make import ... | tail -1`` is the outcome whatever stderr is.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, TextIO

from tqdm import tqdm

DEFAULT_INTERVAL_SECONDS = 5.0


class Progress:
    """``done`` rows of ``total`` (None: not known; ``approximate``: a count DynamoDB estimated)."""

    def __init__(
        self,
        action: str,
        total: int | None,
        *,
        approximate: bool = False,
        stream: TextIO | None = None,
        interval: float = DEFAULT_INTERVAL_SECONDS,
    ) -> None:
        self.action = action
        self.total = total
        self.approximate = approximate
        self.stream = stream or sys.stderr
        self.interval = interval
        self.started = time.monotonic()
        self.done = 0
        self.failed = 0
        self._last_line = self.started
        self._bar: tqdm[Any] | None = None
        if self.stream.isatty():
            self._bar = tqdm(total=total, unit=" rows", file=self.stream, desc=action, dynamic_ncols=True)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        """Rows per second so far."""
        seconds = self.seconds
        return self.done / seconds if seconds > 0 else 0.0

    def advance(self, rows: int, failed: int = 0) -> None:
        self.done += rows
        self.failed += failed
        if self._bar is not None:
            self._bar.update(rows)
            if failed:
                self._bar.set_postfix(errors=self.failed)
            return
        now = time.monotonic()
        if now - self._last_line >= self.interval:
            self._last_line = now
            print(self.line(), file=self.stream, flush=True)

    def line(self) -> str:
        """``import: 3,200 of 10,000 rows (32%), 1,050 rows/s, about 7 s left, 3 failed``."""
        text = f"{self.action}: {self.done:,}"
        if self.total:
            about = "about " if self.approximate else ""
            text += f" of {about}{self.total:,} rows ({min(self.done / self.total, 1.0):.0%})"
        else:
            text += " rows"
        rate = self.rate
        text += f", {rate:,.0f} rows/s"
        if self.total and rate > 0 and self.done < self.total:
            text += f", about {math.ceil((self.total - self.done) / rate):,} s left"
        if self.failed:
            text += f", {self.failed:,} failed"
        return text

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
