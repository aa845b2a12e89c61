"""`chalice deploy` in the stage's build project, and what Chalice cannot set on the functions it made.

Chalice subscribes the consumer to the stream whose ARN app.py finds in
``CUSTOMERS_STREAM_ARN`` as Chalice imports it, so the data stack's stream ARN goes into
chalice's environment (and, through the build project's config, into the consumer's own,
with the queue and bus: no deploy can leave it without them). What Chalice creates knows
only the decorator's batch size and starting position, so afterwards the stream mapping
gets its failure handling (the settings of scripts/deploy/changes.py, the same the
packaged template has), and each function its log group (scripts/deploy/log_groups.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.stages import CONSUMER_FUNCTION, deployment_record_parameter, resource_name
from scripts.deploy import deployment_record
from scripts.deploy.changes import (
    CONSUMER_ENVIRONMENT_OUTPUTS,
    CONSUMER_MAPPING,
    QUEUE_ARN_OUTPUT,
    STREAM_ARN_OUTPUT,
    stream_event_settings,
)
from scripts.deploy.log_groups import API_FUNCTION, logging_config
from scripts.paths import ROOT

Run = Callable[..., subprocess.CompletedProcess[Any]]
Sleep = Callable[[float], None]
POLL_SECONDS = 5.0
# A mapping still being created or changed refuses updates for a while (a batch in flight can take
# the consumer's 60 s timeout, and then some).
SETTLE_SECONDS = 300.0
# Chalice's name of each function (its deployed record's) -> the log source its group is named after.
FUNCTION_LOGS = {"api_handler": API_FUNCTION, CONSUMER_FUNCTION: CONSUMER_FUNCTION}


def required_outputs(stage: str, outputs: Mapping[str, str]) -> None:
    """Stop before deploying anything when the data stack lacks what the functions are wired from."""
    needed = {STREAM_ARN_OUTPUT, QUEUE_ARN_OUTPUT, *CONSUMER_ENVIRONMENT_OUTPUTS.values()}
    missing = sorted(needed - set(outputs))
    if missing:
        raise SystemExit(f"error: the {stage} data stack has no output {', '.join(missing)}: its update did not apply")


def function_exists(client: Any, name: str) -> bool:
    try:
        client.get_function(FunctionName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise
    return True


def refuse_unrecorded(stage: str, record: dict[str, Any] | None, client: Any, action: str) -> None:
    """Refuse to deploy or delete when the functions exist with no record of them.

    A deploy would have Chalice make them again (and fail on their names); a delete could find
    neither them nor the API, and deleting the data without them would orphan them.
    """
    if record is None and function_exists(client, resource_name(stage)):
        raise SystemExit(
            f"error: {resource_name(stage)} exists in this account, but there is no record of its deployment "
            f"({deployment_record.where(stage)}). Nothing was changed. Copy that checkout's "
            f".chalice/deployed/{stage}.json into this one's .chalice/deployed/ and run make {action} again: "
            "the record is then kept in the account."
        )


def check_stream(stage: str, record: dict[str, Any] | None, stream_arn: str) -> None:
    """Chalice keeps a mapping as long as it reads the stream it was made on: a replaced stream is never read."""
    mapping = deployment_record.resources(record).get(CONSUMER_MAPPING)
    if mapping is not None and mapping["stream_arn"] != stream_arn:
        raise SystemExit(
            f"error: the consumer reads stream {mapping['stream_arn']}, but the data stack's stream is now "
            f"{stream_arn}. Delete the old subscription (aws lambda delete-event-source-mapping --uuid "
            f"{mapping['event_uuid']}) and remove its {CONSUMER_MAPPING!r} entry from the deployment record "
            f"(SSM parameter {deployment_record_parameter(stage)}), then run make deploy again: the consumer "
            "starts at the new stream's oldest record."
        )


def chalice(action: str, stage: str, project: Path, environment: Mapping[str, str], run: Run = subprocess.run) -> bool:
    """`chalice deploy` or `delete` in the project, ``environment`` as app.py sees it on import; False if it failed."""
    command = [
        sys.executable,
        "-m",
        "scripts.deploy.chalice_cli",
        "--project-dir",
        str(project),
        action,
        "--stage",
        stage,
    ]
    # From the checkout (where scripts/ is), with the project named: Chalice reads only the project.
    return run([*command, "--stage", stage], cwd=ROOT, env={**os.environ, **environment}, check=False).returncode == 0


def apply_function_settings(
    stage: str, record: dict[str, Any], outputs: Mapping[str, str], client: Any, sleep: Sleep = time.sleep
) -> None:
    """Each function's log group; the consumer's stream mapping with its failure settings, enabled."""
    found = deployment_record.resources(record)
    mapping = found.get(CONSUMER_MAPPING)
    if CONSUMER_FUNCTION not in found or mapping is None:
        raise SystemExit(
            f"error: chalice deploy left no {CONSUMER_FUNCTION} function subscribed to the stream: "
            "app.py registers it only when CUSTOMERS_STREAM_ARN is set"
        )
    for function, source in FUNCTION_LOGS.items():
        arn = found[function]["lambda_arn"]
        client.update_function_configuration(FunctionName=arn, LoggingConfig=logging_config(stage, source))
        client.get_waiter("function_updated_v2").wait(FunctionName=arn)
    settings = stream_event_settings(outputs[QUEUE_ARN_OUTPUT])
    _update_mapping(client, sleep, UUID=mapping["event_uuid"], Enabled=True, **settings)


def _update_mapping(client: Any, sleep: Sleep, **arguments: Any) -> None:
    """UpdateEventSourceMapping, waiting out the seconds a mapping that is still changing refuses updates."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        try:
            client.update_event_source_mapping(**arguments)
            return
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceInUseException" or time.monotonic() > deadline:
                raise
        sleep(POLL_SECONDS)
