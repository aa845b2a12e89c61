"""`chalice package` for a stage, merged with its generated template: used by make, the tests and the bench."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scripts.paths import ROOT


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
    environment = {"AWS_DEFAULT_REGION": "us-east-1", **os.environ}  # chalice needs a region even offline
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False, timeout=300)


if __name__ == "__main__":
    result = package(sys.argv[1], Path(sys.argv[2]))
    sys.stdout.write(result.stdout + result.stderr)
    sys.exit(result.returncode)
