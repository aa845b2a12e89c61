"""The stages `.chalice/config.json` defines, read by every script that needs a stage's settings."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def stage_environment(stage: str, root: Path = ROOT) -> dict[str, str]:
    """The environment variables config.json gives ``stage`` (top-level ones first, the stage's win)."""
    config = json.loads((root / ".chalice" / "config.json").read_text())
    return {**config.get("environment_variables", {}), **config["stages"][stage].get("environment_variables", {})}
