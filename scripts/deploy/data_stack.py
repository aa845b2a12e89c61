"""A stage's data stack (tables, pagination key, bus, queue, log groups, user pool): deploy or delete.

The data lives in its own CloudFormation stack, not in Chalice's deployment, so `chalice
delete` can never take customer data with it. Deleting the prod data stack is refused
here, and its tables also carry deletion protection, a Retain policy and the stack
termination protection. The template is generated from the code on every deploy
(scripts/deploy/generate_infra.py), so a changed config.json is never deployed stale.

An existing stack is brought to the template one index change per table per update
(scripts/deploy/index_upgrade.py): CloudFormation refuses more in one update.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.stages import DEPLOYED_STAGES, is_protected, resource_name
from scripts.deploy import index_upgrade, stacks
from scripts.deploy.generate_infra import generate


@dataclass(frozen=True)
class DataStack:
    outputs: dict[str, str]
    created: bool
    index_changes: int  # index creations and deletions applied to existing tables


def stack_name(stage: str) -> str:
    return resource_name(stage, "data")


def _stack(stage: str) -> stacks.Stack:
    protected = is_protected(stage)
    return stacks.Stack(
        name=stack_name(stage),
        template=generate(stage),
        parameters={},
        termination_protection=protected,
        disposable=not protected,
    )


def _current_template(client: Any, name: str) -> dict[str, Any]:
    body = client.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
    return json.loads(body) if isinstance(body, str) else dict(body)


def deploy(stage: str, client: Any) -> DataStack:
    stack = _stack(stage)
    if not stacks.ready_for_update(client, stack):
        stacks.create(client, stack)
        print(f"Created data stack {stack.name}.")
        return DataStack(stacks.outputs(client, stack.name), created=True, index_changes=0)
    stacks.protect(client, stack)
    current = _current_template(client, stack.name)
    steps = index_upgrade.steps(current, stack.template)
    changes = index_upgrade.index_changes(current, stack.template)
    if changes:
        print(f"Data stack {stack.name}: {changes} index changes, one per table per update ({len(steps)} updates).")
    for number, template in enumerate(steps, start=1):
        if len(steps) > 1:
            print(f"  update {number} of {len(steps)}...", flush=True)
        stacks.update(client, replace(stack, template=template))
    print(f"Data stack {stack.name} is up to date.")
    return DataStack(stacks.outputs(client, stack.name), created=False, index_changes=changes)


def outputs(stage: str, client: Any) -> dict[str, str]:
    """The deployed data stack's outputs by key: what the functions and the API are wired from."""
    if stacks.status(client, stack_name(stage)) is None:
        raise SystemExit(f"error: there is no data stack {stack_name(stage)}: run make deploy STAGE={stage}")
    return stacks.outputs(client, stack_name(stage))


def delete(stage: str, client: Any) -> None:
    if is_protected(stage):
        raise SystemExit(
            f"error: refusing to delete the {stage} data stack {stack_name(stage)}: it holds customer data "
            "(termination protection, deletion protection and DeletionPolicy Retain keep it; removing it is a "
            "decision for the AWS console, not a make target)."
        )
    if stacks.status(client, stack_name(stage)) is None:
        print(f"There is no data stack {stack_name(stage)}.")
        return
    stacks.delete(client, stack_name(stage))
    print(f"Deleted data stack {stack_name(stage)}.")


def main() -> int:
    import boto3

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("deploy", "delete"))
    parser.add_argument("stage", choices=DEPLOYED_STAGES)
    args = parser.parse_args()
    client = boto3.client("cloudformation")
    if args.action == "deploy":
        deploy(args.stage, client)
    else:
        delete(args.stage, client)
    return 0


if __name__ == "__main__":
    sys.exit(main())
