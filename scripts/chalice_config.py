"""What Chalice's config.json says about a stage: its environment, and the deploy's own stage settings.

Stage facts that are not Chalice configuration live in ``chalicelib/stages.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scripts.paths import ROOT

# The stage settings of config.json that are the deploy's, not Chalice's (Chalice ignores them).
ALARM_TOPIC_KEY = "alarm_topic_arn"
DEPLOY_KEYS = frozenset({ALARM_TOPIC_KEY})


def chalice_config(root: Path = ROOT) -> dict[str, Any]:
    config: dict[str, Any] = json.loads((root / ".chalice" / "config.json").read_text())
    return config


def stage_environment(stage: str, root: Path = ROOT) -> dict[str, str]:
    """The environment variables config.json gives ``stage`` (top-level ones first, the stage's win)."""
    config = chalice_config(root)
    return {**config.get("environment_variables", {}), **config["stages"][stage].get("environment_variables", {})}


def alarm_topic(stage: str, root: Path = ROOT) -> str:
    """The SNS topic ARN the stage's alarms notify, as config.json sets it ("" when it sets none)."""
    return str(chalice_config(root)["stages"][stage].get(ALARM_TOPIC_KEY, "")).strip()
