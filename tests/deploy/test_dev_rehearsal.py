"""Deploy rehearsal, dev: `make deploy`, redeploy and `make delete` as a user runs them, against an emulator.

The tests run in order on one emulated account: a first deploy that fails and is retried,
what it made, the built zip answering every route in a boto3-only runtime, a redeploy
from another checkout with a changed setting, and the delete; fixtures hold each step's
result, so a test run alone still runs the steps before it. Every name and setting they
expect comes from what defines it (.chalice/config.json, the policy files, chalicelib/stages.py,
the table specs, the generated templates), so a deploy that drifts from them fails here.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chalicelib.api.docs import ASSET_TYPES
from chalicelib.stages import (
    API_STAGE,
    CONSUMER_FUNCTION,
    LOG_RETENTION_DAYS,
    THROTTLING,
    deployment_record_parameter,
    event_bus_name,
    log_group_name,
    parked_records_queue_name,
    resource_name,
    table_name,
)
from chalicelib.storage.tables import ALL_TABLES, CUSTOMERS
from scripts.deploy import generate_infra
from scripts.deploy.alarms import TOPIC_PARAMETER
from scripts.deploy.api_settings import LOGGING_ROLE, alarms_stack_name
from scripts.deploy.app_template import API_FUNCTION
from scripts.deploy.app_template import CONSUMER as CONSUMER_LOGICAL_ID
from scripts.deploy.changes import PARKED_RECORDS_QUEUE, STREAM_EVENT_SETTINGS
from scripts.deploy.data_stack import stack_name
from scripts.deploy.log_groups import ACCESS_LOG_FORMAT, LOG_GROUPS
from scripts.local.stream_poller import StreamPoller
from tests.deploy import facts
from tests.support.aws_emulator import ACCOUNT, REGION, Emulator
from tests.support.lambda_runtime import LambdaRuntime
from tests.support.make import Make

STAGE = "dev"
FUNCTION = resource_name(STAGE)
CONSUMER = resource_name(STAGE, CONSUMER_FUNCTION)
ORIGIN = "https://rehearsal.example.com"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:customer-api-dev-alarms"


@dataclass
class Deployed:
    checkout: Path
    make: Make
    failed_first: str  # the output of the first deploy, which failed
    retried: str  # the output of the deploy that followed it


@pytest.fixture(scope="module")
def deployed(emulator: Emulator, new_checkout: Callable[[str], Path], aws: Callable[[str], Any]) -> Deployed:
    """A dev deploy from scratch, whose first attempt fails on a table someone made by hand."""
    emulator.reset()
    checkout = new_checkout("dev-checkout")
    make = Make(checkout, emulator)
    squatter = table_name(CUSTOMERS.base_name, STAGE)
    aws("dynamodb").create_table(**CUSTOMERS.create_table_request(squatter))
    first = make("deploy", f"STAGE={STAGE}", ok=False)
    assert first.returncode != 0
    aws("dynamodb").delete_table(TableName=squatter)
    retried = make("deploy", f"STAGE={STAGE}")
    return Deployed(checkout, make, first.stdout + first.stderr, retried.stdout + retried.stderr)


def merge_template(checkout: Path) -> dict[str, Any]:
    """The checkout's generated app template for the stage (what `make package` merges, and the deploy applies)."""
    template: dict[str, Any] = json.loads(generate_infra.app_template_path(STAGE, checkout).read_text())
    return template


def test_a_failed_first_create_says_why_and_the_rerun_cleans_up_and_succeeds(deployed: Deployed) -> None:
    assert "first create of stack customer-api-dev-data failed" in deployed.failed_first
    assert "already exists" in deployed.failed_first
    assert "left over from a failed first create (ROLLBACK_COMPLETE); deleting it to retry" in deployed.retried
    assert f"Deployed {STAGE}: https://" in deployed.retried


def test_every_table_has_its_keys_indexes_and_the_customers_stream(
    deployed: Deployed, aws: Callable[[str], Any]
) -> None:
    for spec in ALL_TABLES:
        table = aws("dynamodb").describe_table(TableName=table_name(spec.base_name, STAGE))["Table"]
        assert table["KeySchema"] == spec.key_schema()
        assert sorted(table["AttributeDefinitions"], key=str) == sorted(spec.attribute_definitions(), key=str)
        deployed_indexes = {
            index["IndexName"]: (index["KeySchema"], index["Projection"])
            for index in table.get("GlobalSecondaryIndexes", [])
        }
        expected = {
            index.name: (index.definition()["KeySchema"], index.definition()["Projection"]) for index in spec.indexes
        }
        assert deployed_indexes == expected, spec.base_name
        assert table.get("StreamSpecification", {}).get("StreamEnabled", False) is spec.stream
        if spec.stream:
            assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["DeletionProtectionEnabled"] is False  # dev is torn down by make delete


def test_the_bus_queue_secret_and_log_groups_exist_with_their_settings(
    deployed: Deployed, aws: Callable[[str], Any]
) -> None:
    aws("events").describe_event_bus(Name=event_bus_name(STAGE))
    queue_url = aws("sqs").get_queue_url(QueueName=parked_records_queue_name(STAGE))["QueueUrl"]
    attributes = aws("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["MessageRetentionPeriod"] == str(14 * 24 * 60 * 60)
    environment = json.loads((deployed.checkout / ".chalice" / "config.json").read_text())
    secret = environment["stages"][STAGE]["environment_variables"]["PAGINATION_SECRET_NAME"]
    assert aws("secretsmanager").get_secret_value(SecretId=secret)["SecretString"]
    groups = {
        g["logGroupName"]: g for g in aws("logs").describe_log_groups(logGroupNamePrefix="/customer-api/")["logGroups"]
    }
    for _, source, _ in LOG_GROUPS:
        assert groups[log_group_name(STAGE, source)]["retentionInDays"] == LOG_RETENTION_DAYS[STAGE]


@pytest.mark.parametrize("function", [facts.API_HANDLER, facts.CONSUMER])
def test_each_function_has_its_settings_environment_code_and_log_group(
    deployed: Deployed, aws: Callable[[str], Any], function: str
) -> None:
    settings = facts.function_settings(deployed.checkout, STAGE, function)
    deployed_function = aws("lambda").get_function_configuration(FunctionName=facts.function_name(STAGE, function))
    assert deployed_function["Timeout"] == settings["lambda_timeout"]
    assert deployed_function["MemorySize"] == settings["lambda_memory_size"]
    assert deployed_function["TracingConfig"]["Mode"] == ("Active" if settings.get("xray") else "PassThrough")
    variables = deployed_function["Environment"]["Variables"]
    assert settings["environment_variables"].items() <= variables.items()
    assert "COGNITO_USER_POOL_ARN" not in variables  # dev is open
    source = "api" if function == facts.API_HANDLER else function
    assert deployed_function["LoggingConfig"]["LogGroup"] == log_group_name(STAGE, source)
    code = base64.b64encode(hashlib.sha256(facts.zip_path(deployed.checkout).read_bytes()).digest()).decode()
    assert deployed_function["CodeSha256"] == code  # the zip the rehearsal runs is the one deployed


def test_the_consumer_is_wired_to_the_data_stacks_stream_queue_and_bus(
    deployed: Deployed, aws: Callable[[str], Any]
) -> None:
    outputs = facts.data_outputs(aws, STAGE)
    variables = aws("lambda").get_function_configuration(FunctionName=CONSUMER)["Environment"]["Variables"]
    assert variables["CUSTOMERS_STREAM_ARN"] == outputs["CustomersTableStreamArn"]
    assert variables["PARKED_RECORDS_QUEUE_URL"] == outputs["ParkedRecordsQueueUrl"]
    assert variables["EVENT_BUS_NAME"] == event_bus_name(STAGE) == outputs["EventBusName"]


def test_each_role_holds_exactly_its_policy_file_bound_to_the_account(
    deployed: Deployed, aws: Callable[[str], Any]
) -> None:
    for function in (facts.API_HANDLER, facts.CONSUMER):
        file = facts.function_settings(deployed.checkout, STAGE, function)["iam_policy_file"]
        document = facts.role_policy(aws, facts.function_name(STAGE, function))
        assert document == facts.bound_policy(deployed.checkout, file), function
        assert ":*:*:" not in json.dumps(document)
    roles = [r["RoleName"] for r in aws("iam").list_roles()["Roles"] if r["RoleName"].startswith(FUNCTION)]
    assert len(roles) == 2


def test_the_consumer_reads_the_stream_with_its_failure_settings(deployed: Deployed, aws: Callable[[str], Any]) -> None:
    consumer_arn = aws("lambda").get_function_configuration(FunctionName=CONSUMER)["FunctionArn"]
    (mapping,) = aws("lambda").list_event_source_mappings(FunctionName=consumer_arn)["EventSourceMappings"]
    queue_url = aws("sqs").get_queue_url(QueueName=parked_records_queue_name(STAGE))["QueueUrl"]
    queue_arn = aws("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    assert mapping["EventSourceArn"] == facts.data_outputs(aws, STAGE)["CustomersTableStreamArn"]
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == queue_arn["QueueArn"]
    for key, value in STREAM_EVENT_SETTINGS.items():
        assert mapping[key] == value, key
    assert mapping["State"] == "Enabled"


def api_id(aws: Callable[[str], Any]) -> str:
    return facts.api_id(aws, STAGE)


def routes(aws: Callable[[str], Any]) -> list[tuple[str, str]]:
    return sorted(facts.api_methods(aws, STAGE))


def template_gateway_responses(api: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """A template's gateway responses as (status, headers, body templates) by type."""
    return {
        kind: (
            response.get("StatusCode"),
            {
                f"gatewayresponse.header.{name}": value
                for name, value in response["ResponseParameters"]["Headers"].items()
            },
            response["ResponseTemplates"],
        )
        for kind, response in api["GatewayResponses"].items()
    }


def deployed_gateway_responses(aws: Callable[[str], Any]) -> dict[str, tuple[Any, ...]]:
    items = aws("apigateway").get_gateway_responses(restApiId=api_id(aws))["items"]
    return {
        item["responseType"]: (item.get("statusCode"), item["responseParameters"], item["responseTemplates"])
        for item in items
    }


def test_the_api_has_every_route_and_the_settings_of_its_template(
    deployed: Deployed, aws: Callable[[str], Any]
) -> None:
    assert routes(aws) == sorted(facts.declared_scopes(deployed.checkout))
    assert all(method["authorizationType"] == "NONE" for method in facts.api_methods(aws, STAGE).values())
    merge = merge_template(deployed.checkout)["Resources"]["RestAPI"]["Properties"]
    identifier = api_id(aws)
    assert deployed_gateway_responses(aws) == template_gateway_responses(merge)
    stage = aws("apigateway").get_stage(restApiId=identifier, stageName=API_STAGE)
    rate, burst = THROTTLING[STAGE]
    settings = stage["methodSettings"]["*/*"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (rate, burst)
    assert stage["tracingEnabled"] is True
    assert stage["accessLogSettings"]["format"] == ACCESS_LOG_FORMAT
    assert stage["accessLogSettings"]["destinationArn"].endswith(f":log-group:{log_group_name(STAGE, 'api-access')}")
    assert aws("apigateway").get_account()["cloudwatchRoleArn"].endswith(f"role/{LOGGING_ROLE}")


def alarm_shape(alarm: dict[str, Any]) -> tuple[Any, ...]:
    """What an alarm watches and when it fires, in the template's terms and in DescribeAlarms' alike."""
    metrics = sorted(
        query.get("Expression") or json.dumps(query.get("MetricStat"), sort_keys=True)
        for query in alarm.get("Metrics", [])
    )
    return (
        alarm["AlarmDescription"],
        alarm.get("Namespace"),
        alarm.get("MetricName"),
        float(alarm["Threshold"]),
        alarm["ComparisonOperator"],
        int(alarm["EvaluationPeriods"]),
        metrics,
    )


def named(value: Any) -> Any:
    """The template's references to the stage's tables, functions and queue, as the names they have."""
    names = {spec.logical_id: table_name(spec.base_name, STAGE) for spec in ALL_TABLES}
    names |= {API_FUNCTION: FUNCTION, CONSUMER_LOGICAL_ID: CONSUMER}
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in names:
            return names[value["Ref"]]
        if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"] == [PARKED_RECORDS_QUEUE, "QueueName"]:
            return parked_records_queue_name(STAGE)
        return {key: named(item) for key, item in value.items()}
    if isinstance(value, list):
        return [named(item) for item in value]
    return value


def test_the_alarms_stack_watches_the_tables_functions_queue_and_bus(
    deployed: Deployed, aws: Callable[[str], Any]
) -> None:
    merge = merge_template(deployed.checkout)
    expected = sorted(
        alarm_shape(named(resource["Properties"]))
        for resource in merge["Resources"].values()
        if resource.get("Type") == "AWS::CloudWatch::Alarm"
    )
    alarms = aws("cloudwatch").describe_alarms(AlarmNamePrefix=alarms_stack_name(STAGE))["MetricAlarms"]
    assert sorted(alarm_shape(alarm) for alarm in alarms) == expected
    assert all(alarm["AlarmActions"] == [] for alarm in alarms)
    assert "Alarms of dev notify no topic" in deployed.retried


@pytest.fixture(scope="module")
def runtime(
    deployed: Deployed, emulator: Emulator, aws: Callable[[str], Any]
) -> Iterator[Callable[[str], LambdaRuntime]]:
    with facts.runtimes(deployed.checkout, emulator, aws) as start:
        yield start


call = facts.call


def create_customer(api: LambdaRuntime, first_name: str, last_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A customer made through the zip: (what was sent, what came back)."""
    body = {"first_name": first_name, "last_name": last_name, "email_address": f"{first_name.lower()}@example.com"}
    status, created = call(api, "POST", "/customers", body=body)
    assert status == 201, created
    return body, created


def test_the_deployed_zip_answers_every_route(
    deployed: Deployed, runtime: Callable[[str], LambdaRuntime], aws: Callable[[str], Any]
) -> None:
    api = runtime(FUNCTION)
    body, created = create_customer(api, "Ana", "Silva")
    customer_id = created["customer_id"]
    item = "/customers/{customer_id}"
    one = {"customer_id": customer_id}
    answered: dict[tuple[str, str], int] = {("/customers", "POST"): 201}

    def route(method: str, resource: str, path: str, expected: int, **kwargs: Any) -> Any:
        got, response = call(api, method, path, resource, path_parameters=kwargs.pop("params", None), **kwargs)
        assert got == expected, (method, path, response)
        answered[(resource, method)] = got
        return response

    route("GET", item, f"/customers/{customer_id}", 200, params=one)
    route("GET", "/customers", "/customers", 200, query={"limit": "5"})
    route(
        "PUT",
        item,
        f"/customers/{customer_id}",
        200,
        params=one,
        body={"lifetime_value": 2000.0, "customer_status": "active"},
    )
    route(
        "PATCH",
        item,
        f"/customers/{customer_id}",
        200,
        params=one,
        body={"city": "Evanston"},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    route("GET", f"{item}/history", f"/customers/{customer_id}/history", 200, params=one)
    route("GET", "/events", "/events", 200)
    route("GET", f"{item}/export", f"/customers/{customer_id}/export", 200, params=one)
    route("DELETE", item, f"/customers/{customer_id}", 204, params=one)
    route("POST", f"{item}/restore", f"/customers/{customer_id}/restore", 200, params=one)
    route("POST", f"{item}/erasure", f"/customers/{customer_id}/erasure", 200, params=one)
    route("POST", "/customers/batch", "/customers/batch", 207, body={"operations": [{"op": "upsert", "body": body}]})
    route("POST", "/seed", "/seed", 201)
    assert route("GET", "/openapi.json", "/openapi.json", 200)["openapi"].startswith("3.")
    route("GET", "/docs", "/docs", 200)
    for asset in ASSET_TYPES:
        got, _ = call(api, "GET", f"/docs/{asset}", "/docs/{asset_name}", path_parameters={"asset_name": asset})
        assert got == 200, asset
    route("GET", "/docs/{asset_name}", "/docs/nothing-here.js", 404, params={"asset_name": "nothing-here.js"})
    assert sorted(answered) == routes(aws)
    assert body["email_address"] not in api.logs()


def test_the_consumer_turns_the_streams_records_into_history(
    deployed: Deployed, runtime: Callable[[str], LambdaRuntime], aws: Callable[[str], Any]
) -> None:
    api = runtime(FUNCTION)
    _, created = create_customer(api, "Bo", "Berg")
    stream_arn = aws("dynamodb").describe_table(TableName=table_name(CUSTOMERS.base_name, STAGE))["Table"][
        "LatestStreamArn"
    ]
    handler = aws("lambda").get_function_configuration(FunctionName=CONSUMER)["Handler"]
    answers: list[Any] = []

    def consumer(event: dict[str, Any]) -> Any:
        answers.append(runtime(CONSUMER).invoke(handler, event))
        return answers[-1]

    # `make run`'s poller plays Lambda's: every record on the stream, in batches, to the deployed consumer.
    poller = StreamPoller(aws("dynamodbstreams"), stream_arn, consumer, region=REGION, max_retries=0)
    assert poller.poll_once() > 0
    assert answers
    assert all(answer == {"batchItemFailures": []} for answer in answers)
    one = {"customer_id": created["customer_id"]}
    status, history = call(
        api,
        "GET",
        f"/customers/{created['customer_id']}/history",
        "/customers/{customer_id}/history",
        path_parameters=one,
    )
    assert status == 200
    assert [(entry["version"], entry["change"]) for entry in history["history"]] == [(1, "created")]


@dataclass
class Redeployed:
    checkout: Path  # a second clone, as a teammate or CI has it, where the user set a new CORS origin
    output: str
    functions_before: list[str]
    api_before: str


@pytest.fixture(scope="module")
def redeployed(
    deployed: Deployed, emulator: Emulator, new_checkout: Callable[[str], Path], aws: Callable[[str], Any]
) -> Redeployed:
    """After someone set the alarm topic on the stack by hand, a deploy from another checkout with a new origin."""
    other = new_checkout("dev-other-checkout")
    config_path = other / ".chalice" / "config.json"
    config = json.loads(config_path.read_text())
    config["stages"][STAGE]["environment_variables"]["CORS_ALLOW_ORIGIN"] = ORIGIN
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    aws("cloudformation").update_stack(
        StackName=alarms_stack_name(STAGE),
        UsePreviousTemplate=True,
        Parameters=[{"ParameterKey": TOPIC_PARAMETER, "ParameterValue": TOPIC}],
    )
    functions_before = sorted(f["FunctionName"] for f in aws("lambda").list_functions()["Functions"])
    api_before = api_id(aws)
    done = Make(other, emulator)("deploy", f"STAGE={STAGE}")
    return Redeployed(other, done.stdout, functions_before, api_before)


def test_a_redeploy_from_another_checkout_updates_in_place(redeployed: Redeployed, aws: Callable[[str], Any]) -> None:
    assert "Updating lambda function" in redeployed.output
    assert "Creating lambda function" not in redeployed.output
    assert sorted(f["FunctionName"] for f in aws("lambda").list_functions()["Functions"]) == redeployed.functions_before
    assert api_id(aws) == redeployed.api_before
    assert generate_infra.main(["--check"], root=redeployed.checkout) == 0  # the deploy regenerated what changed


def test_the_redeploy_carries_the_new_origin_into_api_gateways_own_answers_and_the_function(
    redeployed: Redeployed, aws: Callable[[str], Any]
) -> None:
    headers = {
        response[1]["gatewayresponse.header.Access-Control-Allow-Origin"]
        for response in deployed_gateway_responses(aws).values()
    }
    assert headers == {f"'{ORIGIN}'"}
    variables = aws("lambda").get_function_configuration(FunctionName=FUNCTION)["Environment"]["Variables"]
    assert variables["CORS_ALLOW_ORIGIN"] == ORIGIN


def test_the_redeploy_keeps_the_alarm_topic_set_by_hand(redeployed: Redeployed, aws: Callable[[str], Any]) -> None:
    assert f"Alarms of dev notify {TOPIC}." in redeployed.output
    (described,) = aws("cloudformation").describe_stacks(StackName=alarms_stack_name(STAGE))["Stacks"]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}[TOPIC_PARAMETER] == TOPIC
    alarms = aws("cloudwatch").describe_alarms(AlarmNamePrefix=alarms_stack_name(STAGE))["MetricAlarms"]
    assert alarms
    assert all(alarm["AlarmActions"] == [TOPIC] and alarm["OKActions"] == [TOPIC] for alarm in alarms)


def test_make_package_gives_the_api_the_settings_make_deploy_gave_it(
    redeployed: Redeployed, emulator: Emulator, aws: Callable[[str], Any]
) -> None:
    """In the checkout whose CORS origin changed: neither step may build from a stale template."""
    Make(redeployed.checkout, emulator)("package", f"STAGE={STAGE}")
    packaged = json.loads((redeployed.checkout / "dist" / STAGE / "sam.json").read_text())
    api = packaged["Resources"]["RestAPI"]["Properties"]
    identifier = api_id(aws)
    assert deployed_gateway_responses(aws) == template_gateway_responses(api)
    stage = aws("apigateway").get_stage(restApiId=identifier, stageName=API_STAGE)
    (method_settings,) = api["MethodSettings"]
    settings = stage["methodSettings"]["*/*"]
    assert settings["throttlingRateLimit"] == method_settings["ThrottlingRateLimit"]
    assert settings["throttlingBurstLimit"] == method_settings["ThrottlingBurstLimit"]
    assert settings["metricsEnabled"] == method_settings["MetricsEnabled"]
    assert stage["tracingEnabled"] == api["TracingEnabled"]
    assert stage["accessLogSettings"]["format"] == api["AccessLogSetting"]["Format"]


def test_delete_refuses_when_it_cannot_find_the_record_of_what_it_would_delete(
    deployed: Deployed, aws: Callable[[str], Any]
) -> None:
    parameter = deployment_record_parameter(STAGE)
    record = aws("ssm").get_parameter(Name=parameter)["Parameter"]["Value"]
    aws("ssm").delete_parameter(Name=parameter)
    try:
        refused = deployed.make("delete", f"STAGE={STAGE}", ok=False)
        assert refused.returncode != 0
        assert f"{FUNCTION} exists in this account, but there is no record of its deployment" in refused.stderr
        aws("lambda").get_function(FunctionName=FUNCTION)
        aws("cloudformation").describe_stacks(StackName=stack_name(STAGE))
    finally:
        aws("ssm").put_parameter(Name=parameter, Value=record, Type="String")


def test_delete_leaves_nothing_of_the_stage(deployed: Deployed, aws: Callable[[str], Any]) -> None:
    deployed.make("delete", f"STAGE={STAGE}")

    assert aws("lambda").list_functions()["Functions"] == []
    assert [a for a in aws("apigateway").get_rest_apis()["items"] if a["name"] == FUNCTION] == []
    assert aws("dynamodb").list_tables()["TableNames"] == []
    assert [
        s for s in aws("cloudformation").list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"
    ] == []
    roles = [r["RoleName"] for r in aws("iam").list_roles()["Roles"] if r["RoleName"].startswith(FUNCTION)]
    assert roles == []
    assert aws("lambda").list_event_source_mappings()["EventSourceMappings"] == []
    assert aws("ssm").get_parameters_by_path(Path=f"/customer-api/{STAGE}/")["Parameters"] == []
    assert aws("logs").describe_log_groups(logGroupNamePrefix=f"/customer-api/{STAGE}/")["logGroups"] == []
    assert aws("sqs").list_queues().get("QueueUrls", []) == []
    assert aws("cloudwatch").describe_alarms(AlarmNamePrefix="customer-api-dev")["MetricAlarms"] == []
    assert [bus["Name"] for bus in aws("events").list_event_buses()["EventBuses"]] == ["default"]
    assert aws("secretsmanager").list_secrets()["SecretList"] == []
