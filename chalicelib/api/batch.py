"""The batch route's request and answer: operations in, one result per operation out (207).

The envelope (how many operations, which kinds, which ids) is validated here as a
whole, so a malformed batch is one 400 naming every problem. Each operation's body is
validated on its own, and a bad one is that operation's 400 result: the others still
run. Each result carries the status, customer or error its own route would answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from chalice.app import Response
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from chalicelib.api.errors import error_body, shape_of
from chalicelib.api.preconditions import parse_condition
from chalicelib.api.representation import dump_customer
from chalicelib.api.schemas import load_new_customer, load_new_customer_or_error, load_patch
from chalicelib.customers.bulk import MAX_ATOMIC_OPERATIONS, MAX_OPERATIONS, BatchRejected, Operation, Outcome
from chalicelib.customers.conditions import UNCONDITIONAL, Preconditions
from chalicelib.customers.errors import DomainError, ValidationFailed
from chalicelib.customers.model import email_key
from chalicelib.observability import count

KINDS = ("create", "update", "upsert", "delete")
# What each kind must name (True), may name (None) or must not name (False) besides its op.
_SHAPES: dict[str, dict[str, bool | None]] = {
    "create": {"body": True, "customer_id": False, "if_match": False},
    "update": {"body": True, "customer_id": True, "if_match": None},
    "upsert": {"body": True, "customer_id": False, "if_match": False},
    "delete": {"body": False, "customer_id": True, "if_match": None},
}
_UPSERT_NEEDS_EMAIL = "Required: an upsert finds the customer by its email address."


class StrictBoolean(fields.Boolean):
    """Only JSON true or false: marshmallow's Boolean also takes "yes", 1 and "on"."""

    truthy: set[object] = {True}  # noqa: RUF012 - marshmallow's own class attributes
    falsy: set[object] = {False}  # noqa: RUF012


class OperationSchema(Schema):
    class Meta:
        unknown = RAISE

    op = fields.String(required=True, validate=validate.OneOf(KINDS))
    customer_id = fields.UUID()
    body = fields.Dict()
    if_match = fields.String(validate=validate.Length(min=1, max=4096))

    @validates_schema(skip_on_field_errors=True)
    def _fits_its_kind(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        errors = {}
        for name, needed in _SHAPES[data["op"]].items():
            if needed and name not in data:
                errors[name] = [f"Required for {data['op']}."]
            if needed is False and name in data:
                errors[name] = [f"Not allowed for {data['op']}."]
        if errors:
            raise ValidationError(errors)


class BatchSchema(Schema):
    class Meta:
        unknown = RAISE

    operations = fields.List(
        fields.Nested(OperationSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_OPERATIONS, error=f"Give between 1 and {MAX_OPERATIONS} operations."),
    )
    atomic = StrictBoolean(load_default=False)

    @validates_schema(skip_on_field_errors=True)
    def _atomic_batch_fits_one_transaction(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if not data["atomic"]:
            return
        operations = data["operations"]
        if len(operations) > MAX_ATOMIC_OPERATIONS:
            raise ValidationError(
                {"operations": [f"An atomic batch holds at most {MAX_ATOMIC_OPERATIONS} operations."]}
            )
        first: dict[str, int] = {}
        repeated = {}
        for index, operation in enumerate(operations):
            named = []
            if "customer_id" in operation:
                named.append((f"id {operation['customer_id']}", "customer"))
            address = (operation.get("body") or {}).get("email_address")
            if isinstance(address, str):
                named.append((f"email {email_key(address)}", "email address"))
            for key, what in named:
                earlier = first.setdefault(key, index)
                if earlier != index:
                    repeated[str(index)] = [
                        f"Names the same {what} as operation {earlier}: an atomic batch touches each customer "
                        "and each email address once."
                    ]
        if repeated:
            raise ValidationError({"operations": repeated})


BATCH = BatchSchema()


@dataclass(frozen=True)
class BatchRequest:
    operations: list[Operation]
    atomic: bool


def load_batch(body: Mapping[str, Any]) -> BatchRequest:
    """The batch, or one 400 naming every problem of its envelope; bodies are each operation's own."""
    try:
        data = cast(dict[str, Any], BATCH.load(body))
    except ValidationError as exc:
        raise ValidationFailed("Invalid batch request.", details=cast(dict[str, Any], exc.messages)) from None
    if_match_errors: dict[str, Any] = {}
    operations = []
    for index, raw in enumerate(data["operations"]):
        try:
            preconditions = _preconditions(raw.get("if_match"))
        except ValidationFailed:
            if_match_errors[str(index)] = {"if_match": ['Must be "*" or a list of entity tags such as "3".']}
            continue
        operations.append(_operation(raw, preconditions))
    if if_match_errors:
        raise ValidationFailed("Invalid batch request.", details={"operations": if_match_errors})
    return BatchRequest(operations, data["atomic"])


def _preconditions(if_match: str | None) -> Preconditions:
    if if_match is None:
        return UNCONDITIONAL
    return Preconditions(parse_condition("if_match", if_match, weak_comparison=False))


def _operation(raw: Mapping[str, Any], preconditions: Preconditions) -> Operation:
    kind = raw["op"]
    customer_id = None if "customer_id" not in raw else str(raw["customer_id"])
    body: dict[str, Any] = raw.get("body") or {}
    try:
        if kind == "create":
            return Operation("create", new=load_new_customer(body))
        if kind == "delete":
            return Operation("delete", customer_id=customer_id, preconditions=preconditions)
        if kind == "update":
            return Operation("update", customer_id=customer_id, patch=load_patch(body), preconditions=preconditions)
        return upsert_operation(body)
    except ValidationFailed as invalid:
        return Operation(kind, customer_id=customer_id, preconditions=preconditions, invalid=invalid)


def upsert_operation(body: Mapping[str, Any], customer_id: str | None = None) -> Operation:
    """An upsert of ``body`` (by its email address; by ``customer_id`` for an import keeping its ids).

    Raises ValidationFailed naming every bad field. The body is read both ways, as a merge patch
    and as a create, since which one applies is known only once storage says who holds the address.
    """
    if body.get("email_address") is None:
        details: dict[str, Any] = {"email_address": [_UPSERT_NEEDS_EMAIL]}
        try:
            load_patch({**body, "email_address": "placeholder@example.com"})
        except ValidationFailed as failed:
            details = {**failed.details, **details}
        raise ValidationFailed("Invalid request body.", details=details)
    patch = load_patch(body)
    new = load_new_customer_or_error(body)
    if isinstance(new, ValidationFailed):
        return Operation("upsert", customer_id=customer_id, patch=patch, cannot_create=new)
    return Operation("upsert", customer_id=customer_id, patch=patch, new=new)


_STATUS = {"created": 201, "updated": 200, "unchanged": 200, "deleted": 204}


def dump_result(index: int, outcome: Outcome) -> dict[str, Any]:
    """One operation's result: the status, customer or error its own route would answer."""
    if outcome.error is not None:
        return {"index": index, **_failure(outcome.error)}
    assert outcome.result is not None
    result: dict[str, Any] = {"index": index, "status": _STATUS[outcome.result]}
    if outcome.customer is not None:
        result["customer"] = dump_customer(outcome.customer)
    return result


def _failure(error: DomainError) -> dict[str, Any]:
    shape = shape_of(error)
    if shape.metric is not None:
        count(shape.metric)
    return {"status": shape.status, "error": error_body(shape.code, error.message, error.details)["error"]}


def batch_response(outcomes: list[Outcome], *, replayed: bool) -> Response:
    headers: dict[str, str | list[str]] = {"Idempotent-Replayed": "true"} if replayed else {}
    results = [dump_result(index, outcome) for index, outcome in enumerate(outcomes)]
    return Response(body={"results": results}, status_code=207, headers=headers)


def rejected_response(rejected: BatchRejected) -> Response:
    """An atomic batch that wrote nothing: 400 if an operation was invalid, else 409; every failure listed."""
    failures = [{"index": index, **_failure(error)} for index, error in rejected.failures.items()]
    status = 400 if rejected.invalid else 409
    return Response(body=error_body("batch_failed", rejected.message, {"failures": failures}), status_code=status)
