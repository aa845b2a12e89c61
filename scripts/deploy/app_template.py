"""The `chalice package --merge-template` for a stage: what Chalice cannot express by itself.

On top of the stage's data resources (tables, pagination key, bus, queue, log groups) it
adds API Gateway's own error answers in the API's envelope and with CORS headers (Chalice
never emits gateway responses), stage throttling, the JSON access log, each function's log
group, the change consumer's stream settings and environment, and the alarms
(scripts/deploy/alarms.py) with an optional SNS topic. The result only makes
sense merged with Chalice's template: it refers to Chalice's ``RestAPI``, ``APIHandler``
and ``RecordChanges`` (the consumer app.py registers when CUSTOMERS_STREAM_ARN is set,
which scripts/deploy/package.py sees to).
"""

from __future__ import annotations

import json
from typing import Any

from chalice.utils import to_cfn_resource_name

from chalicelib.api.access import EXPOSED_HEADERS
from chalicelib.stages import APP_NAME, CONSUMER_FUNCTION, THROTTLING, resource_name
from scripts.deploy import alarms, log_groups
from scripts.deploy.alarms import api_name
from scripts.deploy.changes import (
    CONSUMER_MAPPING,
    QUEUE_ARN_OUTPUT,
    STREAM_ARN_OUTPUT,
    consumer_environment,
    stream_event_settings,
)
from scripts.deploy.log_groups import logging_config

# The logical ids `chalice package` gives the functions and the consumer's stream event.
API_FUNCTION = "APIHandler"
CONSUMER = to_cfn_resource_name(CONSUMER_FUNCTION)
CONSUMER_EVENT = to_cfn_resource_name(CONSUMER_MAPPING)

# API Gateway's own refusals, in the API's envelope: (response type, status, code).
GATEWAY_ERRORS = [
    ("MISSING_AUTHENTICATION_TOKEN", "404", "not_found"),  # what API Gateway answers for a path with no route
    ("UNAUTHORIZED", "401", "unauthorized"),
    ("ACCESS_DENIED", "403", "forbidden"),
    ("THROTTLED", "429", "throttled"),
    ("REQUEST_TOO_LARGE", "413", "payload_too_large"),
    ("DEFAULT_4XX", None, "bad_request"),
    ("DEFAULT_5XX", None, "internal_error"),
]


def _envelope(code: str) -> str:
    return json.dumps({"error": {"code": code, "message": "MESSAGE", "details": {}}}).replace(
        '"MESSAGE"', "$context.error.messageString"
    )


def _gateway_responses(origin: str) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for response_type, status, code in GATEWAY_ERRORS:
        response: dict[str, Any] = {
            "ResponseParameters": {
                "Headers": {
                    "Access-Control-Allow-Origin": f"'{origin}'",
                    "Access-Control-Expose-Headers": f"'{','.join(EXPOSED_HEADERS)}'",
                }
            },
            "ResponseTemplates": {"application/json": _envelope(code)},
        }
        if status is not None:
            response["StatusCode"] = status
        responses[response_type] = response
    return responses


def _consumer(stage: str, data_outputs: dict[str, Any]) -> dict[str, Any]:
    """What the packaged consumer gets on top of Chalice's: its stream, failure handling and environment.

    The data stack's resources are in the same (merged) template on this path, so the
    consumer refers to them directly, through the very values the data stack outputs.
    Chalice's event names the placeholder stream package.py gave it; this replaces it.
    """
    values = {key: output["Value"] for key, output in data_outputs.items()}
    return {
        "Properties": {
            "FunctionName": resource_name(stage, CONSUMER_FUNCTION),  # as `chalice deploy` names it
            "LoggingConfig": logging_config(stage, CONSUMER_FUNCTION),
            "Environment": {"Variables": consumer_environment(values)},
            "Events": {
                CONSUMER_EVENT: {
                    "Properties": {
                        "Stream": values[STREAM_ARN_OUTPUT],
                        **stream_event_settings(values[QUEUE_ARN_OUTPUT]),
                    }
                }
            },
        }
    }


def app_merge_template(stage: str, data_template: dict[str, Any], origin: str, alarm_topic: str) -> dict[str, Any]:
    rate, burst = THROTTLING[stage]
    resources = dict(data_template["Resources"])
    resources[API_FUNCTION] = {
        "Properties": {
            "FunctionName": resource_name(stage),  # as `chalice deploy` names it
            "LoggingConfig": logging_config(stage, log_groups.API_FUNCTION),
        }
    }
    resources[CONSUMER] = _consumer(stage, data_template["Outputs"])
    resources["RestAPI"] = {
        "Properties": {
            "Name": api_name(stage),
            "TracingEnabled": True,
            "AccessLogSetting": {
                "DestinationArn": data_template["Outputs"][log_groups.ACCESS_LOG_ARN_OUTPUT]["Value"],
                "Format": log_groups.ACCESS_LOG_FORMAT,
            },
            "MethodSettings": [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": rate,
                    "ThrottlingBurstLimit": burst,
                    "MetricsEnabled": True,
                }
            ],
            "GatewayResponses": _gateway_responses(origin),
        }
    }
    resources.update(alarms.alarm_resources(stage, data_template["Resources"], API_FUNCTION, CONSUMER))
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"{APP_NAME} {stage}: Chalice's functions and API with tables, pagination key, bus, queue, the "
            "consumer's stream settings, gateway responses, throttling and alarms. Generated by "
            "scripts/deploy/generate_infra.py; do not edit."
        ),
        "Parameters": alarms.parameters(alarm_topic),
        "Conditions": alarms.conditions(),
        "Resources": resources,
        "Outputs": data_template["Outputs"],
    }
