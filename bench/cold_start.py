"""Cold start, honestly: a fresh process imports the handler and answers its first GET of a customer.

Both sides do the same work against the same DynamoDB Local: the app's handler
(``from app import app`` then one API Gateway event for ``GET /customers/{id}``)
and a minimal raw handler (boto3, one client, one GetItem, ``json.dumps``). The
runs alternate so that whatever else the machine does affects both alike.
``-X importtime`` then shows which imports the app adds, largest first.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.in_process import _event
from bench.local_app import environment
from scripts.paths import ROOT

RAW_HANDLER = """import json
import os

import boto3

client = boto3.client("dynamodb", endpoint_url=os.environ["DYNAMODB_ENDPOINT_URL"], region_name="us-east-1")


def handler(event, context):
    key = {"customer_id": {"S": event["pathParameters"]["customer_id"]}}
    item = client.get_item(TableName=os.environ["CUSTOMERS_TABLE"], Key=key, ConsistentRead=True)["Item"]
    return {"statusCode": 200, "body": json.dumps(item)}
"""
FIRST_GET = (
    "import json, sys\n"
    "from {module} import {handler} as handler\n"
    "response = handler(json.loads(sys.argv[1]), None)\n"
    "assert response['statusCode'] == 200, response\n"
)
_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _first_get(module: str, handler: str, cwd: Path, event: dict[str, Any], env: dict[str, str]) -> float:
    command = [sys.executable, "-c", FIRST_GET.format(module=module, handler=handler), json.dumps(event)]
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - started) * 1000


def heaviest_imports(event: dict[str, Any], env: dict[str, str], count: int = 12) -> list[tuple[str, float]]:
    """The app's top-level imports by cumulative milliseconds (boto3 included: both sides pay it)."""
    command = [
        sys.executable,
        "-X",
        "importtime",
        "-c",
        FIRST_GET.format(module="app", handler="app"),
        json.dumps(event),
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    totals: dict[str, float] = {}
    for line in result.stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match and len(match.group(3)) <= 3:  # modules imported by the app or its first level
            totals[match.group(4)] = max(totals.get(match.group(4), 0.0), int(match.group(2)) / 1000)
    return sorted(totals.items(), key=lambda item: -item[1])[:count]


def run(endpoint: str, customer_id: str, repetitions: int = 21) -> dict[str, Any]:
    env = {**os.environ, **environment(endpoint, "bench")}
    event = _event(
        "GET", "/customers/{customer_id}", f"/customers/{customer_id}", parameters={"customer_id": customer_id}
    )
    app_samples, raw_samples = [], []
    with tempfile.TemporaryDirectory() as scratch:
        Path(scratch, "raw_handler.py").write_text(RAW_HANDLER)
        for _ in range(repetitions):
            raw_samples.append(_first_get("raw_handler", "handler", Path(scratch), event, env))
            app_samples.append(_first_get("app", "app", ROOT, event, env))
    app_ms, raw_ms = statistics.median(app_samples), statistics.median(raw_samples)
    return {"app_ms": app_ms, "raw_ms": raw_ms, "ratio": app_ms / raw_ms, "imports": heaviest_imports(event, env)}
