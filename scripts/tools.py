"""Fail early, in one clear line, when a tool the local stack needs is missing."""

from __future__ import annotations

import shutil
import sys

HOW_TO_GET = {
    "java": "install Java 17+ (Debian: sudo apt-get install openjdk-17-jre-headless)",
    "npm": "install Node.js and npm (Debian: sudo apt-get install nodejs npm)",
    "curl": "install curl (Debian: sudo apt-get install curl)",
}


class MissingTool(SystemExit):
    pass


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise MissingTool(f"error: '{tool}' not found: {HOW_TO_GET.get(tool, 'install it and retry')}.")
    return path


if __name__ == "__main__":
    for name in sys.argv[1:]:
        require(name)
