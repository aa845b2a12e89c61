"""Size of the deployment package `chalice package` builds for each stage."""

from __future__ import annotations

import tempfile
from pathlib import Path

from scripts.deploy.package import package


def run(stages: tuple[str, ...] = ("dev", "prod")) -> dict[str, int]:
    sizes = {}
    for stage in stages:
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "out"
            result = package(stage, out)
            if result.returncode != 0:
                raise RuntimeError(result.stdout + result.stderr)
            sizes[stage] = (out / "deployment.zip").stat().st_size
    return sizes


if __name__ == "__main__":
    print(run())
