"""Every endpoint and rule through the public HTTP interface.

The same classes run against moto here and against DynamoDB Local in
tests/integration, through the ``api`` fixture each folder defines.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.config import get_settings
from chalicelib.customers.seed_data import SAMPLE_CUSTOMERS
from chalicelib.customers.tokens import encode_token
from chalicelib.storage.tables import SHARDS
from tests.support import TEST_SECRET, Api, all_customers, assert_error, body, captured_json_logs, create, new_customer
from tests.support.hostile import tamper
from tests.support.store import remove_customers

UTC_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z")
READ_ONLY = ("customer_id", "created_at", "updated_at", "version")


class TestCreateCustomer:
    def test_create_customer_returns_201_with_whole_customer_location_and_etag(self, api: Api) -> None:
        response = api.post(
            "/customers",
            {
                "first_name": "John",
                "last_name": "Doe",
                "email_address": "john.doe@example.com",
                "phone_number": "555-0123",
                "preferred_communication_channels": ["email", "phone"],
                "is_loyalty_member": "y",
                "lifetime_value": Decimal("1500.00"),
            },
        )
        assert response.status_code == 201
        customer = body(response)
        assert uuid.UUID(customer["customer_id"]).version == 4
        assert response.headers["Location"] == f"/customers/{customer['customer_id']}"
        assert response.headers["ETag"] == '"1"'
        assert customer["version"] == 1
        assert customer["preferred_communication_channels"] == ["email", "phone"]
        assert customer["lifetime_value"] == 1500
        assert customer["customer_status"] == "active"
        assert UTC_TIMESTAMP.fullmatch(customer["created_at"])
        assert customer["created_at"] == customer["updated_at"] == customer["customer_acquisition_date"]

    def test_create_customer_with_partial_body_applies_defaults(self, api: Api) -> None:
        customer = create(api)
        assert customer["customer_status"] == "active"
        assert customer["is_loyalty_member"] == "n"
        assert customer["preferred_communication_channels"] == []
        assert customer["lifetime_value"] == 0
        assert "date_of_birth" not in customer

    def test_create_customer_is_readable_afterwards(self, api: Api) -> None:
        created = create(api, city="Springfield", date_of_birth="1985-03-15")
        fetched = api.get(f"/customers/{created['customer_id']}")
        assert fetched.status_code == 200
        assert body(fetched) == created

    def test_create_customer_keeps_money_exact(self, api: Api) -> None:
        created = create(api, lifetime_value=Decimal("19.99"))
        response = api.get(f"/customers/{created['customer_id']}")
        assert b'"lifetime_value":19.99' in response.body
        assert body(response)["lifetime_value"] == Decimal("19.99")

    def test_create_customer_strips_names_and_normalises_acquisition_date_to_utc(self, api: Api) -> None:
        customer = create(api, first_name="  Ann ", customer_acquisition_date="2024-05-01T12:30:00+02:00")
        assert customer["first_name"] == "Ann"
        assert customer["customer_acquisition_date"] == "2024-05-01T10:30:00.000000Z"

    def test_create_customer_reads_naive_datetime_as_utc(self, api: Api) -> None:
        customer = create(api, customer_acquisition_date="2024-05-01T12:30:00")
        assert customer["customer_acquisition_date"] == "2024-05-01T12:30:00.000000Z"

    @pytest.mark.parametrize("field", READ_ONLY)
    def test_create_customer_refuses_read_only_field(self, api: Api, field: str) -> None:
        value: Any = 7 if field == "version" else str(uuid.uuid4())
        response = api.post("/customers", new_customer(**{field: value}))
        assert_error(response, 400, "validation_error", field)
        assert all_customers(api) == []

    def test_create_customer_requires_names_and_email(self, api: Api) -> None:
        response = api.post("/customers", {"city": "Austin"})
        assert_error(response, 400, "validation_error", "first_name", "last_name", "email_address")

    def test_create_customer_with_duplicate_email_is_409_case_insensitively(self, api: Api) -> None:
        create(api, email_address="Jane@Example.com")
        response = api.post("/customers", new_customer(email_address="jane@example.COM"))
        assert_error(response, 409, "email_in_use", "email_address")
        assert len(all_customers(api)) == 1

    def test_create_customer_names_every_bad_field(self, api: Api) -> None:
        response = api.post(
            "/customers",
            {
                "first_name": None,
                "last_name": True,
                "email_address": "not an email",
                "date_of_birth": "2999-01-01",
                "preferred_communication_channels": ["email", "email"],
                "is_loyalty_member": "yes",
                "customer_status": "gone",
                "lifetime_value": "12.50",
                "nickname": "JD",
            },
        )
        assert_error(
            response,
            400,
            "validation_error",
            "first_name",
            "last_name",
            "email_address",
            "date_of_birth",
            "preferred_communication_channels",
            "is_loyalty_member",
            "customer_status",
            "lifetime_value",
            "nickname",
        )


class TestGetCustomer:
    def test_get_customer_returns_it_with_etag(self, api: Api) -> None:
        created = create(api)
        response = api.get(f"/customers/{created['customer_id']}")
        assert response.status_code == 200
        assert response.headers["ETag"] == '"1"'
        assert body(response)["email_address"] == created["email_address"]

    def test_get_customer_accepts_upper_case_uuid(self, api: Api) -> None:
        created = create(api)
        response = api.get(f"/customers/{created['customer_id'].upper()}")
        assert response.status_code == 200
        assert body(response)["customer_id"] == created["customer_id"]

    def test_get_customer_absent_is_404(self, api: Api) -> None:
        assert_error(api.get(f"/customers/{uuid.uuid4()}"), 404, "not_found")

    @pytest.mark.parametrize(
        "bad_id", ["abc", "..%2F..%2Fetc%2Fpasswd", "1" * 300, "%C3%A9t%C3%A9", "{" + "0" * 32 + "}"]
    )
    def test_get_customer_with_invalid_id_is_400(self, api: Api, bad_id: str) -> None:
        assert_error(api.get(f"/customers/{bad_id}"), 400, "validation_error", "customer_id")


class TestUpdateCustomer:
    def test_update_customer_changes_only_given_fields_and_bumps_version(self, api: Api) -> None:
        created = create(api, city="Austin", lifetime_value=Decimal("10"))
        response = api.put(
            f"/customers/{created['customer_id']}",
            {"lifetime_value": Decimal("2000.00"), "customer_status": "active"},
        )
        assert response.status_code == 200
        updated = body(response)
        assert updated["lifetime_value"] == 2000
        assert updated["city"] == "Austin"
        assert updated["version"] == 2
        assert response.headers["ETag"] == '"2"'
        assert updated["updated_at"] > created["updated_at"]
        assert updated["created_at"] == created["created_at"]
        assert body(api.get(f"/customers/{created['customer_id']}")) == updated

    def test_update_customer_absent_is_404_and_creates_nothing(self, api: Api) -> None:
        missing = uuid.uuid4()
        assert_error(api.put(f"/customers/{missing}", {"customer_status": "inactive"}), 404, "not_found")
        assert_error(api.put(f"/customers/{missing}", {"email_address": "x@example.com"}), 404, "not_found")
        assert all_customers(api) == []

    def test_update_customer_with_empty_body_is_400(self, api: Api) -> None:
        created = create(api)
        assert_error(api.put(f"/customers/{created['customer_id']}", {}), 400, "validation_error", "_schema")

    @pytest.mark.parametrize("field", [*READ_ONLY, "favourite_colour"])
    def test_update_customer_refuses_read_only_and_unknown_fields(self, api: Api, field: str) -> None:
        created = create(api)
        response = api.put(f"/customers/{created['customer_id']}", {field: "x", "city": "Paris"})
        assert_error(response, 400, "validation_error", field)
        assert body(api.get(f"/customers/{created['customer_id']}")) == created

    def test_update_customer_email_moves_uniqueness_claim(self, api: Api) -> None:
        created = create(api, email_address="old@example.com")
        response = api.put(f"/customers/{created['customer_id']}", {"email_address": "new@example.com"})
        assert response.status_code == 200
        assert body(response)["email_address"] == "new@example.com"
        # The old address is free again, the new one is taken.
        create(api, email_address="OLD@example.com")
        assert_error(api.post("/customers", new_customer(email_address="New@Example.com")), 409, "email_in_use")

    def test_update_customer_email_to_one_in_use_is_409_and_changes_nothing(self, api: Api) -> None:
        first = create(api, email_address="first@example.com")
        second = create(api, email_address="second@example.com")
        response = api.put(
            f"/customers/{second['customer_id']}", {"email_address": "FIRST@example.com", "city": "Rome"}
        )
        assert_error(response, 409, "email_in_use", "email_address")
        assert body(api.get(f"/customers/{second['customer_id']}")) == second
        assert body(api.get(f"/customers/{first['customer_id']}")) == first

    def test_update_customer_email_case_only_keeps_the_claim(self, api: Api) -> None:
        created = create(api, email_address="case@example.com")
        response = api.put(f"/customers/{created['customer_id']}", {"email_address": "Case@Example.com"})
        assert response.status_code == 200
        assert body(response)["email_address"] == "Case@Example.com"
        assert_error(api.post("/customers", new_customer(email_address="case@example.com")), 409, "email_in_use")

    def test_update_customer_with_invalid_id_is_400(self, api: Api) -> None:
        assert_error(api.put("/customers/nope", {"city": "Rome"}), 400, "validation_error", "customer_id")


class TestDeleteCustomer:
    def test_delete_customer_returns_204_and_hides_it_until_its_restore_window_ends(self, api: Api) -> None:
        created = create(api)
        response = api.delete(f"/customers/{created['customer_id']}")
        assert response.status_code == 204
        assert response.body == b""
        error = assert_error(api.get(f"/customers/{created['customer_id']}"), 404, "customer_deleted")
        until = datetime.fromisoformat(error["details"]["restorable_until"])
        assert timedelta(days=29, hours=23) < until - datetime.now(UTC) <= timedelta(days=30)
        assert created["customer_id"] not in {c["customer_id"] for c in all_customers(api)}

    def test_delete_customer_frees_its_email(self, api: Api) -> None:
        created = create(api, email_address="reuse@example.com")
        api.delete(f"/customers/{created['customer_id']}")
        assert create(api, email_address="Reuse@example.com")["email_address"] == "Reuse@example.com"

    def test_delete_customer_absent_is_404(self, api: Api) -> None:
        assert_error(api.delete(f"/customers/{uuid.uuid4()}"), 404, "not_found")

    def test_delete_customer_twice_is_404_customer_deleted_the_second_time(self, api: Api) -> None:
        created = create(api)
        assert api.delete(f"/customers/{created['customer_id']}").status_code == 204
        assert_error(api.delete(f"/customers/{created['customer_id']}"), 404, "customer_deleted")


class TestListCustomers:
    def test_list_customers_empty_has_null_next_token(self, api: Api) -> None:
        response = api.get("/customers")
        assert response.status_code == 200
        assert body(response) == {"customers": [], "next_token": None}

    def test_list_customers_walk_returns_everyone_exactly_once(self, api: Api) -> None:
        ids = {create(api)["customer_id"] for _ in range(23)}
        seen: list[str] = []
        path = "/customers?limit=5"
        pages = 0
        while True:
            page = body(api.get(path))
            pages += 1
            assert len(page["customers"]) <= 5
            seen.extend(c["customer_id"] for c in page["customers"])
            if page["next_token"] is None:
                break
            path = f"/customers?limit=5&next_token={page['next_token']}"
        assert sorted(seen) == sorted(ids)
        assert pages == 5  # 5+5+5+5+3: the last page says it is the last

    def test_list_customers_default_page_is_25(self, api: Api) -> None:
        for _ in range(26):
            create(api)
        page = body(api.get("/customers"))
        assert len(page["customers"]) == 25
        assert page["next_token"] is not None

    def test_list_customers_page_is_one_bounded_query_per_shard_and_one_batch_read(self, api: Api) -> None:
        for _ in range(12):
            create(api)
        calls: list[tuple[str, dict[str, Any]]] = []
        client = wiring.dynamodb_client()

        def record(model: Any, params: dict[str, Any], **kwargs: Any) -> None:
            calls.append((model.name, params))

        client.meta.events.register("provide-client-params.dynamodb", record)
        try:
            assert len(body(api.get("/customers?limit=4"))["customers"]) == 4
        finally:
            client.meta.events.unregister("provide-client-params.dynamodb", record)
        queries = [params for name, params in calls if name == "Query"]
        reads = [params for name, params in calls if name == "BatchGetItem"]
        assert len(calls) == len(queries) + len(reads)  # never a Scan
        assert len(queries) == SHARDS
        assert all(q["Limit"] <= 4 and q["IndexName"] == "by_created" for q in queries)
        assert len(reads) == 1
        ((request,),) = [list(read["RequestItems"].values()) for read in reads]
        assert len(request["Keys"]) == 4
        assert request["ConsistentRead"] is True

    @pytest.mark.parametrize(
        "query", ["limit=0", "limit=101", "limit=-1", "limit=abc", "limit=1.5", "limit=", "limit=5&limit=6"]
    )
    def test_list_customers_bad_limit_is_400(self, api: Api, query: str) -> None:
        assert_error(api.get(f"/customers?{query}"), 400, "validation_error", "limit")

    def test_list_customers_unknown_parameter_is_400(self, api: Api) -> None:
        assert_error(api.get("/customers?status=active"), 400, "validation_error", "status")

    @pytest.mark.parametrize(
        "token",
        ["garbage", "a.b", "....", "eyJ2IjoxfQ.AAAA", "x" * 3000, "%00", "ü.ü"],
    )
    def test_list_customers_garbage_token_is_400(self, api: Api, token: str) -> None:
        assert_error(api.get(f"/customers?next_token={token}"), 400, "validation_error", "next_token")

    def test_list_customers_tampered_token_is_400(self, api: Api) -> None:
        for _ in range(3):
            create(api)
        token = body(api.get("/customers?limit=1"))["next_token"]
        assert_error(api.get(f"/customers?next_token={tamper(token)}"), 400, "validation_error", "next_token")

    def test_list_customers_foreign_token_is_400(self, api: Api) -> None:
        key = {"customer_id": str(uuid.uuid4())}
        other_secret = encode_token(key, secret=b"another-deployment-secret-xxxxxxxx", scope="customers:list")
        other_scope = encode_token(key, secret=TEST_SECRET.encode(), scope="orders:list")
        scope = f"customers:list:{get_settings().customers_table}"
        other_table = encode_token(key, secret=TEST_SECRET.encode(), scope="customers:list:customers-prod")
        other_shape = encode_token({"email_key": "a@b.c"}, secret=TEST_SECRET.encode(), scope=scope)
        empty_id = encode_token({"customer_id": ""}, secret=TEST_SECRET.encode(), scope=scope)
        for token in (other_secret, other_scope, other_table, other_shape, empty_id):
            assert_error(api.get(f"/customers?next_token={token}"), 400, "validation_error", "next_token")


class TestSeed:
    def test_seed_creates_ten_samples_then_adds_nothing(self, api: Api) -> None:
        first = api.post("/seed")
        assert first.status_code == 201
        assert len(body(first)["created"]) == 10
        second = api.post("/seed")
        assert second.status_code == 200
        report = body(second)
        assert report["created"] == []
        assert sorted(report["already_present"]) == sorted(c["customer_id"] for c in SAMPLE_CUSTOMERS)
        assert "10 were already there" in report["message"]
        assert len(all_customers(api)) == 10

    def test_seed_restores_only_what_is_missing_and_never_overwrites(self, api: Api) -> None:
        api.post("/seed")
        kept, removed = SAMPLE_CUSTOMERS[0]["customer_id"], SAMPLE_CUSTOMERS[1]["customer_id"]
        api.put(f"/customers/{kept}", {"lifetime_value": 1})
        remove_customers([removed])
        response = api.post("/seed")
        assert response.status_code == 201
        assert body(response)["created"] == [removed]
        assert body(api.get(f"/customers/{kept}"))["lifetime_value"] == 1

    def test_seed_skips_sample_whose_email_another_customer_took(self, api: Api) -> None:
        sample = SAMPLE_CUSTOMERS[2]
        create(api, email_address=sample["email_address"])
        report = body(api.post("/seed"))
        assert report["email_taken"] == [sample["customer_id"]]
        assert len(report["created"]) == 9
        assert_error(api.get(f"/customers/{sample['customer_id']}"), 404, "not_found")

    def test_seed_samples_are_valid_customers(self, api: Api) -> None:
        api.post("/seed")
        sample = SAMPLE_CUSTOMERS[0]
        customer = body(api.get(f"/customers/{sample['customer_id']}"))
        assert customer["email_address"] == sample["email_address"]
        assert customer["lifetime_value"] == sample["lifetime_value"]


class TestRequestErrors:
    @pytest.mark.parametrize(
        ("raw", "status", "code"),
        [
            ("{", 400, "invalid_body"),
            ('{"first_name": "a",}', 400, "invalid_body"),
            ("[]", 400, "invalid_body"),
            ('"text"', 400, "invalid_body"),
            ("42", 400, "invalid_body"),
            ("null", 400, "invalid_body"),
            ("", 400, "invalid_body"),
            ('{"lifetime_value": NaN}', 400, "invalid_body"),
            ('{"lifetime_value": Infinity}', 400, "invalid_body"),
            ('{"lifetime_value": -Infinity}', 400, "invalid_body"),
            ("[" * 5000 + "]" * 5000, 400, "invalid_body"),
            ('{"first_name": "a", "first_name": "b"}', 400, "invalid_body"),
            ("\ufeff{}", 400, "invalid_body"),
        ],
    )
    def test_malformed_body_is_400_envelope(self, api: Api, raw: str, status: int, code: str) -> None:
        assert_error(api.post("/customers", raw=raw, headers={"Content-Type": "application/json"}), status, code)
        assert all_customers(api) == []

    def test_invalid_utf8_is_400(self, api: Api) -> None:
        response = api.post("/customers", raw=b'{"first_name": "\xff"}', headers={"Content-Type": "application/json"})
        assert_error(response, 400, "invalid_body")

    def test_huge_number_is_rejected_by_field(self, api: Api) -> None:
        response = api.post("/customers", raw='{"lifetime_value": 1e400}', headers={"Content-Type": "application/json"})
        assert_error(response, 400, "validation_error", "lifetime_value")

    def test_body_over_limit_is_413(self, api: Api) -> None:
        raw = '{"first_name": "' + "a" * (70 * 1024) + '"}'
        assert_error(
            api.post("/customers", raw=raw, headers={"Content-Type": "application/json"}), 413, "payload_too_large"
        )

    @pytest.mark.parametrize(
        "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"]
    )
    def test_wrong_content_type_is_415(self, api: Api, content_type: str) -> None:
        response = api.post("/customers", raw="{}", headers={"Content-Type": content_type})
        assert_error(response, 415, "unsupported_media_type")

    def test_missing_content_type_is_415(self, api: Api) -> None:
        assert_error(api.post("/customers", raw="{}", headers={}), 415, "unsupported_media_type")

    def test_json_content_type_with_charset_and_any_case_is_accepted(self, api: Api) -> None:
        response = api.post(
            "/customers",
            raw='{"first_name":"A","last_name":"B","email_address":"ab@example.com"}',
            headers={"Content-Type": "Application/JSON; charset=UTF-8"},
        )
        assert response.status_code == 201

    def test_get_with_unrelated_content_type_still_works(self, api: Api) -> None:
        assert api.get("/customers", headers={"Content-Type": "text/plain"}).status_code == 200

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("POST", "/customers"),
            ("GET", "/customers/{id}"),
            ("PUT", "/customers/{id}"),
            ("DELETE", "/customers/{id}"),
            ("POST", "/seed"),
        ],
    )
    def test_query_parameters_on_routes_without_any_are_400(self, api: Api, method: str, path: str) -> None:
        customer = create(api)
        target = path.replace("{id}", customer["customer_id"]) + "?dry_run=1"
        response = api.request(method, target, {"city": "Oslo"} if method in ("POST", "PUT") else None)
        assert_error(response, 400, "validation_error", "dry_run")
        assert body(api.get(f"/customers/{customer['customer_id']}")) == customer

    @pytest.mark.parametrize("name", ["\u200b", "\u2060 \u200b", "Ann\u202eeN", "\ue000"])
    def test_names_without_visible_characters_or_with_bidi_overrides_are_400(self, api: Api, name: str) -> None:
        assert_error(api.post("/customers", new_customer(first_name=name)), 400, "validation_error", "first_name")

    def test_names_with_joiners_are_accepted(self, api: Api) -> None:
        assert (
            create(api, first_name="\u0645\u06cc\u200c\u0631\u0627")["first_name"] == "\u0645\u06cc\u200c\u0631\u0627"
        )

    def test_method_not_allowed_is_405_envelope_with_allow(self, api: Api) -> None:
        response = api.request("PATCH", "/customers")
        assert_error(response, 405, "method_not_allowed")
        assert "POST" in response.headers["Allow"]

    def test_store_failure_is_500_envelope_with_request_id_and_no_internals(self, api: Api) -> None:
        # Given a store that fails in a way no rule expects (its table is gone)
        wiring.dynamodb_client().delete_table(TableName=get_settings().customers_table)
        # When a customer is read
        with captured_json_logs() as logs:
            response = api.get(f"/customers/{uuid.uuid4()}")
        # Then the client gets the envelope and a request id, and the log has the stack trace under that id
        error = assert_error(response, 500, "internal_error")
        assert response.headers["X-Request-Id"] == error["request_id"]
        traced = [
            line for line in logs.lines() if line.get("request_id") == error["request_id"] and "exception" in line
        ]
        assert traced
        assert "ResourceNotFoundException" in traced[0]["exception"]
        assert b"Traceback" not in response.body
        assert b"ResourceNotFound" not in response.body
        assert b"customers-" not in response.body
