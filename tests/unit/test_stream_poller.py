"""The local poller hands the consumer records in the shape Lambda delivers, whatever GetRecords spells."""

from __future__ import annotations

from datetime import UTC, datetime

from scripts.local.stream_poller import lambda_record

ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/customers-local/stream/2026-12-01T00:00:00.000"


def test_a_ttl_removal_names_dynamodb_as_lambda_does() -> None:
    # Given a removal as GetRecords returns it (capitalised identity, a datetime)
    record = {
        "eventName": "REMOVE",
        "userIdentity": {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"},
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
            "SequenceNumber": "100",
            "OldImage": {"customer_id": {"S": "x"}},
        },
    }
    # Then the consumer gets Lambda's spelling, epoch seconds and the stream it came from
    delivered = lambda_record(record, ARN, "us-east-1")
    assert delivered["userIdentity"] == {"principalId": "dynamodb.amazonaws.com", "type": "Service"}
    assert delivered["dynamodb"]["ApproximateCreationDateTime"] == datetime(2026, 12, 1, 12, 0, tzinfo=UTC).timestamp()
    assert delivered["eventSourceARN"] == ARN
    assert delivered["eventSource"] == "aws:dynamodb"


def test_a_change_made_through_the_api_carries_no_identity() -> None:
    record = {"eventName": "MODIFY", "dynamodb": {"SequenceNumber": "101", "NewImage": {}, "OldImage": {}}}
    assert "userIdentity" not in lambda_record(record, ARN, "us-east-1")
