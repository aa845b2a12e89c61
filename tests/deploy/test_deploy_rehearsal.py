"""`make deploy`, `make package` and `make delete` as a user runs them, against a moto server.

The only difference from a real account is the endpoint (``AWS_ENDPOINT_URL``) and the
shims of tests/support/aws_emulator.py, each of which says what real AWS does. The tests
run in order, one stage's life after another: dev's first deploy (after a failed one), its
code run as Lambda runs it, a redeploy from another checkout, its delete; an upgrade of a
stack from before the filter indexes; prod's first deploy in one pass, and its delete.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chalicelib.stages import CONSUMER_FUNCTION, LOG_RETENTION_DAYS, deployment_record_parameter, table_name
from chalicelib.storage.tables import ALL_TABLES, CUSTOMERS
from scripts.deploy import policies
from scripts.deploy.changes import STREAM_EVENT_SETTINGS
from scripts.deploy.generate_infra import generate
from tests.deploy.conftest import copy_checkout
from tests.support.aws_emulator import Emulator
from tests.support.lambda_runtime import LambdaRuntime, api_gateway_proxy_event, dynamodb_stream_event

Clients = Callable[[str], Any]
ACCOUNT_REGION = "us-east-1"


def make(checkout: Path, emulator: Emulator, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *arguments],
        cwd=checkout,
        env=emulator.environment(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


@dataclass
class Checkouts:
    first: Path
    second: Path


@pytest.fixture(scope="module")
def checkouts(tmp_path_factory: pytest.TempPathFactory, package_cache: Path) -> Checkouts:
    return Checkouts(
        copy_checkout(tmp_path_factory.mktemp("checkout-a"), package_cache),
        copy_checkout(tmp_path_factory.mktemp("checkout-b"), package_cache),
    )


def block_table(aws: Clients, name: str) -> None:
    """A table of the name the data stack wants: its create fails, as it would in a real account."""
    aws("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def stack_status(aws: Clients, name: str) -> str | None:
    stacks = aws("cloudformation").list_stacks()["StackSummaries"]
    live = [s for s in stacks if s["StackName"] == name and s["StackStatus"] != "DELETE_COMPLETE"]
    return str(live[0]["StackStatus"]) if live else None


def stack_outputs(aws: Clients, name: str) -> dict[str, str]:
    (stack,) = aws("cloudformation").describe_stacks(StackName=name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def record(aws: Clients, stage: str) -> dict[str, dict[str, Any]]:
    value = aws("ssm").get_parameter(Name=deployment_record_parameter(stage))["Parameter"]["Value"]
    return {resource["name"]: resource for resource in json.loads(value)["resources"]}


# ---------------------------------------------------------------------------------------------- dev


@dataclass
class FirstDeploy:
    failed: subprocess.CompletedProcess[str]
    status_after_failure: str | None
    retried: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def dev(checkouts: Checkouts, emulator: Emulator, aws: Clients) -> FirstDeploy:
    blocker = table_name("customer-emails", "dev")
    block_table(aws, blocker)
    failed = make(checkouts.first, emulator, "deploy", "STAGE=dev")
    status = stack_status(aws, "customer-api-dev-data")
    aws("dynamodb").delete_table(TableName=blocker)
    retried = make(checkouts.first, emulator, "deploy", "STAGE=dev")
    assert retried.returncode == 0, output(retried)
    return FirstDeploy(failed, status, retried)


def test_a_failed_first_create_is_cleaned_up_and_retried_on_dev(dev: FirstDeploy) -> None:
    assert dev.failed.returncode != 0
    assert "the first create of stack customer-api-dev-data failed" in output(dev.failed)
    assert "customer-emails-dev" in output(dev.failed)  # CloudFormation's own reason, passed on
    assert dev.status_after_failure == "ROLLBACK_COMPLETE"
    assert "left over from a failed first create" in output(dev.retried)
    assert "Deployed dev: " in dev.retried.stdout


def test_every_table_has_its_keys_indexes_and_stream(dev: FirstDeploy, aws: Clients) -> None:
    dynamodb = aws("dynamodb")
    for spec in ALL_TABLES:
        table = dynamodb.describe_table(TableName=table_name(spec.base_name, "dev"))["Table"]
        assert table["KeySchema"] == spec.key_schema()
        assert sorted(i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])) == sorted(
            index.name for index in spec.indexes
        )
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        if spec.stream:
            assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_bus_queue_log_groups_and_the_deployment_record_exist(
    dev: FirstDeploy, aws: Clients, checkouts: Checkouts
) -> None:
    assert aws("events").describe_event_bus(Name="customer-api-dev")["Name"] == "customer-api-dev"
    assert aws("sqs").get_queue_url(QueueName="customer-api-dev-parked-records")["QueueUrl"]
    groups = {
        g["logGroupName"]: g
        for g in aws("logs").describe_log_groups(logGroupNamePrefix="/customer-api/dev/")["logGroups"]
    }
    assert set(groups) == {"/customer-api/dev/api", "/customer-api/dev/record_changes", "/customer-api/dev/api-access"}
    assert {g.get("retentionInDays") for g in groups.values()} == {LOG_RETENTION_DAYS["dev"]}
    assert {"api_handler", CONSUMER_FUNCTION, "rest_api"} <= set(record(aws, "dev"))
    assert not (checkouts.first / ".chalice" / "deployed").exists()  # the record is the account's, not the checkout's


def test_functions_have_their_settings_environment_and_log_groups(dev: FirstDeploy, aws: Clients) -> None:
    functions = aws("lambda")
    outputs = stack_outputs(aws, "customer-api-dev-data")
    api = functions.get_function_configuration(FunctionName="customer-api-dev")
    assert (api["Timeout"], api["MemorySize"], api["TracingConfig"]["Mode"]) == (25, 512, "Active")
    assert api["Environment"]["Variables"]["STAGE"] == "dev"
    assert api["Environment"]["Variables"]["CORS_ALLOW_ORIGIN"] == "http://localhost:3000"
    assert "COGNITO_USER_POOL_ARN" not in api["Environment"]["Variables"]  # dev is open
    assert api["LoggingConfig"]["LogGroup"] == "/customer-api/dev/api"
    consumer = functions.get_function_configuration(FunctionName="customer-api-dev-record_changes")
    assert (consumer["Timeout"], consumer["MemorySize"]) == (60, 256)
    variables = consumer["Environment"]["Variables"]
    assert variables["CUSTOMERS_STREAM_ARN"] == outputs["CustomersTableStreamArn"]
    assert variables["PARKED_RECORDS_QUEUE_URL"] == outputs["ParkedRecordsQueueUrl"]
    assert variables["EVENT_BUS_NAME"] == outputs["EventBusName"]
    assert consumer["LoggingConfig"]["LogGroup"] == "/customer-api/dev/record_changes"


@pytest.mark.parametrize(
    ("function", "policy_file"), [("api_handler", "policy-dev.json"), (CONSUMER_FUNCTION, "policy-dev-consumer.json")]
)
def test_each_role_carries_its_policy_file_bound_to_the_account(
    dev: FirstDeploy, aws: Clients, function: str, policy_file: str
) -> None:
    found = record(aws, "dev")
    role_name = found[f"{function}_role"]["role_name"]
    iam = aws("iam")
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    account = aws("sts").get_caller_identity()["Account"]
    checked_in = policies.load(policy_file)
    assert document == policies.bound(checked_in, "aws", ACCOUNT_REGION, account)
    assert list(policies.unbound_arns(document)) == []


def test_the_consumer_reads_the_stream_with_its_failure_settings(dev: FirstDeploy, aws: Clients) -> None:
    (mapping,) = aws("lambda").list_event_source_mappings(FunctionName="customer-api-dev-record_changes")[
        "EventSourceMappings"
    ]
    outputs = stack_outputs(aws, "customer-api-dev-data")
    assert mapping["EventSourceArn"] == outputs["CustomersTableStreamArn"]
    for key, value in STREAM_EVENT_SETTINGS.items():
        assert mapping[key] == value, key
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": outputs["ParkedRecordsQueueArn"]}}
    assert mapping["State"] == "Enabled"


def deployed_api(aws: Clients, stage: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The REST API's id, its gateway responses by type, and its stage."""
    gateway = aws("apigateway")
    api_id = record(aws, stage)["rest_api"]["rest_api_id"]
    responses = {r["responseType"]: r for r in gateway.get_gateway_responses(restApiId=api_id)["items"]}
    return api_id, responses, gateway.get_stage(restApiId=api_id, stageName="api")


def test_package_and_deploy_give_the_api_the_same_settings(
    dev: FirstDeploy, aws: Clients, checkouts: Checkouts, emulator: Emulator
) -> None:
    packaged = make(checkouts.first, emulator, "package", "STAGE=dev")
    assert packaged.returncode == 0, output(packaged)
    template = json.loads((checkouts.first / "dist" / "dev" / "sam.json").read_text())
    api = template["Resources"]["RestAPI"]["Properties"]
    api_id, responses, stage = deployed_api(aws, "dev")
    assert aws("apigateway").get_rest_api(restApiId=api_id)["name"] == api["Name"]
    for response_type, response in api["GatewayResponses"].items():
        deployed = responses[response_type]
        assert deployed.get("statusCode") == response.get("StatusCode"), response_type
        assert deployed["responseTemplates"] == response["ResponseTemplates"], response_type
        assert deployed["responseParameters"] == {
            f"gatewayresponse.header.{name}": value for name, value in response["ResponseParameters"]["Headers"].items()
        }
    (settings,) = api["MethodSettings"]
    assert stage["methodSettings"]["*/*"]["throttlingRateLimit"] == settings["ThrottlingRateLimit"]
    assert stage["methodSettings"]["*/*"]["throttlingBurstLimit"] == settings["ThrottlingBurstLimit"]
    assert stage["tracingEnabled"] is api["TracingEnabled"] is True
    assert stage["accessLogSettings"]["format"] == api["AccessLogSetting"]["Format"]
    account = aws("sts").get_caller_identity()["Account"]
    assert stage["accessLogSettings"]["destinationArn"] == (
        f"arn:aws:logs:{ACCOUNT_REGION}:{account}:log-group:/customer-api/dev/api-access"
    )


def test_the_alarms_stack_watches_the_deployed_functions_and_tables(dev: FirstDeploy, aws: Clients) -> None:
    assert stack_status(aws, "customer-api-dev-alarms") == "CREATE_COMPLETE"
    resources = aws("cloudformation").list_stack_resources(StackName="customer-api-dev-alarms")[
        "StackResourceSummaries"
    ]
    kinds = {r["ResourceType"] for r in resources}
    assert kinds == {"AWS::CloudWatch::Alarm"}
    names = {r["LogicalResourceId"] for r in resources}
    assert {"ConsumerIteratorAgeAlarm", "ParkedRecordsAlarm", "EventDeliveryFailureAlarm"} <= names
    assert {f"{spec.logical_id}ErrorAlarm" for spec in ALL_TABLES} <= names


# --------------------------------------------------------------------- the zip, run as Lambda runs it


def deployed_zip(aws: Clients, function: str, cache: Path) -> Path:
    """The zip in Chalice's cache whose SHA-256 is the deployed function's."""
    sha = aws("lambda").get_function(FunctionName=function)["Configuration"]["CodeSha256"]
    for candidate in cache.glob("*.zip"):
        if base64.b64encode(hashlib.sha256(candidate.read_bytes()).digest()).decode() == sha:
            return candidate
    raise AssertionError(f"no zip in {cache} is what {function} runs")


@pytest.fixture(scope="module")
def runtime(dev: FirstDeploy, aws: Clients, emulator: Emulator, package_cache: Path) -> Iterator[LambdaRuntime]:
    archive = deployed_zip(aws, "customer-api-dev", package_cache)
    variables = aws("lambda").get_function_configuration(FunctionName="customer-api-dev")["Environment"]["Variables"]
    consumer = aws("lambda").get_function_configuration(FunctionName="customer-api-dev-record_changes")
    environment = {
        **consumer["Environment"]["Variables"],  # one process plays both functions: the consumer's extra variables
        **variables,
        **{k: v for k, v in emulator.environment().items() if k.startswith("AWS_")},
    }
    with LambdaRuntime(archive, environment) as running:
        yield running


def call(runtime: LambdaRuntime, method: str, path: str, resource: str, **options: Any) -> tuple[int, Any]:
    parameters = options.pop("path_parameters", None)
    answer = runtime.invoke(
        "app.app", api_gateway_proxy_event(method, path, resource=resource, path_parameters=parameters, **options)
    )
    body = answer.get("body") or ""
    if answer.get("isBase64Encoded"):
        return int(answer["statusCode"]), base64.b64decode(body)
    content_type = next((v for k, v in (answer.get("headers") or {}).items() if k.lower() == "content-type"), "")
    return int(answer["statusCode"]), json.loads(body) if "json" in content_type and body else body


JSON_HEADERS = {"Content-Type": "application/json"}


def test_the_deployed_zip_answers_every_route_with_only_the_lambda_runtimes_packages(runtime: LambdaRuntime) -> None:
    one = "/customers/{customer_id}"
    status, _ = call(runtime, "POST", "/seed", "/seed")
    assert status == 201
    body = json.dumps(
        {"first_name": "Ada", "last_name": "Lovelace", "email_address": f"ada.{uuid.uuid4().hex[:8]}@example.com"}
    )
    status, created = call(runtime, "POST", "/customers", "/customers", headers=JSON_HEADERS, body=body)
    assert status == 201, created
    cid = created["customer_id"]
    ids = {"customer_id": cid}
    answers = {
        "list": call(runtime, "GET", "/customers", "/customers", query={"limit": "2"}),
        "search": call(runtime, "GET", "/customers", "/customers", query={"q": "ad"}),
        "get": call(runtime, "GET", f"/customers/{cid}", one, path_parameters=ids),
        "put": call(
            runtime, "PUT", f"/customers/{cid}", one, path_parameters=ids, headers=JSON_HEADERS, body='{"city": "Oslo"}'
        ),
        "patch": call(
            runtime,
            "PATCH",
            f"/customers/{cid}",
            one,
            path_parameters=ids,
            headers={"Content-Type": "application/merge-patch+json"},
            body='{"state": null}',
        ),
        "batch": call(
            runtime,
            "POST",
            "/customers/batch",
            "/customers/batch",
            headers=JSON_HEADERS,
            body=json.dumps({"operations": [{"op": "update", "customer_id": cid, "body": {"city": "Rome"}}]}),
        ),
        "history": call(runtime, "GET", f"/customers/{cid}/history", f"{one}/history", path_parameters=ids),
        "events": call(runtime, "GET", "/events", "/events"),
        "export": call(runtime, "GET", f"/customers/{cid}/export", f"{one}/export", path_parameters=ids),
        "openapi": call(runtime, "GET", "/openapi.json", "/openapi.json"),
        "docs": call(runtime, "GET", "/docs", "/docs"),
        "asset": call(runtime, "GET", "/docs/init.js", "/docs/{asset_name}", path_parameters={"asset_name": "init.js"}),
        "delete": call(runtime, "DELETE", f"/customers/{cid}", one, path_parameters=ids),
        "restore": call(runtime, "POST", f"/customers/{cid}/restore", f"{one}/restore", path_parameters=ids),
        "erasure": call(runtime, "POST", f"/customers/{cid}/erasure", f"{one}/erasure", path_parameters=ids),
        "erased": call(runtime, "GET", f"/customers/{cid}", one, path_parameters=ids),
        "bad": call(runtime, "POST", "/customers", "/customers", headers=JSON_HEADERS, body='{"email_address": 3'),
    }
    expected = {
        "list": 200, "search": 200, "get": 200, "put": 200, "patch": 200, "batch": 207, "history": 200,
        "events": 200, "export": 200, "openapi": 200, "docs": 200, "asset": 200, "delete": 204,
        "restore": 200, "erasure": 200, "erased": 410, "bad": 400,
    }  # fmt: skip
    assert {name: status for name, (status, _) in answers.items()} == expected, answers
    assert answers["put"][1]["city"] == "Oslo"
    assert answers["bad"][1]["error"]["code"] == "validation_error"


def test_the_deployed_consumer_records_a_stream_event_of_the_table(runtime: LambdaRuntime, aws: Clients) -> None:
    body = json.dumps({"first_name": "Grace", "last_name": "Hopper", "email_address": "grace.hopper@example.com"})
    status, created = call(runtime, "POST", "/customers", "/customers", headers=JSON_HEADERS, body=body)
    assert status == 201, created
    streams = aws("dynamodbstreams")
    stream_arn = aws("dynamodb").describe_table(TableName=table_name(CUSTOMERS.base_name, "dev"))["Table"][
        "LatestStreamArn"
    ]
    records = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records.extend(streams.get_records(ShardIterator=iterator)["Records"])
    mine = [r for r in records if r["dynamodb"]["Keys"]["customer_id"]["S"] == created["customer_id"]]
    assert mine
    result = runtime.invoke("app.record_changes", dynamodb_stream_event(mine, stream_arn))
    assert result == {"batchItemFailures": []}
    status, history = call(
        runtime,
        "GET",
        f"/customers/{created['customer_id']}/history",
        "/customers/{customer_id}/history",
        path_parameters={"customer_id": created["customer_id"]},
    )
    assert status == 200
    assert [entry["version"] for entry in history["items"]] == [1]


# ------------------------------------------------------------------- redeploy from another checkout


@dataclass
class Redeploy:
    result: subprocess.CompletedProcess[str]
    before: dict[str, dict[str, Any]]
    topic: str


@pytest.fixture(scope="module")
def redeploy(dev: FirstDeploy, checkouts: Checkouts, emulator: Emulator, aws: Clients) -> Redeploy:
    """A teammate's checkout, with a new CORS origin, after an operator set the alarm topic on the stack by hand."""
    cloudformation = aws("cloudformation")
    topic = "arn:aws:sns:us-east-1:123456789012:on-call"
    cloudformation.update_stack(
        StackName="customer-api-dev-alarms",
        UsePreviousTemplate=True,
        Parameters=[{"ParameterKey": "AlarmTopicArn", "ParameterValue": topic}],
    )
    config_path = checkouts.second / ".chalice" / "config.json"
    config = json.loads(config_path.read_text())
    config["stages"]["dev"]["environment_variables"]["CORS_ALLOW_ORIGIN"] = "https://app.example.org"
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    before = record(aws, "dev")
    result = make(checkouts.second, emulator, "deploy", "STAGE=dev")
    assert result.returncode == 0, output(result)
    return Redeploy(result, before, topic)


def test_another_checkout_updates_what_the_first_made(redeploy: Redeploy, aws: Clients) -> None:
    after = record(aws, "dev")
    for name in ("api_handler", CONSUMER_FUNCTION, "rest_api", f"{CONSUMER_FUNCTION}-dynamodb-event-source"):
        assert after[name] == redeploy.before[name], name  # updated in place, nothing made twice
    assert len(aws("lambda").list_functions()["Functions"]) == 2


def test_a_changed_origin_is_deployed_and_the_templates_follow_it(
    redeploy: Redeploy, aws: Clients, checkouts: Checkouts
) -> None:
    assert "Wrote infra/app-dev.json from the current configuration" in redeploy.result.stdout
    assert "https://app.example.org" in (checkouts.second / "infra" / "app-dev.json").read_text()
    _, responses, _ = deployed_api(aws, "dev")
    origins = {
        r["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] for r in responses.values()
    }
    assert origins == {"'https://app.example.org'"}
    variables = aws("lambda").get_function_configuration(FunctionName="customer-api-dev")["Environment"]["Variables"]
    assert variables["CORS_ALLOW_ORIGIN"] == "https://app.example.org"


def test_an_alarm_topic_set_by_hand_survives_a_deploy(redeploy: Redeploy, aws: Clients) -> None:
    (stack,) = aws("cloudformation").describe_stacks(StackName="customer-api-dev-alarms")["Stacks"]
    parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in stack["Parameters"]}
    assert parameters["AlarmTopicArn"] == redeploy.topic
    assert f"notify {redeploy.topic}" in redeploy.result.stdout


def test_the_data_outlives_a_redeploy(redeploy: Redeploy, aws: Clients) -> None:
    count = aws("dynamodb").scan(TableName=table_name(CUSTOMERS.base_name, "dev"), Select="COUNT")["Count"]
    assert count >= 10  # the seed and what the runtime tests made


# --------------------------------------------------------------------------------------- dev delete


def test_delete_refuses_without_a_record_then_leaves_nothing(
    redeploy: Redeploy, checkouts: Checkouts, emulator: Emulator, aws: Clients
) -> None:
    ssm = aws("ssm")
    name = deployment_record_parameter("dev")
    saved = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    ssm.delete_parameter(Name=name)
    refused = make(checkouts.first, emulator, "delete", "STAGE=dev")
    assert refused.returncode != 0
    assert "Nothing was deleted" in output(refused)
    assert stack_status(aws, "customer-api-dev-data") is not None
    ssm.put_parameter(Name=name, Value=saved, Type="String")

    deleted = make(checkouts.first, emulator, "delete", "STAGE=dev")
    assert deleted.returncode == 0, output(deleted)
    assert aws("lambda").list_functions()["Functions"] == []
    assert aws("lambda").list_event_source_mappings()["EventSourceMappings"] == []
    assert aws("apigateway").get_rest_apis()["items"] == []
    assert [
        r["RoleName"] for r in aws("iam").list_roles()["Roles"] if r["RoleName"].startswith("customer-api-dev")
    ] == []
    assert stack_status(aws, "customer-api-dev-data") is None
    assert stack_status(aws, "customer-api-dev-alarms") is None
    assert aws("dynamodb").list_tables()["TableNames"] == []
    assert aws("logs").describe_log_groups(logGroupNamePrefix="/customer-api/dev/")["logGroups"] == []
    assert aws("sqs").list_queues().get("QueueUrls", []) == []
    assert "Parameters" not in ssm.get_parameters(Names=[name]) or ssm.get_parameters(Names=[name])["Parameters"] == []


# ------------------------------------------------------------- upgrade from before the filter indexes


def old_release_template() -> dict[str, Any]:
    """dev's data stack as a release before search and sorted lists made it: three filter indexes by id."""
    template = copy.deepcopy(generate("dev"))
    properties = template["Resources"][CUSTOMERS.logical_id]["Properties"]
    email = next(i for i in properties["GlobalSecondaryIndexes"] if i["IndexName"] == "by_email")
    old = [
        {
            "IndexName": name,
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }
        for name, key in (("by_status", "status_key"), ("by_loyalty", "loyalty_key"), ("by_state", "state_key"))
    ]
    properties["GlobalSecondaryIndexes"] = [email, *old]
    used = {"customer_id", "email_key", "status_key", "loyalty_key", "state_key"}
    properties["AttributeDefinitions"] = [{"AttributeName": name, "AttributeType": "S"} for name in sorted(used)]
    return template


def test_a_stack_from_before_the_filter_indexes_is_upgraded_one_index_per_update(
    redeploy: Redeploy, checkouts: Checkouts, emulator: Emulator, aws: Clients
) -> None:
    cloudformation = aws("cloudformation")
    cloudformation.create_stack(StackName="customer-api-dev-data", TemplateBody=json.dumps(old_release_template()))
    customers = table_name(CUSTOMERS.base_name, "dev")
    cid = str(uuid.uuid4())
    stored = {
        "customer_id": cid, "first_name": "Old", "last_name": "Timer", "email_address": "old.timer@example.com",
        "customer_status": "active", "status_key": "active", "version": 1, "lifetime_value": "0.00",
        "is_loyalty_member": False, "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
    }  # fmt: skip
    aws("dynamodb").put_item(TableName=customers, Item=_attribute_values(stored))

    upgraded = make(checkouts.first, emulator, "deploy", "STAGE=dev")
    assert upgraded.returncode == 0, output(upgraded)
    assert "10 index changes, one per table per update (11 updates)" in upgraded.stdout
    table = aws("dynamodb").describe_table(TableName=customers)["Table"]
    assert sorted(i["IndexName"] for i in table["GlobalSecondaryIndexes"]) == sorted(i.name for i in CUSTOMERS.indexes)
    assert "running the backfill" in upgraded.stdout
    item = aws("dynamodb").get_item(TableName=customers, Key={"customer_id": {"S": cid}})["Item"]
    assert {"created_order", "name_order", "list_shard"} <= set(item)  # the backfill gave the old customer its keys

    deleted = make(checkouts.first, emulator, "delete", "STAGE=dev")
    assert deleted.returncode == 0, output(deleted)


def _attribute_values(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {key: serializer.serialize(value) for key, value in item.items()}


# --------------------------------------------------------------------------------------------- prod


@dataclass
class ProdDeploy:
    failed: subprocess.CompletedProcess[str]
    refused: subprocess.CompletedProcess[str]
    status_after_refusal: str | None
    deployed: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def prod(checkouts: Checkouts, emulator: Emulator, aws: Clients) -> ProdDeploy:
    blocker = table_name("customer-history", "prod")
    block_table(aws, blocker)
    failed = make(checkouts.first, emulator, "deploy", "STAGE=prod")
    refused = make(checkouts.first, emulator, "deploy", "STAGE=prod")
    status = stack_status(aws, "customer-api-prod-data")
    # What the refusal tells the operator to do, done by hand.
    cloudformation = aws("cloudformation")
    cloudformation.update_termination_protection(StackName="customer-api-prod-data", EnableTerminationProtection=False)
    cloudformation.delete_stack(StackName="customer-api-prod-data")
    dynamodb = aws("dynamodb")
    for name in dynamodb.list_tables()["TableNames"]:  # the blocker, and what the rollback retained
        dynamodb.update_table(TableName=name, DeletionProtectionEnabled=False)
        dynamodb.delete_table(TableName=name)
    deployed = make(checkouts.first, emulator, "deploy", "STAGE=prod")
    assert deployed.returncode == 0, output(deployed)
    return ProdDeploy(failed, refused, status, deployed)


def test_a_rolled_back_prod_create_is_never_deleted_by_the_deploy(prod: ProdDeploy) -> None:
    assert prod.failed.returncode != 0
    assert prod.refused.returncode != 0
    assert "is in ROLLBACK_COMPLETE" in output(prod.refused)
    assert "never deleted automatically" in output(prod.refused)
    assert prod.status_after_refusal == "ROLLBACK_COMPLETE"


def test_prod_deploys_in_one_pass_with_its_user_pool_wired_in(prod: ProdDeploy, aws: Clients) -> None:
    assert "COGNITO_USER_POOL_ARN" not in output(prod.deployed)  # nothing to paste into config.json
    pool_arn = stack_outputs(aws, "customer-api-prod-data")["UserPoolArn"]
    variables = aws("lambda").get_function_configuration(FunctionName="customer-api-prod")["Environment"]["Variables"]
    assert variables["COGNITO_USER_POOL_ARN"] == pool_arn
    api_id = record(aws, "prod")["rest_api"]["rest_api_id"]
    authorizers = aws("apigateway").get_authorizers(restApiId=api_id)["items"]
    assert [a["providerARNs"] for a in authorizers] == [[pool_arn]]
    pool_id = pool_arn.rsplit("/", 1)[1]
    pool = aws("cognito-idp").describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert (
        aws("lambda").get_function_concurrency(FunctionName="customer-api-prod")["ReservedConcurrentExecutions"] == 100
    )
    for spec in ALL_TABLES:
        table = aws("dynamodb").describe_table(TableName=table_name(spec.base_name, "prod"))["Table"]
        assert table["DeletionProtectionEnabled"] is True


def test_prod_delete_refuses_without_confirmation_and_never_takes_the_data(
    prod: ProdDeploy, checkouts: Checkouts, emulator: Emulator, aws: Clients
) -> None:
    refused = make(checkouts.first, emulator, "delete", "STAGE=prod")
    assert refused.returncode != 0
    assert "CONFIRM=prod" in output(refused)
    assert aws("lambda").get_function(FunctionName="customer-api-prod")

    deleted = make(checkouts.first, emulator, "delete", "STAGE=prod", "CONFIRM=prod")
    assert deleted.returncode == 0, output(deleted)
    assert aws("lambda").list_functions()["Functions"] == []
    assert stack_status(aws, "customer-api-prod-data") is not None
    assert sorted(aws("dynamodb").list_tables()["TableNames"]) == sorted(
        table_name(spec.base_name, "prod") for spec in ALL_TABLES
    )
    data = subprocess.run(
        [sys.executable, "-m", "scripts.deploy.data_stack", "delete", "prod"],
        cwd=checkouts.first,
        env=emulator.environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert data.returncode != 0
    assert "refusing to delete the prod data stack" in output(data)
    assert stack_status(aws, "customer-api-prod-data") is not None
