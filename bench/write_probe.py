"""One tree's writes, priced by DynamoDB itself: the consumed write capacity of each kind of write.

Run from the root of the tree to measure, against a DynamoDB Local that is already up:

    python -m bench.write_probe --endpoint URL --prefix PREFIX --out FILE [--consumer]

bench/write_cost.py runs it here and, copied into an extracted older commit, there: the
same code measures both sides, each through its own app, tables and client. So it may
import only what every tree since the bench began has (``bench.local_app``,
``bench.in_process._event``, ``chalicelib.wiring.dynamodb_client``); what the stream
consumer needs is imported only with ``--consumer``.

Nothing is estimated: a botocore hook asks every call of the app's client for
``ReturnConsumedCapacity="INDEXES"`` (the total, with each index's share) and another
adds up what comes back, per write. Writes run through the app's handler, so each
costs what the API costs, reads before writes and transactions included.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPEATS = 5  # WCU are whole numbers that should not move; the repeats show that they do not
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
CONSUMER_TIMEOUT_SECONDS = 10.0


@dataclass
class Tally:
    """What one write (or one consumer run) consumed: write units by table or "table/index", read units."""

    wcu: float = 0.0
    rcu: float = 0.0
    where: dict[str, float] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def add(self, operation: str, consumed: dict[str, Any]) -> None:
        units = float(consumed.get("CapacityUnits", 0.0))
        if operation not in WRITE_OPERATIONS:
            self.rcu += units
            return
        self.wcu += units
        table = str(consumed.get("TableName", "?"))
        indexes = {
            f"{table}/{name}": float(share.get("CapacityUnits", 0.0))
            for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
            for name, share in (consumed.get(kind) or {}).items()
        }
        # Without a per-table figure (TOTAL only), everything that is not an index's is the table's.
        table_share = float((consumed.get("Table") or {}).get("CapacityUnits", units - sum(indexes.values())))
        for name, share in {table: table_share, **indexes}.items():
            self.where[name] = self.where.get(name, 0.0) + share

    def as_dict(self) -> dict[str, Any]:
        return {"wcu": self.wcu, "rcu": self.rcu, "where": self.where, "calls": self.calls}


class Meter:
    """Hooks on one botocore client: every call asks for its consumed capacity, which is added to the open tally.

    Calls made while no tally is open (setup, the bench's own reads) are asked too but
    counted nowhere.
    """

    def __init__(self, client: Any) -> None:
        self._tally: Tally | None = None
        client.meta.events.register("before-parameter-build.dynamodb.*", self._ask)
        client.meta.events.register("after-call.dynamodb.*", self._count)

    def _ask(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params["ReturnConsumedCapacity"] = "INDEXES"

    def _count(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if self._tally is None:
            return
        consumed = parsed.get("ConsumedCapacity")
        entries = consumed if isinstance(consumed, list) else [] if consumed is None else [consumed]
        self._tally.calls.append(str(model.name))
        for entry in entries:
            self._tally.add(str(model.name), entry)

    @contextlib.contextmanager
    def counting(self) -> Iterator[Tally]:
        self._tally = Tally()
        try:
            yield self._tally
        finally:
            self._tally = None


def _body(number: int) -> dict[str, Any]:
    """A whole customer, as a client would create one (the item's size decides its units)."""
    return {
        "first_name": "Wendy",
        "last_name": f"Capacity {number}",
        "date_of_birth": "1985-03-15",
        "address": "123 Main St",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62701",
        "phone_number": "555-0101",
        "email_address": f"wcu{number}@example.com",
        "preferred_communication_channels": ["email", "phone"],
        "is_loyalty_member": "y",
        "customer_status": "active",
        "lifetime_value": 2500.5,
    }


class Probe:
    """The app of the tree this runs in, wired to ``endpoint`` with tables named ``<prefix>-...``."""

    def __init__(self, endpoint: str, prefix: str) -> None:
        os.environ["EVENT_BUS_NAME"] = ""  # nothing leaves the machine (a deployed stage's consumer publishes)
        from bench.in_process import _event
        from bench.local_app import start_app
        from chalicelib import wiring

        self.event = _event
        self.app = start_app(endpoint, prefix)
        self.client = wiring.dynamodb_client()
        self.meter = Meter(self.client)
        self.endpoint = endpoint
        self._sink = io.StringIO()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The handler's answer to one API Gateway event (its log lines dropped)."""
        resource = path
        parameters = None
        parts = path.split("/")
        if len(parts) > 2:
            parameters = {"customer_id": parts[2]}
            resource = "/".join(["", "customers", "{customer_id}", *parts[3:]])
        with contextlib.redirect_stdout(self._sink):
            response: dict[str, Any] = self.app(self.event(method, resource, path, body, parameters), None)
        self._sink.seek(0)
        self._sink.truncate()
        return response


class Consumer:
    """The stream consumer in this process, fed by the local poller after each write (as Lambda would be)."""

    def __init__(self, probe: Probe) -> None:
        import app
        from chalicelib import wiring
        from scripts.local.stream_poller import StreamPoller, streams_client

        settings = wiring.components().settings
        self._history = wiring.history_components().history
        arn = probe.client.describe_table(TableName=settings.customers_table)["Table"]["LatestStreamArn"]
        self._handled = 0

        def handler(event: dict[str, Any]) -> dict[str, Any]:
            answer: dict[str, Any] = app.record_changes(event)
            self._handled += len(event["Records"]) - len(answer["batchItemFailures"])
            return answer

        self._poller = StreamPoller(streams_client(probe.endpoint, settings.aws_region), arn, handler)
        self._poller.poll_once()  # the shards, and anything written before (nothing)

    def drain(self) -> None:
        """Until the write's stream record has been handled (DynamoDB Local may take a moment to show it)."""
        wanted = self._handled + 1
        deadline = time.monotonic() + CONSUMER_TIMEOUT_SECONDS
        while self._handled < wanted:
            if time.monotonic() > deadline:
                raise SystemExit("write_probe: the consumer saw no stream record for the write")
            self._poller.poll_once()
            if self._handled < wanted:
                time.sleep(0.05)

    def newest_version(self, customer_id: str) -> int:
        return int(self._history.page(customer_id, 1, None).entries[0].version)

    def mark_published(self, customer_id: str, version: int) -> None:
        """What a stage with an event bus adds per change: the entry's UpdateItem once its event is out."""
        self._history.mark_published(customer_id, version)


def _answer(response: dict[str, Any], status: int, what: str) -> dict[str, Any]:
    if response["statusCode"] != status:
        raise SystemExit(f"write_probe: {what} answered {response['statusCode']}: {response.get('body')}")
    body = response.get("body") or ""
    return dict(json.loads(body)) if body.startswith("{") else {}


EXPECTED_STATUS = {"POST": 201, "PUT": 200, "DELETE": 204}


def measure(endpoint: str, prefix: str, with_consumer: bool, repeats: int = REPEATS) -> dict[str, Any]:
    """Each kind of write ``repeats`` times, each on a customer of its own making."""
    probe = Probe(endpoint, prefix)
    consumer = Consumer(probe) if with_consumer else None
    import app

    has_restore = hasattr(app, "restore_customer")  # soft delete and restore came with the change history
    samples: dict[str, dict[str, list[dict[str, Any]]]] = {}

    def write(operation: str, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        phases = samples.setdefault(operation, {"api": [], "consumer": [], "publish": []})
        with probe.meter.counting() as api:
            response = probe.call(method, path, body)
        status = 200 if path.endswith("/restore") else EXPECTED_STATUS[method]
        answer = _answer(response, status, operation)
        phases["api"].append(api.as_dict())
        if consumer is not None:
            customer_id = path.split("/")[2] if path.count("/") > 1 else str(answer["customer_id"])
            with probe.meter.counting() as consumed:
                consumer.drain()
            phases["consumer"].append(consumed.as_dict())
            version = consumer.newest_version(customer_id)  # the bench's read, counted nowhere
            with probe.meter.counting() as published:
                consumer.mark_published(customer_id, version)
            phases["publish"].append(published.as_dict())
        return answer

    for number in range(repeats):
        path = f"/customers/{write('create', 'POST', '/customers', _body(number))['customer_id']}"
        write("update", "PUT", path, {"lifetime_value": 3000 + number})
        write("update email", "PUT", path, {"email_address": f"moved{number}@example.com"})
        write("delete", "DELETE", path)
        if has_restore:
            write("restore", "POST", f"{path}/restore")
    import chalicelib

    return {
        "tree": str(Path(chalicelib.__file__).resolve().parent.parent),
        "operations": {name: _summary(phases) for name, phases in samples.items()},
    }


def _summary(phases: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Per phase: the median WCU over the repeats, its spread, and one sample's breakdown."""
    summary: dict[str, Any] = {}
    for phase, tallies in phases.items():
        if not tallies:
            continue
        units = [tally["wcu"] for tally in tallies]
        middle = sorted(tallies, key=lambda tally: tally["wcu"])[len(tallies) // 2]
        summary[phase] = {
            "wcu": statistics.median(units),
            "wcu_min": min(units),
            "wcu_max": max(units),
            "rcu": statistics.median(tally["rcu"] for tally in tallies),
            "where": middle["where"],
            "calls": middle["calls"],
        }
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--consumer", action="store_true", help="also run the stream consumer after each write")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args()
    result = measure(args.endpoint, args.prefix, args.consumer, args.repeats)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
