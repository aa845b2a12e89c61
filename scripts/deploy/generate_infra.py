"""Generate `infra/tables-<stage>.json`, the CloudFormation for each stage's data stack (tables, bus, queue).

`chalicelib/storage/tables.py` defines the tables and `chalicelib/stages.py` names them per stage;
this script turns both into a checked-in template so that a deploy creates exactly the
tables the code and the local stack use. Hand edits would drift, so the files are only
ever written here and `--check` (run by the unit tests) fails when one is stale.

Each file is a standalone template (`aws cloudformation deploy --template-file ...`) and
also works as `chalice package --merge-template infra/tables-<stage>.json`.

    python -m scripts.deploy.generate_infra [--check] [STAGE ...]   # default: dev prod
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from unittest import mock

from chalicelib.config import Settings, get_settings
from chalicelib.stages import APP_NAME as APP
from chalicelib.stages import DEPLOYED_STAGES, LOCAL_STAGE, is_protected, requires_auth
from chalicelib.storage.tables import ALL_TABLES, TableSpec
from scripts.chalice_config import alarm_topic, stage_environment
from scripts.deploy.app_template import CONSUMER, app_merge_template
from scripts.deploy.auth_template import auth_outputs, auth_resources, authorizer_override
from scripts.deploy.changes import change_outputs, change_resources
from scripts.deploy.log_groups import log_group_outputs, log_group_resources
from scripts.paths import ROOT

# get_settings() refuses a deployed stage without a secret; table names do not depend on it.
PLACEHOLDER_SECRET = "placeholder-for-template-generation-only"  # noqa: S105
# CreateTable parameters that CloudFormation's AWS::DynamoDB::Table spells and shapes the
# same way. Anything else create_table_request() grows (SSESpecification, Tags...) differs
# in shape, so it stops generation instead of producing a wrong template; the ones taught
# so far are translated in _table (StreamSpecification).
SHARED_CREATE_TABLE_KEYS = frozenset(
    {"TableName", "KeySchema", "AttributeDefinitions", "BillingMode", "GlobalSecondaryIndexes"}
)


class StageError(ValueError):
    """The stage has no template: it is not in `.chalice/config.json`, or it is the local stage."""


SECRET_LOGICAL_ID = "PaginationSecret"  # noqa: S105 - a resource name, not a secret


def template_path(stage: str, root: Path = ROOT) -> Path:
    return root / "infra" / f"tables-{stage}.json"


def configured_stages(root: Path = ROOT) -> list[str]:
    config = json.loads((root / ".chalice" / "config.json").read_text())
    return sorted(config.get("stages", {}))


def _stage_settings(stage: str, root: Path) -> Settings:
    """The stage's Settings, read from exactly config.json's variables, not the caller's environment.

    A table-name variable left in the shell (or by a test) must not leak into a template,
    so the environment is replaced, not extended, and restored afterwards.
    """
    if stage == LOCAL_STAGE:
        raise StageError(f"stage {stage!r} runs on DynamoDB Local, which creates its tables itself: no template")
    stages = configured_stages(root)
    if stage not in stages:
        raise StageError(f"stage {stage!r} is not in .chalice/config.json (stages there: {', '.join(stages)})")
    environment = {"PAGINATION_SECRET": PLACEHOLDER_SECRET, **stage_environment(stage, root)}
    with mock.patch.dict(os.environ, environment, clear=True):
        get_settings.cache_clear()
        try:
            settings = get_settings()
        finally:
            get_settings.cache_clear()
    if settings.stage != stage:
        # Without STAGE=<stage> the settings fall back to the local stage's table names.
        raise StageError(f"stage {stage!r} sets STAGE={settings.stage!r} in .chalice/config.json")
    return settings


def _table(spec: TableSpec, settings: Settings, protected: bool) -> dict[str, Any]:
    """One AWS::DynamoDB::Table whose keys come from create_table_request, as for local tables."""
    request = spec.create_table_request(settings.table(spec))
    stream = request.pop("StreamSpecification", None)
    unknown = sorted(set(request) - SHARED_CREATE_TABLE_KEYS)
    if unknown:
        raise ValueError(f"{spec.logical_id}: teach scripts/deploy/generate_infra.py to translate {', '.join(unknown)}")
    properties: dict[str, Any] = {
        **request,
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
    }
    if stream is not None:
        properties["StreamSpecification"] = _stream_specification(spec, stream)
    if spec.ttl_attribute is not None:
        properties["TimeToLiveSpecification"] = {"AttributeName": spec.ttl_attribute, "Enabled": True}
    properties["DeletionProtectionEnabled"] = protected
    properties["Tags"] = [{"Key": "app", "Value": APP}, {"Key": "stage", "Value": settings.stage}]
    policy = "Retain" if protected else "Delete"
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": policy,
        "UpdateReplacePolicy": policy,
        "Properties": properties,
    }


def _stream_specification(spec: TableSpec, stream: dict[str, Any]) -> dict[str, Any]:
    """CreateTable says ``StreamEnabled`` and a view type; CloudFormation has a stream just when it names a type."""
    if stream.get("StreamEnabled") is not True:
        raise ValueError(f"{spec.logical_id}: a disabled StreamSpecification has no CloudFormation form (omit it)")
    return {"StreamViewType": stream["StreamViewType"]}


def _pagination_secret(stage: str, root: Path, protected: bool) -> dict[str, Any]:
    """The key that signs next_tokens, generated by Secrets Manager under the name config.json gives it.

    The function reads it at cold start (PAGINATION_SECRET_NAME), so it never appears in
    configuration, in the template or in the function's environment.
    """
    policy = "Retain" if protected else "Delete"
    return {
        "Type": "AWS::SecretsManager::Secret",
        "DeletionPolicy": policy,
        "UpdateReplacePolicy": policy,
        "Properties": {
            "Name": stage_environment(stage, root)["PAGINATION_SECRET_NAME"],
            "Description": f"{APP} {stage}: HMAC key that signs pagination tokens",
            "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
            "Tags": [{"Key": "app", "Value": APP}, {"Key": "stage", "Value": stage}],
        },
    }


def _outputs(spec: TableSpec, stage: str) -> dict[str, Any]:
    """Name and ARN of a table (and of its stream), exported so other stacks can import them by a stable name.

    The stream's ARN changes whenever the stream is turned off and on again, so the
    consumer's deploy reads it from here rather than from any configuration.
    """
    outputs: dict[str, Any] = {}
    attributes = [
        ("Name", {"Ref": spec.logical_id}, "name"),
        ("Arn", {"Fn::GetAtt": [spec.logical_id, "Arn"]}, "ARN"),
    ]
    if spec.stream:
        attributes.append(("StreamArn", {"Fn::GetAtt": [spec.logical_id, "StreamArn"]}, "stream ARN"))
    for suffix, value, what in attributes:
        key = f"{spec.logical_id}{suffix}"
        outputs[key] = {
            "Description": f"{spec.logical_id} {what}",
            "Value": value,
            "Export": {"Name": f"{APP}-{stage}-{key}"},
        }
    return outputs


def generate(stage: str, root: Path = ROOT) -> dict[str, Any]:
    """The template for ``stage``: every table in ALL_TABLES, named as config.json names it, the bus and the queue."""
    settings = _stage_settings(stage, root)
    protected = is_protected(stage)
    resources = {spec.logical_id: _table(spec, settings, protected) for spec in ALL_TABLES}
    resources[SECRET_LOGICAL_ID] = _pagination_secret(stage, root, protected)
    resources.update(change_resources(stage, protected))
    resources.update(log_group_resources(stage, protected))
    outputs: dict[str, Any] = {}
    for spec in ALL_TABLES:
        outputs.update(_outputs(spec, stage))
    outputs.update(change_outputs(stage))
    outputs.update(log_group_outputs(stage))
    if requires_auth(stage):
        resources.update(auth_resources(stage, protected))
        outputs.update(auth_outputs(stage))
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"{APP} {stage}: DynamoDB tables, the pagination key, the change-event bus, the parked-records "
            "queue, the log groups and (where the stage requires auth) the user pool. Generated by "
            "scripts/deploy/generate_infra.py from chalicelib/storage/tables.py and chalicelib/stages.py; do not edit."
        ),
        "Resources": resources,
        "Outputs": outputs,
    }


def render(template: dict[str, Any]) -> str:
    """Insertion order (not sorted keys) keeps Type and policies above Properties; stable either way."""
    return json.dumps(template, indent=2) + "\n"


def app_template_path(stage: str, root: Path = ROOT) -> Path:
    return root / "infra" / f"app-{stage}.json"


def templates(stage: str, root: Path = ROOT) -> dict[Path, dict[str, Any]]:
    """Both files of a stage: its data stack, and the merge template for `chalice package`."""
    data = generate(stage, root)
    origin = stage_environment(stage, root)["CORS_ALLOW_ORIGIN"]
    app = app_merge_template(stage, data, origin, alarm_topic(stage, root))
    if requires_auth(stage):
        app["Resources"]["RestAPI"]["Properties"].update(authorizer_override())
        # Both functions inherit the stage's variables: neither may keep package.py's placeholder.
        pool = {"COGNITO_USER_POOL_ARN": {"Fn::GetAtt": ["UserPool", "Arn"]}}
        app["Resources"]["APIHandler"]["Properties"]["Environment"] = {"Variables": pool}
        app["Resources"][CONSUMER]["Properties"]["Environment"]["Variables"].update(pool)
    return {template_path(stage, root): data, app_template_path(stage, root): app}


def stale(stages: Sequence[str], root: Path = ROOT) -> list[str]:
    """One line per checked-in template that is missing or differs from what would be generated."""
    problems = []
    for stage in stages:
        for path, template in templates(stage, root).items():  # first: an unknown stage is an error
            expected = render(template)
            shown = path.relative_to(root)
            if not path.exists():
                problems.append(f"{shown} is missing: run `python -m scripts.deploy.generate_infra {stage}`")
            elif path.read_text() != expected:
                problems.append(f"{shown} is stale: run `python -m scripts.deploy.generate_infra {stage}`")
    return problems


def write(stages: Sequence[str], root: Path = ROOT) -> list[Path]:
    """Generate every stage before writing any, so an unknown stage leaves no half-done update."""
    rendered = {path: render(template) for stage in stages for path, template in templates(stage, root).items()}
    for path, text in rendered.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return list(rendered)


def refresh(stage: str, root: Path = ROOT) -> None:
    """Rewrite the stage's checked-in templates when the configuration changed: deploy and package call this
    first, so the files always show what went out (commit what it writes)."""
    for path, template in templates(stage, root).items():
        text = render(template)
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"Wrote {path.relative_to(root)} from the current configuration: commit it.")


def main(argv: Sequence[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="write nothing; fail if a checked-in file is stale")
    parser.add_argument("stages", nargs="*", metavar="STAGE", help=f"default: {' '.join(DEPLOYED_STAGES)}")
    args = parser.parse_args(argv)
    stages: list[str] = args.stages or list(DEPLOYED_STAGES)
    try:
        if args.check:
            problems = stale(stages, root)
            for problem in problems:
                print(problem, file=sys.stderr)
            return 1 if problems else 0
        for path in write(stages, root):
            print(f"Wrote {path.relative_to(root)}")
    except StageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
