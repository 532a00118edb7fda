"""NVIDIA GPUs through NVML (PyPI ``nvidia-ml-py``, ``import pynvml``).

This is the only module in the project that touches NVML, and it imports ``pynvml`` lazily,
so the package imports on machines without it. NVML's errors are translated here, into
`DeviceReadError` for readouts and into `MeterUnavailable` (with what to do) at start; the
window logic is the counter backends' (`counter.py`). NVML numbers GPUs its own way; the
GPUs listed are those ``CUDA_VISIBLE_DEVICES`` shows, matched by UUID (`visible`).

NVML's energy counter (``nvmlDeviceGetTotalEnergyConsumption``, Volta and newer) counts
millijoules since the driver loaded, for the whole GPU: it is per device, not per process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar, Final, Protocol, cast

from ..errors import MeterUnavailable
from .base import GpuInfo, MeterKindName
from .counter import CounterDevice, CounterMeter, DeviceReadError
from .vendor import import_vendor_library, text
from .visible import NVIDIA_VARIABLES

logger = logging.getLogger(__name__)


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
    module = import_vendor_library(
        "pynvml",
        "the NVML meter needs the nvidia-ml-py package: pip install 'jouleledger[oracle]'; "
        "or run the oracle with --meter simulated",
    )
    return cast(_NvmlApi, module)


def _error_name(exc: Exception) -> str:
    return type(exc).__name__


class _NvmlDevice(CounterDevice):
    """One GPU's NVML handle; NVML's errors become `DeviceReadError`."""

    label: ClassVar[str] = "NVML"
    no_counter_hint: ClassVar[str] = "it needs a Volta or newer GPU"

    def __init__(self, nvml: _NvmlApi, handle: object) -> None:
        self._nvml = nvml
        self._handle = handle

    def _read(self, read: Callable[[], Any]) -> Any:
        try:
            return read()
        except self._nvml.NVMLError as exc:
            name = _error_name(exc)
            raise DeviceReadError(
                name, str(exc), unsupported=name == "NVMLError_NotSupported"
            ) from exc

    def energy_mj(self) -> int:
        """NVML's total energy counter (millijoules since the driver loaded)."""
        return int(self._read(lambda: self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)))

    def power_mw(self) -> int:
        """NVML's board power (milliwatts)."""
        return int(self._read(lambda: self._nvml.nvmlDeviceGetPowerUsage(self._handle)))

    def utilisation(self) -> tuple[int, int]:
        """NVML's GPU and memory utilisation rates (percent)."""
        rates = self._read(lambda: self._nvml.nvmlDeviceGetUtilizationRates(self._handle))
        return int(rates.gpu), int(rates.memory)


class NvmlMeter(CounterMeter):
    """Meters real NVIDIA GPUs through NVML; energy is the energy counter's delta.

    `describe` lists the GPUs NVML reports, with UUID, model name and driver version. It
    takes the window settings of `CounterMeter` (sampling, widening, clock).

    Raises:
        MeterUnavailable: nvidia-ml-py is missing, NVML does not initialise (no driver), or
            it finds no GPU. The message says what to do.
        ConfigError: `sample_interval_s` is not positive.
    """

    kind: ClassVar[MeterKindName] = "nvml"

    def _connect(self) -> list[GpuInfo]:
        self._nvml = _load_pynvml()
        try:
            self._nvml.nvmlInit()
        except self._nvml.NVMLError as exc:
            raise MeterUnavailable(self._init_advice(exc)) from exc
        self._handles: dict[int, object] = {}
        gpus = self._list_gpus()
        return self._visible(gpus, NVIDIA_VARIABLES)

    def _list_gpus(self) -> list[GpuInfo]:
        """Every GPU NVML sees, with its handle kept in `_handles`; shuts NVML down on failure."""
        try:
            driver = text(self._nvml.nvmlSystemGetDriverVersion())
            gpus = []
            for index in range(self._nvml.nvmlDeviceGetCount()):
                handle = self._nvml.nvmlDeviceGetHandleByIndex(index)
                self._handles[index] = handle
                gpus.append(
                    GpuInfo(
                        index=index,
                        uuid=text(self._nvml.nvmlDeviceGetUUID(handle)),
                        name=text(self._nvml.nvmlDeviceGetName(handle)),
                        driver_version=driver,
                    )
                )
        except self._nvml.NVMLError as exc:
            self.close()
            raise MeterUnavailable(
                f"NVML started but could not list the GPUs ({_error_name(exc)}: {exc}). "
                + _NO_DRIVER_ADVICE
            ) from exc
        if not gpus:
            self.close()
            raise MeterUnavailable("NVML started but found no GPU. " + _NO_DRIVER_ADVICE)
        return gpus

    @staticmethod
    def _init_advice(exc: Exception) -> str:
        name = _error_name(exc)
        if name in ("NVMLError_LibraryNotFound", "NVMLError_DriverNotLoaded"):
            return (
                f"NVML is not available: the NVIDIA driver is not installed or not loaded "
                f"({name}: {exc}). " + _NO_DRIVER_ADVICE
            )
        return f"NVML failed to initialise ({name}: {exc}). " + _NO_DRIVER_ADVICE

    def _shutdown(self) -> None:
        try:
            self._nvml.nvmlShutdown()
        except self._nvml.NVMLError as exc:
            logger.debug("nvmlShutdown failed: %s", exc)

    def _device(self, gpu: GpuInfo) -> CounterDevice:
        return _NvmlDevice(self._nvml, self._handles[gpu.index])
