"""Choosing the meter a node runs with: the real one for its device class where it works, the
simulated one otherwise, and a log line that says which and why."""

from __future__ import annotations

import logging
import time
from typing import Final, get_args

from jouleledger import gpu as catalogue

from ..errors import ConfigError, MeterUnavailable
from .base import (
    DEFAULT_MIN_WINDOW_S,
    DEFAULT_SAMPLE_INTERVAL_S,
    Clock,
    Meter,
    MeterChoice,
    MeterKindName,
)
from .counter import CounterMeter
from .simulated import SimulatedMeter

logger = logging.getLogger(__name__)

REAL_KINDS: Final[tuple[MeterKindName, ...]] = ("nvml", "amd-smi", "rapl")
_BY_VENDOR: Final[dict[str, MeterKindName]] = {"nvidia": "nvml", "amd": "amd-smi", "cpu": "rapl"}


def counter_meter_class(kind: MeterKindName) -> type[CounterMeter]:
    """The backend class of a real meter kind, imported only when asked for.

    Args:
        kind: ``nvml``, ``amd-smi`` or ``rapl``.

    Raises:
        ConfigError: not a real meter kind.
    """
    if kind == "nvml":
        from .nvml import NvmlMeter

        return NvmlMeter
    if kind == "amd-smi":
        from .amd import AmdSmiMeter

        return AmdSmiMeter
    if kind == "rapl":
        from .rapl import RaplMeter

        return RaplMeter
    raise ConfigError(f"{kind!r} is not a hardware meter; choose one of {', '.join(REAL_KINDS)}")


def auto_order(gpu_class: str) -> tuple[MeterKindName, ...]:
    """The real meters ``auto`` tries for a device class: its vendor's, or NVML then AMD SMI
    for a class the catalogue lacks. A GPU class never falls to RAPL (a CPU's energy is not a
    GPU job's).

    Args:
        gpu_class: the class the provider is registered for.
    """
    known = catalogue.GPU_CLASSES.get(gpu_class.strip().lower())
    return (_BY_VENDOR[known.vendor],) if known is not None else ("nvml", "amd-smi")


def select_meter(
    kind: MeterChoice = "auto",
    *,
    gpu_class: str = "nvidia-h100",
    seed: int = 0,
    gpu_count: int = 1,
    sample_interval_s: float = DEFAULT_SAMPLE_INTERVAL_S,
    min_window_s: float = DEFAULT_MIN_WINDOW_S,
    clock: Clock = time.time,
) -> Meter:
    """Pick the meter the node runs with, and log which one and why.

    ``auto`` tries the real meter for `gpu_class`'s vendor (`auto_order`) and otherwise falls
    back to the simulated meter (with a warning: its records say ``simulated``).

    Args:
        kind: ``auto``, ``nvml``, ``amd-smi``, ``rapl`` or ``simulated``.
        gpu_class: the registered class: picks the vendor, and is what the simulated meter
            models (one of `jouleledger.gpu.GPU_CLASSES`).
        seed: the simulated meter's noise seed.
        gpu_count: how many GPUs the simulated meter has.
        sample_interval_s: sampling interval of every backend.
        min_window_s: windows shorter than this are widened (counters) or flagged coarse.
        clock: unix time in seconds; injectable for tests.

    Raises:
        MeterUnavailable: a real meter was asked for by name and does not work here.
        NoGpuProfile: the simulated meter is used and the catalogue lacks `gpu_class`.
        ConfigError: unknown `kind`.
    """
    if kind not in get_args(MeterChoice):
        raise ConfigError(f"unknown meter kind {kind!r}; choose {', '.join(get_args(MeterChoice))}")
    if kind != "simulated":
        tried = auto_order(gpu_class) if kind == "auto" else (kind,)
        reasons: list[str] = []
        for real in tried:
            make = counter_meter_class(real)
            try:
                meter = make(
                    sample_interval_s=sample_interval_s, min_window_s=min_window_s, clock=clock
                )
            except MeterUnavailable as exc:
                if kind != "auto":
                    raise
                reasons.append(f"{real}: {exc}")
                continue
            gpus = meter.describe()
            logger.info(
                "meter: %s on %d device(s): %s (driver %s)",
                meter.kind,
                len(gpus),
                ", ".join(f"{gpu.index}: {gpu.name} {gpu.uuid}" for gpu in gpus),
                gpus[0].driver_version,
            )
            return meter
        logger.warning(
            "meter: no real meter works here (%s), using the simulated meter (%s x%d, seed "
            "%d); its records say meter_kind=simulated. Reason: %s",
            ", ".join(tried),
            gpu_class,
            gpu_count,
            seed,
            "; ".join(reasons),
        )
    else:
        logger.info("meter: simulated %s x%d (seed %d), as asked", gpu_class, gpu_count, seed)
    return SimulatedMeter(
        gpu_class,
        gpu_count=gpu_count,
        seed=seed,
        sample_interval_s=sample_interval_s,
        min_window_s=min_window_s,
        clock=clock,
    )
