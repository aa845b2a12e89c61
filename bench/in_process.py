"""In-process overhead: the whole app against a raw handler, both over the same in-memory DynamoDB stub.

The stub answers instantly with canned items, so what is left is exactly what the app
adds: routing, validation, serialisation, logging and metrics.
"""

from __future__ import annotations

import contextlib
import copy
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any

from chalicelib.customers.seed_data import SAMPLE_CUSTOMERS
from chalicelib.storage.items import customer_item
from chalicelib.storage.tables import BY_CREATED, CUSTOMERS, SHARDS
from scripts.paths import ROOT

CUSTOMER_ID = str(SAMPLE_CUSTOMERS[0]["customer_id"])
# The first sample customer as the app stores it (index keys included), so the stub answers what DynamoDB would.
ITEM = customer_item(
    {**SAMPLE_CUSTOMERS[0], "created_at": "2024-05-01T12:00:00Z", "updated_at": "2024-05-01T12:00:00Z", "version": 1}  # type: ignore[typeddict-item]
)
CREATE_BODY = {
    "first_name": "John",
    "last_name": "Doe",
    "email_address": "john.doe@example.com",
    "lifetime_value": 1500.0,
}
UPDATE_BODY = {"lifetime_value": 2000.0, "customer_status": "active"}


def _listed(index_name: str, hash_value: str, count: int) -> list[dict[str, Any]]:
    """What a keys-only index holds for one shard: ``count`` customers' keys, newest first."""
    index = next(index for index in CUSTOMERS.indexes if index.name == index_name)
    shard = int(hash_value.rpartition("#")[2])
    items = []
    for number in range(count):
        customer_id = str(uuid.UUID(int=(shard + 1) << 96 | number, version=4))
        item = {"customer_id": {"S": customer_id}, index.hash_key: {"S": hash_value}}
        if index.range_key is not None:
            item[index.range_key] = {"S": f"2024-05-01T12:{59 - number % 60:02d}:00Z|{customer_id}"}
        items.append(item)
    return items


class StubDynamoDB:
    """Answers the calls the app makes, as DynamoDB would, with no I/O (a list's answers built once)."""

    def __init__(self) -> None:
        self._queries: dict[tuple[str, str, int], dict[str, Any]] = {}

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        return {"Item": ITEM}

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        return {"Attributes": ITEM}

    def transact_write_items(self, **kwargs: Any) -> dict[str, Any]:
        return {}

    def query(self, **kwargs: Any) -> dict[str, Any]:
        key = (kwargs["IndexName"], kwargs["ExpressionAttributeValues"][":h"]["S"], kwargs["Limit"])
        if key not in self._queries:
            self._queries[key] = {"Items": _listed(*key), "LastEvaluatedKey": _listed(*key)[-1]}
        return self._queries[key]

    def batch_get_item(self, **kwargs: Any) -> dict[str, Any]:
        ((table, request),) = kwargs["RequestItems"].items()
        return {"Responses": {table: [{**ITEM, "customer_id": key["customer_id"]} for key in request["Keys"]]}}


STUB = StubDynamoDB()


def raw_handler(operation: str, body: str | None) -> str:
    """The floor: parse, the same stubbed call, serialise."""
    payload = json.loads(body) if body else None
    if operation == "get":
        result: Any = STUB.get_item(TableName="customers", Key={"customer_id": {"S": CUSTOMER_ID}})
    elif operation == "create":
        result = STUB.transact_write_items(TransactItems=[{"Put": {"Item": payload}}])
    elif operation == "update":
        result = STUB.update_item(TableName="customers", Key={"customer_id": {"S": CUSTOMER_ID}})
    else:  # a page: each shard of the creation index, then its customers read back
        shards = [
            STUB.query(
                TableName="customers",
                IndexName=BY_CREATED.name,
                Limit=25,
                ExpressionAttributeValues={":h": {"S": f"x#{shard}"}},
            )
            for shard in range(SHARDS)
        ]
        keys = [{"customer_id": item["customer_id"]} for item in shards[0]["Items"]]
        result = STUB.batch_get_item(RequestItems={"customers": {"Keys": keys, "ConsistentRead": True}})
    return json.dumps(result, default=str)


def _event(
    method: str,
    resource: str,
    path: str,
    body: dict[str, Any] | None = None,
    parameters: dict[str, str] | None = None,
    query: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"content-type": "application/json"} if body is not None else {},
        "multiValueHeaders": {},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
        "multiValueQueryStringParameters": query,
        "pathParameters": parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": path,
            "requestId": str(uuid.uuid4()),
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


EVENTS = {
    "get": _event(
        "GET", "/customers/{customer_id}", f"/customers/{CUSTOMER_ID}", parameters={"customer_id": CUSTOMER_ID}
    ),
    "create": _event("POST", "/customers", "/customers", CREATE_BODY),
    "update": _event(
        "PUT",
        "/customers/{customer_id}",
        f"/customers/{CUSTOMER_ID}",
        UPDATE_BODY,
        parameters={"customer_id": CUSTOMER_ID},
    ),
    "list": _event("GET", "/customers", "/customers", query={"limit": ["25"]}),
}


@cache
def app_handler() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    os.environ.update({"STAGE": "bench", "PAGINATION_SECRET": "b" * 32, "AWS_DEFAULT_REGION": "us-east-1"})
    from chalicelib import wiring

    wiring.reset(client=STUB)  # type: ignore[arg-type]  # duck-typed: answers the calls the app makes
    from app import app

    return app


def measure(call: Callable[[], Any], repetitions: int) -> list[float]:
    samples = []
    for _ in range(repetitions):
        started = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - started) / 1000)
    return samples


def run(repetitions: int = 4000, blocks: int = 20) -> list[dict[str, Any]]:
    """App and raw in alternating blocks, so a drift in the machine's speed touches both alike.

    The app's log lines (its metrics inside) are written to /dev/null: a real write per
    line, as Lambda's stdout is a pipe, with nothing kept in memory.
    """
    handler = app_handler()
    rows = []
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        for operation, event in EVENTS.items():
            body = event["body"]

            def via_app(event: dict[str, Any] = event) -> None:
                response = handler(copy.copy(event), None)
                assert response["statusCode"] < 300, response

            def via_raw(operation: str = operation, body: str | None = body) -> None:
                raw_handler(operation, body)

            for _ in range(200):  # warm up
                via_app()
                via_raw()
            app_samples: list[float] = []
            raw_samples: list[float] = []
            overheads: list[float] = []  # per block: both sides ran at the same moment's speed
            for _ in range(blocks):
                app_block = measure(via_app, repetitions // blocks)
                raw_block = measure(via_raw, repetitions // blocks)
                overheads.append(statistics.median(app_block) - statistics.median(raw_block))
                app_samples += app_block
                raw_samples += raw_block
            row = summary(operation, app_samples, raw_samples)
            row["overhead_p50_us"] = statistics.median(overheads)
            rows.append(row)
    return rows


def profile_get(calls: int = 2000) -> str:
    """Where the in-process time of a GET goes: the top functions by cumulative time."""
    handler = app_handler()
    event = EVENTS["get"]
    profiler = cProfile.Profile()
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        profiler.enable()
        for _ in range(calls):
            handler(copy.copy(event), None)
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(
        r"chalicelib|app\.py|powertools|marshmallow", 18
    )
    return out.getvalue()


def run_fresh() -> tuple[list[dict[str, Any]], str]:
    """Both measurements in a process of their own, untouched by what the bench did before."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.in_process", "--json"], cwd=ROOT, check=True, capture_output=True, text=True
    )
    document = json.loads(result.stdout)
    return document["rows"], document["profile"]


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


def summary(operation: str, app_samples: list[float], raw_samples: list[float]) -> dict[str, Any]:
    return {
        "operation": operation,
        "app_p50_us": statistics.median(app_samples),
        "raw_p50_us": statistics.median(raw_samples),
        "overhead_p50_us": statistics.median(app_samples) - statistics.median(raw_samples),
        "app_p99_us": _p99(app_samples),
        "raw_p99_us": _p99(raw_samples),
    }


if __name__ == "__main__":
    rows = run()
    if "--json" in sys.argv:
        print(json.dumps({"rows": rows, "profile": profile_get()}))
    else:
        for row in rows:
            print(row)
