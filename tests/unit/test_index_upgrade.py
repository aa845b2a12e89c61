"""The data stack's upgrade path: from any earlier set of indexes to today's, in steps CloudFormation accepts.

CloudFormation refuses an update that creates or deletes more than one global secondary
index on a table. The deploy rehearsal (tests/deploy) runs a real upgrade against an
emulator that enforces that rule; these check the plan itself on the shapes a stack can
be in.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scripts.deploy.generate_infra import generate
from scripts.deploy.index_upgrade import index_changes, steps
from tests.support.earlier_stacks import CUSTOMERS, before_search, indexes, with_customer_indexes


def changed_per_table(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    counts = {}
    for table, resource in after["Resources"].items():
        if resource["Type"] == "AWS::DynamoDB::Table" and table in before["Resources"]:
            old, new = indexes(before, table), indexes(after, table)
            counts[table] = sum(new.get(n) != i for n, i in old.items()) + sum(old.get(n) != i for n, i in new.items())
    return counts


def assert_each_step_is_accepted(start: dict[str, Any], plan: list[dict[str, Any]]) -> None:
    previous = start
    for template in plan:
        assert all(count <= 1 for count in changed_per_table(previous, template).values())
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::DynamoDB::Table":  # exactly the attributes its keys use
                properties = resource["Properties"]
                keys = [*properties["KeySchema"]]
                keys += [key for index in properties.get("GlobalSecondaryIndexes", []) for key in index["KeySchema"]]
                defined = [d["AttributeName"] for d in properties["AttributeDefinitions"]]
                assert sorted(defined) == sorted({key["AttributeName"] for key in keys})
        previous = template


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_a_stack_from_before_search_reaches_todays_indexes_one_change_per_update(stage: str) -> None:
    target = generate(stage)
    current = before_search(target)
    old = list(indexes(current).values())
    plan = steps(current, target)
    assert plan[-1] == target
    assert_each_step_is_accepted(current, plan)
    assert index_changes(current, target) == 3 + 7  # three old filters go, seven indexes come
    assert len(plan) == 1 + 10  # everything but the indexes first, then one change per update
    assert indexes(plan[0]) == {index["IndexName"]: index for index in old}
    assert list(indexes(plan[3])) == ["by_email"]  # deletions first: the index limit is never crossed


def test_an_index_whose_definition_changed_is_deleted_and_then_created() -> None:
    target = generate("dev")
    changed = copy.deepcopy(indexes(target)["by_email"])
    changed["Projection"] = {"ProjectionType": "ALL"}
    others = [index for name, index in indexes(target).items() if name != "by_email"]
    current = with_customer_indexes(target, [*others, changed])
    plan = steps(current, target)
    assert len(plan) == 3  # the rest, without by_email, with today's by_email
    assert "by_email" not in indexes(plan[1])
    assert plan[-1] == target
    assert_each_step_is_accepted(current, plan)


def test_a_stack_whose_indexes_are_current_takes_one_update() -> None:
    target = generate("prod")
    assert steps(copy.deepcopy(target), target) == [target]
    assert index_changes(target, target) == 0


def test_a_table_new_to_the_stack_is_created_with_all_its_indexes_at_once() -> None:
    target = generate("dev")
    current = copy.deepcopy(target)
    del current["Resources"][CUSTOMERS]
    assert steps(current, target) == [target]
