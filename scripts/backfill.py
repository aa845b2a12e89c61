"""Bring stored customers up to today's rules: index keys, search items, canonical email claims, timestamps.

`make run` does this by itself when it upgrades a local table; a deployed stage's table gets
its indexes from CloudFormation, and this fills in what customers written before lack:
`python -m scripts.backfill dev` (or `local`, against a running DynamoDB Local). It changes
no customer's fields or version (no history entry) and can be run again at any time. It also
counts the stored customers that today's validation would refuse (they still read, list and
export; a write to them must then satisfy the rules).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from chalicelib.customers.errors import ValidationFailed
from chalicelib.customers.model import WRITABLE_FIELDS, Customer
from chalicelib.stages import STAGES
from chalicelib.storage.provisioning import BackfillReport


def would_refuse(customer: Customer) -> bool:
    """Whether a create with this customer's fields would be refused today."""
    from chalicelib.api.schemas import load_new_customer

    values: dict[str, Any] = dict(customer)
    fields = {name: values[name] for name in WRITABLE_FIELDS if name in values}
    try:
        load_new_customer(fields)
    except ValidationFailed:
        return True
    return False


def describe(report: BackfillReport) -> str:
    lines = [
        f"Backfill: {report.scanned} stored, {report.updated} brought up to date, "
        f"{report.email_claims_moved} email claims moved to the canonical address.",
    ]
    if report.email_collisions:
        lines.append(
            f"{len(report.email_collisions)} customers share a canonical address with another and kept "
            f"their old claim: {', '.join(report.email_collisions)}"
        )
    if report.refused:
        lines.append(
            f"{len(report.refused)} stored customers would be refused by today's rules (they still read, list "
            f"and export; a change to them must meet the rules): {', '.join(report.refused[:20])}"
            + (" ..." if len(report.refused) > 20 else "")
        )
    return "\n".join(lines)


def run(stage: str) -> None:
    """Backfill the stage's customers table with the shell's credentials (DynamoDB Local's for ``local``)."""
    from chalicelib.config import DEFAULT_LOCAL_ENDPOINT, get_settings
    from chalicelib.storage.provisioning import backfill_customers
    from chalicelib.wiring import dynamodb_client
    from scripts.chalice_config import stage_environment
    from scripts.local.dynamodb_local import local_aws_environment

    environment = {**stage_environment(stage), "PAGINATION_SECRET": "not-used-by-the-backfill-0123456789"}
    if stage == "local":
        environment.update(local_aws_environment(os.environ.get("DYNAMODB_ENDPOINT_URL", DEFAULT_LOCAL_ENDPOINT)))
    os.environ.update(environment)
    print(describe(backfill_customers(dynamodb_client(), get_settings(), refused=would_refuse)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stage", choices=STAGES)
    run(parser.parse_args().stage)
    return 0


if __name__ == "__main__":
    sys.exit(main())
