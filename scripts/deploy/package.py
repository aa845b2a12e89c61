"""`chalice package` for a stage, merged with its generated template: used by make, the tests and the bench.

app.py registers the change consumer only when ``CUSTOMERS_STREAM_ARN`` is set as Chalice
imports it. Packaging has no stream yet (it is created with the stack), so Chalice gets a
placeholder, and the merge template replaces it in the consumer's event and environment
with the table's own stream; a test checks that no placeholder is left.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scripts.paths import ROOT


def placeholder_stream_arn(stage: str) -> str:
    return f"arn:aws:dynamodb:us-east-1:000000000000:table/customers-{stage}/stream/placeholder"


def package(stage: str, out: Path) -> subprocess.CompletedProcess[str]:
    """Write ``out``/sam.json and deployment.zip; the caller checks the result."""
    command = [
        str(Path(sys.executable).parent / "chalice"),
        "package",
        "--stage",
        stage,
        "--merge-template",
        f"infra/app-{stage}.json",
        str(out),
    ]
    environment = {
        "AWS_DEFAULT_REGION": "us-east-1",  # chalice needs a region even offline
        **os.environ,
        "CUSTOMERS_STREAM_ARN": placeholder_stream_arn(stage),  # the same template whatever the shell holds
    }
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False, timeout=300)


if __name__ == "__main__":
    result = package(sys.argv[1], Path(sys.argv[2]))
    sys.stdout.write(result.stdout + result.stderr)
    sys.exit(result.returncode)
