"""Deploy rehearsal, upgrade: a dev data stack from before search reaches today's indexes through `make deploy`.

The emulator refuses, as CloudFormation does, an update that creates or deletes more than
one index on a table; the first test shows it refusing the naive one-update upgrade, so
the deploy's success afterwards means it really went one index at a time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chalicelib.stages import table_name
from chalicelib.storage.tables import CUSTOMERS
from scripts.deploy.data_stack import stack_name
from scripts.deploy.generate_infra import generate
from tests.deploy.conftest import Make
from tests.support.aws_emulator import Emulator
from tests.support.earlier_stacks import before_search, indexes

STAGE = "dev"


@pytest.fixture(scope="module")
def old_stack(emulator: Emulator, aws: Callable[[str], Any]) -> dict[str, Any]:
    emulator.reset()
    old = before_search(generate(STAGE))
    client = aws("cloudformation")
    client.create_stack(StackName=stack_name(STAGE), TemplateBody=json.dumps(old))
    client.get_waiter("stack_create_complete").wait(StackName=stack_name(STAGE))
    return old


def customer_indexes(aws: Callable[[str], Any]) -> list[str]:
    table = aws("dynamodb").describe_table(TableName=table_name(CUSTOMERS.base_name, STAGE))["Table"]
    return sorted(index["IndexName"] for index in table.get("GlobalSecondaryIndexes", []))


def test_the_emulator_refuses_every_index_change_in_one_update_as_cloudformation_does(
    old_stack: dict[str, Any], aws: Callable[[str], Any]
) -> None:
    client = aws("cloudformation")
    client.update_stack(StackName=stack_name(STAGE), TemplateBody=json.dumps(generate(STAGE)))
    (stack,) = client.describe_stacks(StackName=stack_name(STAGE))["Stacks"]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    reasons = [
        e.get("ResourceStatusReason", "")
        for e in client.describe_stack_events(StackName=stack_name(STAGE))["StackEvents"]
    ]
    assert any("more than one GSI creation or deletion" in reason for reason in reasons)
    assert customer_indexes(aws) == sorted(indexes(old_stack))


def test_make_deploy_upgrades_the_stack_one_index_per_update_and_backfills(
    old_stack: dict[str, Any], emulator: Emulator, new_checkout: Callable[[str], Path], aws: Callable[[str], Any]
) -> None:
    make = Make(new_checkout("upgrade-checkout"), emulator)

    done = make("deploy", f"STAGE={STAGE}")

    assert "10 index changes, one per table per update (11 updates)" in done.stdout
    assert "running the backfill" in done.stdout
    assert customer_indexes(aws) == sorted(indexes(generate(STAGE)))
    (stack,) = aws("cloudformation").describe_stacks(StackName=stack_name(STAGE))["Stacks"]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    make("delete", f"STAGE={STAGE}")
