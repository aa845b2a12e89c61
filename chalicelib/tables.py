"""The table definitions: the one source for local setup, tests and deploy templates.

Customers and their email-uniqueness records live in two tables so that a page of
customers is a page of customers: a Scan of the customers table never has to skip
uniqueness records, and each table's IAM grant can be scoped on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.config import Settings


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    hash_key: str
    name_setting: str  # the Settings attribute that holds this stage's table name
    ttl_attribute: str | None = None  # epoch seconds after which DynamoDB deletes the item

    def name(self, settings: Settings) -> str:
        return str(getattr(settings, self.name_setting))

    def create_table_request(self, table_name: str) -> dict[str, Any]:
        """Keyword arguments for DynamoDB ``CreateTable`` (on-demand billing)."""
        return {
            "TableName": table_name,
            "KeySchema": [{"AttributeName": self.hash_key, "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": self.hash_key, "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        }


# One item per customer, keyed by its UUID.
CUSTOMERS = TableSpec("CustomersTable", hash_key="customer_id", name_setting="customers_table")
# One item per lower-cased email address, naming the customer that owns it.
CUSTOMER_EMAILS = TableSpec("CustomerEmailsTable", hash_key="email_key", name_setting="emails_table")

# One item per Idempotency-Key of a create, holding the customer it created; kept 24 hours.
IDEMPOTENCY_EXPIRY_ATTRIBUTE = "expires_at"
IDEMPOTENCY_RECORDS = TableSpec(
    "IdempotencyTable",
    hash_key="idempotency_key",
    name_setting="idempotency_table",
    ttl_attribute=IDEMPOTENCY_EXPIRY_ATTRIBUTE,
)

ALL_TABLES: tuple[TableSpec, ...] = (CUSTOMERS, CUSTOMER_EMAILS, IDEMPOTENCY_RECORDS)
