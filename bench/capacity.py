"""Capacity per operation: read and write units per table and per index, now, on the floor, and before.

Every operation runs through the app's handler (bench/capacity_probe.py, which asks
DynamoDB for ``ReturnConsumedCapacity="INDEXES"`` on every call) three ways, each
against the one DynamoDB Local of the bench run, with tables of its own:

* now: this tree, its customers table with its eight keys-only indexes, plus what the
  stream consumer writes to the search table for each write
  (``DynamoDBSearchIndex.follow`` of the write's old and new images);
* floor: this tree again, its customers table recreated without any index (and no
  search table to keep): what the same write costs the table alone; a page's floor is
  one consistent Scan of 25 customers, the least a page of 25 can read;
* before: an extracted copy of ``BASELINE`` (main before sorting and search: four
  indexes, lists by Scan), the same probe copied in; what it could not do is shown as such.

DynamoDB Local prices some things its own way, transactions above all (bench/write_cost.py
measures it): all three sides are priced alike, so compare them with each other, not with a bill.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from bench.write_cost import Unavailable, extracted, run_probe
from scripts.paths import ROOT

BASELINE = "80e7c4e"  # main before issue 11 (sorted lists, ranges, combined criteria, search)
HERE = Path(__file__).resolve().parent
MEASURING = (HERE / "capacity_probe.py", HERE / "metering.py")
MODULE = "bench.capacity_probe"


def _probe(tree: Path, endpoint: str, prefix: str, *, floor: bool = False) -> dict[str, Any]:
    arguments = ["--endpoint", endpoint, "--prefix", prefix, *(["--floor"] if floor else [])]
    document = run_probe(tree, MODULE, arguments, "capacity probe")
    operations: dict[str, Any] = document["operations"]
    return operations


def _before(endpoint: str) -> tuple[dict[str, Any], str | None]:
    try:
        with extracted(BASELINE, MEASURING) as tree:
            return _probe(tree, endpoint, "cap-before"), None
    except Unavailable as unavailable:
        return {}, str(unavailable)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        return {}, f"The baseline ({BASELINE}) could not be measured: {error}"


def _phase(operations: dict[str, Any], name: str, phase: str = "api") -> dict[str, Any] | None:
    found: dict[str, Any] | None = (operations.get(name) or {}).get(phase)
    return found


def run(endpoint: str) -> dict[str, Any]:
    """One row per operation: now (API, and the consumer's search writes), floor and before."""
    from bench.capacity_probe import READS, WRITES

    now = _probe(ROOT, endpoint, "cap-now")
    floor = _probe(ROOT, endpoint, "cap-floor", floor=True)
    before, note = _before(endpoint)
    rows = []
    for name in (*WRITES, *READS):
        rows.append(
            {
                "operation": name,
                "now": _phase(now, name),
                "search": _phase(now, name, "search"),
                "floor": _phase(floor, name),
                "before": _phase(before, name) if before else None,
                "before_known": bool(before) and name in before,
            }
        )
    return {"rows": rows, "baseline": BASELINE, "notes": [] if note is None else [note]}


def units(phase: dict[str, Any] | None) -> str:
    """``"W 24 / R 1"``: the write and read units of one phase (— when it was not measured)."""
    if phase is None:
        return "—"
    parts = [f"W {phase['wcu']:g}" if phase["wcu"] else "", f"R {phase['rcu']:g}" if phase["rcu"] else ""]
    text = " / ".join(part for part in parts if part) or "0"
    return text + (" (varied)" if phase.get("varied") else "")


def where(phase: dict[str, Any] | None) -> str:
    """Per table, then its indexes grouped by their units: "customers W 4; 8 indexes W 4 each"."""
    if phase is None:
        return "—"
    shown = []
    for kind, letter in (("w", "W"), ("r", "R")):
        tables: dict[str, float] = {}
        indexes: dict[str, dict[float, list[str]]] = {}
        for name, share in sorted(phase["where"][kind].items()):
            table, _, index = name.partition("/")
            table = _short(table)
            if index:
                indexes.setdefault(table, {}).setdefault(share, []).append(index)
            else:
                tables[table] = tables.get(table, 0.0) + share
        for table in sorted(set(tables) | set(indexes)):
            text = f"{table} {letter} {tables.get(table, 0.0):g}"
            for share, names in sorted(indexes.get(table, {}).items(), reverse=True):
                if share:
                    text += f", {'/'.join(names)} {letter} {share:g}" + (" each" if len(names) > 1 else "")
            shown.append(text)
    return "; ".join(shown) or "nothing"


def _short(table: str) -> str:
    for prefix in ("cap-now-", "cap-floor-", "cap-before-"):
        table = table.removeprefix(prefix)
    return table


if __name__ == "__main__":
    from scripts.local.dynamodb_local import DynamoDBLocal
    from scripts.local.ports import free_port

    with DynamoDBLocal(port=free_port()) as dynamodb:
        print(json.dumps(run(dynamodb.endpoint), indent=2))
