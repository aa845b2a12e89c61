"""Fetch, start and stop the official DynamoDB Local.

AWS publishes DynamoDB Local as a Java archive; the npm package
``amplify-dynamodb-simulator`` ships that archive unmodified in its ``emulator/``
folder, which lets us fetch it from the npm registry (reachable where AWS's own
download site may not be) at a pinned version with a pinned checksum. It is started by
``DynamoDBLocalLauncher.java`` (next to this file), which serves it on 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from scripts.local import children
from scripts.local.ports import require_free
from scripts.paths import ROOT
from scripts.tools import require

NPM_PACKAGE = "amplify-dynamodb-simulator@2.9.30"  # DynamoDB Local 1.25.1
NPM_TARBALL_SHA256 = "3503ffac19f183407909fecdacf4db51ab1fdad1da7b2f177016670b2d80e4b9"
INSTALL_DIR = ROOT / ".local" / "dynamodb-local"
DATA_DIR = ROOT / ".local" / "data"
JAR = INSTALL_DIR / "DynamoDBLocal.jar"
LAUNCHER = Path(__file__).resolve().with_name("DynamoDBLocalLauncher.java")
# The only switch DynamoDB Local 1.25.1 reads (its -disableTelemetry flag is parsed, then ignored);
# the launcher does not run the code that sends telemetry in the first place.
NO_TELEMETRY = {"DDB_LOCAL_TELEMETRY": "0"}
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


@dataclass
class DynamoDBLocal:
    """One DynamoDB Local process on 127.0.0.1 only: on disk under ``data_dir``, or in memory.

    Started through ``DynamoDBLocalLauncher.java`` rather than the jar's own main, which
    listens on every interface and would let any host on the network read and change the
    data (DynamoDB Local accepts any credentials); telemetry stays off. It dies with the
    process that started it, even one killed with SIGKILL (Linux), so start it from a
    thread that lives as long as it should.
    """

    port: int
    data_dir: Path | None = None
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, java: str, jar: Path) -> list[str]:
        """The launcher in source-file mode, with the jar and its libraries on the class path."""
        library = jar.parent / "DynamoDBLocal_lib"
        storage = ["-inMemory"] if self.data_dir is None else ["-dbPath", str(self.data_dir)]
        return [
            java,
            "-Djava.library.path=" + str(library),
            "-cp",
            f"{jar}{os.pathsep}{library / '*'}",
            str(LAUNCHER),
            "-port",
            str(self.port),
            "-sharedDb",
            *storage,
        ]

    def start(self) -> DynamoDBLocal:
        java = require("jdk")
        jar = install()
        require_free("127.0.0.1", self.port, "DynamoDB Local")
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_path or Path(os.devnull)
        with log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                self.command(java, jar),
                # Whatever it writes relative to its working directory stays with its data.
                cwd=self.data_dir or jar.parent,
                env={**os.environ, **NO_TELEMETRY},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the stack, which stops it in order
                preexec_fn=children.die_with_this_process(),
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
        """Stop it if this object started it (its shutdown hook closes the database files)."""
        if self.process is not None:
            children.stop(self.process)

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
