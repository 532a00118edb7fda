"""Placing a job on the device the meter measures: by UUID, never by ordinal.

``cuda:N`` and ``HIP`` ordinals are renumbered by ``CUDA_VISIBLE_DEVICES`` /
``HIP_VISIBLE_DEVICES`` (and ordered by ``CUDA_DEVICE_ORDER``), while the meter lists devices
in its vendor library's order. So the job's device is found by the metered GPU's UUID among
the devices PyTorch sees, and a command run by the ``shell`` workload is given exactly that
GPU, by UUID, in its environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final

from ..errors import WorkloadError
from ..metering.visible import normal_uuid
from .base import WorkloadContext

GPU_UUID_ENV: Final = "JL_GPU_UUID"
GPU_INDEX_ENV: Final = "JL_GPU_INDEX"


def is_gpu(context: WorkloadContext) -> bool:
    """Whether the job's device is a real GPU (NVML or AMD SMI), not a CPU or a simulation.

    Args:
        context: where the job runs.
    """
    return context.gpu_uuid is not None and context.meter_kind in ("nvml", "amd-smi")


def torch_ordinal(torch: Any, context: WorkloadContext) -> int:
    """The ``cuda:N`` ordinal PyTorch gives the metered GPU, found by UUID.

    Args:
        torch: the imported ``torch`` module (CUDA or ROCm build).
        context: where the job runs; `gpu_uuid` must be set.

    Raises:
        WorkloadError: PyTorch does not see that GPU (hidden by ``CUDA_VISIBLE_DEVICES``) or
            cannot say devices' UUIDs (too old a PyTorch).
    """
    wanted = normal_uuid(context.gpu_uuid or "")
    seen: list[str] = []
    for ordinal in range(int(torch.cuda.device_count())):
        uuid = getattr(torch.cuda.get_device_properties(ordinal), "uuid", None)
        if uuid is None:
            raise WorkloadError(
                "this PyTorch does not report device UUIDs (torch.cuda.get_device_properties"
                "(i).uuid), so the job cannot be placed on the metered GPU; upgrade PyTorch "
                "(2.1 or newer)"
            )
        seen.append(str(uuid))
        if normal_uuid(str(uuid)) == wanted:
            return ordinal
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>")
    raise WorkloadError(
        f"the metered GPU {context.gpu_uuid} (meter index {context.gpu_index}) is not among the "
        f"GPUs PyTorch sees ({', '.join(seen) or 'none'}; CUDA_VISIBLE_DEVICES={visible}); "
        "start the oracle with the same visible devices as its jobs"
    )


def job_environment(context: WorkloadContext, base: Mapping[str, str]) -> dict[str, str]:
    """The environment of a command run as a job: `base`, plus the metered device, named by
    UUID so that the command's ordinal 0 is that GPU whatever `base` said.

    Args:
        context: where the job runs.
        base: the environment to start from (``os.environ``).
    """
    env = dict(base)
    if context.gpu_uuid is not None:
        env[GPU_UUID_ENV] = context.gpu_uuid
        env[GPU_INDEX_ENV] = str(context.gpu_index)
    if is_gpu(context):
        uuid = context.gpu_uuid or ""
        if context.meter_kind == "nvml":
            env["CUDA_VISIBLE_DEVICES"] = uuid
        else:
            env.pop("HIP_VISIBLE_DEVICES", None)
            env.pop("CUDA_VISIBLE_DEVICES", None)
            env["ROCR_VISIBLE_DEVICES"] = uuid
    return env
