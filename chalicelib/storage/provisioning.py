"""Creating and upgrading tables: for `make run`, the tests and operators, never on the Lambda's path.

Deployed stages get their tables from CloudFormation (``infra/tables-<stage>.json``);
locally, tables are made from the same specs here, existing ones gain the indexes
added since (one at a time, as DynamoDB builds them), TTL is switched on, and
customers written before an index existed get its keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from chalicelib.config import Settings
from chalicelib.customers.canonical import phone_e164
from chalicelib.customers.model import Customer, format_utc
from chalicelib.storage.items import derived_keys, stored_from_item, to_item
from chalicelib.storage.search_index import DynamoDBSearchIndex
from chalicelib.storage.store_errors import CONDITION_FAILED, cancellation_codes, error_code
from chalicelib.storage.tables import (
    ALL_TABLES,
    BY_EMAIL,
    CUSTOMER_EMAILS,
    CUSTOMER_SEARCH,
    CUSTOMERS,
    STREAM_VIEW_TYPE,
    TableSpec,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeDefinitionTypeDef,
        CreateTableInputTypeDef,
        GlobalSecondaryIndexUpdateTypeDef,
        TransactWriteItemTypeDef,
    )


def create_missing_tables(
    client: DynamoDBClient, settings: Settings, *, refused: Callable[[Customer], bool] | None = None
) -> tuple[list[str], BackfillReport | None]:
    """Create every table of the specs that does not exist yet; the names created, and the backfill's report.

    An existing customers table is brought up to date too: its indexes, and then (when they
    changed, or the search table is new) its customers' keys and search items.
    """
    existing: set[str] = set()
    for page in client.get_paginator("list_tables").paginate():
        existing.update(page["TableNames"])
    created = []
    customers_upgraded = False
    for spec in ALL_TABLES:
        name = settings.table(spec)
        if name not in existing:
            client.create_table(**cast("CreateTableInputTypeDef", spec.create_table_request(name)))
            client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
            created.append(name)
        else:
            ensure_stream(client, spec, name)
            if update_indexes(client, spec, name):
                customers_upgraded |= spec is CUSTOMERS
        if spec.ttl_attribute is not None:
            ensure_ttl(client, name, spec.ttl_attribute)
    had_customers = settings.table(CUSTOMERS) in existing
    if had_customers and (customers_upgraded or settings.table(CUSTOMER_SEARCH) in created):
        return created, backfill_customers(client, settings, refused=refused)
    return created, None


def ensure_stream(client: DynamoDBClient, spec: TableSpec, table: str) -> None:
    """A table made before its stream was specified gets it (the consumer and the local poller read it)."""
    if not spec.stream:
        return
    stream = client.describe_table(TableName=table)["Table"].get("StreamSpecification", {})
    if not stream.get("StreamEnabled"):
        client.update_table(
            TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": STREAM_VIEW_TYPE}
        )
        wait_for_indexes(client, table)


def update_indexes(client: DynamoDBClient, spec: TableSpec, table: str) -> bool:
    """A table made by an earlier version gets the indexes of the spec: missing ones added, others removed.

    DynamoDB (and CloudFormation) take one index creation or deletion per UpdateTable call,
    and each must finish before the next.
    """
    description = client.describe_table(TableName=table)["Table"]
    existing = {index["IndexName"] for index in description.get("GlobalSecondaryIndexes", [])}
    wanted = {index.name for index in spec.indexes}
    updates: list[dict[str, Any]] = [{"Delete": {"IndexName": name}} for name in sorted(existing - wanted)]
    updates += [{"Create": index.definition()} for index in spec.indexes if index.name not in existing]
    for update in updates:
        client.update_table(
            TableName=table,
            AttributeDefinitions=cast("list[AttributeDefinitionTypeDef]", spec.attribute_definitions()),
            GlobalSecondaryIndexUpdates=[cast("GlobalSecondaryIndexUpdateTypeDef", update)],
        )
        wait_for_indexes(client, table)
    return bool(updates)


@dataclass
class BackfillReport:
    scanned: int = 0
    updated: int = 0  # customers whose index keys, search terms or timestamps were brought up to date
    email_claims_moved: int = 0  # claims re-keyed to the canonical address
    email_collisions: list[str] = field(default_factory=list)  # ids whose canonical address another holds
    refused: list[str] = field(default_factory=list)  # ids of stored customers today's rules would refuse


def backfill_customers(
    client: DynamoDBClient, settings: Settings, *, refused: Callable[[Customer], bool] | None = None
) -> BackfillReport:
    """Bring every stored customer's derived keys, search items and email claim up to today's rules.

    Each update is conditional on the version read, so a concurrent write is never
    overwritten (it is simply retried on the next run); no version is taken, so it
    makes no history entry. Running it again changes nothing.
    """
    report = BackfillReport()
    search = DynamoDBSearchIndex(client, settings.search_table)
    table = settings.table(CUSTOMERS)
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            report.scanned += 1
            stored = stored_from_item(item)
            if not stored.is_live or stored.customer is None:
                continue
            refreshed = _refreshed_fields(stored.customer, settings.default_phone_region)
            customer = cast(Customer, {**stored.customer, **refreshed})
            if refused is not None and refused(customer):
                report.refused.append(stored.customer_id)
            keys = {**refreshed, **derived_keys(customer)}
            # The claim this item holds: its index key says, else (never backfilled) the older rules' form.
            old_claim = item.get(BY_EMAIL.hash_key, {}).get("S") or stored.customer["email_address"].lower()
            new_claim = str(keys[BY_EMAIL.hash_key])
            stale = {name: value for name, value in to_item(keys).items() if item.get(name) != value}
            if stale:
                if not _update_customer(client, settings, item, stale, old_claim, new_claim, report):
                    continue  # it changed meanwhile: its own write derived its keys, and the consumer follows it
                report.updated += 1
            # The item as this backfill left it (its write was conditional on the version scanned): no second read.
            search.rebuild(stored, stored_from_item({**item, **to_item(keys)}))
    return report


def _refreshed_fields(customer: Mapping[str, Any], region: str) -> dict[str, Any]:
    """Fields stored before today's rules made them: fixed-width timestamps, and ``phone_number_e164``
    (so that a search finds the customer by its E.164 form and national digits)."""
    refreshed: dict[str, Any] = _fixed_width(customer)
    phone = customer.get("phone_number")
    if phone is not None and "phone_number_e164" not in customer:
        refreshed["phone_number_e164"] = phone_e164(str(phone), region)
    return refreshed


def _fixed_width(customer: Mapping[str, Any]) -> dict[str, str]:
    """Timestamps stored before they all had six fractional digits, rewritten so that string order is time order."""
    fixed = {}
    for name in ("created_at", "updated_at", "customer_acquisition_date"):
        value = customer.get(name)
        if isinstance(value, str) and value.endswith("Z"):
            try:
                moment = datetime.fromisoformat(value.removesuffix("Z")).replace(tzinfo=UTC)
            except ValueError:
                continue
            if format_utc(moment) != value:
                fixed[name] = format_utc(moment)
    return fixed


def _update_customer(
    client: DynamoDBClient,
    settings: Settings,
    item: dict[str, Any],
    stale: dict[str, Any],
    old_claim: str,
    new_claim: str,
    report: BackfillReport,
) -> bool:
    """Write the stale keys (moving the email claim with them); False if the customer changed since read.

    Where another customer holds the canonical address, the keys are written all the same, the
    email's index key and claim staying as they were (reported as a collision).
    """
    customer_id = item[CUSTOMERS.hash_key]
    items: list[dict[str, Any]] = [{"Update": _keys_update(settings, item, stale)}]
    if old_claim != new_claim:
        claims = settings.table(CUSTOMER_EMAILS)
        mine = {"ConditionExpression": f"attribute_not_exists({CUSTOMER_EMAILS.hash_key}) OR customer_id = :id"}
        values = {"ExpressionAttributeValues": {":id": customer_id}}
        claim = {CUSTOMER_EMAILS.hash_key: {"S": new_claim}, "customer_id": customer_id}
        items.append({"Put": {"TableName": claims, "Item": claim, **mine, **values}})
        items.append(
            {"Delete": {"TableName": claims, "Key": {CUSTOMER_EMAILS.hash_key: {"S": old_claim}}, **mine, **values}}
        )
    try:
        client.transact_write_items(TransactItems=cast("list[TransactWriteItemTypeDef]", items))
    except ClientError as error:
        codes = cancellation_codes(error, len(items)) if error_code(error) == "TransactionCanceledException" else []
        if codes and codes[0] == CONDITION_FAILED:
            return False
        if len(codes) > 1 and codes[1] == CONDITION_FAILED:
            report.email_collisions.append(str(customer_id["S"]))
            kept = {name: value for name, value in stale.items() if name != BY_EMAIL.hash_key}
            return _update_customer(client, settings, item, kept, old_claim, old_claim, report)
        raise
    report.email_claims_moved += old_claim != new_claim
    return True


def _keys_update(settings: Settings, item: dict[str, Any], stale: dict[str, Any]) -> dict[str, Any]:
    """An UpdateItem of derived attributes only, on the version read (no version taken: no history entry)."""
    names = {f"#b{position}": name for position, name in enumerate(stale)}
    values = {f":b{position}": value for position, value in enumerate(stale.values())}
    return {
        "TableName": settings.table(CUSTOMERS),
        "Key": {CUSTOMERS.hash_key: item[CUSTOMERS.hash_key]},
        "UpdateExpression": "SET " + ", ".join(f"#b{position} = :b{position}" for position in range(len(stale))),
        "ConditionExpression": "version = :version",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {**values, ":version": item["version"]},
    }


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
