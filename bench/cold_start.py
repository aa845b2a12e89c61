"""Cold start: a fresh `python -c "import app"` against a minimal raw handler importing boto3."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAW_HANDLER = """import json
import boto3
client = boto3.client("dynamodb", region_name="us-east-1")
def handler(event, context):
    return json.dumps(client.get_item(TableName="t", Key={"customer_id": {"S": event["id"]}}))
"""


def _median_ms(command: list[str], cwd: Path, repetitions: int) -> float:
    environment = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    samples = []
    for _ in range(repetitions):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=environment, check=True)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def run(repetitions: int = 21) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        Path(scratch, "raw_handler.py").write_text(RAW_HANDLER)
        raw = _median_ms([sys.executable, "-c", "import raw_handler"], Path(scratch), repetitions)
        interpreter = _median_ms([sys.executable, "-c", "pass"], Path(scratch), repetitions)
    app = _median_ms([sys.executable, "-c", "import app"], ROOT, repetitions)
    return {"interpreter_ms": interpreter, "raw_ms": raw, "app_ms": app, "ratio": app / raw}


if __name__ == "__main__":
    print(run())
