"""GPU identity by UUID: the GPU a job runs on is the GPU metered, whatever
``CUDA_VISIBLE_DEVICES`` renumbers (fake ``pynvml`` and a fake ``torch``; CI has no GPU)."""

from __future__ import annotations

import sys
import types

import pytest

from jouleledger_oracle.errors import MeterUnavailable, WorkloadError
from jouleledger_oracle.metering import NvmlMeter
from jouleledger_oracle.workloads import WorkloadContext, run_job, transformer
from jouleledger_oracle.workloads.devices import job_environment, torch_ordinal

from .conftest import FakeClock, FakeGpu, FakeNvml, on_fake_clock

UUIDS = [f"GPU-{n}b1d54c4-7f3a-4a2e-9d1b-2c8e0f3a9b71" for n in range(4)]


@pytest.fixture
def four_gpus(fake_nvml: FakeNvml) -> FakeNvml:
    fake_nvml.gpus = [
        FakeGpu(uuid=uuid, power_mw=100_000 * (n + 1)) for n, uuid in enumerate(UUIDS)
    ]
    return fake_nvml


def nvml(clock: FakeClock, visible: str | None) -> NvmlMeter:
    environ = {} if visible is None else {"CUDA_VISIBLE_DEVICES": visible}
    return on_fake_clock(NvmlMeter, clock, environ=environ)


def fake_torch(visible_uuids: list[str]) -> types.SimpleNamespace:
    """A ``torch`` whose CUDA devices are `visible_uuids`, in CUDA's (renumbered) order; torch
    reports UUIDs without the ``GPU-`` prefix."""
    props = [types.SimpleNamespace(uuid=uuid.removeprefix("GPU-")) for uuid in visible_uuids]
    cuda = types.SimpleNamespace(
        device_count=lambda: len(props), get_device_properties=lambda i: props[i]
    )
    return types.SimpleNamespace(cuda=cuda)


@pytest.mark.parametrize(
    ("visible", "listed"),
    [
        (None, [0, 1, 2, 3]),
        ("2", [2]),
        ("3,1", [3, 1]),
        (f"{UUIDS[2]},0", [2, 0]),
        ("GPU-1b1d", [1]),  # a unique prefix, as CUDA accepts
        ("1,7,2", [1]),  # as CUDA does: an invalid entry hides itself and what follows
    ],
)
def test_the_meter_lists_the_visible_gpus_with_their_nvml_identity(
    four_gpus: FakeNvml, clock: FakeClock, visible: str | None, listed: list[int]
) -> None:
    with nvml(clock, visible) as meter:
        gpus = meter.describe()

    assert [g.index for g in gpus] == listed
    assert [g.uuid for g in gpus] == [UUIDS[i] for i in listed]


def test_a_visible_list_that_hides_every_gpu_or_names_mig_is_refused(
    four_gpus: FakeNvml, clock: FakeClock
) -> None:
    with pytest.raises(MeterUnavailable, match="hides every GPU"):
        nvml(clock, "")
    with pytest.raises(MeterUnavailable, match="MIG slice"):
        nvml(clock, "MIG-4f1c0e2a-0000-0000-0000-000000000000")


def test_the_job_runs_on_the_metered_gpu_when_cuda_renumbers_it(
    four_gpus: FakeNvml, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CUDA_VISIBLE_DEVICES=2: the job's cuda:0 is NVML's GPU 2, and GPU 2 must be metered.
    monkeypatch.setattr(transformer, "_torch_if_cuda", lambda: fake_torch([UUIDS[2]]))
    with nvml(clock, "2") as meter:
        (gpu,) = meter.describe()
        context = WorkloadContext(gpu_index=gpu.index, gpu_uuid=gpu.uuid, meter_kind="nvml")
        ops = transformer.TokenGeneration._ops("auto", context)
        session = meter.start(1, gpu_uuid=gpu.uuid)
        clock.advance(2.0)
        reading = session.stop()

    assert ops.backend == "torch-cuda:0"
    assert (reading.gpu_index, reading.gpu_uuid) == (2, UUIDS[2])
    assert reading.energy_mj == 2 * 300_000  # GPU 2's 300 W, not GPU 0's 100 W


def test_the_ordinal_is_found_by_uuid_in_cudas_order() -> None:
    torch = fake_torch([UUIDS[3], UUIDS[1]])  # CUDA_VISIBLE_DEVICES=3,1

    def ordinal(uuid: str) -> int:
        return torch_ordinal(torch, WorkloadContext(gpu_uuid=uuid, meter_kind="nvml"))

    assert (ordinal(UUIDS[1]), ordinal(UUIDS[3])) == (1, 0)
    with pytest.raises(WorkloadError, match="not among the GPUs PyTorch sees"):
        ordinal(UUIDS[0])


def test_a_shell_job_sees_exactly_the_metered_gpu_by_uuid(
    four_gpus: FakeNvml, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    script = "import os; print(os.environ['CUDA_VISIBLE_DEVICES'], os.environ['JL_GPU_UUID'])"
    spec = {"workload": "shell", "inputs": {"command": [sys.executable, "-c", script]}}
    with nvml(clock, "3,1") as meter:
        result = run_job(spec, meter, job_id=9, gpu_uuid=UUIDS[1])

    assert result.output.decode().split() == [UUIDS[1], UUIDS[1]]
    assert result.reading.gpu_uuid == UUIDS[1]


def test_amd_jobs_get_rocr_visible_devices_and_cpu_jobs_no_gpu() -> None:
    amd = WorkloadContext(gpu_index=0, gpu_uuid="GPU-8aff", meter_kind="amd-smi")
    env = job_environment(amd, {"HIP_VISIBLE_DEVICES": "3"})
    cpu = job_environment(WorkloadContext(gpu_uuid="CPU-1", meter_kind="rapl"), {})

    assert env["ROCR_VISIBLE_DEVICES"] == "GPU-8aff" and "HIP_VISIBLE_DEVICES" not in env
    assert "CUDA_VISIBLE_DEVICES" not in cpu and cpu["JL_GPU_UUID"] == "CPU-1"
