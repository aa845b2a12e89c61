"""What every route shares: registration, error rendering, the middleware, request and response helpers.

Routes in ``app.py`` are registered through :class:`Edge`, which declares at the
route whether it takes query parameters (the rest refuse any, so a typo such as
``DELETE /customers/{id}?dry_run=1`` is a 400 rather than silently ignored), and
turns the plain domain errors a use case raises into the error envelope.
Chalice would turn them into its own 500 before any middleware saw them.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, cast

from chalice.app import Chalice, Request, Response

from chalicelib.api.access import auth_enabled, authorizer, with_cors_headers
from chalicelib.api.errors import envelope_chalice_error, error_response
from chalicelib.api.parameters import refuse_query_params
from chalicelib.api.preconditions import etag, parse_preconditions
from chalicelib.api.representation import dump_customer
from chalicelib.api.request_log import begin, finish
from chalicelib.api.request_parsing import JSON_MEDIA_TYPE, query_params, read_json_object
from chalicelib.config import get_settings
from chalicelib.customers.conditions import Preconditions
from chalicelib.customers.errors import DomainError
from chalicelib.customers.model import Customer, Origin
from chalicelib.deadline import end_request, start_request

# The actor of every write where the API is open (no user pool): there is no principal to name.
LOCAL_ACTOR = "local"
UNKNOWN_ACTOR = "unknown"

# Content types are checked by read_json_object so that a wrong one gets the error
# envelope and a precise message; Chalice's own check would also refuse GETs.
ANY_CONTENT = ["*/*"]
View = Callable[..., Any]


class Edge:
    def __init__(self, app: Chalice) -> None:
        self._app = app

    @property
    def request(self) -> Request:
        request = self._app.current_request
        assert request is not None, "only called while a request is being handled"
        return request

    def route(self, path: str, method: str, *, scope: str, query: bool = False) -> Callable[[View], View]:
        """Register a view for ``method path`` that needs the OAuth ``scope`` where auth is on."""

        def register(view: View) -> View:
            @functools.wraps(view)
            def guarded(**params: Any) -> Any:
                try:
                    if not query:
                        refuse_query_params(query_params(self.request))
                    return view(**params)
                except DomainError as error:
                    return error_response(error)

            register_route = self._app.route(
                path, methods=[method], content_types=ANY_CONTENT, authorizer=authorizer(scope)
            )
            return cast(View, register_route(guarded))

        return register

    def body(self, media_types: tuple[str, ...] = (JSON_MEDIA_TYPE,)) -> dict[str, Any]:
        return read_json_object(self.request, get_settings().max_body_bytes, media_types)

    def origin(self) -> Origin:
        """Who is asking: the token's client (client credentials) or user (``sub``), and the request's id."""
        context = self.request.context or {}
        claims = (context.get("authorizer") or {}).get("claims") or {}
        actor = claims.get("client_id") or claims.get("sub")
        if not actor:
            actor = UNKNOWN_ACTOR if auth_enabled() else LOCAL_ACTOR
        return Origin(str(actor), context.get("requestId"))

    def preconditions(self) -> Preconditions:
        headers = self.request.headers
        return parse_preconditions(headers.get("if-match"), headers.get("if-none-match"))

    def handle(self, event: Request, get_response: Callable[[Request], Response]) -> Response:
        """The middleware: deadline, log keys, one envelope for every error, CORS, the log line and metrics."""
        started = time.perf_counter()
        start_request(event.lambda_context)
        try:
            request_id = begin(event)
            # Chalice answers anything a view raises (its own 500 at worst), so a response always comes back.
            response = envelope_chalice_error(get_response(event), request_id)
            response.headers["X-Request-Id"] = request_id
            with_cors_headers(response, self._app.api.cors)
            finish(response, started)
            return response
        finally:
            end_request()


def customer_response(customer: Customer, status: int = 200, **headers: str) -> Response:
    return Response(
        body=dump_customer(customer), status_code=status, headers={"ETag": etag(customer["version"]), **headers}
    )


def not_modified(customer: Customer) -> Response:
    return Response(body="", status_code=304, headers={"ETag": etag(customer["version"])})
