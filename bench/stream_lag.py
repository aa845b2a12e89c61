"""Stream lag: how long after a write's response its change shows in its history, and in search.

History is written by the stream consumer, not by the request, so a client that reads
right after writing may not see its change yet; the promise is that it shows within 2 s
(p99). This measures it as a user of ``make run`` would see it: the whole local stack
(DynamoDB Local, ``chalice local`` and the stream poller that plays Lambda's event source
mapping, in processes of their own) on free ports with a throwaway data directory, writes
of every kind over HTTP one after another, and after each, the history read every
``POLL_SECONDS`` until an entry carries the write's request id. The lag is the time from
the write's response to the response of the first read that shows it, so it includes
one read and up to one poll interval; the poller itself reads the stream every 0.2 s.
Each write waits a random moment first: written right after the last one showed, every
write would land at the same point of the poller's cycle, and the figures would be that
one point's instead of the spread a client meets.

The search table is kept by the same consumer, so a search can lag too: after each
write that changes what a search finds (a create, a rename, a restore: the customer is
to be found by its last name; a delete: no longer), ``GET /customers?q=<its last name>``
is read in turn with the history until it answers as it should. Every customer's last
name is unique within the search table's prefix length, so the query names it alone.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import random
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.local.ports import free_port, port_in_use
from scripts.local.stack import start_in_background

WRITES = 75
WARM_UP_WRITES = 5  # one cycle first, unmeasured: imports, connections and DynamoDB Local's JIT
CYCLE = ("create", "update", "rename", "delete", "restore")
SEARCHED = {"create": True, "rename": True, "delete": False, "restore": True}  # found by its last name after it?
POLL_SECONDS = 0.02
GIVE_UP_SECONDS = 10.0
PROMISE_MS = 2000.0
READY_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 30.0
JITTER_SECONDS = 0.25  # a little more than the poller's interval


class Stack:
    """``python -m scripts.local.stack`` (what `make run` starts) on free ports, data in a temp directory.

    Started by scripts.local.stack.start_in_background, as the end-to-end tests start it.
    """

    def __init__(self, scratch: Path) -> None:
        self.api_port = free_port()
        self.dynamodb_port = free_port()
        self.data_dir = scratch / "data"
        self.log_path = scratch / "stack.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Stack:
        self.process = start_in_background(self.api_port, self.dynamodb_port, self.data_dir, self.log_path)
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the local stack exited early:\n{self.output()}")
            try:
                if self.request("GET", "/customers?limit=1")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the local stack did not answer within {READY_TIMEOUT_SECONDS:.0f} s:\n{self.output()}")

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, str, Any]:
        """Status, X-Request-Id and decoded body of one call to the API."""
        connection = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=GIVE_UP_SECONDS)
        try:
            payload = None if body is None else json.dumps(body)
            headers = {} if body is None else {"Content-Type": "application/json"}
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            return response.status, response.getheader("X-Request-Id") or "", json.loads(raw) if raw else None
        finally:
            connection.close()

    def stop(self) -> bool:
        """Ctrl-C, as a user would; True once neither port is listening any more."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: everything it started
                self.process.wait()
        deadline = time.monotonic() + 5
        while port_in_use(self.api_port) or port_in_use(self.dynamodb_port):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Sample:
    kind: str
    lag_ms: float | None  # None: not shown within GIVE_UP_SECONDS
    search_ms: float | None = None  # the same for the search's answer (None too where not measured)


def last_name(number: int) -> str:
    """Eight letters of its own per write (the search table's prefix length): "Lxxxxxxx"."""
    letters = []
    for _ in range(7):
        number, digit = divmod(number, 26)
        letters.append(chr(ord("a") + digit))
    return "L" + "".join(letters)


def _write(stack: Stack, kind: str, customer_id: str | None, number: int) -> tuple[str, str, float]:
    """One write over HTTP; the customer's id, the write's request id, and when its response arrived."""
    path = f"/customers/{customer_id}"
    if kind == "create":
        body = {"first_name": "Lag", "last_name": last_name(number), "email_address": f"lag{number}@example.com"}
        status, request_id, answer = stack.request("POST", "/customers", body)
        customer_id = str(answer["customer_id"]) if status == 201 else None
    elif kind == "update":
        status, request_id, _ = stack.request("PUT", path, {"lifetime_value": number})
    elif kind == "rename":
        status, request_id, _ = stack.request("PUT", path, {"last_name": last_name(number)})
    elif kind == "delete":
        status, request_id, _ = stack.request("DELETE", path)
    else:
        status, request_id, _ = stack.request("POST", f"{path}/restore")
    answered = time.perf_counter()
    if status not in (200, 201, 204) or customer_id is None or not request_id:
        raise RuntimeError(f"{kind} answered {status} (request id {request_id!r})")
    return customer_id, request_id, answered


def _in_history(stack: Stack, customer_id: str, request_id: str) -> bool:
    status, _, page = stack.request("GET", f"/customers/{customer_id}/history?limit=5")
    return status == 200 and any(entry.get("request_id") == request_id for entry in page["history"])


def _in_search(stack: Stack, customer_id: str, name: str) -> bool:
    status, _, page = stack.request("GET", f"/customers?q={urllib.parse.quote(name)}&limit=5")
    if status != 200:
        raise RuntimeError(f"the search for {name!r} answered {status}: {page}")
    return any(customer.get("customer_id") == customer_id for customer in page["customers"])


def _until(answered: float, shown: Callable[[], bool]) -> float | None:
    """Milliseconds from ``answered`` to the response of the first read for which ``shown`` holds."""
    while True:
        started = time.perf_counter()
        ok = shown()
        read = time.perf_counter()
        if ok:
            return (read - answered) * 1000
        if read - answered > GIVE_UP_SECONDS:
            return None
        time.sleep(max(0.0, POLL_SECONDS - (read - started)))


def _shown_after(
    stack: Stack, customer_id: str, request_id: str, answered: float, search: tuple[str, bool] | None = None
) -> tuple[float | None, float | None]:
    """From ``answered`` to the first history read that holds the write's entry, and (given ``search``:
    a last name and whether the customer is to be found by it) to the first search read that answers
    so; each read on its own thread, so neither waits for the other."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        history = pool.submit(_until, answered, lambda: _in_history(stack, customer_id, request_id))
        if search is None:
            return history.result(), None
        name, found = search
        searched = pool.submit(_until, answered, lambda: _in_search(stack, customer_id, name) == found)
        return history.result(), searched.result()


def measure(stack: Stack, writes: int) -> list[Sample]:
    """Create, update, rename, delete, restore, customer after customer; each write waits for the last to show."""
    samples = []
    customer_id: str | None = None
    name = ""
    jitter = random.Random(10)  # noqa: S311  # the same waits every run; nothing secret
    for number in range(WARM_UP_WRITES + writes):
        kind = CYCLE[number % len(CYCLE)]
        time.sleep(jitter.uniform(0, JITTER_SECONDS))
        customer_id, request_id, answered = _write(stack, kind, customer_id, number)
        if kind in ("create", "rename"):
            name = last_name(number)
        search = (name, SEARCHED[kind]) if kind in SEARCHED else None
        lag, search_lag = _shown_after(stack, customer_id, request_id, answered, search)
        if number >= WARM_UP_WRITES:
            samples.append(Sample(kind, lag, search_lag))
    return samples


def _row(label: str, lags_measured: list[float | None]) -> dict[str, Any]:
    lags = sorted(lag for lag in lags_measured if lag is not None)
    missing = len(lags_measured) - len(lags)
    # A write not shown within GIVE_UP_SECONDS counts as never shown: more than 1 % of a run, so p99 and max are too.
    worst = [*lags, *[math.inf] * missing]
    p99 = statistics.quantiles(lags, n=100, method="inclusive")[98] if len(lags) > 1 else worst[-1]
    return {
        "kind": label,
        "writes": len(lags_measured),
        "p50_ms": statistics.median(worst),
        "p99_ms": math.inf if missing else p99,
        "max_ms": worst[-1],
        "missing": missing,
    }


def _rows(samples: list[Sample], which: str, kinds: tuple[str, ...]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per kind of write and overall, of the history's lags or the search's."""

    def lag(sample: Sample) -> float | None:
        return sample.lag_ms if which == "history" else sample.search_ms

    rows = [_row(kind, [lag(s) for s in samples if s.kind == kind]) for kind in kinds]
    return rows, _row("all", [lag(s) for s in samples if s.kind in kinds])


def run(writes: int = WRITES) -> dict[str, Any]:
    """The whole stack up, ``writes`` measured writes, the stack down; per kind and overall figures."""
    with tempfile.TemporaryDirectory(prefix="bench-stream-lag-") as scratch:
        stack = Stack(Path(scratch))
        try:
            stack.start()
            samples = measure(stack, writes)
        finally:
            closed = stack.stop()
    rows, overall = _rows(samples, "history", CYCLE)
    search_rows, search_overall = _rows(samples, "search", tuple(kind for kind in CYCLE if kind in SEARCHED))
    return {
        "rows": rows,
        "overall": overall,
        "search_rows": {row["kind"]: row for row in search_rows},
        "search_overall": search_overall,
        "within_promise": overall["p99_ms"] <= PROMISE_MS,
        "search_within_promise": search_overall["p99_ms"] <= PROMISE_MS,
        "ports_closed": closed,
        "poll_ms": POLL_SECONDS * 1000,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
