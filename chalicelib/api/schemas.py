"""marshmallow schemas: what a request may say and what a response says.

Schema instances are built once at import; marshmallow schemas are stateless
between ``load`` calls, and building them per request costs more than the
validation itself. marshmallow is only imported by the routes that load a body
or a query (it costs a cold start tens of milliseconds a GET by id does not need):
responses go through :mod:`chalicelib.api.representation`, and path and header
values through :mod:`chalicelib.api.parameters`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from chalicelib.api.fields import (
    BirthDate,
    CleanString,
    EmailAddress,
    Money,
    PhoneNumber,
    QueryInteger,
    QueryMoney,
    SearchText,
    UtcDateTime,
)
from chalicelib.customers.criteria import SORTS, Criteria
from chalicelib.customers.errors import ValidationFailed
from chalicelib.customers.model import (
    CHANGE_KINDS,
    REMOVABLE_FIELDS,
    SERVER_FIELDS,
    WRITABLE_FIELDS,
    CustomerChanges,
    NewCustomer,
    Patch,
)

CHANNELS = ("email", "text", "phone")
LOYALTY_FLAGS = ("y", "n")
STATUSES = ("active", "inactive", "canceled")
MAX_LIFETIME_VALUE = Decimal("999999999999.99")
READ_ONLY_FIELDS = frozenset(SERVER_FIELDS)

# The rules of a request, published as descriptions rather than as `format`/`pattern`: the same
# schema documents responses, and customers stored under older rules must still conform to it.
_EMAIL_RULES = (
    "Kept as typed; unique, and filtered, in one canonical form (NFC, local part case-folded, domain "
    "IDNA-encoded and lower-cased), so idn@münchen.de and IDN@xn--mnchen-3ya.de are the same address. "
    "On writes: at most 64 characters before the @ and 254 in all; the domain needs a dot and cannot be an "
    "IP address; compatibility characters (full-width letters, the Kelvin sign) are refused: type the plain "
    "character."
)
_PHONE_RULES = (
    "Kept as typed. On writes: digits, spaces and ( ) . - /, an optional leading +, an optional extension "
    "(x89, ext. 89); it must be a possible number (the right number of digits), e.g. (555) 123-4567, "
    "+44 20 7946 0958, 555-0123. Without a + it is read as a number of DEFAULT_PHONE_REGION (US)."
)
_E164_RULES = (
    "phone_number in E.164 (+15551234567), derived on every write that sets it: null when it has no E.164 "
    "form (a local number without an area code, such as 555-0123). Absent without a phone number."
)
ACQUIRED_NO_EARLIER = datetime(1900, 1, 1, tzinfo=UTC)
ACQUIRED_CLOCK_SKEW = timedelta(minutes=1)


def _unique_items(values: list[str]) -> None:
    if len(set(values)) != len(values):
        raise ValidationError("Must not list a channel twice.")


class CustomerSchema(Schema):
    """One customer. Server-owned fields are ``dump_only``; updates load with ``partial``."""

    class Meta:
        unknown = RAISE
        ordered = True

    customer_id = fields.String(dump_only=True)
    first_name = CleanString(max_length=100, required=True)
    last_name = CleanString(max_length=100, required=True)
    date_of_birth = BirthDate()
    address = CleanString(max_length=200)
    city = CleanString(max_length=100)
    state = CleanString(max_length=100)
    postal_code = CleanString(max_length=20)
    phone_number = PhoneNumber(metadata={"description": _PHONE_RULES})
    phone_number_e164 = fields.String(dump_only=True, allow_none=True, metadata={"description": _E164_RULES})
    email_address = EmailAddress(required=True, metadata={"description": _EMAIL_RULES})
    customer_acquisition_date = UtcDateTime(
        earliest=ACQUIRED_NO_EARLIER,
        max_ahead=ACQUIRED_CLOCK_SKEW,
        metadata={"description": "Not before 1900 nor in the future (a minute of clock skew allowed)."},
    )
    preferred_communication_channels = fields.List(
        fields.String(validate=validate.OneOf(CHANNELS)),
        validate=_unique_items,
        load_default=list,
    )
    is_loyalty_member = fields.String(validate=validate.OneOf(LOYALTY_FLAGS), load_default="n")
    customer_status = fields.String(validate=validate.OneOf(STATUSES), load_default="active")
    lifetime_value = Money(maximum=MAX_LIFETIME_VALUE, load_default=Decimal(0))
    created_at = fields.String(dump_only=True)
    created_by = fields.String(dump_only=True)
    updated_at = fields.String(dump_only=True)
    updated_by = fields.String(dump_only=True)
    version = fields.Integer(dump_only=True)

    @validates_schema
    def _not_empty_update(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if kwargs.get("partial") and not data:
            raise ValidationError("Name at least one field to change.")


class ListCustomersQuery(Schema):
    """A page of customers: any filters, a prefix search, ranges, and an order, in any combination."""

    class Meta:
        unknown = RAISE

    limit = QueryInteger(validate=validate.Range(min=1, max=100))
    next_token = fields.String(validate=validate.Length(min=1, max=2048))
    customer_status = fields.String(validate=validate.OneOf(STATUSES))
    is_loyalty_member = fields.String(validate=validate.OneOf(LOYALTY_FLAGS))
    state = CleanString(max_length=100, metadata={"description": "Exact match, ignoring case and accents."})
    email_address = EmailAddress(metadata={"description": "Exact match of the canonical address (ignoring case)."})
    q = SearchText(
        metadata={
            "description": "Prefix search: customers whose first, last or full name, email address or phone number "
            "(digits, or E.164) starts with this text, ignoring case, accents and repeated spaces. Ordered by "
            "last name, first name, then id unless `sort` says otherwise."
        }
    )
    sort = fields.String(
        validate=validate.OneOf(SORTS),
        metadata={"description": "The order; `-` for descending. Default `-created_at` (newest first)."},
    )
    created_after = UtcDateTime(metadata={"description": "Created at or after this time (ISO 8601)."})
    created_before = UtcDateTime(metadata={"description": "Created before this time (ISO 8601)."})
    min_lifetime_value = QueryMoney(maximum=MAX_LIFETIME_VALUE, metadata={"description": "At least this much."})
    max_lifetime_value = QueryMoney(maximum=MAX_LIFETIME_VALUE, metadata={"description": "At most this much."})

    @validates_schema(skip_on_field_errors=False)  # a bad sort must not hide an empty range
    def _ranges_in_order(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        after, before = data.get("created_after"), data.get("created_before")
        if after is not None and before is not None and after >= before:
            errors["created_before"] = ["Must be later than created_after."]
        low, high = data.get("min_lifetime_value"), data.get("max_lifetime_value")
        if low is not None and high is not None and low > high:
            errors["max_lifetime_value"] = ["Must not be less than min_lifetime_value."]
        if errors:
            raise ValidationError(errors)


class HistoryQuery(Schema):
    class Meta:
        unknown = RAISE

    limit = QueryInteger(validate=validate.Range(min=1, max=100))
    next_token = fields.String(validate=validate.Length(min=1, max=2048))


class EventsQuery(Schema):
    """Change events oldest first; one customer's or some kinds' only, if asked."""

    class Meta:
        unknown = RAISE

    after = fields.String(validate=validate.Length(min=1, max=2048))
    limit = QueryInteger(validate=validate.Range(min=1, max=100))
    customer_id = fields.UUID()
    type = fields.String(validate=validate.OneOf([f"customer.{kind}" for kind in CHANGE_KINDS]))


CUSTOMER = CustomerSchema()
LIST_QUERY = ListCustomersQuery()
HISTORY_QUERY = HistoryQuery()
EVENTS_QUERY = EventsQuery()


def _load(schema: Schema, data: Any, *, partial: bool = False) -> dict[str, Any]:
    """Load or raise :class:`ValidationFailed` naming every bad field at once."""
    errors: dict[str, Any] = {}
    result: dict[str, Any] = {}
    try:
        result = cast(dict[str, Any], schema.load(data, partial=partial))
    except ValidationError as exc:
        errors = dict(exc.messages) if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    if isinstance(data, Mapping):
        for name in READ_ONLY_FIELDS.intersection(data):
            errors[name] = ["Read-only field; the server sets it."]
    if errors:
        raise ValidationFailed("Invalid request body.", details=errors)
    return result


def load_new_customer(body: Any) -> NewCustomer:
    return cast(NewCustomer, _load(CUSTOMER, body))


_NOT_REMOVABLE = (
    f"Cannot be removed: send a value. Only {', '.join(REMOVABLE_FIELDS)} may be null (to remove them, in a PATCH)."
)
_NULL_IN_PUT = "May not be null in a PUT: to remove this field, send null in a PATCH (application/merge-patch+json)."


def load_customer_changes(body: Any) -> CustomerChanges:
    """A PUT's partial update: null is refused (a PUT never removes), with a pointer to PATCH where it could."""
    try:
        return cast(CustomerChanges, _load(CUSTOMER, body, partial=True))
    except ValidationFailed as failed:
        nulls = {name for name, value in body.items() if value is None and name in REMOVABLE_FIELDS}
        if nulls:
            failed.details.update({name: [_NULL_IN_PUT] for name in nulls})
        raise


def load_patch(body: Mapping[str, Any]) -> Patch:
    """A merge patch (RFC 7396): the fields sent are set, a removable field sent as null is removed.

    Arrays are values like any other (a new list of channels replaces the old one), and every
    bad field is named at once, the ones that may not be null among them.
    """
    removals = frozenset(name for name, value in body.items() if value is None and name in REMOVABLE_FIELDS)
    errors: dict[str, Any] = {
        name: [_NOT_REMOVABLE]
        for name, value in body.items()
        if value is None and name in WRITABLE_FIELDS and name not in REMOVABLE_FIELDS
    }
    values = {name: value for name, value in body.items() if not (value is None and name in WRITABLE_FIELDS)}
    changes: dict[str, Any] = {}
    if values or not (removals or errors):
        try:
            changes = _load(CUSTOMER, values, partial=True)
        except ValidationFailed as failed:
            errors = {**failed.details, **errors}
    if errors:
        raise ValidationFailed("Invalid request body.", details=errors)
    return Patch(cast(CustomerChanges, changes), removals)


def load_new_customer_or_error(body: Mapping[str, Any]) -> NewCustomer | ValidationFailed:
    """The body as a create (its nulls counted as absent, as a merge patch onto nothing), or why it is not one."""
    try:
        return load_new_customer({name: value for name, value in body.items() if value is not None})
    except ValidationFailed as failed:
        return failed


def load_list_query(params: Mapping[str, list[str]]) -> dict[str, Any]:
    return _load_query(LIST_QUERY, params)


def load_history_query(params: Mapping[str, list[str]]) -> dict[str, Any]:
    return _load_query(HISTORY_QUERY, params)


def load_events_query(params: Mapping[str, list[str]]) -> dict[str, Any]:
    query = _load_query(EVENTS_QUERY, params)
    if "customer_id" in query:
        query["customer_id"] = str(query["customer_id"])
    if "type" in query:
        query["kinds"] = [query.pop("type").removeprefix("customer.")]
    return query


def _load_query(schema: Schema, params: Mapping[str, list[str]]) -> dict[str, Any]:
    """Query parameters arrive as lists; a parameter given twice is ambiguous, so refuse it."""
    errors: dict[str, Any] = {
        name: ["Give this parameter once."] for name, values in params.items() if len(values) != 1
    }
    single = {name: values[0] for name, values in params.items() if len(values) == 1}
    try:
        result = cast(dict[str, Any], schema.load(single))
    except ValidationError as exc:
        errors.update(cast(dict[str, Any], exc.messages))
        result = {}
    if errors:
        raise ValidationFailed("Invalid query parameters.", details=errors)
    return result


def list_criteria(query: Mapping[str, Any]) -> Criteria:
    """The criteria a loaded list query names (every parameter but the page's own)."""
    return Criteria(**{name: value for name, value in query.items() if name not in ("limit", "next_token")})
