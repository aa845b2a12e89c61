"""The checked-in table templates: current, complete, protected where it matters, and valid CloudFormation."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.config import get_settings
from chalicelib.stages import DEPLOYED_STAGES, table_name
from chalicelib.storage.tables import ALL_TABLES, TableSpec
from scripts.chalice_config import stage_environment
from scripts.deploy import generate_infra
from scripts.paths import ROOT

STAGES = DEPLOYED_STAGES


def checked_in(stage: str) -> dict[str, Any]:
    path = generate_infra.template_path(stage)
    assert path.exists(), f"{path} is missing: run `python -m scripts.deploy.generate_infra`"
    template: dict[str, Any] = json.loads(path.read_text())
    return template


def tables(stage: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in checked_in(stage)["Resources"].items()
        if resource["Type"] == "AWS::DynamoDB::Table"
    }


@pytest.mark.parametrize("stage", STAGES)
def test_checked_in_template_is_what_the_generator_produces(stage: str) -> None:
    assert checked_in(stage) == generate_infra.generate(stage), (
        f"infra/tables-{stage}.json is stale: run `python -m scripts.deploy.generate_infra {stage}`"
    )


def test_check_mode_passes_on_the_checked_in_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert generate_infra.main(["--check"]) == 0
    assert capsys.readouterr().err == ""


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """Just enough of the project for the generator: config.json and the checked-in templates."""
    shutil.copytree(ROOT / ".chalice", tmp_path / ".chalice", ignore=shutil.ignore_patterns("deployments"))
    shutil.copytree(ROOT / "infra", tmp_path / "infra")
    return tmp_path


def test_check_mode_names_each_stale_or_missing_file(project_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dev = generate_infra.template_path("dev", project_copy)
    dev.write_text(dev.read_text().replace('"PAY_PER_REQUEST"', '"PROVISIONED"', 1))
    generate_infra.template_path("prod", project_copy).unlink()

    assert generate_infra.main(["--check"], root=project_copy) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "infra/tables-dev.json is stale: run `python -m scripts.deploy.generate_infra dev`",
        "infra/tables-prod.json is missing: run `python -m scripts.deploy.generate_infra prod`",
    ]

    assert generate_infra.main(["dev", "prod"], root=project_copy) == 0
    assert generate_infra.main(["--check"], root=project_copy) == 0


@pytest.mark.parametrize("stage", ["staging", "local"])
def test_a_stage_without_a_template_is_a_clear_error(
    stage: str, project_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert generate_infra.main([stage], root=project_copy) == 2
    assert generate_infra.main(["--check", stage], root=project_copy) == 2
    err = capsys.readouterr().err
    assert f"error: stage {stage!r}" in err
    assert not generate_infra.template_path(stage, project_copy).exists()


def test_generation_ignores_the_callers_environment_and_leaves_it_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGE", "test")
    monkeypatch.setenv("CUSTOMERS_TABLE", "customers-from-the-shell")
    monkeypatch.delenv("PAGINATION_SECRET", raising=False)

    template = generate_infra.generate("dev")

    assert template["Resources"]["CustomersTable"]["Properties"]["TableName"] == "customers-dev"
    assert os.environ["CUSTOMERS_TABLE"] == "customers-from-the-shell"
    assert "PAGINATION_SECRET" not in os.environ
    assert get_settings.cache_info().currsize == 0, "the dev settings must not stay cached"


# Written out rather than derived, so the test does not share the generator's lookup.


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("spec", ALL_TABLES, ids=lambda spec: spec.logical_id)
def test_every_table_appears_with_its_name_keys_and_ttl(stage: str, spec: TableSpec) -> None:
    resources = tables(stage)
    assert spec.logical_id in resources, f"{spec.logical_id} is not in infra/tables-{stage}.json"
    properties = resources[spec.logical_id]["Properties"]
    assert properties["TableName"] == table_name(spec.base_name, stage)
    keys = [{"AttributeName": spec.hash_key, "KeyType": "HASH"}]
    if spec.range_key is not None:
        keys.append({"AttributeName": spec.range_key, "KeyType": "RANGE"})
    assert properties["KeySchema"] == keys
    assert properties["AttributeDefinitions"] == spec.attribute_definitions()
    assert properties.get("GlobalSecondaryIndexes", []) == [index.definition() for index in spec.indexes]
    if spec.ttl_attribute is None:
        assert "TimeToLiveSpecification" not in properties
    else:
        assert properties["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
    if spec.stream:
        assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    else:
        assert "StreamSpecification" not in properties
    outputs = checked_in(stage)["Outputs"]
    for suffix in ("Name", "Arn"):
        key = f"{spec.logical_id}{suffix}"
        assert outputs[key]["Export"] == {"Name": f"customer-api-{stage}-{key}"}


@pytest.mark.parametrize("stage", STAGES)
def test_the_templates_hold_exactly_the_defined_tables(stage: str) -> None:
    assert sorted(tables(stage)) == sorted(spec.logical_id for spec in ALL_TABLES)
    names = [resource["Properties"]["TableName"] for resource in tables(stage).values()]
    assert len(set(names)) == len(names), names


@pytest.mark.parametrize("stage", STAGES)
def test_every_table_is_on_demand_backed_up_encrypted_and_tagged(stage: str) -> None:
    for logical_id, resource in tables(stage).items():
        properties = resource["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST", logical_id
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, logical_id
        assert properties["SSESpecification"] == {"SSEEnabled": True}, logical_id
        assert {"Key": "app", "Value": "customer-api"} in properties["Tags"], logical_id
        assert {"Key": "stage", "Value": stage} in properties["Tags"], logical_id


def test_prod_tables_survive_deletion_and_replacement() -> None:
    for logical_id, resource in tables("prod").items():
        assert resource["DeletionPolicy"] == "Retain", logical_id
        assert resource["UpdateReplacePolicy"] == "Retain", logical_id
        assert resource["Properties"]["DeletionProtectionEnabled"] is True, logical_id


def test_dev_tables_can_be_torn_down() -> None:
    for logical_id, resource in tables("dev").items():
        assert resource["DeletionPolicy"] == "Delete", logical_id
        assert resource["UpdateReplacePolicy"] == "Delete", logical_id
        assert resource["Properties"].get("DeletionProtectionEnabled", False) is False, logical_id


@pytest.mark.parametrize("stage", STAGES)
def test_customers_table_streams_old_and_new_images_and_exports_the_stream(stage: str) -> None:
    # The consumer needs both images: history stores what changed, and a removal has no new image.
    properties = tables(stage)["CustomersTable"]["Properties"]
    assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert "StreamEnabled" not in properties["StreamSpecification"]  # CreateTable's spelling, not CloudFormation's
    output = checked_in(stage)["Outputs"]["CustomersTableStreamArn"]
    assert output["Value"] == {"Fn::GetAtt": ["CustomersTable", "StreamArn"]}
    assert output["Export"] == {"Name": f"customer-api-{stage}-CustomersTableStreamArn"}
    assert [name for name, resource in tables(stage).items() if "StreamSpecification" in resource["Properties"]] == [
        "CustomersTable"
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_history_table_is_keyed_by_customer_and_version_with_the_feed_index_and_expiry(stage: str) -> None:
    history = tables(stage)["CustomerHistoryTable"]
    properties = history["Properties"]
    assert properties["TableName"] == f"customer-history-{stage}"
    assert properties["KeySchema"] == [
        {"AttributeName": "customer_id", "KeyType": "HASH"},
        {"AttributeName": "version", "KeyType": "RANGE"},
    ]
    types = {
        definition["AttributeName"]: definition["AttributeType"] for definition in properties["AttributeDefinitions"]
    }
    assert types == {"customer_id": "S", "version": "N", "feed_bucket": "S", "feed_position": "S"}
    assert properties["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "by_feed",
            "KeySchema": [
                {"AttributeName": "feed_bucket", "KeyType": "HASH"},
                {"AttributeName": "feed_position", "KeyType": "RANGE"},
            ],
            # What a feed page shows, and not the "published" mark (its update would rewrite the index's copy)
            "Projection": {
                "ProjectionType": "INCLUDE",
                "NonKeyAttributes": ["change", "occurred_at", "actor", "request_id", "changes", "customer", "redacted"],
            },
        }
    ]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    protected = stage == "prod"
    assert history["DeletionPolicy"] == history["UpdateReplacePolicy"] == ("Retain" if protected else "Delete")
    assert properties["DeletionProtectionEnabled"] is protected


def test_a_disabled_stream_stops_generation_instead_of_vanishing(monkeypatch: pytest.MonkeyPatch) -> None:
    def disabled(spec: TableSpec, name: str) -> dict[str, Any]:
        return {**original(spec, name), "StreamSpecification": {"StreamEnabled": False}}

    original = TableSpec.create_table_request
    monkeypatch.setattr(TableSpec, "create_table_request", disabled)
    with pytest.raises(ValueError, match="disabled StreamSpecification"):
        generate_infra.generate("dev")


@pytest.mark.parametrize("stage", STAGES)
def test_the_stage_has_its_event_bus_exported_by_name_and_arn(stage: str) -> None:
    template = checked_in(stage)
    bus = template["Resources"]["EventBus"]
    assert bus["Type"] == "AWS::Events::EventBus"
    assert bus["Properties"]["Name"] == f"customer-api-{stage}"
    outputs = template["Outputs"]
    assert outputs["EventBusName"]["Value"] == {"Fn::GetAtt": ["EventBus", "Name"]}
    assert outputs["EventBusArn"]["Value"] == {"Fn::GetAtt": ["EventBus", "Arn"]}
    for key in ("EventBusName", "EventBusArn"):
        assert outputs[key]["Export"] == {"Name": f"customer-api-{stage}-{key}"}


@pytest.mark.parametrize("stage", STAGES)
def test_parked_records_queue_is_encrypted_keeps_two_weeks_and_survives_in_prod(stage: str) -> None:
    template = checked_in(stage)
    queue = template["Resources"]["ParkedRecordsQueue"]
    assert queue["Type"] == "AWS::SQS::Queue"
    properties = queue["Properties"]
    assert properties["QueueName"] == f"customer-api-{stage}-parked-records"
    assert properties["SqsManagedSseEnabled"] is True
    assert properties["MessageRetentionPeriod"] == 14 * 24 * 3600
    expected_policy = "Retain" if stage == "prod" else "Delete"
    assert queue["DeletionPolicy"] == queue["UpdateReplacePolicy"] == expected_policy
    outputs = template["Outputs"]
    assert outputs["ParkedRecordsQueueUrl"]["Value"] == {"Ref": "ParkedRecordsQueue"}  # a queue's Ref is its URL
    assert outputs["ParkedRecordsQueueArn"]["Value"] == {"Fn::GetAtt": ["ParkedRecordsQueue", "Arn"]}
    for key in ("ParkedRecordsQueueUrl", "ParkedRecordsQueueArn"):
        assert outputs[key]["Export"] == {"Name": f"customer-api-{stage}-{key}"}


def test_cfn_lint_finds_nothing() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    if not cfn_lint.exists():
        pytest.fail(f"{cfn_lint} is missing: install requirements-dev.txt (make lint installs it)")
    paths = [str(generate_infra.template_path(stage)) for stage in STAGES]
    result = subprocess.run(
        [str(cfn_lint), "--regions", "us-east-1", "--", *paths], capture_output=True, text=True, check=False
    )
    # Exit status is a bit mask: 2 errors, 4 warnings, 8 informational; accept none of them.
    assert result.returncode == 0, f"cfn-lint exited {result.returncode}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("stage", STAGES)
def test_pagination_key_is_generated_by_secrets_manager_under_the_configured_name(stage: str) -> None:
    secret = checked_in(stage)["Resources"][generate_infra.SECRET_LOGICAL_ID]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["Name"] == stage_environment(stage)["PAGINATION_SECRET_NAME"]
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    assert "SecretString" not in secret["Properties"]  # generated in the account, never written down


def test_the_prod_user_pool_lets_nobody_sign_themselves_up_and_dev_has_none() -> None:
    prod = generate_infra.generate("prod")["Resources"]
    assert prod["UserPool"]["Properties"]["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert prod["UserPool"]["DeletionPolicy"] == "Retain"
    assert not any(r["Type"].startswith("AWS::Cognito::") for r in generate_infra.generate("dev")["Resources"].values())


def test_the_alarm_topic_is_the_stages_setting_in_config_json(project_copy: Path) -> None:
    config_path = project_copy / ".chalice" / "config.json"
    config = json.loads(config_path.read_text())
    topic = "arn:aws:sns:eu-west-1:123456789012:customer-api-alarms"
    config["stages"]["prod"]["alarm_topic_arn"] = topic
    config_path.write_text(json.dumps(config))
    merge = generate_infra.templates("prod", project_copy)[generate_infra.app_template_path("prod", project_copy)]
    assert merge["Parameters"]["AlarmTopicArn"]["Default"] == topic
