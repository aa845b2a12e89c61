"""The deploy rehearsal: `make deploy`/`make delete` as a user runs them, against a moto server.

Each run happens in a copy of this checkout (what git tracks, plus files not yet committed),
so nothing the deploy writes (regenerated templates, dist/build/) touches the working tree,
and a second copy stands in for "another checkout". The copies share one Chalice package
cache, so the dependencies are built once per session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest

from tests.support.aws_emulator import Emulator, running_emulator

ROOT = Path(__file__).resolve().parents[2]
MakeResult = subprocess.CompletedProcess[str]


def copy_checkout(target: Path, cache: Path) -> Path:
    """What `git clone` plus the uncommitted work would give: tracked and untracked, never ignored, files."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        name = raw.decode()
        source = ROOT / name
        if not source.is_file():
            continue  # deleted in the working tree
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)  # mtimes kept: make sees the venv as up to date
    (target / ".venv").symlink_to(ROOT / ".venv", target_is_directory=True)
    build = target / "dist" / "build"
    build.mkdir(parents=True)
    (build / "deployments").symlink_to(cache, target_is_directory=True)
    return target


@pytest.fixture(scope="session")
def package_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chalice-deployments")


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with running_emulator() as running:
        yield running


@pytest.fixture(scope="module")
def aws(emulator: Emulator) -> Iterator[Callable[[str], object]]:
    """boto3 clients on the emulator, for the test's own look at what the deploy made."""
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in emulator.environment().items() if k.startswith("AWS_")})
    session = boto3.session.Session()
    try:
        yield lambda service: session.client(service)  # type: ignore[call-overload]
    finally:
        os.environ.clear()
        os.environ.update(saved)
