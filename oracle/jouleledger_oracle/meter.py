"""GPU meters: measure the time and energy a job uses on one GPU.

One interface, two backends:

- `NvmlMeter` reads the real GPU through NVIDIA's NVML (PyPI ``nvidia-ml-py``, ``import pynvml``).
  Energy is the delta of NVML's millijoule energy counter over the job window (DESIGN.md); a
  background thread samples power and utilisation so the counter can be cross-checked and so a
  counter reset can be bridged. This is the only module in the project that touches NVML, and it
  imports ``pynvml`` lazily, so the package imports on machines without it.
- `SimulatedMeter` models a GPU class (idle/peak power, throughput) with seeded noise, for
  machines without a GPU. Its readings say ``meter_kind="simulated"`` and carry ``SIM-`` GPU
  UUIDs; `Reading` refuses to be built any other way, so a simulated reading cannot pass as NVML.

Use it as::

    with select_meter("auto") as meter, meter.start(job_id) as session:
        run_the_job()
        reading = session.stop(work_units=tokens)

A session that is left without `MeterSession.stop` (an exception) is aborted: its sampler thread
ends and the GPU is free for the next job.
"""

from __future__ import annotations

import importlib
import logging
import math
import random
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Final, Literal, Protocol, Self, cast

from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field, model_validator

from jouleledger import gpu as catalogue

from .errors import ConfigError, MeterError, MeterUnavailable, NoGpuProfile

logger = logging.getLogger(__name__)

MeterKind = Literal["nvml", "simulated"]
MeterChoice = Literal["auto", "nvml", "simulated"]
EnergySource = Literal["counter", "power_integral", "counter_since_reset", "model"]
"""Where `Reading.energy_mj` comes from.

- ``counter``: NVML energy counter delta over the window (the normal, attested case).
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
_WIDEN_POLL_S: Final = 0.05
_CROSS_CHECK_MIN_WINDOW_S: Final = 5.0
_CROSS_CHECK_TOLERANCE: Final = 0.2


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


class PowerSample(BaseModel):
    """Board power at one moment: `t` unix seconds, `power_mw` milliwatts."""

    model_config = ConfigDict(frozen=True)

    t: float
    power_mw: int = Field(ge=0)


class UtilisationSample(BaseModel):
    """GPU and memory-controller utilisation (percent) at one moment."""

    model_config = ConfigDict(frozen=True)

    t: float
    gpu_pct: int = Field(ge=0, le=100)
    memory_pct: int = Field(ge=0, le=100)


class Reading(BaseModel):
    """What a meter measured for one job on one GPU: the raw material of a usage record.

    `gpu_millis` and `energy_mj` cover the same window, ``[start, end]``; when a short job's
    window was widened so the energy counter could advance, that window is longer than the
    work itself (`work_millis`), and the GPU was held for the whole of it.
    """

    model_config = ConfigDict(frozen=True)

    job_id: int = Field(ge=0)
    meter_kind: MeterKind
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


# --- the interface -----------------------------------------------------------------------------


class MeterSession(ABC):
    """One job being measured on one GPU. Stop it once to get the `Reading`.

    As a context manager it aborts on exit unless `stop` was called, so an exception inside
    the ``with`` block never leaves a sampler running or the GPU marked busy.
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

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()

    @abstractmethod
    def _finish(self, work_units: int | None) -> Reading: ...

    @abstractmethod
    def _cancel(self) -> None: ...


class Meter(ABC):
    """Measures jobs on the GPUs of this machine, one job per GPU at a time.

    The NVML energy counter is per GPU, not per process, so two overlapping jobs on one GPU
    would each be credited the other's energy; `start` refuses that.
    """

    kind: ClassVar[MeterKind]

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
        """Stop accepting jobs and release what the meter holds (NVML's handle)."""
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _free(self, gpu_index: int) -> None:
        with self._busy_lock:
            self._busy.discard(gpu_index)

    @abstractmethod
    def _open(self, job_id: int, gpu: GpuInfo, release: Callable[[], None]) -> MeterSession: ...


# --- samples -------------------------------------------------------------------------------


class _SampleBuffer:
    """Power, utilisation and counter samples of one window, bounded in memory.

    The power integral and the counter segments are accumulated as samples arrive, so they use
    every sample; the stored sample lists are thinned (every other one dropped) whenever they
    reach `max_samples`, so an hours-long job does not grow without bound.
    """

    def __init__(self, max_samples: int) -> None:
        self._max = max(2, max_samples)
        self._lock = threading.Lock()
        self.power: list[PowerSample] = []
        self.utilisation: list[UtilisationSample] = []
        self._power_stride = 1
        self._power_seen = 0
        self._util_stride = 1
        self._util_seen = 0
        self._last_power: tuple[float, int] | None = None
        self.power_integral_mj = 0.0
        self.power_count = 0
        self._last_counter: int | None = None
        self.first_counter: int | None = None
        self.counter_segments_mj = 0
        self.counter_resets = 0
        self.read_errors = 0

    def add_power(self, t: float, power_mw: int) -> None:
        with self._lock:
            if self._last_power is not None:
                t0, p0 = self._last_power
                self.power_integral_mj += max(0.0, t - t0) * (p0 + power_mw) / 2
            self._last_power = (t, power_mw)
            self.power_count += 1
            if self._power_seen % self._power_stride == 0:
                self.power.append(PowerSample(t=t, power_mw=power_mw))
                if len(self.power) >= self._max:
                    self.power = self.power[::2]
                    self._power_stride *= 2
            self._power_seen += 1

    def add_utilisation(self, t: float, gpu_pct: int, memory_pct: int) -> None:
        with self._lock:
            if self._util_seen % self._util_stride == 0:
                sample = UtilisationSample(
                    t=t, gpu_pct=min(100, max(0, gpu_pct)), memory_pct=min(100, max(0, memory_pct))
                )
                self.utilisation.append(sample)
                if len(self.utilisation) >= self._max:
                    self.utilisation = self.utilisation[::2]
                    self._util_stride *= 2
            self._util_seen += 1

    def add_counter(self, energy_mj: int) -> None:
        """Feed the energy counter; a value below the previous one is a counter reset."""
        with self._lock:
            if self._last_counter is None:
                self.first_counter = energy_mj
            elif energy_mj >= self._last_counter:
                self.counter_segments_mj += energy_mj - self._last_counter
            else:
                # The counter restarted from zero: what it shows now accrued since the restart.
                self.counter_resets += 1
                self.counter_segments_mj += energy_mj
            self._last_counter = energy_mj

    def count_error(self) -> None:
        with self._lock:
            self.read_errors += 1


# --- NVML ----------------------------------------------------------------------------------


class _NvmlApi(Protocol):
    """The part of ``pynvml`` the meter uses (tests inject a fake with the same shape)."""

    NVMLError: type[Exception]
    nvmlInit: Callable[[], None]
    nvmlShutdown: Callable[[], None]
    nvmlSystemGetDriverVersion: Callable[[], str | bytes]
    nvmlDeviceGetCount: Callable[[], int]
    nvmlDeviceGetHandleByIndex: Callable[[int], object]
    nvmlDeviceGetUUID: Callable[[object], str | bytes]
    nvmlDeviceGetName: Callable[[object], str | bytes]
    nvmlDeviceGetTotalEnergyConsumption: Callable[[object], int]
    nvmlDeviceGetPowerUsage: Callable[[object], int]
    nvmlDeviceGetUtilizationRates: Callable[[object], Any]


_NO_DRIVER_ADVICE: Final = (
    "Install the NVIDIA driver (check with `nvidia-smi`), or run the oracle with "
    "--meter simulated (its records then say meter_kind=simulated)."
)


def _load_pynvml() -> _NvmlApi:
    """Import ``pynvml`` now, not at package import, so machines without it still work."""
    try:
        module = importlib.import_module("pynvml")
    except ImportError as exc:
        raise MeterUnavailable(
            "the NVML meter needs the nvidia-ml-py package: pip install 'jouleledger[oracle]'; "
            "or run the oracle with --meter simulated"
        ) from exc
    return cast(_NvmlApi, module)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _nvml_error_name(exc: Exception) -> str:
    return type(exc).__name__


class NvmlMeter(Meter):
    """Meters real NVIDIA GPUs through NVML.

    Energy is the energy counter's delta over the window. The counter updates about every
    100 ms, so a window under `min_window_s` reads poorly: with `widen_short_windows` the
    window is kept open (the GPU stays reserved) until it is `min_window_s` long and the
    counter has advanced, up to `max_widen_s`; otherwise, or if that fails, the reading is
    flagged `coarse`.

    Args:
        sample_interval_s: how often the background thread samples power, utilisation and
            the counter; ``None`` for no thread (samples only at start and stop).
        min_window_s: windows shorter than this are widened or flagged coarse.
        widen_short_windows: widen short windows (True) or only flag them (False).
        max_widen_s: the longest a window is kept open waiting for the counter.
        max_samples: bound on the samples kept per reading (older ones are thinned).
        clock: unix time in seconds; injectable for tests.
        sleep: waits while widening; injectable for tests.

    Raises:
        MeterUnavailable: nvidia-ml-py is missing, NVML does not initialise (no driver), or
            it finds no GPU. The message says what to do.
    """

    kind: ClassVar[MeterKind] = "nvml"

    def __init__(
        self,
        *,
        sample_interval_s: float | None = DEFAULT_SAMPLE_INTERVAL_S,
        min_window_s: float = DEFAULT_MIN_WINDOW_S,
        widen_short_windows: bool = True,
        max_widen_s: float = 3.0,
        max_samples: int = DEFAULT_MAX_SAMPLES,
        clock: Clock = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        if sample_interval_s is not None and sample_interval_s <= 0:
            raise ConfigError(f"sample_interval_s must be positive, got {sample_interval_s}")
        self.sample_interval_s = sample_interval_s
        self.min_window_s = min_window_s
        self.widen_short_windows = widen_short_windows
        self.max_widen_s = max(max_widen_s, min_window_s)
        self.max_samples = max_samples
        self._clock = clock
        self._sleep = sleep
        self._nvml = _load_pynvml()
        try:
            self._nvml.nvmlInit()
        except self._nvml.NVMLError as exc:
            raise MeterUnavailable(self._init_advice(exc)) from exc
        try:
            driver = _text(self._nvml.nvmlSystemGetDriverVersion())
            self._handles: dict[int, object] = {}
            gpus = []
            for index in range(self._nvml.nvmlDeviceGetCount()):
                handle = self._nvml.nvmlDeviceGetHandleByIndex(index)
                self._handles[index] = handle
                gpus.append(
                    GpuInfo(
                        index=index,
                        uuid=_text(self._nvml.nvmlDeviceGetUUID(handle)),
                        name=_text(self._nvml.nvmlDeviceGetName(handle)),
                        driver_version=driver,
                    )
                )
        except self._nvml.NVMLError as exc:
            self.close()
            raise MeterUnavailable(
                f"NVML started but could not list the GPUs ({_nvml_error_name(exc)}: {exc}). "
                + _NO_DRIVER_ADVICE
            ) from exc
        if not gpus:
            self.close()
            raise MeterUnavailable("NVML started but found no GPU. " + _NO_DRIVER_ADVICE)
        self._gpus = gpus

    def _init_advice(self, exc: Exception) -> str:
        name = _nvml_error_name(exc)
        if name in ("NVMLError_LibraryNotFound", "NVMLError_DriverNotLoaded"):
            return (
                f"NVML is not available: the NVIDIA driver is not installed or not loaded "
                f"({name}: {exc}). " + _NO_DRIVER_ADVICE
            )
        return f"NVML failed to initialise ({name}: {exc}). " + _NO_DRIVER_ADVICE

    def describe(self) -> list[GpuInfo]:
        """The GPUs NVML reports, with UUID, model name and driver version."""
        return list(self._gpus)

    def close(self) -> None:
        """Shut NVML down (once)."""
        if self._closed:
            return
        super().close()
        try:
            self._nvml.nvmlShutdown()
        except self._nvml.NVMLError as exc:
            logger.debug("nvmlShutdown failed: %s", exc)

    def _open(self, job_id: int, gpu: GpuInfo, release: Callable[[], None]) -> MeterSession:
        return _NvmlSession(self, job_id, gpu, self._handles[gpu.index], release)


class _NvmlSession(MeterSession):
    def __init__(
        self,
        meter: NvmlMeter,
        job_id: int,
        gpu: GpuInfo,
        handle: object,
        release: Callable[[], None],
    ) -> None:
        super().__init__(job_id, gpu, release)
        self._meter = meter
        self._nvml = meter._nvml
        self._handle = handle
        self._clock = meter._clock
        self._buffer = _SampleBuffer(meter.max_samples)
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = self._clock()
        try:
            self._e0 = int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(handle))
        except self._nvml.NVMLError as exc:
            if _nvml_error_name(exc) == "NVMLError_NotSupported":
                raise MeterUnavailable(
                    f"GPU {gpu.index} ({gpu.name}) has no NVML energy counter (it needs a Volta "
                    "or newer GPU); run the oracle with --meter simulated on this machine"
                ) from exc
            raise MeterError(f"could not read GPU {gpu.index}'s energy counter: {exc}") from exc
        self._buffer.add_counter(self._e0)
        self._sample_power_and_utilisation(self._t0)
        if meter.sample_interval_s is not None:
            self._thread = threading.Thread(
                target=self._run_sampler,
                args=(meter.sample_interval_s,),
                name=f"jouleledger-meter-sampler-gpu{gpu.index}-job{job_id}",
                daemon=True,
            )
            self._thread.start()

    def sample_now(self) -> None:
        """Take one sample of power, utilisation and the energy counter (the thread's tick)."""
        t = self._clock()
        self._sample_power_and_utilisation(t)
        try:
            self._buffer.add_counter(
                int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle))
            )
        except self._nvml.NVMLError:
            self._buffer.count_error()

    def _sample_power_and_utilisation(self, t: float) -> None:
        try:
            self._buffer.add_power(t, int(self._nvml.nvmlDeviceGetPowerUsage(self._handle)))
        except self._nvml.NVMLError:
            self._buffer.count_error()
        try:
            rates = self._nvml.nvmlDeviceGetUtilizationRates(self._handle)
            self._buffer.add_utilisation(t, int(rates.gpu), int(rates.memory))
        except self._nvml.NVMLError:
            self._buffer.count_error()

    def _run_sampler(self, interval_s: float) -> None:
        while not self._stop_event.wait(interval_s):
            self.sample_now()

    def _stop_sampler(self) -> None:
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join()

    def _read_counter(self) -> int:
        try:
            return int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle))
        except self._nvml.NVMLError as exc:
            raise MeterError(
                f"lost GPU {self.gpu.index}'s energy counter during job {self.job_id} "
                f"({_nvml_error_name(exc)}: {exc}); the job's energy cannot be attested"
            ) from exc

    def _widen(self) -> bool:
        """Keep the window open until it is long enough and the counter moved; True if so."""
        meter = self._meter
        while True:
            elapsed = self._clock() - self._t0
            if elapsed >= meter.min_window_s and self._read_counter() != self._e0:
                return True
            if elapsed >= meter.max_widen_s:
                return False
            wait = meter.min_window_s - elapsed if elapsed < meter.min_window_s else _WIDEN_POLL_S
            meter._sleep(max(0.0, min(wait, meter.max_widen_s - elapsed)))

    def _finish(self, work_units: int | None) -> Reading:
        meter = self._meter
        work_end = self._clock()
        notes: list[str] = []
        widened = False
        try:
            short = work_end - self._t0 < meter.min_window_s
            if meter.widen_short_windows and (short or self._read_counter() == self._e0):
                widened = True
                if not self._widen():
                    notes.append(
                        f"the energy counter did not advance within {meter.max_widen_s:g} s"
                    )
        finally:
            self._stop_sampler()
        t1 = self._clock()
        e1 = self._read_counter()
        self._buffer.add_counter(e1)
        self._sample_power_and_utilisation(t1)
        buffer = self._buffer

        window_s = max(0.0, t1 - self._t0)
        work_s = max(0.0, work_end - self._t0)
        if widened and window_s > work_s:
            notes.append(
                f"window widened from {work_s * 1000:.0f} ms to {window_s * 1000:.0f} ms so the "
                "energy counter (updated about every 100 ms) could advance"
            )
        power_integral = round(buffer.power_integral_mj) if buffer.power_count >= 2 else None
        energy, source = _energy(buffer, e1 - self._e0, power_integral, window_s, notes)
        if buffer.read_errors:
            notes.append(f"{buffer.read_errors} NVML sample read(s) failed")
        counter_reset = buffer.counter_resets > 0
        coarse = window_s < meter.min_window_s or (e1 == self._e0 and not counter_reset)
        return Reading(
            job_id=self.job_id,
            meter_kind="nvml",
            gpu_index=self.gpu.index,
            gpu_uuid=self.gpu.uuid,
            gpu_id_hash=self.gpu.gpu_id_hash,
            start_time=math.floor(self._t0),
            end_time=math.ceil(t1),
            gpu_millis=round(window_s * 1000),
            work_millis=round(work_s * 1000),
            energy_mj=energy,
            energy_source=source,
            power_integral_mj=power_integral,
            power_samples=tuple(buffer.power),
            utilisation_samples=tuple(buffer.utilisation),
            coarse=coarse,
            counter_reset=counter_reset,
            notes=tuple(notes),
        )

    def _cancel(self) -> None:
        self._stop_sampler()


def _energy(
    buffer: _SampleBuffer,
    delta_mj: int,
    power_integral: int | None,
    window_s: float,
    notes: list[str],
) -> tuple[int, EnergySource]:
    """The window's energy and where it comes from, explaining any departure in `notes`.

    The counter delta when the counter only went forward (DESIGN.md); after a reset, the
    power integral (or, without power samples, the counter's energy since the reset).
    """
    if buffer.counter_resets == 0:
        if (
            power_integral is not None
            and window_s >= _CROSS_CHECK_MIN_WINDOW_S
            and delta_mj > 0
            and abs(power_integral - delta_mj) > _CROSS_CHECK_TOLERANCE * delta_mj
        ):
            notes.append(
                f"power integral {power_integral} mJ differs from the counter delta "
                f"{delta_mj} mJ by more than {_CROSS_CHECK_TOLERANCE:.0%}"
            )
        return delta_mj, "counter"
    if power_integral is not None:
        notes.append(
            f"energy counter went backwards {buffer.counter_resets} time(s) in the window "
            f"(driver reload or GPU reset?); energy is the integral of {buffer.power_count} "
            f"power samples instead; the counter alone accounts for at least "
            f"{buffer.counter_segments_mj} mJ"
        )
        return power_integral, "power_integral"
    notes.append(
        f"energy counter went backwards {buffer.counter_resets} time(s) and no power "
        "samples exist; energy counts only what accrued since the reset (a lower bound)"
    )
    return buffer.counter_segments_mj, "counter_since_reset"


# --- simulated -----------------------------------------------------------------------------


_SIM_NAMESPACE: Final = uuid.UUID("5b0f5c1e-3d4a-4f7e-9c2b-6a1d8e0f4b37")


class SimulatedMeter(Meter):
    """A deterministic stand-in for NVML on machines without a GPU.

    The reading is a function of (seed, GPU class, GPU index, job id, window length, work
    units) only: the window comes from the injected `clock`, and samples are generated at
    `stop` on a virtual time grid, so no thread runs and nothing sleeps.

    Args:
        gpu_class: a class of the SDK's catalogue (`jouleledger.gpu.GPU_CLASSES`), whose
            power model it simulates. A class the catalogue lacks is refused, never
            simulated as some other class.
        gpu_count: how many simulated GPUs `describe` lists.
        seed: seeds the utilisation noise.
        sample_interval_s: spacing of the virtual samples.
        min_window_s: windows shorter than this are flagged coarse, as with NVML.
        default_load: utilisation when the job reports no work units.
        noise: standard deviation of the utilisation noise.
        max_samples: bound on samples per reading (the grid widens for long windows).
        clock: unix time in seconds; injectable for tests.

    Raises:
        NoGpuProfile: the catalogue has no such GPU class.
        ConfigError: a setting out of range.
    """

    kind: ClassVar[MeterKind] = "simulated"

    def __init__(
        self,
        gpu_class: str = "nvidia-h100",
        *,
        gpu_count: int = 1,
        seed: int = 0,
        sample_interval_s: float = DEFAULT_SAMPLE_INTERVAL_S,
        min_window_s: float = DEFAULT_MIN_WINDOW_S,
        default_load: float = 0.85,
        noise: float = 0.05,
        max_samples: int = DEFAULT_MAX_SAMPLES,
        clock: Clock = time.time,
    ) -> None:
        super().__init__()
        try:
            self.profile: catalogue.GpuClass = catalogue.gpu_class(gpu_class)
        except catalogue.UnknownGpuClass as exc:
            raise NoGpuProfile(
                f"no simulated power profile in the SDK's catalogue (jouleledger.gpu): {exc}"
            ) from exc
        if gpu_count < 1 or sample_interval_s <= 0 or not 0 <= default_load <= 1 or noise < 0:
            raise ConfigError(
                "simulated meter needs gpu_count >= 1, sample_interval_s > 0, "
                "0 <= default_load <= 1 and noise >= 0"
            )
        self.seed = seed
        self.sample_interval_s = sample_interval_s
        self.min_window_s = min_window_s
        self.default_load = default_load
        self.noise = noise
        self.max_samples = max(1, max_samples)
        self._clock = clock
        self._gpus = [
            GpuInfo(
                index=index,
                uuid=SIMULATED_UUID_PREFIX
                + str(uuid.uuid5(_SIM_NAMESPACE, f"{self.profile.name}/{index}")),
                name=f"{self.profile.model_name} (simulated)",
                driver_version="simulated",
            )
            for index in range(gpu_count)
        ]

    def describe(self) -> list[GpuInfo]:
        """The simulated GPUs; their UUIDs start with ``SIM-``."""
        return list(self._gpus)

    def _open(self, job_id: int, gpu: GpuInfo, release: Callable[[], None]) -> MeterSession:
        return _SimulatedSession(self, job_id, gpu, release)

    def simulate(
        self, job_id: int, gpu: GpuInfo, start: float, end: float, work_units: int | None
    ) -> Reading:
        """The reading for a window ``[start, end]``: what a session's `stop` returns.

        Args:
            job_id: the job; seeds the noise together with the meter's seed and the GPU.
            gpu: one of `describe`'s GPUs.
            start: window start, unix seconds.
            end: window end, unix seconds.
            work_units: tokens produced, or None for `default_load`.
        """
        profile = self.profile
        duration = max(0.0, end - start)
        rng = random.Random(f"jouleledger-sim/{self.seed}/{profile.name}/{gpu.index}/{job_id}")
        if work_units is not None and duration > 0:
            load = min(1.0, max(0.02, work_units / (profile.tokens_per_second * duration)))
        else:
            load = self.default_load
        step = max(self.sample_interval_s, duration / self.max_samples)
        steps = math.ceil(duration / step) if duration > 0 else 0
        energy = 0.0
        power: list[PowerSample] = []
        utilisation: list[UtilisationSample] = []
        for i in range(steps):
            t = start + i * step
            dt = min(step, duration - i * step)
            u = min(1.0, max(0.0, rng.gauss(load, self.noise)))
            power_mw = round((profile.idle_w + (profile.peak_w - profile.idle_w) * u) * 1000)
            energy += power_mw * dt
            power.append(PowerSample(t=t, power_mw=power_mw))
            utilisation.append(
                UtilisationSample(t=t, gpu_pct=round(u * 100), memory_pct=round(u * 60))
            )
        energy_mj = round(energy)
        return Reading(
            job_id=job_id,
            meter_kind="simulated",
            gpu_index=gpu.index,
            gpu_uuid=gpu.uuid,
            gpu_id_hash=gpu.gpu_id_hash,
            start_time=math.floor(start),
            end_time=math.ceil(max(start, end)),
            gpu_millis=round(duration * 1000),
            work_millis=round(duration * 1000),
            energy_mj=energy_mj,
            energy_source="model",
            power_integral_mj=energy_mj,
            power_samples=tuple(power),
            utilisation_samples=tuple(utilisation),
            coarse=duration < self.min_window_s,
            counter_reset=False,
            notes=(
                f"simulated {profile.name} (seed {self.seed}, load {load:.2f}); "
                "not measured on a GPU",
            ),
        )


class _SimulatedSession(MeterSession):
    def __init__(
        self, meter: SimulatedMeter, job_id: int, gpu: GpuInfo, release: Callable[[], None]
    ) -> None:
        super().__init__(job_id, gpu, release)
        self._meter = meter
        self._t0 = meter._clock()

    def _finish(self, work_units: int | None) -> Reading:
        end = self._meter._clock()
        return self._meter.simulate(self.job_id, self.gpu, self._t0, end, work_units)

    def _cancel(self) -> None:
        pass


# --- choosing ------------------------------------------------------------------------------


def select_meter(
    kind: MeterChoice = "auto",
    *,
    gpu_class: str = "nvidia-h100",
    seed: int = 0,
    sample_interval_s: float = DEFAULT_SAMPLE_INTERVAL_S,
    min_window_s: float = DEFAULT_MIN_WINDOW_S,
    clock: Clock = time.time,
) -> Meter:
    """Pick the meter the node runs with, and log which one and why.

    ``auto`` uses NVML when it initialises and finds at least one GPU, and otherwise falls
    back to the simulated meter (with a warning: its records say ``simulated``).

    Args:
        kind: ``auto``, ``nvml`` or ``simulated``.
        gpu_class: the simulated meter's GPU class (one of `jouleledger.gpu.GPU_CLASSES`).
        seed: the simulated meter's noise seed.
        sample_interval_s: sampling interval of either backend.
        min_window_s: windows shorter than this are widened (NVML) or flagged coarse.
        clock: unix time in seconds; injectable for tests.

    Raises:
        MeterUnavailable: ``nvml`` was asked for and NVML does not work here.
        NoGpuProfile: the simulated meter is used and the catalogue lacks `gpu_class`.
        ConfigError: unknown `kind`.
    """
    if kind not in ("auto", "nvml", "simulated"):
        raise ConfigError(f"unknown meter kind {kind!r}; choose auto, nvml or simulated")
    if kind in ("auto", "nvml"):
        try:
            meter = NvmlMeter(
                sample_interval_s=sample_interval_s, min_window_s=min_window_s, clock=clock
            )
        except MeterUnavailable as exc:
            if kind == "nvml":
                raise
            logger.warning(
                "meter: NVML unavailable, using the simulated meter (%s, seed %d); its records "
                "say meter_kind=simulated. Reason: %s",
                gpu_class,
                seed,
                exc,
            )
        else:
            gpus = meter.describe()
            logger.info(
                "meter: NVML on %d GPU(s): %s (driver %s)",
                len(gpus),
                ", ".join(f"{gpu.index}: {gpu.name}" for gpu in gpus),
                gpus[0].driver_version,
            )
            return meter
    else:
        logger.info("meter: simulated %s (seed %d), as asked", gpu_class, seed)
    return SimulatedMeter(
        gpu_class,
        seed=seed,
        sample_interval_s=sample_interval_s,
        min_window_s=min_window_s,
        clock=clock,
    )
