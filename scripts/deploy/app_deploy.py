"""`make deploy`'s middle step: `chalice deploy` with the consumer wired to the data stack, and what Chalice omits.

Chalice subscribes the consumer to the stream whose ARN app.py finds in
``CUSTOMERS_STREAM_ARN`` when Chalice imports it, so the data stack's stream ARN goes
into chalice's environment. What Chalice creates knows only the decorator's batch size
and starting position, and a function environment of config.json's static values; so
afterwards this step gives the stream mapping its failure handling (the settings of
scripts/deploy/changes.py, the same the packaged template has) and adds the data
stack's values (stream ARN, queue URL, bus name) to the consumer's environment.

Every `chalice deploy` rewrites the consumer's environment back to config.json's, and a
consumer started without those values could not even find its handler. So an existing
mapping is paused (disabled) before `chalice deploy` and resumed, with its settings,
once the environment is whole again: meanwhile the stream keeps the records (24 hours).

    python -m scripts.deploy.app_deploy STAGE
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from chalicelib.stages import CONSUMER_FUNCTION, DEPLOYED_STAGES
from scripts.chalice_config import deployed_resources
from scripts.deploy import data_stack
from scripts.deploy.changes import (
    CONSUMER_ENVIRONMENT_OUTPUTS,
    CONSUMER_MAPPING,
    QUEUE_ARN_OUTPUT,
    STREAM_ARN_OUTPUT,
    consumer_environment,
    stream_event_settings,
)
from scripts.paths import ROOT

POLL_SECONDS = 5.0
# Disabling a mapping lets its current batch finish: up to the consumer's 60 s timeout, and then some.
SETTLE_SECONDS = 300.0

Sleep = Callable[[float], None]
Run = Callable[..., subprocess.CompletedProcess[Any]]


def required_outputs(stage: str, outputs: Mapping[str, str]) -> None:
    """Stop before deploying anything when the data stack predates the change stream."""
    needed = {STREAM_ARN_OUTPUT, QUEUE_ARN_OUTPUT, *CONSUMER_ENVIRONMENT_OUTPUTS.values()}
    missing = sorted(needed - set(outputs))
    if missing:
        raise SystemExit(
            f"error: the {stage} data stack has no output {', '.join(missing)}: "
            f"run `python -m scripts.deploy.data_stack deploy {stage}` first"
        )


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


def _wait_for_state(client: Any, uuid: str, state: str, sleep: Sleep) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while (current := client.get_event_source_mapping(UUID=uuid)["State"]) != state:
        if time.monotonic() > deadline:
            raise SystemExit(f"error: the consumer's stream mapping {uuid} is still {current}, not {state}")
        sleep(POLL_SECONDS)


def pause_consumer(stage: str, stream_arn: str, client: Any, root: Path = ROOT, sleep: Sleep = time.sleep) -> bool:
    """Disable the consumer's stream mapping for the deploy; False when there is none yet (first deploy).

    Chalice keeps a mapping as long as it still reads the stream it was created on, so a
    stream the data stack has replaced (turned off and on again) would never be read:
    that stops the deploy here, before anything changes.
    """
    mapping = deployed_resources(stage, root).get(CONSUMER_MAPPING)
    if mapping is None:
        return False
    if mapping["stream_arn"] != stream_arn:
        raise SystemExit(
            f"error: the consumer reads stream {mapping['stream_arn']}, but the data stack's stream is now "
            f"{stream_arn}. Delete the old subscription (aws lambda delete-event-source-mapping --uuid "
            f"{mapping['event_uuid']}) and its {CONSUMER_MAPPING!r} entry in .chalice/deployed/{stage}.json, "
            "then run make deploy again: the consumer starts at the new stream's oldest record."
        )
    _update_mapping(client, sleep, UUID=mapping["event_uuid"], Enabled=False)
    _wait_for_state(client, mapping["event_uuid"], "Disabled", sleep)
    return True


def apply_consumer_settings(
    stage: str, outputs: Mapping[str, str], client: Any, root: Path = ROOT, sleep: Sleep = time.sleep
) -> None:
    """The consumer's environment from the data stack, then its mapping's settings, enabled."""
    resources = deployed_resources(stage, root)
    function, mapping = resources.get(CONSUMER_FUNCTION), resources.get(CONSUMER_MAPPING)
    if function is None or mapping is None:
        raise SystemExit(
            f"error: chalice deploy left no {CONSUMER_FUNCTION} function subscribed to the stream in "
            f".chalice/deployed/{stage}.json: app.py registers it only when CUSTOMERS_STREAM_ARN is set"
        )
    arn = function["lambda_arn"]
    variables = client.get_function_configuration(FunctionName=arn).get("Environment", {}).get("Variables", {})
    client.update_function_configuration(
        FunctionName=arn, Environment={"Variables": {**variables, **consumer_environment(outputs)}}
    )
    client.get_waiter("function_updated_v2").wait(FunctionName=arn)
    _update_mapping(
        client, sleep, UUID=mapping["event_uuid"], Enabled=True, **stream_event_settings(outputs[QUEUE_ARN_OUTPUT])
    )


def deploy(stage: str, root: Path = ROOT, run: Run = subprocess.run, client: Any = None) -> None:
    """Pause, `chalice deploy` with the stream ARN in its environment, then the consumer's settings (and resume)."""
    outputs = data_stack.outputs(stage)
    required_outputs(stage, outputs)
    client = client or boto3.client("lambda")
    paused = pause_consumer(stage, outputs[STREAM_ARN_OUTPUT], client, root)
    # The consumer's variables as Lambda will have them, so Chalice imports app.py as Lambda will.
    environment = {**os.environ, **consumer_environment(outputs)}
    command = [str(Path(sys.executable).parent / "chalice"), "deploy", "--stage", stage]
    if run(command, cwd=root, env=environment, check=False).returncode != 0:
        note = " The consumer's stream mapping stays paused until make deploy succeeds." if paused else ""
        raise SystemExit(f"error: chalice deploy failed.{note} The stream keeps unread records for 24 hours.")
    apply_consumer_settings(stage, outputs, client, root)
    print(f"Consumer {CONSUMER_FUNCTION} of {stage} reads {outputs[STREAM_ARN_OUTPUT]} with its failure settings.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=DEPLOYED_STAGES)
    deploy(parser.parse_args(argv).stage)
    return 0


if __name__ == "__main__":
    sys.exit(main())
