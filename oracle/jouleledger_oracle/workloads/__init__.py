"""Workloads: what a job runs, inside a meter session, and the commitment to its output.

- `base`: the job spec (`JobSpec`) and the `Workload` interface.
- `transformer`: ``token-generation``, a small random-weight transformer decoded greedily.
- `shell`: ``shell``, a command under time, memory and output limits.
- `registry`: the built-in workloads, spec validation (`resolve`) and `run_job`.
"""

from .base import JobSpec, Workload, WorkloadContext, WorkloadOutput
from .registry import WORKLOADS, JobResult, resolve, result_hash, run_job
from .shell import Shell, ShellInputs
from .transformer import TokenGeneration, TokenGenerationInputs

__all__ = [
    "WORKLOADS",
    "JobResult",
    "JobSpec",
    "Shell",
    "ShellInputs",
    "TokenGeneration",
    "TokenGenerationInputs",
    "Workload",
    "WorkloadContext",
    "WorkloadOutput",
    "resolve",
    "result_hash",
    "run_job",
]
