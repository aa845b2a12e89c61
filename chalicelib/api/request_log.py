"""The one log line and the metrics of each request, and the log keys that tag its other lines."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalice.app import Request, Response

from chalicelib.customers.model import RESPONSE_FIELDS
from chalicelib.observability import SERVICE, logger, request_metrics, start_metrics

# The standard-library logger under Powertools' Logger (same handler, same formatter): the
# request line goes to it directly, one wrapper call fewer on every request.
_request_log = logging.getLogger(SERVICE)

# Names only, never values, and only names the API defines: a client's unknown keys
# or parameters may themselves be personal data ({"jane@example.com": 1}).
LOGGABLE_NAMES = frozenset(
    {*RESPONSE_FIELDS, "_schema", "limit", "next_token", "If-Match", "If-None-Match", "Idempotency-Key"}
)


def request_id_of(request: Request) -> str:
    """API Gateway's request id (the one in its access logs), or a fresh one under `chalice local`."""
    context = request.context or {}
    return str(context.get("requestId") or uuid.uuid4())


@contextmanager
def request_scope(request: Request) -> Iterator[str]:
    """Tag every log line of this request; thread-safe, since `chalice local` serves requests in threads."""
    request_id = request_id_of(request)
    start_metrics()
    logger.thread_safe_append_keys(
        request_id=request_id, method=request.method, route=(request.context or {}).get("resourcePath")
    )
    try:
        yield request_id
    finally:
        logger.thread_safe_clear_keys()


def finish(response: Response, started: float) -> None:
    """Log the request's one line, its metrics (latency plus what the request counted) in it."""
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    fields: dict[str, Any] = {"status": response.status_code, "latency_ms": latency_ms, **request_metrics(latency_ms)}
    body = response.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        fields["error_code"] = body["error"].get("code")
        fields["error_fields"] = sorted(
            name if name in LOGGABLE_NAMES else "<unknown>" for name in body["error"].get("details", {})
        )
    if response.status_code >= 500:
        _request_log.error("request failed", extra=fields)
    else:
        _request_log.info("request", extra=fields)
