"""Every request in tests/hostile.py: a 4xx in the envelope, and the tables unchanged."""

from __future__ import annotations

import json
from typing import Any

from tests.support import Api, body, create
from tests.support.hostile import CORPUS, Hostile, tamper
from tests.support.store import snapshot

MINIMUM_KINDS = 40


def prepare(api: Api) -> dict[str, str]:
    customer = create(api)
    create(api)
    token = body(api.get("/customers?limit=1"))["next_token"]
    return {"{id}": customer["customer_id"], "{token}": token, "{tampered}": tamper(token)}


def fill(text: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def send(api: Api, case: Hostile, values: dict[str, str]) -> Any:
    payload = fill(case.body.decode("utf-8", "surrogateescape"), values).encode("utf-8", "surrogateescape")
    return api.client.http.request(case.method, fill(case.path, values), headers=case.headers, body=payload)


def test_corpus_has_enough_distinct_kinds() -> None:
    names = [case.name for case in CORPUS]
    assert len(set(names)) == len(names) >= MINIMUM_KINDS


class TestHostileCorpus:
    def test_every_hostile_request_gets_a_4xx_envelope_and_changes_nothing(self, api: Api) -> None:
        values = prepare(api)
        before = snapshot()
        failures = []
        for case in CORPUS:
            response = send(api, case, values)
            problem = check(response.status_code, response.body, case)
            if problem:
                failures.append(f"{case.name}: {problem}")
        assert failures == []
        assert snapshot() == before


def check(status: int, raw_body: bytes, case: Hostile) -> str | None:
    """What is wrong with the answer to a hostile request, if anything."""
    if status != case.status:
        return f"status {status}, expected {case.status}: {raw_body[:200]!r}"
    try:
        error = body_of(raw_body)["error"]
    except (ValueError, KeyError, TypeError):
        return f"no error envelope: {raw_body[:200]!r}"
    if not (isinstance(error.get("code"), str) and isinstance(error.get("message"), str) and "details" in error):
        return f"incomplete envelope: {error}"
    if error["code"] != case.expected_code:
        return f"code {error['code']!r}, expected {case.expected_code!r}"
    if b"Traceback" in raw_body:
        return "stack trace in the body"
    return None


def body_of(raw: bytes) -> Any:
    return json.loads(raw)
