"""`chalice package` for each deployed stage, merged with its tables: one complete, lint-clean template."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from chalicelib import wiring
from chalicelib.config import Settings, get_settings
from chalicelib.stages import LOG_RETENTION_DAYS
from chalicelib.storage.tables import ALL_TABLES
from scripts.deploy.changes import STREAM_EVENT_SETTINGS
from scripts.deploy.dynamodb_calls import DYNAMODB_CALLS
from scripts.deploy.package import package
from scripts.deploy.policies import bound_in_stack, unbound_arns

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STAGES = ("dev", "prod")
# About 3.0 MB since the email and phone rules (issue 11): phonenumberslite adds ~350 KB zipped,
# email-validator's dependency dnspython ~320 KB (never imported: no DNS checks) and idna ~60 KB.
MAX_ZIP_BYTES = 3_200_000


def settings_of(variables: dict[str, str]) -> Settings:
    """What the packaged function reads from exactly the environment the template gives it."""
    with mock.patch.dict(os.environ, {**variables, "PAGINATION_SECRET": "p" * 32}, clear=True):
        wiring.reset()
        try:
            return get_settings()
        finally:
            wiring.reset()


@pytest.fixture(scope="module", params=STAGES)
def packaged(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    stage = str(request.param)
    out = tmp_path_factory.mktemp(f"package-{stage}") / "out"
    completed = package(stage, out)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    consumer = template(out)["Resources"].get("RecordChanges", {})
    assert "Type" in consumer, (
        "chalice package emitted no record_changes function, so the merge template's consumer settings have "
        "nothing to merge into: app.py must register it when CUSTOMERS_STREAM_ARN is set (package.py sets it)"
    )
    return stage, out


def template(out: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((out / "sam.json").read_text())
    return result


def test_template_is_lint_clean(packaged: tuple[str, Path]) -> None:
    _, out = packaged
    completed = subprocess.run(
        [str(BIN / "cfn-lint"), str(out / "sam.json")], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_template_has_function_api_role_and_tables(packaged: tuple[str, Path]) -> None:
    _, out = packaged
    resources = template(out)["Resources"]
    types = {name: resource["Type"] for name, resource in resources.items()}
    assert types["APIHandler"] == "AWS::Serverless::Function"
    assert types["RestAPI"] == "AWS::Serverless::Api"
    assert types["ApiHandlerRole"] == "AWS::IAM::Role"
    assert {types[spec.logical_id] for spec in ALL_TABLES} == {"AWS::DynamoDB::Table"}
    assert types["EventBus"] == "AWS::Events::EventBus"
    assert types["ParkedRecordsQueue"] == "AWS::SQS::Queue"


def test_function_is_traced_sized_and_configured_for_its_stage(packaged: tuple[str, Path]) -> None:
    stage, out = packaged
    function = template(out)["Resources"]["APIHandler"]["Properties"]
    assert function["Tracing"] == "Active"
    assert function["Timeout"] == 25
    assert function["MemorySize"] >= 512
    variables = function["Environment"]["Variables"]
    assert variables["STAGE"] == stage
    assert (
        settings_of({k: v for k, v in variables.items() if isinstance(v, str)}).customers_table == f"customers-{stage}"
    )
    if stage == "prod":  # the pool the same stack makes, never a value from configuration
        assert variables["COGNITO_USER_POOL_ARN"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
        assert function["ReservedConcurrentExecutions"] == 100  # caps what prod can ask of its tables
    else:
        assert "COGNITO_USER_POOL_ARN" not in variables
        assert "ReservedConcurrentExecutions" not in function
    assert variables["PAGINATION_SECRET_NAME"] == f"customer-api/{stage}/pagination-secret"
    assert "PAGINATION_SECRET" not in variables  # never a secret in plain configuration


@pytest.mark.parametrize(("role", "suffix"), [("ApiHandlerRole", ""), ("RecordChangesRole", "-consumer")])
def test_each_role_carries_its_policy_file_bound_to_the_stacks_account(
    packaged: tuple[str, Path], role: str, suffix: str
) -> None:
    stage, out = packaged
    policies = template(out)["Resources"][role]["Properties"]["Policies"]
    checked_in = json.loads((ROOT / ".chalice" / f"policy-{stage}{suffix}.json").read_text())
    (document,) = [policy["PolicyDocument"] for policy in policies]
    assert document == bound_in_stack(checked_in)
    dynamodb = document["Statement"][0]["Resource"][0]
    assert dynamodb["Fn::Sub"].startswith("arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/")


def test_no_arn_is_left_for_any_account_and_no_placeholder_is_left(packaged: tuple[str, Path]) -> None:
    _, out = packaged
    text = (out / "sam.json").read_text()
    assert list(unbound_arns(template(out))) == []
    assert "placeholder" not in text
    assert "000000000000" not in text


def test_tables_in_template_match_the_stage_table_names(packaged: tuple[str, Path]) -> None:
    stage, out = packaged
    resources = template(out)["Resources"]
    variables = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    names = {resources[spec.logical_id]["Properties"]["TableName"] for spec in ALL_TABLES}
    settings = settings_of({name: value for name, value in variables.items() if isinstance(value, str)})
    assert names == {settings.table(spec) for spec in ALL_TABLES}
    assert len(names) == len(ALL_TABLES) == 5
    if stage == "prod":
        assert all(resources[spec.logical_id]["DeletionPolicy"] == "Retain" for spec in ALL_TABLES)


def test_deployment_zip_is_small_and_has_no_boto3(packaged: tuple[str, Path]) -> None:
    stage, out = packaged
    archive = out / "deployment.zip"
    size = archive.stat().st_size
    print(f"{stage} deployment.zip: {size:,} bytes")
    assert size < MAX_ZIP_BYTES
    names = zipfile.ZipFile(archive).namelist()
    assert "app.py" in names
    assert not any(name.startswith(("boto3/", "botocore/")) for name in names)
    assert "chalicelib/api/static/swagger-ui/swagger-ui-bundle.js" in names


def test_cors_allows_only_the_stage_origin(packaged: tuple[str, Path]) -> None:
    stage, out = packaged
    configured = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"][stage]["environment_variables"]
    origin = configured["CORS_ALLOW_ORIGIN"]
    if stage == "prod":
        assert origin != "*"
    paths = template(out)["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    preflights = [item["options"] for item in paths.values() if "options" in item]
    assert len(preflights) == len(paths)  # every path answers browsers' preflight
    for preflight in preflights:
        headers = preflight["x-amazon-apigateway-integration"]["responses"]["default"]["responseParameters"]
        assert headers["method.response.header.Access-Control-Allow-Origin"] == f"'{origin}'"


def test_gateway_errors_use_the_envelope_and_cors(packaged: tuple[str, Path]) -> None:
    stage, out = packaged
    origin = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"][stage]["environment_variables"][
        "CORS_ALLOW_ORIGIN"
    ]
    responses = template(out)["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "MISSING_AUTHENTICATION_TOKEN", "THROTTLED"} <= set(responses)
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"  # an unknown path is a 404 here
    for response in responses.values():
        assert response["ResponseParameters"]["Headers"]["Access-Control-Allow-Origin"] == f"'{origin}'"
        body = response["ResponseTemplates"]["application/json"]
        assert body.startswith('{"error": {"code": "')
        assert '"details": {}' in body


def _dimensions(metric: dict[str, Any]) -> set[str]:
    return {dimension["Name"] for dimension in metric.get("Dimensions", [])}


def test_stage_is_throttled_traced_and_alarmed_on_metrics_that_exist(packaged: tuple[str, Path]) -> None:
    stage, out = packaged
    document = template(out)
    api = document["Resources"]["RestAPI"]["Properties"]
    settings = api["MethodSettings"]
    assert settings[0]["ThrottlingRateLimit"] > 0
    assert settings[0]["ThrottlingBurstLimit"] >= settings[0]["ThrottlingRateLimit"]
    assert api["TracingEnabled"] is True
    assert api["Name"] == f"customer-api-{stage}"  # its own metrics, not shared with other stages
    # The function is named as `chalice deploy` names it, which the policy's log group relies on.
    function_name = document["Resources"]["APIHandler"]["Properties"]["FunctionName"]
    assert function_name == f"customer-api-{stage}"
    alarms = [r["Properties"] for r in document["Resources"].values() if r.get("Type") == "AWS::CloudWatch::Alarm"]
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for alarm in alarms:
        if "Metrics" in alarm:
            inputs = [query["MetricStat"]["Metric"] for query in alarm["Metrics"] if "MetricStat" in query]
            name = inputs[0]["MetricName"] if inputs else "FailedInvocations"  # a Metrics Insights query
            by_metric.setdefault(name, []).append(alarm)
        else:
            by_metric.setdefault(alarm["MetricName"], []).append(alarm)
    assert set(by_metric) == {
        "5XXError",
        "Latency",
        "Throttles",
        "ReadThrottleEvents",
        "WriteThrottleEvents",
        "SystemErrors",
        "ApproximateNumberOfMessagesVisible",
        "IteratorAge",
        "Errors",
        "FailedInvocations",
    }
    consumer = [{"Name": "FunctionName", "Value": {"Ref": "RecordChanges"}}]
    (behind,) = by_metric["IteratorAge"]
    assert (behind["Dimensions"], behind["Statistic"], behind["Period"]) == (consumer, "Maximum", 300)
    assert behind["Threshold"] == 60_000  # a minute behind the table's changes, at worst over five minutes
    (failing,) = by_metric["Errors"]
    assert (failing["Dimensions"], failing["Statistic"], failing["Threshold"]) == (consumer, "Sum", 0)
    (parked,) = by_metric["ApproximateNumberOfMessagesVisible"]
    assert parked["Namespace"] == "AWS/SQS"
    assert parked["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["ParkedRecordsQueue", "QueueName"]}}]
    assert (parked["Statistic"], parked["Threshold"], parked["ComparisonOperator"]) == (
        "Maximum",
        0,
        "GreaterThanThreshold",
    )  # one parked record is one too many
    assert parked["TreatMissingData"] == "ignore"  # SQS goes quiet on an idle queue that still holds messages
    for name in ("5XXError", "Latency"):
        (alarm,) = by_metric[name]
        assert alarm["Dimensions"] == [
            {"Name": "ApiName", "Value": f"customer-api-{stage}"},
            {"Name": "Stage", "Value": "api"},
        ]
    assert by_metric["Latency"][0]["ExtendedStatistic"] == "p99"
    assert document["Parameters"]["AlarmTopicArn"]["Default"] == ""  # SNS is optional (config.json's alarm_topic_arn)
    (delivery,) = by_metric["FailedInvocations"]
    (query,) = delivery["Metrics"]
    assert f"WHERE EventBusName = 'customer-api-{stage}'" in query["Expression"]  # every subscriber's rule on the bus


def _metric_inputs(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    return [query["MetricStat"]["Metric"] for query in alarm["Metrics"] if "MetricStat" in query]


def _table_of(alarm: dict[str, Any]) -> str:
    (table,) = {d["Value"]["Ref"] for m in _metric_inputs(alarm) for d in m["Dimensions"] if d["Name"] == "TableName"}
    return str(table)


def test_every_table_and_every_index_is_watched_for_throttling(packaged: tuple[str, Path]) -> None:
    _, out = packaged
    resources = template(out)["Resources"]
    for kind in ("Read", "Write"):
        for spec in ALL_TABLES:
            alarm = resources[f"{spec.logical_id}{kind}ThrottleAlarm"]["Properties"]
            inputs = _metric_inputs(alarm)
            assert {m["MetricName"] for m in inputs} == {f"{kind}ThrottleEvents"}
            assert _table_of(alarm) == spec.logical_id
            indexes = sorted(
                d["Value"] for m in inputs for d in m["Dimensions"] if d["Name"] == "GlobalSecondaryIndexName"
            )
            assert indexes == sorted(index.name for index in spec.indexes)
            assert len(inputs) == len(spec.indexes) + 1  # the table itself, and each index on its own


def test_system_errors_are_summed_over_exactly_the_operations_the_functions_make(packaged: tuple[str, Path]) -> None:
    _, out = packaged
    resources = template(out)["Resources"]
    for spec in ALL_TABLES:
        alarm = resources[f"{spec.logical_id}ErrorAlarm"]["Properties"]
        inputs = _metric_inputs(alarm)
        assert {m["MetricName"] for m in inputs} == {"SystemErrors"}
        assert _table_of(alarm) == spec.logical_id
        operations = {d["Value"] for m in inputs for d in m["Dimensions"] if d["Name"] == "Operation"}
        declared = {op for calls in DYNAMODB_CALLS.values() for op in calls.get(spec.logical_id, frozenset())}
        assert operations == declared  # tests/unit/test_iam_policy.py proves the declaration is the recorded calls
    assert "Query" in {  # the call the hand-kept list once missed
        d["Value"]
        for m in _metric_inputs(resources["CustomersTableErrorAlarm"]["Properties"])
        for d in m["Dimensions"]
        if d["Name"] == "Operation"
    }


def test_functions_log_to_groups_the_stack_owns_with_retention(packaged: tuple[str, Path]) -> None:
    stage, out = packaged
    resources = template(out)["Resources"]
    groups = {r["Properties"]["LogGroupName"]: r for r in resources.values() if r.get("Type") == "AWS::Logs::LogGroup"}
    assert set(groups) == {f"/customer-api/{stage}/{source}" for source in ("api", "record_changes", "api-access")}
    assert all(group["Properties"]["RetentionInDays"] == LOG_RETENTION_DAYS[stage] for group in groups.values())
    for logical_id, source in (("APIHandler", "api"), ("RecordChanges", "record_changes")):
        assert resources[logical_id]["Properties"]["LoggingConfig"] == {
            "LogFormat": "Text",
            "LogGroup": f"/customer-api/{stage}/{source}",
        }


def test_access_log_is_json_and_never_holds_a_query_string_a_path_or_an_address(packaged: tuple[str, Path]) -> None:
    _, out = packaged
    setting = template(out)["Resources"]["RestAPI"]["Properties"]["AccessLogSetting"]
    assert setting["DestinationArn"]["Fn::Sub"].endswith(":log-group:${ApiAccessLogGroup}")
    fields = json.loads(setting["Format"])
    assert fields["resourcePath"] == "$context.resourcePath"  # the route template, not the customer's id
    assert {"requestId", "status", "httpMethod", "responseLatency"} <= set(fields)
    for forbidden in ("$context.path", "querystring", "$context.identity.sourceIp", "$input"):
        assert forbidden not in setting["Format"].replace("$context.resourcePath", "")


def test_prod_requires_read_or_write_scope_on_every_route_and_dev_is_open(packaged: tuple[str, Path]) -> None:
    stage, out = packaged
    body = template(out)["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    operations = [
        (method, operation)
        for item in body["paths"].values()
        for method, operation in item.items()
        if method in ("get", "post", "put", "delete")
    ]
    if stage != "prod":
        assert all("security" not in operation for _, operation in operations)
        return
    authorizer = body["securityDefinitions"]["CustomerApiUsers"]["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "cognito_user_pools"
    assert authorizer["providerARNs"] == [{"Fn::GetAtt": ["UserPool", "Arn"]}]  # the pool in this stack
    for method, operation in operations:
        scope = "customers/read" if method == "get" else "customers/write"
        assert operation["security"] == [{"CustomerApiUsers": [scope]}], (method, operation)
    preflights = [item["options"] for item in body["paths"].values() if "options" in item]
    assert preflights
    assert all("security" not in preflight for preflight in preflights)  # browsers preflight without tokens
    pool = template(out)["Resources"]["UserPool"]
    assert pool["DeletionPolicy"] == "Retain"


def test_consumer_is_its_own_function_with_its_own_role_name_and_size(packaged: tuple[str, Path]) -> None:
    stage, out = packaged
    resources = template(out)["Resources"]
    consumer = resources["RecordChanges"]
    assert consumer["Type"] == "AWS::Serverless::Function"
    properties = consumer["Properties"]
    assert properties["Handler"] == "app.record_changes"
    assert properties["FunctionName"] == f"customer-api-{stage}-record_changes"  # as `chalice deploy` names it
    assert (properties["Timeout"], properties["MemorySize"], properties["Tracing"]) == (60, 256, "Active")
    assert properties["Role"] == {"Fn::GetAtt": ["RecordChangesRole", "Arn"]}


def test_consumer_reads_the_tables_stream_with_bounded_retries_and_parks_to_the_queue(
    packaged: tuple[str, Path],
) -> None:
    stage, out = packaged
    document = template(out)
    resources = document["Resources"]
    properties = resources["RecordChanges"]["Properties"]
    (event,) = properties["Events"].values()
    assert event["Type"] == "DynamoDB"
    settings = event["Properties"]
    # The customers table of this very template (its stream is on): no placeholder left from packaging.
    assert settings["Stream"] == {"Fn::GetAtt": ["CustomersTable", "StreamArn"]}
    assert resources["CustomersTable"]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert "placeholder" not in json.dumps(document)
    assert settings["StartingPosition"] == "TRIM_HORIZON"  # a new consumer starts at the oldest change kept
    assert settings["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert settings["BisectBatchOnFunctionError"] is False
    assert settings["MaximumRecordAgeInSeconds"] == 86400
    assert settings["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": ["ParkedRecordsQueue", "Arn"]}}
    }
    assert {key: settings[key] for key in STREAM_EVENT_SETTINGS} == STREAM_EVENT_SETTINGS  # as make deploy sets them
    variables = properties["Environment"]["Variables"]
    assert variables["STAGE"] == stage
    assert variables["CUSTOMERS_STREAM_ARN"] == settings["Stream"]  # Lambda imports app.py with it too
    assert variables["PARKED_RECORDS_QUEUE_URL"] == {"Ref": "ParkedRecordsQueue"}
    assert variables["EVENT_BUS_NAME"] == {"Fn::GetAtt": ["EventBus", "Name"]}
    assert resources["EventBus"]["Properties"]["Name"] == f"customer-api-{stage}"
    # Bounded, and long enough for the consumer to park a failing record itself (whole) first.
    read = settings_of({key: value for key, value in variables.items() if isinstance(value, str)})
    assert read.stream_max_attempts < settings["MaximumRetryAttempts"] == 5


class _NoManagedPolicies:
    """SAM resolves managed policy names through IAM; this template names none (each role has its own policy)."""

    def load(self) -> dict[str, str]:
        return {}


def test_sam_transform_offline_gives_a_lint_clean_cloudformation_template(
    packaged: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What CloudFormation's AWS::Serverless transform makes of the package, without AWS: then cfn-lint on that."""
    from samtranslator.translator.transform import transform

    stage, out = packaged
    document = template(out)
    for resource in document["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":  # what `aws cloudformation package` rewrites
            resource["Properties"]["CodeUri"] = "s3://artifacts/deployment.zip"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")  # the translator fills in the region's pseudo values
    translated = transform(document, {}, _NoManagedPolicies())
    types = {resource["Type"] for resource in translated["Resources"].values()}
    assert not any(kind.startswith("AWS::Serverless::") for kind in types)
    assert {"AWS::ApiGateway::Stage", "AWS::Lambda::EventSourceMapping", "AWS::Logs::LogGroup"} <= types
    (api_stage,) = [r for r in translated["Resources"].values() if r["Type"] == "AWS::ApiGateway::Stage"]
    assert "AccessLogSetting" in api_stage["Properties"]
    path = tmp_path / f"{stage}-cloudformation.json"
    path.write_text(json.dumps(translated))
    completed = subprocess.run([str(BIN / "cfn-lint"), str(path)], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
