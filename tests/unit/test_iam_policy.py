"""The deployed stages' IAM policies grant exactly the DynamoDB actions the app really makes."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.config import get_settings
from chalicelib.stages import table_name
from chalicelib.storage.tables import ALL_TABLES
from tests.support import JSON, Api, create, new_customer

ROOT = Path(__file__).resolve().parents[2]
DEPLOYED_STAGES = ("dev", "prod")
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def exercise_every_data_path(api: Api) -> None:
    """Every route and every branch that reaches DynamoDB differently."""
    api.post("/seed")
    customer = create(api)
    cid = customer["customer_id"]
    keyed = new_customer()
    api.post("/customers", keyed, headers={**JSON, "Idempotency-Key": "policy"})
    api.post("/customers", keyed, headers={**JSON, "Idempotency-Key": "policy"})  # replay reads the record
    api.get(f"/customers/{cid}")
    api.get("/customers?limit=2")
    api.get("/customers?customer_status=active&limit=2")  # an index Query
    api.put(f"/customers/{cid}", {"city": "Oslo"})
    api.put(f"/customers/{cid}", {"city": "Rome"}, headers={**JSON, "If-Match": '"1"'})  # stale: re-read
    api.put(f"/customers/{cid}", {"email_address": "moved.policy@example.com"})
    api.delete(f"/customers/{cid}")


def used_actions(api: Api) -> dict[str, set[str]]:
    """(table logical id) -> IAM actions, recorded from the calls the app sends while serving requests."""
    settings = get_settings()
    logical = {settings.table(spec): spec.logical_id for spec in ALL_TABLES}
    used: dict[str, set[str]] = defaultdict(set)

    def record(model: Any, params: dict[str, Any], **kwargs: Any) -> None:
        if model.name == "TransactWriteItems":
            for item in params["TransactItems"]:
                ((kind, request),) = item.items()
                used[logical[request["TableName"]]].add(f"dynamodb:{_TRANSACT_ACTIONS[kind]}")
        else:
            used[logical[params["TableName"]]].add(f"dynamodb:{model.name}")

    events = wiring.dynamodb_client().meta.events
    events.register("provide-client-params.dynamodb", record)
    try:
        exercise_every_data_path(api)
    finally:
        events.unregister("provide-client-params.dynamodb", record)
    return dict(used)


def granted_actions(stage: str) -> tuple[dict[str, set[str]], list[dict[str, Any]]]:
    policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    logical_id_of = {table_name(spec.base_name, stage): spec.logical_id for spec in ALL_TABLES}
    granted: dict[str, set[str]] = defaultdict(set)
    others = []
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if not all(action.startswith("dynamodb:") for action in actions):
            others.append(statement)
            continue
        for resource in statement["Resource"]:
            table = resource.split(":table/")[1].split("/index/")[0]
            granted[logical_id_of[table]].update(actions)
    return dict(granted), others


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_policy_grants_exactly_the_dynamodb_actions_the_app_uses(api: Api, stage: str) -> None:
    used = used_actions(api)
    granted, _ = granted_actions(stage)
    assert granted == used


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_policy_has_no_wildcards_beyond_xray(stage: str) -> None:
    policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), statement
        if any(not action.startswith("xray:") for action in actions):
            assert "*" not in statement["Resource"], statement
            assert all(f"-{stage}" in resource or f"/{stage}/" in resource for resource in statement["Resource"]), (
                statement
            )
    covered = {action.split(":")[0] for statement in policy["Statement"] for action in statement["Action"]}
    assert covered == {"dynamodb", "logs", "xray", "secretsmanager"}


def test_stages_use_their_policy_files_and_tracing() -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert config["autogen_policy"] is False
    for stage in DEPLOYED_STAGES:
        assert config["stages"][stage]["iam_policy_file"] == f"policy-{stage}.json"
        assert config["stages"][stage]["xray"] is True


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_policy_log_group_is_the_function_that_chalice_and_the_template_create(stage: str) -> None:
    policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    (logs,) = [statement for statement in policy["Statement"] if statement["Sid"] == "Logs"]
    app_name = json.loads((ROOT / ".chalice" / "config.json").read_text())["app_name"]
    merge = json.loads((ROOT / "infra" / f"app-{stage}.json").read_text())
    function_name = merge["Resources"]["APIHandler"]["Properties"]["FunctionName"]
    assert function_name == f"{app_name}-{stage}"  # the name `chalice deploy` gives it
    assert f"arn:aws:logs:*:*:log-group:/aws/lambda/{function_name}:*" in logs["Resource"]
