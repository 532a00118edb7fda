"""Run a job's workload inside a meter session and commit to its output.

A job spec names a workload and its inputs::

    {"workload": "token-generation", "inputs": {"prompt_tokens": 16, "max_new_tokens": 64}}
    {"workload": "shell", "inputs": {"command": ["python3", "infer.py"], "timeout_s": 10}}

`run_job` validates the spec before the meter starts, runs the workload on the metered GPU and
returns a `JobResult`: the meter's `Reading`, the work units (AI tokens) and `result_hash`,
keccak256 over ``abi.encode(string workload, bytes output)``, which a contract or a client can
recompute from the output to check what the oracle attested.

Built-in workloads:

- ``token-generation``: a small decoder-only transformer with random weights from the seed that
  greedily decodes tokens. It runs on PyTorch/CUDA when torch is importable and a GPU is
  visible, otherwise on NumPy on the CPU. Its output is the generated token ids, each as a
  big-endian uint32. Different devices may round differently, so the device is in the result.
- ``shell``: a command (argument list, never a shell string) under a wall-time, memory
  (RLIMIT_AS) and output-size (RLIMIT_FSIZE) limit, in a process group of its own that is
  killed when the command ends, so nothing it started keeps running. Its output is stdout.
"""

from __future__ import annotations

import difflib
import importlib
import os
import re
import resource
import select
import signal
import subprocess
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import IO, Any, ClassVar, Final, Generic, Literal, Self, TypeVar, cast

import numpy as np
import numpy.typing as npt
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from jouleledger.specs import spec_hash

from .errors import InvalidJobSpec, WorkloadError, WorkloadLimitExceeded, WorkloadTimeout
from .meter import Meter, Reading

InputsT = TypeVar("InputsT", bound=BaseModel)


class JobSpec(BaseModel):
    """What to run: a workload name and that workload's inputs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workload: str = Field(min_length=1)
    inputs: dict[str, Any] = Field(default_factory=dict)

    def spec_hash(self) -> str:
        """The job's ``specHash`` for this spec, as 0x-hex bytes32: the SDK's rule
        (`jouleledger.specs.spec_hash`), the same one `jl job post --spec` posts by."""
        return "0x" + spec_hash(self.model_dump(mode="json")).hex()


@dataclass(frozen=True)
class WorkloadContext:
    """Where the workload runs: the GPU the meter is measuring."""

    gpu_index: int = 0


@dataclass(frozen=True)
class WorkloadOutput:
    """What a workload produced: its work units, its output bytes, and how it ran."""

    work_units: int
    output: bytes
    backend: str
    token_ids: tuple[int, ...] | None = None


class Workload(ABC, Generic[InputsT]):
    """A kind of job the node can run. Subclasses set `name`, `summary` and `inputs_model`."""

    name: ClassVar[str]
    summary: ClassVar[str]
    inputs_model: type[InputsT]

    @abstractmethod
    def run(self, inputs: InputsT, context: WorkloadContext) -> WorkloadOutput:
        """Run the workload.

        Args:
            inputs: validated inputs.
            context: the GPU to run on.

        Raises:
            WorkloadError: the workload failed; the message says how.
        """


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


# --- token generation --------------------------------------------------------------------------


class TokenGenerationInputs(BaseModel):
    """A tiny decoder-only transformer with random weights, decoded greedily.

    The CPU defaults take a few milliseconds; raise `d_model`, `n_layers` or the token
    counts for heavier jobs.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt_tokens: int = Field(16, ge=1, le=2048)
    max_new_tokens: int = Field(64, ge=1, le=8192)
    seed: int = Field(0, ge=0, lt=2**63)
    n_layers: int = Field(2, ge=1, le=48)
    d_model: int = Field(64, ge=8, le=4096)
    n_heads: int = Field(4, ge=1, le=64)
    vocab_size: int = Field(256, ge=2, le=65536)
    device: Literal["auto", "cpu", "cuda"] = "auto"

    @model_validator(mode="after")
    def _heads_divide_width(self) -> Self:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not a multiple of n_heads {self.n_heads}")
        return self


class _Ops(ABC):
    """The few array operations that differ between NumPy and PyTorch; ``@``, slicing,
    ``reshape`` and ``swapaxes`` are shared."""

    backend: str

    def no_grad(self) -> AbstractContextManager[object]:
        """A context in which the framework keeps no autograd state."""
        return nullcontext()

    @abstractmethod
    def array(self, values: npt.NDArray[np.float32]) -> Any: ...

    @abstractmethod
    def zeros(self, shape: tuple[int, ...]) -> Any: ...

    @abstractmethod
    def layer_norm(self, x: Any, gain: Any, bias: Any) -> Any: ...

    @abstractmethod
    def softmax(self, x: Any) -> Any: ...

    @abstractmethod
    def gelu(self, x: Any) -> Any: ...

    @abstractmethod
    def argmax(self, x: Any) -> int: ...


class _NumpyOps(_Ops):
    backend = "numpy-cpu"

    def array(self, values: npt.NDArray[np.float32]) -> Any:
        return values

    def zeros(self, shape: tuple[int, ...]) -> Any:
        return np.zeros(shape, dtype=np.float32)

    def layer_norm(self, x: Any, gain: Any, bias: Any) -> Any:
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return (x - mean) / np.sqrt(var + np.float32(1e-5)) * gain + bias

    def softmax(self, x: Any) -> Any:
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def gelu(self, x: Any) -> Any:
        c = np.float32(np.sqrt(2.0 / np.pi))
        return np.float32(0.5) * x * (1 + np.tanh(c * (x + np.float32(0.044715) * x**3)))

    def argmax(self, x: Any) -> int:
        return int(np.argmax(x))


class _TorchOps(_Ops):
    def __init__(self, torch: Any, device: str) -> None:
        self._torch = torch
        self._device = device
        self.backend = f"torch-{device}"

    def no_grad(self) -> AbstractContextManager[object]:
        return cast(AbstractContextManager[object], self._torch.inference_mode())

    def array(self, values: npt.NDArray[np.float32]) -> Any:
        return self._torch.from_numpy(values).to(self._device)

    def zeros(self, shape: tuple[int, ...]) -> Any:
        return self._torch.zeros(shape, dtype=self._torch.float32, device=self._device)

    def layer_norm(self, x: Any, gain: Any, bias: Any) -> Any:
        return self._torch.nn.functional.layer_norm(x, (x.shape[-1],), gain, bias, 1e-5)

    def softmax(self, x: Any) -> Any:
        return self._torch.softmax(x, dim=-1)

    def gelu(self, x: Any) -> Any:
        return self._torch.nn.functional.gelu(x, approximate="tanh")

    def argmax(self, x: Any) -> int:
        return int(self._torch.argmax(x).item())


@cache
def _torch_if_cuda() -> Any | None:
    """torch when it imports and sees a CUDA GPU, else None. Imported lazily: it is heavy."""
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


@dataclass(frozen=True)
class _Layer:
    ln1: tuple[Any, Any]
    w_qkv: Any
    b_qkv: Any
    w_o: Any
    b_o: Any
    ln2: tuple[Any, Any]
    w_up: Any
    b_up: Any
    w_down: Any
    b_down: Any


@dataclass(frozen=True)
class _Model:
    tok_emb: Any
    lm_head: Any
    pos_emb: Any
    layers: tuple[_Layer, ...]
    ln_f: tuple[Any, Any]
    n_heads: int


def _build_model(
    spec: TokenGenerationInputs, positions: int, ops: _Ops
) -> tuple[_Model, list[int]]:
    """Random weights and a random prompt, both from the seed (same seed, same model)."""
    rng = np.random.default_rng(spec.seed)
    d, v = spec.d_model, spec.vocab_size

    def normal(*shape: int, scale: float) -> Any:
        return ops.array((rng.standard_normal(shape) * scale).astype(np.float32))

    def norm() -> tuple[Any, Any]:
        return ops.array(np.ones(d, np.float32)), ops.array(np.zeros(d, np.float32))

    tok = (rng.standard_normal((v, d))).astype(np.float32)
    layers = tuple(
        _Layer(
            ln1=norm(),
            w_qkv=normal(d, 3 * d, scale=d**-0.5),
            b_qkv=normal(3 * d, scale=0.02),
            w_o=normal(d, d, scale=d**-0.5),
            b_o=normal(d, scale=0.02),
            ln2=norm(),
            w_up=normal(d, 4 * d, scale=d**-0.5),
            b_up=normal(4 * d, scale=0.02),
            w_down=normal(4 * d, d, scale=(4 * d) ** -0.5),
            b_down=normal(d, scale=0.02),
        )
        for _ in range(spec.n_layers)
    )
    model = _Model(
        tok_emb=ops.array(tok),
        lm_head=normal(d, v, scale=d**-0.5),
        pos_emb=normal(positions, d, scale=0.1),
        layers=layers,
        ln_f=norm(),
        n_heads=spec.n_heads,
    )
    prompt = [int(t) for t in rng.integers(0, v, spec.prompt_tokens)]
    return model, prompt


def _decode(model: _Model, prompt: list[int], max_new_tokens: int, ops: _Ops) -> list[int]:
    """Greedy decoding with a key/value cache: one token in, one step of every layer."""
    d = model.tok_emb.shape[1]
    heads = model.n_heads
    head_dim = d // heads
    scale = head_dim**-0.5
    total = len(prompt) + max_new_tokens
    caches = [
        (ops.zeros((total, heads, head_dim)), ops.zeros((total, heads, head_dim)))
        for _ in model.layers
    ]
    generated: list[int] = []
    token = prompt[0]
    for pos in range(total - 1):
        x = model.tok_emb[token] + model.pos_emb[pos]
        for layer, (keys, values) in zip(model.layers, caches, strict=True):
            qkv = ops.layer_norm(x, *layer.ln1) @ layer.w_qkv + layer.b_qkv
            keys[pos] = qkv[d : 2 * d].reshape(heads, head_dim)
            values[pos] = qkv[2 * d :].reshape(heads, head_dim)
            query = qkv[:d].reshape(heads, head_dim, 1)
            k = keys[: pos + 1].swapaxes(0, 1)  # (heads, seen, head_dim)
            v = values[: pos + 1].swapaxes(0, 1)
            attn = ops.softmax((k @ query).reshape(heads, pos + 1) * scale)
            mixed = (attn.reshape(heads, 1, pos + 1) @ v).reshape(d)
            x = x + mixed @ layer.w_o + layer.b_o
            hidden = ops.gelu(ops.layer_norm(x, *layer.ln2) @ layer.w_up + layer.b_up)
            x = x + hidden @ layer.w_down + layer.b_down
        if pos + 1 < len(prompt):
            token = prompt[pos + 1]
            continue
        token = ops.argmax(ops.layer_norm(x, *model.ln_f) @ model.lm_head)
        generated.append(token)
    return generated


class TokenGeneration(Workload[TokenGenerationInputs]):
    """Greedy decoding with a tiny random transformer; work units are the tokens generated."""

    name: ClassVar[str] = "token-generation"
    summary: ClassVar[str] = "greedy decoding with a small random-weight transformer"
    inputs_model = TokenGenerationInputs

    def run(self, inputs: TokenGenerationInputs, context: WorkloadContext) -> WorkloadOutput:
        """Generate `max_new_tokens` tokens after a seeded random prompt.

        Args:
            inputs: model size, token counts, seed and device.
            context: the GPU (used when running on CUDA).

        Raises:
            WorkloadError: ``device="cuda"`` was asked for and no CUDA GPU is usable.
        """
        ops = self._ops(inputs.device, context.gpu_index)
        positions = inputs.prompt_tokens + inputs.max_new_tokens
        with ops.no_grad():
            model, prompt = _build_model(inputs, positions, ops)
            tokens = _decode(model, prompt, inputs.max_new_tokens, ops)
        output = b"".join(t.to_bytes(4, "big") for t in tokens)
        return WorkloadOutput(
            work_units=len(tokens), output=output, backend=ops.backend, token_ids=tuple(tokens)
        )

    @staticmethod
    def _ops(device: str, gpu_index: int) -> _Ops:
        if device == "cpu":
            return _NumpyOps()
        torch = _torch_if_cuda()
        if torch is None:
            if device == "cuda":
                raise WorkloadError(
                    "token-generation asked for device=cuda, but torch is not installed or sees "
                    "no CUDA GPU; use device=auto or cpu"
                )
            return _NumpyOps()
        return _TorchOps(torch, f"cuda:{gpu_index}")


# --- shell ---------------------------------------------------------------------------------------

_MIB: Final = 1024 * 1024
_OOM_MARKERS: Final = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")
_REPORTED_UNITS: Final = re.compile(rb"^work_units=(\d+)\s*$")


class ShellInputs(BaseModel):
    """A command to run, with its limits.

    `work_units` is ``output_bytes`` (bytes written to stdout) or ``reported``: the command's
    last ``work_units=<n>`` line on stderr, for commands that count their own tokens.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    command: list[str] = Field(min_length=1)
    timeout_s: float = Field(10.0, gt=0, le=7 * 24 * 3600)
    memory_mb: int = Field(256, ge=16, le=4 * 1024 * 1024)
    max_output_bytes: int = Field(16 * _MIB, ge=1, le=1024 * _MIB)
    work_units: Literal["output_bytes", "reported"] = "output_bytes"

    @model_validator(mode="after")
    def _has_program(self) -> Self:
        if not self.command[0]:
            raise ValueError("command[0] (the program) is empty")
        return self


def _rlimit(kind: int, wanted: int) -> tuple[int, int]:
    """(soft, hard) for `kind` at `wanted`, never above the hard limit we already have."""
    _, hard = resource.getrlimit(kind)
    value = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    return value, value


def _limits_setter(memory: tuple[int, int], fsize: tuple[int, int]) -> Callable[[], None]:
    """The child's preexec_fn: only setrlimit calls, computed in the parent beforehand."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, memory)
        resource.setrlimit(resource.RLIMIT_FSIZE, fsize)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _wait_without_reaping(proc: subprocess.Popen[bytes], timeout_s: float) -> bool:
    """Wait until the child exits, leaving it unreaped so its pid (= process group id) cannot be
    reused before we kill the group. True if it exited, False on timeout."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # no pidfd (old kernel): Popen's polling wait instead
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return True
    try:
        readable, _, _ = select.select([pidfd], [], [], timeout_s)
        return bool(readable)
    finally:
        os.close(pidfd)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's whole process group and reap the child."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _tail(stream: IO[bytes], limit: int = 2000) -> bytes:
    size = stream.seek(0, os.SEEK_END)
    stream.seek(max(0, size - limit))
    return stream.read()


class Shell(Workload[ShellInputs]):
    """Runs a command under limits; work units are stdout bytes or what the command reports."""

    name: ClassVar[str] = "shell"
    summary: ClassVar[str] = "a command (argument list) under time, memory and output limits"
    inputs_model = ShellInputs

    def run(self, inputs: ShellInputs, context: WorkloadContext) -> WorkloadOutput:
        """Run the command and capture its stdout.

        Args:
            inputs: command and limits.
            context: unused; the command chooses its GPU itself.

        Raises:
            WorkloadTimeout: it ran past `timeout_s` (it and its process group were killed).
            WorkloadLimitExceeded: it ran out of memory or wrote more than `max_output_bytes`.
            WorkloadError: it could not start, exited non-zero, or reported no work units.
        """
        memory = _rlimit(resource.RLIMIT_AS, inputs.memory_mb * _MIB)
        fsize = _rlimit(resource.RLIMIT_FSIZE, inputs.max_output_bytes + 1)
        shown = " ".join(inputs.command)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(
                    inputs.command,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    preexec_fn=_limits_setter(memory, fsize),  # setrlimit only: fork-safe
                    start_new_session=True,
                    close_fds=True,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                raise WorkloadError(f"could not start {shown!r}: {exc}") from exc
            try:
                exited = _wait_without_reaping(proc, inputs.timeout_s)
            finally:
                _kill_group(proc)  # also whatever it left running in the background
            if not exited:
                raise WorkloadTimeout(
                    f"{shown!r} ran past its {inputs.timeout_s:g} s limit and was killed"
                )
            stdout_size = out.seek(0, os.SEEK_END)
            stderr_tail = _tail(err)
            returncode = proc.returncode
            if returncode == -signal.SIGXFSZ or stdout_size > inputs.max_output_bytes:
                raise WorkloadLimitExceeded(
                    f"{shown!r} wrote more than max_output_bytes={inputs.max_output_bytes}"
                )
            if returncode != 0:
                text = stderr_tail.decode(errors="replace").strip()
                if any(marker in text for marker in _OOM_MARKERS):
                    raise WorkloadLimitExceeded(
                        f"{shown!r} ran out of memory under its {inputs.memory_mb} MB limit "
                        f"(raise memory_mb): {text[-300:]}"
                    )
                raise WorkloadError(f"{shown!r} exited with status {returncode}: {text[-500:]}")
            out.seek(0)
            stdout = out.read()
        if inputs.work_units == "reported":
            units = self._reported_units(stderr_tail)
            if units is None:
                raise WorkloadError(
                    f"{shown!r} was to report its work units as a 'work_units=<n>' line on stderr "
                    "and did not"
                )
        else:
            units = len(stdout)
        return WorkloadOutput(work_units=units, output=stdout, backend="subprocess")

    @staticmethod
    def _reported_units(stderr_tail: bytes) -> int | None:
        for line in reversed(stderr_tail.splitlines()):
            match = _REPORTED_UNITS.match(line.strip())
            if match:
                return int(match.group(1))
        return None


# --- jobs ----------------------------------------------------------------------------------------

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
    gpu_index: int = 0,
    workloads: Mapping[str, Workload[Any]] = WORKLOADS,
) -> JobResult:
    """Run a job's workload inside a meter session on one GPU.

    The spec is validated first, so a bad spec never opens a meter window. If the workload
    fails, the session is aborted (the GPU is free again) and the error propagates.

    Args:
        spec: what to run.
        meter: the node's meter.
        job_id: the on-chain job id, recorded in the reading.
        gpu_index: the GPU to run and measure on.
        workloads: the workloads to choose from.

    Raises:
        InvalidJobSpec: unknown workload or malformed inputs.
        WorkloadError: the workload failed (timeout, limits, exit status).
        MeterError: the meter could not measure the job.
        MeterUnavailable: the GPU cannot be metered.
    """
    job, workload, inputs = resolve(spec, workloads)
    with meter.start(job_id, gpu_index=gpu_index) as session:
        produced = workload.run(inputs, WorkloadContext(gpu_index=gpu_index))
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
