"""`make deploy`, `make delete` and `make logs`: a stage's whole deploy path in one pass, from the current code.

    python -m scripts.deploy deploy STAGE
    python -m scripts.deploy delete STAGE [--confirm STAGE]
    python -m scripts.deploy logs STAGE [--function api|record_changes|api-access]

A deploy, in order: the templates regenerated from the current configuration (a changed
CORS origin is never deployed stale); the data stack (created, or upgraded one index per
table per update); the build project with the data stack's outputs (the user pool's ARN,
the consumer's stream, queue and bus) and policies bound to the account; `chalice deploy`,
its record kept in the account; the functions' log groups and the consumer's stream
settings; the API's gateway responses, throttling, tracing and access log; the alarms
stack; the backfill when indexes were added to tables that already hold customers.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

import boto3

from chalicelib.stages import (
    DEPLOYED_STAGES,
    is_protected,
    log_group_name,
    requires_auth,
)
from scripts.chalice_config import alarm_topic
from scripts.deploy import api_settings, app_deploy, chalice_project, data_stack, deployment_record, generate_infra
from scripts.deploy import policies as policy_files
from scripts.deploy.changes import STREAM_ARN_OUTPUT, consumer_environment
from scripts.deploy.log_groups import ACCESS_LOG, API_FUNCTION

USER_POOL_OUTPUT = "UserPoolArn"


class Account:
    """The AWS account, region and partition the shell's credentials deploy to; clients made once."""

    def __init__(self) -> None:
        session = boto3.session.Session()
        if not session.region_name:
            raise SystemExit("error: no AWS region: set AWS_DEFAULT_REGION (or AWS_REGION, or a profile's region)")
        self.region: str = session.region_name
        identity = session.client("sts").get_caller_identity()
        self.account: str = identity["Account"]
        self.partition: str = identity["Arn"].split(":")[1]
        self._session = session
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service)  # type: ignore[call-overload]
        return self._clients[service]


def deploy(stage: str) -> None:
    generate_infra.refresh(stage)
    account = Account()
    lambda_client = account.client("lambda")
    ssm = account.client("ssm")
    found = deployment_record.read(stage, ssm)
    record = found.record if found else None
    if found and found.legacy:
        print(f"Taking the deployment record from {found.source}; from now on it is kept in the account.")
    app_deploy.refuse_unrecorded(stage, record, lambda_client, "deploy")

    data = data_stack.deploy(stage, account.client("cloudformation"))
    outputs = data.outputs
    app_deploy.required_outputs(stage, outputs)
    app_deploy.check_stream(stage, record, outputs[STREAM_ARN_OUTPUT])
    environment: dict[str, str] = {}
    if requires_auth(stage):
        environment["COGNITO_USER_POOL_ARN"] = outputs[USER_POOL_OUTPUT]
    consumer = consumer_environment(outputs)
    project = chalice_project.build(
        stage,
        environment=environment,
        consumer_environment=consumer,
        bind=lambda policy: policy_files.bound(policy, account.partition, account.region, account.account),
    )
    deployment_record.place(stage, record, project)
    succeeded = app_deploy.chalice("deploy", stage, project, {**environment, **consumer})
    record = deployment_record.save(stage, project, ssm) or record  # what it made, even when it failed part way
    if not succeeded or record is None:
        raise SystemExit("error: chalice deploy failed (above); what it made is recorded: run make deploy again.")
    app_deploy.apply_function_settings(stage, record, outputs, lambda_client)

    merge = generate_infra.templates(stage)[generate_infra.app_template_path(stage)]
    apigateway = account.client("apigateway")
    api_settings.ensure_logging_role(apigateway, account.client("iam"), account.partition)
    api_settings.apply_api_settings(api_settings.rest_api(record)["rest_api_id"], merge, outputs, apigateway, stage)
    topic = api_settings.deploy_alarms(stage, merge, alarm_topic(stage), account.client("cloudformation"))
    print(f"Alarms of {stage} notify {topic}." if topic else f"Alarms of {stage} notify no topic (alarm_topic_arn).")

    if data.index_changes and not data.created:
        print("Indexes were added to tables that may hold customers: running the backfill (scripts/backfill.py).")
        from scripts import backfill

        backfill.run(stage)
    print(f"Deployed {stage}: {api_settings.rest_api(record)['rest_api_url']}")


def delete(stage: str, confirm: str | None) -> None:
    if is_protected(stage) and confirm != stage:
        raise SystemExit(
            f"error: make delete STAGE={stage} takes {stage}'s API and functions down; nothing was deleted. "
            f"Run make delete STAGE={stage} CONFIRM={stage} to go ahead ({stage}'s data is kept either way)."
        )
    account = Account()
    ssm = account.client("ssm")
    found = deployment_record.read(stage, ssm)
    if found is None:
        app_deploy.refuse_unrecorded(stage, None, account.client("lambda"), "delete")
        print(f"No {stage} functions or API are deployed.")
    else:
        record, where = found.record, found.source
        project = chalice_project.build(stage, environment={}, consumer_environment={}, bind=lambda policy: policy)
        deployment_record.place(stage, record, project)
        if not app_deploy.chalice("delete", stage, project, {}):
            deployment_record.save(stage, project, ssm)  # keep what is still there
            raise SystemExit(f"error: chalice delete failed (above); the record of what is left is kept ({where}).")
        deployment_record.forget(stage, ssm)
        print(f"Deleted {stage}'s functions and API.")
    api_settings.delete_alarms(stage, account.client("cloudformation"))
    if is_protected(stage):
        print(
            f"Kept the {stage} data stack {data_stack.stack_name(stage)}: customer data is never deleted by a command."
        )
        return
    data_stack.delete(stage, account.client("cloudformation"))


def logs(stage: str, source: str, poll_seconds: float = 2.0) -> None:
    """Follow one of the stage's log groups (Ctrl-C stops)."""
    client = boto3.client("logs")
    group = log_group_name(stage, source)
    print(f"Following {group} (Ctrl-C stops).", flush=True)
    start = int((time.time() - 300) * 1000)
    seen: set[str] = set()
    try:
        while True:
            pages = client.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=start)
            for page in pages:
                for event in page["events"]:
                    if event["eventId"] not in seen:
                        seen.add(event["eventId"])
                        start = max(start, event["timestamp"])
                        print(event["message"].rstrip("\n"), flush=True)
            time.sleep(poll_seconds)
    except KeyboardInterrupt:
        return


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("deploy", "delete", "logs"))
    parser.add_argument("stage", choices=DEPLOYED_STAGES)
    parser.add_argument("--confirm", help="delete: the stage's name again, needed for a protected stage")
    parser.add_argument(
        "--function", default=API_FUNCTION, choices=(API_FUNCTION, "record_changes", ACCESS_LOG), help="logs: which"
    )
    args = parser.parse_args(argv)
    if args.action == "deploy":
        deploy(args.stage)
    elif args.action == "delete":
        delete(args.stage, args.confirm)
    else:
        logs(args.stage, args.function)
    return 0


if __name__ == "__main__":
    sys.exit(main())
