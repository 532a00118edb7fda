"""The ``token-generation`` workload: a small decoder-only transformer, decoded greedily.

Its weights and prompt are random from the seed. It runs on PyTorch/CUDA when torch is
importable and the metered device is a GPU it sees (found by UUID, whatever
``CUDA_VISIBLE_DEVICES`` renumbered), otherwise on NumPy on the CPU. Its output is the generated
token ids, each as a big-endian uint32. Different devices may round differently, so the
device is in the result.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, Literal, Self, cast

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import WorkloadError
from .base import Workload, WorkloadContext, WorkloadOutput
from .devices import is_gpu, torch_ordinal


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
    """The weights; ``d`` is `d_model`, ``v`` the vocabulary size, ``p`` the positions."""

    tok_emb: Any  # (v, d)
    lm_head: Any  # (d, v)
    pos_emb: Any  # (p, d)
    layers: tuple[_Layer, ...]
    ln_f: tuple[Any, Any]  # final layer norm: gain, bias
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

    def run(self, inputs: TokenGenerationInputs, context: WorkloadContext) -> WorkloadOutput:
        """Generate `max_new_tokens` tokens after a seeded random prompt.

        Args:
            inputs: model size, token counts, seed and device.
            context: the metered device (the GPU it runs on, by UUID, when on CUDA).

        Raises:
            WorkloadError: ``device="cuda"`` was asked for and the metered device is not a
                GPU PyTorch can use.
        """
        ops = self._ops(inputs.device, context)
        positions = inputs.prompt_tokens + inputs.max_new_tokens
        with ops.no_grad():
            model, prompt = _build_model(inputs, positions, ops)
            tokens = _decode(model, prompt, inputs.max_new_tokens, ops)
        output = b"".join(t.to_bytes(4, "big") for t in tokens)
        return WorkloadOutput(
            work_units=len(tokens), output=output, backend=ops.backend, token_ids=tuple(tokens)
        )

    @staticmethod
    def _ops(device: str, context: WorkloadContext) -> _Ops:
        if device == "cpu":
            return _NumpyOps()
        torch = _torch_if_cuda() if is_gpu(context) else None
        if torch is None:
            if device == "cuda":
                raise WorkloadError(
                    "token-generation asked for device=cuda, but torch is not installed, sees "
                    f"no CUDA GPU, or the metered device ({context.meter_kind} "
                    f"{context.gpu_uuid}) is not a GPU; use device=auto or cpu"
                )
            return _NumpyOps()
        return _TorchOps(torch, f"cuda:{torch_ordinal(torch, context)}")
