"""The ``shell`` workload: a command in a sandbox of limits.

The command is an argument list, never a shell string. It runs under a wall-time, memory
(RLIMIT_AS) and output-size (RLIMIT_FSIZE) limit, in a process group of its own that is killed
when the command ends, so nothing it started keeps running. Its output is stdout.
"""

from __future__ import annotations

import os
import re
import resource
import select
import signal
import subprocess
import tempfile
from collections.abc import Callable
from typing import IO, ClassVar, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from jouleledger.transport.processes import stop_process_group

from ..errors import WorkloadError, WorkloadLimitExceeded, WorkloadTimeout
from .base import Workload, WorkloadContext, WorkloadOutput
from .devices import job_environment

_MIB: Final = 1024 * 1024
_OOM_MARKERS: Final = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")
_REPORTED_UNITS: Final = re.compile(rb"^work_units=(\d+)\s*$")


class ShellInputs(BaseModel):
    """A command to run, with its limits.

    `work_units` is ``output_bytes`` (bytes written to stdout) or ``reported``: the command's
    last ``work_units=<n>`` line on stderr, for commands that count their own tokens.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    command: list[str] = Field(min_length=1)
    timeout_s: float = Field(10.0, gt=0, le=7 * 24 * 3600)
    memory_mb: int = Field(256, ge=16, le=4 * 1024 * 1024)
    max_output_bytes: int = Field(16 * _MIB, ge=1, le=1024 * _MIB)
    work_units: Literal["output_bytes", "reported"] = "output_bytes"

    @model_validator(mode="after")
    def _has_program(self) -> Self:
        if not self.command[0]:
            raise ValueError("command[0] (the program) is empty")
        return self


def _rlimit(kind: int, wanted: int) -> tuple[int, int]:
    """(soft, hard) for `kind` at `wanted`, never above the hard limit we already have."""
    _, hard = resource.getrlimit(kind)
    value = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    return value, value


def _limits_setter(memory: tuple[int, int], fsize: tuple[int, int]) -> Callable[[], None]:
    """The child's preexec_fn: only setrlimit calls, computed in the parent beforehand."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, memory)
        resource.setrlimit(resource.RLIMIT_FSIZE, fsize)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _wait_without_reaping(proc: subprocess.Popen[bytes], timeout_s: float) -> bool:
    """Wait until the child exits, leaving it unreaped so its pid (= process group id) cannot be
    reused before we kill the group. True if it exited, False on timeout."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # no pidfd (old kernel, macOS): poll, still not reaping
        poll = Retrying(
            stop=stop_after_delay(timeout_s),
            wait=wait_fixed(0.02),
            retry=retry_if_result(lambda exited: not exited),
            retry_error_callback=lambda state: False,
        )
        return bool(poll(_exited_unreaped, proc.pid))
    try:
        readable, _, _ = select.select([pidfd], [], [], timeout_s)
        return bool(readable)
    finally:
        os.close(pidfd)


def _exited_unreaped(pid: int) -> bool:
    """Whether our child `pid` has exited, without reaping it (``WNOWAIT``)."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _tail(stream: IO[bytes], limit: int = 2000) -> bytes:
    size = stream.seek(0, os.SEEK_END)
    stream.seek(max(0, size - limit))
    return stream.read()


class Shell(Workload[ShellInputs]):
    """Runs a command under limits; work units are stdout bytes or what the command reports."""

    name: ClassVar[str] = "shell"
    summary: ClassVar[str] = "a command (argument list) under time, memory and output limits"

    def run(self, inputs: ShellInputs, context: WorkloadContext) -> WorkloadOutput:
        """Run the command and capture its stdout.

        Args:
            inputs: command and limits.
            context: the metered device; the command sees only that GPU (by UUID in
                ``CUDA_VISIBLE_DEVICES`` / ``ROCR_VISIBLE_DEVICES``) and its UUID in
                ``JL_GPU_UUID``.

        Raises:
            WorkloadTimeout: it ran past `timeout_s` (it and its process group were killed).
            WorkloadLimitExceeded: it ran out of memory or wrote more than `max_output_bytes`.
            WorkloadError: it could not start, exited non-zero, or reported no work units.
        """
        memory = _rlimit(resource.RLIMIT_AS, inputs.memory_mb * _MIB)
        fsize = _rlimit(resource.RLIMIT_FSIZE, inputs.max_output_bytes + 1)
        shown = " ".join(inputs.command)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(
                    inputs.command,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    preexec_fn=_limits_setter(memory, fsize),  # setrlimit only: fork-safe
                    start_new_session=True,
                    close_fds=True,
                    env=job_environment(context, os.environ),
                )
            except (OSError, subprocess.SubprocessError) as exc:
                raise WorkloadError(f"could not start {shown!r}: {exc}") from exc
            try:
                exited = _wait_without_reaping(proc, inputs.timeout_s)
            finally:
                # SIGKILL the whole group (also whatever it left running) and reap the child.
                stop_process_group(proc, timeout=None, signals=(signal.SIGKILL,))
            if not exited:
                raise WorkloadTimeout(
                    f"{shown!r} ran past its {inputs.timeout_s:g} s limit and was killed"
                )
            stdout_size = out.seek(0, os.SEEK_END)
            stderr_tail = _tail(err)
            returncode = proc.returncode
            if returncode == -signal.SIGXFSZ or stdout_size > inputs.max_output_bytes:
                raise WorkloadLimitExceeded(
                    f"{shown!r} wrote more than max_output_bytes={inputs.max_output_bytes}"
                )
            if returncode != 0:
                text = stderr_tail.decode(errors="replace").strip()
                if any(marker in text for marker in _OOM_MARKERS):
                    raise WorkloadLimitExceeded(
                        f"{shown!r} ran out of memory under its {inputs.memory_mb} MB limit "
                        f"(raise memory_mb): {text[-300:]}"
                    )
                raise WorkloadError(f"{shown!r} exited with status {returncode}: {text[-500:]}")
            out.seek(0)
            stdout = out.read()
        if inputs.work_units == "reported":
            units = self._reported_units(stderr_tail)
            if units is None:
                raise WorkloadError(
                    f"{shown!r} was to report its work units as a 'work_units=<n>' line on stderr "
                    "and did not"
                )
        else:
            units = len(stdout)
        return WorkloadOutput(work_units=units, output=stdout, backend="subprocess")

    @staticmethod
    def _reported_units(stderr_tail: bytes) -> int | None:
        for line in reversed(stderr_tail.splitlines()):
            match = _REPORTED_UNITS.match(line.strip())
            if match:
                return int(match.group(1))
        return None
