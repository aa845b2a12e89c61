"""Customer Management API: Chalice routes only.

Each route reads the request, calls one CustomerService use case and shapes the
response; validation, rules and storage live in ``chalicelib``. Errors raised below
are rendered into the one error envelope by the middleware at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chalice.app import Chalice, Request, Response

from chalicelib.access import READ_SCOPE, WRITE_SCOPE, authorizer, cors_config, with_cors_headers
from chalicelib.config import get_settings
from chalicelib.deadline import start_request
from chalicelib.docs import asset, docs_page
from chalicelib.errors import DomainError, PreconditionFailed
from chalicelib.observability import SERVICE, log_response, record_metrics, request_scope, restore_log_level
from chalicelib.openapi import openapi_document
from chalicelib.preconditions import Preconditions, etag, parse_preconditions
from chalicelib.schemas import (
    FILTERS,
    dump_customer,
    load_customer_changes,
    load_list_query,
    load_new_customer,
    parse_customer_id,
    parse_idempotency_key,
    refuse_query_params,
)
from chalicelib.service import CustomerService, get_customer_service
from chalicelib.web import (
    base_path,
    envelope_chalice_error,
    error_response,
    query_params,
    read_json_object,
    resource_url,
)

# configure_logs=False: app.log is the Powertools logger (same name), which formats as JSON.
app = Chalice(app_name=SERVICE, configure_logs=False)
app.debug = False  # a stack trace must never reach a client
restore_log_level()
app.api.cors = cors_config()

# Content types are checked by read_json_object so that a wrong one gets the error
# envelope and a precise message; Chalice's own check would also refuse GETs.
ANY_CONTENT = ["*/*"]
CUSTOMER_PATH = "/customers/{customer_id}"
ROUTES_WITH_QUERY = {("/customers", "GET")}
READ = authorizer(READ_SCOPE)
WRITE = authorizer(WRITE_SCOPE)


def _service() -> CustomerService:
    return get_customer_service()


def _request() -> Request:
    request = app.current_request
    assert request is not None, "only called while a request is being handled"
    return request


def _body() -> dict[str, Any]:
    return read_json_object(_request(), get_settings().max_body_bytes)


def _preconditions() -> Preconditions:
    headers = _request().headers
    return parse_preconditions(headers.get("if-match"), headers.get("if-none-match"))


def _customer_response(customer: dict[str, Any], status: int = 200, **headers: str) -> Response:
    return Response(
        body=dump_customer(customer), status_code=status, headers={"ETag": etag(customer["version"]), **headers}
    )


@app.route("/customers", methods=["GET"], content_types=ANY_CONTENT, authorizer=READ)
def list_customers() -> dict[str, Any]:
    query = load_list_query(query_params(_request()))
    filter_by = next(((name, query[name]) for name in FILTERS if name in query), None)
    page = _service().list_customers(query.get("limit"), query.get("next_token"), filter_by)
    return {"customers": [dump_customer(c) for c in page.customers], "next_token": page.next_token}


@app.route("/customers", methods=["POST"], content_types=ANY_CONTENT, authorizer=WRITE)
def create_customer() -> Response:
    key = parse_idempotency_key(_request().headers.get("idempotency-key"))
    result = _service().create_customer(load_new_customer(_body()), idempotency_key=key)
    customer = result.customer
    headers = {"Location": resource_url(_request(), customer["customer_id"])}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return _customer_response(customer, 201, **headers)


@app.route(CUSTOMER_PATH, methods=["GET"], content_types=ANY_CONTENT, authorizer=READ)
def get_customer(customer_id: str) -> Response:
    customer_id = parse_customer_id(customer_id)
    preconditions = _preconditions()
    customer = _service().get_customer(customer_id)
    if preconditions.if_match is not None and not preconditions.if_match.matches(customer["version"]):
        raise PreconditionFailed()
    if preconditions.if_none_match is not None and preconditions.if_none_match.matches(customer["version"]):
        return Response(body="", status_code=304, headers={"ETag": etag(customer["version"])})
    return _customer_response(customer)


@app.route(CUSTOMER_PATH, methods=["PUT"], content_types=ANY_CONTENT, authorizer=WRITE)
def update_customer(customer_id: str) -> Response:
    customer_id = parse_customer_id(customer_id)
    changes = load_customer_changes(_body())
    return _customer_response(_service().update_customer(customer_id, changes, _preconditions()))


@app.route(CUSTOMER_PATH, methods=["DELETE"], content_types=ANY_CONTENT, authorizer=WRITE)
def delete_customer(customer_id: str) -> Response:
    _service().delete_customer(parse_customer_id(customer_id), _preconditions())
    return Response(body="", status_code=204)


@app.route("/seed", methods=["POST"], content_types=ANY_CONTENT, authorizer=WRITE)
def seed() -> Response:
    report = _service().seed_customers()
    message = f"Created {len(report.created)} sample customers; {len(report.already_present)} were already there."
    if report.email_taken:
        message += f" {len(report.email_taken)} skipped: their email address belongs to another customer."
    body = {
        "message": message,
        "created": report.created,
        "already_present": report.already_present,
        "email_taken": report.email_taken,
    }
    return Response(body=body, status_code=201 if report.created else 200)


@app.route("/openapi.json", methods=["GET"], content_types=ANY_CONTENT, authorizer=READ)
def openapi_json() -> dict[str, Any]:
    return openapi_document(base_path(_request()))


@app.route("/docs", methods=["GET"], content_types=ANY_CONTENT, authorizer=READ)
def docs() -> Response:
    return Response(body=docs_page(base_path(_request())), headers={"Content-Type": "text/html; charset=utf-8"})


@app.route("/docs/{asset_name}", methods=["GET"], content_types=ANY_CONTENT, authorizer=READ)
def docs_asset(asset_name: str) -> Response:
    content, content_type = asset(asset_name)
    return Response(body=content, headers={"Content-Type": content_type, "Cache-Control": "public, max-age=3600"})


@app.middleware("http")
def error_envelope(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """One error shape for everything the app answers, Chalice's own errors included.

    It also refuses query parameters on routes that take none, so a typo such as
    ``DELETE /customers/{id}?dry_run=1`` is a 400 rather than silently ignored.
    """
    started = time.perf_counter()
    start_request()
    with request_scope(event) as request_id:
        try:
            if (event.context.get("resourcePath"), event.method) not in ROUTES_WITH_QUERY:
                refuse_query_params(query_params(event))
            response = get_response(event)
        except DomainError as error:
            response = error_response(error)
        response = envelope_chalice_error(response, request_id)
        response.headers["X-Request-Id"] = request_id
        with_cors_headers(response, app.api.cors)
        record_metrics(event, response, log_response(response, started))
        return response
