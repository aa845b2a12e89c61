"""`make bench`: every measurement in one run, one table, written to bench/results.md.

Absolute times vary between machines; the ratios to the baseline measured in the
same run are the figures to compare.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import cold_start, end_to_end, growth, in_process, package_size, stream_lag, write_cost
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
        "\n## 6. Stream lag (from a write's response to its entry in `GET /customers/{id}/history`, over HTTP "
        f"against the whole local stack: DynamoDB Local, `chalice local`, the stream poller; read every "
        f"{lag['poll_ms']:.0f} ms)\n",
        "| writes | count | p50 ms | p99 ms | max ms | target |",
        "|---|---|---|---|---|---|",
    ]
    for row in [*lag["rows"], lag["overall"]]:
        target = ""
        if row is lag["overall"]:
            target = f"p99 ≤ {stream_lag.PROMISE_MS:,.0f} " + ("✓" if lag["within_promise"] else "✗")
        cells = [row["kind"], str(row["writes"]), _ms(row["p50_ms"]), _ms(row["p99_ms"]), _ms(row["max_ms"]), target]
        lines.append("| " + " | ".join(cells) + " |")
    missing = lag["overall"]["missing"]
    stopped = "were closed" if lag["ports_closed"] else "were NOT all closed"
    lines.append(
        f"\n{missing} of {lag['overall']['writes']} writes never showed within {stream_lag.GIVE_UP_SECONDS:.0f} s; "
        f"the stack's ports {stopped} once it stopped."
    )
    return lines


def _write_cost_section(costs: dict[str, Any]) -> list[str]:
    lines = [
        "\n## 7. Write cost (consumed write capacity per write as DynamoDB Local reports it, every table and index; "
        f"before = commit {costs['baseline']}, measured in this run)\n",
        "| operation | WCU before | WCU API now | WCU consumer now (entry + published mark) | total now "
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
    lines.append("| operation | API now, by table | consumer's entry, by table |\n|---|---|---|")
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


def main() -> int:
    # Against DynamoDB Local first: the in-process part replaces the client with its stub for the rest of the run.
    with DynamoDBLocal(port=free_port()) as dynamodb:
        e2e_rows = end_to_end.run(dynamodb.endpoint)
        start = cold_start.run(dynamodb.endpoint, end_to_end.existing_customer(dynamodb.endpoint))
        costs = write_cost.run(dynamodb.endpoint)
    lag = stream_lag.run()  # the whole local stack, with a DynamoDB Local of its own
    growth_rows = growth.run()
    in_process_rows, profile = in_process.run_fresh()
    lines = [f"# Benchmark results\n\nRun {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {_machine()}.\n"]
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
    lines.append("\n## 5. Growth (first page of 25, through the app, against a full-table Scan)\n")
    lines.append(
        "| customers | page ms | page RCU | filtered page ms | filtered page RCU | full Scan ms | full Scan RCU |"
    )
    lines.append("|---|---|---|---|---|---|---|")
    for row in growth_rows:
        lines.append(
            f"| {row['customers']:,} | {row['page_ms']:.2f} | {row['page_rcu']:g} | {row['filtered_ms']:.2f} | "
            f"{row['filtered_rcu']:g} | {row['scan_ms']:,.0f} | {row['scan_rcu']:,g} |"
        )
    lines.extend(_stream_lag_section(lag))
    lines.extend(_write_cost_section(costs))

    lines.append("\n## Where the in-process time of a GET goes\n\n```\n" + profile.strip() + "\n```\n")
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
