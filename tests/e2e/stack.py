"""Run the `make run` stack (scripts.local.stack) as a subprocess, the way a user does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from scripts.local.dynamodb_local import free_port, port_in_use
from scripts.paths import ROOT

READY_TIMEOUT_SECONDS = 60.0


@dataclass
class LiveStack:
    data_dir: Path
    dynamodb_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def log_path(self) -> Path:
        # A file, not a pipe: a pipe nobody reads fills up and blocks the server mid-test.
        return self.data_dir.parent / f"stack-{self.api_port}.log"

    def start(self) -> LiveStack:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DYNAMODB_"))}
        command = [
            sys.executable,
            "-m",
            "scripts.local.stack",
            "--port",
            str(self.api_port),
            "--dynamodb-port",
            str(self.dynamodb_port),
            "--data-dir",
            str(self.data_dir),
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the stack exited early:\n{self.output()}")
            try:
                if requests.get(f"{self.base_url}/customers?limit=1", timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"the stack did not answer in time:\n{self.output()}")

    def stop(self) -> str:
        """Ctrl-C, as a user would; return everything the stack printed."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.output()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def ports_closed(self) -> bool:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if not port_in_use(self.api_port) and not port_in_use(self.dynamodb_port):
                return True
            time.sleep(0.1)
        return False
