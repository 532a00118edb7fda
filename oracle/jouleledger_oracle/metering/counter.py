"""Metering by a hardware energy counter: the window logic every counter backend shares.

Energy is the counter's delta over the job window (DESIGN.md). A background thread samples
power, utilisation and the counter, so the counter can be cross-checked against the power
integral and a counter that goes backwards inside the window (a driver reload, a GPU reset)
is seen even when the end value exceeds the start. Such a window is refused
(`CounterWentBackwards`): the node runs the job again, and a negative or bridged delta is
never signed. A backend (`nvml`, `amd`, `rapl`) only says how to read one device: it
subclasses `CounterDevice` and `CounterMeter` and translates its vendor library's errors into
`DeviceReadError`. A counter that wraps by design (RAPL) is unwrapped by its device.
"""

from __future__ import annotations

import math
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar, Final

from ..errors import ConfigError, MeterError, MeterUnavailable
from .base import (
    DEFAULT_MAX_SAMPLES,
    DEFAULT_MIN_WINDOW_S,
    DEFAULT_SAMPLE_INTERVAL_S,
    Clock,
    GpuInfo,
    Meter,
    MeterSession,
    Reading,
)
from .samples import SampleBuffer
from .visible import visible_gpus

_WIDEN_POLL_S: Final = 0.05
_CROSS_CHECK_MIN_WINDOW_S: Final = 5.0
_CROSS_CHECK_TOLERANCE: Final = 0.2


class CounterWentBackwards(MeterError):
    """The energy counter went backwards during the window (driver reload, device reset):
    its delta cannot be attested, so the window is refused and the job is measured again."""


class WindowTooShort(MeterError):
    """The window is shorter than the counter's update period, so the counter cannot say
    what the job used; widen it (the default) or give the job more work."""


class DeviceReadError(Exception):
    """A vendor library failed to read a device; raised by `CounterDevice` methods only.

    Args:
        name: the vendor error's name (``NVMLError_GpuIsLost``), shown in messages.
        detail: the vendor error's text.
        unsupported: the device lacks the quantity altogether (no energy counter).
    """

    def __init__(self, name: str, detail: str, *, unsupported: bool = False) -> None:
        super().__init__(detail)
        self.name = name
        self.unsupported = unsupported


class CounterDevice(ABC):
    """One GPU's readouts through a vendor library. Every method may raise `DeviceReadError`."""

    label: ClassVar[str]
    """The vendor library's name in messages (``NVML``)."""
    no_counter_hint: ClassVar[str]
    """Why a GPU may lack the energy counter, for the message that says it does."""
    update_period_s: ClassVar[float] = 0.1
    """How often the counter moves; a window shorter than this is refused."""

    @abstractmethod
    def energy_mj(self) -> int:
        """The energy counter in millijoules since some origin (a driver load)."""

    @abstractmethod
    def power_mw(self) -> int:
        """Board power now, in milliwatts."""

    @abstractmethod
    def utilisation(self) -> tuple[int, int]:
        """GPU and memory-controller utilisation now, in percent."""


class CounterMeter(Meter):
    """A meter that reads an energy counter; the window settings shared by its backends.

    The counter updates about every 100 ms, so a window under `min_window_s` reads poorly:
    with `widen_short_windows` the window is kept open (the GPU stays reserved) until it is
    `min_window_s` long and the counter has advanced, up to `max_widen_s`; otherwise, or if
    that fails, the reading is flagged `coarse`.

    Args:
        sample_interval_s: how often the background thread samples power, utilisation and
            the counter; ``None`` for no thread (samples only at start and stop).
        min_window_s: windows shorter than this are widened or flagged coarse.
        widen_short_windows: widen short windows (True) or only flag them (False).
        max_widen_s: the longest a window is kept open waiting for the counter.
        max_samples: bound on the samples kept per reading (older ones are thinned).
        clock: unix time in seconds; injectable for tests.
        sleep: waits while widening; injectable for tests.
        environ: the environment whose ``CUDA_VISIBLE_DEVICES`` / ``HIP_VISIBLE_DEVICES``
            decide which GPUs are listed (default `os.environ`, read once, here).

    Raises:
        ConfigError: `sample_interval_s` is not positive.
        MeterUnavailable: the backend cannot work here (`_connect` says why).
    """

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
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self._environ: Mapping[str, str] = dict(os.environ if environ is None else environ)
        if sample_interval_s is not None and sample_interval_s <= 0:
            raise ConfigError(f"sample_interval_s must be positive, got {sample_interval_s}")
        self.sample_interval_s = sample_interval_s
        self.min_window_s = min_window_s
        self.widen_short_windows = widen_short_windows
        self.max_widen_s = max(max_widen_s, min_window_s)
        self.max_samples = max_samples
        self._clock = clock
        self._sleep = sleep
        self._gpus = self._connect()

    @abstractmethod
    def _connect(self) -> list[GpuInfo]:
        """Start the vendor library and list the GPUs (called once, by ``__init__``).

        Raises:
            MeterUnavailable: the library or the GPUs cannot be used here.
        """

    def _visible(self, gpus: list[GpuInfo], variables: Sequence[str]) -> list[GpuInfo]:
        """`gpus` narrowed to those `variables` (``CUDA_VISIBLE_DEVICES``, ...) show, for
        `_connect`. When none is left the vendor library is shut down here: the meter is never
        built, so no caller could close it.

        Raises:
            MeterUnavailable: the environment hides every GPU, or names a MIG slice.
        """
        try:
            return visible_gpus(gpus, self._environ, variables)
        except MeterUnavailable:
            self.close()
            raise

    def describe(self) -> list[GpuInfo]:
        """The GPUs the vendor library reports, with UUID, model name and driver version."""
        return list(self._gpus)

    @abstractmethod
    def _device(self, gpu: GpuInfo) -> CounterDevice:
        """The readouts of one of `describe`'s GPUs."""

    def close(self) -> None:
        """Stop accepting jobs and shut the vendor library down (once)."""
        if self._closed:
            return
        super().close()
        self._shutdown()

    def _shutdown(self) -> None:
        """Release the vendor library (NVML, AMD SMI); nothing to release by default."""

    def _open(self, job_id: int, gpu: GpuInfo, release: Callable[[], None]) -> MeterSession:
        return CounterSession(self, job_id, gpu, self._device(gpu), release)


class CounterSession(MeterSession):
    """One window on one GPU: counter at start and stop, samples in between.

    Args:
        meter: the meter whose settings apply.
        job_id: the on-chain job id.
        gpu: the GPU being measured.
        device: its readouts.
        release: frees the GPU for the next job.

    Raises:
        MeterUnavailable: the GPU has no energy counter.
        MeterError: the counter could not be read at the start.
    """

    def __init__(
        self,
        meter: CounterMeter,
        job_id: int,
        gpu: GpuInfo,
        device: CounterDevice,
        release: Callable[[], None],
    ) -> None:
        super().__init__(job_id, gpu, release)
        self._meter = meter
        self._device = device
        self._clock = meter._clock
        self._buffer = SampleBuffer(meter.max_samples)
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = self._clock()
        try:
            self._e0 = device.energy_mj()
        except DeviceReadError as exc:
            if exc.unsupported:
                raise MeterUnavailable(
                    f"GPU {gpu.index} ({gpu.name}) has no {device.label} energy counter "
                    f"({device.no_counter_hint}); run the oracle with --meter simulated on "
                    "this machine"
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
            self._buffer.add_counter(self._device.energy_mj())
        except DeviceReadError:
            self._buffer.count_error()

    def _sample_power_and_utilisation(self, t: float) -> None:
        try:
            self._buffer.add_power(t, self._device.power_mw())
        except DeviceReadError as exc:
            if not exc.unsupported:
                self._buffer.count_error()
        try:
            gpu_pct, memory_pct = self._device.utilisation()
            self._buffer.add_utilisation(t, gpu_pct, memory_pct)
        except DeviceReadError as exc:
            if not exc.unsupported:
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
            return self._device.energy_mj()
        except DeviceReadError as exc:
            raise MeterError(
                f"lost GPU {self.gpu.index}'s energy counter during job {self.job_id} "
                f"({exc.name}: {exc}); the job's energy cannot be attested"
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
        self._check_counter(e1, window_s)
        if widened and window_s > work_s:
            notes.append(
                f"window widened from {work_s * 1000:.0f} ms to {window_s * 1000:.0f} ms so the "
                f"energy counter (updated about every {self._device.update_period_s * 1000:g} "
                "ms) could advance"
            )
        power_integral = round(buffer.power_integral_mj) if buffer.power_count >= 2 else None
        delta = e1 - self._e0
        cross_check(delta, power_integral, window_s, notes)
        if buffer.read_errors:
            notes.append(f"{buffer.read_errors} {self._device.label} sample read(s) failed")
        coarse = window_s < meter.min_window_s or e1 == self._e0
        return Reading(
            job_id=self.job_id,
            meter_kind=meter.kind,
            gpu_index=self.gpu.index,
            gpu_uuid=self.gpu.uuid,
            gpu_id_hash=self.gpu.gpu_id_hash,
            start_time=math.floor(self._t0),
            end_time=math.ceil(t1),
            gpu_millis=round(window_s * 1000),
            work_millis=round(work_s * 1000),
            energy_mj=delta,
            energy_source="counter",
            power_integral_mj=power_integral,
            power_samples=tuple(buffer.power),
            utilisation_samples=tuple(buffer.utilisation),
            coarse=coarse,
            counter_reset=False,
            notes=tuple(notes),
        )

    def _check_counter(self, e1: int, window_s: float) -> None:
        """Refuse a window the counter cannot vouch for: it went backwards, or it is shorter
        than the counter's update period."""
        resets = self._buffer.counter_resets
        if resets or e1 < self._e0:
            raise CounterWentBackwards(
                f"GPU {self.gpu.index}'s {self._device.label} energy counter went backwards "
                f"{max(resets, 1)} time(s) during job {self.job_id} (driver reload or device "
                f"reset?): from {self._e0} mJ it read {e1} mJ at the end. The window is refused, "
                "never signed with a negative or bridged delta; the job is measured again"
            )
        period = self._device.update_period_s
        if window_s < period:
            raise WindowTooShort(
                f"job {self.job_id}'s window on GPU {self.gpu.index} lasted "
                f"{window_s * 1000:.0f} ms, shorter than the {self._device.label} counter's "
                f"update period ({period * 1000:g} ms): it cannot be attested. Keep "
                "window widening on (the default) or give the job more work"
            )

    def _cancel(self) -> None:
        self._stop_sampler()


def cross_check(
    delta_mj: int, power_integral: int | None, window_s: float, notes: list[str]
) -> None:
    """Note when the power integral disagrees with the counter delta by more than 20 % over a
    window long enough (5 s) for the comparison to mean something. The counter still wins.

    Args:
        delta_mj: counter at the end minus counter at the start.
        power_integral: the integral of the power samples, or None with fewer than two.
        window_s: the window's length in seconds.
        notes: the reading's notes; the explanation is appended.
    """
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
