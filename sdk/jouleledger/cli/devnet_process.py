"""A devnet that outlives the CLI: spawned detached, found again by its recorded pid.

`jouleledger.devnet.start_devnet` ties its chain to the parent process (it dies with it),
which suits tests and scripts. `jl devnet up` needs the opposite: the chain keeps running
after `jl` exits, in its own session (Ctrl-C in the terminal does not reach it), until
`jl devnet down` stops its process group. Only the program lookup is shared.
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

from web3 import HTTPProvider, Web3

from ..devnet import CHAIN_IDS, DEFAULT_ACCOUNTS, DEFAULT_BALANCE_ETH, DEV_MNEMONIC, HOST, ChainKind
from .config import DevnetRecord
from .errors import CliError, ExitCode

STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def check_port_free(port: int) -> None:
    """Raises `CliError` when something already uses `port` on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            raise CliError(f"port {port} is already in use: pick another --port") from None


def node_args(kind: ChainKind, port: int) -> list[str]:
    """Command-line arguments that make `kind` serve the development accounts on `port`."""
    if kind is ChainKind.ANVIL:
        return [
            "--host", HOST, "--port", str(port), "--chain-id", str(CHAIN_IDS[kind]),
            "--mnemonic", DEV_MNEMONIC, "--accounts", str(DEFAULT_ACCOUNTS),
            "--balance", str(DEFAULT_BALANCE_ETH),
        ]  # fmt: skip
    return [
        "--server.host", HOST, "--server.port", str(port),
        "--chain.chainId", str(CHAIN_IDS[kind]), "--chain.hardfork", "shanghai",
        "--wallet.mnemonic", DEV_MNEMONIC, "--wallet.totalAccounts", str(DEFAULT_ACCOUNTS),
        "--wallet.defaultBalance", str(DEFAULT_BALANCE_ETH), "--miner.blockGasLimit", "30000000",
    ]  # fmt: skip


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
    probe = Web3(HTTPProvider(url, request_kwargs={"timeout": 1}))
    deadline = time.monotonic() + STARTUP_TIMEOUT
    delay = 0.02
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = last_line(log_path)
            if "address already in use" in tail.lower() or "eaddrinuse" in tail.lower():
                raise CliError("the port is already in use: pick another --port")
            raise CliError(
                f"the devnet exited with code {process.returncode} before answering: {tail} "
                f"(full output in {log_path})",
                ExitCode.FAILURE,
            )
        with contextlib.suppress(Exception):
            if probe.is_connected():
                return
        time.sleep(delay)
        delay = min(delay * 2, 0.25)
    raise CliError(
        f"the devnet did not answer at {url} within {STARTUP_TIMEOUT:.0f} s (output in {log_path})",
        ExitCode.FAILURE,
    )


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
    try:
        lines = path.read_bytes()[-4096:].decode("utf-8", "replace").splitlines()
    except OSError:
        return "(no output)"
    useful = [line.strip() for line in lines if line.strip()]
    return useful[-1] if useful else "(no output)"


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
