"""One tree's operations, priced by DynamoDB itself: read and write units per table and index.

Run from the root of the tree to measure, against a DynamoDB Local that is already up:

    python -m bench.capacity_probe --endpoint URL --prefix PREFIX --out FILE [--floor]

bench/capacity.py runs it here (with and without ``--floor``) and, copied with
bench/metering.py into an extracted older commit, there: the same code measures
every side, each through its own app, tables and client. So it imports only what
every tree since the bench began has (``bench.local_app``, ``bench.in_process._event``,
``chalicelib.wiring``); the search table's maintenance is measured where the tree has
one (``chalicelib.storage.search_index``).

Each operation runs through the app's handler (reads before writes and transactions
included) while bench/metering.py asks every call of the app's client for
``ReturnConsumedCapacity="INDEXES"``. The stream consumer's search maintenance is what
``DynamoDBSearchIndex.follow`` writes for the operation's old and new images (read
just before and after it, as its stream record would carry them).

``--floor``: the same operations with a customers table of no index at all (recreated
without GlobalSecondaryIndexes). Pages cannot be served there; a page's floor is the
least any page of 25 costs: one consistent Scan of 25 of its customers.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.metering import Meter

REPEATS = 3  # units are whole numbers (per 1 KB written, per 4 KB read): the repeats show whether they move
POPULATION = 40  # customers present before the pages are read: more than a page
PAGE = 25
WRITES = ("create", "update `city`", "update `customer_status`", "update `last_name`", "delete")
READS = ("get", "list page", "filtered page (`customer_status`)", "search page (`q`)", "sorted page (`last_name`)")
PAGE_QUERIES = {
    "list page": {},
    "filtered page (`customer_status`)": {"customer_status": "active"},
    "search page (`q`)": {"q": "capa"},
    "sorted page (`last_name`)": {"sort": "last_name"},
}
UPDATES = {"update `city`": "city", "update `customer_status`": "customer_status", "update `last_name`": "last_name"}


def _change(field: str, number: int) -> dict[str, Any]:
    """A plain field, a filtered one, a searched one (the last moves the customer in the name order)."""
    return {"city": {"city": f"Portland {number}"}, "customer_status": {"customer_status": "inactive"}}.get(
        field, {"last_name": f"Capacitor {number}"}
    )


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
        "email_address": f"capacity{number}@example.com",
        "preferred_communication_channels": ["email", "phone"],
        "is_loyalty_member": "y",
        "customer_status": "active",
        "lifetime_value": 2500.5,
    }


class Probe:
    """The app of the tree this runs in, wired to ``endpoint`` with tables named ``<prefix>-...``."""

    def __init__(self, endpoint: str, prefix: str, floor: bool) -> None:
        import os

        os.environ["EVENT_BUS_NAME"] = ""
        from bench.in_process import _event
        from bench.local_app import start_app
        from chalicelib import wiring

        self.event = _event
        self.app = start_app(endpoint, prefix)
        self.client = wiring.dynamodb_client()
        settings = wiring.components().settings
        self.customers_table = str(settings.customers_table)
        if floor:
            self._drop_indexes()
        self.meter = Meter(self.client, "INDEXES")
        self.repository = wiring.components().repository
        self.search: Any = None
        with contextlib.suppress(ImportError):
            from chalicelib.storage.search_index import DynamoDBSearchIndex

            if not floor:
                self.search = DynamoDBSearchIndex(self.client, settings.search_table)
        self._sink = io.StringIO()

    def _drop_indexes(self) -> None:
        """The customers table again, the same in every way but without a single index."""
        from chalicelib.storage.tables import CUSTOMERS

        request = CUSTOMERS.create_table_request(self.customers_table)
        request.pop("GlobalSecondaryIndexes", None)
        keys = {key["AttributeName"] for key in request["KeySchema"]}
        request["AttributeDefinitions"] = [d for d in request["AttributeDefinitions"] if d["AttributeName"] in keys]
        self.client.delete_table(TableName=self.customers_table)
        self.client.get_waiter("table_not_exists").wait(TableName=self.customers_table, WaiterConfig={"Delay": 1})
        self.client.create_table(**request)
        self.client.get_waiter("table_exists").wait(TableName=self.customers_table, WaiterConfig={"Delay": 1})

    def call(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> dict[str, Any]:
        resource, parameters = path, None
        parts = path.split("/")
        if len(parts) > 2:
            parameters = {"customer_id": parts[2]}
            resource = "/".join(["", "customers", "{customer_id}", *parts[3:]])
        params = None if query is None else {name: [value] for name, value in query.items()}
        with contextlib.redirect_stdout(self._sink):
            response: dict[str, Any] = self.app(self.event(method, resource, path, body, parameters, params), None)
        self._sink.seek(0)
        self._sink.truncate()
        return response

    def stored(self, customer_id: str | None) -> Any:
        return None if customer_id is None or self.search is None else self.repository.read(customer_id)


def _answer(response: dict[str, Any], status: int, what: str) -> dict[str, Any]:
    if response["statusCode"] != status:
        raise SystemExit(f"capacity_probe: {what} answered {response['statusCode']}: {response.get('body')}")
    body = response.get("body") or ""
    return dict(json.loads(body)) if body.startswith("{") else {}


def measure(endpoint: str, prefix: str, floor: bool, repeats: int = REPEATS) -> dict[str, Any]:
    probe = Probe(endpoint, prefix, floor)
    samples: dict[str, dict[str, list[dict[str, Any]]]] = {}

    def metered(operation: str, phase: str, action: Callable[[], Any]) -> Any:
        with probe.meter.reading() as reading:
            result = action()
        samples.setdefault(operation, {}).setdefault(phase, []).append(reading.as_dict())
        return result

    def write(operation: str, method: str, path: str, body: Any, status: int) -> str:
        customer_id = path.split("/")[2] if path.count("/") > 1 else None
        old = probe.stored(customer_id)
        answer = _answer(metered(operation, "api", lambda: probe.call(method, path, body)), status, operation)
        customer_id = customer_id or str(answer["customer_id"])
        if probe.search is not None:
            new = probe.stored(customer_id)
            metered(operation, "search", lambda: probe.search.follow(old, new))
        return customer_id

    for number in range(POPULATION):  # the pages' customers, with their search items
        write("(population)", "POST", "/customers", _body(1000 + number), 201)
    for number in range(repeats):
        path = f"/customers/{write('create', 'POST', '/customers', _body(number), 201)}"
        for operation, field in UPDATES.items():
            write(operation, "PUT", path, _change(field, number), 200)
        _answer(metered("get", "api", functools.partial(probe.call, "GET", path)), 200, "get")
        write("delete", "DELETE", path, None, 204)
        for operation, query in PAGE_QUERIES.items():
            if floor:
                scan = functools.partial(probe.client.scan, TableName=probe.customers_table, Limit=PAGE)
                metered(operation, "api", functools.partial(scan, ConsistentRead=True))
                continue
            page = functools.partial(probe.call, "GET", "/customers", query={"limit": str(PAGE), **query})
            response = metered(operation, "api", page)
            if response["statusCode"] != 200:  # a query this tree does not know
                samples[operation]["api"][-1] = {"unsupported": response["statusCode"]}
                continue
            samples[operation]["api"][-1]["returned"] = len(json.loads(response["body"])["customers"])
    samples.pop("(population)", None)
    import chalicelib

    return {
        "tree": str(Path(chalicelib.__file__).resolve().parent.parent),
        "tables": {"customers": probe.customers_table},
        "operations": {name: _summary(phases) for name, phases in samples.items()},
    }


def _summary(phases: dict[str, list[dict[str, Any]]]) -> dict[str, Any] | None:
    """Per phase: the median units over the repeats, their spread, and the median sample's breakdown."""
    summary: dict[str, Any] = {}
    for phase, readings in phases.items():
        if any("unsupported" in reading for reading in readings):
            summary[phase] = None
            continue
        units = [reading["wcu"] + reading["rcu"] for reading in readings]
        middle = sorted(readings, key=lambda reading: reading["wcu"] + reading["rcu"])[len(readings) // 2]
        summary[phase] = {
            "wcu": statistics.median(reading["wcu"] for reading in readings),
            "rcu": statistics.median(reading["rcu"] for reading in readings),
            "varied": min(units) != max(units),
            "where": middle["where"],
            "calls": middle["calls"],
            "returned": middle.get("returned"),
        }
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--floor", action="store_true", help="the customers table without any index")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args()
    result = measure(args.endpoint, args.prefix, args.floor, args.repeats)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
