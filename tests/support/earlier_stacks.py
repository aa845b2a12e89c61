"""Data stacks as earlier releases left them, for the upgrade tests (the plan's and the rehearsal's)."""

from __future__ import annotations

import copy
from typing import Any

CUSTOMERS = "CustomersTable"


def indexes(template: dict[str, Any], table: str = CUSTOMERS) -> dict[str, dict[str, Any]]:
    properties = template["Resources"][table]["Properties"]
    return {index["IndexName"]: index for index in properties.get("GlobalSecondaryIndexes", [])}


def with_customer_indexes(template: dict[str, Any], kept: list[dict[str, Any]]) -> dict[str, Any]:
    """``template`` as a stack from an earlier release would hold it: only ``kept`` on the customers table."""
    result = copy.deepcopy(template)
    properties = result["Resources"][CUSTOMERS]["Properties"]
    properties["GlobalSecondaryIndexes"] = kept
    used = {key["AttributeName"] for key in properties["KeySchema"]}
    used |= {key["AttributeName"] for index in kept for key in index["KeySchema"]}
    properties["AttributeDefinitions"] = [d for d in properties["AttributeDefinitions"] if d["AttributeName"] in used]
    return result


def old_filter_index(name: str, hash_key: str) -> dict[str, Any]:
    """The filter indexes before search (issue 11): sorted by id, projecting everything."""
    return {
        "IndexName": name,
        "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
    }


def before_search(target: dict[str, Any]) -> dict[str, Any]:
    """The data stack of the release before search: the email index and three filter indexes on customers."""
    return with_customer_indexes(
        target,
        [
            indexes(target)["by_email"],
            old_filter_index("by_status", "status_key"),
            old_filter_index("by_loyalty", "loyalty_key"),
            old_filter_index("by_state", "state_key"),
        ],
    )
