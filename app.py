"""Customer Management API: Chalice routes only.

Each route reads the request, calls one CustomerService use case and shapes the
response; validation, rules and storage live in ``chalicelib`` (see README's
Layout). Nothing here costs an AWS call at import: the service is built on the
first request. Routes that load a body or a query import the marshmallow schemas
when first called, and the OpenAPI and docs routes their modules: a cold start
that serves a GET by id (the commonest first request) pays for none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice.app import Chalice, Request, Response

from chalicelib.api.access import READ_SCOPE, WRITE_SCOPE, cors_config
from chalicelib.api.edge import Edge, customer_response, not_modified
from chalicelib.api.parameters import parse_customer_id, parse_idempotency_key
from chalicelib.api.representation import dump_customer
from chalicelib.api.request_parsing import base_path, query_params, resource_url
from chalicelib.observability import SERVICE, restore_log_level
from chalicelib.wiring import customer_service

# configure_logs=False: app.log is the Powertools logger (same name), which formats as JSON.
app = Chalice(app_name=SERVICE, configure_logs=False)
app.debug = False  # a stack trace must never reach a client
restore_log_level()
app.api.cors = cors_config()
edge = Edge(app)
CUSTOMER_PATH = "/customers/{customer_id}"


@edge.route("/customers", "GET", scope=READ_SCOPE, query=True)
def list_customers() -> dict[str, Any]:
    from chalicelib.api.schemas import list_filter, load_list_query

    query = load_list_query(query_params(edge.request))
    page = customer_service().list_customers(query.get("limit"), query.get("next_token"), list_filter(query))
    return {"customers": [dump_customer(c) for c in page.customers], "next_token": page.next_token}


@edge.route("/customers", "POST", scope=WRITE_SCOPE)
def create_customer() -> Response:
    from chalicelib.api.schemas import load_new_customer

    key = parse_idempotency_key(edge.request.headers.get("idempotency-key"))
    result = customer_service().create_customer(load_new_customer(edge.body()), idempotency_key=key)
    headers = {"Location": resource_url(edge.request, result.customer["customer_id"])}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return customer_response(result.customer, 201, **headers)


@edge.route(CUSTOMER_PATH, "GET", scope=READ_SCOPE)
def get_customer(customer_id: str) -> Response:
    read = customer_service().get_customer(parse_customer_id(customer_id), edge.preconditions())
    return not_modified(read.customer) if read.not_modified else customer_response(read.customer)


@edge.route(CUSTOMER_PATH, "PUT", scope=WRITE_SCOPE)
def update_customer(customer_id: str) -> Response:
    from chalicelib.api.schemas import load_customer_changes

    customer_id = parse_customer_id(customer_id)
    changes = load_customer_changes(edge.body())
    return customer_response(customer_service().update_customer(customer_id, changes, edge.preconditions()))


@edge.route(CUSTOMER_PATH, "DELETE", scope=WRITE_SCOPE)
def delete_customer(customer_id: str) -> Response:
    customer_service().delete_customer(parse_customer_id(customer_id), edge.preconditions())
    return Response(body="", status_code=204)


@edge.route("/seed", "POST", scope=WRITE_SCOPE)
def seed() -> Response:
    report = customer_service().seed_customers()
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


@edge.route("/openapi.json", "GET", scope=READ_SCOPE)
def openapi_json() -> dict[str, Any]:
    from chalicelib.api.openapi import openapi_document  # built on first use: apispec is not on the request path

    return openapi_document(base_path(edge.request))


@edge.route("/docs", "GET", scope=READ_SCOPE)
def docs() -> Response:
    from chalicelib.api.docs import docs_page

    return Response(body=docs_page(base_path(edge.request)), headers={"Content-Type": "text/html; charset=utf-8"})


@edge.route("/docs/{asset_name}", "GET", scope=READ_SCOPE)
def docs_asset(asset_name: str) -> Response:
    from chalicelib.api.docs import asset

    content, content_type = asset(asset_name)
    return Response(body=content, headers={"Content-Type": content_type, "Cache-Control": "public, max-age=3600"})


@app.middleware("http")
def every_request(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """One error shape for everything the app answers (Chalice's own errors included), CORS, log and metrics."""
    return edge.handle(event, get_response)
