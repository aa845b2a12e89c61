"""`python -m scripts.transfer import|export` run as an operator runs it, against DynamoDB Local.

Each test has tables of its own (the ``api`` fixture), which the command reaches the
way `make import` does on the local stage: DYNAMODB_ENDPOINT_URL and the table-name
variables come from the environment. Customers are made and read back through the
API, so the test sees only what a user could.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chalicelib.customers.model import RESPONSE_FIELDS, WRITABLE_FIELDS
from scripts.paths import ROOT
from tests.support import Api, all_customers, body, create

SAMPLE = ROOT / "docs" / "sample-customers.csv"
COMPARED = ("customer_id", *WRITABLE_FIELDS, "phone_number_e164")  # what an import sets (the rest is the server's)


def transfer(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The command, with this test's tables (in the environment) on the local stage; stderr not a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "scripts.transfer", *map(str, args)],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def summary(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr
    return lines[-1]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def by_email(api: Api) -> dict[str, dict[str, Any]]:
    return {customer["email_address"]: customer for customer in all_customers(api)}


def compared(customer: dict[str, Any]) -> dict[str, Any]:
    return {name: customer[name] for name in COMPARED if name in customer}


# ---------------------------------------------------------------------------------------------- export


def test_export_writes_every_live_customer_as_csv_in_the_api_field_order(api: Api, tmp_path: Path) -> None:
    full = create(
        api,
        phone_number="555-0123",
        preferred_communication_channels=["email", "phone"],
        lifetime_value=1500.5,
        state="OR",
        city="Portland",
    )
    bare = create(api)
    target = tmp_path / "customers.csv"

    result = transfer("export", target, "--stage", "local")

    assert result.returncode == 0, result.stderr
    assert summary(result).startswith(f"Exported 2 customers to {target} (csv)")
    header, *rows = read_csv(target)
    assert header == list(RESPONSE_FIELDS)
    exported = {row[header.index("customer_id")]: dict(zip(header, row, strict=True)) for row in rows}
    assert set(exported) == {full["customer_id"], bare["customer_id"]}
    row = exported[full["customer_id"]]
    assert row["lifetime_value"] == "1500.50"
    assert row["preferred_communication_channels"] == "email|phone"
    assert row["version"] == "1"
    assert row["created_at"] == full["created_at"]
    assert exported[bare["customer_id"]]["phone_number"] == ""  # absent: an empty cell
    assert exported[bare["customer_id"]]["preferred_communication_channels"] == ""
    assert [path.name for path in tmp_path.iterdir()] == ["customers.csv"]  # no partial file left


def test_export_as_json_lines_writes_the_api_representation_of_each_customer(api: Api, tmp_path: Path) -> None:
    created = create(api, lifetime_value=19.99, preferred_communication_channels=["text"])
    target = tmp_path / "customers.jsonl"

    result = transfer("export", target)

    assert result.returncode == 0, result.stderr
    lines = target.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line, parse_float=Decimal) for line in lines] == [
        body(api.get(f"/customers/{created['customer_id']}"))
    ]


def test_export_skips_deleted_and_erased_customers(api: Api, tmp_path: Path) -> None:
    kept = create(api)
    deleted = create(api)
    erased = create(api)
    assert api.delete(f"/customers/{deleted['customer_id']}").status_code == 204
    assert api.post(f"/customers/{erased['customer_id']}/erasure").status_code == 200
    target = tmp_path / "out.csv"

    result = transfer("export", target)

    assert result.returncode == 0, result.stderr
    header, *rows = read_csv(target)
    assert [row[0] for row in rows] == [kept["customer_id"]]


def test_export_format_comes_from_the_option_over_the_extension(api: Api, tmp_path: Path) -> None:
    create(api)
    target = tmp_path / "dump.txt"

    refused = transfer("export", target)
    result = transfer("export", target, "--format", "jsonl")

    assert refused.returncode == 2
    assert "--format" in refused.stderr
    assert result.returncode == 0, result.stderr
    assert json.loads(target.read_text().splitlines()[0])["first_name"] == "John"


def test_export_says_in_one_line_when_dynamodb_local_is_not_running(tmp_path: Path) -> None:
    from scripts.local.ports import free_port

    environment = {**os.environ, "DYNAMODB_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    result = subprocess.run(
        [sys.executable, "-m", "scripts.transfer", "export", str(tmp_path / "x.csv")],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: DynamoDB Local is not running on {environment['DYNAMODB_ENDPOINT_URL']}: start it with `make run`."
    ]
    assert not (tmp_path / "x.csv").exists()
