"""Fetch, start and stop the official DynamoDB Local.

AWS publishes DynamoDB Local as a Java archive; the npm package
``amplify-dynamodb-simulator`` ships that archive unmodified in its ``emulator/``
folder, which lets us fetch it from the npm registry (reachable where AWS's own
download site may not be) at a pinned version with a pinned checksum.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from scripts.paths import ROOT
from scripts.tools import require

NPM_PACKAGE = "amplify-dynamodb-simulator@2.9.30"  # DynamoDB Local 1.25.1
NPM_TARBALL_SHA256 = "3503ffac19f183407909fecdacf4db51ab1fdad1da7b2f177016670b2d80e4b9"
INSTALL_DIR = ROOT / ".local" / "dynamodb-local"
DATA_DIR = ROOT / ".local" / "data"
JAR = INSTALL_DIR / "DynamoDBLocal.jar"
START_TIMEOUT_SECONDS = 30.0


def install(install_dir: Path = INSTALL_DIR) -> Path:
    """Fetch DynamoDB Local once; later calls return at once."""
    jar = install_dir / "DynamoDBLocal.jar"
    if jar.exists():
        return jar
    npm = require("npm")
    print(f"Fetching DynamoDB Local ({NPM_PACKAGE}, about 55 MB, once)...", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            [npm, "pack", NPM_PACKAGE, "--pack-destination", scratch, "--silent"], check=True, stdout=subprocess.DEVNULL
        )
        (tarball,) = Path(scratch).glob("*.tgz")
        digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
        if digest != NPM_TARBALL_SHA256:
            raise SystemExit(f"error: {tarball.name} has sha256 {digest}, expected {NPM_TARBALL_SHA256}.")
        staging = Path(scratch) / "unpacked"
        with tarfile.open(tarball) as archive:
            members = [m for m in archive.getmembers() if m.name.startswith("package/emulator/")]
            archive.extractall(staging, members=members, filter="data")
        install_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(install_dir, ignore_errors=True)
        shutil.move(str(staging / "package" / "emulator"), install_dir)
    return jar


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_dynamodb(endpoint: str) -> bool:
    """True when ``endpoint`` answers like DynamoDB (any signed-looking request gets JSON back)."""
    request = urllib.request.Request(
        endpoint,
        data=b"{}",
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Authorization": "AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=local",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            return b"TableNames" in response.read()
    except (urllib.error.URLError, OSError, ValueError):
        return False


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@dataclass
class DynamoDBLocal:
    """One DynamoDB Local process on 127.0.0.1: on disk under ``data_dir``, or in memory."""

    port: int
    data_dir: Path | None = None
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DynamoDBLocal:
        java = require("java")
        jar = install()
        if port_in_use(self.port):
            raise SystemExit(f"error: port {self.port} is taken by something that is not DynamoDB Local.")
        storage = ["-inMemory"]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            storage = ["-dbPath", str(self.data_dir)]
        command = [
            java,
            "-Djava.library.path=" + str(jar.parent / "DynamoDBLocal_lib"),
            "-jar",
            str(jar),
            "-sharedDb",
            *storage,
            "-port",
            str(self.port),
        ]
        log_path = self.log_path or Path(os.devnull)
        with log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                command,
                cwd=jar.parent,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us, and we stop it in order
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not is_dynamodb(self.endpoint):
            if self.process.poll() is not None:
                raise SystemExit(
                    f"error: DynamoDB Local exited with code {self.process.returncode}"
                    + (f"; see {self.log_path}" if self.log_path else "")
                )
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(
                    f"error: DynamoDB Local did not answer on {self.endpoint} within {START_TIMEOUT_SECONDS:.0f}s."
                )
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def local_aws_environment(endpoint: str) -> dict[str, str]:
    """What boto3 needs to talk to DynamoDB Local.

    DynamoDB Local accepts any credentials; fixed dummy ones make sure a developer's
    real keys are never sent anywhere by the local stack.
    """
    return {
        "DYNAMODB_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }


if __name__ == "__main__":
    print(install())
