"""`make run` as a user lives it.

Data survives restarts, Ctrl-C stops what it started, and a running DynamoDB Local is reused.
"""

from __future__ import annotations

from pathlib import Path

import requests

from scripts.local.dynamodb_local import DynamoDBLocal, free_port, is_dynamodb
from tests.e2e.stack import LiveStack

CUSTOMER = {"first_name": "Ada", "last_name": "Lovelace", "email_address": "ada@example.com"}


def test_local_stack_keeps_data_across_restart_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    # Given a stack that stored a customer
    first = LiveStack(data_dir=tmp_path / "data").start()
    try:
        created = requests.post(f"{first.base_url}/customers", json=CUSTOMER, timeout=10)
        assert created.status_code == 201
        customer_id = created.json()["customer_id"]
    finally:
        # When it is stopped with Ctrl-C
        output = first.stop()
    # Then it exits cleanly and leaves nothing listening
    assert first.process is not None
    assert first.process.returncode == 0, output
    assert "Stopped DynamoDB Local" in output
    assert first.ports_closed()
    # And a new stack on the same data dir still has the customer
    second = LiveStack(data_dir=tmp_path / "data").start()
    try:
        fetched = requests.get(f"{second.base_url}/customers/{customer_id}", timeout=10)
        assert fetched.status_code == 200
        assert fetched.json()["email_address"] == CUSTOMER["email_address"]
    finally:
        second.stop()


def test_local_stack_reuses_running_dynamodb_local_and_leaves_it_running(tmp_path: Path) -> None:
    with DynamoDBLocal(port=free_port()) as dynamodb:
        stack = LiveStack(data_dir=tmp_path / "data", dynamodb_port=dynamodb.port).start()
        output = stack.stop()
        assert f"Reusing DynamoDB Local on {dynamodb.endpoint}" in output
        assert is_dynamodb(dynamodb.endpoint)
