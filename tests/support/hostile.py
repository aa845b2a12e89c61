"""A corpus of hostile requests: each must get a 4xx in the error envelope and change nothing.

Shared by the unit (moto), integration (DynamoDB Local) and e2e (live HTTP) tiers.
Paths and bodies may name ``{id}`` (an existing customer), ``{token}`` (a valid
next_token) and ``{tampered}`` (that token with one character changed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

JSON_TYPE = {"Content-Type": "application/json"}
VALID = {"first_name": "Hostile", "last_name": "Tester", "email_address": "hostile.tester@example.com"}


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


def _with(**fields: object) -> bytes:
    return _json({**VALID, **fields})


@dataclass(frozen=True)
class Hostile:
    name: str
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON_TYPE))
    status: int = 400
    code: str = ""  # the envelope's code; by default the one that goes with the status

    @property
    def expected_code(self) -> str:
        return self.code or _CODES[self.status]


_CODES = {
    400: "validation_error",
    404: "not_found",
    405: "method_not_allowed",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def _valid_then(raw_tail: bytes) -> bytes:
    """A valid create body with ``raw_tail`` spliced in as its last member: only the defence refuses it."""
    return _with()[:-1] + b", " + raw_tail + b"}"


CORPUS: list[Hostile] = [
    # Bodies that are not a JSON object
    Hostile("truncated_json", "POST", "/customers", _with()[:-3], code="invalid_body"),
    Hostile("trailing_comma", "POST", "/customers", _with()[:-1] + b",}", code="invalid_body"),
    Hostile("single_quotes", "POST", "/customers", _with().replace(b'"', b"'"), code="invalid_body"),
    Hostile("body_array", "POST", "/customers", b"[" + _with() + b"]", code="invalid_body"),
    Hostile("body_string", "POST", "/customers", b'"customer"', code="invalid_body"),
    Hostile("body_number", "POST", "/customers", b"42", code="invalid_body"),
    Hostile("body_null", "POST", "/customers", b"null", code="invalid_body"),
    Hostile("body_empty", "POST", "/customers", b"", code="invalid_body"),
    Hostile("utf8_bom", "POST", "/customers", b"\xef\xbb\xbf" + _with(), code="invalid_body"),
    Hostile("invalid_utf8", "POST", "/customers", _valid_then(b'"city": "\xff\xfe"'), code="invalid_body"),
    Hostile("nan", "POST", "/customers", _valid_then(b'"lifetime_value": NaN'), code="invalid_body"),
    Hostile("infinity", "POST", "/customers", _valid_then(b'"lifetime_value": Infinity'), code="invalid_body"),
    Hostile(
        "negative_infinity", "POST", "/customers", _valid_then(b'"lifetime_value": -Infinity'), code="invalid_body"
    ),
    Hostile("exponent_1e400", "POST", "/customers", _valid_then(b'"lifetime_value": 1e400')),
    Hostile(
        "integer_5000_digits",
        "POST",
        "/customers",
        _valid_then(b'"lifetime_value": ' + b"9" * 5000),
        code="invalid_body",
    ),
    Hostile(
        "nesting_5000_deep",
        "POST",
        "/customers",
        _valid_then(b'"city": ' + b"[" * 5000 + b"]" * 5000),
        code="invalid_body",
    ),
    Hostile(
        "object_nesting_5000_deep",
        "POST",
        "/customers",
        _valid_then(b'"city": ' + b'{"a":' * 5000 + b"1" + b"}" * 5000),
        code="invalid_body",
    ),
    Hostile("body_over_1_mb", "POST", "/customers", _with(address="x" * (1024 * 1024 + 1)), status=413),
    Hostile("duplicate_keys", "POST", "/customers", _valid_then(b'"first_name": "Other"'), code="invalid_body"),
    # Values of the wrong shape
    Hostile("operator_object", "POST", "/customers", _with(first_name={"$ne": 1})),
    Hostile("operator_in_email", "POST", "/customers", _with(email_address={"$gt": ""})),
    Hostile(
        "expression_in_enum", "POST", "/customers", _with(customer_status="active OR attribute_exists(customer_id)")
    ),
    Hostile("expression_as_field_name", "POST", "/customers", _json({**VALID, "#version = #version + :one": 1})),
    Hostile("placeholder_field_name", "POST", "/customers", _json({**VALID, ":f0": "x"})),
    Hostile("control_character", "POST", "/customers", _with(first_name="Hos\u0000tile")),
    Hostile("escape_character", "POST", "/customers", _with(last_name="\u001b[31mred")),
    Hostile(
        "lone_surrogate",
        "POST",
        "/customers",
        b'{"first_name": "\\ud800", "last_name": "x", "email_address": "a@b.co"}',
    ),
    Hostile("bidi_override", "POST", "/customers", _with(first_name="Ann\u202eeN")),
    Hostile("string_10_kb", "POST", "/customers", _with(first_name="a" * 10_240)),
    Hostile("boolean_as_number", "POST", "/customers", _with(lifetime_value=True)),
    Hostile("string_as_number", "POST", "/customers", _with(lifetime_value="100")),
    Hostile("negative_money", "POST", "/customers", _with(lifetime_value=-1)),
    Hostile("three_decimals", "POST", "/customers", _with(lifetime_value=1.005)),
    Hostile("nested_object_for_string", "POST", "/customers", _with(city={"name": "Oslo"})),
    Hostile("list_for_string", "POST", "/customers", _with(state=["OR"])),
    Hostile("all_null", "POST", "/customers", _json(dict.fromkeys(VALID))),
    Hostile("duplicate_channels", "POST", "/customers", _with(preferred_communication_channels=["email", "email"])),
    Hostile("unknown_channel", "POST", "/customers", _with(preferred_communication_channels=["fax"])),
    Hostile("future_birth_date", "POST", "/customers", _with(date_of_birth="2999-01-01")),
    Hostile("birth_date_with_time", "POST", "/customers", _with(date_of_birth="1990-01-01T00:00:00Z")),
    Hostile("impossible_birth_date", "POST", "/customers", _with(date_of_birth="1990-02-30")),
    Hostile("invisible_char_in_email", "POST", "/customers", _with(email_address="hostile\u200b@example.com")),
    Hostile("space_in_email", "POST", "/customers", _with(email_address="hostile tester@example.com")),
    Hostile(
        "lone_surrogate_in_email",
        "POST",
        "/customers",
        b'{"first_name": "x", "last_name": "x", "email_address": "a\\udc00@b.co"}',
    ),
    Hostile("full_width_email", "POST", "/customers", _with(email_address="\uff48ostile@example.com")),
    Hostile("kelvin_sign_in_email", "POST", "/customers", _with(email_address="\u212aate@example.com")),
    Hostile("ip_literal_email", "POST", "/customers", _with(email_address="hostile@[127.0.0.1]")),
    Hostile("bogus_punycode_email", "POST", "/customers", _with(email_address="hostile@xn--abc.com")),
    Hostile("punycode_label_too_long", "POST", "/customers", _with(email_address="h@xn--" + "a" * 240 + ".com")),
    Hostile("text_around_a_phone", "POST", "/customers", _with(phone_number="call 555-123-4567 now")),
    Hostile(
        "arabic_indic_phone", "POST", "/customers", _with(phone_number="\u0665\u0665\u0665\u0661\u0662\u0663\u0664")
    ),
    Hostile("unknown_country_code_phone", "POST", "/customers", _with(phone_number="+999 555 1234")),
    Hostile("zeros_phone", "POST", "/customers", _with(phone_number="+31 000000")),
    Hostile("future_acquisition_date", "POST", "/customers", _with(customer_acquisition_date="2999-01-01T00:00:00Z")),
    Hostile("e164_sent_by_client", "POST", "/customers", _with(phone_number_e164="+15551234567")),
    Hostile("read_only_customer_id", "POST", "/customers", _with(customer_id="{id}")),
    Hostile("read_only_version", "POST", "/customers", _with(version=99)),
    # Content types
    Hostile("missing_content_type", "POST", "/customers", _with(), headers={}, status=415),
    Hostile("text_plain", "POST", "/customers", _with(), headers={"Content-Type": "text/plain"}, status=415),
    Hostile(
        "form_encoded",
        "POST",
        "/customers",
        b"first_name=a",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        status=415,
    ),
    Hostile(
        "latin1_charset",
        "POST",
        "/customers",
        _with(),
        headers={"Content-Type": "application/json; charset=latin-1"},
        status=415,
    ),
    # Updates
    Hostile("update_empty_body", "PUT", "/customers/{id}", b"{}"),
    Hostile("update_unknown_field", "PUT", "/customers/{id}", _json({"nickname": "x"})),
    Hostile("update_read_only", "PUT", "/customers/{id}", _json({"created_at": "2020-01-01T00:00:00Z"})),
    Hostile("update_null", "PUT", "/customers/{id}", _json({"city": None})),
    Hostile(
        "update_malformed_if_match",
        "PUT",
        "/customers/{id}",
        _json({"city": "x"}),
        headers={**JSON_TYPE, "If-Match": "1"},
    ),
    Hostile(
        "update_stale_if_match",
        "PUT",
        "/customers/{id}",
        _json({"city": "x"}),
        headers={**JSON_TYPE, "If-Match": '"999"'},
        status=412,
    ),
    Hostile("delete_stale_if_match", "DELETE", "/customers/{id}", headers={"If-Match": '"999"'}, status=412),
    Hostile(
        "idempotency_key_too_long", "POST", "/customers", _with(), headers={**JSON_TYPE, "Idempotency-Key": "k" * 256}
    ),
    # Ids
    Hostile("id_too_long", "GET", "/customers/" + "a" * 1000),
    Hostile("id_not_uuid", "GET", "/customers/12345"),
    Hostile("id_unicode", "GET", "/customers/%C3%A9t%C3%A9"),
    Hostile("id_path_like", "GET", "/customers/..%2F..%2Fetc%2Fpasswd"),
    Hostile("id_expression", "DELETE", "/customers/customer_id%20%3D%20customer_id"),
    Hostile("id_braced_uuid", "GET", "/customers/%7B{id}%7D"),
    # Query parameters
    Hostile("limit_zero", "GET", "/customers?limit=0"),
    Hostile("limit_101", "GET", "/customers?limit=101"),
    Hostile("limit_negative", "GET", "/customers?limit=-5"),
    Hostile("limit_text", "GET", "/customers?limit=ten"),
    Hostile("limit_float", "GET", "/customers?limit=2.5"),
    Hostile("limit_empty", "GET", "/customers?limit="),
    Hostile("limit_huge", "GET", "/customers?limit=99999999999999999999"),
    Hostile("limit_repeated", "GET", "/customers?limit=1&limit=2"),
    Hostile("unknown_parameter", "GET", "/customers?status=active"),
    Hostile("query_on_item_route", "GET", "/customers/{id}?fields=all"),
    Hostile("token_garbage", "GET", "/customers?next_token=garbage"),
    Hostile("token_tampered", "GET", "/customers?limit=1&next_token={tampered}"),
    Hostile("token_over_long", "GET", "/customers?next_token=" + "A" * 5000),
    Hostile("token_expression", "GET", "/customers?next_token=%7B%22customer_id%22%3A%20%7B%22S%22%3A%20%22%22%7D%7D"),
    # Methods
    Hostile("patch_on_collection", "PATCH", "/customers", _json({"city": "x"}), status=405),
    Hostile("batch_get_method", "GET", "/customers/batch", status=405),
    # Merge patches (PATCH /customers/{id})
    Hostile("patch_null_required", "PATCH", "/customers/{id}", _json({"first_name": None, "city": "x"})),
    Hostile("patch_null_defaulted", "PATCH", "/customers/{id}", _json({"customer_status": None})),
    Hostile("patch_empty", "PATCH", "/customers/{id}", _json({})),
    Hostile("patch_read_only", "PATCH", "/customers/{id}", _json({"version": None})),
    Hostile(
        "patch_json_patch_document",
        "PATCH",
        "/customers/{id}",
        _json([{"op": "remove", "path": "/city"}]),
        code="invalid_body",
    ),
    Hostile(
        "patch_text_plain",
        "PATCH",
        "/customers/{id}",
        _json({"city": None}),
        headers={"Content-Type": "text/plain"},
        status=415,
    ),
    Hostile(
        "patch_stale_if_match",
        "PATCH",
        "/customers/{id}",
        _json({"city": "x"}),
        headers={**JSON_TYPE, "If-Match": '"99"'},
        status=412,
    ),
    # Batches refused as a whole
    Hostile("batch_array", "POST", "/customers/batch", _json([{"op": "create", "body": VALID}]), code="invalid_body"),
    Hostile("batch_no_operations", "POST", "/customers/batch", _json({"operations": []})),
    Hostile("batch_unknown_op", "POST", "/customers/batch", _json({"operations": [{"op": "merge", "body": VALID}]})),
    Hostile(
        "batch_over_limit",
        "POST",
        "/customers/batch",
        _json({"operations": [{"op": "delete", "customer_id": "{id}"}] * 101}),
    ),
    Hostile(
        "batch_atomic_same_customer",
        "POST",
        "/customers/batch",
        _json({"operations": [{"op": "delete", "customer_id": "{id}"}] * 2, "atomic": True}),
    ),
    Hostile(
        "batch_atomic_failing",
        "POST",
        "/customers/batch",
        _json(
            {
                "operations": [
                    {"op": "create", "body": VALID},
                    {"op": "delete", "customer_id": "{id}", "if_match": '"99"'},
                ],
                "atomic": True,
            }
        ),
        status=409,
        code="batch_failed",
    ),
    # History, events, restore, export, erasure
    Hostile("history_bad_id", "GET", "/customers/12345/history"),
    Hostile("history_limit_zero", "GET", "/customers/{id}/history?limit=0"),
    Hostile("history_limit_101", "GET", "/customers/{id}/history?limit=101"),
    Hostile("history_unknown_parameter", "GET", "/customers/{id}/history?order=asc"),
    Hostile("history_token_garbage", "GET", "/customers/{id}/history?next_token=garbage"),
    Hostile("history_list_token", "GET", "/customers/{id}/history?next_token={token}"),
    Hostile("history_never_existed", "GET", "/customers/00000000-0000-4000-8000-000000000000/history", status=404),
    Hostile("restore_live_customer", "POST", "/customers/{id}/restore", status=409, code="customer_not_deleted"),
    Hostile("restore_bad_id", "POST", "/customers/x/restore"),
    Hostile("restore_query", "POST", "/customers/{id}/restore?force=1"),
    Hostile("restore_never_existed", "POST", "/customers/00000000-0000-4000-8000-000000000000/restore", status=404),
    Hostile(
        "restore_stale_if_match",
        "POST",
        "/customers/{id}/restore",
        headers={"If-Match": '"999"'},
        status=409,
        code="customer_not_deleted",
    ),
    Hostile("export_bad_id", "GET", "/customers/%7B{id}%7D/export"),
    Hostile("export_query", "GET", "/customers/{id}/export?format=csv"),
    Hostile("export_never_existed", "GET", "/customers/00000000-0000-4000-8000-000000000000/export", status=404),
    Hostile("erasure_bad_id", "POST", "/customers/..%2Fx/erasure"),
    Hostile("erasure_query", "POST", "/customers/{id}/erasure?dry_run=1"),
    Hostile("erasure_get_method", "GET", "/customers/{id}/erasure", status=405),
    Hostile("erasure_never_existed", "POST", "/customers/00000000-0000-4000-8000-000000000000/erasure", status=404),
    Hostile("events_cursor_garbage", "GET", "/events?after=garbage"),
    Hostile("events_list_token_as_cursor", "GET", "/events?after={token}"),
    Hostile("events_limit_zero", "GET", "/events?limit=0"),
    Hostile("events_limit_text", "GET", "/events?limit=many"),
    Hostile("events_bad_type", "GET", "/events?type=customer.renamed"),
    Hostile("events_bad_customer_id", "GET", "/events?customer_id=12345"),
    Hostile("events_unknown_parameter", "GET", "/events?since=2024-01-01"),
    Hostile("events_repeated_type", "GET", "/events?type=customer.created&type=customer.updated"),
]


def tamper(token: str) -> str:
    """The same token with one character of its signed payload changed."""
    payload, signature = token.split(".")
    return payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + signature
