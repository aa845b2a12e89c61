"""Path parameters, headers and query strings that need no schema: checked on every request, cheaply."""

from __future__ import annotations

import re
from collections.abc import Mapping

from chalicelib.customers.errors import ValidationFailed
from chalicelib.customers.model import is_customer_id


def refuse_query_params(params: Mapping[str, list[str]]) -> None:
    """Routes that take no query parameters say so instead of silently ignoring them."""
    if params:
        raise ValidationFailed("Invalid query parameters.", details={name: ["Unknown parameter."] for name in params})


def parse_customer_id(raw: str) -> str:
    """Path ids must be UUIDs; they are compared in lower case."""
    if not is_customer_id(raw):
        raise ValidationFailed("Invalid customer id.", details={"customer_id": ["Not a valid UUID."]})
    return raw.lower()


_IDEMPOTENCY_KEY_RE = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,254}")


def parse_idempotency_key(value: str | None) -> str | None:
    """1 to 255 printable ASCII characters (a UUID is typical); absent means "not keyed"."""
    if value is None:
        return None
    if not _IDEMPOTENCY_KEY_RE.fullmatch(value):
        raise ValidationFailed(
            "Invalid request headers.",
            details={"Idempotency-Key": ["Must be 1 to 255 printable ASCII characters."]},
        )
    return value
