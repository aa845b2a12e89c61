"""Which DynamoDB failures mean "try again later", and their translation into domain errors.

Throttling, outages and timeouts that survive botocore's retries become
:class:`StoreUnavailable` (a 503); a transaction cancelled only because another
transaction held an item becomes :class:`StoreBusy`, which the use case's retry
loop tries again. Permanent failures (a missing table, bad credentials, a
malformed request) are bugs or misconfiguration and propagate as they are, so
"retry later" is never a lie.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from chalicelib.customers.errors import StoreBusy, StoreUnavailable
from chalicelib.deadline import out_of_time
from chalicelib.observability import count, logger

CONDITION_FAILED = "ConditionalCheckFailed"
TRANSACTION_CONFLICT = "TransactionConflict"
_THROTTLES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})
_TRANSIENT_ERRORS = _THROTTLES | {
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
    # A plain write that touches an item a transaction is writing; botocore does not retry it.
    "TransactionConflictException",
    "ReplicatedWriteConflictException",
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
}
_THROTTLED_CANCELLATIONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"})
# Reasons a transaction is cancelled that say "try again later", not "your condition failed".
_TRANSIENT_CANCELLATIONS = _THROTTLED_CANCELLATIONS | {TRANSACTION_CONFLICT}


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def cancellation_codes(error: ClientError, expected: int) -> list[str]:
    """One code per transaction item ("None" where that item was fine), padded to ``expected``."""
    codes = [str(reason.get("Code") or "None") for reason in error.response.get("CancellationReasons", [])]
    return codes + ["None"] * (expected - len(codes))


def cancelled_string(error: ClientError, position: int, name: str) -> str | None:
    """A string attribute of the item as it was when item ``position``'s condition failed.

    Only an item written with ``ReturnValuesOnConditionCheckFailure: ALL_OLD`` comes back
    (DynamoDB, DynamoDB Local and moto all return it in ``CancellationReasons``).
    """
    reasons = error.response.get("CancellationReasons", [])
    item: Mapping[str, Any] = (reasons[position].get("Item") or {}) if position < len(reasons) else {}
    value = item.get(name, {}).get("S")
    return None if value is None else str(value)


def _is_throttle(error: ClientError) -> bool:
    return error_code(error) in _THROTTLES or bool(set(cancellation_codes(error, 0)) & _THROTTLED_CANCELLATIONS)


def _is_busy(error: ClientError) -> bool:
    codes = set(cancellation_codes(error, 0))
    return TRANSACTION_CONFLICT in codes and CONDITION_FAILED not in codes and not codes & _THROTTLED_CANCELLATIONS


def _is_transient(error: ClientError) -> bool:
    code = error_code(error)
    if code == "TransactionCanceledException":
        codes = set(cancellation_codes(error, 0))
        return bool(codes & _TRANSIENT_CANCELLATIONS) and CONDITION_FAILED not in codes
    # A 5xx without a DynamoDB error code is a proxy or gateway failing: also worth a retry later.
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return code in _TRANSIENT_ERRORS or status >= 500


class _StoreErrors:
    """Around every DynamoDB call: refuse to start one past the deadline, translate what fails.

    A class rather than a generator-based context manager: it is entered on every
    call of every request, and this costs a fraction of contextlib's machinery.
    """

    def __enter__(self) -> None:
        if out_of_time():
            logger.warning("Request out of time before a DynamoDB call")
            raise StoreUnavailable()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> None:
        if isinstance(error, ClientError):
            if _is_busy(error):
                raise StoreBusy() from error
            if _is_transient(error):
                logger.warning("DynamoDB unavailable", extra={"dynamodb_error": error_code(error)}, exc_info=error)
                if _is_throttle(error):
                    count("DynamoDBThrottles")
                raise StoreUnavailable() from error
        elif isinstance(error, HTTPClientError | BotocoreConnectionError):  # connection failures and timeouts
            logger.warning("DynamoDB unreachable", extra={"dynamodb_error": type(error).__name__}, exc_info=error)
            raise StoreUnavailable() from error


_GUARD = _StoreErrors()


def store_errors() -> _StoreErrors:
    return _GUARD
