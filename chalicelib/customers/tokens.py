"""Opaque, tamper-proof pagination tokens over storage positions.

A ``next_token`` carries the position where storage continues a listing. Handing
clients the raw position would let them edit it into one the store rejects (a 500)
or one that skips records (a wrong page), so the token is the position plus an
HMAC over it and the listing it belongs to; anything that does not verify is
refused as a 400. What is inside a position is storage's business, not ours.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from chalicelib.customers.errors import ValidationFailed

_VERSION = 1
_SIGNATURE_BYTES = 16


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, scope: str, payload: bytes) -> bytes:
    message = scope.encode() + b"\x00" + payload
    return hmac.new(secret, message, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def encode_token(position: dict[str, Any], *, secret: bytes, scope: str) -> str:
    # Unescaped UTF-8: a position holding folded names stays a third of its \u-escaped size.
    payload = json.dumps(
        {"v": _VERSION, "k": position}, separators=(",", ":"), sort_keys=True, ensure_ascii=False
    ).encode()
    return f"{_b64encode(payload)}.{_b64encode(_signature(secret, scope, payload))}"


def decode_token(token: str, *, secret: bytes, scope: str, parameter: str = "next_token") -> dict[str, Any]:
    """The position in ``token``; ValidationFailed naming ``parameter`` if it was not issued for ``scope``."""

    def _invalid() -> ValidationFailed:
        source = "next_cursor" if parameter == "after" else parameter
        return ValidationFailed(
            "Invalid query parameters.",
            details={parameter: [f"Not a valid token; use the {source} of a previous page."]},
        )

    try:
        payload_text, signature_text = token.split(".")
        payload = _b64decode(payload_text)
        signature = _b64decode(signature_text)
    except (ValueError, binascii.Error):
        raise _invalid() from None
    if not hmac.compare_digest(signature, _signature(secret, scope, payload)):
        raise _invalid()
    try:
        document = json.loads(payload)
    except ValueError:
        raise _invalid() from None
    if not isinstance(document, dict) or document.get("v") != _VERSION:
        raise _invalid()
    key = document.get("k")
    if not isinstance(key, dict):
        raise _invalid()
    return key
