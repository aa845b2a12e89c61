"""The one error envelope, and the one table that turns each failure into an HTTP answer.

Use cases raise plain domain errors; this table gives each its status, code,
headers (``Retry-After``) and the business metric it counts. The edge's own
refusals (a body that is not JSON, too large, the wrong media type) are domain
errors' siblings defined here, so one lookup serves both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalice.app import Response

from chalicelib.customers import errors as domain
from chalicelib.observability import count


class MalformedBody(domain.DomainError):
    """The body is not a JSON object we can read at all."""

    message = "The request body is not valid JSON."


class UnsupportedMediaType(domain.DomainError):
    message = "Send the body as application/json."


class PayloadTooLarge(domain.DomainError):
    message = "The request body is too large."


@dataclass(frozen=True)
class ErrorShape:
    status: int
    code: str
    metric: str | None = None
    retry_after: bool = False


# Looked up along each error's class hierarchy, so a subclass answers like its parent
# unless it is listed itself.
ERRORS: dict[type[domain.DomainError], ErrorShape] = {
    domain.ValidationFailed: ErrorShape(400, "validation_error", "ValidationFailures"),
    MalformedBody: ErrorShape(400, "invalid_body", "ValidationFailures"),
    UnsupportedMediaType: ErrorShape(415, "unsupported_media_type"),
    PayloadTooLarge: ErrorShape(413, "payload_too_large"),
    domain.Forbidden: ErrorShape(403, "forbidden"),
    domain.NotFound: ErrorShape(404, "not_found"),
    domain.CustomerDeleted: ErrorShape(404, "customer_deleted"),
    domain.CustomerErased: ErrorShape(410, "customer_erased"),
    domain.CustomerNotDeleted: ErrorShape(409, "customer_not_deleted", "Conflicts"),
    domain.EmailAlreadyInUse: ErrorShape(409, "email_in_use", "Conflicts"),
    domain.WriteConflict: ErrorShape(409, "conflict", "Conflicts"),
    domain.CustomerAlreadyExists: ErrorShape(409, "conflict", "Conflicts"),
    domain.PreconditionFailed: ErrorShape(412, "precondition_failed", "Conflicts"),
    domain.IdempotencyKeyReused: ErrorShape(422, "idempotency_key_reused"),
    domain.RequestInProgress: ErrorShape(409, "request_in_progress", "Conflicts", retry_after=True),
    # DynamoDB throttling, contention or an outage that outlasted the retries.
    domain.StoreUnavailable: ErrorShape(503, "service_unavailable", "StoreUnavailable", retry_after=True),
}
INTERNAL = ErrorShape(500, "internal_error")


def shape_of(error: domain.DomainError) -> ErrorShape:
    for kind in type(error).__mro__:
        shape = ERRORS.get(kind)
        if shape is not None:
            return shape
    return INTERNAL


def error_body(code: str, message: str, details: Any = None, request_id: str | None = None) -> dict[str, Any]:
    """The envelope: ``{"error": {"code", "message", "details"[, "request_id"]}}``."""
    error: dict[str, Any] = {"code": code, "message": message, "details": dict(details or {})}
    if request_id is not None:
        error["request_id"] = request_id
    return {"error": error}


def error_response(error: domain.DomainError) -> Response:
    """The answer to a failure, counted in its metric as it is rendered."""
    shape = shape_of(error)
    if shape.metric is not None:
        count(shape.metric)
    headers: dict[str, str | list[str]] = {"Retry-After": "1"} if shape.retry_after else {}
    return Response(
        body=error_body(shape.code, error.message, error.details), status_code=shape.status, headers=headers
    )


# Chalice's own error bodies are {"Code": ..., "Message": ...}; these are the codes
# it produces and the envelope codes they become.
_CHALICE_CODES = {
    "BadRequestError": "bad_request",
    "BadRequest": "bad_request",
    "UnsupportedMediaType": "unsupported_media_type",
    "MethodNotAllowedError": "method_not_allowed",
    "NotFoundError": "not_found",
    "InternalServerError": "internal_error",
}


def envelope_chalice_error(response: Response, request_id: str) -> Response:
    """Give the errors Chalice answers by itself (415, 405, 500, ...) the API's envelope."""
    body = response.body
    if response.status_code < 400 or (isinstance(body, dict) and "error" in body):
        return response
    code = "error"
    message = "The request failed."
    if isinstance(body, dict):
        code = _CHALICE_CODES.get(str(body.get("Code")), code)
        message = str(body.get("Message") or message)
    headers = {name: value for name, value in response.headers.items() if name.lower() != "content-type"}
    failure_id = None
    if response.status_code >= 500:
        # Never show internals: the log has the stack trace under this request id.
        failure_id = request_id
        code, message = INTERNAL.code, "An internal error occurred."
    return Response(
        body=error_body(code, message, request_id=failure_id), status_code=response.status_code, headers=headers
    )
