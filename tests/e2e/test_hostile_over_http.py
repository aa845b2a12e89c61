"""The hostile corpus over real HTTP against a live stack: 4xx envelopes, nothing stored."""

from __future__ import annotations

import requests

from tests.e2e.stack import LiveStack
from tests.support.hostile import CORPUS, tamper
from tests.unit.test_hostile_corpus import check, fill


def test_hostile_corpus_over_http(live_stack: LiveStack) -> None:
    base = live_stack.base_url
    customers = [
        requests.post(
            f"{base}/customers",
            json={"first_name": "H", "last_name": "T", "email_address": f"h{i}@example.com"},
            timeout=10,
        ).json()
        for i in range(2)
    ]
    token = requests.get(f"{base}/customers?limit=1", timeout=10).json()["next_token"]
    values = {"{id}": customers[0]["customer_id"], "{token}": token, "{tampered}": tamper(token)}
    before = requests.get(f"{base}/customers?limit=100", timeout=10).json()
    failures = []
    for case in CORPUS:
        body = fill(case.body.decode("utf-8", "surrogateescape"), values).encode("utf-8", "surrogateescape")
        response = requests.request(
            case.method, base + fill(case.path, values), data=body, headers=case.headers, timeout=30
        )
        problem = check(response.status_code, response.content, case)
        if problem:
            failures.append(f"{case.name}: {problem}")
    assert failures == []
    assert requests.get(f"{base}/customers?limit=100", timeout=10).json() == before
