"""Samples a meter takes during a job window, and the bounded buffer that keeps them.

Every counter-based backend (NVML today; AMD SMI and RAPL later) feeds the same
`SampleBuffer`: power and utilisation for the record and the cross-check, and the energy
counter so that a counter reset inside the window can be bridged.
"""

from __future__ import annotations

import threading

from pydantic import BaseModel, ConfigDict, Field


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


class SampleBuffer:
    """Power, utilisation and counter samples of one window, bounded in memory.

    The power integral and the counter segments are accumulated as samples arrive, so they use
    every sample; the stored sample lists are thinned (every other one dropped) whenever they
    reach `max_samples`, so an hours-long job does not grow without bound.

    Args:
        max_samples: how many samples of each kind are kept at most (at least 2).
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
        """Add a power sample and extend the trapezoid integral.

        Args:
            t: unix seconds.
            power_mw: board power in milliwatts.
        """
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
        """Add a utilisation sample (percentages are clamped to 0..100).

        Args:
            t: unix seconds.
            gpu_pct: GPU utilisation in percent.
            memory_pct: memory-controller utilisation in percent.
        """
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
        """Feed the energy counter; a value below the previous one is a counter reset.

        Args:
            energy_mj: the counter's value in millijoules.
        """
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
        """Count one failed sample read (reported in the reading's notes)."""
        with self._lock:
            self.read_errors += 1
