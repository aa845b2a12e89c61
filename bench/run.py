"""`make bench`: every measurement in one run, one table, written to bench/results.md.

Absolute times vary between machines; the ratios to the baseline measured in the
same run are the figures to compare.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import capacity, cold_start, end_to_end, growth, in_process, package_size, stream_lag, transfer, write_cost
from scripts.local.dynamodb_local import DynamoDBLocal
from scripts.local.ports import free_port

RESULTS = Path(__file__).resolve().parent / "results.md"
IN_PROCESS_TARGETS_US = {"get": 40, "create": 100}
COLD_START_TARGET = 1.2
E2E_TARGETS = {"GET by id": 1.1, "POST create": 1.2, "PUT": 1.2, "DELETE": 1.2}


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def _ms(value: float) -> str:
    return "never" if value == float("inf") else f"{value:,.0f}"


def _stream_lag_section(lag: dict[str, Any]) -> list[str]:
    lines = [
        "\n## 6. Stream lag (from a write's response to its entry in `GET /customers/{id}/history`, and to "
        "`GET /customers?q=<its last name>` answering with (or, after a delete, without) the customer; over HTTP "
        "against the whole local stack: DynamoDB Local, `chalice local`, the stream poller; each read every "
        f"{lag['poll_ms']:.0f} ms, history and search side by side)\n",
        "| writes | count | history p50 ms | history p99 ms | history max ms | search p50 ms | search p99 ms "
        "| search max ms | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in [*lag["rows"], lag["overall"]]:
        overall = row is lag["overall"]
        search = lag["search_overall"] if overall else lag["search_rows"].get(row["kind"])
        target = ""
        if overall:
            target = (
                f"p99 ≤ {stream_lag.PROMISE_MS:,.0f}: history "
                + ("✓" if lag["within_promise"] else "✗")
                + ", search "
                + ("✓" if lag["search_within_promise"] else "✗")
            )
        found = ["—"] * 3 if search is None else [_ms(search[key]) for key in ("p50_ms", "p99_ms", "max_ms")]
        history = [_ms(row[key]) for key in ("p50_ms", "p99_ms", "max_ms")]
        cells = [row["kind"], str(row["writes"]), *history, *found, target]
        lines.append("| " + " | ".join(cells) + " |")
    missing = lag["overall"]["missing"]
    search_missing = lag["search_overall"]["missing"]
    stopped = "were closed" if lag["ports_closed"] else "were NOT all closed"
    lines.append(
        f"\n{missing} of {lag['overall']['writes']} writes never showed in history within "
        f"{stream_lag.GIVE_UP_SECONDS:.0f} s, {search_missing} of {lag['search_overall']['writes']} in search; "
        f"the stack's ports {stopped} once it stopped. A search follows a create, a rename (`PUT` of `last_name`) "
        "and a restore only once the consumer has written the search items; an update of a field nobody "
        "searches by (`lifetime_value`) changes nothing there (—). A deleted customer is gone from the first "
        "search read: a page re-reads its customers consistently, so its delete figure is one read's time."
    )
    return lines


def _write_cost_section(costs: dict[str, Any]) -> list[str]:
    lines = [
        "\n## 7. Write cost (consumed write capacity per write as DynamoDB Local reports it, every table and index; "
        f"before = commit {costs['baseline']}, measured in this run)\n",
        "| operation | WCU before | WCU API now | WCU consumer now (history entry and search items + published mark) "
        "| total now "
        "| total vs before |",
        "|---|---|---|---|---|---|",
    ]
    for row in costs["rows"]:
        before = row["before_wcu"]
        change = "" if before is None else f"{row['total_wcu'] - before:+g} ({row['total_wcu'] / before:.2f}x)"
        consumer = f"{row['consumer_wcu']:g} ({row['entry_wcu']:g} + {row['mark_wcu']:g})"
        cells = ["—" if before is None else f"{before:g}", f"{row['api_wcu']:g}", consumer, f"{row['total_wcu']:g}"]
        lines.append(
            f"| {row['operation']}{' (varied)' if row['varied'] else ''} | " + " | ".join([*cells, change]) + " |"
        )
    lines.append(
        "\nThe published mark is the consumer's UpdateItem once the change's event is out: every deployed stage "
        "(it has an event bus), not `make run`.\n"
    )
    lines.append("| operation | API now, by table | consumer's entry and search items, by table |\n|---|---|---|")
    for row in costs["rows"]:
        lines.append(
            f"| {row['operation']} | {write_cost.where(row['api_where'])} | {write_cost.where(row['consumer_where'])} |"
        )
    calibration = costs["calibration"]
    in_transactions = ", ".join(f"{calibration[f'transaction_of_{size}']:g}" for size in (1, 2, 3))
    lines.append(
        f"\nDynamoDB Local's own pricing, measured in this run: a small item costs {calibration['put']:g} WCU written "
        f"alone, and a transaction of one, two or three small items in one table {in_transactions} (AWS: 1; 2, 4, 6). "
        "Its transactions' figures are its own, not a bill; before and now are priced alike, so compare those."
    )
    lines.extend(f"\n{note}" for note in costs["notes"])
    return lines


def _flat_verdict(row: dict[str, Any]) -> str:
    """``"RCU 1.00x ✓; time 1.30x ✗, 0.97 of the yardstick's ✓"``: the largest size's figure over the smallest's."""
    rcu = f"RCU {row['rcu_ratio']:.2f}x {'✓' if row['rcu_flat'] else '✗'}"
    time_verdict = f"time {row['ms_ratio']:.2f}x {'✓' if row['ms_flat'] else '✗'}"
    if row["label"] != growth.YARDSTICK:
        beyond = "✓" if row["ms_flat_beyond_yardstick"] else "✗"
        time_verdict += f", {row['ms_beyond_yardstick']:.2f} of the yardstick's {beyond}"
    return f"{rcu}; {time_verdict}"


def _growth_section(result: dict[str, Any]) -> list[str]:
    sizes = result["sizes"]
    largest = f"{sizes[-1] // 1000:,}k"
    per_size = [f"{size // 1000:,}k" for size in sizes]
    lines = [
        f"\n## 5. Growth (the first page of {result['limit']} through the app's handler at "
        + ", ".join(per_size)
        + " customers: the read units DynamoDB reports for every call the app makes, `ReturnConsumedCapacity=TOTAL`, "
        "and the median time; against a full-table Scan)\n",
        "| page | "
        + " | ".join(f"RCU {size}" for size in per_size)
        + " | "
        + " | ".join(f"ms {size}" for size in per_size)
        + f" | returned {'/'.join(per_size)} | candidates read at {largest} | flat within "
        f"{growth.FLAT_WITHIN:.0%} ({largest} vs {per_size[0]}) |",
        "|---|" + "---|" * (2 * len(sizes) + 3),
    ]
    for row in result["rows"]:
        figures = row["sizes"]
        cells = [row["label"], *(f"{f['rcu']:g}" for f in figures), *(f"{f['ms']:.1f}" for f in figures)]
        candidates = "—" if row["label"] == growth.YARDSTICK else str(figures[-1]["candidates"])
        cells += ["/".join(str(f["returned"]) for f in figures), candidates, _flat_verdict(row)]
        lines.append("| " + " | ".join(cells) + " |")
    scans = result["scans"]
    cells = [
        "full Scan (eventually consistent)",
        *(f"{s['rcu']:,g}" for s in scans),
        *(f"{s['ms']:,.0f}" for s in scans),
    ]
    lines.append("| " + " | ".join([*cells, "—", "—", "grows linearly"]) + " |")
    lines.append(
        f"\nEvery page is {result['limit']} customers' BatchGetItem (consistent: 1 RCU per customer of up to 4 KB) "
        "plus a Query of each of the 4 shards of its index (0.5 RCU each); a row whose source cannot answer it "
        "alone checks each candidate, and reads more of them (candidates = customers read back). Loaded: "
        + "; ".join(
            f"{load['customers']:,} customers ({load['search_items']:,} search items added) in {load['seconds']:,.0f} s"
            for load in result["loads"]
        )
        + ", each size in tables of its own. A lifetime-value range on its own is listed in the default order "
        "(newest first): its source is the creation index and the range is checked on each candidate, so it "
        f"reads candidates until the page is full, at most {result['read_budget']}, whatever the table's size. "
        f"Times are medians of {growth.REPETITIONS} requests, sampled in turn: one of each row at each size, "
        "over and over. DynamoDB Local's own calls slow down as its tables grow (it is SQLite underneath; AWS's "
        "latency does not depend on a table's size): the yardstick, one GetItem through the app, shows by how "
        "much; a page's time is flat when its ratio is no worse than the yardstick's. Its Scan slows down per "
        "item too; the Scan's read units (what AWS bills) grow linearly.\n"
    )
    lines.append(
        f"Combinations at {sizes[-1]:,} customers (one source, the rest checked on each candidate; at most "
        f"{result['read_budget']} candidates per page):\n"
    )
    lines.append("| query | RCU | ms | customers returned | candidates read | index items fetched | next_token |")
    lines.append("|---|---|---|---|---|---|---|")
    for combination in result["combinations"]:
        query = "&".join(f"{name}={value}" for name, value in combination["query"].items())
        cells = [f"`{query}`", f"{combination['rcu']:g}", f"{combination['ms']:.1f}", str(combination["returned"])]
        cells += [str(combination["candidates"]), str(combination["index_items"])]
        cells.append("yes" if combination["more"] else "no")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _change(before: dict[str, Any], now: dict[str, Any]) -> str:
    """``"W +38 (2.58x)"``: per kind of unit either side used, the difference and the ratio."""
    parts = []
    for key, letter in (("wcu", "W"), ("rcu", "R")):
        then, after = before[key], now[key]
        if then or after:
            parts.append(f"{letter} {after - then:+g}" + (f" ({after / then:.2f}x)" if then else ""))
    return ", ".join(parts) or "0"


def _capacity_section(result: dict[str, Any]) -> list[str]:
    lines = [
        "\n## 8. Capacity per operation (units DynamoDB Local reports with `ReturnConsumedCapacity=INDEXES`, "
        "W = write, R = read; through the app's handler; floor = the same operation with a customers table of no "
        f"index and no search table; before = commit {result['baseline']}, main before sorting and search, "
        "measured in this run)\n",
        "| operation | now: API | now: consumer's search items | now total | floor | before | now vs before |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        now, search, before = row["now"], row["search"], row["before"]
        total = None
        if now is not None:
            total = {
                "wcu": now["wcu"] + (search or {}).get("wcu", 0.0),
                "rcu": now["rcu"] + (search or {}).get("rcu", 0.0),
            }
        change = ""
        if total is not None and before is not None:
            change = _change(before, total)
        elif row["before_known"] and before is None:
            change = "new"
        searched = "—" if search is None else capacity.units(search)
        cells = [row["operation"], capacity.units(now), searched, capacity.units(total), capacity.units(row["floor"])]
        cells += ["not possible" if row["before_known"] and before is None else capacity.units(before), change]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("\n| operation | now, by table and index | floor, by table | before, by table and index |")
    lines.append("|---|---|---|---|")
    for row in result["rows"]:
        now = capacity.where(row["now"])
        if row["search"] is not None:
            now += f"; consumer: {capacity.where(row['search'])}"
        lines.append(
            f"| {row['operation']} | {now} | {capacity.where(row['floor'])} | {capacity.where(row['before'])} |"
        )
    lines.append(
        "\nA page's floor is one consistent Scan of 25 customers of the index-free table: the least any page of 25 "
        "can read (the app cannot serve a page there). Creates and deletes are transactions (the customer and its "
        "email claim): DynamoDB Local prices a transaction's items its own way (section 7's calibration), AWS "
        "at 2 units per KB per item, so their figures are DynamoDB Local's, priced alike on every side. The "
        "search items are the stream consumer's writes (`DynamoDBSearchIndex.follow` of the write's old and new "
        "images), not the request's: a `last_name` change moves every search item of the customer, since each "
        "is sorted by the name."
    )
    lines.extend(f"\n{note}" for note in result["notes"])
    return lines


def _transfer_section(result: dict[str, Any]) -> list[str]:
    size, large = result["size"], result["large"]

    def verdict(ok: bool) -> str:
        return "✓" if ok else "✗"

    lines = [
        f"\n## 9. Import and export ({size:,} customers through `python -m scripts.transfer`, a subprocess as an "
        "operator runs it, against DynamoDB Local; rows/s beside a raw floor measured in the same run)\n",
        "| | tool rows/s | floor rows/s | ratio | target |",
        "|---|---|---|---|---|",
        f"| import (CSV of new customers, empty tables) | {result['import_rate']:,.0f} | {result['import_floor']:,.0f} "
        f"| {result['import_ratio']:.2f}x | ≥ {transfer.IMPORT_TARGET}x {verdict(result['import_ok'])} |",
        f"| export (CSV) | {result['export_rate']:,.0f} | {result['export_floor']:,.0f} "
        f"| {result['export_ratio']:.2f}x | ≥ {transfer.EXPORT_TARGET}x {verdict(result['export_ok'])} |",
        "",
        "| export | peak RSS KB | rows/s |",
        "|---|---|---|",
        f"| {size:,} customers | {result['memory_small_kb']:,} | {result['export_rate']:,.0f} |",
        f"| {large:,} customers | {result['memory_large_kb']:,} | {result['large_rate']:,.0f} |",
        f"| {large:,} vs {size:,} | {result['memory_ratio']:.2f}x: within {transfer.MEMORY_WITHIN:.0%} "
        f"{verdict(result['memory_ok'])} | |",
        "",
        f"The import's floor is BatchWriteItem of the same customers' items (every index key and search term) and "
        f"their email claims into empty tables, {result['workers']} batches of {transfer.BATCH} at a time, in a "
        f"DynamoDB Local of its own (one slows down as it fills). The import reads {result['chunk_rows']} "
        "rows at a time; each row is validated by the API's schema and upserted by its email, new customers 40 to "
        "a conditional transaction (each customer and its claim), which is what keeps addresses unique. The "
        "export's floor is its own Scan request (the same "
        f"{result['segments']} segments, live customers' fields only), items counted and dropped; a Scan of whole "
        f"items runs at {result['whole_scan']:,.0f} rows/s. Export rates are medians of {transfer.EXPORT_RUNS} runs "
        "taken in turn with the floor's; rates are the tool's own (its summary line: first row to last, without "
        "Python's start-up). Peak RSS is the export process's VmHWM (its high-water mark, read while it runs); "
        f"the {large:,} customers were "
        f"loaded with batch writes ({result['exported_large']:,} exported).",
    ]
    return lines


def main() -> int:
    began = time.perf_counter()
    # In a process of its own (the stub replaces the client there), first: a failure shows before the long parts.
    in_process_rows, profile = in_process.run_fresh()
    with DynamoDBLocal(port=free_port()) as dynamodb:
        e2e_rows = end_to_end.run(dynamodb.endpoint)
        start = cold_start.run(dynamodb.endpoint, end_to_end.existing_customer(dynamodb.endpoint))
        costs = write_cost.run(dynamodb.endpoint)
        capacities = capacity.run(dynamodb.endpoint)
    lag = stream_lag.run()  # the whole local stack, with a DynamoDB Local of its own
    transfers = transfer.run()  # import and export, with a DynamoDB Local of its own
    growth_began = time.perf_counter()
    growth_result = growth.run()  # 100,000 customers in a DynamoDB Local of its own
    ended = time.perf_counter()
    lines = [
        f"# Benchmark results\n\nRun {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {_machine()}; it took "
        f"{(ended - began) / 60:.0f} min, {(ended - growth_began) / 60:.0f} of them for the growth section.\n"
    ]
    lines.append("## 1. In-process overhead (DynamoDB answered by an in-memory stub)\n")
    lines.append("| operation | app p50 µs | raw p50 µs | overhead p50 µs | target | app p99 µs | raw p99 µs |")
    lines.append("|---|---|---|---|---|---|---|")
    for row in in_process_rows:
        target = IN_PROCESS_TARGETS_US.get(row["operation"])
        verdict = "" if target is None else (f"≤ {target} ✓" if row["overhead_p50_us"] <= target else f"≤ {target} ✗")
        cells = [row["operation"], *(f"{row[key]:.0f}" for key in ("app_p50_us", "raw_p50_us", "overhead_p50_us"))]
        cells += [verdict, f"{row['app_p99_us']:.0f}", f"{row['raw_p99_us']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("\n## 2. End to end against DynamoDB Local (the app's handler vs the same calls made raw)\n")
    lines.append("| operation | app p50 ms | floor p50 ms | ratio p50 | target | app p99 ms | floor p99 ms |")
    lines.append("|---|---|---|---|---|---|---|")
    for row in e2e_rows:
        ratio_target = E2E_TARGETS.get(row["operation"])
        verdict = (
            "" if ratio_target is None else f"≤ {ratio_target}x " + ("✓" if row["ratio_p50"] <= ratio_target else "✗")
        )
        lines.append(
            f"| {row['operation']} | {row['app_p50_ms']:.2f} | {row['floor_p50_ms']:.2f} | {row['ratio_p50']:.2f}x | "
            f"{verdict} | {row['app_p99_ms']:.2f} | {row['floor_p99_ms']:.2f} |"
        )
    lines.append(
        "\n## 3. Cold start (a fresh process imports the handler and answers its first GET of a customer, "
        "against the same DynamoDB Local; median of 21, alternating)\n"
    )
    lines.append("| app ms | raw boto3 handler ms | ratio | target |\n|---|---|---|---|")
    verdict = "✓" if start["ratio"] <= COLD_START_TARGET else "✗"
    lines.append(
        f"| {start['app_ms']:.0f} | {start['raw_ms']:.0f} | {start['ratio']:.2f}x | ≤ {COLD_START_TARGET}x {verdict} |"
    )
    lines.append(
        "\nHeaviest imports of the app's cold start (`-X importtime`, cumulative ms; boto3 is paid by both):\n"
    )
    lines.append("| module | ms |\n|---|---|")
    lines.extend(f"| `{module}` | {ms:.1f} |" for module, ms in start["imports"])
    lines.append("\n## 4. Package size\n\n| stage | deployment.zip bytes | target |\n|---|---|---|")
    for stage, size in package_size.run().items():
        lines.append(f"| {stage} | {size:,} | < 2,000,000 {'✓' if size < 2_000_000 else '✗'} |")
    lines.extend(_growth_section(growth_result))
    lines.extend(_stream_lag_section(lag))
    lines.extend(_write_cost_section(costs))
    lines.extend(_capacity_section(capacities))
    lines.extend(_transfer_section(transfers))

    lines.append("\n## Where the in-process time of a GET goes\n\n```\n" + profile.strip() + "\n```\n")
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
