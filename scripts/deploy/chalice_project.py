"""The Chalice project a deploy or package runs in: this checkout's code with the stage's resolved configuration.

Chalice reads its configuration from ``.chalice/`` of the project it runs in, and the
checked-in files can only say what is true of every account: ``arn:aws:...:*:*:`` ARNs
and no user pool ARN (the pool is made by the data stack). So `make deploy` and
`make package` copy the code into ``dist/build/<stage>/`` and write the stage's
configuration there with what only the deploy knows: the user pool's ARN from the data
stack, the consumer's environment (stream, queue, bus) on the consumer itself (so no
deploy ever leaves it without them), and the policies bound to the account.
Chalice's record of what it deployed (``.chalice/deployed/<stage>.json``) is kept in the
account between runs (scripts/deploy/deployment_record.py), not in any checkout.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from chalicelib.stages import CONSUMER_FUNCTION
from scripts.chalice_config import DEPLOY_KEYS, chalice_config
from scripts.deploy import policies
from scripts.paths import ROOT

# What Chalice packages from a project: the app, its library and the requirements (and vendor/, if any).
SOURCES = ("app.py", "chalicelib", "requirements.txt", "vendor")
# Chalice caches the dependency zip here per requirements and Python version; the stages share it.
CACHE = "deployments"


def build_root(root: Path = ROOT) -> Path:
    return root / "dist" / "build"


def project_dir(stage: str, root: Path = ROOT) -> Path:
    return build_root(root) / stage


def _copy_sources(root: Path, project: Path) -> None:
    for name in SOURCES:
        source, target = root / name, project / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.exists():
            shutil.copy2(source, target)


def stage_config(
    stage: str,
    environment: Mapping[str, str],
    consumer_environment: Mapping[str, Any],
    root: Path = ROOT,
) -> dict[str, Any]:
    """config.json with the stage's extra variables, the consumer's own, and none of the deploy's own keys."""
    config = copy.deepcopy(chalice_config(root))
    settings = config["stages"][stage]
    for key in DEPLOY_KEYS:
        settings.pop(key, None)
    settings["environment_variables"] = {**settings.get("environment_variables", {}), **environment}
    consumer = settings.setdefault("lambda_functions", {}).setdefault(CONSUMER_FUNCTION, {})
    consumer["environment_variables"] = {**consumer.get("environment_variables", {}), **consumer_environment}
    config["stages"] = {stage: settings}  # one stage per project: nothing else can be deployed from here
    return config


def build(
    stage: str,
    *,
    environment: Mapping[str, str],
    consumer_environment: Mapping[str, Any],
    bind: Callable[[dict[str, Any]], dict[str, Any]],
    root: Path = ROOT,
) -> Path:
    """Write the stage's project and return its directory (Chalice's caches in it are kept between runs)."""
    project = project_dir(stage, root)
    chalice_dir = project / ".chalice"
    chalice_dir.mkdir(parents=True, exist_ok=True)
    cache = build_root(root) / CACHE
    cache.mkdir(parents=True, exist_ok=True)
    if not (chalice_dir / CACHE).exists():
        (chalice_dir / CACHE).symlink_to(cache, target_is_directory=True)
    _copy_sources(root, project)
    config = stage_config(stage, environment, consumer_environment, root)
    (chalice_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    for name in set(policies.policy_files(stage, root).values()):
        (chalice_dir / name).write_text(json.dumps(bind(policies.load(name, root)), indent=2) + "\n")
    return project
