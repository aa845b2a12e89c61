"""Where Chalice's record of a stage's deployment lives between runs: an SSM parameter of the account.

`chalice deploy` finds what it made before (function, role, API, stream subscription)
only in ``.chalice/deployed/<stage>.json``; without it, it tries to create them again and
fails on their names, and `chalice delete` deletes nothing. A file in one checkout is lost
to every other checkout and to CI, so the deploy keeps the record in the account itself,
in the parameter chalicelib/stages.py names (``/customer-api/<stage>/chalice-deployed``):
read into the build project before Chalice runs, written back after it ran (even when it
failed part way, so what it did make is not forgotten), removed by a delete.

A checkout deployed by an earlier release still has the file: it is taken from there once
and kept in the parameter from then on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.stages import deployment_record_parameter
from scripts.paths import ROOT


def _file(stage: str, project: Path) -> Path:
    return project / ".chalice" / "deployed" / f"{stage}.json"


def legacy_file(stage: str, root: Path = ROOT) -> Path:
    """Where earlier releases left the record: in the checkout that deployed."""
    return _file(stage, root)


@dataclass(frozen=True)
class Found:
    record: dict[str, Any]
    source: str  # where it was found, for messages
    legacy: bool  # in a checkout (an earlier release's place), not yet in the account


def where(stage: str) -> str:
    """Where the record is kept, and where an earlier release left it, for messages."""
    return (
        f"SSM parameter {deployment_record_parameter(stage)}, "
        f"or .chalice/deployed/{stage}.json of an earlier release's checkout"
    )


def read(stage: str, ssm: Any, root: Path = ROOT) -> Found | None:
    """The stage's record, or None when it has none anywhere."""
    try:
        value = ssm.get_parameter(Name=deployment_record_parameter(stage))["Parameter"]["Value"]
        return Found(json.loads(value), f"SSM parameter {deployment_record_parameter(stage)}", legacy=False)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ParameterNotFound":
            raise
    legacy = legacy_file(stage, root)
    if legacy.exists():
        return Found(json.loads(legacy.read_text()), str(legacy.relative_to(root)), legacy=True)
    return None


def resources(record: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The record's resources by Chalice name (empty for no record)."""
    return {resource["name"]: resource for resource in (record or {}).get("resources", [])}


def place(stage: str, record: dict[str, Any] | None, project: Path) -> None:
    """Put the record where Chalice looks for it in the build project (or make sure none is there)."""
    path = _file(stage, project)
    if record is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")


def save(stage: str, project: Path, ssm: Any) -> dict[str, Any] | None:
    """Keep what Chalice recorded in the project; None when it recorded nothing."""
    path = _file(stage, project)
    if not path.exists():
        return None
    record: dict[str, Any] = json.loads(path.read_text())
    ssm.put_parameter(
        Name=deployment_record_parameter(stage),
        Value=json.dumps(record, separators=(",", ":")),
        Type="String",
        Overwrite=True,
        # Standard parameters hold 4 KB; a record with more functions grows past that.
        Tier="Intelligent-Tiering",
        Description=f"What chalice deploy made for stage {stage} (its .chalice/deployed/{stage}.json)",
    )
    return record


def forget(stage: str, ssm: Any, root: Path = ROOT) -> None:
    try:
        ssm.delete_parameter(Name=deployment_record_parameter(stage))
    except ClientError as error:
        if error.response["Error"]["Code"] != "ParameterNotFound":
            raise
    legacy_file(stage, root).unlink(missing_ok=True)
