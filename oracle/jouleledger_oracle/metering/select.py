"""Choosing the meter a node runs with: NVML where it works, the simulated meter otherwise."""

from __future__ import annotations

import logging
import time

from ..errors import ConfigError, MeterUnavailable
from .base import (
    DEFAULT_MIN_WINDOW_S,
    DEFAULT_SAMPLE_INTERVAL_S,
    Clock,
    Meter,
    MeterChoice,
)
from .nvml import NvmlMeter
from .simulated import SimulatedMeter

logger = logging.getLogger(__name__)


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
