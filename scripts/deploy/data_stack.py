"""A stage's data stack (its DynamoDB tables, from infra/tables-<stage>.json): deploy or delete.

The tables live in their own CloudFormation stack, not in Chalice's deployment, so
`chalice delete` can never take customer data with it. Deleting the prod data stack
is refused here, and its tables also carry deletion protection and a Retain policy.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import boto3
from botocore.exceptions import ClientError

from chalicelib.stages import DEPLOYED_STAGES, is_protected, resource_name
from scripts.chalice_config import stage_environment
from scripts.paths import ROOT


def stack_name(stage: str) -> str:
    return resource_name(stage, "data")


def deploy(stage: str) -> None:
    template = (ROOT / "infra" / f"tables-{stage}.json").read_text()
    client = boto3.client("cloudformation")
    name = stack_name(stage)
    try:
        client.describe_stacks(StackName=name)
        exists = True
    except ClientError:
        exists = False
    try:
        if exists:
            client.update_stack(StackName=name, TemplateBody=template)
            client.get_waiter("stack_update_complete").wait(StackName=name)
        else:
            client.create_stack(StackName=name, TemplateBody=template, EnableTerminationProtection=is_protected(stage))
            client.get_waiter("stack_create_complete").wait(StackName=name)
    except ClientError as error:
        if "No updates are to be performed" not in str(error):
            raise
    print(f"Data stack {name} is up to date.")
    _check_user_pool(stage, client.describe_stacks(StackName=name)["Stacks"][0].get("Outputs", []))


def outputs(stage: str) -> dict[str, str]:
    """The deployed data stack's outputs by key: what `chalice deploy` and the consumer are wired from."""
    client = boto3.client("cloudformation")
    try:
        (stack,) = client.describe_stacks(StackName=stack_name(stage))["Stacks"]
    except ClientError as error:
        raise SystemExit(f"error: no data stack {stack_name(stage)} ({error}): run make deploy") from None
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def _check_user_pool(stage: str, outputs: list[Any]) -> None:
    """`chalice deploy` needs the pool's ARN in config.json; stop before deploying a broken authorizer."""
    pool_arn = next((o["OutputValue"] for o in outputs if o["OutputKey"] == "UserPoolArn"), None)
    if pool_arn is None:
        return
    configured = stage_environment(stage).get("COGNITO_USER_POOL_ARN")
    if configured != pool_arn:
        raise SystemExit(
            f"error: set COGNITO_USER_POOL_ARN of stage {stage} in .chalice/config.json to {pool_arn} and run again."
        )


def delete(stage: str) -> None:
    if is_protected(stage):
        raise SystemExit(f"error: refusing to delete the {stage} data stack: it holds customer data.")
    client = boto3.client("cloudformation")
    client.delete_stack(StackName=stack_name(stage))
    client.get_waiter("stack_delete_complete").wait(StackName=stack_name(stage))
    print(f"Deleted data stack {stack_name(stage)}.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=("deploy", "delete"))
    parser.add_argument("stage", choices=DEPLOYED_STAGES)
    args = parser.parse_args()
    (deploy if args.action == "deploy" else delete)(args.stage)
    return 0


if __name__ == "__main__":
    sys.exit(main())
