"""Where a stage's logs go: one group per function and one for API Gateway's access log, owned by the data stack.

The groups are the stack's, with the stage's retention, so logs expire instead of piling up
forever, and a dev `make delete` takes them with it (prod keeps them, like its data, until
they expire). Lambda's ``LoggingConfig`` points each function at its group: Lambda's own
``/aws/lambda/<function>`` group is made by Lambda the first time a function logs, so a
stack that tried to create that name would fail on every account that ran an earlier release.

The access log is JSON and never holds a query string or a path with values in it: it
logs the route template (``/customers/{customer_id}``), because ``email_address=`` and
``q=`` are personal data.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.stages import APP_NAME, CONSUMER_FUNCTION, LOG_RETENTION_DAYS, log_group_name

API_FUNCTION = "api"  # the API function's group: /customer-api/<stage>/api
ACCESS_LOG = "api-access"
# Logical id, log source (a function's Chalice name or the access log), and what it holds.
LOG_GROUPS = (
    ("ApiLogGroup", API_FUNCTION, "the API function"),
    ("ConsumerLogGroup", CONSUMER_FUNCTION, "the change-stream consumer"),
    ("ApiAccessLogGroup", ACCESS_LOG, "API Gateway's access log"),
)
ACCESS_LOG_ARN_OUTPUT = "ApiAccessLogGroupArn"

# One JSON object per request. Identifiers of the request and of the calling client (its OAuth
# client id), never of a customer or a person: no query string, no concrete path, no source IP.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "requestTime": "$context.requestTimeEpoch",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationLatency": "$context.integrationLatency",
        "errorType": "$context.error.responseType",
        "clientId": "$context.authorizer.claims.client_id",
        "xrayTraceId": "$context.xrayTraceId",
    },
    separators=(",", ":"),
)


def log_group_arn(logical_id: str) -> dict[str, Any]:
    """The group's ARN without the ``:*`` that ``Fn::GetAtt Arn`` ends in (API Gateway refuses that form).

    Made from the group's ``Ref`` (its name), so whatever uses it is created after the group.
    """
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:${{{logical_id}}}"}


def log_group_resources(stage: str, protected: bool) -> dict[str, Any]:
    policy = "Retain" if protected else "Delete"
    return {
        logical_id: {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": policy,
            "UpdateReplacePolicy": policy,
            "Properties": {
                "LogGroupName": log_group_name(stage, source),
                "RetentionInDays": LOG_RETENTION_DAYS[stage],
                "Tags": [{"Key": "app", "Value": APP_NAME}, {"Key": "stage", "Value": stage}],
            },
        }
        for logical_id, source, _ in LOG_GROUPS
    }


def log_group_outputs(stage: str) -> dict[str, Any]:
    outputs: dict[str, Any] = {
        f"{logical_id}Name": {"Description": f"log group of {what}", "Value": {"Ref": logical_id}}
        for logical_id, _, what in LOG_GROUPS
    }
    outputs[ACCESS_LOG_ARN_OUTPUT] = {
        "Description": "ARN of API Gateway's access log group (the stage's access log destination)",
        "Value": log_group_arn("ApiAccessLogGroup"),
    }
    return outputs


def logging_config(stage: str, source: str) -> dict[str, str]:
    """A function's Lambda ``LoggingConfig``: plain text lines (the app writes its own JSON, EMF included)."""
    return {"LogFormat": "Text", "LogGroup": log_group_name(stage, source)}
