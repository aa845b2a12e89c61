"""Structured JSON logs and business metrics (Powertools), never carrying customer data.

Each request writes one JSON line: what happened (route, status, latency, error
code) and, in the same line, its metrics in CloudWatch Embedded Metric Format
(EMF is any JSON log event with an ``_aws`` member, so CloudWatch extracts the
metrics from that line: no second line, no API call). The metrics are kept per
request, in a context variable: Powertools' Metrics keeps one set per process,
which `chalice local`'s threads (and any threaded server) would share and mix,
and serialises it with validation on every flush; our names and units are fixed. Lines never carry a body,
a query string, header values or an exception message built from input: names,
emails, phones, addresses and birth dates stay out by construction, and
tests/unit/test_logs.py checks it over the whole API surface.

The request path is lean: one encoder built once, no JSON-decoding attempt on
plain messages, no stack walk for a caller location nobody reads, timestamps in
UTC (what Lambda's clock is anyway) without a local-zone lookup, and a fast path
in the formatter for the ordinary record (see :class:`LeanFormatter`).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from contextvars import ContextVar
from typing import IO, Any, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import RESERVED_LOG_ATTRS, LambdaPowertoolsFormatter

from chalicelib.stages import APP_NAME

SERVICE = APP_NAME
_TRACE_ID_VARIABLE = "_X_AMZN_TRACE_ID"  # set by Lambda for each invocation when X-Ray is on
_RESERVED = frozenset(RESERVED_LOG_ATTRS)

# The Logging HOWTO's documented optimisations: no caller lookup (a stack walk per
# line), no process or thread names (one line per request says which request).
logging._srcfile = None
logging.logProcesses = logging.logThreads = logging.logMultiprocessing = False


class _CurrentStdout:
    """Write to whatever sys.stdout is now (Lambda's, or a test's capture), not the one at import."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def _looks_like_json(text: str) -> bool:
    return text[:1] in ("{", "[")


def _message(text: Any) -> Any:
    """Powertools tries to JSON-decode every message; ours are plain words, so only try what looks like JSON."""
    return json.loads(text) if isinstance(text, str) and _looks_like_json(text) else text


_last_second: tuple[int, str] = (-1, "")  # one reference, swapped whole, so threads never see half of it


def _timestamp(created: float) -> str:
    """The format Powertools writes with use_rfc3339 and utc (2024-05-01T12:00:00.123+00:00); the
    date and time are formatted once a second rather than on every line."""
    global _last_second
    second = int(created)
    cached, text = _last_second
    if cached != second:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _last_second = (second, text)
    return f"{text}.{int((created - second) * 1000):03d}+00:00"


class LeanFormatter(LambdaPowertoolsFormatter):
    """Powertools' formatter with a fast path for the ordinary record: a plain message, no exception.

    The same keys come out (level, message, timestamp, service, appended and
    request keys, extras, the X-Ray trace id); records with an exception,
    %-arguments or a structured message take Powertools' own path.
    """

    def format(self, record: logging.LogRecord) -> str:
        message = record.msg
        plain = isinstance(message, str) and not _looks_like_json(message)
        if record.exc_info or record.args or record.stack_info or not plain:
            return super().format(record)
        log: dict[str, Any] = {
            "level": record.levelname,
            "message": message,
            "timestamp": _timestamp(record.created),
        }
        for key, value in self.log_format.items():
            if value is not None and key not in _RESERVED and key not in log:
                log[key] = value
        log.update(self.thread_safe_get_current_keys())
        fields = record.__dict__
        for key in fields.keys() - _RESERVED:
            log[key] = fields[key]
        trace = os.environ.get(_TRACE_ID_VARIABLE)
        if trace:
            log["xray_trace_id"] = trace.split(";")[0].replace("Root=", "")
        if None in log.values():  # as Powertools does: a key without a value is left out
            log = {key: value for key, value in log.items() if value is not None}
        return self.serialize(log)


# One encoder, built once: Powertools' default serializer is json.dumps with keyword
# arguments, which builds a new encoder for every line.
_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"), ensure_ascii=False)
# The same logging.Logger Chalice uses as app.log (it is named after the app), so
# Chalice's own "Caught exception" records come out as JSON with the request keys.
logger = Logger(
    service=SERVICE,
    stream=cast(IO[str], _CurrentStdout()),
    location=None,
    logger_formatter=LeanFormatter(
        json_serializer=_ENCODER.encode, json_deserializer=_message, use_rfc3339=True, utc=True, location=None
    ),
)
NAMESPACE = "CustomerApi"
# Every metric the app emits, with its unit: a new one is added here first.
UNITS = {
    "CustomersCreated": "Count",
    "CustomersUpdated": "Count",
    "CustomersDeleted": "Count",
    "CustomersRestored": "Count",
    "CustomersErased": "Count",
    "ChangesRecorded": "Count",
    "ChangeEventsPublished": "Count",
    "ChangeRecordsFailed": "Count",
    "ChangeRecordsParked": "Count",
    "ValidationFailures": "Count",
    "Conflicts": "Count",
    "StoreUnavailable": "Count",
    "DynamoDBThrottles": "Count",
    "Latency": "Milliseconds",
}
_counts: ContextVar[dict[str, int] | None] = ContextVar("request_metrics", default=None)


def restore_log_level() -> None:
    """Chalice's ``debug`` switch sets app.log, which is our logger, to ERROR; put the configured level back."""
    logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL") or os.environ.get("LOG_LEVEL") or "INFO")


def start_metrics() -> None:
    """A fresh set of counts for the request this thread is serving."""
    _counts.set({})


_counting = threading.Lock()


def count(name: str) -> None:
    """One occurrence of a business event (created, conflict, ...), sent with the request's line."""
    if name not in UNITS:
        raise ValueError(f"unknown metric {name!r}: add it to UNITS")
    counts = _counts.get()
    if counts is not None:  # outside a request (scripts, table set-up) nothing is sent
        with _counting:  # a batch's operations count from several threads
            counts[name] = counts.get(name, 0) + 1


def request_metrics(latency_ms: float | None) -> dict[str, Any]:
    """The request's EMF members (its latency and what it counted) for its log line; then forget them.

    Without a latency (a batch of the stream consumer) only the counts are sent.
    """
    values: dict[str, int | float] = {**(_counts.get() or {})}
    _counts.set(None)
    if latency_ms is not None:
        values["Latency"] = latency_ms
    definitions = [{"Name": name, "Unit": UNITS[name]} for name in values]
    document: dict[str, Any] = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [["service"]], "Metrics": definitions}],
        },
        "service": SERVICE,
    }
    document.update(values)
    return document
