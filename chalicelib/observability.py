"""Structured JSON logs and business metrics (Powertools), never carrying customer data.

Log lines carry the request id, method, route template, status, latency and error
code. They never carry a body, a query string, header values or an exception
message built from input: names, emails, phones, addresses and birth dates stay
out of the logs by construction, and tests/unit/test_logs.py checks it over the
whole API surface. Metrics are CloudWatch Embedded Metric Format lines, so they
cost no API call.
"""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.stages import APP_NAME

SERVICE = APP_NAME
# One encoder, built once: Powertools' default serializer is json.dumps with keyword
# arguments, which builds a new encoder for every line.
_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"), ensure_ascii=False)


def _message(text: Any) -> Any:
    """Powertools tries to JSON-decode every message; ours are plain words, so only try what looks like JSON."""
    return json.loads(text) if isinstance(text, str) and text[:1] in ("{", "[") else text


# The same logging.Logger Chalice uses as app.log (it is named after the app), so
# Chalice's own "Caught exception" records come out as JSON with the request keys.
logger = Logger(service=SERVICE, use_rfc3339=True, json_serializer=_ENCODER.encode, json_deserializer=_message)
metrics = Metrics(namespace="CustomerApi", service=SERVICE)


def restore_log_level() -> None:
    """Chalice's ``debug`` switch sets app.log, which is our logger, to ERROR; put the configured level back."""
    logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL") or os.environ.get("LOG_LEVEL") or "INFO")


def count(name: str) -> None:
    """One occurrence of a business event (created, conflict, ...), flushed with the request's metrics."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def count_throttle() -> None:
    """DynamoDB throttled us even after botocore's retries."""
    count("DynamoDBThrottles")


def record_latency(latency_ms: float) -> None:
    metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=latency_ms)


def flush_metrics() -> None:
    metrics.flush_metrics()
