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
from chalicelib.api.representation import dump_customer, dump_entry, dump_event, dump_export
from chalicelib.api.request_parsing import (
    JSON_MEDIA_TYPE,
    MERGE_PATCH_MEDIA_TYPE,
    base_path,
    query_params,
    resource_url,
)
from chalicelib.api.stream_edge import handle_change_batch
from chalicelib.config import stream_arn
from chalicelib.observability import SERVICE, restore_log_level
from chalicelib.stages import CONSUMER_FUNCTION
from chalicelib.wiring import customer_service, history_service, privacy_service

# configure_logs=False: app.log is the Powertools logger (same name), which formats as JSON.
app = Chalice(app_name=SERVICE, configure_logs=False)
app.debug = False  # a stack trace must never reach a client
restore_log_level()
app.api.cors = cors_config()
edge = Edge(app)
CUSTOMER_PATH = "/customers/{customer_id}"


@edge.route("/customers", "GET", scope=READ_SCOPE, query=True)
def list_customers() -> dict[str, Any]:
    from chalicelib.api.schemas import list_criteria, load_list_query

    query = load_list_query(query_params(edge.request))
    page = customer_service().list_customers(query.get("limit"), query.get("next_token"), list_criteria(query))
    return {"customers": [dump_customer(c) for c in page.customers], "next_token": page.next_token}


@edge.route("/customers", "POST", scope=WRITE_SCOPE)
def create_customer() -> Response:
    from chalicelib.api.schemas import load_new_customer

    key = parse_idempotency_key(edge.request.headers.get("idempotency-key"))
    fields = load_new_customer(edge.body())
    result = customer_service().create_customer(fields, idempotency_key=key, origin=edge.origin())
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
    updated = customer_service().update_customer(customer_id, changes, edge.preconditions(), origin=edge.origin())
    return customer_response(updated)


@edge.route(CUSTOMER_PATH, "PATCH", scope=WRITE_SCOPE)
def patch_customer(customer_id: str) -> Response:
    from chalicelib.api.schemas import load_patch

    customer_id = parse_customer_id(customer_id)
    patch = load_patch(edge.body(media_types=(MERGE_PATCH_MEDIA_TYPE, JSON_MEDIA_TYPE)))
    changed = customer_service().change_customer(customer_id, patch, edge.preconditions(), origin=edge.origin())
    return customer_response(changed.customer)


@edge.route("/customers/batch", "POST", scope=WRITE_SCOPE)
def batch_customers() -> Response:
    from chalicelib.api.batch import batch_response, load_batch, rejected_response
    from chalicelib.customers.bulk import BatchRejected

    key = parse_idempotency_key(edge.request.headers.get("idempotency-key"))
    batch = load_batch(edge.body())
    try:
        result = customer_service().run_batch(
            batch.operations, atomic=batch.atomic, idempotency_key=key, origin=edge.origin()
        )
    except BatchRejected as rejected:
        return rejected_response(rejected)
    return batch_response(result.outcomes, replayed=result.replayed)


@edge.route(CUSTOMER_PATH, "DELETE", scope=WRITE_SCOPE)
def delete_customer(customer_id: str) -> Response:
    customer_id = parse_customer_id(customer_id)
    customer_service().delete_customer(customer_id, edge.preconditions(), origin=edge.origin())
    return Response(body="", status_code=204)


@edge.route(f"{CUSTOMER_PATH}/restore", "POST", scope=WRITE_SCOPE)
def restore_customer(customer_id: str) -> Response:
    customer_id = parse_customer_id(customer_id)
    return customer_response(
        customer_service().restore_customer(customer_id, edge.preconditions(), origin=edge.origin())
    )


@edge.route(f"{CUSTOMER_PATH}/history", "GET", scope=READ_SCOPE, query=True)
def customer_history(customer_id: str) -> dict[str, Any]:
    from chalicelib.api.schemas import load_history_query

    customer_id = parse_customer_id(customer_id)
    query = load_history_query(query_params(edge.request))
    page = history_service().history(customer_id, query.get("limit"), query.get("next_token"))
    return {"history": [dump_entry(entry) for entry in page.entries], "next_token": page.next_token}


@edge.route(f"{CUSTOMER_PATH}/export", "GET", scope=READ_SCOPE)
def export_customer(customer_id: str) -> Response:
    customer_id = parse_customer_id(customer_id)
    export = privacy_service().export(customer_id)
    disposition = f'attachment; filename="customer-{customer_id}.json"'
    return Response(body=dump_export(export), headers={"Content-Disposition": disposition})


@edge.route(f"{CUSTOMER_PATH}/erasure", "POST", scope=WRITE_SCOPE)
def erase_customer(customer_id: str) -> dict[str, Any]:
    erasure = privacy_service().erase(parse_customer_id(customer_id), origin=edge.origin())
    return {"customer_id": erasure.customer_id, "erased_at": erasure.erased_at}


@edge.route("/events", "GET", scope=READ_SCOPE, query=True)
def list_events() -> dict[str, Any]:
    from chalicelib.api.schemas import load_events_query

    query = load_events_query(query_params(edge.request))
    page = history_service().events(
        query.get("after"), query.get("limit"), customer_id=query.get("customer_id"), kinds=query.get("kinds")
    )
    return {"events": [dump_event(entry) for entry in page.events], "next_cursor": page.next_cursor}


@edge.route("/seed", "POST", scope=WRITE_SCOPE)
def seed() -> Response:
    report = customer_service().seed_customers(origin=edge.origin())
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


def record_changes(event: Any, context: Any = None) -> dict[str, list[dict[str, str]]]:
    """The change-stream consumer: one history entry and one event per change (chalicelib/customers/consumer.py).

    Lambda delivers a shard's records in order; the answer names the first record to
    retry (``ReportBatchItemFailures``), so a failure holds up only what comes after it.
    """
    return handle_change_batch(event)


# Chalice reads event sources when it imports this file: the stream's ARN comes from the
# environment (the deploy takes it from the data stack's outputs; the local poller sets it).
if (CUSTOMERS_STREAM_ARN := stream_arn()) is not None:
    app.on_dynamodb_record(
        stream_arn=CUSTOMERS_STREAM_ARN, batch_size=100, starting_position="TRIM_HORIZON", name=CONSUMER_FUNCTION
    )(record_changes)
