"""The one log line and the metrics of each request, and the log keys that tag its other lines."""

from __future__ import annotations

import logging
import time
import uuid
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
    {
        *RESPONSE_FIELDS,
        "_schema",
        "limit",
        "next_token",
        "q",
        "sort",
        "created_after",
        "created_before",
        "min_lifetime_value",
        "max_lifetime_value",
        "after",
        "type",
        "If-Match",
        "If-None-Match",
        "Idempotency-Key",
    }
)


def begin(request: Request) -> str:
    """Tag every log line of this request and start its metrics; return its id.

    The id is API Gateway's (the one in its access logs), or a fresh one under `chalice local`.
    Thread-safe (context variables), since `chalice local` serves requests in threads;
    :func:`finish` ends what this starts.
    """
    context = request.context if request.context is not None else {}
    request_id = str(context.get("requestId") or uuid.uuid4())
    context["requestId"] = request_id  # the id every write of this request records (Edge.origin)
    start_metrics()
    logger.thread_safe_append_keys(request_id=request_id, method=request.method, route=context.get("resourcePath"))
    return request_id


def finish(response: Response, started: float) -> None:
    """Log the request's one line, its metrics (latency plus what the request counted) in it; untag the thread."""
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
    logger.thread_safe_clear_keys()
