"""CPUs through Linux RAPL powercap files (``/sys/class/powercap/intel-rapl:N``).

This is the only module in the project that reads RAPL. Each CPU package is one device: its
energy is the package zone's ``energy_uj`` plus its DRAM subzone's, when it has one. Both
count microjoules up to ``max_energy_range_uj`` and then wrap to zero; the device undoes the
wrap on every read (the meter's sampler reads every 100 ms, far more often than the counter
can wrap, which takes minutes even at full power). Like a GPU's counter it counts for the
whole package, not per process.

Since Linux 5.10 ``energy_uj`` is readable by root only (CVE-2020-8694): the meter says so
and what to do, instead of reading zeros. RAPL has no separate power reading, so a RAPL
reading has no power integral to cross-check; ``selfcheck`` says "n/a" for it.
"""

from __future__ import annotations

import platform
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Final

from ..errors import MeterUnavailable
from .base import GpuInfo, MeterKindName
from .counter import CounterDevice, CounterMeter, DeviceReadError

POWERCAP_ROOT: Final = Path("/sys/class/powercap")
_NAMESPACE: Final = uuid.UUID("9d3c1f0a-6b2e-4d8f-a1c7-3e5b7d9f2a44")
_PERMISSION_ADVICE: Final = (
    "RAPL's energy_uj files are readable by root only on this system (Linux 5.10 and newer, "
    "CVE-2020-8694): run the oracle as root, or let its user read them (e.g. a udev rule or "
    "`chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj "
    "/sys/class/powercap/intel-rapl:*/intel-rapl:*/energy_uj` at boot); or use --meter simulated"
)


@dataclass
class _Zone:
    """One counter file and its wrap state: ``value = raw + wraps * max_range``."""

    energy_file: Path
    max_range_uj: int
    last_raw: int | None = None
    wraps: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def read_uj(self) -> int:
        try:
            raw = int(self.energy_file.read_text().strip())
        except PermissionError as exc:
            raise DeviceReadError("PermissionError", _PERMISSION_ADVICE) from exc
        except (OSError, ValueError) as exc:
            raise DeviceReadError(type(exc).__name__, f"{self.energy_file}: {exc}") from exc
        with self.lock:
            if self.last_raw is not None and raw < self.last_raw:
                self.wraps += 1
            self.last_raw = raw
            return raw + self.wraps * self.max_range_uj


def _zone(directory: Path) -> _Zone:
    """The zone in `directory`, with its first reading taken (so a wrap is seen from now on).

    Raises:
        MeterUnavailable: the files cannot be read (permissions: says what to do).
    """
    try:
        max_range = int((directory / "max_energy_range_uj").read_text().strip())
        zone = _Zone(directory / "energy_uj", max_range)
        zone.read_uj()
    except DeviceReadError as exc:
        raise MeterUnavailable(f"cannot read {directory / 'energy_uj'}: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise MeterUnavailable(
            f"RAPL zone {directory} has no readable max_energy_range_uj ({exc}), so its "
            "wrap-around cannot be undone; use --meter simulated"
        ) from exc
    return zone


class _RaplDevice(CounterDevice):
    """One CPU package: package zone plus DRAM zone, wrap-around undone."""

    label: ClassVar[str] = "RAPL"
    no_counter_hint: ClassVar[str] = "the kernel exposes no RAPL zone for it"
    update_period_s: ClassVar[float] = 0.001

    def __init__(self, zones: list[_Zone]) -> None:
        self._zones = zones

    def energy_mj(self) -> int:
        """Package plus DRAM energy since some origin, in millijoules."""
        return sum(zone.read_uj() for zone in self._zones) // 1000

    def power_mw(self) -> int:
        """RAPL has no power reading separate from its counter."""
        raise DeviceReadError("NotSupported", "RAPL has no power reading", unsupported=True)

    def utilisation(self) -> tuple[int, int]:
        """RAPL has no utilisation reading."""
        raise DeviceReadError("NotSupported", "RAPL has no utilisation", unsupported=True)


def _machine_id(root: Path) -> str:
    for candidate in (root / "machine-id", Path("/etc/machine-id")):
        try:
            found = candidate.read_text().strip()
        except OSError:
            continue
        if found:
            return found
    return platform.node()


def _cpu_model(cpuinfo: Path) -> str:
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    except OSError:
        pass
    return "CPU package"


class RaplMeter(CounterMeter):
    """Meters CPU packages through RAPL powercap files; energy is the counters' delta.

    Args:
        root: the powercap folder (default `POWERCAP_ROOT`; tests point it at a fake tree).
        cpuinfo: where the CPU model is read from.
        options: the window settings of `CounterMeter`.

    Raises:
        MeterUnavailable: no RAPL package zone, or its files are unreadable (root-only).
        ConfigError: `sample_interval_s` is not positive.
    """

    kind: ClassVar[MeterKindName] = "rapl"

    def __init__(
        self, *, root: Path | None = None, cpuinfo: Path = Path("/proc/cpuinfo"), **options: Any
    ) -> None:
        self._root = POWERCAP_ROOT if root is None else root
        self._cpuinfo = cpuinfo
        super().__init__(**options)

    def _connect(self) -> list[GpuInfo]:
        packages = sorted(
            (d for d in self._root.glob("intel-rapl:*") if d.name.count(":") == 1),
            key=lambda d: int(d.name.split(":")[1]) if d.name.split(":")[1].isdigit() else 0,
        )
        self._zones: dict[int, list[_Zone]] = {}
        gpus: list[GpuInfo] = []
        machine = _machine_id(self._root)
        model = _cpu_model(self._cpuinfo)
        for package in packages:
            name = _read_name(package)
            if not name.startswith("package"):
                continue  # psys and other platform zones overlap the packages
            zones = [_zone(package)]
            for sub in sorted(package.glob(f"{package.name}:*")):
                if _read_name(sub) == "dram":
                    zones.append(_zone(sub))
            index = len(gpus)
            self._zones[index] = zones
            gpus.append(
                GpuInfo(
                    index=index,
                    uuid=f"CPU-{uuid.uuid5(_NAMESPACE, f'{machine}/{name}')}",
                    name=f"{model} ({name}{' + dram' if len(zones) > 1 else ''})",
                    driver_version=f"powercap, Linux {platform.release()}",
                )
            )
        if not gpus:
            raise MeterUnavailable(
                f"no RAPL package zone under {self._root} (a virtual machine, or a CPU without "
                "RAPL); use --meter simulated"
            )
        return gpus

    def _device(self, gpu: GpuInfo) -> CounterDevice:
        return _RaplDevice(self._zones[gpu.index])


def _read_name(zone: Path) -> str:
    try:
        return (zone / "name").read_text().strip()
    except OSError:
        return ""
