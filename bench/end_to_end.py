"""End to end against DynamoDB Local: the app's handler against the raw floor.

The floor is the same DynamoDB operations made directly with a module-level boto3
client in the same run: what a request must cost at least.
"""

from __future__ import annotations

import copy
import io
import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3

from bench.in_process import EVENTS, _event
from bench.local_app import start_app
from chalicelib.storage.tables import BY_CREATED, CREATED_ORDER, SHARDS

REPETITIONS = 300
CUSTOMERS = "bench-customers"
EMAILS = "bench-customer-emails"


def _quantiles(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples), statistics.quantiles(samples, n=100)[98]


def _elapsed_ms(call: Callable[[int], Any], index: int) -> float:
    started = time.perf_counter()
    call(index)
    return (time.perf_counter() - started) * 1000


def _paired(
    app_call: Callable[[int], Any], raw_call: Callable[[int], Any], repetitions: int
) -> tuple[list[float], list[float]]:
    """App and floor call by call, each going first in turn: DynamoDB Local's own drift (its JIT,
    its garbage collector, the machine) then touches both sides alike."""
    app_samples: list[float] = []
    raw_samples: list[float] = []
    for index in range(repetitions):
        if index % 2:
            app_samples.append(_elapsed_ms(app_call, index))
            raw_samples.append(_elapsed_ms(raw_call, index))
        else:
            raw_samples.append(_elapsed_ms(raw_call, index))
            app_samples.append(_elapsed_ms(app_call, index))
    return app_samples, raw_samples


def run(endpoint: str, repetitions: int = REPETITIONS) -> list[dict[str, Any]]:
    """Against the DynamoDB Local at ``endpoint`` (its tables named ``bench-...``)."""
    app = start_app(endpoint, "bench")
    raw = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    return _compare(app, raw, repetitions)


def _compare(app: Any, raw: Any, repetitions: int) -> list[dict[str, Any]]:
    import contextlib

    sink = io.StringIO()

    def call(event: dict[str, Any]) -> dict[str, Any]:
        with contextlib.redirect_stdout(sink):
            response: dict[str, Any] = app(copy.copy(event), None)
        sink.seek(0)
        sink.truncate()
        return response

    created = [json.loads(call(create_event(i))["body"])["customer_id"] for i in range(repetitions)]

    def app_get(i: int) -> None:
        call(
            _event(
                "GET", "/customers/{customer_id}", f"/customers/{created[i]}", parameters={"customer_id": created[i]}
            )
        )

    def raw_get(i: int) -> None:
        raw.get_item(TableName=CUSTOMERS, Key={"customer_id": {"S": created[i]}}, ConsistentRead=True)

    def app_create(i: int) -> None:
        call(create_event(repetitions + i))

    raw_created: list[str] = []

    def raw_create(i: int) -> None:
        customer_id = str(uuid.uuid4())
        raw_created.append(customer_id)
        email = f"raw{i}@example.com"
        raw.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": CUSTOMERS,
                        "Item": {"customer_id": {"S": customer_id}, "email_address": {"S": email}},
                        "ConditionExpression": "attribute_not_exists(customer_id)",
                    }
                },
                {
                    "Put": {
                        "TableName": EMAILS,
                        "Item": {"email_key": {"S": email}, "customer_id": {"S": customer_id}},
                        "ConditionExpression": "attribute_not_exists(email_key)",
                    }
                },
            ]
        )

    def app_update(i: int) -> None:
        call(
            _event(
                "PUT",
                "/customers/{customer_id}",
                f"/customers/{created[i]}",
                {"lifetime_value": i},
                parameters={"customer_id": created[i]},
            )
        )

    def raw_update(i: int) -> None:
        raw.update_item(
            TableName=CUSTOMERS,
            Key={"customer_id": {"S": created[i]}},
            UpdateExpression="SET lifetime_value = :v ADD version :one",
            ConditionExpression="attribute_exists(customer_id)",
            ExpressionAttributeValues={":v": {"N": str(i)}, ":one": {"N": "1"}},
        )

    def app_list(i: int) -> None:
        call(EVENTS["list"])

    def raw_list(i: int) -> None:
        """The page's calls: each shard of the creation index, newest first, merged; the 25 read back."""
        shards = [
            raw.query(
                TableName=CUSTOMERS,
                IndexName=BY_CREATED.name,
                KeyConditionExpression="#h = :h",
                ExpressionAttributeNames={"#h": BY_CREATED.hash_key},
                ExpressionAttributeValues={":h": {"S": str(shard)}},
                ScanIndexForward=False,
                Limit=25,
            )["Items"]
            for shard in range(SHARDS)
        ]
        newest = sorted((item for items in shards for item in items), key=lambda item: item[CREATED_ORDER]["S"])
        keys = [{"customer_id": item["customer_id"]} for item in newest[-25:]]
        raw.batch_get_item(RequestItems={CUSTOMERS: {"Keys": keys, "ConsistentRead": True}})

    def app_delete(i: int) -> None:
        call(
            _event(
                "DELETE", "/customers/{customer_id}", f"/customers/{created[i]}", parameters={"customer_id": created[i]}
            )
        )

    def raw_delete(i: int) -> None:  # the app reads first (for the email to free), so the floor does too
        customer_id = raw_created[i]
        raw.get_item(TableName=CUSTOMERS, Key={"customer_id": {"S": customer_id}}, ConsistentRead=True)
        raw.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": CUSTOMERS, "Key": {"customer_id": {"S": customer_id}}}},
                {"Delete": {"TableName": EMAILS, "Key": {"email_key": {"S": f"raw{i}@example.com"}}}},
            ]
        )

    rows = []
    for name, app_call, raw_call in (
        ("GET by id", app_get, raw_get),
        ("POST create", app_create, raw_create),
        ("PUT", app_update, raw_update),
        ("list page", app_list, raw_list),
        ("DELETE", app_delete, raw_delete),
    ):
        app_samples, raw_samples = _paired(app_call, raw_call, repetitions)
        (app_p50, app_p99), (raw_p50, raw_p99) = _quantiles(app_samples), _quantiles(raw_samples)
        rows.append(
            {
                "operation": name,
                "app_p50_ms": app_p50,
                "app_p99_ms": app_p99,
                "floor_p50_ms": raw_p50,
                "floor_p99_ms": raw_p99,
                "ratio_p50": app_p50 / raw_p50,
            }
        )
    return rows


def create_event(i: int) -> dict[str, Any]:
    return _event(
        "POST",
        "/customers",
        "/customers",
        {"first_name": "Bench", "last_name": "Mark", "email_address": f"bench{i}@example.com"},
    )


if __name__ == "__main__":
    from scripts.local.dynamodb_local import DynamoDBLocal
    from scripts.local.ports import free_port

    with DynamoDBLocal(port=free_port()) as dynamodb:
        for row in run(dynamodb.endpoint):
            print(row)


def existing_customer(endpoint: str) -> str:
    """A customer the cold-start processes can fetch."""
    app = start_app(endpoint, "bench")
    response: dict[str, Any] = app(create_event(10**6), None)
    return str(json.loads(response["body"])["customer_id"])
