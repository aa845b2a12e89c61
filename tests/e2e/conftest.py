from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import LiveStack


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """A fresh `make run` stack (own ports, own data) for one test module."""
    stack = LiveStack(data_dir=Path(tmp_path_factory.mktemp("stack")) / "data").start()
    yield stack
    stack.stop()
    assert stack.ports_closed()
