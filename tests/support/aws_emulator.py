"""An AWS emulator for the deploy rehearsal: a moto server with tests/support/emulator_shims.py, on a port of its own.

    python -m tests.support.aws_emulator

The server binds a free port itself and prints ``port N`` when it is ready; it stops when
its standard input closes (when the test session that started it ends, however it ends).
The deploy runs against it exactly as against an account; only the endpoint differs
(``AWS_ENDPOINT_URL``, which boto3 and Chalice both honour), and no setting of the
developer's own (profile, config or credentials file) can reach it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REGION = "us-east-1"
# moto's default account; its STS identity answers with it.
ACCOUNT = "123456789012"
START_SECONDS = 60.0


def client_environment(endpoint: str, base: Mapping[str, str], config_file: Path) -> dict[str, str]:
    """``base`` pointed at the emulator: fake credentials, one region, no profile, no files of the developer's."""
    environment = {key: value for key, value in base.items() if not key.startswith("AWS_")}
    return environment | {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(config_file),
        "AWS_SHARED_CREDENTIALS_FILE": str(config_file),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@dataclass
class Emulator:
    endpoint: str
    log_path: Path
    config_file: Path  # an empty AWS config: what the emulator's clients read instead of ~/.aws

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        return client_environment(self.endpoint, os.environ if base is None else base, self.config_file)

    def reset(self) -> None:
        """Forget every resource (moto's reset endpoint)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def log_tail(self, characters: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-characters:]


@contextmanager
def running_emulator(directory: Path) -> Iterator[Emulator]:
    root = Path(__file__).resolve().parents[2]
    log_path = directory / "emulator.log"
    config_file = directory / "aws-config"
    config_file.write_text("")
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.aws_emulator"],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            # API Gateway's access-log role attaches an AWS managed policy, which moto knows only when asked.
            env={**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"},
        )
    assert process.stdout is not None
    ready: list[str] = []
    reader = threading.Thread(target=lambda: ready.append(process.stdout.readline() if process.stdout else ""))
    reader.start()
    reader.join(START_SECONDS)
    try:
        if not ready or not ready[0].startswith("port "):
            raise RuntimeError(f"the AWS emulator did not start:\n{log_path.read_text()}")
        yield Emulator(f"http://127.0.0.1:{int(ready[0].split()[1])}", log_path, config_file)
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    from moto.server import ThreadedMotoServer

    from tests.support import emulator_shims

    emulator_shims.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(f"port {server._server.server_port if server._server else 0}", flush=True)
    sys.stdin.read()  # until the parent closes it, or exits
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
