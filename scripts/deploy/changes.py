"""The deploy side of change history and events: the data stack's bus and queue, and how Lambda feeds the consumer.

The bus and the parked-records queue live in the data stack with the tables, not in
Chalice's deployment, for the same reason the tables do: `chalice delete` must never
take parked customer records (or the bus other teams subscribe to) with it. Both are
named by ``chalicelib/stages.py``, which the app's settings read too.

The consumer's stream settings and environment are defined here once, for both ways
to deploy: the packaged template's event (scripts/deploy/app_template.py) and the
update after `chalice deploy` (scripts/deploy/app_deploy.py), which knows none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.stages import APP_NAME, CONSUMER_FUNCTION, event_bus_name, parked_records_queue_name
from chalicelib.storage.tables import CUSTOMERS

# Chalice's name for the consumer's stream subscription (.chalice/deployed; its SAM event is the CamelCase of it).
CONSUMER_MAPPING = f"{CONSUMER_FUNCTION}-dynamodb-event-source"
EVENT_BUS = "EventBus"
PARKED_RECORDS_QUEUE = "ParkedRecordsQueue"
# SQS's longest retention: an operator has two weeks to look at a parked record.
PARKED_RECORDS_RETENTION_SECONDS = 14 * 24 * 60 * 60
# The data stack's outputs the consumer is wired from (generate_infra and change_outputs write them).
STREAM_ARN_OUTPUT = f"{CUSTOMERS.logical_id}StreamArn"
QUEUE_URL_OUTPUT = "ParkedRecordsQueueUrl"
QUEUE_ARN_OUTPUT = "ParkedRecordsQueueArn"
BUS_NAME_OUTPUT = "EventBusName"

# How Lambda feeds the consumer, beyond what Chalice's decorator says (batch size, starting position).
STREAM_EVENT_SETTINGS: dict[str, Any] = {
    # The consumer names the records that failed; Lambda retries from the first of them, not the whole batch.
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
    # Bounded, and above the consumer's STREAM_MAX_ATTEMPTS (3): the consumer parks a record that keeps
    # failing itself, whole, before Lambda gives up on it and sends only its metadata to the destination.
    # The margin covers invocations that fail as a whole (a timeout, a crash) without counting an attempt.
    "MaximumRetryAttempts": 5,
    # A whole-batch failure is retried as it is: the consumer reports failures per record, and halving
    # batches would add invocations that re-deliver records with no new failure.
    "BisectBatchOnFunctionError": False,
    # The stream keeps records 24 hours; an older one is gone whatever Lambda does.
    "MaximumRecordAgeInSeconds": 24 * 60 * 60,
}

# The consumer's environment, each variable from one of the data stack's outputs.
CONSUMER_ENVIRONMENT_OUTPUTS = {
    # app.py registers the consumer only when this is set, both when Chalice imports it and in Lambda.
    "CUSTOMERS_STREAM_ARN": STREAM_ARN_OUTPUT,
    "PARKED_RECORDS_QUEUE_URL": QUEUE_URL_OUTPUT,
    "EVENT_BUS_NAME": BUS_NAME_OUTPUT,
}


def stream_event_settings(on_failure_destination: Any) -> dict[str, Any]:
    """The settings, with where Lambda sends a record's metadata once it gives up (the parked-records queue).

    The same keys and shapes serve SAM's ``DynamoDB`` event and Lambda's ``UpdateEventSourceMapping``.
    """
    return {**STREAM_EVENT_SETTINGS, "DestinationConfig": {"OnFailure": {"Destination": on_failure_destination}}}


def consumer_environment(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The consumer's variables from the data stack's outputs: their values (deploy) or their intrinsics (package)."""
    return {variable: outputs[output] for variable, output in CONSUMER_ENVIRONMENT_OUTPUTS.items()}


def change_resources(stage: str, protected: bool) -> dict[str, Any]:
    """The bus the consumer publishes change events to, and the queue where failed records are parked."""
    tags = [{"Key": "app", "Value": APP_NAME}, {"Key": "stage", "Value": stage}]
    # Parked records are customer data the stream no longer holds (it keeps 24 hours):
    # like the tables, prod keeps the queue when the stack goes or replaces it.
    policy = "Retain" if protected else "Delete"
    return {
        EVENT_BUS: {
            "Type": "AWS::Events::EventBus",
            "Properties": {
                "Name": event_bus_name(stage),
                "Description": f"{APP_NAME} {stage}: one event per change of a customer",
                "Tags": tags,
            },
        },
        PARKED_RECORDS_QUEUE: {
            "Type": "AWS::SQS::Queue",
            "DeletionPolicy": policy,
            "UpdateReplacePolicy": policy,
            "Properties": {
                "QueueName": parked_records_queue_name(stage),
                "SqsManagedSseEnabled": True,
                "MessageRetentionPeriod": PARKED_RECORDS_RETENTION_SECONDS,
                "Tags": tags,
            },
        },
    }


def change_outputs(stage: str) -> dict[str, Any]:
    """Name and ARN of the bus, URL and ARN of the queue: what the consumer's deploy step wires in."""
    outputs: dict[str, Any] = {}
    for key, value, description in (
        (BUS_NAME_OUTPUT, {"Fn::GetAtt": [EVENT_BUS, "Name"]}, "name of the bus change events go to"),
        ("EventBusArn", {"Fn::GetAtt": [EVENT_BUS, "Arn"]}, "ARN of the bus change events go to"),
        (QUEUE_URL_OUTPUT, {"Ref": PARKED_RECORDS_QUEUE}, "URL of the parked-records queue"),
        (QUEUE_ARN_OUTPUT, {"Fn::GetAtt": [PARKED_RECORDS_QUEUE, "Arn"]}, "ARN of the parked-records queue"),
    ):
        outputs[key] = {
            "Description": description,
            "Value": value,
            "Export": {"Name": f"{APP_NAME}-{stage}-{key}"},
        }
    return outputs
