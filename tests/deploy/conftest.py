"""The deploy rehearsal's fixtures: one AWS emulator for the session, checkouts as a user has them, clients on it.

A rehearsal runs `make deploy` and `make delete` in a copy of the working tree (what git
would clone, with uncommitted changes), so its builds and templates never touch this
checkout; the copy shares this checkout's virtualenv, as a user's clone has its own.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from scripts.paths import ROOT
from tests.support.aws_emulator import Emulator, running_emulator


def copy_checkout(destination: Path) -> Path:
    """The working tree's tracked and new files (not the ignored ones), with this checkout's virtualenv."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (destination / ".venv").symlink_to(ROOT / ".venv")
    return destination


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with running_emulator(tmp_path_factory.mktemp("emulator")) as running:
        yield running


@pytest.fixture(scope="session")
def new_checkout(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    def make(name: str) -> Path:
        return copy_checkout(tmp_path_factory.mktemp(name))

    return make


@pytest.fixture(scope="module")
def aws(emulator: Emulator) -> Iterator[Callable[[str], Any]]:
    """boto3 clients on the emulator (made once each), for the tests' own look at what was deployed.

    Made with the emulator's environment, so no profile or file of the developer's is read.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name, value in emulator.environment(base={}).items():
            patch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
            patch.delenv(name, raising=False)
        session = boto3.session.Session()
        clients: dict[str, Any] = {}

        def client(service: str) -> Any:
            if service not in clients:
                clients[service] = session.client(service)  # type: ignore[call-overload]
            return clients[service]

        yield client
