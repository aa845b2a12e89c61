"""The OpenAPI operations for fixing one field and working in bulk: PATCH (merge patch) and the batch route.

Kept apart from :mod:`chalicelib.api.openapi` like :mod:`chalicelib.api.openapi_changes`;
that module builds the document and calls :func:`add_bulk_paths`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from chalicelib.api.batch import BatchSchema
from chalicelib.api.request_parsing import JSON_MEDIA_TYPE, MERGE_PATCH_MEDIA_TYPE
from chalicelib.api.schemas import CustomerSchema
from chalicelib.customers.bulk import MAX_ATOMIC_OPERATIONS, MAX_OPERATIONS
from chalicelib.customers.model import REMOVABLE_FIELDS

_PATCH_EXAMPLE = {"city": "Oslo", "phone_number": None}
_BATCH_EXAMPLE = {
    "operations": [
        {"op": "create", "body": {"first_name": "Ana", "last_name": "Silva", "email_address": "ana@example.com"}},
        {"op": "upsert", "body": {"email_address": "john.doe@example.com", "lifetime_value": 2500.00}},
        {"op": "update", "customer_id": "11111111-1111-4111-8111-111111111111", "body": {"city": None}},
        {"op": "delete", "customer_id": "22222222-2222-4222-8222-222222222222", "if_match": '"3"'},
    ],
    "atomic": False,
}


def _batch_answer_example(customer: dict[str, Any]) -> dict[str, Any]:
    not_found = {"code": "not_found", "message": "Customer not found.", "details": {}}
    return {
        "results": [
            {"index": 0, "status": 201, "customer": customer},
            {"index": 1, "status": 200, "customer": customer},
            {"index": 2, "status": 404, "error": not_found},
            {"index": 3, "status": 204},
        ]
    }


class BatchResultSchema(Schema):
    index = fields.Integer(required=True, metadata={"description": "The operation's position in the request."})
    status = fields.Integer(
        required=True,
        metadata={"description": "What the operation's own route would answer: 201, 200, 204, or 4xx/503."},
    )
    customer = fields.Nested(CustomerSchema, metadata={"description": "The customer after a create or update."})
    error = fields.Dict(metadata={"description": "The error envelope's `error` object, as the route would answer."})


class BatchAnswerSchema(Schema):
    results = fields.List(fields.Nested(BatchResultSchema), required=True)


def _patch_schema(plugin: MarshmallowPlugin) -> dict[str, Any]:
    """The customer's writable fields, each optional, and the removable ones nullable (null removes)."""
    assert plugin.converter is not None
    schema: dict[str, Any] = plugin.converter.schema2jsonschema(CustomerSchema(partial=True))  # type: ignore[no-untyped-call]
    properties = {name: dict(value) for name, value in schema["properties"].items() if not value.get("readOnly")}
    for name in REMOVABLE_FIELDS:
        properties[name]["nullable"] = True
    return {**schema, "properties": properties, "minProperties": 1}


def _header(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/headers/{name}"}


def add_bulk_paths(
    spec: APISpec,
    plugin: MarshmallowPlugin,
    responses: Callable[..., dict[int, Any]],
    customer_response: Callable[..., dict[str, Any]],
    customer_example: dict[str, Any],
) -> None:
    spec.components.schema("CustomerPatch", component=_patch_schema(plugin))
    spec.components.schema("BatchRequest", schema=BatchSchema)
    spec.components.schema("BatchAnswer", schema=BatchAnswerSchema)
    patch_body = {"schema": "CustomerPatch", "example": _PATCH_EXAMPLE}
    spec.path(
        path="/customers/{customer_id}",
        parameters=["CustomerId"],  # type: ignore[list-item]  # apispec resolves component names
        operations={
            "patch": {
                "operationId": "patchCustomer",
                "tags": ["customers"],
                "summary": "Fix some fields of a customer; null removes an optional one (JSON merge patch)",
                "description": (
                    "RFC 7396: the fields sent are set, a field sent as null is removed (only "
                    f"{', '.join(REMOVABLE_FIELDS)}), the rest stay. A patch that changes nothing writes nothing: "
                    "the same version, ETag and history. Same rules as PUT otherwise."
                ),
                "parameters": ["IfMatch"],
                "requestBody": {
                    "required": True,
                    "content": {MERGE_PATCH_MEDIA_TYPE: patch_body, JSON_MEDIA_TYPE: patch_body},
                },
                "responses": responses(
                    {200: customer_response("The whole customer after the patch.")}, 404, 409, 410, 412, 413, 415
                ),
            }
        },
    )
    spec.path(
        path="/customers/batch",
        operations={
            "post": {
                "operationId": "batchCustomers",
                "tags": ["customers"],
                "summary": f"Create, update, upsert and delete up to {MAX_OPERATIONS} customers in one request",
                "description": (
                    "Each operation is answered like its own route, in input order; one failing never affects "
                    "another, and operations on the same customer apply in input order. `upsert` updates the "
                    "live customer holding the body's email address, or creates one. With `atomic: true` (at "
                    f"most {MAX_ATOMIC_OPERATIONS} operations, each customer once) all are applied in one "
                    "transaction or none: a failure answers 409 (400 if an operation is invalid) whose "
                    "`details.failures` lists every failing operation. An Idempotency-Key replays the same "
                    "statuses for 24 hours (customers as they are now)."
                ),
                "parameters": [
                    {
                        "in": "header",
                        "name": "Idempotency-Key",
                        "description": "1-255 printable ASCII characters; the same batch again answers the first's "
                        "results.",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~][ -~]*$"},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {JSON_MEDIA_TYPE: {"schema": "BatchRequest", "example": _BATCH_EXAMPLE}},
                },
                "responses": responses(
                    {
                        207: {
                            "description": "One result per operation, in input order.",
                            "headers": {
                                "Idempotent-Replayed": _header("Idempotent-Replayed"),
                                "X-Request-Id": _header("X-Request-Id"),
                            },
                            "content": {
                                JSON_MEDIA_TYPE: {
                                    "schema": "BatchAnswer",
                                    "example": _batch_answer_example(customer_example),
                                }
                            },
                        }
                    },
                    409,
                    413,
                    415,
                    422,
                ),
            }
        },
    )
