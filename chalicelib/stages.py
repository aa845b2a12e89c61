"""Facts about the stages, in one place: scripts, settings, templates and tests read them here.

`.chalice/config.json` holds what Chalice itself needs per stage (environment,
memory, policy files); everything else that differs by stage is decided here, so
that a name such as ``customers-dev`` is computed once rather than spelled in
several files. A leaf module: it imports nothing of the project.
"""

from __future__ import annotations

APP_NAME = "customer-api"
LOCAL_STAGE = "local"
DEPLOYED_STAGES = ("dev", "prod")
STAGES = (LOCAL_STAGE, *DEPLOYED_STAGES)
# Stages whose data must survive a stack deletion, a replacing update or a `make delete`.
PROTECTED_STAGES = frozenset({"prod"})
# Stages whose routes require an OAuth access token: their data stack makes a Cognito user pool,
# and the deploy wires its ARN in (COGNITO_USER_POOL_ARN); the others are open.
AUTHENTICATED_STAGES = frozenset({"prod"})
# How long CloudWatch keeps each stage's function and API access logs (then they expire).
LOG_RETENTION_DAYS = {"dev": 14, "prod": 90}
# API Gateway's stage name under which Chalice deploys (the path prefix, e.g. /api/customers).
API_STAGE = "api"
# (rate per second, burst) for a deployed stage's whole API; per-client limits need usage plans.
THROTTLING = {"dev": (50, 100), "prod": (500, 1000)}


# The Chalice name of the change-stream consumer (its Lambda is "<app>-<stage>-record_changes").
CONSUMER_FUNCTION = "record_changes"


def event_bus_name(stage: str) -> str:
    """The EventBridge bus a stage publishes its change events to (defined with its tables)."""
    return resource_name(stage)


def parked_records_queue_name(stage: str) -> str:
    """The SQS queue where the consumer parks a record it could not process (and Lambda its failures)."""
    return resource_name(stage, "parked-records")


def is_protected(stage: str) -> bool:
    return stage in PROTECTED_STAGES


def requires_auth(stage: str) -> bool:
    return stage in AUTHENTICATED_STAGES


def log_group_name(stage: str, source: str) -> str:
    """The log group a stage's function (its Chalice name) or the API's access log (``api-access``) writes to.

    Not ``/aws/lambda/<function>``: Lambda makes that group itself the first time a function
    logs, so a stack that tried to own it would fail on every upgraded account.
    """
    return f"/{APP_NAME}/{stage}/{source}"


def deployment_record_parameter(stage: str) -> str:
    """The SSM parameter holding what `chalice deploy` made for the stage (Chalice's deployed/<stage>.json)."""
    return f"/{APP_NAME}/{stage}/chalice-deployed"


def table_name(base_name: str, stage: str) -> str:
    """Each stage's tables carry its name, so stages never share data."""
    return f"{base_name}-{stage}"


def resource_name(stage: str, *suffix: str) -> str:
    """The name of a stage's function, API, stack or user pool: ``customer-api-<stage>[-suffix]``."""
    return "-".join((APP_NAME, stage, *suffix))
