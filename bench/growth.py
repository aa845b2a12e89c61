"""Growth: the first list page and a filtered page cost the same at 1k and 100k customers; a Scan does not.

Customers are loaded with fast batch writes (the app's own item format, index keys
included) into DynamoDB Local; each size reports the consumed read capacity and the
time of: the first page through the app, the first filtered page through the app,
and a full-table Scan (what the replaced API did for every list).
"""

from __future__ import annotations

import contextlib
import copy
import io
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import boto3

from bench.in_process import _event
from bench.local_app import start_app
from scripts.local.dynamodb_local import DynamoDBLocal
from scripts.local.ports import free_port

SIZES = (1_000, 10_000, 100_000)
TABLE = "growth-customers"  # what start_app names it
STATUSES = ("active", "inactive", "canceled")


def _customer(number: int) -> dict[str, Any]:
    return {
        "customer_id": str(uuid.UUID(int=number + 1, version=4)),
        "first_name": "Grow",
        "last_name": f"Number {number}",
        "email_address": f"grow{number}@example.com",
        "customer_acquisition_date": "2024-01-01T00:00:00Z",
        "preferred_communication_channels": ["email"],
        "is_loyalty_member": "y" if number % 2 else "n",
        "customer_status": STATUSES[number % 3],
        "state": "OR",
        "lifetime_value": Decimal(number % 1000),
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "version": 1,
    }


def _load(client: Any, start: int, stop: int) -> None:
    from chalicelib.storage.items import customer_item

    def batch(first: int) -> None:
        requests = []
        for number in range(first, min(first + 25, stop)):
            customer = _customer(number)
            item = customer_item(customer)  # type: ignore[arg-type]  # a whole customer, as the app writes it
            requests.append({"PutRequest": {"Item": item}})
        pending: dict[str, Any] = {TABLE: requests}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(batch, range(start, stop, 25)))


def _median_ms(call: Any, repetitions: int = 25) -> float:
    for _ in range(150):  # warm up: imports, connections and DynamoDB Local's JIT
        call()
    samples = []
    for _ in range(repetitions):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def run() -> list[dict[str, Any]]:
    with DynamoDBLocal(port=free_port()) as dynamodb:
        app = start_app(dynamodb.endpoint, "growth")
        client = boto3.client("dynamodb", endpoint_url=dynamodb.endpoint, region_name="us-east-1")
        sink = io.StringIO()

        def through_app(query: dict[str, list[str]]) -> None:
            with contextlib.redirect_stdout(sink):
                response = app(copy.copy(_event("GET", "/customers", "/customers", query=query)), None)
            assert response["statusCode"] == 200, response
            sink.seek(0)
            sink.truncate()

        rows = []
        loaded = 0
        for size in SIZES:
            _load(client, loaded, size)
            loaded = size
            page_rcu = client.scan(TableName=TABLE, Limit=26, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]
            filtered_rcu = client.query(
                TableName=TABLE,
                IndexName="by_status",
                KeyConditionExpression="status_key = :k",
                ExpressionAttributeValues={":k": {"S": "active#0"}},
                Limit=26,
                ReturnConsumedCapacity="TOTAL",
            )["ConsumedCapacity"]
            scan_rcu = 0.0
            started = time.perf_counter()
            for page in client.get_paginator("scan").paginate(TableName=TABLE, ReturnConsumedCapacity="TOTAL"):
                scan_rcu += page["ConsumedCapacity"]["CapacityUnits"]
            scan_ms = (time.perf_counter() - started) * 1000
            rows.append(
                {
                    "customers": size,
                    "page_ms": _median_ms(lambda: through_app({"limit": ["25"]})),
                    "page_rcu": page_rcu["CapacityUnits"],
                    "filtered_ms": _median_ms(lambda: through_app({"limit": ["25"], "customer_status": ["active"]})),
                    "filtered_rcu": filtered_rcu["CapacityUnits"],
                    "scan_ms": scan_ms,
                    "scan_rcu": scan_rcu,
                }
            )
        return rows


if __name__ == "__main__":
    for row in run():
        print(row)
