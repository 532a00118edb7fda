"""A devnet that outlives the CLI: spawned detached, found again by its recorded pid.

`jouleledger.devnet.start_devnet` ties its chain to the parent process (it dies with it),
which suits tests and scripts. `jl devnet up` needs the opposite: the chain keeps running
after `jl` exits, in its own session (Ctrl-C in the terminal does not reach it), until
`jl devnet down` stops its process group. The program lookup, its arguments, the port
choice and the wait for the first answer are the launcher's own (`jouleledger.devnet`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .. import devnet as launcher
from ..devnet import HOST, free_port, log_tail, node_args
from ..errors import DevnetError, DevnetPortInUse
from .config import DevnetRecord
from .errors import CliError, ExitCode

STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0


def check_port_free(port: int) -> None:
    """Raises `CliError` when something already uses `port` on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            raise CliError(f"port {port} is already in use: pick another --port") from None


def spawn(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start `command` detached: its own session, output to `log_path`, no inherited fds.

    Raises:
        CliError: the program cannot be started.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        try:
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise CliError(f"could not start {command[0]}: {exc}", ExitCode.NOT_FOUND) from exc


def wait_until_ready(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    """Wait until the node answers at `url`.

    Raises:
        CliError: it exited, or did not answer within `STARTUP_TIMEOUT` seconds.
    """
    try:
        launcher.wait_until_ready(process, url, STARTUP_TIMEOUT, log_path)
    except DevnetPortInUse:
        raise CliError("the port is already in use: pick another --port") from None
    except DevnetError as exc:
        detail = str(exc).split(";")[0]
        raise CliError(
            f"{detail}: {last_line(log_path)} (full output in {log_path})", ExitCode.FAILURE
        ) from None


def is_running(record: DevnetRecord) -> bool:
    """Whether the recorded devnet's process is alive (and is still that devnet)."""
    return _alive(record.pid) and _looks_like(record)


def stop(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """Stop the process group `pid` leads: SIGTERM, then SIGKILL; returns once it is gone."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.02)
    if _alive(pid):
        raise CliError(f"process {pid} did not stop, even after SIGKILL", ExitCode.FAILURE)


def last_line(path: Path) -> str:
    """The last non-empty line of a log file (for one-line errors)."""
    return log_tail(path, lines=1).strip() or "(no output)"


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child that exited
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        with contextlib.suppress(OSError, IndexError):
            text = stat.read_text()
            if text[text.rindex(")") + 2] == "Z":
                return False
    return True


def _looks_like(record: DevnetRecord) -> bool:
    """Guards against a recycled pid: the process must lead its group and, where /proc
    tells, carry the recorded port on its command line."""
    try:
        if os.getpgid(record.pid) != record.pid:
            return False
    except OSError:
        return False
    cmdline = Path(f"/proc/{record.pid}/cmdline")
    if sys.platform.startswith("linux") and cmdline.exists():
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            return True
        return str(record.port).encode() in args
    return True


__all__ = [
    "check_port_free",
    "free_port",
    "is_running",
    "last_line",
    "node_args",
    "spawn",
    "stop",
    "wait_until_ready",
]
