"""Child processes of the local stack that cannot outlive it.

The stack starts DynamoDB Local and `chalice local` in sessions of their own, so a Ctrl-C
in the terminal reaches only the stack, which then stops them in order. That also means no
signal sent to the terminal's process group reaches them, and a stack killed with SIGKILL
could not stop them: on Linux each child asks the kernel to send it SIGTERM when its parent
dies (``prctl(PR_SET_PDEATHSIG)``), so nothing is left behind either way.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
# Loaded before any fork: the function called between fork and exec must already be resolved.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def die_with_this_process() -> Callable[[], None] | None:
    """A ``preexec_fn`` giving the child SIGTERM when this process dies (None off Linux).

    The kernel ties the signal to the parent *thread*: start children from a thread that
    lives as long as they should (the main thread, for the stack, the tests and the bench).
    """
    if _LIBC is None:
        return None
    libc = _LIBC
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM to the child's process group (it leads one: its own session), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
