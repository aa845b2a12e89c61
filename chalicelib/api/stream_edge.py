"""The edge of the change-stream consumer: what Lambda hands the function, and what it must answer.

The stream's counterpart of :mod:`chalicelib.api.edge`: it reads the records out of
the event (Chalice's ``DynamoDBEvent`` deployed, the plain dict the local poller
sends), runs the consumer, logs one line per batch with its metrics, and answers
in Lambda's ``ReportBatchItemFailures`` shape.
"""

from __future__ import annotations

from typing import Any

from chalicelib.observability import logger, request_metrics, start_metrics
from chalicelib.wiring import change_consumer


def handle_change_batch(event: Any) -> dict[str, list[dict[str, str]]]:
    records = event.to_dict()["Records"] if hasattr(event, "to_dict") else event["Records"]
    start_metrics()
    failed = change_consumer().consume(records)
    logger.info("change batch", extra={"records": len(records), "failed": len(failed), **request_metrics(None)})
    return {"batchItemFailures": [{"itemIdentifier": number} for number in failed]}
