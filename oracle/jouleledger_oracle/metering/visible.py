"""Which GPUs a job may run on: ``CUDA_VISIBLE_DEVICES`` / ``HIP_VISIBLE_DEVICES``, read once.

CUDA and HIP renumber the devices they show: with ``CUDA_VISIBLE_DEVICES=2,0`` the framework's
``cuda:0`` is the GPU NVML calls 2. The meter therefore never trusts an ordinal: it lists the
GPUs its vendor library sees (with UUIDs), keeps those the variable makes visible, and the job
is placed on the GPU with the same UUID (`jouleledger_oracle.workloads.devices`).

Entries are what CUDA accepts: integer indices (taken in the vendor library's order, which is
CUDA's own when ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` or the GPUs are all one model), or UUIDs,
whole or as a unique prefix, with or without ``GPU-``. As CUDA does, an invalid entry hides
itself and every entry after it. ``MIG-`` entries are refused: NVML's energy counter is per
physical GPU, so a MIG slice's energy cannot be attested.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Final

from ..errors import MeterUnavailable
from .base import GpuInfo

logger = logging.getLogger(__name__)

NVIDIA_VARIABLES: Final = ("CUDA_VISIBLE_DEVICES",)
AMD_VARIABLES: Final = ("HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES")
"""HIP honours ``CUDA_VISIBLE_DEVICES`` too when ``HIP_VISIBLE_DEVICES`` is unset."""


def normal_uuid(uuid: str) -> str:
    """A UUID in the form used to compare them: lower case, without ``GPU-``.

    Args:
        uuid: ``GPU-6b1d...``, ``6B1D...`` or a torch ``UUID`` as text.
    """
    text = uuid.strip().lower()
    return text[4:] if text.startswith("gpu-") else text


def _match(entry: str, gpus: Sequence[GpuInfo]) -> GpuInfo | None:
    if entry.isdigit():
        index = int(entry)
        return gpus[index] if index < len(gpus) else None
    wanted = normal_uuid(entry)
    found = [gpu for gpu in gpus if normal_uuid(gpu.uuid).startswith(wanted)]
    return found[0] if wanted and len(found) == 1 else None


def visible_gpus(
    gpus: Sequence[GpuInfo], environ: Mapping[str, str], variables: Sequence[str]
) -> list[GpuInfo]:
    """The GPUs of `gpus` a framework would see, in the framework's order.

    Args:
        gpus: every GPU the vendor library lists, in its order.
        environ: the environment (``os.environ``), read once by the meter at start.
        variables: the variables to honour, first set one wins (`NVIDIA_VARIABLES`,
            `AMD_VARIABLES`).

    Raises:
        MeterUnavailable: the variable hides every GPU, or names a MIG slice.
    """
    for variable in variables:
        value = environ.get(variable)
        if value is not None:
            break
    else:
        return list(gpus)
    visible: list[GpuInfo] = []
    for raw in value.split(","):
        entry = raw.strip()
        if entry.upper().startswith("MIG-"):
            raise MeterUnavailable(
                f"{variable}={value} names a MIG slice ({entry}): the energy counter is per "
                "physical GPU, so a slice's energy cannot be attested. Give whole GPUs (index "
                "or GPU-UUID) to the oracle"
            )
        gpu = _match(entry, gpus)
        if gpu is None:
            if entry:
                logger.warning(
                    "meter: %s entry %r matches no GPU; as CUDA does, it and the entries after "
                    "it are ignored",
                    variable,
                    entry,
                )
            break
        if gpu not in visible:
            visible.append(gpu)
    if not visible:
        listed = ", ".join(f"{gpu.index}: {gpu.uuid}" for gpu in gpus)
        raise MeterUnavailable(
            f"{variable}={value!r} hides every GPU this machine has ({listed}); unset it or "
            "name GPUs by index or UUID"
        )
    return visible
