"""Where a job's spec comes from: the chain holds only its hash.

A client posts a job with ``specHash = keccak256(canonical JSON of the spec)``, by the SDK's
rule (`jouleledger.eip712.spec`, which `jl job post --spec` and `JobSpec.spec_hash` both use), and
hands the spec itself to the provider off chain. For now, that hand-over
is this registry:

- specs are registered ahead of time, from a JSON file given at start or through the API
  (``POST /specs``), and persisted to that file so a restarted node still knows them;
- a job whose spec hash the registry does not know runs the node's **default spec**: a small
  ``token-generation`` job. The measurement records which spec ran and whether it was the
  default (``spec_source``), so nobody mistakes it for the client's spec.

Only allowed workloads can be registered (by default only ``token-generation``): a ``shell``
spec runs a command on the provider's machine, so it must be enabled on purpose.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from .attestation import SpecSource
from .errors import InvalidJobSpec, OracleError
from .workloads import JobSpec, resolve

logger = logging.getLogger(__name__)

DEFAULT_SPEC: Final = JobSpec(
    workload="token-generation",
    inputs={"prompt_tokens": 16, "max_new_tokens": 64, "seed": 0},
)
DEFAULT_ALLOWED_WORKLOADS: Final = frozenset({"token-generation"})
DEFAULT_MAX_SPECS: Final = 10_000


class RegistryFull(OracleError):
    """The registry holds as many specs as it may."""


def normalise_hash(spec_hash: bytes | str) -> str:
    """A spec hash as lowercase 0x-hex.

    Args:
        spec_hash: 32 bytes, or them as hex with or without upper case.

    Raises:
        ValueError: not 32 bytes.
    """
    text = "0x" + spec_hash.hex() if isinstance(spec_hash, bytes) else spec_hash.lower()
    if len(text) != 66 or not text.startswith("0x"):
        raise ValueError(f"a spec hash is 32 bytes (0x + 64 hex digits), got {spec_hash!r}")
    int(text, 16)
    return text


class SpecRegistry:
    """Known job specs by hash, persisted to a JSON file; thread-safe.

    Args:
        path: the JSON file (``{"specs": [spec, ...]}``) to load at start and save to; None
            keeps the registry in memory.
        specs: specs to register at start (`JobSpec` objects or parsed JSON), besides the file.
        default: the spec for jobs whose hash is unknown; None refuses such jobs.
        allowed_workloads: the workloads a registered spec may name.
        max_specs: how many specs the registry holds at most.

    Raises:
        InvalidJobSpec: the file holds a spec that is malformed or not allowed.
        OracleError: the file is not readable JSON.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        specs: Iterable[JobSpec | Mapping[str, Any]] = (),
        default: JobSpec | None = DEFAULT_SPEC,
        allowed_workloads: Iterable[str] = DEFAULT_ALLOWED_WORKLOADS,
        max_specs: int = DEFAULT_MAX_SPECS,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.allowed_workloads = frozenset(allowed_workloads)
        self.max_specs = max_specs
        self._lock = threading.Lock()
        self._specs: dict[str, JobSpec] = {}
        if default is not None:
            resolve(default)  # a broken default fails at start, not at the first job
        self.default = default
        if self.path is not None and self.path.exists():
            for entry in self._load(self.path):
                spec = self._check(entry)
                self._specs[spec.spec_hash()] = spec
            logger.info("specs: %d known from %s", len(self._specs), self.path)
        for entry in specs:
            self.add(entry)

    @staticmethod
    def _load(path: Path) -> list[Any]:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise OracleError(f"cannot read the spec registry {path}: {exc}") from exc
        specs = data.get("specs") if isinstance(data, dict) else data
        if not isinstance(specs, list):
            raise OracleError(f"{path} must hold a JSON list of specs or {{'specs': [...]}}")
        return specs

    def _check(self, spec: JobSpec | Mapping[str, Any]) -> JobSpec:
        job, _, _ = resolve(spec)
        if job.workload not in self.allowed_workloads:
            raise InvalidJobSpec(
                f"workload {job.workload!r} is not allowed on this node; allowed: "
                f"{', '.join(sorted(self.allowed_workloads))}"
            )
        return job

    def add(self, spec: JobSpec | Mapping[str, Any]) -> str:
        """Register a spec (idempotent); its hash.

        Args:
            spec: a `JobSpec` or the same as parsed JSON.

        Raises:
            InvalidJobSpec: malformed, unknown workload, bad inputs or a workload not allowed.
            RegistryFull: the registry holds `max_specs` specs already.
            OracleError: the registry file cannot be written.
        """
        job = self._check(spec)
        spec_hash = job.spec_hash()
        with self._lock:
            if spec_hash in self._specs:
                return spec_hash
            if len(self._specs) >= self.max_specs:
                raise RegistryFull(
                    f"the spec registry holds {self.max_specs} specs, its limit; "
                    "restart the node with a larger limit or a pruned registry file"
                )
            self._specs[spec_hash] = job
            try:
                self._save()
            except OSError as exc:
                del self._specs[spec_hash]
                raise OracleError(f"cannot save the spec registry {self.path}: {exc}") from exc
        return spec_hash

    def get(self, spec_hash: bytes | str) -> JobSpec | None:
        """The registered spec with that hash, or None.

        Args:
            spec_hash: the job's spec hash (bytes or 0x-hex).

        Raises:
            ValueError: not a 32-byte hash.
        """
        key = normalise_hash(spec_hash)
        with self._lock:
            return self._specs.get(key)

    def spec_for(self, spec_hash: bytes | str) -> tuple[JobSpec, SpecSource]:
        """The spec to run for a job posted with `spec_hash`: registered, else the default.

        Args:
            spec_hash: the spec hash the job was posted with (bytes or 0x-hex).

        Raises:
            InvalidJobSpec: unknown hash and no default spec.
            ValueError: not a 32-byte hash.
        """
        found = self.get(spec_hash)
        if found is not None:
            return found, "registry"
        if self.default is None:
            raise InvalidJobSpec(
                f"spec {normalise_hash(spec_hash)} is not registered on this node and it has "
                "no default spec; register it (POST /specs) before the job is claimed"
            )
        return self.default, "default"

    def items(self) -> list[tuple[str, JobSpec]]:
        """Every registered (hash, spec), sorted by hash."""
        with self._lock:
            return sorted(self._specs.items())

    def __len__(self) -> int:
        with self._lock:
            return len(self._specs)

    def _save(self) -> None:
        """Write the registry atomically (temporary file, fsync, rename)."""
        if self.path is None:
            return
        data = {"specs": [spec.model_dump(mode="json") for spec in self._specs.values()]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".specs-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(data, handle, sort_keys=True, indent=1)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
