"""The layers hold: HTTP at the edge, plain use cases, DynamoDB only in storage.

Read from the source itself (every import statement, wherever it is written),
so a shortcut across a layer fails here before it is reviewed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHALICELIB = ROOT / "chalicelib"
STORAGE = CHALICELIB / "storage"
OUTSIDE_STORAGE_ALLOWED_AWS = ("scripts", "bench", "tests")
MAX_LINES = 400


def python_files(*folders: Path) -> list[Path]:
    return sorted(path for folder in folders for path in folder.rglob("*.py") if ".venv" not in path.parts)


def imports(path: Path) -> Iterator[tuple[str, list[str]]]:
    """(module, imported names) for every import in the file, lazy and TYPE_CHECKING ones included."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [alias.name for alias in node.names]


def top(module: str) -> str:
    return module.split(".")[0]


def app_code() -> list[Path]:
    return [ROOT / "app.py", *python_files(CHALICELIB)]


def is_under(path: Path, folder: Path) -> bool:
    return folder in path.parents


def test_only_storage_imports_boto3_or_botocore() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in app_code()
        if not is_under(path, STORAGE)
        for module, _ in imports(path)
        if top(module) in ("boto3", "botocore")
    ]
    assert offenders == []


@pytest.mark.parametrize("package", ["customers", "storage"])
def test_use_cases_and_storage_never_import_chalice(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in python_files(CHALICELIB / package)
        for module, _ in imports(path)
        if top(module) == "chalice" or module.startswith("chalicelib.api")
    ]
    assert offenders == []


def test_only_the_edge_and_app_import_chalice() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in app_code()
        if path != ROOT / "app.py" and not is_under(path, CHALICELIB / "api")
        for module, _ in imports(path)
        if top(module) == "chalice"
    ]
    assert offenders == []


def test_use_cases_never_import_storage() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in python_files(CHALICELIB / "customers")
        for module, _ in imports(path)
        if module.startswith("chalicelib.storage")
    ]
    assert offenders == []


def test_no_module_of_the_app_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in app_code()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_nothing_outside_storage_imports_its_private_names() -> None:
    everything = [*python_files(ROOT / "chalicelib", ROOT / "scripts", ROOT / "bench", ROOT / "tests"), ROOT / "app.py"]
    offenders = [
        f"{path.relative_to(ROOT)}: {module}.{name}"
        for path in everything
        if not is_under(path, STORAGE)
        for module, names in imports(path)
        if module.startswith("chalicelib.storage")
        for name in names
        if name.startswith("_")
    ]
    assert offenders == []


def test_the_checks_see_imports_wherever_they_are_written(tmp_path: Path) -> None:
    # A lazy import inside a function and a TYPE_CHECKING import both count.
    source = tmp_path / "sample.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import botocore.client\n"
        "def f():\n    from chalicelib.storage.items import _private\n"
    )
    found = list(imports(source))
    assert ("botocore.client", []) in found
    assert ("chalicelib.storage.items", ["_private"]) in found
