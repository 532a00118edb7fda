"""Fakes for hardware CI lacks: ``pynvml``, ``amdsmi`` and a Linux powercap (RAPL) tree,
and the clock they read.

They are fakes, shaped after the real interfaces (nvidia-ml-py; AMD SMI's Python bindings as
ROCm 6.x ships them; the kernel's ``/sys/class/powercap/intel-rapl:*`` files), so that every
branch of the NVML, AMD and RAPL meters runs on a machine without those devices. The tests
and ``bench/oracle.py`` use them.
"""

from __future__ import annotations

import math
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class FakeClock:
    """Unix time that only moves when a test (or the code under test, through `sleep`) says."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class NVMLError(Exception):
    """Base of the fake's errors, shaped like pynvml's."""


class NVMLError_LibraryNotFound(NVMLError):  # named as pynvml names them
    pass


class NVMLError_DriverNotLoaded(NVMLError):
    pass


class NVMLError_NotSupported(NVMLError):
    pass


class NVMLError_GpuIsLost(NVMLError):
    pass


@dataclass
class FakeGpu:
    uuid: str = "GPU-6b1d54c4-7f3a-4a2e-9d1b-2c8e0f3a9b71"
    name: str = "NVIDIA H100 80GB HBM3"
    power_mw: int = 300_000
    utilisation: tuple[int, int] = (97, 41)
    counter_base_mj: int = 5_000_000_000
    counter: Callable[[float], int] | None = None
    """Energy counter as a function of clock time; default: power x time, 100 ms steps."""


@dataclass
class FakeNvml:
    """State behind the fake ``pynvml`` module; tests edit it to script the GPU."""

    clock: FakeClock
    gpus: list[FakeGpu] = field(default_factory=lambda: [FakeGpu()])
    init_error: type[NVMLError] | None = None
    driver_version: str = "550.54.15"
    power_reads: int = 0
    power_read_event: threading.Event = field(default_factory=threading.Event)
    wake_after_power_reads: int = 3
    shutdowns: int = 0

    def energy(self, gpu: FakeGpu) -> int:
        t = self.clock()
        if gpu.counter is not None:
            return gpu.counter(t)
        ticks = math.floor(t * 10 + 1e-6)  # the real counter moves about every 100 ms
        return gpu.counter_base_mj + ticks * (gpu.power_mw // 10)

    def module(self) -> types.ModuleType:
        module = types.ModuleType("pynvml")
        errors = {
            cls.__name__: cls
            for cls in (
                NVMLError,
                NVMLError_LibraryNotFound,
                NVMLError_DriverNotLoaded,
                NVMLError_NotSupported,
                NVMLError_GpuIsLost,
            )
        }
        vars(module).update(errors)

        def init() -> None:
            if self.init_error is not None:
                raise self.init_error()

        def power(handle: FakeGpu) -> int:
            self.power_reads += 1
            if self.power_reads >= self.wake_after_power_reads:
                self.power_read_event.set()
            return handle.power_mw

        def shutdown() -> None:
            self.shutdowns += 1

        vars(module).update(
            nvmlInit=init,
            nvmlShutdown=shutdown,
            nvmlSystemGetDriverVersion=lambda: self.driver_version,
            nvmlDeviceGetCount=lambda: len(self.gpus),
            nvmlDeviceGetHandleByIndex=lambda index: self.gpus[index],
            nvmlDeviceGetUUID=lambda handle: handle.uuid,
            nvmlDeviceGetName=lambda handle: handle.name.encode(),  # old pynvml: bytes
            nvmlDeviceGetTotalEnergyConsumption=self.energy,
            nvmlDeviceGetPowerUsage=power,
            nvmlDeviceGetUtilizationRates=lambda handle: types.SimpleNamespace(
                gpu=handle.utilisation[0], memory=handle.utilisation[1]
            ),
        )
        return module


AMDSMI_STATUS_NOT_SUPPORTED = 2
AMDSMI_STATUS_NOT_FOUND = 31
AMDSMI_STATUS_DRIVER_NOT_LOADED = 34


class AmdSmiException(Exception):
    """Base of the fake's errors, as in amdsmi."""


class AmdSmiLibraryException(AmdSmiException):
    """amdsmi's library error: carries an AMD SMI status code."""

    def __init__(self, code: int) -> None:
        super().__init__(f"AMD SMI status {code}")
        self.code = code

    def get_error_code(self) -> int:
        return self.code

    def get_error_info(self) -> str:
        return str(self)


@dataclass
class FakeAmdGpu:
    uuid: str = "8aff740f-0000-1000-80ea-9e1d5a1b6c9c"
    market_name: str = "AMD Instinct MI300X"
    power_w: int | str = 500
    activity: tuple[int, int] = (88, 35)
    resolution_uj: float = 15.3
    accumulator: Callable[[float], int] | None = None
    """Energy accumulator ticks as a function of clock time; default: power x time."""
    old_api: bool = False  # ROCm before 6.2 names the accumulator "power"
    lost: bool = False  # the GPU fell off the bus: every read fails


@dataclass
class FakeAmdSmi:
    """State behind the fake ``amdsmi`` module; tests edit it to script the GPUs."""

    clock: Callable[[], float]
    gpus: list[FakeAmdGpu] = field(default_factory=lambda: [FakeAmdGpu()])
    init_error: int | None = None
    driver_version: str = "6.8.5"
    shutdowns: int = 0

    def ticks(self, gpu: FakeAmdGpu) -> int:
        if gpu.accumulator is not None:
            return gpu.accumulator(self.clock())
        watts = gpu.power_w if isinstance(gpu.power_w, int) else 0
        return math.floor(self.clock() * watts * 1_000_000 / gpu.resolution_uj)

    def _live(self, gpu: FakeAmdGpu) -> FakeAmdGpu:
        if gpu.lost:
            raise AmdSmiLibraryException(AMDSMI_STATUS_NOT_FOUND)
        return gpu

    def module(self) -> types.ModuleType:
        module = types.ModuleType("amdsmi")

        def init() -> None:
            if self.init_error is not None:
                raise AmdSmiLibraryException(self.init_error)

        def shut_down() -> None:
            self.shutdowns += 1

        def energy(gpu: FakeAmdGpu) -> dict[str, Any]:
            key = "power" if self._live(gpu).old_api else "energy_accumulator"
            return {key: self.ticks(gpu), "counter_resolution": gpu.resolution_uj}

        vars(module).update(
            AmdSmiException=AmdSmiException,
            AmdSmiLibraryException=AmdSmiLibraryException,
            amdsmi_init=init,
            amdsmi_shut_down=shut_down,
            amdsmi_get_processor_handles=lambda: list(self.gpus),
            amdsmi_get_gpu_device_uuid=lambda gpu: gpu.uuid,
            amdsmi_get_gpu_asic_info=lambda gpu: {"market_name": gpu.market_name},
            amdsmi_get_gpu_driver_info=lambda gpu: {"driver_version": self.driver_version},
            amdsmi_get_energy_count=energy,
            amdsmi_get_power_info=lambda gpu: {
                "average_socket_power": self._live(gpu).power_w,
                "current_socket_power": "N/A",
            },
            amdsmi_get_gpu_activity=lambda gpu: {
                "gfx_activity": self._live(gpu).activity[0],
                "umc_activity": gpu.activity[1],
                "mm_activity": 0,
            },
        )
        return module


class Powercap:
    """A fake ``/sys/class/powercap`` tree in a temporary folder: package zones with a DRAM
    subzone, and a ``psys`` zone the meter must skip. Counters are set by the test."""

    def __init__(self, root: Path, *, packages: int = 1, max_range_uj: int = 262_143_328_850):
        self.root = root
        self.max_range_uj = max_range_uj
        for n in range(packages):
            self.zone(f"intel-rapl:{n}", f"package-{n}", 1_000_000_000)
            self.zone(f"intel-rapl:{n}/intel-rapl:{n}:0", "core", 500_000_000)
            self.zone(f"intel-rapl:{n}/intel-rapl:{n}:1", "dram", 2_000_000)
        self.zone(f"intel-rapl:{packages}", "psys", 7)
        (root / "machine-id").write_text("0123456789abcdef0123456789abcdef\n")

    def zone(self, relative: str, name: str, energy_uj: int) -> Path:
        directory = self.root / relative
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "name").write_text(name + "\n")
        (directory / "max_energy_range_uj").write_text(f"{self.max_range_uj}\n")
        (directory / "energy_uj").write_text(f"{energy_uj}\n")
        return directory

    def set(self, relative: str, energy_uj: int) -> None:
        """Set a zone's counter (wrapped into its range, as the hardware does)."""
        (self.root / relative / "energy_uj").write_text(f"{energy_uj % self.max_range_uj}\n")

    def read(self, relative: str) -> int:
        return int((self.root / relative / "energy_uj").read_text())
