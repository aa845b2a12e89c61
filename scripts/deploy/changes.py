"""The deploy side of change history and events: the bus and the parked-records queue of a stage's data stack.

They live in the data stack with the tables, not in Chalice's deployment, for the same
reason the tables do: `chalice delete` must never take parked customer records (or the
bus other teams subscribe to) with it. Both are named by ``chalicelib/stages.py``, which
the app's settings read too, so the template and the code agree on one name.
"""

from __future__ import annotations

from typing import Any

from chalicelib.stages import APP_NAME, event_bus_name, parked_records_queue_name

EVENT_BUS = "EventBus"
PARKED_RECORDS_QUEUE = "ParkedRecordsQueue"
# SQS's longest retention: an operator has two weeks to look at a parked record.
PARKED_RECORDS_RETENTION_SECONDS = 14 * 24 * 60 * 60


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
        ("EventBusName", {"Fn::GetAtt": [EVENT_BUS, "Name"]}, "name of the bus change events go to"),
        ("EventBusArn", {"Fn::GetAtt": [EVENT_BUS, "Arn"]}, "ARN of the bus change events go to"),
        ("ParkedRecordsQueueUrl", {"Ref": PARKED_RECORDS_QUEUE}, "URL of the parked-records queue"),
        ("ParkedRecordsQueueArn", {"Fn::GetAtt": [PARKED_RECORDS_QUEUE, "Arn"]}, "ARN of the parked-records queue"),
    ):
        outputs[key] = {
            "Description": description,
            "Value": value,
            "Export": {"Name": f"{APP_NAME}-{stage}-{key}"},
        }
    return outputs
