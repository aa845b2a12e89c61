"""CloudFormation stacks as the deploy drives them: create or update, and what to do when one is stuck.

Every stack the deploy owns (a stage's data stack, its alarms stack) goes through here, so
each gets the same care: "does not exist" is told apart from any other error (a missing
permission must not look like a first deploy), a stack a failed first create left in
``ROLLBACK_COMPLETE`` is either cleaned up and made again (when it can hold nothing worth
keeping) or named with what to do, and a failed wait prints CloudFormation's own reasons.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, WaiterError

# A create that failed and was rolled back: nothing can update it, only a delete.
ROLLED_BACK_CREATE = "ROLLBACK_COMPLETE"
# States from which no update can start until someone looks (or the stack settles).
STUCK = frozenset({"ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED", "IMPORT_ROLLBACK_FAILED"})
NO_UPDATES = "No updates are to be performed"


class StackError(SystemExit):
    """A stack the deploy cannot go on with: the message says what happened and what to run."""


@dataclass(frozen=True)
class Stack:
    """One stack to deploy: its name, template and parameters, and what its deploy may do on its own."""

    name: str
    template: Mapping[str, Any]
    # Parameter values to set; a name mapped to None keeps the value the stack already has.
    parameters: Mapping[str, str | None]
    termination_protection: bool = False
    # Whether a rolled-back first create may be deleted and made again without asking: true for
    # stacks that hold no data (dev, alarms). Never for prod's data stack: its Retain resources
    # survive the rollback, and what to do about them is the operator's call.
    disposable: bool = False


def status(client: Any, name: str) -> str | None:
    """The stack's status, or None when there is no such stack; any other error is raised."""
    try:
        (stack,) = client.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ValidationError" and "does not exist" in str(error):
            return None
        raise
    return str(stack["StackStatus"])


def outputs(client: Any, name: str) -> dict[str, str]:
    (stack,) = client.describe_stacks(StackName=name)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def _events(client: Any, name: str) -> list[dict[str, Any]]:
    """The stack's events, newest first; none when there is no such stack (any more)."""
    try:
        return list(client.describe_stack_events(StackName=name)["StackEvents"])
    except ClientError:
        return []


def _reasons(events: list[dict[str, Any]], limit: int = 5) -> list[str]:
    """The latest resource failures among the events, newest first."""
    failed = [event for event in events if str(event.get("ResourceStatus", "")).endswith("_FAILED")]
    return [
        f"{event['LogicalResourceId']}: {event.get('ResourceStatusReason', event['ResourceStatus'])}"
        for event in failed[:limit]
    ]


def _kept(events: list[dict[str, Any]]) -> list[str]:
    """What a rolled-back create left in the account (``DeletionPolicy: Retain``): "type name", one each."""
    kept = {
        (event["ResourceType"], event["PhysicalResourceId"])
        for event in events
        if event.get("ResourceStatus") == "DELETE_SKIPPED" and event.get("PhysicalResourceId")
    }
    return [f"{kind} {physical}" for kind, physical in sorted(kept)]


def failure_reasons(client: Any, name: str, limit: int = 5) -> list[str]:
    """The latest resource failures CloudFormation recorded for the stack, newest first."""
    return _reasons(_events(client, name), limit)


def _failed(client: Any, name: str, what: str) -> StackError:
    reasons = failure_reasons(client, name)
    detail = "".join(f"\n  {reason}" for reason in reasons) or " (no reason recorded)"
    return StackError(f"error: {what} of stack {name} failed:{detail}")


def _parameters(stack: Stack, exists: bool) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for key, value in stack.parameters.items():
        if value is not None:
            result.append({"ParameterKey": key, "ParameterValue": value})
        elif exists:
            result.append({"ParameterKey": key, "UsePreviousValue": True})
    return result


def create(client: Any, stack: Stack) -> None:
    client.create_stack(
        StackName=stack.name,
        TemplateBody=json.dumps(stack.template),
        Parameters=_parameters(stack, exists=False),
        EnableTerminationProtection=stack.termination_protection,
    )
    try:
        client.get_waiter("stack_create_complete").wait(StackName=stack.name)
    except WaiterError:
        raise _failed(client, stack.name, "the first create") from None


def update(client: Any, stack: Stack) -> bool:
    """Update an existing stack; False when CloudFormation finds nothing to change."""
    try:
        client.update_stack(
            StackName=stack.name,
            TemplateBody=json.dumps(stack.template),
            Parameters=_parameters(stack, exists=True),
        )
    except ClientError as error:
        if NO_UPDATES in str(error):
            return False
        raise
    try:
        client.get_waiter("stack_update_complete").wait(StackName=stack.name)
    except WaiterError:
        raise _failed(client, stack.name, "the update (rolled back: the stack is as it was)") from None
    return True


def delete(client: Any, name: str) -> None:
    client.delete_stack(StackName=name)
    try:
        client.get_waiter("stack_delete_complete").wait(StackName=name)
    except WaiterError:
        raise _failed(client, name, "the delete") from None


def ready_for_update(client: Any, stack: Stack) -> bool:
    """Whether the stack exists and can be updated; False when it must be created (again).

    A stack in ROLLBACK_COMPLETE never got to exist: a disposable one is deleted here so it
    can be made again; any other is refused with what the operator can do.
    """
    current = status(client, stack.name)
    if current is None:
        return False
    if current == ROLLED_BACK_CREATE:
        events = _events(client, stack.name)  # read once: the reasons, and what the rollback kept
        reasons = "".join(f"\n  {reason}" for reason in _reasons(events))
        if stack.disposable:
            print(f"Stack {stack.name} is left over from a failed first create ({current}); deleting it to retry.")
            delete(client, stack.name)
            return False
        unprotect = (
            f"aws cloudformation update-termination-protection --no-enable-termination-protection "
            f"--stack-name {stack.name}, then "
            if stack.termination_protection
            else ""
        )
        kept = "".join(f"\n  {resource}" for resource in _kept(events))
        leftovers = (
            f"The rollback kept these (DeletionPolicy Retain):{kept}\n"
            "The failed create made them, and a retry makes them again under the same names: check they hold "
            "nothing you need and delete them too (a table first needs aws dynamodb update-table "
            "--no-deletion-protection-enabled --table-name NAME, a user pool aws cognito-idp update-user-pool "
            "--deletion-protection INACTIVE).\n"
            if kept
            else ""
        )
        raise StackError(
            f"error: stack {stack.name} is in {current}: its first create failed and was rolled back.{reasons}\n"
            "It is never deleted automatically: resources kept by DeletionPolicy Retain may hold data.\n"
            f"{leftovers}"
            f"Fix the cause above, delete the stack yourself ({unprotect}aws cloudformation delete-stack "
            f"--stack-name {stack.name}) and run make deploy again."
        )
    if current in STUCK or current.endswith("_IN_PROGRESS"):
        raise StackError(
            f"error: stack {stack.name} is in {current}; no update can start from there. "
            f"See aws cloudformation describe-stack-events --stack-name {stack.name}, then run make deploy again."
        )
    return True


def protect(client: Any, stack: Stack) -> None:
    """Termination protection on an existing stack that should have it (one made before the stage was protected)."""
    if stack.termination_protection:
        client.update_termination_protection(StackName=stack.name, EnableTerminationProtection=True)


def deploy(client: Any, stack: Stack) -> bool:
    """Create or update the stack; True when it was created."""
    if ready_for_update(client, stack):
        protect(client, stack)
        update(client, stack)
        return False
    create(client, stack)
    return True
