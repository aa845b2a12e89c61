"""Write cost: the write capacity (WCU) each kind of write consumes, now and before the change history.

The change history made every write cost more than its API call: the stream consumer
writes one history entry per change (its feed index too) and, on a stage with an event
bus, marks it published. So the figure that matters is the total per write, beside what
the same API call consumed before. Both sides are measured, not worked out:
bench/write_probe.py asks DynamoDB Local for the consumed capacity of every call, once in
this tree (the consumer run in-process after each write, fed by the local stream poller)
and once in an extracted copy of the commit before the change (``BASELINE``), each
through its own app and tables, against the one DynamoDB Local of the bench run.

DynamoDB Local prices transactions its own way (see :func:`calibrate`): the run measures
that too, so a reader can tell its quirks from the app's.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from scripts.local.dynamodb_local import local_aws_environment
from scripts.paths import ROOT

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

BASELINE = "5620bce"  # main before issue 10 (change history, soft delete, stream consumer)
PROBE = Path(__file__).resolve().with_name("write_probe.py")
OPERATIONS = ("create", "update", "update email", "delete", "restore")
PROBE_TIMEOUT_SECONDS = 300
CALIBRATION_TABLE = "wcu-calibration"


class Unavailable(Exception):
    """An older commit could not be measured; the message says why, in one line."""


@contextlib.contextmanager
def extracted(commit: str, measuring: Iterable[Path]) -> Iterator[Path]:
    """``commit``'s tree in a scratch directory, this tree's ``measuring`` files copied into its bench/.

    The same measuring code then runs on both sides. Raises :class:`Unavailable` when the
    commit is not in this clone (shallow?) or cannot be extracted.
    """
    found = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True, check=False
    )
    if found.returncode != 0:
        raise Unavailable(f"Baseline commit {commit} is not in this clone (shallow?): the before column is skipped.")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=False)
    if archive.returncode != 0:
        raise Unavailable(
            f"`git archive {commit}` failed ({archive.stderr.decode(errors='replace').strip()}): skipped."
        )
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as scratch:
        tree = Path(scratch)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tree, filter="data")
        for path in measuring:
            shutil.copy(path, tree / "bench" / path.name)
        yield tree


def run_probe(tree: Path, module: str, arguments: list[str], what: str = "write probe") -> dict[str, Any]:
    """``python -m <module> <arguments> --out FILE`` run from ``tree``'s root, so ``tree``'s app is the one imported."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    with tempfile.TemporaryDirectory(prefix="bench-probe-") as scratch:
        out = Path(scratch) / "result.json"
        command = [sys.executable, "-m", module, *arguments, "--out", str(out)]
        result = subprocess.run(
            command, cwd=tree, env=environment, capture_output=True, text=True, timeout=PROBE_TIMEOUT_SECONDS
        )
        if result.returncode != 0:
            tail = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise RuntimeError(f"{what} in {tree} failed: {tail}")
        document: dict[str, Any] = json.loads(out.read_text())
    if Path(document["tree"]).resolve() != tree.resolve():  # the tree's own app, not this checkout's
        raise RuntimeError(f"{what} in {tree} imported the app of {document['tree']}")
    return document


def _probe(tree: Path, endpoint: str, prefix: str, *, consumer: bool) -> dict[str, Any]:
    """bench/write_probe.py run from ``tree``'s root."""
    arguments = ["--endpoint", endpoint, "--prefix", prefix, *(["--consumer"] if consumer else [])]
    return run_probe(tree, "bench.write_probe", arguments)


def _baseline(endpoint: str) -> tuple[dict[str, Any] | None, str | None]:
    """The API's cost at ``BASELINE``, or None and the one-line reason it could not be measured."""
    try:
        with extracted(BASELINE, [PROBE]) as tree:
            return _probe(tree, endpoint, "wcu-before", consumer=False), None
    except Unavailable as unavailable:
        return None, str(unavailable)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        return None, f"The baseline ({BASELINE}) could not be measured: {error}"


def calibrate(endpoint: str) -> dict[str, float]:
    """What DynamoDB Local reports for a small item written alone and in transactions of one, two and three.

    AWS prices these at 1, 2, 4 and 6 WCU (a transactional write costs two units per KB per item);
    DynamoDB Local 1.25.1 was seen to answer 1, 4, 4 and 4, so its transactions' figures are
    its own: comparable before and now, not a bill.
    """
    local = local_aws_environment(endpoint)  # dummy keys: a developer's real ones are never sent
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=local["AWS_DEFAULT_REGION"],
        aws_access_key_id=local["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=local["AWS_SECRET_ACCESS_KEY"],
    )
    if CALIBRATION_TABLE not in client.list_tables()["TableNames"]:
        client.create_table(
            TableName=CALIBRATION_TABLE,
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

    def put(key: str) -> TransactWriteItemTypeDef:
        return {"Put": {"TableName": CALIBRATION_TABLE, "Item": {"k": {"S": key}}}}

    single = client.put_item(TableName=CALIBRATION_TABLE, Item={"k": {"S": "single"}}, ReturnConsumedCapacity="TOTAL")
    found = {"put": float(single["ConsumedCapacity"]["CapacityUnits"])}
    for size in (1, 2, 3):
        items = [put(f"transaction-{size}-{number}") for number in range(size)]
        answer = client.transact_write_items(TransactItems=items, ReturnConsumedCapacity="TOTAL")
        found[f"transaction_of_{size}"] = sum(float(entry["CapacityUnits"]) for entry in answer["ConsumedCapacity"])
    return found


def _phase(operation: dict[str, Any] | None, phase: str) -> dict[str, Any] | None:
    return None if operation is None else operation.get(phase)


def run(endpoint: str) -> dict[str, Any]:
    """Against the DynamoDB Local at ``endpoint``: one row per kind of write, and notes on how to read them."""
    now = _probe(ROOT, endpoint, "wcu-now", consumer=True)["operations"]
    before_document, note = _baseline(endpoint)
    before = {} if before_document is None else before_document["operations"]
    rows = []
    for name in OPERATIONS:
        operation = now.get(name)
        if operation is None:
            continue
        api, entry, mark = (_phase(operation, phase) for phase in ("api", "consumer", "publish"))
        then = _phase(before.get(name), "api")
        spread = [p for p in (api, entry, mark, then) if p is not None and p["wcu_min"] != p["wcu_max"]]
        rows.append(
            {
                "operation": name,
                "before_wcu": None if then is None else then["wcu"],
                "api_wcu": api["wcu"] if api else 0.0,
                "entry_wcu": entry["wcu"] if entry else 0.0,
                "mark_wcu": mark["wcu"] if mark else 0.0,
                "api_where": api["where"] if api else {},
                "consumer_where": entry["where"] if entry else {},
                "varied": bool(spread),
            }
        )
    for row in rows:
        row["consumer_wcu"] = row["entry_wcu"] + row["mark_wcu"]
        row["total_wcu"] = row["api_wcu"] + row["consumer_wcu"]
    notes = [] if note is None else [note]
    if before_document is not None and "restore" not in before:
        notes.append(f"Restore did not exist at {BASELINE} (DELETE was a hard delete then): no before figure.")
    return {"rows": rows, "notes": notes, "calibration": calibrate(endpoint), "baseline": BASELINE}


def where(units: dict[str, float]) -> str:
    """Per table, its own units and its indexes' together: "customers 4, its 4 indexes 20; customer-emails 4"."""
    tables: dict[str, list[float]] = {}
    indexes: dict[str, list[float]] = {}
    for name, share in units.items():
        table, _, index = name.partition("/")
        (indexes if index else tables).setdefault(table, []).append(share)
    shown = []
    for table in sorted(set(tables) | set(indexes), key=lambda name: (name not in indexes, name)):
        text = f"{table.removeprefix('wcu-now-')} {sum(tables.get(table, [])):g}"
        if table in indexes:
            count = len(indexes[table])
            text += f", its {count} {'index' if count == 1 else 'indexes'} {sum(indexes[table]):g}"
        shown.append(text)
    return "; ".join(shown)


if __name__ == "__main__":
    from scripts.local.dynamodb_local import DynamoDBLocal
    from scripts.local.ports import free_port

    with DynamoDBLocal(port=free_port()) as dynamodb:
        print(json.dumps(run(dynamodb.endpoint), indent=2))
