"""`make deploy`'s chalice step, against moto: the consumer reads the data stack's stream with the failure settings.

The data stack is deployed from the checked-in ``infra/tables-dev.json`` by moto's
CloudFormation, so the outputs the step reads are the template's own. `chalice deploy`
itself needs API Gateway features moto lacks; a stand-in does to the consumer what it
does (environment back to config.json's, the mapping created on the stream app.py
registered from the environment it was given, the record in .chalice/deployed).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import zipfile
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest

from chalicelib.config import Settings, get_settings
from scripts.chalice_config import deployed_resources, stage_environment
from scripts.deploy import app_deploy, data_stack
from scripts.deploy.changes import CONSUMER_MAPPING

STAGE = "dev"
CONSUMER = "customer-api-dev-record_changes"  # the name chalice deploy gives record_changes


@pytest.fixture
def outputs(mocked_aws: None) -> dict[str, str]:
    """The dev data stack on moto, and its outputs."""
    with pytest.warns(UserWarning, match="SecretsManager"):  # moto's CloudFormation skips the pagination key
        data_stack.deploy(STAGE)
    return data_stack.outputs(STAGE)


def consumer_function() -> str:
    """The consumer as `chalice deploy` first creates it: config.json's environment only."""
    role = boto3.client("iam").create_role(RoleName="consumer", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", "")
    created = boto3.client("lambda").create_function(
        FunctionName=CONSUMER,
        Runtime="python3.11",
        Role=role,
        Handler="app.record_changes",
        Code={"ZipFile": archive.getvalue()},
        Environment={"Variables": stage_environment(STAGE)},
    )
    return str(created["FunctionArn"])


class ChaliceDeploy:
    """Stands in for `chalice deploy` as far as the consumer goes, and notes what it found."""

    def __init__(self, root: Path, function_arn: str, *, registers: bool = True, fails: bool = False) -> None:
        self.root, self.function_arn, self.registers, self.fails = root, function_arn, registers, fails
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self, command: list[str], *, cwd: Path, env: dict[str, str], check: bool
    ) -> subprocess.CompletedProcess[str]:
        client = boto3.client("lambda")
        resources = deployed_resources(STAGE, self.root)
        mapping = resources.get(CONSUMER_MAPPING)
        state = None if mapping is None else client.get_event_source_mapping(UUID=mapping["event_uuid"])["State"]
        self.calls.append({"command": command, "cwd": cwd, "env": env, "mapping_state": state})
        if self.fails:
            return subprocess.CompletedProcess(command, 1)
        client.update_function_configuration(
            FunctionName=self.function_arn, Environment={"Variables": stage_environment(STAGE)}
        )
        stream = env.get("CUSTOMERS_STREAM_ARN")  # app.py subscribes the consumer only with it
        if self.registers and stream and mapping is None:
            uuid = client.create_event_source_mapping(
                EventSourceArn=stream, FunctionName=self.function_arn, BatchSize=100, StartingPosition="TRIM_HORIZON"
            )["UUID"]
            mapping = {"name": CONSUMER_MAPPING, "resource_type": "dynamodb_event", "event_uuid": uuid}
            mapping |= {"stream_arn": stream, "lambda_arn": self.function_arn}
        elif mapping is not None:
            client.update_event_source_mapping(UUID=mapping["event_uuid"], BatchSize=100)  # all chalice changes
        records = [{"name": "record_changes", "resource_type": "lambda_function", "lambda_arn": self.function_arn}]
        write_deployed(self.root, [*records, *([mapping] if self.registers and mapping else [])])
        return subprocess.CompletedProcess(command, 0)


def write_deployed(root: Path, resources: list[dict[str, Any]]) -> None:
    path = root / ".chalice" / "deployed" / f"{STAGE}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"resources": resources, "schema_version": "2.0", "backend": "api"}))


def mapping_of(root: Path) -> dict[str, Any]:
    uuid = deployed_resources(STAGE, root)[CONSUMER_MAPPING]["event_uuid"]
    mapping: dict[str, Any] = boto3.client("lambda").get_event_source_mapping(UUID=uuid)
    return mapping


def consumer_variables() -> dict[str, str]:
    configuration = boto3.client("lambda").get_function_configuration(FunctionName=CONSUMER)
    variables: dict[str, str] = configuration["Environment"]["Variables"]
    return variables


def settings_of(variables: dict[str, str]) -> Settings:
    """What the consumer reads from exactly the environment it has."""
    with mock.patch.dict(os.environ, {**variables, "PAGINATION_SECRET": "p" * 32}, clear=True):
        get_settings.cache_clear()
        try:
            return get_settings()
        finally:
            get_settings.cache_clear()


def test_first_deploy_subscribes_the_consumer_to_the_stacks_stream_with_bounded_retries_and_the_queue(
    outputs: dict[str, str], tmp_path: Path
) -> None:
    chalice = ChaliceDeploy(tmp_path, consumer_function())
    app_deploy.deploy(STAGE, root=tmp_path, run=chalice)

    (call,) = chalice.calls
    assert call["command"][1:] == ["deploy", "--stage", STAGE]
    assert call["cwd"] == tmp_path
    stream = outputs["CustomersTableStreamArn"]
    assert stream.startswith("arn:aws:dynamodb:us-east-1:123456789012:table/customers-dev/stream/")
    assert call["env"]["CUSTOMERS_STREAM_ARN"] == stream  # what Chalice reads when it imports app.py
    assert call["mapping_state"] is None  # nothing to pause the first time

    mapping = mapping_of(tmp_path)
    assert mapping["EventSourceArn"] == stream
    assert mapping["State"] == "Enabled"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is False
    assert mapping["MaximumRecordAgeInSeconds"] == 86400
    queue = boto3.client("sqs").get_queue_url(QueueName="customer-api-dev-parked-records")["QueueUrl"]
    queue_arn = boto3.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": queue_arn["QueueArn"]}}

    variables = consumer_variables()
    assert variables == {
        **stage_environment(STAGE),  # config.json's values stay
        "CUSTOMERS_STREAM_ARN": stream,
        "PARKED_RECORDS_QUEUE_URL": queue,
        "EVENT_BUS_NAME": "customer-api-dev",
    }
    settings = settings_of(variables)
    assert settings.parked_records_queue_url == queue
    assert settings.event_bus_name == "customer-api-dev"
    # The consumer parks a failing record itself before Lambda's retries run out.
    assert mapping["MaximumRetryAttempts"] > settings.stream_max_attempts
    assert mapping["MaximumRetryAttempts"] == 5


def test_a_redeploy_pauses_the_consumer_while_chalice_resets_its_environment(
    outputs: dict[str, str], tmp_path: Path
) -> None:
    chalice = ChaliceDeploy(tmp_path, consumer_function())
    app_deploy.deploy(STAGE, root=tmp_path, run=chalice)
    app_deploy.deploy(STAGE, root=tmp_path, run=chalice)

    assert [call["mapping_state"] for call in chalice.calls] == [None, "Disabled"]
    assert mapping_of(tmp_path)["State"] == "Enabled"
    assert mapping_of(tmp_path)["MaximumRetryAttempts"] == 5
    assert consumer_variables()["CUSTOMERS_STREAM_ARN"] == outputs["CustomersTableStreamArn"]


def test_a_failed_chalice_deploy_leaves_the_consumer_paused_and_says_so(
    outputs: dict[str, str], tmp_path: Path
) -> None:
    function = consumer_function()
    app_deploy.deploy(STAGE, root=tmp_path, run=ChaliceDeploy(tmp_path, function))

    with pytest.raises(SystemExit, match="stays paused until make deploy succeeds"):
        app_deploy.deploy(STAGE, root=tmp_path, run=ChaliceDeploy(tmp_path, function, fails=True))
    assert mapping_of(tmp_path)["State"] == "Disabled"

    app_deploy.deploy(STAGE, root=tmp_path, run=ChaliceDeploy(tmp_path, function))
    assert mapping_of(tmp_path)["State"] == "Enabled"


def test_a_replaced_stream_stops_the_deploy_before_chalice_runs(outputs: dict[str, str], tmp_path: Path) -> None:
    function = consumer_function()
    old = "arn:aws:dynamodb:us-east-1:123456789012:table/customers-dev/stream/2020-01-01T00:00:00.000"
    write_deployed(
        tmp_path,
        [
            {"name": "record_changes", "resource_type": "lambda_function", "lambda_arn": function},
            {"name": CONSUMER_MAPPING, "resource_type": "dynamodb_event", "event_uuid": "u"}
            | {"stream_arn": old, "lambda_arn": function},
        ],
    )
    chalice = ChaliceDeploy(tmp_path, function)
    with pytest.raises(SystemExit, match="the data stack's stream is now"):
        app_deploy.deploy(STAGE, root=tmp_path, run=chalice)
    assert chalice.calls == []


def test_an_app_that_registers_no_consumer_is_an_error_naming_the_variable(
    outputs: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit, match="only when CUSTOMERS_STREAM_ARN is set"):
        app_deploy.deploy(STAGE, root=tmp_path, run=ChaliceDeploy(tmp_path, consumer_function(), registers=False))


def test_a_data_stack_without_the_stream_outputs_stops_before_anything_is_deployed() -> None:
    with pytest.raises(SystemExit, match="CustomersTableStreamArn") as stopped:
        app_deploy.required_outputs(STAGE, {"CustomersTableName": "customers-dev"})
    assert "python -m scripts.deploy.data_stack deploy dev" in str(stopped.value)
