"""A stage's CloudWatch alarms, for both ways to deploy: in the packaged template, or a stack of their own.

Each alarm watches something the deployed stage really does: the API's 5xx rate and
latency, the API function's throttles, every table's (and every index's) throttling, the
DynamoDB operations the functions make (scripts/deploy/dynamodb_calls.py, checked against
recorded calls), the change consumer falling behind or failing whole batches, records
parked in the on-failure queue, and subscribers' rules on the event bus failing to deliver.
They notify the SNS topic ``AlarmTopicArn`` when one is set (a stack parameter whose value
comes from the stage's ``alarm_topic_arn`` in .chalice/config.json, or stays as it is).
"""

from __future__ import annotations

from typing import Any

from chalicelib.stages import API_STAGE, APP_NAME, event_bus_name, resource_name
from scripts.deploy.changes import PARKED_RECORDS_QUEUE
from scripts.deploy.dynamodb_calls import operations_on

TOPIC_PARAMETER = "AlarmTopicArn"
HAS_TOPIC = "HasAlarmTopic"
# Metric math takes at most 10 metrics per alarm.
MAX_METRICS = 10


def parameters(topic_default: str) -> dict[str, Any]:
    return {
        TOPIC_PARAMETER: {
            "Type": "String",
            "Default": topic_default,
            "Description": "SNS topic the alarms notify (empty: alarms only show in CloudWatch).",
        }
    }


def conditions() -> dict[str, Any]:
    return {HAS_TOPIC: {"Fn::Not": [{"Fn::Equals": [{"Ref": TOPIC_PARAMETER}, ""]}]}}


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
    actions = {"Fn::If": [HAS_TOPIC, [{"Ref": TOPIC_PARAMETER}], {"Ref": "AWS::NoValue"}]}
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


def _sum(label: str, metrics: list[tuple[str, list[dict[str, Any]]]], *, period: int = 60) -> dict[str, Any]:
    """Metric math: the sum of (metric name, dimensions) in AWS/DynamoDB, a missing one counting as 0."""
    if len(metrics) > MAX_METRICS - 1:
        raise ValueError(f"{label}: {len(metrics)} metrics is more than one alarm can sum; split the alarm")
    queries: list[dict[str, Any]] = [
        {
            "Id": f"m{index}",
            "ReturnData": False,
            "MetricStat": {
                "Metric": {"Namespace": "AWS/DynamoDB", "MetricName": name, "Dimensions": dimensions},
                "Period": period,
                "Stat": "Sum",
            },
        }
        for index, (name, dimensions) in enumerate(metrics)
    ]
    expression = "+".join(f"FILL(m{index}, 0)" for index in range(len(metrics)))
    queries.append({"Id": "total", "Expression": expression, "Label": label, "ReturnData": True})
    return {"Metrics": queries}


def api_name(stage: str) -> str:
    """Each stage's API gets its own name, so its metrics (and alarms) are its own."""
    return resource_name(stage)


def _api_metric(stage: str, name: str, **statistic: Any) -> dict[str, Any]:
    dimensions = [{"Name": "ApiName", "Value": api_name(stage)}, {"Name": "Stage", "Value": API_STAGE}]
    return {"Namespace": "AWS/ApiGateway", "MetricName": name, "Dimensions": dimensions, **statistic}


def _table_alarms(stage: str, logical_id: str, table: dict[str, Any]) -> dict[str, Any]:
    """Throttling of the table and of each of its indexes (an index's throttled writes throttle the table's
    writes too), and system errors summed over the operations the functions make on it."""
    name: list[dict[str, Any]] = [{"Name": "TableName", "Value": {"Ref": logical_id}}]
    indexes: list[list[dict[str, Any]]] = [
        [*name, {"Name": "GlobalSecondaryIndexName", "Value": index["IndexName"]}]
        for index in table["Properties"].get("GlobalSecondaryIndexes", [])
    ]
    alarms = {}
    for kind in ("Read", "Write"):
        metric = f"{kind}ThrottleEvents"
        alarms[f"{logical_id}{kind}ThrottleAlarm"] = _alarm(
            f"{APP_NAME} {stage}: {logical_id} (or one of its indexes) {kind.lower()} throttle events",
            _sum(metric, [(metric, dimensions) for dimensions in (name, *indexes)]),
            0,
            periods=1,
        )
    operations = operations_on(logical_id)
    if operations:
        errors = [("SystemErrors", [*name, {"Name": "Operation", "Value": operation}]) for operation in operations]
        alarms[f"{logical_id}ErrorAlarm"] = _alarm(
            f"{APP_NAME} {stage}: {logical_id} DynamoDB system errors ({', '.join(operations)})",
            _sum("SystemErrors", errors),
            0,
            periods=1,
        )
    return alarms


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


def _consumer_alarms(stage: str, consumer: str) -> dict[str, Any]:
    """The consumer falling behind the stream, and batches failing as a whole (a crash or a timeout)."""
    function = [{"Name": "FunctionName", "Value": {"Ref": consumer}}]
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


def _failed_deliveries_alarm(stage: str) -> dict[str, Any]:
    """Rules on the stage's bus (other teams' subscriptions) that failed to deliver a change event.

    EventBridge publishes FailedInvocations per rule, and the rules are not ours to know, so
    a Metrics Insights query sums them over every rule of this bus.
    """
    bus = event_bus_name(stage)
    query = f"SELECT SUM(FailedInvocations) FROM SCHEMA(\"AWS/Events\", EventBusName, RuleName) WHERE EventBusName = '{bus}'"  # noqa: S608, E501
    return _alarm(
        f"{APP_NAME} {stage}: a rule on the change-event bus failed to deliver events to its target",
        {"Metrics": [{"Id": "failed", "Expression": query, "Period": 300, "ReturnData": True}]},
        0,
        periods=1,
    )


def alarm_resources(stage: str, data_resources: dict[str, Any], api_function: str, consumer: str) -> dict[str, Any]:
    """Every alarm of the stage, referring to the functions by their logical ids and to the data resources."""
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
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": api_function}}],
                "Statistic": "Sum",
            },
            0,
            periods=1,
        ),
        "ParkedRecordsAlarm": _parked_records_alarm(stage),
        "EventDeliveryFailureAlarm": _failed_deliveries_alarm(stage),
        **_consumer_alarms(stage, consumer),
    }
    for logical_id, resource in data_resources.items():
        if resource["Type"] == "AWS::DynamoDB::Table":
            alarms.update(_table_alarms(stage, logical_id, resource))
    return alarms
