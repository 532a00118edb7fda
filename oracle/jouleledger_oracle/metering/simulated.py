"""A simulated GPU for machines without one: a deterministic stand-in for NVML.

It models a GPU class of the SDK's catalogue (idle and peak power, throughput) with seeded
noise. Its readings say ``meter_kind="simulated"``, carry ``SIM-`` GPU UUIDs and model energy,
and `Reading` refuses to be built any other way, so a simulated reading cannot pass as a
measured one.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable
from typing import ClassVar, Final

from jouleledger import gpu as catalogue

from ..errors import ConfigError, NoGpuProfile
from .base import (
    DEFAULT_MAX_SAMPLES,
    DEFAULT_MIN_WINDOW_S,
    DEFAULT_SAMPLE_INTERVAL_S,
    SIMULATED_UUID_PREFIX,
    Clock,
    GpuInfo,
    Meter,
    MeterKindName,
    MeterSession,
    Reading,
)
from .samples import PowerSample, UtilisationSample

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

    kind: ClassVar[MeterKindName] = "simulated"

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
