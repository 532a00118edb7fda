"""Fixtures for the oracle tests: a clock tests move by hand and a scriptable fake ``pynvml``."""

from __future__ import annotations

import math
import sys
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest


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


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_nvml(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> FakeNvml:
    """Replace ``pynvml`` with a fake for the test (the meter imports it lazily)."""
    fake = FakeNvml(clock=clock)
    monkeypatch.setitem(sys.modules, "pynvml", fake.module())
    return fake
