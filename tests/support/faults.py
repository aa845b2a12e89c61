"""Make DynamoDB fail the way the real service does, at a chosen call of a request.

Faults are injected at botocore's transport boundary (``before-send``), so the app,
botocore's retry logic and the error parsing all run for real; only DynamoDB's
answer is replaced. "Response lost" faults let the call reach the store and then
raise, as when a write commits but its response times out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.httpsession import URLLib3Session

ENDPOINT = "https://dynamodb.us-east-1.amazonaws.com"


class _RawBody:
    def __init__(self, payload: bytes) -> None:
        self._payload = payload

    def stream(self, **kwargs: Any) -> Any:
        yield self._payload


def _error_response(status: int, error_type: str, message: str, **extra: Any) -> Callable[[Any], AWSResponse]:
    def respond(request: Any) -> AWSResponse:
        payload = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{error_type}", "message": message, **extra})
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.0"
        headers["x-amzn-RequestId"] = "fault-injected"
        return AWSResponse(request.url, status, headers, _RawBody(payload.encode()))

    return respond


def _transaction_conflict(request: Any) -> AWSResponse:
    """DynamoDB's answer when another transaction is writing the same items: a reason per item."""
    items = json.loads(request.body)["TransactItems"]
    reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"} for _ in items]
    message = "Transaction cancelled, please refer cancellation reasons for specific reasons"
    return _error_response(400, "TransactionCanceledException", message, CancellationReasons=reasons)(request)


def _raise(error: Exception) -> Callable[[Any], AWSResponse]:
    def respond(request: Any) -> AWSResponse:
        raise error

    return respond


def _deliver(request: Any, event_name: str) -> None:
    """Send the request to the store now (moto in process, or DynamoDB Local over HTTP)."""
    from moto.core.models import botocore_stubber

    if botocore_stubber.enabled:
        botocore_stubber(event_name=event_name, request=request)
    else:
        URLLib3Session().send(request)


def _moto_stubber_enabled(enabled: bool) -> bool:
    """Switch moto's request interception; return whether it was on (False when moto is not in use)."""
    from moto.core.models import botocore_stubber

    was_enabled = bool(botocore_stubber.enabled)
    if was_enabled or enabled:
        botocore_stubber.enabled = enabled
    return was_enabled


@dataclass(frozen=True)
class Fault:
    name: str
    respond: Callable[[Any], AWSResponse] | None = None  # replaces DynamoDB's answer
    after_commit: Exception | None = None  # raised after the real call completed
    transactions_only: bool = False
    # Applied by the store, then the answer is lost *inside* botocore, which retries the call.
    applied_then_lost: bool = False


FAULTS = [
    Fault(
        "throttling", _error_response(400, "ThrottlingException", "Rate of requests exceeds the allowed throughput.")
    ),
    Fault(
        "provisioned_throughput",
        _error_response(
            400,
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput was exceeded.",
        ),
    ),
    Fault("request_limit", _error_response(400, "RequestLimitExceeded", "Throughput exceeds the account limit.")),
    Fault("internal_error", _error_response(500, "InternalServerError", "Internal server error")),
    Fault("unavailable", _error_response(503, "ServiceUnavailable", "Service unavailable")),
    Fault("transaction_conflict", _transaction_conflict, transactions_only=True),
    Fault("read_timeout", _raise(ReadTimeoutError(endpoint_url=ENDPOINT))),
    Fault("connect_timeout", _raise(ConnectTimeoutError(endpoint_url=ENDPOINT))),
    Fault("connection_refused", _raise(EndpointConnectionError(endpoint_url=ENDPOINT))),
    Fault("response_lost_after_commit", after_commit=ReadTimeoutError(endpoint_url=ENDPOINT)),
]
LOST_AND_RETRIED = Fault("applied_then_lost_and_retried", applied_then_lost=True)


@dataclass
class FaultInjector:
    """Counts a request's DynamoDB calls and fails every call from ``from_call`` on."""

    client: Any
    fault: Fault | None = None
    from_call: int = 0
    times: int | None = None  # how many sends to fail; None: all of them (the fault outlasts retries)
    calls: list[str] = field(default_factory=list)
    injected: int = 0
    _muted_moto: bool = False

    def __enter__(self) -> FaultInjector:
        events = self.client.meta.events
        events.register_first("before-call.dynamodb", self._count)
        events.register_first("before-send", self._before_send)
        events.register_last("before-send", self._after_send_handlers)
        events.register_first("after-call.dynamodb", self._after_call)
        return self

    def __exit__(self, *exc: object) -> None:
        events = self.client.meta.events
        events.unregister("before-call.dynamodb", self._count)
        events.unregister("before-send", self._before_send)
        events.unregister("before-send", self._after_send_handlers)
        events.unregister("after-call.dynamodb", self._after_call)
        if self._muted_moto:
            _moto_stubber_enabled(True)

    def arm(self, fault: Fault | None, from_call: int = 1, times: int | None = None) -> None:
        self.fault, self.from_call, self.times, self.calls, self.injected = fault, from_call, times, [], 0

    def _armed(self) -> bool:
        if self.fault is None or len(self.calls) < self.from_call:
            return False
        if self.times is not None and self.injected >= self.times:
            return False
        return not self.fault.transactions_only or self.calls[-1] == "TransactWriteItems"

    def _count(self, model: Any, **kwargs: Any) -> None:
        self.calls.append(model.name)

    def _before_send(self, request: Any, **kwargs: Any) -> AWSResponse | None:
        if self._armed() and self.fault is not None and self.fault.applied_then_lost:
            self.injected += 1
            _deliver(request, kwargs.get("event_name", ""))
            raise ReadTimeoutError(endpoint_url=request.url)
        if self._armed() and self.fault is not None and self.fault.respond is not None:
            self.injected += 1
            response = self.fault.respond(request)  # a raised fault stops the send here
            # botocore calls every before-send handler and uses the first response; moto's
            # would still apply the request, so it is muted for this one send.
            self._muted_moto = _moto_stubber_enabled(False)
            return response
        return None

    def _after_send_handlers(self, **kwargs: Any) -> None:
        if self._muted_moto:
            _moto_stubber_enabled(True)
            self._muted_moto = False

    def _after_call(self, **kwargs: Any) -> None:
        if self._armed() and self.fault is not None and self.fault.after_commit is not None:
            self.injected += 1
            raise self.fault.after_commit


@contextmanager
def injector_on_one_attempt(monkeypatch: Any) -> Iterator[FaultInjector]:
    """A fault injector on the app's client with one attempt per call: a faulted call failed for good."""
    from chalicelib import wiring

    monkeypatch.setenv("DYNAMODB_MAX_ATTEMPTS", "1")
    wiring.reset()
    with FaultInjector(wiring.dynamodb_client()) as injector:
        yield injector
