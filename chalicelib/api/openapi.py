"""The OpenAPI 3 document, generated from the marshmallow schemas with apispec.

Field types, formats, lengths, enums, defaults and read-only flags all come from
:mod:`chalicelib.schemas`, so the document cannot drift from what the API
validates. It is built once per process (on first request) and only the
``servers`` entry is filled in per request, because the base path differs
between `chalice local` (``/``) and a deployed stage (``/api``).
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from chalicelib.api.fields import BirthDate, EmailAddress, Money, QueryMoney, UtcDateTime
from chalicelib.api.openapi_bulk import add_bulk_paths
from chalicelib.api.openapi_changes import add_change_paths
from chalicelib.api.representation import dump_customer
from chalicelib.api.schemas import CustomerSchema, ListCustomersQuery
from chalicelib.customers.seed_data import SAMPLE_CUSTOMERS

TITLE = "Customer Management API"
VERSION = "1.0.0"
JSON = "application/json"

_SAMPLE_ID = SAMPLE_CUSTOMERS[0]["customer_id"]
# The first sample customer, as the API answers it.
_CUSTOMER_EXAMPLE: dict[str, Any] = dump_customer(
    {
        **SAMPLE_CUSTOMERS[0],
        "phone_number_e164": None,  # 555-0101 has no area code: no E.164 form
        "created_at": "2024-05-01T12:00:00.000000Z",
        "created_by": "local",
        "updated_at": "2024-05-01T12:00:00.000000Z",
        "updated_by": "local",
        "version": 1,
    }
)
_CREATE_EXAMPLE = {
    "first_name": "John",
    "last_name": "Doe",
    "email_address": "john.doe@example.com",
    "phone_number": "555-0123",
    "preferred_communication_channels": ["email", "phone"],
    "is_loyalty_member": "y",
    "lifetime_value": 1500.00,
}
_UPDATE_EXAMPLE = {"lifetime_value": 2000.00, "customer_status": "active"}


class CustomerPageSchema(Schema):
    customers = fields.List(fields.Nested(CustomerSchema), required=True)
    next_token = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Opaque; pass it back to get the next page. null on the last page."},
    )


class SeedReportSchema(Schema):
    message = fields.String(required=True)
    created = fields.List(fields.String(), required=True)
    already_present = fields.List(fields.String(), required=True)
    email_taken = fields.List(fields.String(), required=True)


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"example": "validation_error"})
    message = fields.String(required=True)
    details = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        required=True,
        metadata={
            "description": "Field (or header, or parameter) name -> a list of what is wrong with it; for a "
            "list field, an object from item index to such a list. `email_in_use` adds `customer_id`: the "
            "customer holding the address."
        },
    )
    request_id = fields.String(metadata={"description": "Only on 500: finds the stack trace in the logs."})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)


_HEADERS = {
    "ETag": ("The customer's version, a strong validator: send it back in If-Match.", '"1"'),
    "Location": ("Where the new customer lives.", f"/customers/{_SAMPLE_ID}"),
    "Retry-After": ("Seconds to wait before retrying.", "1"),
    "X-Request-Id": ("The id of this request in the logs.", "6f1c9c1e-8d2a-4b61-9a53-2f1d6c8e7a10"),
    "Idempotent-Replayed": ("Present (true) when an Idempotency-Key replayed an earlier answer.", "true"),
    "Allow": ("The methods this path supports.", "GET, PUT, PATCH, DELETE"),
    "Content-Disposition": ("Save the answer as this file.", f'attachment; filename="customer-{_SAMPLE_ID}.json"'),
}

# status -> (description, extra headers)
_ERRORS: dict[int, tuple[str, tuple[str, ...]]] = {
    400: ("Invalid body, field, parameter, header or id; `details` names each one.", ()),
    403: ("Not allowed on this stage (seeding is disabled in production).", ()),
    404: (
        "No customer with this id (`not_found`), or it is deleted (`customer_deleted`: restorable until "
        "`details.restorable_until`).",
        (),
    ),
    405: ("Method not supported on this path.", ("Allow",)),
    409: (
        "Email address in use (`email_in_use`: `details.customer_id` names the customer holding it), the customer "
        "kept changing, the Idempotency-Key is in progress, or a restore of a customer that is not deleted.",
        (),
    ),
    410: ("The customer was erased (`customer_erased`); for a create, the one its Idempotency-Key made.", ()),
    412: ("If-Match names a version the customer no longer has.", ()),
    413: ("Body too large.", ()),
    415: ("Body is not application/json (UTF-8); a PATCH may also be application/merge-patch+json.", ()),
    422: ("Idempotency-Key already used with a different body.", ()),
    500: ("Unexpected failure; no internals, a request_id for the logs.", ()),
    503: ("DynamoDB throttled, conflicted or failed even after retries.", ("Retry-After",)),
}

_COMMON_ERRORS = (400, 405, 500, 503)
# "*" or a list of entity tags ("3", W/"3"), as RFC 9110 writes them.
_ENTITY_TAGS = {
    "type": "string",
    "pattern": r'^(\*|(W/)?"[!#-~]*"( *, *(W/)?"[!#-~]*")*)$',
}  # no example: Swagger UI would pre-fill it and make every "Try it out" conditional


def _error(status: int) -> dict[str, Any]:
    return {"$ref": f"#/components/responses/Error{status}"}


def _responses(success: dict[int, Any], *errors: int) -> dict[int, Any]:
    responses: dict[int, Any] = dict(success)
    for status in sorted({*errors, *_COMMON_ERRORS}):
        responses[status] = _error(status)
    return responses


def _header(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/headers/{name}"}


def _customer_response(description: str, *headers: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {name: _header(name) for name in ("ETag", *headers, "X-Request-Id")},
        "content": {JSON: {"schema": "Customer", "example": _CUSTOMER_EXAMPLE}},
    }


def _json_body(schema: str, example: Any, description: str) -> dict[str, Any]:
    return {"required": True, "description": description, "content": {JSON: {"schema": schema, "example": example}}}


def _build() -> APISpec:
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title=TITLE,
        version=VERSION,
        openapi_version="3.0.3",
        plugins=[plugin],
        tags=[
            {"name": "customers", "description": "Customer records"},
            {"name": "history", "description": "What changed, when and by whom; change events"},
            {"name": "privacy", "description": "GDPR export and erasure"},
            {"name": "seed", "description": "Sample data for trying the API"},
        ],
        info={
            "description": (
                "Customer records over DynamoDB. Every error answers with one envelope: "
                '`{"error": {"code", "message", "details"}}`. Generated from the code.'
            )
        },
    )
    plugin.map_to_openapi_type(BirthDate, "string", "date")
    plugin.map_to_openapi_type(UtcDateTime, "string", "date-time")
    plugin.map_to_openapi_type(Money, "number", None)
    plugin.map_to_openapi_type(QueryMoney, "string", None)  # decimal text in a query string
    # No "format: email": the schema also describes responses, and an address stored under older
    # rules (a 65-character local part) must still conform. The rules are in the description.
    plugin.map_to_openapi_type(EmailAddress, "string", None)

    spec.components.schema("Customer", schema=CustomerSchema)
    spec.components.schema("CustomerChanges", schema=CustomerSchema(partial=True))
    spec.components.schema("CustomerPage", schema=CustomerPageSchema)
    spec.components.schema("SeedReport", schema=SeedReportSchema)
    spec.components.schema("Error", schema=ErrorSchema)
    for name, (description, example) in _HEADERS.items():
        spec.components.header(name, {"description": description, "schema": {"type": "string"}, "example": example})
    for status, (description, headers) in _ERRORS.items():
        response: dict[str, Any] = {"description": description, "content": {JSON: {"schema": "Error"}}}
        response["headers"] = {name: _header(name) for name in (*headers, "X-Request-Id")}
        spec.components.response(f"Error{status}", response)
    spec.components.parameter(
        "CustomerId",
        "path",
        {
            "name": "customer_id",
            "required": True,
            "schema": {"type": "string", "format": "uuid"},
            "example": _SAMPLE_ID,
        },
    )
    spec.components.parameter(
        "IfMatch",
        "header",
        {
            "name": "If-Match",
            "description": 'Write only if the customer is still at one of these versions (ETags, e.g. "3"), or "*".',
            "schema": _ENTITY_TAGS,
        },
    )

    spec.path(
        path="/customers",
        operations={
            "get": {
                "operationId": "listCustomers",
                "tags": ["customers"],
                "summary": "List, filter, search and sort customers, a page at a time",
                "description": (
                    "Any combination of the filters, `q`, the ranges and `sort`. Newest first unless `sort` or `q` "
                    "says otherwise. Each filter, `q`, range and order on its own is served by an index; a "
                    "combination by the best index, checking the rest on each candidate, and one page reads at "
                    "most four candidates per customer it may return: it can then hold fewer than `limit` (even "
                    "none) and still have a `next_token`. Keep following the token until it is null. Search "
                    "follows writes through the change stream (a new or renamed customer is found within about a "
                    "second); every page shows customers as they are now, and never a deleted one."
                ),
                "parameters": [{"in": "query", "schema": ListCustomersQuery}],
                "responses": _responses(
                    {
                        200: {
                            "description": "A page of customers; next_token is null on the last page.",
                            "headers": {"X-Request-Id": _header("X-Request-Id")},
                            "content": {
                                JSON: {
                                    "schema": "CustomerPage",
                                    "example": {"customers": [_CUSTOMER_EXAMPLE], "next_token": None},
                                }
                            },
                        }
                    }
                ),
            },
            "post": {
                "operationId": "createCustomer",
                "tags": ["customers"],
                "summary": "Create a customer",
                "parameters": [
                    {
                        "in": "header",
                        "name": "Idempotency-Key",
                        "description": "1-255 printable ASCII characters; retries with the same key and body "
                        "answer the original 201 for 24 hours.",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~][ -~]*$"},
                    }
                ],
                "requestBody": _json_body(
                    "Customer", _CREATE_EXAMPLE, "first_name, last_name and email_address are required."
                ),
                "responses": _responses(
                    {
                        201: {
                            **_customer_response(
                                "Created (or replayed for an Idempotency-Key).", "Location", "Idempotent-Replayed"
                            ),
                            "links": {
                                operation: {
                                    "operationId": operation,
                                    "parameters": {"customer_id": "$response.body#/customer_id"},
                                }
                                for operation in ("getCustomer", "updateCustomer", "deleteCustomer")
                            },
                        }
                    },
                    409,
                    410,
                    413,
                    415,
                    422,
                ),
            },
        },
    )
    spec.path(
        path="/customers/{customer_id}",
        parameters=["CustomerId"],  # type: ignore[list-item]  # apispec resolves component names
        operations={
            "get": {
                "operationId": "getCustomer",
                "tags": ["customers"],
                "summary": "Get one customer",
                "parameters": [
                    {
                        "in": "header",
                        "name": "If-None-Match",
                        "description": "Answer 304 if the customer is still at one of these versions.",
                        "schema": _ENTITY_TAGS,
                    }
                ],
                "responses": _responses(
                    {
                        200: _customer_response("The customer."),
                        304: {
                            "description": "Not modified: your copy is current.",
                            "headers": {"ETag": _header("ETag"), "X-Request-Id": _header("X-Request-Id")},
                        },
                    },
                    404,
                    410,
                ),
            },
            "put": {
                "operationId": "updateCustomer",
                "tags": ["customers"],
                "summary": "Change some fields of a customer",
                "parameters": ["IfMatch"],
                "requestBody": _json_body(
                    "CustomerChanges", _UPDATE_EXAMPLE, "Only the fields sent change; at least one."
                ),
                "responses": _responses(
                    {200: _customer_response("The whole updated customer.")}, 404, 409, 410, 412, 413, 415
                ),
            },
            "delete": {
                "operationId": "deleteCustomer",
                "tags": ["customers"],
                "summary": "Delete a customer: hidden, restorable for the restore window; its email is free at once",
                "parameters": ["IfMatch"],
                "responses": _responses(
                    {204: {"description": "Deleted.", "headers": {"X-Request-Id": _header("X-Request-Id")}}},
                    404,
                    409,
                    410,
                    412,
                ),
            },
        },
    )
    seed_example = {
        "message": "Created 10 sample customers; 0 were already there.",
        "created": [_SAMPLE_ID],
        "already_present": [],
        "email_taken": [],
    }
    seeded = {
        "headers": {"X-Request-Id": _header("X-Request-Id")},
        "content": {JSON: {"schema": "SeedReport", "example": seed_example}},
    }
    spec.path(
        path="/seed",
        operations={
            "post": {
                "operationId": "seedCustomers",
                "tags": ["seed"],
                "summary": "Insert the 10 sample customers that are missing",
                "responses": _responses(
                    {
                        201: {"description": "Some were created.", **seeded},
                        200: {"description": "All were there.", **seeded},
                    },
                    403,
                ),
            }
        },
    )
    add_bulk_paths(spec, plugin, _responses, _customer_response, _CUSTOMER_EXAMPLE)
    add_change_paths(
        spec,
        responses=_responses,
        header=_header,
        customer_response=_customer_response,
        customer_example=_CUSTOMER_EXAMPLE,
    )
    return spec


@cache
def _document() -> dict[str, Any]:
    return _build().to_dict()


def openapi_document(base_path: str) -> dict[str, Any]:
    """The document, with ``servers`` pointing at the deployment that serves it."""
    document = copy.copy(_document())
    document["servers"] = [{"url": base_path or "/"}]
    return document
