"""Where the consumer sends what it does not keep itself: change events (EventBridge) and parked records.

Both are ports of the use cases; these are their AWS adapters (botocore clients,
built once per process by the wiring) and the local stack's file-based lot.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import botocore.session
from botocore.config import Config

from chalicelib.customers.model import HistoryEntry
from chalicelib.customers.ports import EventPublisher, ParkingLot
from chalicelib.stages import APP_NAME

EVENT_SOURCE = APP_NAME


class PublishFailed(RuntimeError):
    """EventBridge refused the event; the stream delivers the record again."""


def _json_default(value: object) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _client(service: str, region: str, endpoint_url: str | None = None) -> Any:
    config = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=1, read_timeout=3)
    return botocore.session.get_session().create_client(
        service, region_name=region, endpoint_url=endpoint_url, config=config
    )


class EventBridgePublisher(EventPublisher):
    def __init__(self, bus_name: str, region: str, client: Any = None) -> None:
        self._bus = bus_name
        self._client = client or _client("events", region)

    def publish(self, entry: HistoryEntry) -> None:
        detail = json.dumps(entry.detail(), default=_json_default, separators=(",", ":"))
        response = self._client.put_events(
            Entries=[
                {"Source": EVENT_SOURCE, "DetailType": entry.event_type, "Detail": detail, "EventBusName": self._bus}
            ]
        )
        if response.get("FailedEntryCount"):
            codes = [item.get("ErrorCode") for item in response.get("Entries", []) if item.get("ErrorCode")]
            raise PublishFailed(f"EventBridge refused the event: {', '.join(map(str, codes))}")


class QueueParkingLot(ParkingLot):
    """Deployed: an SQS message per parked record (the same queue is Lambda's on-failure destination)."""

    def __init__(self, queue_url: str, region: str, client: Any = None) -> None:
        self._queue_url = queue_url
        self._client = client or _client("sqs", region)

    def park(self, record: Mapping[str, Any], reason: str) -> None:
        body = json.dumps({"reason": reason, "record": record}, default=_json_default)
        self._client.send_message(QueueUrl=self._queue_url, MessageBody=body)


class DirectoryParkingLot(ParkingLot):
    """Locally: one JSON file per parked record under ``.local/`` (the stack says where)."""

    def __init__(self, directory: str) -> None:
        self._directory = Path(directory)

    def park(self, record: Mapping[str, Any], reason: str) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        name = f"{int(time.time() * 1000)}-{uuid.uuid4().hex[:8]}.json"
        document = {"reason": reason, "record": record}
        (self._directory / name).write_text(json.dumps(document, default=_json_default, indent=2) + "\n")


class LoggingParkingLot(ParkingLot):
    """Nowhere configured to keep it: say so loudly (sequence number only: the record holds personal data)."""

    def park(self, record: Mapping[str, Any], reason: str) -> None:
        from chalicelib.observability import logger

        number = record.get("dynamodb", {}).get("SequenceNumber")
        logger.error("change record dropped: no parking configured", extra={"sequence_number": number})
