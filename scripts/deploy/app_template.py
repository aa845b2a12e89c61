"""The `chalice package --merge-template` for a stage: what Chalice cannot express by itself.

On top of the stage's data resources (tables, pagination key, bus, queue) it adds API
Gateway's own error answers in the API's envelope and with CORS headers (Chalice never
emits gateway responses), stage throttling, the change consumer's stream settings and
environment, and CloudWatch alarms with an optional SNS topic. The result only makes
sense merged with Chalice's template: it refers to Chalice's ``RestAPI``, ``APIHandler``
and ``RecordChanges`` (the consumer app.py registers when CUSTOMERS_STREAM_ARN is set,
which scripts/deploy/package.py sees to).
"""

from __future__ import annotations

import json
from typing import Any

from chalice.utils import to_cfn_resource_name

from chalicelib.api.access import EXPOSED_HEADERS
from chalicelib.stages import API_STAGE, APP_NAME, CONSUMER_FUNCTION, THROTTLING, resource_name
from scripts.deploy.changes import (
    CONSUMER_MAPPING,
    PARKED_RECORDS_QUEUE,
    QUEUE_ARN_OUTPUT,
    STREAM_ARN_OUTPUT,
    consumer_environment,
    stream_event_settings,
)

# The logical ids `chalice package` gives the consumer and its stream event.
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


def _consumer_alarms(stage: str) -> dict[str, Any]:
    """The consumer falling behind the stream, and batches failing as a whole (a crash or a timeout)."""
    function = [{"Name": "FunctionName", "Value": {"Ref": CONSUMER}}]
    return {
        "ConsumerIteratorAgeAlarm": _alarm(
            f"{APP_NAME} {stage}: the change consumer is more than a minute behind the customers table",
            {"Namespace": "AWS/Lambda", "MetricName": "IteratorAge", "Dimensions": function, "Statistic": "Maximum"},
            60_000,
            periods=1,
            period=300,
        ),
        # Records the consumer reports as failed do not count: only invocations that fail whole.
        "ConsumerErrorAlarm": _alarm(
            f"{APP_NAME} {stage}: the change consumer failed a whole batch (Lambda retries it)",
            {"Namespace": "AWS/Lambda", "MetricName": "Errors", "Dimensions": function, "Statistic": "Sum"},
            0,
            periods=1,
        ),
    }


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
        **_consumer_alarms(stage),
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
    resources[CONSUMER] = _consumer(stage, data_template["Outputs"])
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
            f"{APP_NAME} {stage}: Chalice's functions and API with tables, pagination key, bus, queue, the "
            "consumer's stream settings, gateway responses, throttling and alarms. Generated by "
            "scripts/deploy/generate_infra.py; do not edit."
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
