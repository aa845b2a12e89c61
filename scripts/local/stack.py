"""`make run`: DynamoDB Local on disk, the tables, then `chalice local`, stopped together by Ctrl-C.

A DynamoDB Local that is already listening on the port is reused and left running;
one started here is stopped here.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from scripts.local.dynamodb_local import DATA_DIR, DynamoDBLocal, is_dynamodb, local_aws_environment
from scripts.paths import ROOT
from scripts.stages import stage_environment

STAGE = "local"


def create_tables(environment: dict[str, str]) -> list[str]:
    """Create the stage's missing tables from chalicelib/tables.py with the given environment."""
    os.environ.update(environment)
    from chalicelib.config import get_settings
    from chalicelib.repository import create_missing_tables

    get_settings.cache_clear()
    return create_missing_tables(get_settings())


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(host: str, port: int, dynamodb_port: int, data_dir: Path) -> int:
    # Installed explicitly: a process started in the background inherits SIGINT ignored.
    signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    dynamodb = DynamoDBLocal(port=dynamodb_port, data_dir=data_dir, log_path=data_dir.parent / "dynamodb.log")
    started = False
    api: subprocess.Popen[bytes] | None = None
    try:
        if is_dynamodb(dynamodb.endpoint):
            print(f"Reusing DynamoDB Local on {dynamodb.endpoint}", flush=True)
        else:
            data_dir.parent.mkdir(parents=True, exist_ok=True)
            dynamodb.start()
            started = True
            print(f"DynamoDB Local on {dynamodb.endpoint}, data in {data_dir}", flush=True)
        environment = {**stage_environment(STAGE), **local_aws_environment(dynamodb.endpoint)}
        for name in create_tables(environment):
            print(f"Created table {name}", flush=True)
        print(f"API on http://{host}:{port} (Ctrl-C stops everything)", flush=True)
        api = subprocess.Popen(
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
            start_new_session=True,
        )
        return api.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if api is not None and api.poll() is None:
            os.killpg(api.pid, signal.SIGTERM)
            try:
                api.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(api.pid, signal.SIGKILL)
        if started:
            dynamodb.stop()
            print("Stopped DynamoDB Local", flush=True)


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
