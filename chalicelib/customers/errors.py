"""What can go wrong in a use case, as plain exceptions.

They say what happened (and, for validation, which fields) but nothing about
HTTP: the edge's one table (``chalicelib/api/errors.py``) gives each its status,
code, headers and metric.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Details = Mapping[str, Any]


class DomainError(Exception):
    message = "An internal error occurred."

    def __init__(self, message: str | None = None, details: Details | None = None) -> None:
        self.message = message or self.message
        self.details = dict(details or {})
        super().__init__(self.message)


class ValidationFailed(DomainError):
    """A request body, parameter or header does not satisfy its schema."""

    message = "Invalid request."


class Forbidden(DomainError):
    message = "Not allowed."


class NotFound(DomainError):
    message = "Not found."


class CustomerNotFound(NotFound):
    message = "Customer not found."


class CustomerDeleted(CustomerNotFound):
    """Soft-deleted: hidden from every read, restorable until the window ends."""

    message = "The customer was deleted; it can be restored until its restore window ends."

    def __init__(self, restorable_until: str) -> None:
        super().__init__(details={"restorable_until": restorable_until})


class CustomerErased(DomainError):
    """Erased on request (GDPR Art. 17): gone for good, and no request may bring it back."""

    message = "The customer was erased; its data no longer exists."


class CustomerNotDeleted(DomainError):
    message = "The customer is not deleted: there is nothing to restore."


class EmailAlreadyInUse(DomainError):
    """The address's claim is another customer's: ``holder`` names it, when the store could tell.

    A client whose create timed out but was stored finds its own record this way on the retry.
    """

    message = "Another customer already uses this email address."

    def __init__(self, holder: str | None = None) -> None:
        details: dict[str, Any] = {"email_address": ["Already used by another customer."]}
        if holder is not None:
            details["customer_id"] = holder
        super().__init__(details=details)
        self.holder = holder


class WriteConflict(DomainError):
    """The customer changed between our read and our write; retrying reads it afresh."""

    message = "The customer was changed by another request; retry."


class CustomerAlreadyExists(DomainError):
    """A create named an id that is taken: only the seed's fixed ids can do that."""

    message = "A customer with this id already exists."


class PreconditionFailed(DomainError):
    """If-Match named versions the customer no longer has: someone else wrote in between."""

    message = "The customer has changed since you read it; fetch it again and retry with its new ETag."


class IdempotencyKeyReused(DomainError):
    message = "This Idempotency-Key was already used with a different request body."

    def __init__(self) -> None:
        super().__init__(details={"Idempotency-Key": ["Already used with a different body; use a new key."]})


class RequestInProgress(DomainError):
    """A request with the same Idempotency-Key is being processed right now."""

    message = "A request with this Idempotency-Key is still in progress; retry shortly."


class StoreUnavailable(DomainError):
    """The store is throttling, failing or out of time even after the retries."""

    message = "The data store is busy; retry shortly."


class StoreBusy(StoreUnavailable):
    """Another transaction held one of the items: worth another attempt at once (see retry.py)."""


class IdempotencyKeyTaken(Exception):
    """A live record for this Idempotency-Key exists; the service decides replay or 422."""
