"""The stage's IAM policy files with real ARNs: the account, region and partition they are deployed to.

The checked-in files (.chalice/policy-<stage>[-consumer].json) say ``arn:aws:<service>:*:*:``:
valid for any account, so `chalice local` and the IAM tests read them as they are. What
gets deployed must name the one account and region the stage lives in (and its partition:
``aws-cn`` and ``aws-us-gov`` are not ``aws``), so both deploy paths rewrite them here:
`make deploy` with the values STS and the session give, `make package` with CloudFormation's
pseudo parameters (``Fn::Sub``), which the stack fills in wherever it is created.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from chalicelib.stages import CONSUMER_FUNCTION
from scripts.chalice_config import chalice_config
from scripts.paths import ROOT

# An ARN of the stage's own resources, for any account and region.
UNBOUND_ARN = re.compile(r"^arn:aws:([a-z0-9-]+):\*:\*:")
PSEUDO_PARAMETERS = "arn:${AWS::Partition}:\\1:${AWS::Region}:${AWS::AccountId}:"


def policy_files(stage: str, root: Path = ROOT) -> dict[str, str]:
    """Chalice function name -> the policy file config.json gives it (the stage's, or its own)."""
    stage_config = chalice_config(root)["stages"][stage]
    files = {"api_handler": str(stage_config["iam_policy_file"])}
    for function, settings in stage_config.get("lambda_functions", {}).items():
        if "iam_policy_file" in settings:
            files[function] = str(settings["iam_policy_file"])
    if CONSUMER_FUNCTION not in files:
        raise SystemExit(f"error: .chalice/config.json gives {CONSUMER_FUNCTION} of {stage} no iam_policy_file")
    return files


def load(name: str, root: Path = ROOT) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads((root / ".chalice" / name).read_text())
    return policy


def _rewritten(policy: dict[str, Any], rewrite: Callable[[str], Any]) -> dict[str, Any]:
    result = copy.deepcopy(policy)
    for statement in result["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        statement["Resource"] = [rewrite(resource) for resource in resources]
    return result


def bound(policy: dict[str, Any], partition: str, region: str, account: str) -> dict[str, Any]:
    """The policy naming the one account and region (for `chalice deploy`)."""
    prefix = f"arn:{partition}:\\1:{region}:{account}:"
    return _rewritten(policy, lambda resource: UNBOUND_ARN.sub(prefix, resource))


def bound_in_stack(policy: dict[str, Any]) -> dict[str, Any]:
    """The policy naming the stack's account, region and partition (for a packaged template)."""

    def rewrite(resource: str) -> Any:
        if UNBOUND_ARN.match(resource):
            return {"Fn::Sub": UNBOUND_ARN.sub(PSEUDO_PARAMETERS, resource)}
        return resource

    return _rewritten(policy, rewrite)


def unbound_arns(value: Any) -> Iterator[str]:
    """Every ``arn:aws:<service>:*:*:`` left anywhere in ``value`` (a template, a policy)."""
    if isinstance(value, str):
        if UNBOUND_ARN.match(value):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from unbound_arns(item)
    elif isinstance(value, list):
        for item in value:
            yield from unbound_arns(item)
