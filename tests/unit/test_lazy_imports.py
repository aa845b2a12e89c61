"""Reads never load the email and phone libraries; writes do.

A cold start pays for every module imported before its first answer, and a GET by id
or a plain list has no use for email-validator or phonenumbers. Checked in a fresh
interpreter (this one has imported everything long ago), over moto.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support import stage_environment_for

ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = ("email_validator", "phonenumbers")

_SCRIPT = """
import json, sys
from moto import mock_aws

def loaded():
    return sorted(name for name in {libraries!r} if name in sys.modules)

report = {{"before": loaded()}}
with mock_aws():
    from chalice.test import Client
    from app import app
    from chalicelib import wiring
    from chalicelib.config import get_settings

    wiring.create_missing_tables()
    settings = get_settings()
    customer_id = "3f0c2a52-8a0e-4c1e-9a8e-2b6f1c0d4a01"
    wiring.dynamodb_client().put_item(
        TableName=settings.customers_table,
        Item={{
            "customer_id": {{"S": customer_id}},
            "first_name": {{"S": "Ada"}},
            "last_name": {{"S": "Lovelace"}},
            "email_address": {{"S": "ada@example.com"}},
            "phone_number": {{"S": "555-123-4567"}},
            "version": {{"N": "1"}},
            "created_at": {{"S": "2024-05-01T12:00:00.000000Z"}},
            "updated_at": {{"S": "2024-05-01T12:00:00.000000Z"}},
        }},
    )
    report["imported"] = loaded()
    with Client(app, stage_name="test") as client:
        report["get"] = client.http.get(f"/customers/{{customer_id}}").status_code
        report["list"] = client.http.get("/customers").status_code
        report["after_reads"] = loaded()
        created = client.http.post(
            "/customers",
            headers={{"Content-Type": "application/json"}},
            body=json.dumps(
                {{"first_name": "Grace", "last_name": "Hopper", "email_address": "grace@example.com",
                  "phone_number": "(555) 123-4567"}}
            ),
        )
        report["post"] = created.status_code
        report["after_write"] = loaded()
print(json.dumps(report))
"""


def test_reads_import_neither_library_and_a_write_imports_both() -> None:
    environment = {**stage_environment_for("lazy"), "PATH": "/usr/bin:/bin"}
    completed = subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(libraries=LIBRARIES)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])

    assert (report["get"], report["list"], report["post"]) == (200, 200, 201)
    assert report["before"] == report["imported"] == report["after_reads"] == []
    assert report["after_write"] == sorted(LIBRARIES)
