"""AMD GPUs through AMD SMI (PyPI ``amdsmi``, which needs ROCm's ``libamd_smi`` at run time).

This is the only module in the project that touches AMD SMI. ``amdsmi`` is not a dependency
of the project: it is imported lazily, and when it or ROCm is missing the meter says so
(`MeterUnavailable`) instead of failing at import. Errors are mapped by AMD SMI's status code,
as ml-energy's Zeus does (``zeus/device/gpu/amd.py``).

Energy is AMD SMI's energy accumulator times its ``counter_resolution`` (microjoules), in
millijoules; like NVML's it counts for the whole GPU, not per process. The GPUs listed are
those ``HIP_VISIBLE_DEVICES`` (else ``ROCR_VISIBLE_DEVICES``, else ``CUDA_VISIBLE_DEVICES``)
shows, matched by UUID. On an MI250X each of the two dies is listed as a GPU but only the
even one reports power and energy, for both dies: the odd one is refused as unmeterable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar, Final, Protocol, cast

from ..errors import MeterUnavailable
from .base import GpuInfo, MeterKindName
from .counter import CounterDevice, CounterMeter, DeviceReadError
from .vendor import import_vendor_library, text
from .visible import AMD_VARIABLES

logger = logging.getLogger(__name__)

_STATUS_NAMES: Final = {
    2: "AMDSMI_STATUS_NOT_SUPPORTED",
    8: "AMDSMI_STATUS_TIMEOUT",
    10: "AMDSMI_STATUS_NO_PERM",
    18: "AMDSMI_STATUS_INIT_ERROR",
    31: "AMDSMI_STATUS_NOT_FOUND",
    32: "AMDSMI_STATUS_NOT_INIT",
    34: "AMDSMI_STATUS_DRIVER_NOT_LOADED",
    45: "AMDSMI_NO_ENERGY_DRV",
    51: "AMDSMI_NO_DRV",
    52: "AMDSMI_FILE_NOT_FOUND",
}
_UNSUPPORTED: Final = frozenset({2, 45})
_ADVICE: Final = (
    "The AMD meter needs ROCm (6.1 or newer, check with `amd-smi list`) and the amdsmi "
    "package of the same version (pip install amdsmi); or run the oracle with --meter "
    "simulated (its records then say meter_kind=simulated)."
)


class _AmdSmiApi(Protocol):
    """The part of ``amdsmi`` the meter uses (tests inject a fake with the same shape)."""

    AmdSmiLibraryException: type[Exception]
    amdsmi_init: Callable[[], None]
    amdsmi_shut_down: Callable[[], None]
    amdsmi_get_processor_handles: Callable[[], list[object]]
    amdsmi_get_gpu_device_uuid: Callable[[object], str | bytes]
    amdsmi_get_gpu_asic_info: Callable[[object], dict[str, Any]]
    amdsmi_get_gpu_driver_info: Callable[[object], dict[str, Any]]
    amdsmi_get_energy_count: Callable[[object], dict[str, Any]]
    amdsmi_get_power_info: Callable[[object], dict[str, Any]]
    amdsmi_get_gpu_activity: Callable[[object], dict[str, Any]]


def _code(exc: Exception) -> int:
    get = getattr(exc, "get_error_code", None)
    return int(get()) if callable(get) else -1


def _describe(exc: Exception) -> str:
    code = _code(exc)
    return f"{_STATUS_NAMES.get(code, f'AMD SMI status {code}')}: {exc}"


def _watts(info: dict[str, Any], *keys: str) -> int | None:
    """The first of `keys` that holds a number of watts, in milliwatts; None if none does."""
    for key in keys:
        value = info.get(key)
        if isinstance(value, int | float):  # "N/A" where the GPU does not report it
            return round(value * 1000)
    return None


class _AmdDevice(CounterDevice):
    """One GPU's AMD SMI handle; AMD SMI's errors become `DeviceReadError`."""

    label: ClassVar[str] = "AMD SMI"
    no_counter_hint: ClassVar[str] = (
        "its driver reports no energy; on an MI250X only the even die of each pair does"
    )

    def __init__(self, smi: _AmdSmiApi, handle: object) -> None:
        self._smi = smi
        self._handle = handle

    def _read(self, read: Callable[[object], Any]) -> Any:
        try:
            return read(self._handle)
        except self._smi.AmdSmiLibraryException as exc:
            raise DeviceReadError(
                _STATUS_NAMES.get(_code(exc), "AmdSmiLibraryException"),
                str(exc),
                unsupported=_code(exc) in _UNSUPPORTED,
            ) from exc

    def energy_mj(self) -> int:
        """The energy accumulator times its resolution (microjoules), in millijoules."""
        count = self._read(self._smi.amdsmi_get_energy_count)
        ticks = count.get("energy_accumulator", count.get("power"))  # "power" before ROCm 6.2
        resolution = count.get("counter_resolution")
        if not isinstance(ticks, int) or not isinstance(resolution, int | float):
            raise DeviceReadError(
                "AMDSMI_STATUS_NOT_SUPPORTED", f"no energy counter in {count!r}", unsupported=True
            )
        return int(ticks * resolution) // 1000

    def power_mw(self) -> int:
        """Socket power (average, else current), in milliwatts."""
        info = self._read(self._smi.amdsmi_get_power_info)
        power = _watts(info, "average_socket_power", "current_socket_power")
        if power is None:
            raise DeviceReadError(
                "AMDSMI_STATUS_NOT_SUPPORTED", "no socket power", unsupported=True
            )
        return power

    def utilisation(self) -> tuple[int, int]:
        """Graphics and memory-controller activity (percent)."""
        activity = self._read(self._smi.amdsmi_get_gpu_activity)
        gfx, umc = activity.get("gfx_activity"), activity.get("umc_activity")
        if not isinstance(gfx, int) or not isinstance(umc, int):
            raise DeviceReadError("AMDSMI_STATUS_NOT_SUPPORTED", "no activity", unsupported=True)
        return gfx, umc


class AmdSmiMeter(CounterMeter):
    """Meters AMD Instinct and Radeon GPUs through AMD SMI; energy is the accumulator's delta.

    It takes the window settings of `CounterMeter` (sampling, widening, clock, environment).

    Raises:
        MeterUnavailable: amdsmi or ROCm is missing, AMD SMI does not initialise, or it
            finds no GPU. The message says what to do.
        ConfigError: `sample_interval_s` is not positive.
    """

    kind: ClassVar[MeterKindName] = "amd-smi"

    def _connect(self) -> list[GpuInfo]:
        self._smi = cast(_AmdSmiApi, import_vendor_library("amdsmi", _ADVICE))
        try:
            self._smi.amdsmi_init()
        except self._smi.AmdSmiLibraryException as exc:
            raise MeterUnavailable(
                f"AMD SMI failed to initialise ({_describe(exc)}). {_ADVICE}"
            ) from exc
        self._handles: dict[int, object] = {}
        try:
            gpus = self._list_gpus()
        except self._smi.AmdSmiLibraryException as exc:
            self.close()
            raise MeterUnavailable(
                f"AMD SMI started but could not list the GPUs ({_describe(exc)}). {_ADVICE}"
            ) from exc
        if not gpus:
            self.close()
            raise MeterUnavailable("AMD SMI started but found no GPU. " + _ADVICE)
        return self._visible(gpus, AMD_VARIABLES)

    def _list_gpus(self) -> list[GpuInfo]:
        gpus = []
        for index, handle in enumerate(self._smi.amdsmi_get_processor_handles()):
            self._handles[index] = handle
            uuid = text(self._smi.amdsmi_get_gpu_device_uuid(handle))
            gpus.append(
                GpuInfo(
                    index=index,
                    uuid=uuid if uuid.upper().startswith("GPU-") else f"GPU-{uuid}",
                    name=str(self._smi.amdsmi_get_gpu_asic_info(handle).get("market_name", "AMD")),
                    driver_version=str(
                        self._smi.amdsmi_get_gpu_driver_info(handle).get("driver_version", "")
                    ),
                )
            )
        return gpus

    def _shutdown(self) -> None:
        try:
            self._smi.amdsmi_shut_down()
        except self._smi.AmdSmiLibraryException as exc:
            logger.debug("amdsmi_shut_down failed: %s", exc)

    def _device(self, gpu: GpuInfo) -> CounterDevice:
        return _AmdDevice(self._smi, self._handles[gpu.index])
