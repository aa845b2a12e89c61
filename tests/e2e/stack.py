"""Run the `make run` stack (scripts.local.stack) as a subprocess, the way a user does."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from scripts.local.ports import command_of, free_port, port_in_use
from scripts.local.stack import start_in_background

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

    def launch(self) -> subprocess.Popen[bytes]:
        """Start the stack's process without waiting for it to serve."""
        self.process = start_in_background(self.api_port, self.dynamodb_port, self.data_dir, self.log_path)
        return self.process

    def start(self) -> LiveStack:
        self.launch()
        assert self.process is not None
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

    def run_to_exit(self, timeout: float = READY_TIMEOUT_SECONDS) -> int:
        """Run a stack that is expected to give up by itself; its exit code."""
        process = self.launch()
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"the stack kept running:\n{self.output()}") from None

    def descendants(self) -> dict[int, str]:
        """Every live process the stack started (children and theirs), pid to command line."""
        assert self.process is not None
        parents = {pid: parent_of(pid) for pid in live_pids()}
        found: dict[int, str] = {}
        frontier = {self.process.pid}
        while frontier:
            frontier = {pid for pid, parent in parents.items() if parent in frontier and pid not in found}
            found.update({pid: command_of(pid) for pid in frontier})
        return found

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def ports_closed(self) -> bool:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if not port_in_use(self.api_port) and not port_in_use(self.dynamodb_port):
                return True
            time.sleep(0.1)
        return False


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat's fields after the command name (which may hold spaces and parentheses)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def live_pids() -> list[int]:
    """Pids of processes that exist and are not zombies (a zombie holds no port and runs nothing)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if _stat(int(entry.name))[0] != "Z":
                    pids.append(int(entry.name))
            except (OSError, IndexError):
                continue
    return pids


def parent_of(pid: int) -> int:
    try:
        return int(_stat(pid)[1])
    except (OSError, IndexError, ValueError):
        return 0


def all_gone(pids: Iterable[int], timeout: float = 15.0) -> bool:
    """True once none of ``pids`` is alive, waiting up to ``timeout`` seconds."""
    pending = set(pids)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        pending &= set(live_pids())
        if pending:
            time.sleep(0.1)
    return not pending
