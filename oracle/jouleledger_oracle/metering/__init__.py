"""GPU meters: measure the time and energy a job uses on one GPU.

One interface (`base`), several backends:

- `nvml`: real NVIDIA GPUs through NVML, the only module that imports ``pynvml`` (lazily).
  Its window logic (counter delta, sampler thread, widening short windows, bridging a
  counter reset) lives in `counter`, shared with the counter backends still to come
  (AMD SMI, CPU RAPL).
- `simulated`: a seeded model of a catalogue GPU class for machines without a GPU; its
  readings say ``meter_kind="simulated"`` and carry ``SIM-`` GPU UUIDs.
- `select`: ``auto`` / ``nvml`` / ``simulated``, as the node's ``--meter`` option says.

Use it as::

    with select_meter("auto") as meter, meter.start(job_id) as session:
        run_the_job()
        reading = session.stop(work_units=tokens)

A session that is left without `MeterSession.stop` (an exception) is aborted: its sampler
thread ends and the GPU is free for the next job.
"""

from .base import (
    DEFAULT_MAX_SAMPLES,
    DEFAULT_MIN_WINDOW_S,
    DEFAULT_SAMPLE_INTERVAL_S,
    SIMULATED_UUID_PREFIX,
    Clock,
    EnergySource,
    GpuInfo,
    Meter,
    MeterChoice,
    MeterKindName,
    MeterSession,
    Reading,
    gpu_id_hash,
    record_meter_kind,
)
from .counter import CounterDevice, CounterMeter, CounterSession, DeviceReadError
from .nvml import NvmlMeter
from .samples import PowerSample, SampleBuffer, UtilisationSample
from .select import select_meter
from .simulated import SimulatedMeter

__all__ = [
    "DEFAULT_MAX_SAMPLES",
    "DEFAULT_MIN_WINDOW_S",
    "DEFAULT_SAMPLE_INTERVAL_S",
    "SIMULATED_UUID_PREFIX",
    "Clock",
    "CounterDevice",
    "CounterMeter",
    "CounterSession",
    "DeviceReadError",
    "EnergySource",
    "GpuInfo",
    "Meter",
    "MeterChoice",
    "MeterKindName",
    "MeterSession",
    "NvmlMeter",
    "PowerSample",
    "Reading",
    "SampleBuffer",
    "SimulatedMeter",
    "UtilisationSample",
    "gpu_id_hash",
    "record_meter_kind",
    "select_meter",
]
