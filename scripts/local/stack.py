"""`make run`: DynamoDB Local on disk, the tables, `chalice local` and the stream poller, stopped together.

The poller plays Lambda's event source mapping: it feeds the customers table's
stream to the same consumer the deployed stage runs (scripts/local/stream_poller.py),
so history and events work locally as deployed. Records the consumer parks, and
batches the poller gives up on, are kept under ``.local/parked/``.

Ctrl-C, SIGTERM and SIGHUP (the terminal closing) each stop everything started here, in
order; a SIGKILL takes the children with it too (see scripts/local/children.py). A DynamoDB
Local that is already listening on the port is reused and left running. A port held by
anything else ends the run in one line naming the port and its holder.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from scripts.chalice_config import stage_environment
from scripts.local import children
from scripts.local.dynamodb_local import DATA_DIR, DynamoDBLocal, is_dynamodb, local_aws_environment
from scripts.local.ports import require_free
from scripts.paths import ROOT

STAGE = "local"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def create_tables(environment: dict[str, str]) -> list[str]:
    """Create the stage's missing tables from chalicelib/storage/tables.py, and upgrade existing ones.

    Returns what to tell the user: the tables created and, after an upgrade, the backfill's report.
    """
    os.environ.update(environment)
    from chalicelib import wiring
    from scripts.backfill import describe, would_refuse

    wiring.reset()
    created, report = wiring.create_missing_tables(refused=would_refuse)
    return [f"Created table {name}" for name in created] + ([describe(report)] if report is not None else [])


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _say(message: str) -> None:
    """Print, unless the terminal is gone (after SIGHUP a write fails, and stopping must go on)."""
    with contextlib.suppress(OSError):
        print(message, flush=True)


def _chalice_local(host: str, port: int, environment: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scripts.local.chalice_local",
            "local",
            "--stage",
            STAGE,
            "--host",
            host,
            "--port",
            str(port),
            # Chalice's reloader polls every file under the project, DynamoDB Local's
            # data included, and restarts the server on each write.
            "--no-autoreload",
        ],
        cwd=ROOT,
        env={**os.environ, **environment},
        start_new_session=True,  # Ctrl-C reaches us only, and we stop it in order
        preexec_fn=children.die_with_this_process(),
    )


def stream_poller(environment: dict[str, str]) -> subprocess.Popen[bytes]:
    """The consumer's process, as Lambda would run it: its own, beside the API's."""
    return subprocess.Popen(
        [sys.executable, "-m", "scripts.local.stream_poller"],
        cwd=ROOT,
        env={**os.environ, **environment},
        start_new_session=True,
        preexec_fn=children.die_with_this_process(),
    )


def run(host: str, port: int, dynamodb_port: int, data_dir: Path) -> int:
    # Installed explicitly: a process started in the background inherits SIGINT ignored.
    for signum in STOP_SIGNALS:
        signal.signal(signum, _raise_keyboard_interrupt)
    dynamodb = DynamoDBLocal(port=dynamodb_port, data_dir=data_dir, log_path=data_dir.parent / "dynamodb.log")
    started: DynamoDBLocal | None = None
    api: subprocess.Popen[bytes] | None = None
    poller: subprocess.Popen[bytes] | None = None
    try:
        # Both ports before anything starts: a busy one stops the run with nothing to undo.
        require_free(host, port, "API")
        if is_dynamodb(dynamodb.endpoint):
            _say(f"Reusing DynamoDB Local on {dynamodb.endpoint}")
        else:
            require_free("127.0.0.1", dynamodb_port, "DynamoDB Local")
            data_dir.parent.mkdir(parents=True, exist_ok=True)
            started = dynamodb  # before start(): a signal while it comes up must still stop it
            dynamodb.start()
            _say(f"DynamoDB Local on {dynamodb.endpoint} (this machine only), data in {data_dir}")
        environment = {
            **stage_environment(STAGE),
            **local_aws_environment(dynamodb.endpoint),
            "PARKED_RECORDS_DIR": str(data_dir.parent / "parked"),
        }
        for line in create_tables(environment):
            _say(line)
        require_free(host, port, "API")  # again: table creation may take a while
        _say(f"API on http://{host}:{port} (Ctrl-C stops everything)")
        api = _chalice_local(host, port, environment)
        poller = stream_poller(environment)
        return api.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        # A second signal must not cut the clean-up short (the children die with us anyway).
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        if poller is not None:
            children.stop(poller)
        if api is not None:
            children.stop(api)
        if started is not None:
            started.stop()
            _say("Stopped DynamoDB Local")


def start_in_background(port: int, dynamodb_port: int, data_dir: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """This stack as a user's terminal runs it, for the tests and the bench, without waiting for it to serve.

    Its own session (stopped with SIGINT, as Ctrl-C does), output to a file (a pipe nobody
    reads would fill and block it), none of the caller's AWS_ or DYNAMODB_ variables (the
    stack sets its own), and gone with its caller even if that is killed hard.
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DYNAMODB_"))}
    command = [sys.executable, "-m", "scripts.local.stack", "--port", str(port)]
    command += ["--dynamodb-port", str(dynamodb_port), "--data-dir", str(data_dir)]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=children.die_with_this_process(),
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--dynamodb-port", type=int, default=int(os.environ.get("DYNAMODB_PORT", "8001")))
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("DYNAMODB_DATA_DIR", DATA_DIR)))
    args = parser.parse_args()
    return run(args.host, args.port, args.dynamodb_port, args.data_dir.resolve())


if __name__ == "__main__":
    sys.exit(main())
