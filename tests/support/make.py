"""`make TARGET VAR=value ...` in a checkout, as a user types it, with the shell pointed at the AWS emulator."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.aws_emulator import Emulator

# What make itself, or a make that runs the tests, passes down: a rehearsal's make must not inherit any
# (an exported CONFIRM=prod would turn a refused delete into a real one).
MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEFILES", "GNUMAKEFLAGS", "MAKEOVERRIDES")
PROJECT_VARIABLES = ("STAGE", "CONFIRM", "FUNCTION", "FILE", "FORMAT", "HOST", "PORT", "API_URL")
TIMEOUT_SECONDS = 600


@dataclass
class Make:
    checkout: Path
    emulator: Emulator

    def __call__(self, target: str, *variables: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        environment = self.emulator.environment()
        for name in (*MAKE_VARIABLES, *PROJECT_VARIABLES):
            environment.pop(name, None)
        # The copy shares this checkout's virtualenv: never let its make (re)install it.
        command = ["make", "--no-print-directory", "-o", ".venv/.installed", target, *variables]
        process = subprocess.Popen(
            command,
            cwd=self.checkout,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # so a timeout stops the deploy and Chalice too, not only make
        )
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
        done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
        if ok:
            assert done.returncode == 0, (
                f"make {target} {' '.join(variables)} failed:\n{(stdout + stderr)[-6000:]}\n"
                f"emulator log:\n{self.emulator.log_tail()}"
            )
        return done
