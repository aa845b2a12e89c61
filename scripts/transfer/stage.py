"""Point this process at a stage's tables, as `make run` (local) or the deployed function (dev, prod) sees them.

The settings come from the environment (chalicelib/config.py), so the stage's
environment is set before anything reads them, the way scripts/backfill.py does.
``local`` is the DynamoDB Local of `make run`, with dummy credentials so real keys
never leave the machine; a deployed stage is reached with the caller's own AWS
credentials, and a ``DYNAMODB_ENDPOINT_URL`` left in the shell from local work is
dropped so that ``STAGE=prod`` can only mean AWS. The tool makes bulk calls (a
Scan's 1 MB page, a transaction under load), so it gives each call longer than a
request would, unless the caller chose.
"""

from __future__ import annotations

import os

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from chalicelib.stages import LOCAL_STAGE

DEFAULT_LOCAL_PORT = 8001
# Calls of a bulk tool, not of a request that must answer within API Gateway's 29 s; and more rows
# in flight than a batch request runs (measured: 16 imports 1.4x faster than 8 on DynamoDB Local,
# 32 no faster than 16). Each can be set in the environment.
BULK_CALL_SETTINGS = {"DYNAMODB_READ_TIMEOUT": "30", "DYNAMODB_MAX_ATTEMPTS": "5", "BATCH_WORKERS": "16"}
# Settings the tool never uses but the stage's settings require (it signs no pagination token).
UNUSED_SECRET = "not-used-by-import-or-export-0123456789"  # noqa: S105


class StageUnreachable(Exception):
    """The stage cannot be used from here; the message says what to do, in one line."""


def local_endpoint() -> str:
    """DYNAMODB_ENDPOINT_URL if set, else `make run`'s DynamoDB Local (on DYNAMODB_PORT, as `make run` takes it)."""
    endpoint = os.environ.get("DYNAMODB_ENDPOINT_URL", "").strip()
    if endpoint:
        return endpoint
    return f"http://127.0.0.1:{os.environ.get('DYNAMODB_PORT', '').strip() or DEFAULT_LOCAL_PORT}"


def use_stage(stage: str) -> None:
    """Set this process's environment for ``stage`` and check that its tables answer; :class:`StageUnreachable`."""
    from chalicelib import wiring
    from chalicelib.storage.bulk_scan import missing_tables
    from scripts.chalice_config import stage_environment
    from scripts.local.dynamodb_local import is_dynamodb, local_aws_environment

    environment = {**stage_environment(stage), "PAGINATION_SECRET": UNUSED_SECRET}
    environment.update({name: value for name, value in BULK_CALL_SETTINGS.items() if not os.environ.get(name)})
    if stage == LOCAL_STAGE:
        endpoint = local_endpoint()
        if not is_dynamodb(endpoint):
            raise StageUnreachable(f"DynamoDB Local is not running on {endpoint}: start it with `make run`.")
        environment.update(local_aws_environment(endpoint))
    else:
        os.environ.pop("DYNAMODB_ENDPOINT_URL", None)
    os.environ.update(environment)
    wiring.reset()
    settings = wiring.components().settings
    try:
        missing = missing_tables(wiring.dynamodb_client(), [settings.customers_table, settings.emails_table])
    except NoCredentialsError:
        raise StageUnreachable(
            f"no AWS credentials for stage {stage}: set AWS_PROFILE or run `aws configure` (or `aws sso login`)."
        ) from None
    except (ClientError, BotoCoreError) as error:
        raise StageUnreachable(f"cannot reach stage {stage}'s tables in {settings.aws_region}: {error}") from None
    if missing:
        fix = "`make run` creates them" if stage == LOCAL_STAGE else f"deploy it with `make deploy STAGE={stage}`"
        where = "DynamoDB Local" if stage == LOCAL_STAGE else settings.aws_region
        raise StageUnreachable(f"stage {stage} has no table {', '.join(missing)} in {where}: {fix}.")
