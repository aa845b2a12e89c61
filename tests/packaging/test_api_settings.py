"""`make deploy`'s last step, against moto: the chalice-deployed API gets the packaged template's settings."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from scripts.deploy import api_settings


@pytest.fixture
def deployed_api(mocked_aws: None) -> str:
    """A REST API with an `api` stage, as `chalice deploy` leaves it."""
    client = boto3.client("apigateway")
    api_id = client.create_rest_api(name="customer-api")["id"]
    root_id = client.get_resources(restApiId=api_id)["items"][0]["id"]
    client.put_method(restApiId=api_id, resourceId=root_id, httpMethod="GET", authorizationType="NONE")
    client.put_integration(restApiId=api_id, resourceId=root_id, httpMethod="GET", type="MOCK")
    client.create_deployment(restApiId=api_id, stageName="api")
    return str(api_id)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_api_gets_gateway_responses_throttling_tracing_and_its_stage_name(deployed_api: str, stage: str) -> None:
    api_settings.apply_api_settings(stage, deployed_api)
    client = boto3.client("apigateway")
    assert client.get_rest_api(restApiId=deployed_api)["name"] == f"customer-api-{stage}"
    responses = {r["responseType"]: r for r in client.get_gateway_responses(restApiId=deployed_api)["items"]}
    unknown_path = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert unknown_path["statusCode"] == "404"
    assert "gatewayresponse.header.Access-Control-Allow-Origin" in unknown_path["responseParameters"]
    assert '"code": "not_found"' in unknown_path["responseTemplates"]["application/json"]
    stage_settings = client.get_stage(restApiId=deployed_api, stageName="api")
    throttled = stage_settings["methodSettings"]["*/*"]
    assert throttled["throttlingRateLimit"] > 0
    assert throttled["throttlingBurstLimit"] >= throttled["throttlingRateLimit"]
    assert stage_settings["tracingEnabled"] is True


def references(value: Any) -> Iterator[tuple[str, str]]:
    """Every ("Ref", name) and ("Fn::GetAtt", resource) anywhere in a template."""
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            yield "Ref", value["Ref"]
        elif set(value) == {"Fn::GetAtt"}:
            yield "Fn::GetAtt", value["Fn::GetAtt"][0]
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_alarms_stack_names_the_deployed_function_and_tables_and_lints_clean(stage: str, tmp_path: Path) -> None:
    # moto's CloudFormation cannot create alarms, so the stack's template is checked and linted instead
    template = api_settings.alarms_template(stage)
    text = json.dumps(template)
    assert len(template["Resources"]) >= 12
    # Every reference to the packaged template's resources resolved: only parameters and pseudo parameters are left.
    unresolved = {
        (kind, name)
        for kind, name in references(template["Resources"])
        if not (kind == "Ref" and (name in template["Parameters"] or name.startswith("AWS::")))
    }
    assert unresolved == set()
    assert f'"customer-api-{stage}"' in text
    assert f'"customers-{stage}"' in text
    assert f'"customer-api-{stage}-parked-records"' in text
    assert f'"customer-api-{stage}-record_changes"' in text  # the consumer's alarms
    path = tmp_path / "alarms.json"
    path.write_text(text)
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(path)], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_rest_api_id_is_read_from_chalice_deployed_record(tmp_path: Path) -> None:
    deployed = tmp_path / ".chalice" / "deployed"
    deployed.mkdir(parents=True)
    (deployed / "dev.json").write_text(
        json.dumps(
            {
                "resources": [
                    {"name": "api_handler", "resource_type": "lambda_function"},
                    {"name": "rest_api", "resource_type": "rest_api", "rest_api_id": "abc123"},
                ]
            }
        )
    )
    assert api_settings.deployed_rest_api_id("dev", tmp_path) == "abc123"
