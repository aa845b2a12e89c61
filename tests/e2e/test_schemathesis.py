"""schemathesis against the served OpenAPI document on a live stack: no 5xx, and every answer as documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.e2e.stack import LiveStack

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
EXAMPLES_PER_OPERATION = "40"
SEED = "20261125"  # fixed, so a failure reproduces


def test_schemathesis_finds_no_failures(live_stack: LiveStack, tmp_path: Path) -> None:
    command = [
        str(Path(sys.executable).parent / "st"),
        "run",
        f"{live_stack.base_url}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        EXAMPLES_PER_OPERATION,
        "--seed",
        SEED,
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    # Its example database goes under tmp_path, not into the working tree.
    completed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    generated = re.search(r"(\d+) generated, (\d+) passed", output)
    assert generated is not None, output
    assert int(generated.group(1)) == int(generated.group(2)) > 100
    print(f"schemathesis: {generated.group(0)}")
