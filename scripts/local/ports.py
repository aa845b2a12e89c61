"""Who is listening on a port, so a busy port is reported in one line instead of a traceback.

Linux lists listening sockets in ``/proc/net/tcp`` and ``/proc/net/tcp6`` with their inode, and
each process's descriptors in ``/proc/<pid>/fd`` point at ``socket:[<inode>]``. Other users'
descriptors are unreadable without root; ``ss -ltnp`` is asked next where it is installed, and
otherwise the answer is "another program" (with its user, which /proc/net/tcp does show).
"""

from __future__ import annotations

import contextlib
import errno
import pwd
import re
import shutil
import socket
import subprocess
from pathlib import Path

PROC = Path("/proc")
LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's "st" column


def _listening_sockets(port: int) -> list[tuple[str, int]]:
    """(inode, uid) of every socket listening on ``port``, IPv4 and IPv6."""
    found = []
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != LISTEN:
                continue
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                found.append((fields[9], int(fields[7])))
    return found


def _pid_holding(inode: str) -> int | None:
    target = f"socket:[{inode}]"
    for process in PROC.iterdir():
        if not process.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for descriptor in (process / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if descriptor.readlink().as_posix() == target:
                        return int(process.name)
    return None


def _pid_from_ss(port: int) -> int | None:
    ss = shutil.which("ss")
    if ss is None:
        return None
    try:
        listing = subprocess.run(
            [ss, "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"pid=(\d+)", listing)
    return int(match.group(1)) if match else None


def command_of(pid: int) -> str:
    """The process's command line, or its name when the command line cannot be read."""
    try:
        arguments = (PROC / str(pid) / "cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        command = " ".join(argument.decode(errors="replace") for argument in arguments)
        if command:
            return command
        return (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return "?"


def listener_pid(port: int) -> int | None:
    """The pid of a process listening on ``port``, when this user may know it."""
    for inode, _uid in _listening_sockets(port):
        pid = _pid_holding(inode)
        if pid is not None:
            return pid
    return _pid_from_ss(port)


def describe_listener(port: int) -> str:
    """Who listens on ``port``: "pid 123 (command)", or "another program" (with its user when known)."""
    pid = listener_pid(port)
    if pid is not None:
        return f"pid {pid} ({command_of(pid)})"
    for _inode, uid in _listening_sockets(port):
        with contextlib.suppress(KeyError):
            return f"another program (user {pwd.getpwuid(uid).pw_name})"
    return "another program"


def require_free(host: str, port: int, purpose: str) -> None:
    """Exit with one line naming the port and what holds it, unless a server could bind ``host:port`` now.

    Binding is what the server will do, so this asks the same question: with SO_REUSEADDR, as
    the standard library's HTTP server and Jetty set it, a port left in TIME_WAIT by a previous
    run counts as free, and a listener on a wildcard address that covers ``host`` does not.
    """
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as error:
        raise SystemExit(f"error: cannot listen on {host}:{port} ({purpose}): {error.strerror}.") from None
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise SystemExit(f"error: port {port} ({purpose}) is taken by {describe_listener(port)}.") from None
            raise SystemExit(f"error: cannot listen on {host}:{port} ({purpose}): {error.strerror}.") from None


def free_port() -> int:
    """A port free on 127.0.0.1 right now (for tests and the bench, which run their own instances)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts connections on ``host:port``."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
