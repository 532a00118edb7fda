"""A devnet that outlives the CLI: spawned detached, found again by its recorded pid.

`jouleledger.start_devnet` ties its chain to the parent process (it dies with it),
which suits tests and scripts. `jl devnet up` needs the opposite: the chain keeps running
after `jl` exits, in its own session (Ctrl-C in the terminal does not reach it), until
`jl devnet down` stops its process group. The program lookup, its arguments, the port
choice, the wait for the first answer and starting and stopping the process group are the
launcher's own (`jouleledger.transport`); this module words their failures for the CLI.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from .. import transport
from ..errors import DevnetError, DevnetPortInUse
from ..transport import HOST, log_tail, process_alive, spawn_logged, stop_process_group
from .config import DevnetRecord
from .errors import CliError, ExitCode

STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0


def check_port_free(port: int) -> None:
    """Refuse a port that something on 127.0.0.1 already uses.

    Args:
        port: the TCP port.

    Raises:
        CliError: it is in use.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            raise CliError(f"port {port} is already in use: pick another --port") from None


def spawn(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start `command` detached: its own session, output to `log_path`, no inherited fds.

    Args:
        command: the program and its arguments.
        log_path: where its output goes.

    Raises:
        CliError: the program cannot be started.
    """
    try:
        return spawn_logged(command, log_path)
    except OSError as exc:
        raise CliError(f"could not start {command[0]}: {exc}", ExitCode.NOT_FOUND) from exc


def wait_until_ready(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    """Wait until the node answers at `url`.

    Args:
        process: the node's process.
        url: its JSON-RPC URL.
        log_path: its output, quoted in errors.

    Raises:
        CliError: it exited, or did not answer within `STARTUP_TIMEOUT` seconds.
    """
    try:
        transport.wait_until_ready(process, url, STARTUP_TIMEOUT, log_path)
    except DevnetPortInUse:
        raise CliError("the port is already in use: pick another --port") from None
    except DevnetError as exc:
        detail = str(exc).split(";")[0]
        raise CliError(
            f"{detail}: {last_line(log_path)} (full output in {log_path})", ExitCode.FAILURE
        ) from None


def is_running(record: DevnetRecord) -> bool:
    """Whether the recorded devnet's process is alive (and is still that devnet).

    Args:
        record: what `jl devnet up` recorded.
    """
    return process_alive(record.pid) and _looks_like(record)


def stop(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """Stop the process group `pid` leads: SIGTERM, then SIGKILL; returns once it is gone.

    Args:
        pid: the group leader's pid.
        timeout: seconds to wait after each signal.

    Raises:
        CliError: it still runs after SIGKILL.
    """
    if not stop_process_group(pid, timeout):
        raise CliError(f"process {pid} did not stop, even after SIGKILL", ExitCode.FAILURE)


def last_line(path: Path) -> str:
    """The last non-empty line of a log file (for one-line errors).

    Args:
        path: the log file.
    """
    return log_tail(path, lines=1).strip() or "(no output)"


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
    "is_running",
    "last_line",
    "spawn",
    "stop",
    "wait_until_ready",
]
