"""Deploy rehearsal, prod: one pass with the user pool wired in, an upgrade, and deletes that keep the data.

The first `make deploy STAGE=prod` must need nothing pasted by hand (the pool's ARN comes
from the data stack's outputs); the second takes the update path a real upgrade takes; a
`make delete` without CONFIRM changes nothing, and with it removes the functions and API
while the customers, the tables and their stack stay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chalicelib.api.access import READ_SCOPE, WRITE_SCOPE
from chalicelib.stages import deployment_record_parameter, event_bus_name, resource_name, table_name
from chalicelib.storage.tables import ALL_TABLES, CUSTOMERS
from scripts.deploy.api_settings import alarms_stack_name
from scripts.deploy.data_stack import stack_name
from tests.deploy import facts
from tests.support.aws_emulator import Emulator
from tests.support.make import Make

STAGE = "prod"
FUNCTION = resource_name(STAGE)
KEPT_ID = "3f0c2a52-8a0e-4c1e-9a8e-2b6f1c0d4a01"


@dataclass
class Deployed:
    make: Make
    failed: str  # a first create that failed
    refused: str  # the rerun, which leaves the rolled-back stack to the operator
    first: str  # the first deploy after the operator cleaned up
    second: str  # the next deploy: the update path


@pytest.fixture(scope="module")
def deployed(emulator: Emulator, new_checkout: Callable[[str], Path], aws: Callable[[str], Any]) -> Deployed:
    """A prod deploy whose first create fails on a bus of the same name; the operator does what it says; two more.

    The bus is made after the tables, so the rollback keeps them (Retain) and the retry
    would fail on their names unless the operator deletes them as the deploy says.
    """
    emulator.reset()
    make = Make(new_checkout("prod-checkout"), emulator)
    aws("events").create_event_bus(Name=event_bus_name(STAGE))
    failed = make("deploy", f"STAGE={STAGE}", ok=False)
    refused = make("deploy", f"STAGE={STAGE}", ok=False)
    assert failed.returncode != 0
    assert refused.returncode != 0
    cloudformation = aws("cloudformation")
    cloudformation.update_termination_protection(StackName=stack_name(STAGE), EnableTerminationProtection=False)
    cloudformation.delete_stack(StackName=stack_name(STAGE))
    for line in (refused.stdout + refused.stderr).splitlines():
        if line.strip().startswith("AWS::DynamoDB::Table "):
            table = line.split()[1]
            aws("dynamodb").update_table(TableName=table, DeletionProtectionEnabled=False)
            aws("dynamodb").delete_table(TableName=table)
    aws("events").delete_event_bus(Name=event_bus_name(STAGE))
    first = make("deploy", f"STAGE={STAGE}")
    second = make("deploy", f"STAGE={STAGE}")
    return Deployed(
        make,
        failed.stdout + failed.stderr,
        refused.stdout + refused.stderr,
        first.stdout + first.stderr,
        second.stdout + second.stderr,
    )


def data_outputs(aws: Callable[[str], Any]) -> dict[str, str]:
    return facts.data_outputs(aws, STAGE)


def api_id(aws: Callable[[str], Any]) -> str:
    return facts.api_id(aws, STAGE)


def test_a_failed_first_create_of_prod_is_never_deleted_by_the_deploy(deployed: Deployed) -> None:
    assert f"Event bus {event_bus_name(STAGE)} already exists" in deployed.failed
    assert f"stack {stack_name(STAGE)} is in ROLLBACK_COMPLETE" in deployed.refused
    assert "It is never deleted automatically" in deployed.refused
    assert "update-termination-protection --no-enable-termination-protection" in deployed.refused
    assert "deleting it to retry" not in deployed.refused
    kept = sorted(line.split()[1] for line in deployed.refused.splitlines() if "AWS::DynamoDB::Table " in line)
    assert kept == sorted(table_name(spec.base_name, STAGE) for spec in ALL_TABLES)  # the rollback's leftovers


def test_one_pass_deploys_prod_with_its_user_pool_wired_into_the_authorizer_and_functions(
    deployed: Deployed, aws: Callable[[str], Any]
) -> None:
    assert f"Deployed {STAGE}: https://" in deployed.first
    pool_arn = data_outputs(aws)["UserPoolArn"]
    (authorizer,) = aws("apigateway").get_authorizers(restApiId=api_id(aws))["items"]
    assert authorizer["type"] == "COGNITO_USER_POOLS"
    assert authorizer["providerARNs"] == [pool_arn]
    for name in (FUNCTION, resource_name(STAGE, "record_changes")):
        variables = aws("lambda").get_function_configuration(FunctionName=name)["Environment"]["Variables"]
        assert variables["COGNITO_USER_POOL_ARN"] == pool_arn, name


def test_every_route_needs_a_token_with_its_scope(deployed: Deployed, aws: Callable[[str], Any]) -> None:
    methods = facts.api_methods(aws, STAGE)
    declared = facts.declared_scopes(deployed.make.checkout)
    assert sorted(methods) == sorted(declared)
    for route, method in methods.items():
        assert method["authorizationType"] == "COGNITO_USER_POOLS", route
        assert method["authorizationScopes"] == declared[route], route
    assert declared[("/customers", "GET")] == [READ_SCOPE]
    assert declared[("/customers", "POST")] == [WRITE_SCOPE]


def test_the_pool_lets_nobody_sign_up_and_issues_exactly_the_routes_scopes(
    deployed: Deployed, aws: Callable[[str], Any]
) -> None:
    cognito = aws("cognito-idp")
    pool_id = data_outputs(aws)["UserPoolArn"].rsplit("/", 1)[1]
    pool = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["DeletionProtection"] == "ACTIVE"
    (server,) = cognito.list_resource_servers(UserPoolId=pool_id, MaxResults=10)["ResourceServers"]
    issued = {f"{server['Identifier']}/{scope['ScopeName']}" for scope in server["Scopes"]}
    assert issued == {READ_SCOPE, WRITE_SCOPE}
    clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=10)["UserPoolClients"]
    allowed = {
        client["ClientName"]: sorted(
            cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client["ClientId"])["UserPoolClient"][
                "AllowedOAuthScopes"
            ]
        )
        for client in clients
    }
    assert allowed == {
        resource_name(STAGE, "reader"): [READ_SCOPE],
        resource_name(STAGE, "writer"): sorted([READ_SCOPE, WRITE_SCOPE]),
    }


@pytest.mark.parametrize("function", [facts.API_HANDLER, facts.CONSUMER])
def test_each_prod_function_has_its_settings_and_its_policy_bound_to_the_account(
    deployed: Deployed, aws: Callable[[str], Any], function: str
) -> None:
    settings = facts.function_settings(deployed.make.checkout, STAGE, function)
    name = facts.function_name(STAGE, function)
    configuration = aws("lambda").get_function_configuration(FunctionName=name)
    assert configuration["Timeout"] == settings["lambda_timeout"]
    assert configuration["MemorySize"] == settings["lambda_memory_size"]
    assert settings["environment_variables"].items() <= configuration["Environment"]["Variables"].items()
    assert facts.role_policy(aws, name) == facts.bound_policy(deployed.make.checkout, settings["iam_policy_file"])


def test_the_table_is_protected_from_the_api_functions_load_and_from_deletion(
    deployed: Deployed, aws: Callable[[str], Any]
) -> None:
    concurrency = aws("lambda").get_function_concurrency(FunctionName=FUNCTION)
    expected = facts.function_settings(deployed.make.checkout, STAGE, facts.API_HANDLER)["reserved_concurrency"]
    assert concurrency["ReservedConcurrentExecutions"] == expected
    for spec in ALL_TABLES:
        table = aws("dynamodb").describe_table(TableName=table_name(spec.base_name, STAGE))["Table"]
        assert table["DeletionProtectionEnabled"] is True, spec.base_name
    (stack,) = aws("cloudformation").describe_stacks(StackName=stack_name(STAGE))["Stacks"]
    assert stack["EnableTerminationProtection"] is True


def test_a_second_deploy_updates_what_the_first_made(deployed: Deployed, aws: Callable[[str], Any]) -> None:
    assert "Updating lambda function" in deployed.second
    assert "Creating lambda function" not in deployed.second
    assert f"Data stack {stack_name(STAGE)} is up to date." in deployed.second
    assert len([a for a in aws("apigateway").get_rest_apis()["items"] if a["name"] == FUNCTION]) == 1


def test_the_prod_zip_takes_its_caller_from_the_token_and_refuses_to_seed(
    deployed: Deployed, emulator: Emulator, aws: Callable[[str], Any]
) -> None:
    """API Gateway checks the token and its scopes; the function records the client the claims name."""
    claims = {"claims": {"client_id": "writer-client-id", "scope": WRITE_SCOPE, "token_use": "access"}}
    body = {"first_name": "Prod", "last_name": "Caller", "email_address": "prod.caller@example.com"}
    with facts.runtimes(deployed.make.checkout, emulator, aws) as start:
        api = start(FUNCTION)
        status, created = facts.call(api, "POST", "/customers", body=body, authorizer=claims)
        assert status == 201, created
        assert created["created_by"] == "writer-client-id"
        status, refused = facts.call(api, "POST", "/seed", authorizer=claims)
        assert status == 403, refused
        assert refused["error"]["code"] == "forbidden"
        assert body["email_address"] not in api.logs()


def test_delete_without_confirm_changes_nothing(deployed: Deployed, aws: Callable[[str], Any]) -> None:
    before = account_state(aws)
    refused = deployed.make("delete", f"STAGE={STAGE}", ok=False)
    assert refused.returncode != 0
    assert "nothing was deleted" in refused.stdout + refused.stderr
    assert account_state(aws) == before


def account_state(aws: Callable[[str], Any]) -> dict[str, Any]:
    """What a delete could take away: functions, APIs, stacks, tables, alarms, the deployment record."""
    return {
        "functions": sorted(f["FunctionName"] for f in aws("lambda").list_functions()["Functions"]),
        "apis": sorted(a["id"] for a in aws("apigateway").get_rest_apis()["items"]),
        "stacks": sorted(
            (s["StackName"], s["StackStatus"])
            for s in aws("cloudformation").list_stacks()["StackSummaries"]
            if s["StackStatus"] != "DELETE_COMPLETE"
        ),
        "tables": sorted(aws("dynamodb").list_tables()["TableNames"]),
        "alarms": sorted(a["AlarmName"] for a in aws("cloudwatch").describe_alarms()["MetricAlarms"]),
        "record": aws("ssm").get_parameter(Name=deployment_record_parameter(STAGE))["Parameter"]["Value"],
    }


def test_delete_with_confirm_takes_the_functions_and_api_and_keeps_every_customer(
    deployed: Deployed, aws: Callable[[str], Any]
) -> None:
    customers = table_name(CUSTOMERS.base_name, STAGE)
    aws("dynamodb").put_item(TableName=customers, Item={"customer_id": {"S": KEPT_ID}})

    done = deployed.make("delete", f"STAGE={STAGE}", "CONFIRM=prod")

    assert "Kept the prod data stack" in done.stdout
    assert aws("lambda").list_functions()["Functions"] == []
    assert [a for a in aws("apigateway").get_rest_apis()["items"] if a["name"] == FUNCTION] == []
    assert (
        aws("cloudformation")
        .describe_stacks(StackName=stack_name(STAGE))["Stacks"][0]["StackStatus"]
        .endswith("_COMPLETE")
    )
    assert aws("dynamodb").get_item(TableName=customers, Key={"customer_id": {"S": KEPT_ID}})["Item"]
    assert sorted(aws("dynamodb").list_tables()["TableNames"]) == sorted(
        table_name(spec.base_name, STAGE) for spec in ALL_TABLES
    )
    statuses = {s["StackName"]: s["StackStatus"] for s in aws("cloudformation").list_stacks()["StackSummaries"]}
    assert statuses[alarms_stack_name(STAGE)] == "DELETE_COMPLETE"


def test_the_data_stack_itself_refuses_to_be_deleted(deployed: Deployed, aws: Callable[[str], Any]) -> None:
    """Even by hand: termination protection stands between an operator's typo and the customers."""
    with pytest.raises(aws("cloudformation").exceptions.ClientError, match="TerminationProtection"):
        aws("cloudformation").delete_stack(StackName=stack_name(STAGE))
    assert aws("dynamodb").describe_table(TableName=table_name(CUSTOMERS.base_name, STAGE))["Table"]
