"""What every meter backend shares: the reading, the device description and the interfaces.

A backend (`nvml`, `amd`, `rapl`, `simulated`) subclasses `Meter` and `MeterSession`.
`Meter` owns the rule that one device measures one job at a time (its energy counter is per
device, not per process); `MeterSession` owns the rule that a window ends exactly once, by
`stop` (a `Reading`) or `abort` (nothing). Devices are named by UUID; an index is only a
position in `Meter.describe`, never a CUDA or HIP ordinal.
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

MeterKindName = Literal["nvml", "amd-smi", "rapl", "simulated"]
"""A `jouleledger.records.MeterKind` as a reading spells it (`MeterKind.label`)."""
MeterChoice = Literal["auto", "nvml", "amd-smi", "rapl", "simulated"]
METER_CHOICES: Final[tuple[MeterChoice, ...]] = ("auto", "nvml", "amd-smi", "rapl", "simulated")
EnergySource = Literal["counter", "model"]
"""Where `Reading.energy_mj` comes from.

- ``counter``: energy counter delta over the window (the only measured case; a window in
  which the counter went backwards is refused, never bridged).
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
        name: ``nvml``, ``amd-smi``, ``rapl`` or ``simulated``.

    Raises:
        ValueError: not a meter kind the SDK knows.
    """
    return MeterKind.from_label(name)


def gpu_id_hash(gpu_uuid: str) -> str:
    """The on-chain identity of a GPU: keccak256 of its UUID string (UTF-8), as 0x-hex bytes32.

    Args:
        gpu_uuid: the vendor's UUID (``GPU-...``, ``MIG-...``), a RAPL package's (``CPU-...``)
            or a simulated one (``SIM-...``).
    """
    return "0x" + keccak(text=gpu_uuid).hex()


def check_meter_claim(meter_kind: str, gpu_uuid: str, energy_source: str) -> None:
    """Refuse a meter kind its device and energy contradict: a simulated reading must carry a
    ``SIM-`` GPU and model energy, and nothing else may, so a simulated record can never
    claim a real meter kind (nor a measured one pass as simulated).

    Args:
        meter_kind: the reading's or record's meter kind label.
        gpu_uuid: its device's UUID.
        energy_source: where its energy came from (``counter`` or ``model``).

    Raises:
        ValueError: they contradict each other.
    """
    simulated_uuid = gpu_uuid.startswith(SIMULATED_UUID_PREFIX)
    if meter_kind == "simulated":
        if not simulated_uuid or energy_source != "model":
            raise ValueError("a simulated reading needs a SIM- GPU and model energy")
    elif simulated_uuid or energy_source == "model":
        raise ValueError(
            f"a measured ({meter_kind}) reading cannot carry a simulated GPU or model energy"
        )


class GpuInfo(BaseModel):
    """One device a meter can measure: a GPU, or a CPU package for RAPL.

    `index` is the device's position in its meter's list (NVML's, AMD SMI's or the powercap
    tree's order), not the CUDA or HIP ordinal a framework uses: `uuid` is what ties the
    metered device to the one a job runs on.
    """

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
        check_meter_claim(self.meter_kind, self.gpu_uuid, self.energy_source)
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
    """Measures jobs on the devices of this machine, one job per device at a time.

    An energy counter is per device, not per process, so two overlapping jobs on one device
    would each be credited the other's energy; `start` refuses that. Backends set `kind` and
    implement `describe` and `_open`.
    """

    kind: ClassVar[MeterKindName]

    def __init__(self) -> None:
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()
        self._closed = False

    @abstractmethod
    def describe(self) -> list[GpuInfo]:
        """The devices this meter can measure, in its own order."""

    def device(self, *, gpu_index: int | None = None, gpu_uuid: str | None = None) -> GpuInfo:
        """One of `describe`'s devices, by UUID (preferred) or by its index in that list.

        Args:
            gpu_index: the device's `GpuInfo.index`.
            gpu_uuid: the device's UUID; wins over `gpu_index`.

        Raises:
            MeterError: no such device (the message lists the known ones).
        """
        gpus = self.describe()
        if gpu_uuid is not None:
            found = [gpu for gpu in gpus if gpu.uuid == gpu_uuid]
            what = f"UUID {gpu_uuid}"
        else:
            index = 0 if gpu_index is None else gpu_index
            found = [gpu for gpu in gpus if gpu.index == index]
            what = f"index {index}"
        if not found:
            known = ", ".join(f"{gpu.index}: {gpu.uuid}" for gpu in gpus) or "none"
            raise MeterError(f"no GPU with {what}; this {self.kind} meter has {known}")
        return found[0]

    def busy(self) -> set[str]:
        """UUIDs of the devices measuring a job now."""
        with self._busy_lock:
            return set(self._busy)

    def start(
        self, job_id: int, *, gpu_index: int | None = None, gpu_uuid: str | None = None
    ) -> MeterSession:
        """Open the measurement window for `job_id` on one device.

        Args:
            job_id: the on-chain job id; it ends up in the reading.
            gpu_index: which device, as an index from `describe` (default 0).
            gpu_uuid: which device, by UUID; wins over `gpu_index`.

        Raises:
            MeterError: no such device, the device is measuring another job, or it could
                not be read.
            MeterUnavailable: the device cannot be metered at all (no energy counter).
        """
        if self._closed:
            raise MeterError(f"the {self.kind} meter is closed")
        if job_id < 0:
            raise MeterError(f"job id must be a non-negative integer, got {job_id}")
        gpu = self.device(gpu_index=gpu_index, gpu_uuid=gpu_uuid)
        with self._busy_lock:
            if gpu.uuid in self._busy:
                raise MeterError(
                    f"GPU {gpu.index} ({gpu.uuid}) is already measuring a job; its energy "
                    "counter is per device, not per process, so jobs on one GPU must not overlap"
                )
            self._busy.add(gpu.uuid)
        try:
            return self._open(job_id, gpu, lambda: self._free(gpu.uuid))
        except BaseException:
            self._free(gpu.uuid)
            raise

    def close(self) -> None:
        """Stop accepting jobs and release what the meter holds (a vendor library's handle)."""
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _free(self, gpu_uuid: str) -> None:
        with self._busy_lock:
            self._busy.discard(gpu_uuid)

    @abstractmethod
    def _open(self, job_id: int, gpu: GpuInfo, release: Callable[[], None]) -> MeterSession: ...
