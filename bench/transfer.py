"""Import and export of 10,000 customers through the CLI, beside raw floors measured in the same run.

Import: ``python -m scripts.transfer import`` (a subprocess, as an operator runs it)
loads a CSV of new customers into empty tables. Its floor is BatchWriteItem of the
same customers' items (``customer_item``: every index key and search term) and their
email claims into other empty tables, as many batches at a time as the import runs
rows at a time. The import does more per row by design: each row is validated by the
API's schema, looked up by its email, and written as a transaction (the customer and
its claim, conditionally, so an address is never taken twice); its target is 0.25x.

Export: ``python -m scripts.transfer export`` of those customers to CSV; its floor is the
export's own parallel Scan (same segments, same request: live customers' fields only)
with the items counted, not decoded nor written. Target 0.8x. A Scan of whole items (every
index key and search term too) is shown beside it: what the projection saves. Each side
is run several times, in turn, and the medians compared.

Memory: the export's peak resident set (its process's VmHWM, sampled while it runs) at
10,000 and at 100,000 customers (loaded with the floor's batch writes): flat when
within 10%. ``TRANSFER_SIZES=2000,10000`` makes a quicker run (first: the size
timed; last: the large export).

Rates are the tool's own, from its summary line (rows over the time from its first
row to its last, without Python's start-up, which the floors do not pay either).
"""

from __future__ import annotations

import csv
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.growth import _loading_client, customer
from bench.local_app import environment
from scripts.local.dynamodb_local import DynamoDBLocal
from scripts.local.ports import free_port
from scripts.paths import ROOT

SIZES = (10_000, 100_000)
SIZES_VARIABLE = "TRANSFER_SIZES"
IMPORT_TARGET = 0.25
EXPORT_TARGET = 0.8
MEMORY_WITHIN = 0.10
EXPORT_RUNS = 3
BATCH = 25
_RATE = re.compile(r"([\d,]+) rows/s")
_SAMPLE_SECONDS = 0.05


def sizes_asked() -> tuple[int, int]:
    raw = os.environ.get(SIZES_VARIABLE, "").strip()
    sizes = tuple(sorted(int(size) for size in raw.split(","))) if raw else SIZES
    return sizes[0], sizes[-1]


def _progress(message: str) -> None:
    print(f"transfer: {message}", file=sys.stderr, flush=True)


def _tables(endpoint: str, prefix: str) -> dict[str, str]:
    """Empty tables named ``<prefix>-...`` (made as `make run` makes them); the CLI's environment for them."""
    from chalicelib import wiring

    variables = environment(endpoint, prefix)
    os.environ.update(variables)
    wiring.reset()
    wiring.create_missing_tables()
    return {key: value for key, value in {**os.environ, **variables}.items()}


def _cli(command: str, path: Path, env: dict[str, str]) -> tuple[float, int]:
    """Run the tool to its end: its own rows/s, and its peak resident set in KB."""
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.transfer", command, str(path), "--stage", "local"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    peak = 0
    while process.poll() is None:
        peak = max(peak, _peak_kb(process.pid))
        time.sleep(_SAMPLE_SECONDS)
    assert process.stdout is not None
    output = process.stdout.read()
    if process.returncode != 0:
        raise SystemExit(f"transfer: {command} failed ({process.returncode}):\n{output}")
    rates = _RATE.findall(output.strip().splitlines()[-1])
    return float(rates[-1].replace(",", "")), peak


def _peak_kb(pid: int) -> int:
    """The process's resident high-water mark (VmHWM), read while it runs.

    Not ``ru_maxrss``: Linux carries the parent's high-water mark into a forked child across
    exec, so every child of this (large) process would report at least the parent's size.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # it just ended
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _import_file(path: Path, size: int) -> None:
    from chalicelib.customers.model import WRITABLE_FIELDS
    from scripts.transfer.formats import Writer

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = Writer(handle, "csv", columns=WRITABLE_FIELDS)
        for first in range(0, size, 1000):
            writer.write([customer(number) for number in range(first, min(first + 1000, size))])


def _batch_write(client: Any, customers_table: str, emails_table: str, size: int, workers: int) -> float:
    """The floor of an import: each customer's item and email claim, BatchWriteItem, ``workers`` at a time; rows/s."""
    from chalicelib.customers.model import email_key
    from chalicelib.storage.items import customer_item

    def write(first: int) -> None:
        numbers = range(first, min(first + BATCH, size))
        people = [customer(number) for number in numbers]
        requests = {
            customers_table: [{"PutRequest": {"Item": customer_item(person)}} for person in people],  # type: ignore[arg-type]
            emails_table: [
                {
                    "PutRequest": {
                        "Item": {
                            "email_key": {"S": email_key(person["email_address"])},
                            "customer_id": {"S": person["customer_id"]},
                        }
                    }
                }
                for person in people
            ],
        }
        for table, puts in requests.items():
            pending: dict[str, Any] = {table: puts}
            while pending:
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(write, range(0, size, BATCH)))
    return size / (time.perf_counter() - started)


def _parallel_scan(client: Any, table: str, segments: int, *, as_exported: bool) -> tuple[float, int]:
    """The floor of an export: ``table``'s items, ``segments`` at a time, counted; rows/s and the count.

    ``as_exported``: the export's own request (live customers' fields only); else every whole item.
    """
    from chalicelib.storage.bulk_scan import scan_request

    counts = [0] * segments

    def walk(segment: int) -> None:
        request: dict[str, Any] = {"TableName": table, "Segment": segment, "TotalSegments": segments}
        if as_exported:
            request = scan_request(table, segment, segments)
        while True:
            response = client.scan(**request)
            counts[segment] += len(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    started = time.perf_counter()
    threads = [threading.Thread(target=walk, args=(segment,)) for segment in range(segments)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started), sum(counts)


def run() -> dict[str, Any]:
    from scripts.transfer.exporting import SEGMENTS
    from scripts.transfer.importing import CHUNK_ROWS

    size, large = sizes_asked()
    workers = CHUNK_ROWS // BATCH  # as many rows in flight as one chunk of the import
    # The import's floor in a DynamoDB Local of its own: it slows down as its tables and streams fill,
    # so whichever of the two ran second in one instance would be measured slower.
    with DynamoDBLocal(port=free_port()) as fresh:
        floor = _tables(fresh.endpoint, "transfer-floor")
        import_floor = _batch_write(
            _loading_client(fresh.endpoint), floor["CUSTOMERS_TABLE"], floor["CUSTOMER_EMAILS_TABLE"], size, workers
        )
        _progress(f"BatchWriteItem of {size:,}: {import_floor:,.0f} rows/s")
    with DynamoDBLocal(port=free_port()) as dynamodb, tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        loader = _loading_client(dynamodb.endpoint)
        source = folder / "customers.csv"
        _import_file(source, size)
        imported = _tables(dynamodb.endpoint, "transfer-import")
        import_rate, _ = _cli("import", source, imported)
        _progress(f"import of {size:,}: {import_rate:,.0f} rows/s")

        exports: list[float] = []
        scans: list[float] = []
        whole_scans: list[float] = []
        memory_small = 0
        for _ in range(EXPORT_RUNS):  # in turn, so that DynamoDB Local's warming up touches each alike
            for as_exported, rates in ((True, scans), (False, whole_scans)):
                scan_rate, scanned = _parallel_scan(
                    loader, imported["CUSTOMERS_TABLE"], SEGMENTS, as_exported=as_exported
                )
                assert scanned == size, scanned
                rates.append(scan_rate)
            rate, memory = _cli("export", folder / "small.csv", imported)
            exports.append(rate)
            memory_small = max(memory_small, memory)
        export_rate, export_floor = statistics.median(exports), statistics.median(scans)
        _progress(f"export of {size:,}: {export_rate:,.0f} rows/s, parallel Scan {export_floor:,.0f} rows/s")

        big = _tables(dynamodb.endpoint, "transfer-large")
        started = time.perf_counter()
        _batch_write(loader, big["CUSTOMERS_TABLE"], big["CUSTOMER_EMAILS_TABLE"], large, workers)
        _progress(f"{large:,} loaded in {time.perf_counter() - started:,.0f} s")
        large_rate, memory_large = _cli("export", folder / "large.csv", big)
        with (folder / "large.csv").open(newline="") as handle:
            exported_large = sum(1 for _ in csv.reader(handle)) - 1
        _progress(f"export of {large:,}: {large_rate:,.0f} rows/s, peak {memory_large:,} KB")
    return {
        "size": size,
        "large": large,
        "segments": SEGMENTS,
        "chunk_rows": CHUNK_ROWS,
        "workers": workers,
        "import_rate": import_rate,
        "import_floor": import_floor,
        "import_ratio": import_rate / import_floor,
        "import_ok": import_rate / import_floor >= IMPORT_TARGET,
        "export_rate": export_rate,
        "export_floor": export_floor,
        "whole_scan": statistics.median(whole_scans),
        "export_ratio": export_rate / export_floor,
        "export_ok": export_rate / export_floor >= EXPORT_TARGET,
        "large_rate": large_rate,
        "exported_large": exported_large,
        "memory_small_kb": memory_small,
        "memory_large_kb": memory_large,
        "memory_ratio": memory_large / memory_small,
        "memory_ok": memory_large <= memory_small * (1 + MEMORY_WITHIN),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
