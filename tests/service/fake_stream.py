"""The customers table's change stream, in memory: what the fake store emits and the consumer decodes.

Records have the shape Lambda delivers (``eventName``, ``eventSourceARN``,
``dynamodb.SequenceNumber``, ``userIdentity`` for a removal DynamoDB made itself)
but carry no images: :meth:`StreamLog.decode` maps a record's sequence number to the
:class:`StreamChange` it stands for, so the consumer is handed the log's ``decode``
in place of ``stream_records.decode``. A record the log never issued fails to decode,
which is how a test makes a poison record.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from chalicelib.customers.model import StoredCustomer
from chalicelib.customers.ports import StreamChange

TTL_PRINCIPAL = "dynamodb.amazonaws.com"
STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/customers-in-memory/stream/2024-05-01T00:00:00.000"
StreamRecord = dict[str, Any]


class UnknownRecord(KeyError):
    """A record this log never issued: it can never be decoded, however often it is delivered."""


def event_name(old: StoredCustomer | None, new: StoredCustomer | None) -> str:
    if old is None:
        return "INSERT"
    return "REMOVE" if new is None else "MODIFY"


class StreamLog:
    def __init__(self) -> None:
        self._changes: dict[str, StreamChange] = {}
        self._records: list[StreamRecord] = []
        self._taken = 0

    def append(
        self,
        old: StoredCustomer | None,
        new: StoredCustomer | None,
        *,
        recorded_at: str,
        removed_by: str | None = None,
    ) -> StreamRecord:
        number = f"{len(self._records) + 1:021d}"
        self._changes[number] = StreamChange(number, copy.deepcopy(old), copy.deepcopy(new), removed_by, recorded_at)
        record: StreamRecord = {
            "eventID": f"event-{number}",
            "eventName": event_name(old, new),
            "eventSourceARN": STREAM_ARN,
            "dynamodb": {"SequenceNumber": number},
        }
        if removed_by is not None:
            record["userIdentity"] = {"type": "Service", "principalId": removed_by}
        self._records.append(record)
        return copy.deepcopy(record)

    def __len__(self) -> int:
        return len(self._records)

    def truncate(self, count: int) -> None:
        """Forget the records after the first ``count``: a transaction that did not commit wrote none."""
        for record in self._records[count:]:
            del self._changes[str(record["dynamodb"]["SequenceNumber"])]
        del self._records[count:]

    def decode(self, record: Mapping[str, Any]) -> StreamChange:
        number = str(record["dynamodb"]["SequenceNumber"])
        change = self._changes.get(number)
        if change is None:
            raise UnknownRecord(number)
        return copy.deepcopy(change)

    @property
    def records(self) -> list[StreamRecord]:
        """Every record so far, oldest first."""
        return copy.deepcopy(self._records)

    def take(self) -> list[StreamRecord]:
        """The records not taken yet: the next batch a shard would deliver."""
        batch = copy.deepcopy(self._records[self._taken :])
        self._taken = len(self._records)
        return batch

    def changes(self) -> list[StreamChange]:
        return [copy.deepcopy(self._changes[record["dynamodb"]["SequenceNumber"]]) for record in self._records]


def poison_record(number: str = "999999999999999999999") -> StreamRecord:
    """A record no log issued: it fails to decode on every delivery."""
    return {
        "eventID": f"event-{number}",
        "eventName": "MODIFY",
        "eventSourceARN": STREAM_ARN,
        "dynamodb": {"SequenceNumber": number},
    }
