"""The oracle node's exceptions: one root, `OracleError`, so callers can catch everything we raise.

Subclasses also inherit the matching builtin where that is natural, so ``except TimeoutError``
or ``except ValueError`` keeps working for code that does not know the oracle's classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jouleledger.abi import error_class
from jouleledger.errors import ContractRevert


class OracleError(Exception):
    """Root of every exception the oracle node raises."""


class ConfigError(OracleError, ValueError):
    """A setting the node was started with makes no sense (unknown meter kind, GPU class, ...)."""


class NoGpuProfile(ConfigError):
    """The simulated meter was asked for a GPU class the SDK's catalogue lacks, so it has no
    power model for it (it never simulates another class in its place)."""


class MeterUnavailable(OracleError, RuntimeError):
    """The requested meter cannot work on this machine (no NVIDIA driver, no GPU, no counter)."""


class MeterError(OracleError, RuntimeError):
    """A meter that did start failed or was misused during a job (GPU lost, GPU busy, ...)."""


class WorkloadError(OracleError, RuntimeError):
    """A job could not be run: unknown workload, bad inputs, or the workload itself failed."""


class InvalidJobSpec(WorkloadError, ValueError):
    """The job spec names an unknown workload or gives it malformed inputs."""


class WorkloadTimeout(WorkloadError, TimeoutError):
    """The workload ran past its wall-time limit and was killed."""


class WorkloadLimitExceeded(WorkloadError):
    """The workload went over its memory or output limit and was stopped."""


class StoreError(OracleError, RuntimeError):
    """The node's database refused an operation or is unusable (conflict, corruption, version)."""


class AttestationConflict(StoreError):
    """A job already has a signature over a different digest; the oracle signs once per job."""


# --- the chain (`jouleledger_oracle.chain`) ---------------------------------------------


class NoEligibleJob(OracleError):
    """The market has no job this provider may claim now."""


class ChainUnavailable(OracleError, ConnectionError):
    """The Ethereum node could not be used (unreachable, timing out, refusing transactions).

    Transient: the node retries with backoff.
    """


class ChainRejected(OracleError):
    """The contract refused a call with one of its custom errors.

    Decide what it means by the SDK's typed exception it carries, e.g.
    ``isinstance(exc.revert, contract_errors.MarketInvalidJobState)``.

    Args:
        message: what was refused, and why.
        revert: the decoded revert; None when the chain gave no revert data.
        name: the error's name, to build `revert` from when none is given (in-memory chains).
        args: its arguments by name, for the same.

    Attributes:
        revert: the SDK's typed exception (a `ContractRevert` subclass), or None.
    """

    def __init__(
        self,
        message: str,
        *,
        revert: ContractRevert | None = None,
        name: str = "",
        args: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        if revert is None and name:
            revert = error_class(name)(message, name=name, args_by_name=args)
        self.revert = revert

    @property
    def name(self) -> str:
        """The error's name, e.g. ``"MarketInvalidJobState"`` (``""`` when undecodable)."""
        return self.revert.name if self.revert is not None else ""

    @property
    def args_by_name(self) -> dict[str, Any]:
        """The error's decoded arguments by their ABI names."""
        return self.revert.args_by_name if self.revert is not None else {}

    @property
    def job_id(self) -> int | None:
        """The job the error names, when it names one."""
        value = self.args_by_name.get("jobId")
        return int(value) if value is not None else None
