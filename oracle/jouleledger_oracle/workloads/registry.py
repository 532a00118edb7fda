"""Running jobs: the registry of workloads, spec validation and `run_job`.

`run_job` validates the spec before the meter starts, runs the workload on the metered GPU and
returns a `JobResult`: the meter's `Reading`, the work units (AI tokens) and `result_hash`,
keccak256 over ``abi.encode(string workload, bytes output)``, which a contract or a client can
recompute from the output to check what the oracle attested.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InvalidJobSpec
from ..metering import Meter, Reading
from .base import JobSpec, Workload, WorkloadContext
from .shell import Shell
from .transformer import TokenGeneration


class JobResult(BaseModel):
    """A measured, finished job: the reading, the work done and a commitment to the output."""

    model_config = ConfigDict(frozen=True)

    job_id: int
    workload: str
    spec_hash: str
    reading: Reading
    ai_tokens: int = Field(ge=0, description="work units: tokens, or output bytes for shell")
    result_hash: str = Field(pattern=r"^0x[0-9a-f]{64}$")
    output: bytes
    token_ids: tuple[int, ...] | None = None
    backend: str


def result_hash(workload: str, output: bytes) -> str:
    """keccak256(abi.encode(string workload, bytes output)) as 0x-hex bytes32.

    Solidity recomputes it as ``keccak256(abi.encode(workload, output))``.

    Args:
        workload: the workload name from the spec (so equal bytes from different workloads
            commit differently).
        output: the workload's canonical output bytes.
    """
    return "0x" + keccak(abi_encode(["string", "bytes"], [workload, output])).hex()


WORKLOADS: Final[Mapping[str, Workload[Any]]] = MappingProxyType(
    {workload.name: workload for workload in (TokenGeneration(), Shell())}
)


def _known(workloads: Mapping[str, Workload[Any]]) -> str:
    return ", ".join(f"{name} ({w.summary})" for name, w in sorted(workloads.items()))


def resolve(
    spec: JobSpec | Mapping[str, Any], workloads: Mapping[str, Workload[Any]] = WORKLOADS
) -> tuple[JobSpec, Workload[Any], BaseModel]:
    """Validate a spec: find its workload and parse its inputs, before any meter starts.

    Args:
        spec: a `JobSpec` or the same as a mapping (parsed JSON).
        workloads: the workloads to choose from.

    Raises:
        InvalidJobSpec: malformed spec, unknown workload or bad inputs; the message lists the
            known workloads.
    """
    try:
        job = spec if isinstance(spec, JobSpec) else JobSpec.model_validate(spec)
    except ValidationError as exc:
        raise InvalidJobSpec(
            f"malformed job spec ({_errors(exc)}); a spec is "
            f'{{"workload": ..., "inputs": {{...}}}}; known workloads: {_known(workloads)}'
        ) from exc
    workload = workloads.get(job.workload)
    if workload is None:
        close = difflib.get_close_matches(job.workload, list(workloads), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InvalidJobSpec(
            f"unknown workload {job.workload!r}{hint} Known workloads: {_known(workloads)}"
        )
    try:
        inputs = workload.inputs_model.model_validate(job.inputs)
    except ValidationError as exc:
        fields = ", ".join(workload.inputs_model.model_fields)
        raise InvalidJobSpec(
            f"invalid inputs for workload {job.workload!r}: {_errors(exc)}. Its inputs are: "
            f"{fields}. Known workloads: {_known(workloads)}"
        ) from exc
    return job, workload, inputs


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'spec'}: {error['msg']}"
        for error in exc.errors()
    )


def run_job(
    spec: JobSpec | Mapping[str, Any],
    meter: Meter,
    *,
    job_id: int,
    gpu_index: int | None = None,
    gpu_uuid: str | None = None,
    workloads: Mapping[str, Workload[Any]] = WORKLOADS,
) -> JobResult:
    """Run a job's workload inside a meter session on one device.

    The spec is validated first, so a bad spec never opens a meter window. The workload runs
    on the device the session measures, found by its UUID (`devices`). If the workload
    fails, the session is aborted (the device is free again) and the error propagates.

    Args:
        spec: what to run.
        meter: the node's meter.
        job_id: the on-chain job id, recorded in the reading.
        gpu_index: the device to run and measure on, as the meter's index (default 0).
        gpu_uuid: the device by UUID; wins over `gpu_index`.
        workloads: the workloads to choose from.

    Raises:
        InvalidJobSpec: unknown workload or malformed inputs.
        WorkloadError: the workload failed (timeout, limits, exit status).
        MeterError: the meter could not measure the job.
        MeterUnavailable: the GPU cannot be metered.
    """
    job, workload, inputs = resolve(spec, workloads)
    with meter.start(job_id, gpu_index=gpu_index, gpu_uuid=gpu_uuid) as session:
        gpu = session.gpu
        context = WorkloadContext(gpu_index=gpu.index, gpu_uuid=gpu.uuid, meter_kind=meter.kind)
        produced = workload.run(inputs, context)
        reading = session.stop(work_units=produced.work_units)
    return JobResult(
        job_id=job_id,
        workload=job.workload,
        spec_hash=job.spec_hash(),
        reading=reading,
        ai_tokens=produced.work_units,
        result_hash=result_hash(job.workload, produced.output),
        output=produced.output,
        token_ids=produced.token_ids,
        backend=produced.backend,
    )
