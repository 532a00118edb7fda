"""What a workload is: the job spec that names it, and the interface every workload implements.

A job spec names a workload and its inputs::

    {"workload": "token-generation", "inputs": {"prompt_tokens": 16, "max_new_tokens": 64}}
    {"workload": "shell", "inputs": {"command": ["python3", "infer.py"], "timeout_s": 10}}
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

from jouleledger.eip712.spec import spec_hash

InputsT = TypeVar("InputsT", bound=BaseModel)


class JobSpec(BaseModel):
    """What to run: a workload name and that workload's inputs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workload: str = Field(min_length=1)
    inputs: dict[str, Any] = Field(default_factory=dict)

    def spec_hash(self) -> str:
        """The job's ``specHash`` for this spec, as 0x-hex bytes32: the SDK's rule
        (`jouleledger.eip712.spec.spec_hash`), the same one `jl job post --spec` posts by."""
        return "0x" + spec_hash(self.model_dump(mode="json")).hex()


@dataclass(frozen=True)
class WorkloadContext:
    """Where the workload runs: the device the meter is measuring.

    `gpu_uuid` is what places the job (`devices`); `gpu_index` is the meter's own index,
    for messages only: it is not a CUDA or HIP ordinal.
    """

    gpu_index: int = 0
    gpu_uuid: str | None = None
    meter_kind: str = "simulated"


@dataclass(frozen=True)
class WorkloadOutput:
    """What a workload produced: its work units, its output bytes, and how it ran."""

    work_units: int
    """AI tokens for token generation; stdout bytes or the reported count for shell."""
    output: bytes
    """The canonical output bytes that `result_hash` commits to."""
    backend: str
    """How it ran (``numpy-cpu``, ``torch-cuda:0``, ``subprocess``)."""
    token_ids: tuple[int, ...] | None = None
    """The generated token ids, for workloads that generate tokens."""


class Workload(ABC, Generic[InputsT]):
    """A kind of job the node can run. Subclasses set `name` and `summary`; `inputs_model` is
    the model they parametrise the class with (``Workload[ShellInputs]``), unless set."""

    name: ClassVar[str]
    summary: ClassVar[str]
    inputs_model: type[InputsT]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "inputs_model" in cls.__dict__:
            return
        for base in getattr(cls, "__orig_bases__", ()):
            if get_origin(base) is Workload:
                (model,) = get_args(base)
                if isinstance(model, type) and issubclass(model, BaseModel):
                    cls.inputs_model = model  # type: ignore[assignment]  # InputsT, bound

    @abstractmethod
    def run(self, inputs: InputsT, context: WorkloadContext) -> WorkloadOutput:
        """Run the workload.

        Args:
            inputs: validated inputs.
            context: the GPU to run on.

        Raises:
            WorkloadError: the workload failed; the message says how.
        """
