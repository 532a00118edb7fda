"""One lane per GPU: a node runs one job on each of its GPUs at once, never two on one.

A device's energy counter is per device, not per process, so a job's energy is only its own
when nothing else runs on that device during its window. `GpuLanes` keeps that rule for the
node (the meter refuses an overlap too): a job is handed to a free lane, runs on that lane's
thread, and the lane is free again when it ends. Lanes are named by GPU UUID.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from ..errors import ConfigError
from ..metering import GpuInfo, Meter

logger = logging.getLogger("jouleledger_oracle.node")


def choose_devices(meter: Meter, wanted: Sequence[str]) -> list[GpuInfo]:
    """The devices the node runs jobs on: `wanted` (UUIDs or meter indices), or every device
    the meter lists.

    Args:
        meter: the node's meter.
        wanted: UUIDs (``GPU-...``) or meter indices (``"0"``); empty for all.

    Raises:
        ConfigError: an entry names no device of the meter, or names one twice.
    """
    devices = meter.describe()
    if not wanted:
        return devices
    chosen: list[GpuInfo] = []
    for entry in wanted:
        found = [g for g in devices if entry in (g.uuid, str(g.index))]
        if not found:
            known = ", ".join(f"{g.index}: {g.uuid}" for g in devices)
            raise ConfigError(f"--gpu {entry}: the {meter.kind} meter has no such GPU ({known})")
        if found[0] in chosen:
            raise ConfigError(f"--gpu {entry} is given twice: one job per GPU")
        chosen.append(found[0])
    return chosen


class GpuLanes:
    """The node's GPUs, each running at most one job, on a thread pool of one thread per GPU.

    Args:
        devices: the GPUs (`choose_devices`).
        run: runs one job on one GPU (the worker's); what it raises is kept for `failure`.
        done: called after each job, on the lane's thread (wakes the worker).
    """

    def __init__(
        self,
        devices: Sequence[GpuInfo],
        run: Callable[[int, GpuInfo], None],
        done: Callable[[], None],
    ) -> None:
        if not devices:
            raise ConfigError("the node has no GPU to run jobs on")
        self.devices = list(devices)
        self._run = run
        self._done = done
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}
        self._failures: list[BaseException] = []
        self._pool = ThreadPoolExecutor(
            max_workers=len(self.devices), thread_name_prefix="oracle-gpu"
        )

    def free(self) -> list[GpuInfo]:
        """The GPUs running no job now, in the node's order."""
        with self._lock:
            return [g for g in self.devices if g.uuid not in self._running]

    def running(self) -> dict[str, int]:
        """The job each busy GPU runs, by GPU UUID."""
        with self._lock:
            return dict(self._running)

    def dispatch(self, gpu: GpuInfo, job_id: int) -> None:
        """Run `job_id` on `gpu`'s lane.

        Args:
            gpu: a free GPU (from `free`).
            job_id: the job.

        Raises:
            RuntimeError: the GPU is already running a job (a bug in the caller).
        """
        with self._lock:
            if gpu.uuid in self._running:
                raise RuntimeError(
                    f"GPU {gpu.uuid} already runs job {self._running[gpu.uuid]}; one job per GPU"
                )
            self._running[gpu.uuid] = job_id
        self._pool.submit(self._lane, gpu, job_id)

    def _lane(self, gpu: GpuInfo, job_id: int) -> None:
        try:
            self._run(job_id, gpu)
        except BaseException as exc:  # kept for the worker loop's backoff and error count
            with self._lock:
                self._failures.append(exc)
        finally:
            with self._lock:
                self._running.pop(gpu.uuid, None)
            self._done()

    def failure(self) -> BaseException | None:
        """The oldest failure of a lane not yet reported, if any (each is reported once)."""
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def shutdown(self) -> None:
        """Wait for the running jobs to end and stop the lanes' threads."""
        self._pool.shutdown(wait=True)
