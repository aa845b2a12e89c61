"""What `.chalice/config.json` says about a stage (its environment), for scripts that build or deploy it.

Stage facts that are not Chalice configuration live in ``chalicelib/stages.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from scripts.paths import ROOT


def stage_environment(stage: str, root: Path = ROOT) -> dict[str, str]:
    """The environment variables config.json gives ``stage`` (top-level ones first, the stage's win)."""
    config = json.loads((root / ".chalice" / "config.json").read_text())
    return {**config.get("environment_variables", {}), **config["stages"][stage].get("environment_variables", {})}
