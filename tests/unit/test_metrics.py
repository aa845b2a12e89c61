"""Business metrics in CloudWatch Embedded Metric Format, one line per request."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from chalicelib import wiring
from tests.support import JSON, Api, create, new_customer
from tests.support.faults import FAULTS, FaultInjector


def emitted(output: str) -> Counter[str]:
    """Counts summed over the EMF lines printed; Latency counted as the number of lines carrying it."""
    totals: Counter[str] = Counter()
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        document: dict[str, Any] = json.loads(line)
        assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "CustomerApi"
        for definition in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            name = definition["Name"]
            values = document[name] if isinstance(document[name], list) else [document[name]]
            totals[name] += len(values) if name == "Latency" else int(sum(values))
    return totals


def test_requests_emit_business_metrics(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    customer = create(api)
    keyed = new_customer()
    api.post("/customers", keyed, headers={**JSON, "Idempotency-Key": "m"})
    api.post("/customers", keyed, headers={**JSON, "Idempotency-Key": "m"})  # a replay creates nothing
    api.post("/customers", {"first_name": "x"})  # validation failure
    api.post("/customers", new_customer(email_address=customer["email_address"]))  # conflict
    api.put(f"/customers/{customer['customer_id']}", {"city": "Oslo"})
    api.put(f"/customers/{customer['customer_id']}", {"city": "Rome"}, headers={**JSON, "If-Match": '"1"'})  # 412
    api.delete(f"/customers/{customer['customer_id']}")
    totals = emitted(capsys.readouterr().out)
    assert totals["CustomersCreated"] == 2
    assert totals["ValidationFailures"] == 1
    assert totals["Conflicts"] == 2
    assert totals["CustomersUpdated"] == 1
    assert totals["CustomersDeleted"] == 1
    assert totals["Latency"] == 8  # one latency per request


def test_dynamodb_throttling_that_outlasts_retries_is_counted(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    customer = create(api)
    capsys.readouterr()
    with FaultInjector(wiring.dynamodb_client()) as injector:
        injector.arm(next(f for f in FAULTS if f.name == "throttling"), from_call=1)
        assert api.put(f"/customers/{customer['customer_id']}", {"city": "Oslo"}).status_code == 503
    totals = emitted(capsys.readouterr().out)
    assert totals["DynamoDBThrottles"] == 1
    assert totals["StoreUnavailable"] == 1
