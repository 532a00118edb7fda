"""Child processes in their own session: started with their output logged, stopped as a
whole process group (SIGTERM, then SIGKILL), and tied to the parent's life on Linux.

Used by the devnet launcher, ``jl devnet`` and the node's shell workload, so that starting
and stopping a process group is written once.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

HOST = "127.0.0.1"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGKILL)


def spawn_logged(
    args: Sequence[str], log_path: Path, *, die_with_parent: bool = False
) -> subprocess.Popen[bytes]:
    """Start `args` in a new session (Ctrl-C in the terminal does not reach it), with stdout
    and stderr going to `log_path` and no inherited file descriptors.

    Args:
        args: the program and its arguments.
        log_path: where its output goes (created, with its folder).
        die_with_parent: on Linux, the child gets SIGTERM when this process dies, even by
            ``kill -9`` (``PR_SET_PDEATHSIG``; Linux sends it when the *thread* that started
            the child ends).

    Raises:
        OSError: the program cannot be started.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    preexec = die_with_parent_preexec(os.getpid()) if die_with_parent else None
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            preexec_fn=preexec if sys.platform == "linux" else None,
        )


def stop_process_group(
    target: subprocess.Popen[bytes] | int,
    timeout: float | None = 5.0,
    signals: Sequence[signal.Signals] = STOP_SIGNALS,
) -> bool:
    """Signal the process group that `target` leads, one signal after another, until the
    leader is gone; also whatever it left running in its group.

    Args:
        target: our child (`Popen`, reaped here) or the pid of a group leader we did not
            start (``jl devnet down``).
        timeout: seconds to wait after each signal (None: no limit).
        signals: the signals to send, in order.

    Returns:
        Whether the leader is gone.
    """
    pid = target if isinstance(target, int) else target.pid
    for sig in signals:
        if isinstance(target, subprocess.Popen) and target.returncode is not None:
            return True  # reaped already: its group id may belong to someone else now
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        if _wait_gone(target, timeout):
            return True
    return not process_alive(pid)


def _wait_gone(target: subprocess.Popen[bytes] | int, timeout: float | None) -> bool:
    if isinstance(target, subprocess.Popen):
        try:
            target.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    poll = Retrying(
        stop=stop_after_delay(timeout if timeout is not None else float("inf")),
        wait=wait_fixed(0.02),
        retry=retry_if_result(bool),
        retry_error_callback=lambda state: True,
    )
    return not poll(process_alive, target)


def process_alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not count; our own exited child is reaped here).

    Args:
        pid: the process id.
    """
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child that exited
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError, ValueError, IndexError):
        text = stat.read_text()
        if text[text.rindex(")") + 2] == "Z":
            return False
    return True


def die_with_parent_preexec(parent_pid: int) -> Callable[[], None]:
    """A ``preexec_fn`` that makes the child get SIGTERM when its parent dies (Linux).

    Args:
        parent_pid: the parent's pid, to catch a parent that died before ``prctl``.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (it may be taken by the time it
    is used: callers retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path | None, lines: int = 15) -> str:
    """The last `lines` lines of a log file, for error messages.

    Args:
        path: the log file (None: nothing was captured).
        lines: how many lines.
    """
    if path is None or not path.exists():
        return "(no output captured)"
    data = path.read_bytes()[-8192:].decode("utf-8", "replace")
    return "\n".join(data.splitlines()[-lines:]) or "(no output)"
