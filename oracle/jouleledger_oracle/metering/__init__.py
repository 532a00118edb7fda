"""Meters: measure the time and energy a job uses on one device (a GPU or a CPU package).

One interface (`base`), several backends, each the only module that touches its vendor
library (imported lazily, so the package imports without any of them):

- `nvml`: NVIDIA GPUs through NVML (``pynvml``).
- `amd`: AMD GPUs through AMD SMI (``amdsmi``, not a dependency: it needs ROCm).
- `rapl`: CPU packages through Linux RAPL powercap files (package + DRAM, wrap-around undone).
- `simulated`: a seeded model of a catalogue class for machines without the device; its
  readings say ``meter_kind="simulated"`` and carry ``SIM-`` UUIDs.

The window logic the three counters share (counter delta, sampler thread, widening short
windows, refusing a counter that went backwards) lives in `counter`; `visible` applies
``CUDA_VISIBLE_DEVICES`` / ``HIP_VISIBLE_DEVICES`` by UUID; `select` picks a backend for
the node's ``--meter`` option (``auto`` tries the registered class's vendor).

Use it as::

    with select_meter("auto") as meter, meter.start(job_id) as session:
        run_the_job()
        reading = session.stop(work_units=tokens)

A session that is left without `MeterSession.stop` (an exception) is aborted: its sampler
thread ends and the GPU is free for the next job.
"""

from .amd import AmdSmiMeter
from .base import (
    DEFAULT_MAX_SAMPLES,
    DEFAULT_MIN_WINDOW_S,
    DEFAULT_SAMPLE_INTERVAL_S,
    METER_CHOICES,
    SIMULATED_UUID_PREFIX,
    Clock,
    EnergySource,
    GpuInfo,
    Meter,
    MeterChoice,
    MeterKindName,
    MeterSession,
    Reading,
    check_meter_claim,
    gpu_id_hash,
    record_meter_kind,
)
from .counter import (
    CounterDevice,
    CounterMeter,
    CounterSession,
    CounterWentBackwards,
    DeviceReadError,
    WindowTooShort,
)
from .nvml import NvmlMeter
from .rapl import RaplMeter
from .samples import PowerSample, SampleBuffer, UtilisationSample
from .select import REAL_KINDS, auto_order, select_meter
from .simulated import SimulatedMeter
from .visible import visible_gpus

__all__ = [
    "DEFAULT_MAX_SAMPLES",
    "DEFAULT_MIN_WINDOW_S",
    "DEFAULT_SAMPLE_INTERVAL_S",
    "METER_CHOICES",
    "REAL_KINDS",
    "SIMULATED_UUID_PREFIX",
    "AmdSmiMeter",
    "Clock",
    "CounterDevice",
    "CounterMeter",
    "CounterSession",
    "CounterWentBackwards",
    "DeviceReadError",
    "EnergySource",
    "GpuInfo",
    "Meter",
    "MeterChoice",
    "MeterKindName",
    "MeterSession",
    "NvmlMeter",
    "PowerSample",
    "RaplMeter",
    "Reading",
    "SampleBuffer",
    "SimulatedMeter",
    "UtilisationSample",
    "WindowTooShort",
    "auto_order",
    "check_meter_claim",
    "gpu_id_hash",
    "record_meter_kind",
    "select_meter",
    "visible_gpus",
]
