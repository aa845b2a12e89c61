"""Structured JSON logs (Powertools Logger): one line per request, never customer data.

Log lines carry the request id, method, route template, status, latency and error
code. They never carry a body, a query string, header values or an exception
message built from input: names, emails, phones, addresses and birth dates stay
out of the logs by construction, and tests/unit/test_logs.py checks it over the
whole API surface.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from chalice.app import Request, Response

from chalicelib.schemas import CustomerSchema

SERVICE = "customer-api"
LOGGABLE_NAMES = frozenset(
    {*CustomerSchema().fields, "_schema", "limit", "next_token", "If-Match", "If-None-Match", "Idempotency-Key"}
)
# The same logging.Logger Chalice uses as app.log (it is named after the app), so
# Chalice's own "Caught exception" records come out as JSON with the request keys.
logger = Logger(service=SERVICE, use_rfc3339=True)
# CloudWatch Embedded Metric Format: metrics are log lines, so they cost no API call.
metrics = Metrics(namespace="CustomerApi", service=SERVICE)

# (route template, method, status) of a successful write -> the business metric it counts.
_WRITES = {
    ("/customers", "POST", 201): "CustomersCreated",
    ("/customers/{customer_id}", "PUT", 200): "CustomersUpdated",
    ("/customers/{customer_id}", "DELETE", 204): "CustomersDeleted",
}
_ERROR_METRICS = {
    "validation_error": "ValidationFailures",
    "invalid_body": "ValidationFailures",
    "email_in_use": "Conflicts",
    "conflict": "Conflicts",
    "precondition_failed": "Conflicts",
    "request_in_progress": "Conflicts",
    "service_unavailable": "StoreUnavailable",  # DynamoDB throttling, conflicts or outages after retries
}


def restore_log_level() -> None:
    """Chalice's ``debug`` switch sets app.log, which is our logger, to ERROR; put the configured level back."""
    logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL") or os.environ.get("LOG_LEVEL") or "INFO")


def request_id_of(request: Request) -> str:
    """API Gateway's request id (the one in its access logs), or a fresh one under `chalice local`."""
    context = request.context or {}
    return str(context.get("requestId") or uuid.uuid4())


@contextmanager
def request_scope(request: Request) -> Iterator[str]:
    """Tag every log line of this request; thread-safe, since `chalice local` serves requests in threads."""
    request_id = request_id_of(request)
    logger.thread_safe_append_keys(
        request_id=request_id, method=request.method, route=(request.context or {}).get("resourcePath")
    )
    try:
        yield request_id
    finally:
        logger.thread_safe_clear_keys()


def count_throttle() -> None:
    """DynamoDB throttled us even after botocore's retries (flushed with the request's other metrics)."""
    metrics.add_metric(name="DynamoDBThrottles", unit=MetricUnit.Count, value=1)


def record_metrics(request: Request, response: Response, latency_ms: float) -> None:
    """One EMF line per request: latency, plus what happened (created, conflict, ...)."""
    route = str((request.context or {}).get("resourcePath"))
    written = _WRITES.get((route, request.method, response.status_code))
    if written and "Idempotent-Replayed" not in response.headers:
        metrics.add_metric(name=written, unit=MetricUnit.Count, value=1)
    body = response.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        name = _ERROR_METRICS.get(str(body["error"].get("code")))
        if name:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=latency_ms)
    metrics.flush_metrics()


def log_response(response: Response, started: float) -> float:
    """Log the request's line; return its latency in milliseconds."""
    fields: dict[str, Any] = {
        "status": response.status_code,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    body = response.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        fields["error_code"] = body["error"].get("code")
        # Names only, never values, and only names the API defines: a client's unknown keys
        # or parameters may themselves be personal data ({"jane@example.com": 1}).
        fields["error_fields"] = sorted(
            name if name in LOGGABLE_NAMES else "<unknown>" for name in body["error"].get("details", {})
        )
    if response.status_code >= 500:
        logger.error("request failed", extra=fields)
    else:
        logger.info("request", extra=fields)
    return float(fields["latency_ms"])
