"""GPU classes: the one catalogue of the classes the SDK, the CLI and the oracle node know.

NVIDIA (A100, H100, H200, B200, L40S, RTX 4090), AMD (MI250X, MI300X) and a CPU class, each
with the vendor whose meter measures it for real.

On chain a job's class is ``bytes4(keccak256(lower-case name))``; any name works there. The
catalogue names the classes the tools know, and gives each the power model the oracle's
simulated meter uses for it on machines without that GPU, so a class cannot be known to
one side and missing on the other. Adding a class is adding one `GpuClass` to `GPU_CLASSES`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

from eth_hash.auto import keccak

from .errors import JouleLedgerError


class UnknownGpuClass(JouleLedgerError, ValueError):
    """A GPU class name that is not in the catalogue; the message lists the known ones."""


Vendor = Literal["nvidia", "amd", "cpu"]
"""Who makes the device, which decides the meter that measures it for real: NVML for
``nvidia``, AMD SMI for ``amd``, Linux RAPL for ``cpu``."""


@dataclass(frozen=True)
class GpuClass:
    """One device class (a GPU model, or a CPU) and its simulated power model.

    The simulated meter draws ``idle_w + (peak_w - idle_w) * utilisation`` watts, and turns
    reported work into utilisation with `tokens_per_second`, the class's throughput at full
    utilisation. The numbers are plausible board figures, not measurements. No two classes
    share a model, so a class is never silently simulated as another.

    Attributes:
        name: the class name jobs and providers use, lower case (``nvidia-h100``).
        model_name: the model as its vendor library names it (``NVIDIA H100 80GB HBM3``).
        idle_w: board power when idle, watts.
        peak_w: board power at full utilisation, watts.
        tokens_per_second: AI tokens per second at full utilisation.
        vendor: ``nvidia``, ``amd`` or ``cpu``.
    """

    name: str
    model_name: str
    idle_w: float
    peak_w: float
    tokens_per_second: float
    vendor: Vendor = "nvidia"

    @property
    def class_id(self) -> bytes:
        """The class's 4-byte on-chain id."""
        return gpu_class_id(self.name)


GPU_CLASSES: Final[Mapping[str, GpuClass]] = MappingProxyType(
    {
        gpu.name: gpu
        for gpu in (
            GpuClass("nvidia-h100", "NVIDIA H100 80GB HBM3", 70.0, 700.0, 3000.0),
            GpuClass("nvidia-h200", "NVIDIA H200", 75.0, 700.0, 4200.0),
            GpuClass("nvidia-b200", "NVIDIA B200", 140.0, 1000.0, 7500.0),
            GpuClass("nvidia-a100", "NVIDIA A100-SXM4-80GB", 50.0, 400.0, 1400.0),
            GpuClass("nvidia-l40s", "NVIDIA L40S", 35.0, 350.0, 1100.0),
            GpuClass("rtx-4090", "NVIDIA GeForce RTX 4090", 25.0, 450.0, 1000.0),
            GpuClass("amd-mi250x", "AMD Instinct MI250X", 90.0, 560.0, 1600.0, "amd"),
            GpuClass("amd-mi300x", "AMD Instinct MI300X", 130.0, 750.0, 3400.0, "amd"),
            GpuClass("cpu-x86", "x86-64 CPU package (RAPL)", 20.0, 250.0, 60.0, "cpu"),
        )
    }
)
"""Every known class by name."""

KNOWN_CLASSES: Final = tuple(GPU_CLASSES)
"""The names of `GPU_CLASSES`, in catalogue order."""


def gpu_class(name: str) -> GpuClass:
    """The catalogue entry of a class name (case and surrounding spaces do not matter).

    Args:
        name: a class name, e.g. ``nvidia-h200``.

    Raises:
        UnknownGpuClass: the catalogue has no such class; the message suggests a close
            match and lists the known classes.
    """
    cleaned = name.strip().lower()
    found = GPU_CLASSES.get(cleaned)
    if found is not None:
        return found
    close = difflib.get_close_matches(cleaned, KNOWN_CLASSES, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise UnknownGpuClass(
        f"unknown GPU class {name!r}{hint}; known classes: {', '.join(sorted(KNOWN_CLASSES))}"
    )


def gpu_class_id(name: str) -> bytes:
    """The on-chain id of a GPU class name, e.g. ``gpu_class_id("nvidia-h100")``.

    Any non-empty name has an id, whether or not the catalogue knows it.

    Args:
        name: a class name; case and surrounding spaces do not matter.

    Raises:
        ValueError: an empty name.
    """
    cleaned = name.strip().lower()
    if not cleaned:
        raise ValueError("a GPU class name must not be empty, e.g. nvidia-h100")
    return keccak(cleaned.encode())[:4]


_NAMES_BY_ID: Final[Mapping[bytes, str]] = MappingProxyType(
    {gpu_class_id(name): name for name in GPU_CLASSES}
)


def gpu_class_name(class_id: bytes) -> str:
    """The catalogue name of `class_id`, or its hex (``0x1234abcd``) when it is not known.

    Args:
        class_id: a 4-byte on-chain class id.
    """
    return _NAMES_BY_ID.get(bytes(class_id), "0x" + bytes(class_id).hex())
