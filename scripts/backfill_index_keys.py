"""Give existing customers their filter-index keys (once, after upgrading a deployed stage).

`make run` does this by itself when it adds the indexes to a local table; a deployed
stage's table gets its indexes from CloudFormation, and this fills in the keys of
customers written before: `python -m scripts.backfill_index_keys dev` (or `local`, against
a running DynamoDB Local, for data written by a version without the indexes).
"""

from __future__ import annotations

import argparse
import os
import sys

from chalicelib.config import DEFAULT_LOCAL_ENDPOINT, get_settings
from chalicelib.stages import STAGES
from chalicelib.storage.provisioning import backfill_index_keys
from chalicelib.wiring import dynamodb_client
from scripts.chalice_config import stage_environment
from scripts.local.dynamodb_local import local_aws_environment


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stage", choices=STAGES)
    stage = parser.parse_args().stage
    environment = {**stage_environment(stage), "PAGINATION_SECRET": "not-used-by-the-backfill-0123456789"}
    if stage == "local":
        environment.update(local_aws_environment(os.environ.get("DYNAMODB_ENDPOINT_URL", DEFAULT_LOCAL_ENDPOINT)))
    os.environ.update(environment)
    settings = get_settings()
    count = backfill_index_keys(dynamodb_client(), settings.customers_table)
    print(f"Gave {count} customers their index keys in {settings.customers_table}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
