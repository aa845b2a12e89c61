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
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chalicelib.customers.model import RESPONSE_FIELDS, WRITABLE_FIELDS
from scripts.paths import ROOT
from tests.support import Api, all_customers, body, create

SAMPLE = ROOT / "docs" / "sample-customers.csv"
CHANNELS = "preferred_communication_channels"
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
    _, *rows = read_csv(target)
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


# ---------------------------------------------------------------------------------------------- import


def sample_copy(tmp_path: Path) -> Path:
    """The checked-in sample, copied: its errors file (if any) must not land in the repository."""
    copy = tmp_path / "sample-customers.csv"
    copy.write_bytes(SAMPLE.read_bytes())
    return copy


def test_import_of_the_sample_creates_its_customers_and_a_rerun_changes_nothing(api: Api, tmp_path: Path) -> None:
    source = sample_copy(tmp_path)
    rows = read_csv(source)[1:]

    first = transfer("import", source)
    again = transfer("import", source)

    assert first.returncode == 0, first.stdout + first.stderr
    assert summary(first).endswith(f"{len(rows)} created, 0 updated, 0 unchanged, 0 failed.")
    assert again.returncode == 0, again.stdout + again.stderr
    assert summary(again).endswith(f"0 created, 0 updated, {len(rows)} unchanged, 0 failed.")
    stored = by_email(api)
    assert len(stored) == len(rows)  # no duplicates
    assert all(customer["version"] == 1 for customer in stored.values())  # the rerun wrote nothing
    ada = stored["ada.lovelace@example.org"]
    assert ada["lifetime_value"] == Decimal("1500")
    assert ada["preferred_communication_channels"] == ["email", "phone"]
    assert ada["customer_acquisition_date"] == "2023-03-14T09:30:00.000000Z"
    assert "state" not in ada  # an empty cell: absent
    assert stored["alan.turing@example.org"]["preferred_communication_channels"] == []  # absent: the default
    assert not (tmp_path / "sample-customers.csv.errors.csv").exists()


def test_a_row_updates_the_customer_holding_its_email_and_keeps_what_it_leaves_empty(api: Api, tmp_path: Path) -> None:
    existing = create(api, email_address="Kim.Lee@Example.com", phone_number="555-0100", city="Salem")
    source = write_csv(
        tmp_path / "update.csv", ["email_address", "first_name", "city"], [["kim.lee@example.com", "Kimberly", ""]]
    )

    result = transfer("import", source)

    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result).endswith("0 created, 1 updated, 0 unchanged, 0 failed.")
    updated = body(api.get(f"/customers/{existing['customer_id']}"))
    assert updated["first_name"] == "Kimberly"
    assert updated["city"] == "Salem"
    assert updated["phone_number"] == "555-0100"
    assert updated["version"] == 2


def test_bad_rows_go_to_the_errors_file_and_the_good_ones_still_import(api: Api, tmp_path: Path) -> None:
    holder = create(api, email_address="taken@example.com")
    header = ["customer_id", "first_name", "last_name", "email_address", "lifetime_value", CHANNELS]
    source = write_csv(
        tmp_path / "mixed.csv",
        header,
        [
            ["", "Good", "One", "good.one@example.com", "10.50", "email"],
            ["", "Bad", "Two", "not-an-email", "12.345", "email|fax"],
            ["", "", "Nameless", "nameless@example.com", "", ""],  # nobody holds it: a create, which needs a name
            ["", "Good", "Three", "good.three@example.com", "", ""],
            ["0b5c7e64-5d1b-4d43-9f5e-2f0c1d0a9b11", "Other", "Person", "taken@example.com", "", ""],
            ["not-a-uuid", "Bad", "Id", "bad.id@example.com", "", ""],
            ["", "Short", "Row"],
        ],
    )

    result = transfer("import", source)

    assert result.returncode == 1
    assert summary(result).endswith(
        f"2 created, 0 updated, 0 unchanged, 5 failed; the failed rows and why are in {source}.errors.csv."
    )
    taken = f"Another customer already uses this email address. (customer {holder['customer_id']})"
    assert read_csv(tmp_path / "mixed.csv.errors.csv") == [
        ["row", "field", "message"],
        ["2", "email_address", "An email address must have an @-sign."],
        ["2", f"{CHANNELS}.1", "Must be one of: email, text, phone."],
        ["2", "lifetime_value", "Must have at most 2 decimal places."],
        ["3", "first_name", "Missing data for required field."],
        ["5", "email_address", taken],
        ["6", "customer_id", "Not a valid UUID."],
        ["7", "", "The line has 3 cells; the header has 6."],
    ]
    assert set(by_email(api)) == {"taken@example.com", "good.one@example.com", "good.three@example.com"}


def test_a_rerun_without_failures_removes_the_stale_errors_file(api: Api, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "fix.csv", ["first_name", "last_name", "email_address"], [["A", "B", "nope"]])
    assert transfer("import", source).returncode == 1
    assert (tmp_path / "fix.csv.errors.csv").exists()
    write_csv(source, ["first_name", "last_name", "email_address"], [["A", "B", "fixed@example.com"]])

    result = transfer("import", source)

    assert result.returncode == 0, result.stdout
    assert not (tmp_path / "fix.csv.errors.csv").exists()


def test_json_lines_import_takes_api_bodies_and_null_removes_a_field(api: Api, tmp_path: Path) -> None:
    existing = create(api, email_address="jl.existing@example.com", phone_number="555-0101")
    lines = [
        json.dumps(
            {
                "first_name": "Jo",
                "last_name": "Line",
                "email_address": "jo.line@example.com",
                "lifetime_value": 19.99,
                "preferred_communication_channels": ["text"],
            }
        ),
        "",
        json.dumps({"email_address": "jl.existing@example.com", "phone_number": None}),
        "[1, 2]",
        '{"first_name": "Broken", ',
        json.dumps({"first_name": "No", "last_name": "Mail"}),
    ]
    source = tmp_path / "people.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = transfer("import", source)

    assert result.returncode == 1
    assert summary(result).startswith(f"Imported {source}: 5 rows")
    assert "1 created, 1 updated, 0 unchanged, 3 failed" in summary(result)
    errors = read_csv(tmp_path / "people.jsonl.errors.csv")
    assert [row[:2] for row in errors] == [["row", "field"], ["4", ""], ["5", ""], ["6", "email_address"]]
    assert errors[1][2] == "The line must be a JSON object."
    assert errors[2][2].startswith("Not valid JSON: ")
    created = by_email(api)["jo.line@example.com"]
    assert created["lifetime_value"] == Decimal("19.99")
    assert created["preferred_communication_channels"] == ["text"]
    updated = body(api.get(f"/customers/{existing['customer_id']}"))
    assert "phone_number" not in updated
    assert "phone_number_e164" not in updated


@pytest.mark.parametrize("fate", ["erased", "deleted"])
def test_a_row_naming_an_erased_or_deleted_customer_is_refused(api: Api, tmp_path: Path, fate: str) -> None:
    gone = create(api, email_address=f"{fate}.person@example.com")
    if fate == "erased":
        assert api.post(f"/customers/{gone['customer_id']}/erasure").status_code == 200
    else:
        assert api.delete(f"/customers/{gone['customer_id']}").status_code == 204
    source = write_csv(
        tmp_path / "old-export.csv",
        ["customer_id", "first_name", "last_name", "email_address"],
        [[gone["customer_id"], "Back", "Again", f"{fate}.person@example.com"]],
    )

    result = transfer("import", source)

    assert result.returncode == 1
    assert "0 created, 0 updated, 0 unchanged, 1 failed" in summary(result)
    (_, (row, field, message)) = read_csv(tmp_path / "old-export.csv.errors.csv")
    assert (row, field) == ("1", "customer_id")
    if fate == "erased":
        assert message == "The customer was erased; its data no longer exists."
    else:
        assert message.startswith("The customer with this id was deleted; restore it before importing it again.")
    assert all_customers(api) == []


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_export_then_import_into_empty_tables_reproduces_every_customer_ids_and_all(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file_format: str
) -> None:
    from tests.support import api_on, stage_environment_for

    create(
        api,
        first_name="Zoë",
        last_name="Ölmez-Brontë",
        date_of_birth="1990-02-03",
        address="1 Rue de l'Église, Bât. 2",
        city="Lyon",
        state="Rhône",
        postal_code="69001",
        phone_number="+33 4 78 00 00 00",
        customer_acquisition_date="2020-05-06T07:08:09Z",
        preferred_communication_channels=["text", "email", "phone"],
        is_loyalty_member="y",
        customer_status="canceled",
        lifetime_value=999999999999.99,
    )
    create(api, lifetime_value=0.1, phone_number="555-0123")
    create(api)
    original = {customer["customer_id"]: customer for customer in all_customers(api)}
    exported = tmp_path / f"all.{file_format}"
    assert transfer("export", exported).returncode == 0

    with api_on(monkeypatch, stage_environment_for(f"copy{file_format}")) as copy:
        result = transfer("import", exported)
        copied = {customer["customer_id"]: customer for customer in all_customers(copy)}

    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result).endswith("3 created, 0 updated, 0 unchanged, 0 failed.")
    if file_format == "csv":
        assert result.stdout.splitlines()[0] == (
            "Ignored the server-owned columns phone_number_e164, created_at, created_by, updated_at, updated_by, "
            "version: the server sets them on every write."
        )
    assert {key: compared(value) for key, value in copied.items()} == {
        key: compared(value) for key, value in original.items()
    }


def test_without_a_terminal_progress_is_a_line_every_interval_and_a_summary(api: Api, tmp_path: Path) -> None:
    header = ["first_name", "last_name", "email_address"]
    source = write_csv(tmp_path / "many.csv", header, [["P", str(n), f"p{n}@example.com"] for n in range(250)])

    result = transfer("import", source, "--progress-interval", "0")

    assert result.returncode == 0, result.stderr
    progress = [line for line in result.stderr.splitlines() if line.startswith("import: ")]
    assert [line.split(" rows")[0] for line in progress] == [
        "import: 100 of 250",
        "import: 200 of 250",
        "import: 250 of 250",
    ]
    assert progress[0].startswith("import: 100 of 250 rows (40%), ")
    assert " rows/s" in progress[0]
    assert " s left" in progress[0]
    assert summary(result).startswith(f"Imported {source}: 250 rows in ")
    assert summary(result).endswith(" rows/s: 250 created, 0 updated, 0 unchanged, 0 failed.")


def test_an_unknown_column_stops_the_import_before_anything_is_written(api: Api, tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "crm.csv",
        ["first_name", "last_name", "email_address", "nickname"],
        [["Ann", "Bee", "ann.bee@example.com", "AB"]],
    )

    result = transfer("import", source)

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: crm.csv has unknown column 'nickname'; the columns are the API's field names: "
        f"{', '.join(RESPONSE_FIELDS)}. Nothing was imported."
    ]
    assert all_customers(api) == []
    assert not (tmp_path / "crm.csv.errors.csv").exists()


def test_ctrl_c_stops_cleanly_says_how_far_it_got_and_a_rerun_finishes(api: Api, tmp_path: Path) -> None:
    rows = 600
    header = ["first_name", "last_name", "email_address"]
    source = write_csv(tmp_path / "big.csv", header, [["C", str(n), f"c{n}@example.com"] for n in range(rows)])
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.transfer", "import", str(source), "--progress-interval", "0"],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    first_line = process.stderr.readline()  # the first chunk is written
    assert first_line.startswith("import: 100 of 600 rows"), first_line
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stdout + stderr
    (interrupted,) = [line for line in stdout.splitlines() if line.startswith("Interrupted: ")]
    done = int(interrupted.split()[1].replace(",", ""))
    assert 100 <= done < rows
    assert interrupted.startswith(f"Interrupted: {done:,} of 600 rows of {source} done ({done:,} created, ")
    assert interrupted.endswith("Run the same command again to finish: rows already imported count as unchanged.")
    assert len(all_customers(api)) == done  # every row counted was written, and only those

    rerun = transfer("import", source)

    assert rerun.returncode == 0, rerun.stdout
    assert summary(rerun).endswith(f"{rows - done:,} created, 0 updated, {done:,} unchanged, 0 failed.")
    assert len(all_customers(api)) == rows
