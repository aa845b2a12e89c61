"""The templates that take a deployed data stack to today's, one index change per table per update.

CloudFormation refuses an update that creates or deletes more than one global secondary
index on a table ("Cannot perform more than one GSI creation or deletion in a single
update"), and a stack made by an earlier release can be several indexes behind (four
at once for the filter indexes, more with each release). So the deploy reads the stack's
current template and walks to the target through intermediate templates:

1. the target with each table's indexes as they are now (every other change lands here);
2. one index deletion per table per step (an index whose definition changed goes first:
   CloudFormation cannot change an index in place);
3. one index creation per table per step, the last step being the target itself.

Each template lists only the attribute definitions its keys and indexes use, as
CloudFormation requires. A new stack, or one with no index change, takes one step.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

TABLE = "AWS::DynamoDB::Table"


def _indexes(properties: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {index["IndexName"]: index for index in properties.get("GlobalSecondaryIndexes", [])}


def _attributes_used(properties: Mapping[str, Any]) -> set[str]:
    keys = list(properties["KeySchema"])
    for index in properties.get("GlobalSecondaryIndexes", []):
        keys.extend(index["KeySchema"])
    return {key["AttributeName"] for key in keys}


def _with_indexes(
    properties: Mapping[str, Any], indexes: list[dict[str, Any]], definitions: Mapping[str, Any]
) -> dict[str, Any]:
    """The table's properties with exactly ``indexes`` and the attribute definitions they need."""
    result = copy.deepcopy(dict(properties))
    if indexes:
        result["GlobalSecondaryIndexes"] = copy.deepcopy(indexes)
    else:
        result.pop("GlobalSecondaryIndexes", None)
    used = _attributes_used(result)
    result["AttributeDefinitions"] = [definitions[name] for name in sorted(used)]
    return result


def _tables(template: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == TABLE
    }


Plan = dict[str, tuple[list[str], list[dict[str, Any]]]]


def _plan(current: Mapping[str, Any], target: Mapping[str, Any]) -> Plan:
    """Per table already in the stack: the index names to delete and the index definitions to create."""
    before = _tables(current)
    plan: Plan = {}
    for logical_id, properties in _tables(target).items():
        if logical_id not in before:
            continue  # a new table is created with all its indexes at once
        now, wanted = _indexes(before[logical_id]), _indexes(properties)
        removals = [name for name, index in now.items() if wanted.get(name) != index]
        additions = [index for name, index in wanted.items() if now.get(name) != index]
        plan[logical_id] = (removals, additions)
    return plan


def index_changes(current: Mapping[str, Any], target: Mapping[str, Any]) -> int:
    """How many index creations and deletions the upgrade makes (0: the stack's indexes are current)."""
    return sum(len(removals) + len(additions) for removals, additions in _plan(current, target).values())


def steps(current: Mapping[str, Any], target: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Templates to apply in order; the last is ``target``."""
    before = _tables(current)
    plans = _plan(current, target)
    if not index_changes(current, target):
        return [dict(target)]

    definitions: dict[str, dict[str, Any]] = {}
    for properties in (*before.values(), *_tables(target).values()):
        for definition in properties.get("AttributeDefinitions", []):
            definitions.setdefault(definition["AttributeName"], definition)
    # Each table's index list at each step, starting from what it has now.
    states = {logical_id: list(_indexes(before[logical_id]).values()) for logical_id in plans}
    sequence: list[dict[str, list[dict[str, Any]]]] = [copy.deepcopy(states)]
    while any(removals or additions for removals, additions in plans.values()):
        for logical_id, (removals, additions) in plans.items():
            if removals:
                name = removals.pop(0)
                states[logical_id] = [index for index in states[logical_id] if index["IndexName"] != name]
            elif additions:
                states[logical_id].append(additions.pop(0))
        sequence.append(copy.deepcopy(states))

    templates = []
    for state in sequence[:-1]:
        template = copy.deepcopy(dict(target))
        for logical_id, indexes in state.items():
            resource = template["Resources"][logical_id]
            resource["Properties"] = _with_indexes(resource["Properties"], indexes, definitions)
        templates.append(template)
    return [*templates, dict(target)]
