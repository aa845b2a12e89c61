"""Size of the deployment package `chalice package` builds for each stage."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(stages: tuple[str, ...] = ("dev", "prod")) -> dict[str, int]:
    sizes = {}
    for stage in stages:
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "out"
            subprocess.run(
                [
                    str(Path(sys.executable).parent / "chalice"),
                    "package",
                    "--stage",
                    stage,
                    "--merge-template",
                    f"infra/app-{stage}.json",
                    str(out),
                ],
                cwd=ROOT,
                env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
                check=True,
                capture_output=True,
            )
            sizes[stage] = (out / "deployment.zip").stat().st_size
    return sizes


if __name__ == "__main__":
    print(run())
