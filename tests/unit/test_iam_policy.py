"""Each deployed function's IAM policy grants exactly the DynamoDB actions it really makes, and nothing wide.

Two functions, two policy files per stage (named by `.chalice/config.json`): the API
(``policy-<stage>.json``) and the change-stream consumer (``policy-<stage>-consumer.json``).
Their table grants are compared with the calls each function is recorded making; the
rest (stream, bus, queue, logs, tracing) is checked against the names the templates use.
"""

from __future__ import annotations

import importlib.util
import json
import os
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.config import get_settings
from chalicelib.stages import CONSUMER_FUNCTION, table_name
from chalicelib.storage.tables import ALL_TABLES
from scripts.deploy import generate_infra, policies
from scripts.deploy.dynamodb_calls import DYNAMODB_CALLS
from tests.support import JSON, Api, body, create, forget_cached_wiring, new_customer
from tests.support.stream import deliver_changes, poller

ROOT = Path(__file__).resolve().parents[2]
DEPLOYED_STAGES = ("dev", "prod")
FUNCTIONS = ("api", "consumer")
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def chalice_config() -> dict[str, Any]:
    config: dict[str, Any] = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return config


def policy_file(function: str, stage: str) -> str:
    """The file config.json gives the function: the stage's, or the consumer's own under ``lambda_functions``."""
    stage_config = chalice_config()["stages"][stage]
    if function == "api":
        return str(stage_config["iam_policy_file"])
    return str(stage_config["lambda_functions"][CONSUMER_FUNCTION]["iam_policy_file"])


def load_policy(function: str, stage: str) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads((ROOT / ".chalice" / policy_file(function, stage)).read_text())
    return policy


def function_name(function: str, stage: str) -> str:
    """The Lambda name `chalice deploy` gives each function (written out: the merge template must agree)."""
    return f"customer-api-{stage}" if function == "api" else f"customer-api-{stage}-record_changes"


def exercise_every_data_path(api: Api, deliver: Callable[[], object] = deliver_changes) -> None:
    """Every route and every branch that reaches DynamoDB differently (``deliver`` runs the consumer)."""
    api.post("/seed")
    customer = create(api)
    cid = customer["customer_id"]
    keyed = new_customer()
    api.post("/customers", keyed, headers={**JSON, "Idempotency-Key": "policy"})
    api.post("/customers", keyed, headers={**JSON, "Idempotency-Key": "policy"})  # replay reads the record
    api.get(f"/customers/{cid}")
    api.get("/customers?limit=2")
    api.get("/customers?customer_status=active&limit=2")  # an index Query
    api.get("/customers?q=ad&limit=2")  # the search table
    api.put(f"/customers/{cid}", {"city": "Oslo"})
    api.put(f"/customers/{cid}", {"city": "Rome"}, headers={**JSON, "If-Match": '"1"'})  # stale: re-read
    api.put(f"/customers/{cid}", {"email_address": "moved.policy@example.com"})
    api.request("PATCH", f"/customers/{cid}", {"state": None}, headers={"Content-Type": "application/merge-patch+json"})
    upsert = {"op": "upsert", "body": {**new_customer(), "email_address": "moved.policy@example.com"}}
    atomic = {"operations": [upsert, {"op": "create", "body": new_customer()}], "atomic": True}
    api.post("/customers/batch", {"operations": [upsert]}, headers={**JSON, "Idempotency-Key": "policy-batch"})
    api.post("/customers/batch", atomic, headers={**JSON, "Idempotency-Key": "policy-atomic"})
    unchanged = {"op": "update", "customer_id": cid, "body": {"customer_status": "active"}}
    api.post("/customers/batch", {"operations": [unchanged], "atomic": True})  # a no-op is a ConditionCheck
    rejected = {"operations": [{"op": "delete", "customer_id": str(uuid.uuid4())}], "atomic": True}
    api.post("/customers/batch", rejected, headers={**JSON, "Idempotency-Key": "policy-rejected"})  # released
    api.delete(f"/customers/{cid}")
    api.post(f"/customers/{cid}/restore")
    api.get(f"/customers/{cid}/history")
    api.get(f"/customers/{uuid.uuid4()}/history")  # never existed: the customer is read too
    api.get("/events")
    api.get(f"/events?customer_id={cid}")
    api.get(f"/customers/{cid}/export")
    api.post(f"/customers/{cid}/erasure")  # before the consumer ran: entries are reserved redacted
    keyed_id = body(api.post("/customers", keyed, headers={**JSON, "Idempotency-Key": "policy"}))["customer_id"]
    deliver()
    api.post(f"/customers/{keyed_id}/erasure")  # redacts written entries, empties the key's record


_paused = [False]


@contextmanager
def paused() -> Iterator[None]:
    """Calls made in this block are another function's (the consumer's, while the API's are recorded)."""
    _paused[0] = True
    try:
        yield
    finally:
        _paused[0] = False


class Recording:
    """Per table (logical id): the IAM actions and the DynamoDB operations (as CloudWatch names them) seen."""

    def __init__(self) -> None:
        self.actions: dict[str, set[str]] = defaultdict(set)
        self.operations: dict[str, set[str]] = defaultdict(set)

    def add(self, other: Recording) -> None:
        for table, actions in other.actions.items():
            self.actions[table] |= actions
        for table, operations in other.operations.items():
            self.operations[table] |= operations


@contextmanager
def recording_dynamodb_calls(client: Any) -> Iterator[Recording]:
    """Every call ``client`` sends while the block runs, by table.

    Tables are told apart by the current settings' names, so the caller's stage
    environment must be in place (the ``api`` fixture's is).
    """
    settings = get_settings()
    logical = {settings.table(spec): spec.logical_id for spec in ALL_TABLES}
    recording = Recording()

    def record(model: Any, params: dict[str, Any], **kwargs: Any) -> None:
        if _paused[0]:
            return
        if model.name == "TransactWriteItems":
            for item in params["TransactItems"]:
                ((kind, request),) = item.items()
                recording.actions[logical[request["TableName"]]].add(f"dynamodb:{_TRANSACT_ACTIONS[kind]}")
                recording.operations[logical[request["TableName"]]].add(model.name)
        elif model.name in ("BatchGetItem", "BatchWriteItem"):
            for table in params["RequestItems"]:
                recording.actions[logical[table]].add(f"dynamodb:{model.name}")
                recording.operations[logical[table]].add(model.name)
        else:
            recording.actions[logical[params["TableName"]]].add(f"dynamodb:{model.name}")
            recording.operations[logical[params["TableName"]]].add(model.name)

    events = client.meta.events
    events.register("provide-client-params.dynamodb", record)
    try:
        yield recording
    finally:
        events.unregister("provide-client-params.dynamodb", record)


def api_calls(api: Api) -> Recording:
    """What the API function calls while serving every route."""

    def consumer_unrecorded() -> None:
        with paused():
            deliver_changes()

    with recording_dynamodb_calls(wiring.dynamodb_client()) as recording:
        exercise_every_data_path(api, consumer_unrecorded)
    return recording


def consumer_calls(api: Api) -> Recording:
    """What the stream consumer calls while it records every kind of change, a redelivery and a failing record.

    The changes are made first (their calls are the API's); only the deliveries are recorded.
    """
    exercise_every_data_path(api)
    with recording_dynamodb_calls(wiring.dynamodb_client()) as recording:
        deliver_changes()
        poller(fresh=True).poll_once()  # a redelivery of everything: written once, read back
    # A record that keeps failing is counted, then parked (EventBridge refuses a bus that does not exist).
    api.post("/customers", new_customer())
    os.environ["EVENT_BUS_NAME"] = "customer-api-missing-bus"
    forget_cached_wiring()
    try:
        with recording_dynamodb_calls(wiring.dynamodb_client()) as failing:
            for _ in range(int(get_settings().stream_max_attempts)):
                poller().poll_once()
    finally:
        os.environ["EVENT_BUS_NAME"] = ""
        forget_cached_wiring()
    recording.add(failing)
    return recording


RECORDERS: dict[str, Callable[[Api], Recording]] = {"api": api_calls, "consumer": consumer_calls}


def statements(policy: dict[str, Any]) -> Iterator[tuple[list[str], list[str]]]:
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow", statement
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        yield actions, resources


def granted_table_actions(policy: dict[str, Any], stage: str) -> dict[str, set[str]]:
    """(table logical id) -> actions granted on the table or its indexes; stream grants are Lambda's, not the app's."""
    logical_id_of = {table_name(spec.base_name, stage): spec.logical_id for spec in ALL_TABLES}
    granted: dict[str, set[str]] = defaultdict(set)
    for actions, resources in statements(policy):
        for resource in resources:
            if ":table/" not in resource or "/stream/" in resource:
                continue
            assert all(action.startswith("dynamodb:") for action in actions), actions
            table = resource.split(":table/")[1].split("/index/")[0]
            granted[logical_id_of[table]].update(actions)
    return dict(granted)


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_policy_and_alarms_cover_exactly_the_dynamodb_calls_the_function_makes(
    api: Api, function: str, stage: str
) -> None:
    recording = RECORDERS[function](api)
    assert granted_table_actions(load_policy(function, stage), stage) == recording.actions
    # The alarms sum DynamoDB's SystemErrors over the operations declared here (CloudWatch publishes
    # them per table and operation): a call the code starts making must be declared, or it goes unwatched.
    assert {table: set(operations) for table, operations in DYNAMODB_CALLS[function].items()} == recording.operations


@cache
def resource_types() -> dict[str, dict[str, Any]]:
    """IAM's resource types per action (cfn-lint ships AWS's Service Authorization Reference as data)."""
    spec = importlib.util.find_spec("cfnlint")
    assert spec is not None, "cfn-lint is missing: install requirements-dev.txt"
    assert spec.origin is not None
    data = Path(spec.origin).parent / "data" / "AdditionalSpecs" / "Policies.json"
    result: dict[str, dict[str, Any]] = json.loads(data.read_text())
    return result


def scopable(action: str) -> bool:
    """Whether IAM can scope the action to a resource (else a grant must say "*" or it never matches)."""
    service, name = action.lower().split(":")
    return bool(resource_types()[service]["Actions"][name].get("Resources"))


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_policy_is_scoped_to_the_stage_and_says_star_only_where_iam_allows_nothing_else(
    function: str, stage: str
) -> None:
    for actions, resources in statements(load_policy(function, stage)):
        assert all("*" not in action for action in actions), actions
        if resources == ["*"]:
            assert not any(scopable(action) for action in actions), actions  # e.g. X-Ray, dynamodb:ListStreams
        else:
            assert all(scopable(action) for action in actions), actions
            assert "*" not in resources, resources
            assert all(f"-{stage}" in resource or f"/{stage}/" in resource for resource in resources), resources


def test_the_scope_check_knows_which_actions_iam_can_scope() -> None:
    assert scopable("dynamodb:GetRecords")
    assert scopable("events:PutEvents")
    assert not scopable("dynamodb:ListStreams")
    assert not scopable("xray:PutTraceSegments")


@pytest.mark.parametrize(
    ("function", "services"),
    [
        ("api", {"dynamodb", "logs", "xray", "secretsmanager"}),
        # secretsmanager: get_settings() reads the pagination key on every deployed stage, the consumer's too.
        ("consumer", {"dynamodb", "events", "sqs", "logs", "xray", "secretsmanager"}),
    ],
)
@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_policy_covers_exactly_the_services_the_function_reaches(function: str, stage: str, services: set[str]) -> None:
    covered = {action.split(":")[0] for actions, _ in statements(load_policy(function, stage)) for action in actions}
    assert covered == services


@pytest.mark.parametrize("function", FUNCTIONS)
def test_prod_policy_is_dev_policy_with_the_stage_renamed(function: str) -> None:
    dev = (ROOT / ".chalice" / policy_file(function, "dev")).read_text()
    prod = (ROOT / ".chalice" / policy_file(function, "prod")).read_text()
    assert prod == dev.replace("-dev", "-prod").replace("/dev/", "/prod/")


def test_stages_use_their_policy_files_and_tracing() -> None:
    config = chalice_config()
    assert config["autogen_policy"] is False
    for stage in DEPLOYED_STAGES:
        assert config["stages"][stage]["xray"] is True  # every function of the stage, the consumer too
        assert policy_file("api", stage) == f"policy-{stage}.json"
        assert policy_file("consumer", stage) == f"policy-{stage}-consumer.json"
        consumer = config["stages"][stage]["lambda_functions"][CONSUMER_FUNCTION]
        # A batch of 100 records is up to 100 changes to record and publish: far more than a request's 25 s
        # would be tight, and far less memory than the API's suffices.
        assert consumer["lambda_timeout"] == 60
        assert consumer["lambda_memory_size"] == 256


@pytest.mark.parametrize(("function", "source"), [("api", "api"), ("consumer", "record_changes")])
@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_policy_lets_the_function_write_only_to_the_log_group_its_stack_owns(
    function: str, source: str, stage: str
) -> None:
    (logs,) = [statement for statement in load_policy(function, stage)["Statement"] if statement["Sid"] == "Logs"]
    assert logs["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]  # the group is the data stack's
    assert logs["Resource"] == [f"arn:aws:logs:*:*:log-group:/customer-api/{stage}/{source}:*"]
    groups = generate_infra.generate(stage)["Resources"]
    assert f"/customer-api/{stage}/{source}" in {
        r["Properties"]["LogGroupName"] for r in groups.values() if r["Type"] == "AWS::Logs::LogGroup"
    }


@pytest.mark.parametrize(("function", "logical_id"), [("api", "APIHandler"), ("consumer", "RecordChanges")])
@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_functions_are_named_in_the_merge_template_as_chalice_deploy_names_them(
    function: str, logical_id: str, stage: str
) -> None:
    merge = json.loads(generate_infra.app_template_path(stage).read_text())
    assert merge["Resources"][logical_id]["Properties"]["FunctionName"] == function_name(function, stage)


def sid(policy: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [statement for statement in policy["Statement"] if statement["Sid"] == name]
    (statement,) = found
    return statement


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_consumer_reads_only_its_stage_stream_and_reaches_only_its_bus_and_queue(stage: str) -> None:
    policy = load_policy("consumer", stage)
    data = generate_infra.generate(stage)["Resources"]
    stream = sid(policy, "CustomersStream")
    assert sorted(stream["Action"]) == ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    customers = data["CustomersTable"]["Properties"]["TableName"]
    assert stream["Resource"] == [f"arn:aws:dynamodb:*:*:table/{customers}/stream/*"]
    # Lambda's poller also needs ListStreams, which IAM cannot scope; it names streams, it reads nothing.
    assert sid(policy, "ListStreams") == {
        "Sid": "ListStreams",
        "Effect": "Allow",
        "Action": ["dynamodb:ListStreams"],
        "Resource": ["*"],
    }
    bus = data["EventBus"]["Properties"]["Name"]
    assert sid(policy, "ChangeEvents")["Action"] == ["events:PutEvents"]
    assert sid(policy, "ChangeEvents")["Resource"] == [f"arn:aws:events:*:*:event-bus/{bus}"]
    queue = data["ParkedRecordsQueue"]["Properties"]["QueueName"]
    # The consumer parks records itself, and Lambda's on-failure destination sends with the function's role.
    assert sid(policy, "ParkedRecords")["Action"] == ["sqs:SendMessage"]
    assert sid(policy, "ParkedRecords")["Resource"] == [f"arn:aws:sqs:*:*:{queue}"]
    assert not any(
        "/stream/" in resource for _, resources in statements(load_policy("api", stage)) for resource in resources
    )


def parliament_findings(policy: dict[str, Any]) -> list[str]:
    from parliament import analyze_policy_string

    return [f"{finding.issue}: {finding.detail}" for finding in analyze_policy_string(json.dumps(policy)).findings]


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_parliament_finds_nothing_in_the_policy_as_checked_in_and_as_deployed(function: str, stage: str) -> None:
    policy = load_policy(function, stage)
    assert parliament_findings(policy) == []
    assert parliament_findings(policies.bound(policy, "aws", "eu-west-1", "123456789012")) == []


def test_parliament_does_find_a_mistake() -> None:
    policy = load_policy("api", "dev")
    policy["Statement"][0]["Action"] = ["dynamodb:GetItems"]
    assert parliament_findings(policy)


@pytest.mark.parametrize("partition", ["aws", "aws-cn"])
def test_deployed_policies_name_one_account_region_and_partition(partition: str) -> None:
    bound = policies.bound(load_policy("consumer", "prod"), partition, "eu-west-1", "123456789012")
    resources = [resource for _, resources in statements(bound) for resource in resources if resource != "*"]
    assert resources
    assert all(resource.startswith(f"arn:{partition}:") for resource in resources), resources
    assert all(":eu-west-1:123456789012:" in resource for resource in resources), resources
