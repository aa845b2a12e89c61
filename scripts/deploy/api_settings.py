"""After `chalice deploy`: what Chalice cannot configure on the API it created, and the stage's alarms.

`make package` puts gateway responses, stage throttling, API tracing, the access log and
alarms into the stage's template. `make deploy` goes through `chalice deploy`, which knows
none of them, so this step applies the same settings, read from the same merge template
(generated from the current configuration, one definition), to the deployed API, and
deploys the alarms as a small CloudFormation stack of their own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.stages import (
    API_STAGE,
    APP_NAME,
    CONSUMER_FUNCTION,
    parked_records_queue_name,
    resource_name,
    table_name,
)
from chalicelib.storage.tables import ALL_TABLES
from scripts.deploy import deployment_record, stacks
from scripts.deploy.alarms import TOPIC_PARAMETER, api_name
from scripts.deploy.app_template import API_FUNCTION, CONSUMER
from scripts.deploy.changes import PARKED_RECORDS_QUEUE
from scripts.deploy.log_groups import ACCESS_LOG_ARN_OUTPUT

# The account-wide role API Gateway writes access logs with (one per account and region).
LOGGING_ROLE = f"{APP_NAME}-apigateway-cloudwatch"
PUSH_TO_LOGS_POLICY = "policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"


def rest_api(record: dict[str, Any]) -> dict[str, Any]:
    """Chalice's record of the stage's REST API (its id and URL)."""
    for resource in deployment_record.resources(record).values():
        if resource.get("resource_type") == "rest_api":
            return resource
    raise SystemExit("error: chalice deploy recorded no REST API")


def ensure_logging_role(apigateway: Any, iam: Any, partition: str) -> None:
    """API Gateway writes access logs only once the account names a role for it; make one if none is set.

    The setting is the account's (every API in the region shares it), so an existing role is
    left alone, and a `make delete` leaves this one in place for the same reason.
    """
    if apigateway.get_account().get("cloudwatchRoleArn"):
        return
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    try:
        arn = iam.create_role(RoleName=LOGGING_ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
        arn = iam.get_role(RoleName=LOGGING_ROLE)["Role"]["Arn"]
    iam.attach_role_policy(RoleName=LOGGING_ROLE, PolicyArn=f"arn:{partition}:iam::aws:{PUSH_TO_LOGS_POLICY}")
    apigateway.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": arn}])
    print(f"Set API Gateway's CloudWatch Logs role of this account and region to {LOGGING_ROLE}.")


def apply_api_settings(
    api_id: str, merge: Mapping[str, Any], outputs: Mapping[str, str], apigateway: Any, stage: str
) -> None:
    """Gateway responses and name, a deployment so they take effect, then the stage's throttling, tracing and log."""
    api = merge["Resources"]["RestAPI"]["Properties"]
    apigateway.update_rest_api(
        restApiId=api_id, patchOperations=[{"op": "replace", "path": "/name", "value": api_name(stage)}]
    )
    for response_type, response in api["GatewayResponses"].items():
        arguments: dict[str, Any] = {
            "restApiId": api_id,
            "responseType": response_type,
            "responseParameters": {
                f"gatewayresponse.header.{name}": value
                for name, value in response["ResponseParameters"]["Headers"].items()
            },
            "responseTemplates": response["ResponseTemplates"],
        }
        if "StatusCode" in response:
            arguments["statusCode"] = response["StatusCode"]
        apigateway.put_gateway_response(**arguments)
    apigateway.create_deployment(restApiId=api_id, stageName=API_STAGE, description=f"{APP_NAME} settings")
    settings = api["MethodSettings"][0]
    apigateway.update_stage(
        restApiId=api_id,
        stageName=API_STAGE,
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(settings["ThrottlingRateLimit"])},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(settings["ThrottlingBurstLimit"])},
            {"op": "replace", "path": "/*/*/metrics/enabled", "value": str(settings["MetricsEnabled"]).lower()},
            {"op": "replace", "path": "/tracingEnabled", "value": str(api["TracingEnabled"]).lower()},
            {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": outputs[ACCESS_LOG_ARN_OUTPUT]},
            {"op": "replace", "path": "/accessLogSettings/format", "value": api["AccessLogSetting"]["Format"]},
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


def alarms_template(stage: str, merge: Mapping[str, Any]) -> dict[str, Any]:
    names = {API_FUNCTION: resource_name(stage), CONSUMER: resource_name(stage, CONSUMER_FUNCTION)} | {
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


def alarms_stack(stage: str, merge: Mapping[str, Any], topic: str) -> stacks.Stack:
    """The alarms stack; an empty ``topic`` keeps whatever topic the stack has (set by hand, say)."""
    return stacks.Stack(
        name=alarms_stack_name(stage),
        template=alarms_template(stage, merge),
        parameters={TOPIC_PARAMETER: topic or None},
        disposable=True,  # alarms hold no data: a failed first create is cleaned up and made again
    )


def deploy_alarms(stage: str, merge: Mapping[str, Any], topic: str, cloudformation: Any) -> str:
    """Create or update the alarms stack; the topic it notifies afterwards ("" for none)."""
    stack = alarms_stack(stage, merge, topic)
    stacks.deploy(cloudformation, stack)
    (described,) = cloudformation.describe_stacks(StackName=stack.name)["Stacks"]
    values = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}
    return str(values.get(TOPIC_PARAMETER, ""))


def delete_alarms(stage: str, cloudformation: Any) -> None:
    if stacks.status(cloudformation, alarms_stack_name(stage)) is not None:
        stacks.delete(cloudformation, alarms_stack_name(stage))
        print(f"Deleted the {stage} alarms stack.")
