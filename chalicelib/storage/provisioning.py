"""Creating and upgrading tables: for `make run`, the tests and operators, never on the Lambda's path.

Deployed stages get their tables from CloudFormation (``infra/tables-<stage>.json``);
locally, tables are made from the same specs here, existing ones gain the indexes
added since (one at a time, as DynamoDB builds them), TTL is switched on, and
customers written before an index existed get its keys.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

from botocore.exceptions import ClientError

from chalicelib.config import Settings
from chalicelib.storage.items import from_item, index_keys
from chalicelib.storage.store_errors import error_code
from chalicelib.storage.tables import ALL_TABLES, CUSTOMERS, TableSpec
from chalicelib.storage.updates import Expression

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeDefinitionTypeDef,
        CreateTableInputTypeDef,
        GlobalSecondaryIndexUpdateTypeDef,
    )


def create_missing_tables(client: DynamoDBClient, settings: Settings) -> list[str]:
    """Create every table of the specs that does not exist yet; return the names created."""
    existing: set[str] = set()
    for page in client.get_paginator("list_tables").paginate():
        existing.update(page["TableNames"])
    created = []
    for spec in ALL_TABLES:
        name = settings.table(spec)
        if name not in existing:
            client.create_table(**cast("CreateTableInputTypeDef", spec.create_table_request(name)))
            client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
            created.append(name)
        elif add_missing_indexes(client, spec, name):
            backfill_index_keys(client, name)
        if spec.ttl_attribute is not None:
            ensure_ttl(client, name, spec.ttl_attribute)
    return created


def add_missing_indexes(client: DynamoDBClient, spec: TableSpec, table: str) -> bool:
    """A table made by an earlier version gains the indexes added since (one per UpdateTable call)."""
    description = client.describe_table(TableName=table)["Table"]
    existing = {index["IndexName"] for index in description.get("GlobalSecondaryIndexes", [])}
    missing = [index for index in spec.indexes if index.name not in existing]
    for index in missing:
        update = cast("GlobalSecondaryIndexUpdateTypeDef", {"Create": index.definition()})
        client.update_table(
            TableName=table,
            AttributeDefinitions=cast("list[AttributeDefinitionTypeDef]", spec.attribute_definitions()),
            GlobalSecondaryIndexUpdates=[update],
        )
        wait_for_indexes(client, table)
    return bool(missing)


def backfill_index_keys(client: DynamoDBClient, table: str) -> int:
    """Give customers written before the filter indexes existed their index keys; return how many.

    Each update is conditional on the version read, so a concurrent write is never
    overwritten (it is simply retried on the next run).
    """
    updated = 0
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            customer = from_item(item)
            keys = index_keys(customer["customer_id"], customer)
            if all(name in item for name in keys):
                continue
            expression = Expression().set_all(keys, prefix="k")
            expression.values[":version"] = item["version"]
            try:
                client.update_item(
                    TableName=table,
                    Key={CUSTOMERS.hash_key: item[CUSTOMERS.hash_key]},
                    UpdateExpression=expression.update_expression,
                    ConditionExpression="version = :version",
                    ExpressionAttributeNames=expression.names,
                    ExpressionAttributeValues=expression.values,
                )
                updated += 1
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
    return updated


def wait_for_indexes(client: DynamoDBClient, table: str, timeout_seconds: float = 300) -> None:
    """DynamoDB builds one new index at a time per table; the table stays ACTIVE meanwhile."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        indexes = client.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])
        if all(index.get("IndexStatus") == "ACTIVE" for index in indexes):
            return
        time.sleep(0.5)
    raise TimeoutError(f"indexes of {table} still building after {timeout_seconds:.0f}s")


def ensure_ttl(client: DynamoDBClient, table: str, attribute: str) -> None:
    """Switch TTL on where it is off, also for tables that existed before (or a crash in between)."""
    status = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"].get("TimeToLiveStatus")
    if status in ("ENABLED", "ENABLING"):
        return
    client.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute})
