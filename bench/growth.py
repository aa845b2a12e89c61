"""Growth: every kind of first page costs the same at 1k, 10k and 100k customers; a Scan does not.

Customers of varied, deterministic data (names from short lists, emails, ``555``
phones, states, statuses, creation times and lifetime values spread by a hash of
their number) are loaded with fast batch writes into DynamoDB Local: each one's item
as the app writes it (``customer_item``: every index key and search term), and its
search items as the stream consumer would write them (``search_keys`` of the stored
item), so no stream is needed. Each size has tables of its own, loaded once; the
pages are then timed at every size in turn (one page of each row at each size, over
and over), so that DynamoDB Local's warming up and the machine's phases of speed
touch every size alike.

Each row is the first page of 25 through the app's handler: its time (median), and
what DynamoDB says it consumed (a hook asks every call of the app's client for
``ReturnConsumedCapacity="TOTAL"`` and sums the answers), beside a full-table Scan
(what the API did for every list before the indexes). Then a few combinations at the
largest size only: those are answered by one index and checked on each candidate,
so they report how many customers the page returned and how many candidates it read.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
from botocore.config import Config

from bench.in_process import _event
from bench.local_app import environment, start_app
from bench.metering import Meter, Reading
from chalicelib.customers.criteria import SORTS
from scripts.local.dynamodb_local import DynamoDBLocal, local_aws_environment
from scripts.local.ports import free_port

SIZES = (1_000, 10_000, 100_000)
SIZES_VARIABLE = "GROWTH_SIZES"  # e.g. GROWTH_SIZES=1000,10000 make bench: a quicker run, without the 100k load
PREFIX = "growth"  # the app starts on "growth-<base name>"; each size has "growth<size>-<base name>"
LIMIT = 25
FLAT_WITHIN = 0.10
REPETITIONS = 25
WARM_UP_PASSES = 10  # every row at every size, before the samples: connections and DynamoDB Local's JIT
LOAD_WORKERS = 4
BATCH = 25

FIRST_NAMES = (
    *("James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth"),
    *("David", "Barbara", "Joseph", "Susan", "Richard", "Jessica", "Thomas", "Sarah", "Joanna", "José"),
)
LAST_NAMES = (
    *("Smith", "Johnson", "Williams", "Brown", "Jones", "García", "Miller", "Davis", "Rodríguez", "Martínez"),
    *("Hernández", "López", "González", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin"),
)
STATES = ("OR", "IL", "CA", "NY", "TX", "WA")
STATUSES = ("active", "inactive", "canceled")
START = datetime(2024, 1, 1, tzinfo=UTC)  # customer n was created n minutes after


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _draws(number: int) -> bytes:
    """Independent pseudo-random bytes per customer: its fields never move in step."""
    return hashlib.sha256(f"growth customer {number}".encode()).digest()


def customer(number: int) -> dict[str, Any]:
    draw = _draws(number)
    first, last = FIRST_NAMES[draw[0] % len(FIRST_NAMES)], LAST_NAMES[draw[1] % len(LAST_NAMES)]
    phone = int.from_bytes(draw[2:6], "big") % 10_000_000
    created = _stamp(START + timedelta(minutes=number))
    return {
        "customer_id": str(uuid.UUID(bytes=draw[16:32], version=4)),  # spread over the shards
        "first_name": first,
        "last_name": last,
        "email_address": f"{_ascii(first)}.{_ascii(last)}{number}@example.com",
        "phone_number": f"555-{phone // 10_000:03d}-{phone % 10_000:04d}",
        "phone_number_e164": f"+1555{phone:07d}",  # what the service derives in the default region (US)
        "customer_acquisition_date": created,
        "preferred_communication_channels": ["email"],
        "is_loyalty_member": "yn"[draw[6] % 2],
        "customer_status": STATUSES[draw[7] % len(STATUSES)],
        "state": STATES[draw[8] % len(STATES)],
        "city": "Springfield",
        "lifetime_value": Decimal(int.from_bytes(draw[9:12], "big") % 1_000_000) / 100,  # 0 to 9,999.99
        "created_at": created,
        "updated_at": _stamp(START + timedelta(minutes=number, seconds=int(draw[12]) * 60)),
        "version": 1,
    }


def _ascii(name: str) -> str:
    from chalicelib.customers.search import fold

    return fold(name).encode("ascii", "ignore").decode()


def _minutes(number: int) -> str:
    return _stamp(START + timedelta(minutes=number))


# One filter, search, range or order each: (label, query). The values leave far more than a page at 1k.
ROWS: tuple[tuple[str, dict[str, str]], ...] = (
    ("default list (`-created_at`)", {}),
    ("`customer_status=inactive`", {"customer_status": "inactive"}),
    ("`is_loyalty_member=y`", {"is_loyalty_member": "y"}),
    ("`state=OR`", {"state": "OR"}),
    ("`email_address=` (one customer)", {"email_address": "placeholder"}),
    ("`q=smi` (last name prefix)", {"q": "smi"}),
    ("`q=mary.` (email prefix)", {"q": "mary."}),
    ("`q=5551` (phone prefix)", {"q": "5551"}),
    (f"`created_after={_minutes(100)}`", {"created_after": _minutes(100)}),
    (f"`created_before={_minutes(900)}`", {"created_before": _minutes(900)}),
    ("`min_lifetime_value=2500`", {"min_lifetime_value": "2500"}),
    ("`max_lifetime_value=500`", {"max_lifetime_value": "500"}),
    *((f"`sort={sort}`", {"sort": sort}) for sort in SORTS),
)
EMAIL_OF = 500  # the customer the email filter (and the yardstick) looks for: there at every size
# DynamoDB Local's own calls slow down as its tables grow (AWS's do not): the simplest read the app
# makes, timed beside the pages, shows by how much.
YARDSTICK = "yardstick: `GET /customers/{id}` (one GetItem)"
Request = dict[str, str] | str  # a list page's query, or a customer's id
COMBINATIONS: tuple[dict[str, str], ...] = (
    {"customer_status": "active", "state": "IL", "sort": "-lifetime_value"},
    {"q": "jo", "customer_status": "active"},
    {"is_loyalty_member": "y", "created_after": _minutes(50_000), "sort": "last_name"},
    {"q": "smi", "sort": "-created_at"},
    {"state": "CA", "min_lifetime_value": "9000", "sort": "-created_at"},
)


def _query(values: dict[str, str]) -> dict[str, str]:
    if "email_address" in values:
        return {**values, "email_address": customer(EMAIL_OF)["email_address"]}
    return values


def _load(client: Any, customers_table: str, search_table: str, start: int, stop: int) -> int:
    """Customers ``start`` to ``stop`` and their search items; how many search items were written."""
    from chalicelib.storage.items import customer_item, stored_from_item
    from chalicelib.storage.search_index import search_keys
    from chalicelib.storage.tables import CUSTOMER_SEARCH

    def write(table: str, requests: list[dict[str, Any]]) -> None:
        for offset in range(0, len(requests), BATCH):
            pending: dict[str, Any] = {table: requests[offset : offset + BATCH]}
            while pending:
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    def chunk(first: int) -> int:
        items = [customer_item(customer(number)) for number in range(first, min(first + BATCH * 8, stop))]  # type: ignore[arg-type]
        write(customers_table, [{"PutRequest": {"Item": item}} for item in items])
        search = [
            {
                "PutRequest": {
                    "Item": {
                        CUSTOMER_SEARCH.hash_key: {"S": term},
                        str(CUSTOMER_SEARCH.range_key): {"S": order},
                        "customer_id": {"S": customer_id},
                    }
                }
            }
            for item in items
            for (term, order), customer_id in search_keys(stored_from_item(item)).items()
        ]
        write(search_table, search)
        return len(search)

    with ThreadPoolExecutor(max_workers=LOAD_WORKERS) as pool:
        return sum(pool.map(chunk, range(start, stop, BATCH * 8)))


def _loading_client(endpoint: str) -> Any:
    """A client of the bench's own for the load and the Scan: unmetered, without botocore's validation of each
    batch, and with none of the app's short timeouts (a Scan's 1 MB page of a big table takes seconds)."""
    local = local_aws_environment(endpoint)
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=local["AWS_DEFAULT_REGION"],
        aws_access_key_id=local["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=local["AWS_SECRET_ACCESS_KEY"],
        config=Config(parameter_validation=False, max_pool_connections=LOAD_WORKERS * 2, read_timeout=300),
    )


class Lists:
    """The app's handler for ``GET /customers``, its client metered, over one of the sizes' tables at a time.

    Each size has tables of its own (``growth<size>-...``); :meth:`use` points the app at them
    as a new stage would be (its settings from the environment, wiring rebuilt) with the
    same client, so the sizes can be sampled in turn, each page through the whole app.
    """

    def __init__(self, endpoint: str) -> None:
        from chalicelib import wiring

        self.endpoint = endpoint
        self.app = start_app(endpoint, PREFIX)
        self.client = wiring.dynamodb_client()
        self.meter = Meter(self.client, "TOTAL")
        self._sink = io.StringIO()

    def use(self, size: int) -> tuple[str, str]:
        """The app on ``size``'s tables (made if missing); their customers and search tables' names."""
        from chalicelib import wiring

        os.environ.update(environment(self.endpoint, f"{PREFIX}{size}"))
        wiring.reset(client=self.client)
        settings = wiring.components().settings
        return settings.customers_table, settings.search_table

    def create_tables(self, size: int) -> tuple[str, str]:
        from chalicelib import wiring

        names = self.use(size)
        wiring.create_missing_tables()
        return names

    def page(self, request: Request) -> dict[str, Any]:
        """A list page (``request`` its query), or a customer by id (``request`` the id), through the handler."""
        if isinstance(request, str):
            path = f"/customers/{request}"
            event = _event("GET", "/customers/{customer_id}", path, parameters={"customer_id": request})
        else:
            params = {name: [value] for name, value in {"limit": str(LIMIT), **request}.items()}
            event = _event("GET", "/customers", "/customers", query=params)
        with contextlib.redirect_stdout(self._sink):
            response = self.app(copy.copy(event), None)
        self._sink.seek(0)
        self._sink.truncate()
        assert response["statusCode"] == 200, response
        return dict(json.loads(response["body"]))

    def read(self, request: Request) -> dict[str, Any]:
        """One request's consumed capacity and what it read and returned."""
        with self.meter.reading() as reading:
            body = self.page(request)
        return {
            "rcu": reading.rcu,
            "returned": len(body["customers"]) if "customers" in body else 1,
            "more": body.get("next_token") is not None,
            "candidates": reading.batch_get_keys,
            "index_items": reading.query_items,
            "calls": _calls(reading),
        }

    def times(self, sizes: tuple[int, ...], queries: list[Request], warm_up_passes: int) -> list[list[float]]:
        """Per size, each query's median ms. Sampled in turn, one of each query at each size, REPETITIONS
        times over: DynamoDB Local's JIT and the machine's phases touch every size and query alike."""
        samples: list[list[list[float]]] = [[[] for _ in queries] for _ in sizes]
        for repetition in range(warm_up_passes + REPETITIONS):
            turn = list(zip(sizes, samples, strict=True))
            for size, per_query in turn if repetition % 2 else reversed(turn):  # neither size always first
                self.use(size)
                self.page(queries[0])  # the rebuilt wiring's first request, untimed
                for query, taken in zip(queries, per_query, strict=True):
                    started = time.perf_counter()
                    self.page(query)
                    if repetition >= warm_up_passes:
                        taken.append((time.perf_counter() - started) * 1000)
        return [[statistics.median(taken) for taken in per_query] for per_query in samples]

    def scan(self, client: Any, table: str) -> tuple[float, float]:
        """A full Scan of a customers table (eventually consistent, as the old list was): ms, RCU."""
        rcu = 0.0
        started = time.perf_counter()
        paginator = client.get_paginator("scan")
        for page in paginator.paginate(TableName=table, ReturnConsumedCapacity="TOTAL"):
            rcu += page["ConsumedCapacity"]["CapacityUnits"]
        return (time.perf_counter() - started) * 1000, rcu


def _calls(reading: Reading) -> str:
    counts: dict[str, int] = {}
    for name in reading.calls:
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{count} {name}" for name, count in counts.items())


def _progress(message: str) -> None:
    print(f"growth: {message}", file=sys.stderr, flush=True)


def growth_ratio(values: list[float]) -> float:
    """The largest size's figure over the smallest's."""
    return values[-1] / values[0] if values[0] else 1.0


def flat(values: list[float]) -> bool:
    """The largest size's figure within FLAT_WITHIN of the smallest's."""
    first, last = values[0], values[-1]
    return abs(last - first) <= FLAT_WITHIN * first if first else last == first


def sizes_asked() -> tuple[int, ...]:
    raw = os.environ.get(SIZES_VARIABLE, "").strip()
    return tuple(sorted(int(size) for size in raw.split(","))) if raw else SIZES


def run(sizes: tuple[int, ...] | None = None) -> dict[str, Any]:
    """Per row, its figures at each size; the Scan per size; the combinations at the largest size."""
    sizes = sizes or sizes_asked()
    if sizes[0] <= EMAIL_OF:
        raise SystemExit(f"growth: every size must hold customer {EMAIL_OF} (the email filter's)")
    with DynamoDBLocal(port=free_port()) as dynamodb:
        lists = Lists(dynamodb.endpoint)
        loader = _loading_client(dynamodb.endpoint)
        scans, loads = [], []
        for size in sizes:
            customers_table, search_table = lists.create_tables(size)
            started = time.perf_counter()
            search_items = _load(loader, customers_table, search_table, 0, size)
            loads.append({"customers": size, "seconds": time.perf_counter() - started, "search_items": search_items})
            _progress(f"{size:,}: loaded in {loads[-1]['seconds']:,.0f} s")
            scan_ms, scan_rcu = lists.scan(loader, customers_table)
            scans.append({"customers": size, "ms": scan_ms, "rcu": scan_rcu})
            _progress(f"{size:,}: Scan {scan_ms / 1000:,.0f} s")
        labels = [label for label, _ in ROWS] + [YARDSTICK]
        queries: list[Request] = [_query(query) for _, query in ROWS] + [customer(EMAIL_OF)["customer_id"]]
        times = lists.times(sizes, queries, WARM_UP_PASSES)
        _progress("pages timed")
        measured: dict[str, list[dict[str, Any]]] = {label: [] for label in labels}
        for size, per_query in zip(sizes, times, strict=True):
            lists.use(size)
            for label, query, ms in zip(labels, queries, per_query, strict=True):
                measured[label].append({"ms": ms, **lists.read(query)})
        combined: list[Request] = list(COMBINATIONS)
        (combined_times,) = lists.times(sizes[-1:], combined, WARM_UP_PASSES)
        combinations = [
            {"query": query, "ms": ms, **lists.read(query)} for query, ms in zip(combined, combined_times, strict=True)
        ]
    from chalicelib.storage.listing import READ_FACTOR

    yardstick = growth_ratio([figure["ms"] for figure in measured[YARDSTICK]])
    rows = []
    for label, figures in measured.items():
        timed = [figure["ms"] for figure in figures]
        rows.append(
            {
                "label": label,
                "sizes": figures,
                "rcu_ratio": growth_ratio([figure["rcu"] for figure in figures]),
                "ms_ratio": growth_ratio(timed),
                "rcu_flat": flat([figure["rcu"] for figure in figures]),
                "ms_flat": flat(timed),
                # Its time's growth beyond DynamoDB Local's own (the yardstick's), flat within FLAT_WITHIN too.
                "ms_beyond_yardstick": growth_ratio(timed) / yardstick,
                "ms_flat_beyond_yardstick": growth_ratio(timed) / yardstick <= 1 + FLAT_WITHIN,
            }
        )
    return {
        "sizes": list(sizes),
        "rows": rows,
        "scans": scans,
        "loads": loads,
        "combinations": combinations,
        "limit": LIMIT,
        "read_budget": READ_FACTOR * LIMIT,
    }


if __name__ == "__main__":
    chosen = tuple(int(size) for size in sys.argv[1:]) or None
    print(json.dumps(run(chosen), indent=2, default=str))
