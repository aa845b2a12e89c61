"""Reading requests: bodies, query parameters and the paths clients addressed.

Chalice's ``json_body`` accepts ``NaN``, turns deep nesting into a 500 and returns
``None`` for a content type it does not recognise, so bodies are read here from
``raw_body`` instead, with every failure mapped to a 4xx in the error envelope.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, NoReturn

from chalice.app import Request

from chalicelib.api.errors import MalformedBody, PayloadTooLarge, UnsupportedMediaType

JSON_MEDIA_TYPE = "application/json"
MERGE_PATCH_MEDIA_TYPE = "application/merge-patch+json"  # RFC 7396: what a PATCH body is


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError("duplicate key in object")
    return document


def strict_json(text: str) -> Any:
    """JSON as the API reads it: numbers exact (Decimal), no NaN or Infinity, no key given twice.

    Raises ValueError (RecursionError when nested too deeply). The import tool reads JSON Lines with it too.
    """
    return json.loads(
        text, parse_float=Decimal, parse_constant=_refuse_constant, object_pairs_hook=_refuse_duplicate_keys
    )


def _media_type(header: str) -> tuple[str, dict[str, str]]:
    media_type, *raw_params = header.split(";")
    params = {}
    for raw in raw_params:
        name, _, value = raw.partition("=")
        params[name.strip().lower()] = value.strip().strip('"').lower()
    return media_type.strip().lower(), params


def read_json_object(
    request: Request, max_bytes: int, media_types: tuple[str, ...] = (JSON_MEDIA_TYPE,)
) -> dict[str, Any]:
    """The body as a dict, or a 413/415/400 domain error that says what is wrong."""
    raw = request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"The request body must not exceed {max_bytes} bytes.")
    header = request.headers.get("content-type")
    accepted = " or ".join(media_types)
    if header is None:
        raise UnsupportedMediaType(f"Send the body with Content-Type: {accepted}.")
    media_type, params = _media_type(header)
    if media_type not in media_types or params.get("charset", "utf-8") != "utf-8":
        raise UnsupportedMediaType(f"Content-Type must be {accepted} (UTF-8), not {header[:100]!r}.")
    if raw.startswith(b"\xef\xbb\xbf"):
        raise MalformedBody("The request body must not start with a byte order mark.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBody("The request body is not valid UTF-8.") from None
    try:
        document = strict_json(text)
    except RecursionError:
        raise MalformedBody("The request body is nested too deeply.") from None
    except ValueError as error:
        raise MalformedBody(f"The request body is not valid JSON: {str(error)[:200]}") from None
    if not isinstance(document, dict):
        raise MalformedBody("The request body must be a JSON object.")
    return document


def query_params(request: Request) -> dict[str, list[str]]:
    params = request.query_params
    return {name: params.getlist(name) for name in params} if params else {}


def base_path(request: Request) -> str:
    """The prefix the client put before this route: a stage such as ``/api``, or nothing locally."""
    context = request.context or {}
    resource = str(context.get("resourcePath") or "").strip("/")
    parts = str(context.get("path") or request.path).rstrip("/").split("/")
    depth = len(resource.split("/")) if resource else 0
    return "/".join(parts[: len(parts) - depth])


def resource_url(request: Request, *segments: str) -> str:
    """The path of a sub-resource as the client addressed this one (stage prefix included)."""
    context = request.context or {}
    base = str(context.get("path") or request.path).rstrip("/")
    return "/".join([base, *segments])
