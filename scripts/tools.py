"""Fail early, in one clear line, when a tool the local stack needs is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

HOW_TO_GET = {
    "jdk": "install a JDK 17+, not only a JRE (Debian: sudo apt-get install openjdk-17-jdk-headless)",
    "npm": "install Node.js and npm (Debian: sudo apt-get install nodejs npm)",
    "curl": "install curl (Debian: sudo apt-get install curl)",
}
WHAT_IS_MISSING = {"jdk": "a JDK ('javac', or a 'java' that runs .java source files)"}


class MissingTool(SystemExit):
    pass


def _can_run_source_files(java: str) -> bool:
    """True for a JDK's ``java``: source-file mode compiles in memory with the jdk.compiler module."""
    try:
        modules = subprocess.run([java, "--list-modules"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return any(line.startswith("jdk.compiler@") for line in modules.stdout.splitlines())


def find_jdk_java() -> str | None:
    """The ``java`` of a JDK, which DynamoDB Local's loopback launcher (a .java source file) needs.

    The ``java`` next to ``javac`` comes first: the ``java`` on PATH may be a JRE's even when a
    JDK is installed.
    """
    javac = shutil.which("javac")
    if javac is not None:
        sibling = Path(javac).resolve().with_name("java")
        if sibling.is_file() and os.access(sibling, os.X_OK):
            return str(sibling)
    java = shutil.which("java")
    if java is not None and _can_run_source_files(java):
        return java
    return None


FINDERS: dict[str, Callable[[], str | None]] = {"jdk": find_jdk_java}


def require(tool: str) -> str:
    """The tool's path, or exit with one line saying how to get it."""
    path = FINDERS[tool]() if tool in FINDERS else shutil.which(tool)
    if path is None:
        what = WHAT_IS_MISSING.get(tool, f"'{tool}'")
        raise MissingTool(f"error: {what} not found: {HOW_TO_GET.get(tool, 'install it and retry')}.")
    return path


if __name__ == "__main__":
    for name in sys.argv[1:]:
        require(name)
