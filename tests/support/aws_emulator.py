"""An AWS emulator for the deploy rehearsal: a moto server, with tests/support/emulator_shims.py, on a free port.

    python -m tests.support.aws_emulator --port 5000

The deploy runs against it exactly as against an account; only the endpoint differs
(``AWS_ENDPOINT_URL``, which boto3 and Chalice both honour).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REGION = "us-east-1"
# moto's default account; its STS identity answers with it.
ACCOUNT = "123456789012"
START_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client_environment(endpoint: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A shell's environment pointed at the emulator: fake credentials, one region, no profile."""
    environment = {
        key: value
        for key, value in (os.environ if base is None else base).items()
        if not key.startswith("AWS_") or key == "AWS_CA_BUNDLE"
    }
    return environment | {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@dataclass
class Emulator:
    endpoint: str
    log_path: Path

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        return client_environment(self.endpoint, base)

    def reset(self) -> None:
        """Forget every resource (moto's reset endpoint)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def running_emulator(log_path: Path) -> Iterator[Emulator]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    root = Path(__file__).resolve().parents[2]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.aws_emulator", "--port", str(port)],
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            # API Gateway's access-log role attaches an AWS managed policy, which moto knows only when asked.
            env={**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"},
        )
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the AWS emulator did not start:\n{log_path.read_text()}") from None
                time.sleep(0.2)
        yield Emulator(endpoint, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    from moto.server import ThreadedMotoServer

    from tests.support import emulator_shims

    emulator_shims.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
