"""Settings of deployed stages: the pagination key comes from Secrets Manager."""

from __future__ import annotations

import boto3
import pytest

from tests.support import Api, assert_error, body, create, forget_cached_wiring, new_customer
from tests.support.hostile import tamper

SECRET_NAME = "customer-api/dev/pagination-secret"


def test_deployed_stage_signs_tokens_with_its_secrets_manager_key(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a stage configured like dev: no key in the environment, only the secret's name
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(Name=SECRET_NAME, SecretString="k" * 64)
    monkeypatch.delenv("PAGINATION_SECRET")
    monkeypatch.setenv("STAGE", "dev")
    monkeypatch.setenv("PAGINATION_SECRET_NAME", SECRET_NAME)
    forget_cached_wiring()
    for _ in range(3):
        create(api)
    # When a client walks the pages
    first = body(api.get("/customers?limit=2"))
    second = api.get(f"/customers?limit=2&next_token={first['next_token']}")
    # Then tokens signed with that key verify, and edited ones do not
    assert second.status_code == 200
    assert len(first["customers"]) + len(body(second)["customers"]) == 3
    assert_error(api.get(f"/customers?next_token={tamper(first['next_token'])}"), 400, "validation_error", "next_token")


def test_deployed_stage_without_a_key_refuses_to_serve_lists(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAGINATION_SECRET")
    monkeypatch.setenv("STAGE", "prod")
    forget_cached_wiring()
    response = api.get("/customers")
    error = assert_error(response, 500, "internal_error")
    assert "PAGINATION" not in response.body.decode()
    assert error["request_id"]


def test_seed_is_refused_where_seeding_is_disabled(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENABLE_SEED", "false")
    forget_cached_wiring()
    assert_error(api.post("/seed"), 403, "forbidden")
    assert body(api.get("/customers")) == {"customers": [], "next_token": None}


@pytest.mark.parametrize("region", ["GB", "gb", " GB "])
def test_default_phone_region_reads_national_numbers_in_its_country(
    api: Api, monkeypatch: pytest.MonkeyPatch, region: str
) -> None:
    # Given a London number without its country code, which is no possible US number
    refused = api.post("/customers", new_customer(phone_number="020 7946 0958"))
    assert_error(refused, 400, "validation_error", "phone_number")
    # When the stage's region is Great Britain
    monkeypatch.setenv("DEFAULT_PHONE_REGION", region)
    forget_cached_wiring()
    # Then it is read as a British number
    assert create(api, phone_number="020 7946 0958")["phone_number_e164"] == "+442079460958"


@pytest.mark.parametrize("region", ["XX", "USA", "1", "United Kingdom"])
def test_an_unknown_default_phone_region_refuses_to_serve(
    api: Api, monkeypatch: pytest.MonkeyPatch, region: str
) -> None:
    monkeypatch.setenv("DEFAULT_PHONE_REGION", region)
    forget_cached_wiring()

    response = api.get("/customers")

    assert_error(response, 500, "internal_error")
    assert "DEFAULT_PHONE_REGION" not in response.body.decode()
