"""Deploy rehearsal, upgrade: a dev data stack from before search reaches today's indexes through `make deploy`.

The emulator refuses, as CloudFormation does, an update that creates or deletes more than
one index on a table; the first test shows it refusing the naive one-update upgrade, so
the deploy's success afterwards means it really went one index at a time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.customers.model import Customer, email_key
from chalicelib.stages import table_name
from chalicelib.storage.items import customer_item
from chalicelib.storage.tables import CUSTOMER_EMAILS, CUSTOMER_SEARCH, CUSTOMERS
from scripts.deploy.data_stack import stack_name
from scripts.deploy.generate_infra import generate
from tests.support.aws_emulator import Emulator
from tests.support.earlier_stacks import before_search, indexes
from tests.support.make import Make

STAGE = "dev"


LEGACY_ID = "7b1d9e34-5c2f-4f6a-8b3d-9e0a1b2c4a02"


def key_attributes(template: dict[str, Any]) -> set[str]:
    return {key["AttributeName"] for index in indexes(template).values() for key in index["KeySchema"]}


@pytest.fixture(scope="module")
def old_stack(emulator: Emulator, aws: Callable[[str], Any]) -> dict[str, Any]:
    """The data stack an earlier release made, holding a customer it wrote (no keys of today's indexes)."""
    emulator.reset()
    old = before_search(generate(STAGE))
    client = aws("cloudformation")
    client.create_stack(StackName=stack_name(STAGE), TemplateBody=json.dumps(old))
    client.get_waiter("stack_create_complete").wait(StackName=stack_name(STAGE))
    customer: Customer = {
        "customer_id": LEGACY_ID,
        "first_name": "Old",
        "last_name": "Release",
        "email_address": "old.release@example.com",
        "customer_status": "active",
        "state": "IL",  # every index key is set: the state index is sparse
        "is_loyalty_member": "n",
        "preferred_communication_channels": ["email"],
        "lifetime_value": 0,  # type: ignore[typeddict-item]  # stored as a number
        "customer_acquisition_date": "2024-05-01T12:00:00.000Z",
        "created_at": "2024-05-01T12:00:00.000Z",
        "created_by": "earlier-release",
        "updated_at": "2024-05-01T12:00:00.000Z",
        "updated_by": "earlier-release",
        "version": 1,
    }
    new_keys = key_attributes(generate(STAGE)) - key_attributes(old)
    item = {name: value for name, value in customer_item(customer).items() if name not in new_keys}
    aws("dynamodb").put_item(TableName=table_name(CUSTOMERS.base_name, STAGE), Item=item)
    claim = {"email_key": {"S": email_key(customer["email_address"])}, "customer_id": {"S": LEGACY_ID}}
    aws("dynamodb").put_item(TableName=table_name(CUSTOMER_EMAILS.base_name, STAGE), Item=claim)
    return old


@pytest.fixture(scope="module")
def upgraded(old_stack: dict[str, Any], emulator: Emulator, new_checkout: Callable[[str], Path]) -> Iterator[str]:
    make = Make(new_checkout("upgrade-checkout"), emulator)
    yield make("deploy", f"STAGE={STAGE}").stdout
    make("delete", f"STAGE={STAGE}")


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


def test_make_deploy_upgrades_the_stack_one_index_per_update(upgraded: str, aws: Callable[[str], Any]) -> None:
    assert "10 index changes, one per table per update (11 updates)" in upgraded
    assert customer_indexes(aws) == sorted(indexes(generate(STAGE)))
    (stack,) = aws("cloudformation").describe_stacks(StackName=stack_name(STAGE))["Stacks"]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"


def test_the_backfill_gives_the_earlier_releases_customer_todays_index_keys_and_search_items(
    upgraded: str, aws: Callable[[str], Any]
) -> None:
    assert "running the backfill" in upgraded
    item = aws("dynamodb").get_item(
        TableName=table_name(CUSTOMERS.base_name, STAGE), Key={"customer_id": {"S": LEGACY_ID}}
    )["Item"]
    assert key_attributes(generate(STAGE)) <= set(item)
    search = aws("dynamodb").scan(TableName=table_name(CUSTOMER_SEARCH.base_name, STAGE))["Items"]
    assert any(LEGACY_ID in json.dumps(entry) for entry in search)
