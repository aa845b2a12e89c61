"""The `chalice package --merge-template` for a stage: what Chalice cannot express by itself.

On top of the stage's data resources (tables, pagination key) it adds API Gateway's
own error answers in the API's envelope and with CORS headers (Chalice never emits
gateway responses), stage throttling, and CloudWatch alarms with an optional SNS
topic. The result only makes sense merged with Chalice's template: it refers to
Chalice's ``RestAPI`` and ``APIHandler``.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.api.access import EXPOSED_HEADERS
from chalicelib.stages import API_STAGE, APP_NAME, THROTTLING, resource_name
from scripts.deploy.changes import PARKED_RECORDS_QUEUE

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


def _alarm(
    description: str,
    metric: dict[str, Any],
    threshold: float,
    periods: int = 3,
    *,
    period: int = 60,
    missing: str = "notBreaching",
) -> dict[str, Any]:
    """``missing``: what a period without data means; most metrics here are only published when something happens."""
    actions = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    period_property = {} if "Metrics" in metric else {"Period": period}  # metric math carries its own periods
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            **metric,
            **period_property,
            "EvaluationPeriods": periods,
            "DatapointsToAlarm": periods,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": missing,
            "AlarmActions": actions,
            "OKActions": actions,
        },
    }


def api_name(stage: str) -> str:
    """Each stage's API gets its own name, so its metrics (and alarms) are its own."""
    return resource_name(stage)


def _api_metric(stage: str, name: str, **statistic: Any) -> dict[str, Any]:
    dimensions = [{"Name": "ApiName", "Value": api_name(stage)}, {"Name": "Stage", "Value": API_STAGE}]
    return {"Namespace": "AWS/ApiGateway", "MetricName": name, "Dimensions": dimensions, **statistic}


# DynamoDB publishes SystemErrors per table *and operation*; these are the ones the app makes
# (PutItem and Query: the history table's writes, its reads and the feed; Query: the filters).
_OPERATIONS = ("GetItem", "Scan", "Query", "PutItem", "UpdateItem", "TransactWriteItems")


def _table_errors(logical_id: str) -> dict[str, Any]:
    """SystemErrors summed over the app's operations (metric math: the metric has no per-table total)."""
    queries: list[dict[str, Any]] = [
        {
            "Id": f"m{index}",
            "ReturnData": False,
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/DynamoDB",
                    "MetricName": "SystemErrors",
                    "Dimensions": [
                        {"Name": "TableName", "Value": {"Ref": logical_id}},
                        {"Name": "Operation", "Value": operation},
                    ],
                },
                "Period": 60,
                "Stat": "Sum",
            },
        }
        for index, operation in enumerate(_OPERATIONS)
    ]
    expression = "+".join(f"FILL(m{index}, 0)" for index in range(len(_OPERATIONS)))
    queries.append({"Id": "errors", "Expression": expression, "Label": "SystemErrors", "ReturnData": True})
    return {"Metrics": queries}


def _parked_records_alarm(stage: str) -> dict[str, Any]:
    """Any record in the parked-records queue: a change that is in no history and raised no event yet.

    SQS stops publishing a queue's metrics after six hours without any call to it, even
    with messages in it; ``ignore`` keeps the alarm in ALARM through that silence
    instead of letting it fall back to OK while the records still wait.
    """
    return _alarm(
        f"{APP_NAME} {stage}: change records parked in the parked-records queue (docs/operations.md)",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [PARKED_RECORDS_QUEUE, "QueueName"]}}],
            "Statistic": "Maximum",
        },
        0,
        periods=1,
        period=300,
        missing="ignore",
    )


def _alarms(stage: str, tables: dict[str, Any]) -> dict[str, Any]:
    alarms = {
        "Api5xxRateAlarm": _alarm(
            f"{APP_NAME} {stage}: more than 1% of requests answered 5xx",
            _api_metric(stage, "5XXError", Statistic="Average"),
            0.01,
        ),
        "ApiLatencyP99Alarm": _alarm(
            f"{APP_NAME} {stage}: p99 latency above 1 s",
            _api_metric(stage, "Latency", ExtendedStatistic="p99"),
            1000,
            periods=5,
        ),
        "FunctionThrottleAlarm": _alarm(
            f"{APP_NAME} {stage}: Lambda throttled invocations",
            {
                "Namespace": "AWS/Lambda",
                "MetricName": "Throttles",
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": "APIHandler"}}],
                "Statistic": "Sum",
            },
            0,
            periods=1,
        ),
        "ParkedRecordsAlarm": _parked_records_alarm(stage),
    }
    for logical_id, resource in tables.items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        table = [{"Name": "TableName", "Value": {"Ref": logical_id}}]
        for kind in ("Read", "Write"):
            alarms[f"{logical_id}{kind}ThrottleAlarm"] = _alarm(
                f"{APP_NAME} {stage}: {logical_id} {kind.lower()} throttle events",
                {
                    "Namespace": "AWS/DynamoDB",
                    "MetricName": f"{kind}ThrottleEvents",
                    "Dimensions": table,
                    "Statistic": "Sum",
                },
                0,
                periods=1,
            )
        alarms[f"{logical_id}ErrorAlarm"] = _alarm(
            f"{APP_NAME} {stage}: {logical_id} DynamoDB system errors", _table_errors(logical_id), 0, periods=1
        )
    return alarms


def app_merge_template(stage: str, data_template: dict[str, Any], origin: str) -> dict[str, Any]:
    rate, burst = THROTTLING[stage]
    resources = dict(data_template["Resources"])
    resources["APIHandler"] = {"Properties": {"FunctionName": resource_name(stage)}}  # as `chalice deploy` names it
    resources["RestAPI"] = {
        "Properties": {
            "Name": api_name(stage),
            "TracingEnabled": True,
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
    resources.update(_alarms(stage, data_template["Resources"]))
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"{APP_NAME} {stage}: Chalice's function and API with tables, pagination key, gateway "
            "responses, throttling and alarms. Generated by scripts/deploy/generate_infra.py; do not edit."
        ),
        "Parameters": {
            "AlarmTopicArn": {
                "Type": "String",
                "Default": "",
                "Description": "SNS topic the alarms notify (empty: alarms only show in CloudWatch).",
            }
        },
        "Conditions": {"HasAlarmTopic": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}},
        "Resources": resources,
        "Outputs": data_template["Outputs"],
    }
