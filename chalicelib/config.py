"""Settings from the environment, read on first use and then cached.

Chalice's test client sets a stage's environment variables only while a request
runs, and Lambda sets them before the first request: reading them at import time
would freeze the wrong values, so everything goes through :func:`get_settings`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from chalicelib.customers.canonical import PHONE_REGIONS
from chalicelib.stages import LOCAL_STAGE, event_bus_name, table_name
from chalicelib.storage.tables import (
    CUSTOMER_EMAILS,
    CUSTOMER_HISTORY,
    CUSTOMER_SEARCH,
    CUSTOMERS,
    IDEMPOTENCY_RECORDS,
    TableSpec,
)

DEFAULT_LOCAL_ENDPOINT = "http://127.0.0.1:8001"
# Only for the local stage: tokens signed with it are worthless anywhere else.
LOCAL_PAGINATION_SECRET = "local-development-only-pagination-secret"  # noqa: S105


class ConfigurationError(RuntimeError):
    """A setting the running stage needs is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    stage: str
    customers_table: str
    emails_table: str
    idempotency_table: str
    history_table: str
    search_table: str
    dynamodb_endpoint_url: str | None
    aws_region: str
    pagination_secret: bytes
    max_body_bytes: int
    max_batch_body_bytes: int  # a batch of 100 full customers is about 60 KB; API Gateway takes up to 10 MB
    dynamodb_max_attempts: int
    dynamodb_connect_timeout: float
    dynamodb_read_timeout: float
    request_budget_seconds: float
    seed_enabled: bool
    restore_window_days: int
    events_settle_seconds: float
    event_bus_name: str | None  # None: change events are recorded in the feed but not published
    parked_records_queue_url: str | None  # where the stream consumer parks a record it cannot process
    parked_records_dir: str | None  # the same, as files (the local stack)
    stream_max_attempts: int
    default_phone_region: str  # the country of phone numbers typed without a +
    batch_workers: int  # operations of different customers a batch runs at once

    def table(self, spec: TableSpec) -> str:
        """This stage's name of the table ``spec`` describes."""
        return str(getattr(self, spec.name_setting))

    @property
    def call_seconds(self) -> float:
        """The longest one DynamoDB call can take: every attempt timing out, plus botocore's backoff.

        Standard mode sleeps up to 1 s, 2 s, 4 s ... between attempts (throttling's base is
        1 s); one more second covers connection set-up. 13 s with the defaults.
        """
        attempts = self.dynamodb_max_attempts
        backoff: int = 2 ** (attempts - 1) - 1
        return attempts * (self.dynamodb_connect_timeout + self.dynamodb_read_timeout) + backoff + 1.0


def _int(name: str, default: int, *, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigurationError(f"{name} must be positive, got {value}")
    return value


def _fetch_secret(name: str) -> str:
    """A deployed stage keeps its signing key in Secrets Manager, fetched once per process.

    Powertools' parameters utility does the call (with its own client); the import is
    lazy so that local runs and tests never load it.
    """
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(name)
    if not isinstance(value, str):
        raise ConfigurationError(f"secret {name!r} must be a string")
    return value


def _pagination_secret(stage: str) -> bytes:
    secret = os.environ.get("PAGINATION_SECRET", "")
    secret_name = os.environ.get("PAGINATION_SECRET_NAME", "").strip()
    if not secret and secret_name:
        secret = _fetch_secret(secret_name)
    if secret:
        if len(secret) < 32:
            raise ConfigurationError("PAGINATION_SECRET must be at least 32 characters")
        return secret.encode()
    if stage == LOCAL_STAGE:
        return LOCAL_PAGINATION_SECRET.encode()
    # A deployed stage without a secret would sign cursors with a value anyone can
    # read in this repository; refuse to serve instead of serving forgeable tokens.
    raise ConfigurationError(f"PAGINATION_SECRET_NAME (or PAGINATION_SECRET) must be set for stage {stage!r}")


def _endpoint(stage: str) -> str | None:
    endpoint = os.environ.get("DYNAMODB_ENDPOINT_URL", "").strip()
    if endpoint:
        return endpoint
    # `chalice local --stage local` by hand should reach DynamoDB Local, never AWS.
    return DEFAULT_LOCAL_ENDPOINT if stage == LOCAL_STAGE else None


def _table_name(spec: TableSpec, stage: str) -> str:
    return os.environ.get(spec.name_variable, "").strip() or table_name(spec.base_name, stage)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read and validate every setting once per process."""
    stage = os.environ.get("STAGE", LOCAL_STAGE).strip() or LOCAL_STAGE
    return Settings(
        stage=stage,
        customers_table=_table_name(CUSTOMERS, stage),
        emails_table=_table_name(CUSTOMER_EMAILS, stage),
        idempotency_table=_table_name(IDEMPOTENCY_RECORDS, stage),
        history_table=_table_name(CUSTOMER_HISTORY, stage),
        search_table=_table_name(CUSTOMER_SEARCH, stage),
        dynamodb_endpoint_url=_endpoint(stage),
        aws_region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        pagination_secret=_pagination_secret(stage),
        max_body_bytes=_int("MAX_BODY_BYTES", 64 * 1024),
        max_batch_body_bytes=_int("MAX_BATCH_BODY_BYTES", 1024 * 1024),
        dynamodb_max_attempts=_int("DYNAMODB_MAX_ATTEMPTS", 3),
        dynamodb_connect_timeout=_float("DYNAMODB_CONNECT_TIMEOUT", 1.0),
        dynamodb_read_timeout=_float("DYNAMODB_READ_TIMEOUT", 2.0),
        # Where Lambda does not say how long the request has left (see chalicelib/deadline.py):
        # no DynamoDB call starts after this, and one call ends within call_seconds more.
        request_budget_seconds=_float("REQUEST_BUDGET_SECONDS", 12.0),
        # Sample data has no place in production: the prod stage sets ENABLE_SEED=false.
        seed_enabled=os.environ.get("ENABLE_SEED", "true").strip().lower() != "false",
        restore_window_days=_int("RESTORE_WINDOW_DAYS", 30),
        # GET /events holds back changes younger than this, so a reader's cursor never passes
        # one still being written (docs/api.md, "Change events").
        events_settle_seconds=_float("EVENTS_SETTLE_SECONDS", 5.0),
        event_bus_name=_optional("EVENT_BUS_NAME", None if stage == LOCAL_STAGE else event_bus_name(stage)),
        parked_records_queue_url=_optional("PARKED_RECORDS_QUEUE_URL"),
        parked_records_dir=_optional("PARKED_RECORDS_DIR"),
        # How often the consumer tries a record before parking it (Lambda's own retries stop later).
        stream_max_attempts=_int("STREAM_MAX_ATTEMPTS", 3),
        default_phone_region=_phone_region(),
        batch_workers=_int("BATCH_WORKERS", 8),
    )


def _phone_region() -> str:
    """Two letters phonenumbers knows (US, GB, DE ...): the country of numbers typed without a +."""
    raw = os.environ.get("DEFAULT_PHONE_REGION", "").strip()
    if not raw:
        return "US"
    if raw.upper() not in PHONE_REGIONS:
        raise ConfigurationError(f"DEFAULT_PHONE_REGION must be a two-letter region such as US or GB, got {raw!r}")
    return raw.upper()


def _optional(name: str, default: str | None = None) -> str | None:
    """A setting that may be off: unset takes the default, an empty value turns it off."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip() or None


def stream_arn() -> str | None:
    """The customers table's stream, which app.py subscribes the consumer to when it is imported.

    Chalice reads event sources at import, before any request: this one setting is read
    then (the deploy takes it from the data stack's outputs; the local poller sets it).
    """
    return os.environ.get("CUSTOMERS_STREAM_ARN", "").strip() or None
