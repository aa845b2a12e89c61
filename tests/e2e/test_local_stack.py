"""`make run` as a user lives it.

Data survives restarts, Ctrl-C stops what it started, and a running DynamoDB Local is reused.
DynamoDB Local is reachable from this machine only; closing the terminal, a SIGTERM or a
SIGKILL leaves nothing running; a busy port is one line naming who holds it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest
import requests

from scripts.local.dynamodb_local import DynamoDBLocal, is_dynamodb
from scripts.local.ports import free_port, port_in_use
from scripts.paths import ROOT
from tests.e2e.stack import LiveStack, all_gone, live_pids

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


def _refused(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        return sock.connect_ex((host, port)) == errno.ECONNREFUSED


def _addresses_other_than_127_0_0_1() -> set[str]:
    """Addresses of this machine a listener on every interface would answer on, but 127.0.0.1 must not.

    127.0.0.2 always works on Linux (all of 127/8 is local), so the test never depends on the
    machine having a network; its own addresses (`hostname -I`, and the source address of a
    route out, found with an unsent UDP "connection") and ::1 are added where they exist.
    """
    addresses = {"127.0.0.2"}
    hostname = shutil.which("hostname")
    if hostname is not None:
        listing = subprocess.run([hostname, "-I"], capture_output=True, text=True, check=False).stdout
        addresses.update(address for address in listing.split() if not address.startswith("fe80:"))
    for family, far_away in ((socket.AF_INET, "198.51.100.1"), (socket.AF_INET6, "2001:db8::1")):
        with socket.socket(family, socket.SOCK_DGRAM) as probe, contextlib.suppress(OSError):
            probe.connect((far_away, 9))
            addresses.add(probe.getsockname()[0])
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe, contextlib.suppress(OSError):
        probe.bind(("::1", 0))
        addresses.add("::1")
    addresses.discard("127.0.0.1")
    return addresses


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of the sockets listening on ``port``, as /proc/net/tcp{,6} show them (hex)."""
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_dynamodb_local_stays_on_this_machine_and_sends_no_telemetry(tmp_path: Path) -> None:
    stack = LiveStack(data_dir=tmp_path / "data").start()
    try:
        # It answers on 127.0.0.1
        assert is_dynamodb(f"http://127.0.0.1:{stack.dynamodb_port}")
        # And on no other address of this machine
        others = _addresses_other_than_127_0_0_1()
        assert "127.0.0.2" in others
        assert {address for address in others if not _refused(address, stack.dynamodb_port)} == set()
        # Its only listening socket is 127.0.0.1 (IPv4, or IPv4-mapped in an IPv6 socket)
        assert _listening_addresses(stack.dynamodb_port) <= {"0100007F", "0000000000000000FFFF00000100007F"}
        # And it never set up telemetry, whose first act is writing this file in its working directory
        (java,) = [pid for pid, command in stack.descendants().items() if "DynamoDBLocal" in command]
        working_directory = Path(f"/proc/{java}/cwd").resolve()
        assert working_directory == (tmp_path / "data").resolve()
        assert not (working_directory / "dynamodb-local-metadata.json").exists()
    finally:
        stack.stop()


@pytest.mark.parametrize("stop_signal", [signal.SIGHUP, signal.SIGTERM], ids=["SIGHUP", "SIGTERM"])
def test_hangup_or_terminate_stops_everything(tmp_path: Path, stop_signal: signal.Signals) -> None:
    # Given a running stack
    stack = LiveStack(data_dir=tmp_path / "data").start()
    assert stack.process is not None
    started = stack.descendants()
    assert any("chalice_local" in command for command in started.values()), started
    assert any("DynamoDBLocal" in command for command in started.values()), started
    # When its process group gets the signal (closing the terminal sends SIGHUP, `kill` SIGTERM)
    os.killpg(stack.process.pid, stop_signal)
    # Then it stops what it started and exits
    assert stack.process.wait(timeout=30) == 0
    output = stack.output()
    assert "Stopped DynamoDB Local" in output
    assert "Traceback" not in output
    assert stack.ports_closed()
    assert all_gone(started), {pid: command for pid, command in started.items() if pid in live_pids()}


def test_hangup_leaves_a_reused_dynamodb_local_running(tmp_path: Path) -> None:
    with DynamoDBLocal(port=free_port()) as dynamodb:
        stack = LiveStack(data_dir=tmp_path / "data", dynamodb_port=dynamodb.port).start()
        assert stack.process is not None
        os.killpg(stack.process.pid, signal.SIGHUP)
        stack.process.wait(timeout=30)
        assert not port_in_use(stack.api_port)
        assert is_dynamodb(dynamodb.endpoint)


def test_killed_stack_takes_its_children_along(tmp_path: Path) -> None:
    stack = LiveStack(data_dir=tmp_path / "data").start()
    assert stack.process is not None
    started = stack.descendants()
    assert len(started) >= 2, started
    # When the stack itself is killed, with no chance to clean up
    stack.process.kill()
    stack.process.wait(timeout=10)
    # Then chalice local and DynamoDB Local go too
    assert all_gone(started), {pid: command for pid, command in started.items() if pid in live_pids()}
    assert stack.ports_closed()


def _single_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def test_second_stack_on_a_busy_api_port_says_who_holds_it(tmp_path: Path) -> None:
    first = LiveStack(data_dir=tmp_path / "first" / "data").start()
    try:
        (chalice,) = [pid for pid, command in first.descendants().items() if "chalice_local" in command]
        # When a second stack wants the same API port
        second = LiveStack(data_dir=tmp_path / "second" / "data", api_port=first.api_port)  # its own log too
        code = second.run_to_exit()
        # Then it exits non-zero with one line naming the port and the process holding it
        assert code != 0
        line = _single_line(second.output())
        assert f"port {first.api_port}" in line
        assert f"pid {chalice}" in line
        assert "chalice_local" in line
        # Having started nothing, and left the first stack serving
        assert not port_in_use(second.dynamodb_port)
        assert requests.get(f"{first.base_url}/customers?limit=1", timeout=10).status_code == 200
    finally:
        first.stop()


def test_stack_on_a_dynamodb_port_held_by_something_else_says_who_holds_it(tmp_path: Path) -> None:
    # Given a listener on the DynamoDB port that is not DynamoDB Local (this test process)
    with socket.create_server(("127.0.0.1", 0)) as squatter:
        port = squatter.getsockname()[1]
        stack = LiveStack(data_dir=tmp_path / "data", dynamodb_port=port)
        # When a stack is started on it
        code = stack.run_to_exit()
        # Then it exits non-zero with one line naming the port and this process
        assert code != 0
        line = _single_line(stack.output())
        assert f"port {port}" in line
        assert f"pid {os.getpid()}" in line
        assert not port_in_use(stack.api_port)


def test_make_help_lists_every_target_with_variables_expanded() -> None:
    makefile = (ROOT / "Makefile").read_text()
    phony = next(line for line in makefile.splitlines() if line.startswith(".PHONY:")).split(":", 1)[1].split()
    shown = subprocess.run(
        ["make", "--no-print-directory", "help", "PORT=9123"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    listed = {line.split()[1] for line in shown.splitlines() if line.startswith("  make ")}
    assert "e2e" in listed
    assert set(phony) <= listed
    assert "$(" not in shown
    run_line = next(line for line in shown.splitlines() if line.startswith("  make run "))
    assert "http://127.0.0.1:9123" in run_line
