"""Strict marshmallow fields for the customer contract.

marshmallow's stock fields are lenient where this API must not be: ``Date`` takes
``20200101``, ``Decimal`` takes strings, ``DateTime`` takes a bare date, and
``String`` lets control characters and lone surrogates through (the latter make
boto3 fail to encode the request, which would surface as a 500). Each field here
deserialises to the exact value stored in DynamoDB, so storage and wire format
are the same and nothing is converted twice.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import ValidationError, fields, validate

from chalicelib.api.representation import money_json
from chalicelib.config import get_settings
from chalicelib.customers.canonical import MAX_ADDRESS, check_email, check_phone
from chalicelib.customers.model import format_utc
from chalicelib.customers.search import query_text

# Control characters, lone surrogates, private-use and unassigned code points, and
# line/paragraph separators: never valid in a single-line value.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})
# Bidirectional overrides and isolates reorder how text displays (spoofing); other
# format characters (ZWJ, ZWNJ) are legitimate inside names in several scripts.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Email addresses additionally refuse any space, format character (zero-width space,
# BOM, bidi marks), private-use or unassigned code point: none can be typed
# knowingly, and each makes two addresses that look identical compare different.
_EMAIL_FORBIDDEN_CATEGORIES = _FORBIDDEN_CATEGORIES | {"Zs", "Cf", "Co", "Cn"}

_CENT = Decimal("0.01")
_DIGITS_RE = re.compile(r"[0-9]{1,9}")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?", re.IGNORECASE)
# The earliest "today" anywhere on Earth is UTC-12 and the latest UTC+14: a birth
# date is in the future only once it is after today in UTC+14.
_LATEST_ZONE = timezone(timedelta(hours=14))


def _has_forbidden(value: str, categories: frozenset[str]) -> bool:
    return any(unicodedata.category(ch) in categories for ch in value)


def _plain_ascii(text: str) -> bool:
    """Printable ASCII only: no control, format, private-use or unassigned character can be in it.

    Most values are, and this C-level test lets them skip the per-character category scan.
    """
    return text.isascii() and text.isprintable()


class CleanString(fields.String):
    """A single-line string: optionally stripped, no control characters, bounded length."""

    def __init__(self, *, max_length: int, strip: bool = True, **kwargs: Any) -> None:
        self.strip = strip
        validators = [validate.Length(min=1, max=max_length)]
        validators.extend(kwargs.pop("validate", []))
        super().__init__(validate=validators, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if _plain_ascii(text):
            if not text.strip(" "):  # the only invisible printable ASCII character is the space
                raise ValidationError("Must contain a visible character.")
            return text.strip() if self.strip else text
        if _has_forbidden(text, _FORBIDDEN_CATEGORIES) or not _BIDI_CONTROLS.isdisjoint(text):
            raise ValidationError("Must not contain control characters.")
        if not any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in text):
            raise ValidationError("Must contain a visible character.")
        return text.strip() if self.strip else text


def _no_invisible_characters(text: str) -> None:
    plain = _plain_ascii(text) and " " not in text
    if not plain and (any(ch.isspace() for ch in text) or _has_forbidden(text, _EMAIL_FORBIDDEN_CATEGORIES)):
        raise ValidationError("Must not contain whitespace or invisible characters.")


class EmailAddress(fields.String):
    """An email address the canonical rules accept (:func:`chalicelib.customers.canonical.check_email`).

    Loaded as the client typed it: only its key (uniqueness, the filter) is canonical.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=validate.Length(max=MAX_ADDRESS), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        _no_invisible_characters(text)
        try:
            check_email(text)
        except ValueError as error:
            raise ValidationError(str(error)) from None
        return text


class PhoneNumber(CleanString):
    """A phone number as people type it, if it can be one (:func:`chalicelib.customers.canonical.check_phone`).

    National numbers are read in the ``DEFAULT_PHONE_REGION`` setting's country.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=32, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            check_phone(text, get_settings().default_phone_region)
        except ValueError as error:
            raise ValidationError(str(error)) from None
        return text


class BirthDate(fields.Field[str]):
    """``YYYY-MM-DD``, a real calendar date, not before 1900 and not in the future."""

    EARLIEST = date(1900, 1, 1)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
            raise ValidationError("Not a valid date; use YYYY-MM-DD.")
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            raise ValidationError("Not a real calendar date.") from None
        if parsed < self.EARLIEST:
            raise ValidationError(f"Must not be before {self.EARLIEST.isoformat()}.")
        if parsed > datetime.now(_LATEST_ZONE).date():
            raise ValidationError("Must not be in the future.")
        return value

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class UtcDateTime(fields.Field[str]):
    """An ISO 8601 date and time; naive values are read as UTC; stored and returned in UTC.

    ``earliest`` and ``max_ahead`` (of the clock) bound it when given: an acquisition
    date is not before 1900 nor in the future, beyond a minute of clock skew.
    """

    def __init__(self, *, earliest: datetime | None = None, max_ahead: timedelta | None = None, **kwargs: Any) -> None:
        self.earliest = earliest
        self.max_ahead = max_ahead
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        if not isinstance(value, str) or not _DATETIME_RE.fullmatch(value):
            raise ValidationError("Not a valid datetime; use ISO 8601, e.g. 2024-05-01T12:30:00Z.")
        try:
            parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("Not a real date and time.") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        try:
            stored = format_utc(parsed)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 has no UTC equivalent
            raise ValidationError("Out of range.") from None
        if self.earliest is not None and parsed < self.earliest:
            raise ValidationError(f"Must not be before {format_utc(self.earliest)}.")
        if self.max_ahead is not None and parsed > datetime.now(UTC) + self.max_ahead:
            raise ValidationError("Must not be in the future.")
        return stored

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class Money(fields.Field[Decimal]):
    """A JSON number, finite, within range, with at most two decimal places.

    Bodies are parsed with ``parse_float=Decimal``, so 19.99 arrives as
    ``Decimal('19.99')`` and is stored as such; on the way out it becomes the float
    whose shortest repr is the same digits (exact for up to 15 significant digits,
    which the range guarantees), so 19.99 is returned as 19.99.
    """

    def __init__(self, *, maximum: Decimal, **kwargs: Any) -> None:
        self.maximum = maximum
        # Published in the OpenAPI document; the checks themselves are in _deserialize.
        kwargs.setdefault("metadata", {}).update(
            {"minimum": 0, "maximum": float(maximum), "description": "At most 2 decimal places."}
        )
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise ValidationError("Not a valid number.")
        try:
            number = value if isinstance(value, Decimal) else Decimal(str(value))
        except InvalidOperation:
            raise ValidationError("Not a valid number.") from None
        if not number.is_finite():
            raise ValidationError("Must be a finite number.")
        if number < 0 or number > self.maximum:
            raise ValidationError(f"Must be between 0 and {self.maximum}.")
        cents = number.quantize(_CENT)
        if number != cents:
            raise ValidationError("Must have at most 2 decimal places.")
        # The quantized form, never the digits as sent: 0e1000000 or forty trailing zeros
        # are the same amount but exceed what DynamoDB stores; "+ 0" turns -0.00 into 0.00.
        return cents + 0

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> int | float | None:
        return None if value is None else money_json(value)


class QueryInteger(fields.Integer):
    """A query-string integer in plain ASCII digits: ``int()`` alone would also take ``"1_0"``, ``" 5"``, ``"+5"``."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> int:
        if not isinstance(value, str) or not _DIGITS_RE.fullmatch(value):
            raise ValidationError("Not a valid integer.")
        return int(value)


class QueryMoney(Money):
    """An amount in a query string: decimal text such as ``1500`` or ``1500.00``, checked like a body's amount."""

    _TEXT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")

    def __init__(self, **kwargs: Any) -> None:
        description = f"{kwargs.get('metadata', {}).get('description', '')} Decimal text, at most 2 places.".strip()
        super().__init__(**kwargs)
        # Published as a string with this pattern; the body's numeric bounds do not apply to text.
        self.metadata = {"description": description, "pattern": "^[0-9]{1,12}(\\.[0-9]{1,2})?$"}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Decimal:
        if not isinstance(value, str) or not self._TEXT.fullmatch(value):
            raise ValidationError("Not a valid amount; use digits with at most 2 decimal places, e.g. 1500.00.")
        return super()._deserialize(Decimal(value), attr, data, **kwargs)


class SearchText(CleanString):
    """A search query: 1 to 100 characters, something left once case, accents and spaces are folded away."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=100, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not query_text(text):
            raise ValidationError("Must contain a letter or digit to search for.")
        return text
