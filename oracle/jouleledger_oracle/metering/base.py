"""What every meter backend shares: the reading, the GPU description and the interfaces.

A backend (`nvml`, `simulated`; AMD SMI and RAPL later) subclasses `Meter` and `MeterSession`.
`Meter` owns the rule that one GPU measures one job at a time; `MeterSession` owns the rule that
a window ends exactly once, by `stop` (a `Reading`) or `abort` (nothing).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import ClassVar, Final, Literal, Self

from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field, model_validator

from jouleledger.eip712.records import MeterKind

from ..errors import MeterError
from .samples import PowerSample, UtilisationSample

MeterKindName = Literal["nvml", "simulated"]
"""A `jouleledger.records.MeterKind` as a reading spells it (the member's name, lower case)."""
MeterChoice = Literal["auto", "nvml", "simulated"]
EnergySource = Literal["counter", "power_integral", "counter_since_reset", "model"]
"""Where `Reading.energy_mj` comes from.

- ``counter``: energy counter delta over the window (the normal, attested case).
- ``power_integral``: the counter was reset during the window; integral of the power samples.
- ``counter_since_reset``: the counter was reset and no power samples exist; energy counted
  since the reset only (a lower bound).
- ``model``: the simulated meter's power model.
"""

Clock = Callable[[], float]
"""Returns unix time in seconds (``time.time``); injected so tests control time."""

SIMULATED_UUID_PREFIX: Final = "SIM-"
DEFAULT_MIN_WINDOW_S: Final = 1.0
DEFAULT_SAMPLE_INTERVAL_S: Final = 0.1
DEFAULT_MAX_SAMPLES: Final = 1000


def record_meter_kind(name: MeterKindName) -> MeterKind:
    """The usage record's `MeterKind` for a reading's `meter_kind`.

    Args:
        name: ``nvml`` or ``simulated``.

    Raises:
        KeyError: not a meter kind the SDK knows.
    """
    return MeterKind[name.upper()]


def gpu_id_hash(gpu_uuid: str) -> str:
    """The on-chain identity of a GPU: keccak256 of its UUID string (UTF-8), as 0x-hex bytes32.

    Args:
        gpu_uuid: NVML's UUID (``GPU-...``, ``MIG-...``) or a simulated one (``SIM-...``).
    """
    return "0x" + keccak(text=gpu_uuid).hex()


class GpuInfo(BaseModel):
    """One GPU a meter can measure."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=0)
    uuid: str = Field(min_length=1)
    name: str
    driver_version: str

    @property
    def gpu_id_hash(self) -> str:
        """keccak256 of the UUID, the hash a usage record carries."""
        return gpu_id_hash(self.uuid)


class Reading(BaseModel):
    """What a meter measured for one job on one GPU: the raw material of a usage record.

    `gpu_millis` and `energy_mj` cover the same window, ``[start, end]``; when a short job's
    window was widened so the energy counter could advance, that window is longer than the
    work itself (`work_millis`), and the GPU was held for the whole of it. A simulated reading
    must carry a ``SIM-`` GPU and model energy, and nothing else may: a simulated reading
    cannot pass as a measured one.
    """

    model_config = ConfigDict(frozen=True)

    job_id: int = Field(ge=0)
    meter_kind: MeterKindName
    gpu_index: int = Field(ge=0)
    gpu_uuid: str = Field(min_length=1)
    gpu_id_hash: str = Field(pattern=r"^0x[0-9a-f]{64}$")
    start_time: int = Field(ge=0, description="unix seconds, rounded down")
    end_time: int = Field(ge=0, description="unix seconds, rounded up")
    gpu_millis: int = Field(ge=0, description="GPU-milliseconds of the measured window")
    work_millis: int = Field(ge=0, description="milliseconds the workload itself ran")
    energy_mj: int = Field(ge=0, description="millijoules used in the window")
    energy_source: EnergySource
    power_integral_mj: int | None = Field(
        default=None, ge=0, description="integral of the power samples, to cross-check"
    )
    power_samples: tuple[PowerSample, ...] = ()
    utilisation_samples: tuple[UtilisationSample, ...] = ()
    coarse: bool = Field(description="window under ~1 s or counter never advanced: read poorly")
    counter_reset: bool = Field(description="the energy counter went backwards in the window")
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.end_time < self.start_time:
            raise ValueError("end_time is before start_time")
        if self.gpu_id_hash != gpu_id_hash(self.gpu_uuid):
            raise ValueError("gpu_id_hash is not keccak256 of gpu_uuid")
        simulated_uuid = self.gpu_uuid.startswith(SIMULATED_UUID_PREFIX)
        if self.meter_kind == "simulated":
            if not simulated_uuid or self.energy_source != "model":
                raise ValueError("a simulated reading needs a SIM- GPU and model energy")
        elif simulated_uuid or self.energy_source == "model":
            raise ValueError("an NVML reading cannot carry a simulated GPU or model energy")
        return self


class MeterSession(AbstractContextManager["MeterSession"], ABC):
    """One job being measured on one GPU. Stop it once to get the `Reading`.

    As a context manager it aborts on exit unless `stop` was called, so an exception inside
    the ``with`` block never leaves a sampler running or the GPU marked busy.

    Args:
        job_id: the on-chain job id.
        gpu: the GPU being measured.
        release: frees the GPU for the next job; called exactly once.
    """

    def __init__(self, job_id: int, gpu: GpuInfo, release: Callable[[], None]) -> None:
        self.job_id = job_id
        self.gpu = gpu
        self._release = release
        self._done = False

    def stop(self, *, work_units: int | None = None) -> Reading:
        """End the window and return what was measured.

        Args:
            work_units: work the job produced (AI tokens). The simulated meter uses it to model
                utilisation; NVML measures and ignores it.

        Raises:
            MeterError: the session was already stopped or aborted, or the GPU could not be read.
        """
        if self._done:
            raise MeterError(f"the meter session for job {self.job_id} is already closed")
        self._done = True
        try:
            return self._finish(work_units)
        finally:
            self._release()

    def abort(self) -> None:
        """Discard the session without a reading (the job failed). Safe to call twice."""
        if self._done:
            return
        self._done = True
        try:
            self._cancel()
        finally:
            self._release()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.abort()

    @abstractmethod
    def _finish(self, work_units: int | None) -> Reading: ...

    @abstractmethod
    def _cancel(self) -> None: ...


class Meter(AbstractContextManager["Meter"], ABC):
    """Measures jobs on the GPUs of this machine, one job per GPU at a time.

    An energy counter is per GPU, not per process, so two overlapping jobs on one GPU would
    each be credited the other's energy; `start` refuses that. Backends set `kind` and
    implement `describe` and `_open`.
    """

    kind: ClassVar[MeterKindName]

    def __init__(self) -> None:
        self._busy: set[int] = set()
        self._busy_lock = threading.Lock()
        self._closed = False

    @abstractmethod
    def describe(self) -> list[GpuInfo]:
        """The GPUs this meter can measure, by index."""

    def start(self, job_id: int, *, gpu_index: int = 0) -> MeterSession:
        """Open the measurement window for `job_id` on one GPU.

        Args:
            job_id: the on-chain job id; it ends up in the reading.
            gpu_index: which GPU (an index from `describe`).

        Raises:
            MeterError: no GPU with that index, the GPU is measuring another job, or it
                could not be read.
            MeterUnavailable: the GPU cannot be metered at all (no energy counter).
        """
        if self._closed:
            raise MeterError(f"the {self.kind} meter is closed")
        if job_id < 0:
            raise MeterError(f"job id must be a non-negative integer, got {job_id}")
        gpus = {gpu.index: gpu for gpu in self.describe()}
        if gpu_index not in gpus:
            raise MeterError(f"no GPU with index {gpu_index}; this meter has {sorted(gpus)}")
        with self._busy_lock:
            if gpu_index in self._busy:
                raise MeterError(
                    f"GPU {gpu_index} is already measuring a job; its energy counter is per "
                    "GPU, so jobs on one GPU must not overlap"
                )
            self._busy.add(gpu_index)
        try:
            return self._open(job_id, gpus[gpu_index], lambda: self._free(gpu_index))
        except BaseException:
            self._free(gpu_index)
            raise

    def close(self) -> None:
        """Stop accepting jobs and release what the meter holds (a vendor library's handle)."""
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _free(self, gpu_index: int) -> None:
        with self._busy_lock:
            self._busy.discard(gpu_index)

    @abstractmethod
    def _open(self, job_id: int, gpu: GpuInfo, release: Callable[[], None]) -> MeterSession: ...
