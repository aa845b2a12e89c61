"""Domain errors and the one error envelope the whole API answers with.

Every error below ``app.py`` is a :class:`DomainError`. It derives from Chalice's
``ChaliceUnhandledError`` on purpose: Chalice turns any other exception raised in
a view into its own 500 before middleware runs, while this one propagates to the
middleware in ``app.py``, which renders it with :func:`error_body`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalice.app import ChaliceUnhandledError

Details = Mapping[str, Any]


def error_body(
    code: str, message: str, details: Details | None = None, request_id: str | None = None
) -> dict[str, Any]:
    """The envelope: ``{"error": {"code", "message", "details"[, "request_id"]}}``."""
    error: dict[str, Any] = {"code": code, "message": message, "details": dict(details or {})}
    if request_id is not None:
        error["request_id"] = request_id
    return {"error": error}


class DomainError(ChaliceUnhandledError):
    status_code = 500
    code = "internal_error"
    message = "An internal error occurred."

    def __init__(
        self, message: str | None = None, details: Details | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        self.message = message or self.message
        self.details = dict(details or {})
        self.headers: dict[str, str | list[str]] = dict(headers or {})
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


class ValidationFailed(DomainError):
    """A request body, parameter or header does not satisfy its schema."""

    status_code = 400
    code = "validation_error"
    message = "Invalid request."


class MalformedBody(DomainError):
    """The body is not a JSON object we can read at all."""

    status_code = 400
    code = "invalid_body"
    message = "The request body is not valid JSON."


class UnsupportedMediaType(DomainError):
    status_code = 415
    code = "unsupported_media_type"
    message = "Send the body as application/json."


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"
    message = "The request body is too large."


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"
    message = "Not allowed."


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    message = "Not found."


class CustomerNotFound(NotFound):
    message = "Customer not found."


class EmailAlreadyInUse(DomainError):
    status_code = 409
    code = "email_in_use"
    message = "Another customer already uses this email address."

    def __init__(self) -> None:
        super().__init__(details={"email_address": ["Already used by another customer."]})


class WriteConflict(DomainError):
    """The customer kept changing under us; the client may simply retry."""

    status_code = 409
    code = "conflict"
    message = "The customer was changed by another request; retry."


class StoreUnavailable(DomainError):
    """DynamoDB is throttling or failing even after botocore's retries."""

    status_code = 503
    code = "service_unavailable"
    message = "The data store is busy; retry shortly."

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "1"})


class CustomerAlreadyExists(DomainError):
    """A create named an id that is taken: only the seed's fixed ids can do that."""

    status_code = 409
    code = "conflict"
    message = "A customer with this id already exists."


class PreconditionFailed(DomainError):
    """If-Match named versions the customer no longer has: someone else wrote in between."""

    status_code = 412
    code = "precondition_failed"
    message = "The customer has changed since you read it; fetch it again and retry with its new ETag."


class IdempotencyKeyReused(DomainError):
    status_code = 422
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was already used with a different request body."

    def __init__(self) -> None:
        super().__init__(details={"Idempotency-Key": ["Already used with a different body; use a new key."]})


class RequestInProgress(DomainError):
    """A request with the same Idempotency-Key is being processed right now."""

    status_code = 409
    code = "request_in_progress"
    message = "A request with this Idempotency-Key is still in progress; retry shortly."

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "1"})
