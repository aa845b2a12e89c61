"""After `chalice deploy`: what Chalice cannot configure on the API it created.

`make package` puts gateway responses, stage throttling, API tracing and alarms into
the stage's template. `make deploy` goes through `chalice deploy`, which knows none
of them, so this step applies the same settings (read from the same generated
``infra/app-<stage>.json``, one definition) to the deployed API, and the alarms as a
small CloudFormation stack of their own.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from chalicelib.stages import (
    API_STAGE,
    APP_NAME,
    CONSUMER_FUNCTION,
    DEPLOYED_STAGES,
    parked_records_queue_name,
    resource_name,
    table_name,
)
from chalicelib.storage.tables import ALL_TABLES
from scripts.chalice_config import deployed_resources
from scripts.deploy.app_template import CONSUMER, api_name
from scripts.deploy.changes import PARKED_RECORDS_QUEUE
from scripts.paths import ROOT


def deployed_rest_api_id(stage: str, root: Path = ROOT) -> str:
    for resource in deployed_resources(stage, root).values():
        if resource.get("resource_type") == "rest_api":
            return str(resource["rest_api_id"])
    raise SystemExit(f"error: no REST API in .chalice/deployed/{stage}.json: run chalice deploy first")


def merge_template(stage: str, root: Path = ROOT) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((root / "infra" / f"app-{stage}.json").read_text())
    return result


def apply_api_settings(stage: str, rest_api_id: str, root: Path = ROOT) -> None:
    """Gateway responses and name, a deployment so they take effect, then the stage's throttling and tracing."""
    client = boto3.client("apigateway")
    api = merge_template(stage, root)["Resources"]["RestAPI"]["Properties"]
    client.update_rest_api(
        restApiId=rest_api_id, patchOperations=[{"op": "replace", "path": "/name", "value": api_name(stage)}]
    )
    for response_type, response in api["GatewayResponses"].items():
        arguments: dict[str, Any] = {
            "restApiId": rest_api_id,
            "responseType": response_type,
            "responseParameters": {
                f"gatewayresponse.header.{name}": value
                for name, value in response["ResponseParameters"]["Headers"].items()
            },
            "responseTemplates": response["ResponseTemplates"],
        }
        if "StatusCode" in response:
            arguments["statusCode"] = response["StatusCode"]
        client.put_gateway_response(**arguments)
    client.create_deployment(restApiId=rest_api_id, stageName=API_STAGE, description=f"{APP_NAME} settings")
    settings = api["MethodSettings"][0]
    client.update_stage(
        restApiId=rest_api_id,
        stageName=API_STAGE,
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(settings["ThrottlingRateLimit"])},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(settings["ThrottlingBurstLimit"])},
            {"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"},
            {"op": "replace", "path": "/tracingEnabled", "value": str(api["TracingEnabled"]).lower()},
        ],
    )


def _resolve(value: Any, names: dict[str, str], attributes: dict[tuple[str, str], str]) -> Any:
    """The alarms refer to the packaged template's resources (``Ref``, ``Fn::GetAtt``); here those exist by name."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in names:
            return names[value["Ref"]]
        if set(value) == {"Fn::GetAtt"} and tuple(value["Fn::GetAtt"]) in attributes:
            return attributes[tuple(value["Fn::GetAtt"])]
        return {key: _resolve(item, names, attributes) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, names, attributes) for item in value]
    return value


def alarms_template(stage: str, root: Path = ROOT) -> dict[str, Any]:
    merge = merge_template(stage, root)
    names = {"APIHandler": resource_name(stage), CONSUMER: resource_name(stage, CONSUMER_FUNCTION)} | {
        spec.logical_id: table_name(spec.base_name, stage) for spec in ALL_TABLES
    }
    attributes = {(PARKED_RECORDS_QUEUE, "QueueName"): parked_records_queue_name(stage)}
    alarms = {
        name: _resolve(resource, names, attributes)
        for name, resource in merge["Resources"].items()
        if resource.get("Type") == "AWS::CloudWatch::Alarm"
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"{APP_NAME} {stage}: alarms for the API and functions `chalice deploy` created",
        "Parameters": merge["Parameters"],
        "Conditions": merge["Conditions"],
        "Resources": alarms,
    }


def alarms_stack_name(stage: str) -> str:
    return resource_name(stage, "alarms")


def deploy_alarms(stage: str, root: Path = ROOT) -> None:
    client = boto3.client("cloudformation")
    name = alarms_stack_name(stage)
    body = json.dumps(alarms_template(stage, root))
    try:
        client.describe_stacks(StackName=name)
    except ClientError:
        client.create_stack(StackName=name, TemplateBody=body)
        client.get_waiter("stack_create_complete").wait(StackName=name)
        return
    try:
        client.update_stack(StackName=name, TemplateBody=body)
        client.get_waiter("stack_update_complete").wait(StackName=name)
    except ClientError as error:
        if "No updates are to be performed" not in str(error):
            raise


def delete_alarms(stage: str) -> None:
    client = boto3.client("cloudformation")
    client.delete_stack(StackName=alarms_stack_name(stage))
    client.get_waiter("stack_delete_complete").wait(StackName=alarms_stack_name(stage))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stage", choices=DEPLOYED_STAGES)
    parser.add_argument("--delete-alarms", action="store_true", help="remove the stage's alarms stack instead")
    args = parser.parse_args()
    if args.delete_alarms:
        delete_alarms(args.stage)
        print(f"Deleted the {args.stage} alarms stack.")
        return 0
    apply_api_settings(args.stage, deployed_rest_api_id(args.stage))
    deploy_alarms(args.stage)
    print(f"Applied gateway responses, throttling, tracing and alarms to the {args.stage} API.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
