"""Small helpers shared by the components: detached processes, pid files, ports, log tails.

The servers started by ``python -m infra up`` must outlive that command, so they run in
their own session (no controlling terminal, no Ctrl-C from the shell) with their output
appended to a log file. A pid file records who they are; before trusting it we check that
the pid is alive *and* that its command line still looks like our server, so a stale pid
file whose number the kernel has reused for another process is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class InfraError(RuntimeError):
    """A component could not be brought up or down; the message says why and what to do."""


# Popen objects of servers started by *this* Python process. Keeping them referenced
# avoids "subprocess N is still running" ResourceWarnings when a long-lived process (a
# pytest session) starts the servers, and lets stop() reap them so no zombie is left that
# would still look alive to os.kill(pid, 0).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a text file, or a note that it does not exist."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    except PermissionError:
        return f"({path} is not readable)"
    text = "\n".join(data.splitlines()[-lines:])
    return text or f"({path} is empty)"


def format_tails(*paths: Path, lines: int = 30) -> str:
    """Log tails ready to append to an error message."""
    return "".join(f"\n--- last lines of {p} ---\n{tail(p, lines)}" for p in paths)


def port_is_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode("utf-8", errors="replace")


def pid_is_alive(pid: int) -> bool:
    """True if ``pid`` is a live process (zombies count as dead)."""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        del _CHILDREN[pid]
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # Field 3 is the state; the command name in field 2 may contain spaces, hence rsplit.
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")


def read_pid(pid_file: Path, marker: str) -> int | None:
    """The pid in ``pid_file`` if that process is alive and its command line has ``marker``.

    A stale pid file (dead process, or a recycled pid now used by something else) is removed.
    """
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    if pid_is_alive(pid) and marker in _cmdline(pid):
        return pid
    pid_file.unlink(missing_ok=True)
    return None


def spawn_detached(
    argv: Sequence[str],
    *,
    log_file: Path,
    pid_file: Path,
    cwd: Path,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session, output appended to ``log_file``, pid in ``pid_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        out.write(
            f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(argv)}\n".encode()
        )
        out.flush()
        proc = subprocess.Popen(  # noqa: S603 - argv is built by infra, never from user text
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    _CHILDREN[proc.pid] = proc
    pid_file.write_text(f"{proc.pid}\n")
    return proc


def terminate(pid: int, *, timeout: float = 30.0) -> bool:
    """SIGTERM ``pid``, wait up to ``timeout`` seconds, then SIGKILL. True if it was killed."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_is_alive(pid):
            _reap(pid)
            return False
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        if not pid_is_alive(pid):
            break
        time.sleep(0.1)
    _reap(pid)
    return True


def _reap(pid: int) -> None:
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=1)


@dataclass(frozen=True)
class Status:
    """What ``python -m infra status`` shows for one component."""

    component: str
    running: bool
    address: str
    pid: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class StartResult:
    """Outcome of a component's ``start()``: ``already_running`` makes ``up`` idempotent."""

    component: str
    already_running: bool
    pid: int | None
    detail: str
