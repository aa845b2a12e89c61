"""The OpenAPI paths of what changed and who may see it: history, the event feed, restore, export, erasure.

Kept apart from :mod:`chalicelib.api.openapi` (the customers' own paths) so each stays
readable; that module builds the document and calls :func:`add_change_paths`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apispec import APISpec
from marshmallow import Schema, fields, validate

from chalicelib.api.schemas import CustomerSchema, EventsQuery, HistoryQuery
from chalicelib.customers.model import CHANGE_KINDS

JSON = "application/json"
_CHANGE = {
    "description": "What the change did to the field. Every value is null once the customer is erased.",
    "example": {"from": "Chicago", "to": "Oslo"},
}


class HistoryEntrySchema(Schema):
    version = fields.Integer(required=True, metadata={"description": "The version this change made."})
    change = fields.String(required=True, validate=validate.OneOf(CHANGE_KINDS))
    occurred_at = fields.String(required=True, metadata={"format": "date-time"})
    actor = fields.String(
        required=True, metadata={"description": "The client or user that made it (`local` when auth is off)."}
    )
    request_id = fields.String(required=True, allow_none=True, metadata={"description": "The request's X-Request-Id."})
    changes = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(metadata=_CHANGE),
        required=True,
        metadata={"description": "Only the fields that changed; a create lists every field it set, from null."},
    )
    redacted = fields.Boolean(required=True, metadata={"description": "True once the customer was erased."})


class HistoryPageSchema(Schema):
    history = fields.List(fields.Nested(HistoryEntrySchema), required=True)
    next_token = fields.String(required=True, allow_none=True)


class EventSchema(Schema):
    event_id = fields.String(required=True, metadata={"description": "`<customer_id>:<version>`: deduplicate by it."})
    type = fields.String(required=True, validate=validate.OneOf([f"customer.{kind}" for kind in CHANGE_KINDS]))
    customer_id = fields.UUID(required=True)
    version = fields.Integer(required=True, metadata={"description": "Orders one customer's events."})
    occurred_at = fields.String(required=True, metadata={"format": "date-time"})
    actor = fields.String(required=True)
    changed_fields = fields.List(fields.String(), required=True)
    customer = fields.Nested(
        CustomerSchema,
        required=True,
        allow_none=True,
        metadata={"description": "After the change; null for deleted, erased and purged."},
    )


class EventPageSchema(Schema):
    events = fields.List(fields.Nested(EventSchema), required=True)
    next_cursor = fields.String(
        required=True, metadata={"description": "Always present: pass it as `after`; an empty page means nothing new."}
    )


class ExportedCustomerSchema(CustomerSchema):
    """The customer as stored, also while soft-deleted: then with when, and until when it can be restored."""

    deleted_at = fields.String(dump_only=True, metadata={"format": "date-time"})
    restorable_until = fields.String(dump_only=True, metadata={"format": "date-time"})


class ExportSchema(Schema):
    customer = fields.Nested(ExportedCustomerSchema, required=True)
    history = fields.List(fields.Nested(HistoryEntrySchema), required=True, metadata={"description": "Oldest first."})
    exported_at = fields.String(required=True, metadata={"format": "date-time"})


class ErasureSchema(Schema):
    customer_id = fields.UUID(required=True)
    erased_at = fields.String(required=True, metadata={"format": "date-time"})


_ID = "0e1f2a3b-4c5d-4e6f-9a7b-8c9d0e1f2a01"
_ENTRY_EXAMPLE = {
    "version": 2,
    "change": "updated",
    "occurred_at": "2024-05-02T09:30:00.000000Z",
    "actor": "local",
    "request_id": "6f1c9c1e-8d2a-4b61-9a53-2f1d6c8e7a10",
    "changes": {"city": {"from": "Chicago", "to": "Oslo"}},
    "redacted": False,
}
_HISTORY_EXAMPLE = {"history": [_ENTRY_EXAMPLE], "next_token": None}
_ERASURE_EXAMPLE = {"customer_id": _ID, "erased_at": "2024-06-01T00:00:00.000000Z"}
_EVENT_EXAMPLE = {
    "event_id": f"{_ID}:3",
    "type": "customer.deleted",
    "customer_id": _ID,
    "version": 3,
    "occurred_at": "2024-05-03T10:00:00.000000Z",
    "actor": "local",
    "changed_fields": [],
    "customer": None,
}


def add_change_paths(
    spec: APISpec,
    *,
    responses: Callable[..., dict[int, Any]],
    header: Callable[[str], dict[str, Any]],
    customer_response: Callable[..., dict[str, Any]],
    customer_example: dict[str, Any],
) -> None:
    for name, schema in (
        ("HistoryPage", HistoryPageSchema),
        ("EventPage", EventPageSchema),
        ("Export", ExportSchema),
        ("Erasure", ErasureSchema),
    ):
        spec.components.schema(name, schema=schema)
    request_id = {"X-Request-Id": header("X-Request-Id")}

    def ok(description: str, schema: str, example: Any, **headers: Any) -> dict[str, Any]:
        return {
            "description": description,
            "headers": {**request_id, **headers},
            "content": {JSON: {"schema": schema, "example": example}},
        }

    def on_customer(suffix: str, method: str, operation: dict[str, Any]) -> None:
        """A route below one customer (its id is the path's one parameter)."""
        spec.path(
            path=f"/customers/{{customer_id}}/{suffix}",
            parameters=["CustomerId"],  # type: ignore[list-item]  # apispec resolves component names
            operations={method: operation},
        )

    on_customer(
        "history",
        "get",
        {
            "operationId": "getCustomerHistory",
            "tags": ["history"],
            "summary": "Every change of a customer, newest first (it outlives a delete)",
            "parameters": [{"in": "query", "schema": HistoryQuery}],
            "responses": responses(
                {
                    200: ok(
                        "A page of history entries.",
                        "HistoryPage",
                        _HISTORY_EXAMPLE,
                    )
                },
                404,
            ),
        },
    )
    on_customer(
        "restore",
        "post",
        {
            "operationId": "restoreCustomer",
            "tags": ["customers"],
            "summary": "Undo a delete within the restore window",
            "parameters": ["IfMatch"],
            "responses": responses(
                {200: customer_response("The restored customer, back in every list.")}, 404, 409, 410, 412
            ),
        },
    )
    on_customer(
        "export",
        "get",
        {
            "operationId": "exportCustomer",
            "tags": ["privacy"],
            "summary": "Everything stored about a customer, history included (GDPR Art. 15 and 20)",
            "responses": responses(
                {
                    200: ok(
                        "The customer (live or deleted) and its history, as a file.",
                        "Export",
                        {
                            "customer": customer_example,
                            "history": [_ENTRY_EXAMPLE],
                            "exported_at": "2024-06-01T00:00:00.000000Z",
                        },
                        **{"Content-Disposition": header("Content-Disposition")},
                    )
                },
                404,
                410,
            ),
        },
    )
    on_customer(
        "erasure",
        "post",
        {
            "operationId": "eraseCustomer",
            "tags": ["privacy"],
            "summary": "Erase a customer's personal data everywhere, irreversibly (GDPR Art. 17)",
            "responses": responses(
                {
                    200: ok(
                        "Erased (again: the same answer).",
                        "Erasure",
                        _ERASURE_EXAMPLE,
                    )
                },
                404,
            ),
        },
    )
    spec.path(
        path="/events",
        operations={
            "get": {
                "operationId": "listEvents",
                "tags": ["history"],
                "summary": "Change events oldest first, for clients that poll instead of subscribing",
                "parameters": [{"in": "query", "schema": EventsQuery}],
                "responses": responses(
                    {
                        200: ok(
                            "A page of events and the cursor to continue from.",
                            "EventPage",
                            {"events": [_EVENT_EXAMPLE], "next_cursor": "eyJrIjp7fSwidiI6MX0.c2lnbmF0dXJl"},
                        )
                    }
                ),
            }
        },
    )
